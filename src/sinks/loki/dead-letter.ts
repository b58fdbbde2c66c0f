import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An append-only NDJSON file for entries the sink gave up on (retry.max_retry_duration
 * exhausted, or a single entry Loki refuses as too large). A line is written and fsynced before
 * its entry is acknowledged, so nothing leaves the pipeline without a trace.
 */
export class DeadLetterFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Appends the records as NDJSON and fsyncs; throws on I/O failure (the caller keeps the batch). */
  async append(records: unknown[]): Promise<void> {
    if (records.length === 0) return;
    mkdirSync(dirname(this.path), { recursive: true });
    let text = '';
    for (const r of records) text += JSON.stringify(r) + '\n';
    const fh = await open(this.path, 'a', 0o640);
    try {
      await fh.write(text);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}
