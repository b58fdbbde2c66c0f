import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
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
 */
export class DeadLetterFile {
  readonly path: string;
  private fh: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fh = await open(this.path, 'a', 0o640);
  }

  write(letters: DeadLetter[]): Promise<void> {
    const text = letters.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const p = this.chain.then(async () => {
      if (!this.fh) await this.open();
      await this.fh!.write(text);
      await this.fh!.datasync();
    });
    this.chain = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = null;
  }
}
