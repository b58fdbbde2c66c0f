import type { Stats } from 'node:fs';

/** What the file watchers (FileWatcher, LiteralWatcher) report to the file source. */
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
