import { watch, type FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import type { Logger } from 'pino';
import type { GlobMatcher } from './discovery.ts';

export interface WatchEvents {
  /** A file matching the globs appeared (created, renamed in, or a symlink to it). */
  added(path: string): void;
  /**
   * A watched file changed (written, truncated) — or was replaced: a rename + create between
   * two directory reads reaches us as a change whose stats carry the new inode.
   */
  changed(path: string, stats: Stats | undefined): void;
  /** A watched path went away (renamed out, deleted). */
  removed(path: string): void;
}

/**
 * Change events for the glob base directories (chokidar on inotify; chokidar v5 has no globs,
 * so directories are watched and files filtered with the GlobMatcher). Events are only hints
 * that make pickup prompt: the tailers' backoff poll and the periodic rescan stay the source
 * of truth, so a lost event (overflowed inotify queue, NFS) delays a line but never loses it.
 */
export class FileWatcher {
  private watcher: FSWatcher | null = null;
  private readonly matcher: GlobMatcher;
  private readonly log: Logger;

  constructor(matcher: GlobMatcher, log: Logger) {
    this.matcher = matcher;
    this.log = log;
  }

  /** Starts watching; resolves once the initial directory crawl is done. */
  start(events: WatchEvents): Promise<void> {
    const matcher = this.matcher;
    const w = watch(matcher.bases, {
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
    return new Promise((resolve) => w.once('ready', () => resolve()));
  }

  /** The directories the watcher keeps state for (each one a chokidar entry, most an inotify watch). */
  watchedDirectories(): string[] {
    return Object.keys(this.watcher?.getWatched() ?? {});
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = null;
  }
}
