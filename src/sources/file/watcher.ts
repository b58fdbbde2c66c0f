import { watch, type FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { GlobMatcher } from './discovery.ts';
import { LiteralWatcher } from './literal-watch.ts';
import type { WatchEvents } from './watch-events.ts';

async function symlinksOf(paths: string[]): Promise<string[]> {
  const links: string[] = [];
  for (const p of paths) if (await lstat(p).then((st) => st.isSymbolicLink(), () => false)) links.push(p);
  return links;
}

/**
 * Change events for the glob base directories (chokidar on inotify; chokidar v5 has no globs,
 * so directories are watched and files filtered with the GlobMatcher). Events are only hints
 * that make pickup prompt: the tailers' backoff poll and the periodic rescan stay the source
 * of truth, so a lost event (overflowed inotify queue, NFS) delays a line but never loses it.
 */
export class FileWatcher {
  private watcher: FSWatcher | null = null;
  private literal: LiteralWatcher | null = null;
  private readonly matcher: GlobMatcher;
  private readonly log: Logger;

  constructor(matcher: GlobMatcher, log: Logger) {
    this.matcher = matcher;
    this.log = log;
  }

  /** Starts watching; resolves once the initial directory crawl is done. */
  async start(events: WatchEvents): Promise<void> {
    const matcher = this.matcher;
    // Exact paths by name (no directory listing); chokidar for the globs' bases and for exact
    // paths that are symlinks (it also watches the file they point to, wherever that is).
    const links = await symlinksOf(matcher.literals);
    const named = matcher.literals.filter((p) => !links.includes(p));
    if (named.length > 0) {
      this.literal = new LiteralWatcher(this.log);
      await this.literal.start(named, events);
    }
    const roots = [...new Set([...matcher.globBases, ...links.map((p) => dirname(p))])];
    if (roots.length === 0) return;
    const w = watch(roots, {
      persistent: false,
      ignoreInitial: true,
      followSymlinks: true,
      depth: matcher.maxDepth,
      // Dotfiles are real log files too; chokidar's atomic-write smoothing would hide them.
      atomic: false,
      usePolling: false,
      // Watch only the files the globs select and the directories they could select files under
      // (to see new files and directories appear). Decided on the path first: chokidar stats,
      // resolves and keeps an entry for every directory not ignored, so an unrelated sibling (a
      // base like /tmp or /var/log with thousands) must be ignored before it has stats.
      ignored: (path, stats) => {
        if (stats === undefined) return !matcher.mayContainMatches(path) && !matcher.matches(path);
        return stats.isDirectory() ? !matcher.mayContainMatches(path) : !matcher.matches(path);
      },
    });
    this.watcher = w;
    w.on('add', (p: string) => {
      if (matcher.matches(p)) events.added(p);
    });
    w.on('change', (p: string, st?: Stats) => events.changed(p, st));
    w.on('unlink', (p: string) => events.removed(p));
    w.on('error', (err: unknown) => this.log.warn({ err: (err as Error).message }, 'file watcher error (rescan continues)'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  /** The directories the watcher keeps state for (each one a chokidar entry, most an inotify watch). */
  watchedDirectories(): string[] {
    return [...Object.keys(this.watcher?.getWatched() ?? {}), ...(this.literal?.directories() ?? [])];
  }

  async close(): Promise<void> {
    this.literal?.close();
    this.literal = null;
    await this.watcher?.close();
    this.watcher = null;
  }
}
