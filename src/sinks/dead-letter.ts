import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How much of an existing file's end is scanned for ids at start (see DeadLetterFile.open). */
const RECENT_TAIL_BYTES = 16 * 1024 * 1024;

/** Ids remembered at most (bounded memory; the dedup only covers a crash window). */
const MAX_SEEN_IDS = 1_000_000;

export interface DeadLetterFileOptions {
  path: string;
  /**
   * The top-level string field that names a letter's item across restarts (Elasticsearch's
   * `_id`): a letter whose id is already in the file is not written again. None: every letter
   * is written.
   */
  idField?: string;
}

/**
 * An append-only NDJSON file of what a sink gave up on for good (refused by the destination,
 * retries exhausted). A sink acknowledges an item only after its letter is on disk (datasync),
 * so a crash cannot lose it in between; writes are serialized and each resolves once its lines
 * are durable. A write that fails rejects: the caller keeps the batch and tries again.
 *
 * A crash between the write and the position commit re-sends the item after restart and the
 * destination refuses it again: with an `idField`, the ids of recent letters (the file's last
 * 16 MiB, far more than the unacknowledged window) are remembered so the same item is not
 * dead-lettered twice.
 */
export class DeadLetterFile<L extends object> {
  readonly path: string;
  private readonly idField: string | undefined;
  private fh: FileHandle | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly seen = new Set<string>();

  constructor(opts: DeadLetterFileOptions) {
    this.path = opts.path;
    this.idField = opts.idField;
  }

  /** Opens (creating the directory and file) and reads back the ids of recent letters. */
  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fh = await open(this.path, 'a+', 0o640);
    if (this.idField === undefined) return;
    const { size } = await this.fh.stat();
    const len = Math.min(size, RECENT_TAIL_BYTES);
    if (len === 0) return;
    const buf = Buffer.allocUnsafe(len);
    await this.fh.read(buf, 0, len, size - len);
    const text = buf.toString('utf8');
    const idPattern = new RegExp(`${JSON.stringify(this.idField).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:"([^"]+)"`);
    for (const line of text.slice(len < size ? text.indexOf('\n') + 1 : 0).split('\n')) {
      const m = idPattern.exec(line);
      if (m) this.seen.add(m[1]);
    }
  }

  /** Appends the letters not written before (by id); resolves with those once they are durable. */
  write(letters: readonly L[]): Promise<L[]> {
    const fresh = letters.filter((l) => {
      const id = this.idOf(l);
      return id === undefined || !this.seen.has(id);
    });
    if (fresh.length === 0) return Promise.resolve(fresh);
    let text = '';
    for (const l of fresh) text += JSON.stringify(l) + '\n';
    const p = this.chain.then(async () => {
      if (this.fh === null) await this.open();
      await this.fh!.write(text);
      await this.fh!.datasync();
      if (this.seen.size > MAX_SEEN_IDS) this.seen.clear();
      for (const l of fresh) {
        const id = this.idOf(l);
        if (id !== undefined) this.seen.add(id);
      }
      return fresh;
    });
    this.chain = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }

  private idOf(letter: L): string | undefined {
    if (this.idField === undefined) return undefined;
    const id = (letter as Record<string, unknown>)[this.idField];
    return typeof id === 'string' ? id : undefined;
  }
}
