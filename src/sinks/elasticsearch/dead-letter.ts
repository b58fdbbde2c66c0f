import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** How much of an existing file's end is scanned for ids at start (see DeadLetterFile.open). */
const RECENT_TAIL_BYTES = 16 * 1024 * 1024;
import { dirname } from 'node:path';

/** One rejected document as written to the dead-letter file. */
export interface DeadLetter {
  /** ISO time of the rejection. */
  time: string;
  sink: string;
  index: string;
  _id?: string;
  /** Item (or request) status from Elasticsearch. */
  status: number;
  /** ES error type, e.g. mapper_parsing_exception; the metric's `reason` label. */
  reason: string;
  /** ES's explanation, e.g. "failed to parse field [x] of type [long] ...". */
  error: string;
  /** The document exactly as it was sent. */
  document: unknown;
}

/**
 * Append-only NDJSON of documents Elasticsearch refused for good. Records are acknowledged only
 * after their dead letter is on disk (datasync), so a crash cannot lose them in between.
 * Writes are serialized; each call resolves once its lines are durable.
 *
 * A crash between the write and the position commit re-sends the record after restart, and ES
 * refuses it again; the ids of recent letters (the file's last 16 MiB, far more than the unacked
 * window) are remembered so the same document is not dead-lettered twice.
 */
export class DeadLetterFile {
  readonly path: string;
  private fh: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly seen = new Set<string>();

  constructor(path: string) {
    this.path = path;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fh = await open(this.path, 'a+', 0o640);
    const { size } = await this.fh.stat();
    const len = Math.min(size, RECENT_TAIL_BYTES);
    if (len === 0) return;
    const buf = Buffer.allocUnsafe(len);
    await this.fh.read(buf, 0, len, size - len);
    const text = buf.toString('utf8');
    for (const line of text.slice(len < size ? text.indexOf('\n') + 1 : 0).split('\n')) {
      const m = /"_id":"([^"]+)"/.exec(line);
      if (m) this.seen.add(m[1]);
    }
  }

  /** Appends the letters not written before (by `_id`); resolves with those. */
  write(letters: DeadLetter[]): Promise<DeadLetter[]> {
    const fresh = letters.filter((l) => l._id === undefined || !this.seen.has(l._id));
    if (fresh.length === 0) return Promise.resolve(fresh);
    const text = fresh.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const p = this.chain.then(async () => {
      if (!this.fh) await this.open();
      await this.fh!.write(text);
      await this.fh!.datasync();
      for (const l of fresh) if (l._id !== undefined) this.seen.add(l._id);
      if (this.seen.size > 1_000_000) this.seen.clear(); // bounded memory; only a crash-window nicety
      return fresh;
    });
    this.chain = p.then(() => {}, () => {});
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }
}
