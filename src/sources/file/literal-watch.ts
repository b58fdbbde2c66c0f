import { watch, type FSWatcher, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { WatchEvents } from './watch-events.ts';

/** One exact path: whether it existed at the last look, and whether a look is running or wanted. */
interface Named {
  path: string;
  existed: boolean;
  looking: boolean;
  lookAgain: boolean;
}

/**
 * Change events for exact file paths, from one fs.watch per parent directory that compares the
 * event's file name and stats only the named file. chokidar would list and lstat every entry of
 * the directory on each change in it (/tmp or /var/log beside one named log: thousands per
 * second on a busy host). Like the glob watcher's, these events are hints; the rescan stays the
 * source of truth (a directory that does not exist yet is found by it, not watched here).
 */
export class LiteralWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly watched: string[] = [];
  private readonly log: Logger;
  private closed = false;

  constructor(log: Logger) {
    this.log = log;
  }

  async start(paths: string[], events: WatchEvents): Promise<void> {
    const byDir = new Map<string, Map<string, Named>>();
    for (const path of paths) {
      const names = byDir.get(dirname(path)) ?? new Map<string, Named>();
      byDir.set(dirname(path), names);
      const existed = await stat(path).then((st) => st.isFile(), () => false);
      names.set(basename(path), { path, existed, looking: false, lookAgain: false });
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_type, name) => {
          // No name (some kernels on overflow): any of the directory's files may have changed.
          if (name === null) for (const n of names.values()) this.look(n, events);
          else {
            const n = names.get(name);
            if (n !== undefined) this.look(n, events);
          }
        });
        w.on('error', (err) => this.log.warn({ err: err.message, dir }, 'file watcher error (rescan continues)'));
        this.watchers.push(w);
        this.watched.push(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err: (err as Error).message, dir }, 'cannot watch directory (rescan continues)');
      }
    }
  }

  /** Stats the named file and reports what changed; one stat at a time per path, one more if events came meanwhile. */
  private look(n: Named, events: WatchEvents): void {
    if (n.looking) {
      n.lookAgain = true;
      return;
    }
    n.looking = true;
    void stat(n.path)
      .then(
        (st: Stats) => {
          if (this.closed) return;
          if (n.existed) events.changed(n.path, st);
          else events.added(n.path);
          n.existed = true;
        },
        () => {
          if (this.closed) return;
          if (n.existed) events.removed(n.path);
          n.existed = false;
        },
      )
      .finally(() => {
        n.looking = false;
        if (n.lookAgain && !this.closed) {
          n.lookAgain = false;
          this.look(n, events);
        }
      });
  }

  /** The directories watched. */
  directories(): string[] {
    return [...this.watched];
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
