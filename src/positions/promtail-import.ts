import { read } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import type { LocalCounter, MetricsRegistry } from '../self-metrics/registry.ts';

const readAsync = promisify(read);

/** Why a Promtail offset was not taken. */
export type RefusalReason = 'beyond_end' | 'not_line_start' | 'invalid_offset';

/**
 * Promtail's positions file (`positions: {"/var/log/app.log": "12345"}`, the offset as a string,
 * keyed by path), read once at logship's first start so that files Promtail was tailing continue
 * where it stopped instead of being shipped again from the start.
 *
 * Promtail keys by path only, so an offset is taken only after checking that it still fits the
 * file at that path: the file is at least that long, and the offset is a line start (offset 0, or
 * the byte before it is '\n'; Promtail only ever saves offsets after whole lines). Each offset is
 * used at most once: a later file at the same path (after a rotation) starts at its beginning.
 */
export class PromtailPositionsImport {
  private readonly offsets: Map<string, string>;
  private readonly log: Logger;
  private readonly imported: LocalCounter;
  private readonly refused: Record<RefusalReason, LocalCounter>;

  private constructor(offsets: Map<string, string>, log: Logger, metrics: MetricsRegistry) {
    this.offsets = offsets;
    this.log = log;
    metrics.counter('logship_positions_imported_total', 'Files whose start offset was taken from Promtail\'s positions file (result="imported") or refused because it no longer fits the file (result="refused", reason).', ['result', 'reason']);
    this.imported = metrics.count('logship_positions_imported_total', ['imported', '']);
    this.refused = {
      beyond_end: metrics.count('logship_positions_imported_total', ['refused', 'beyond_end']),
      not_line_start: metrics.count('logship_positions_imported_total', ['refused', 'not_line_start']),
      invalid_offset: metrics.count('logship_positions_imported_total', ['refused', 'invalid_offset']),
    };
  }

  /**
   * Reads the Promtail positions file. A missing or unreadable file imports nothing (logged):
   * logship then starts the files as configured.
   */
  static async load(path: string, log: Logger, metrics: MetricsRegistry): Promise<PromtailPositionsImport> {
    const offsets = new Map<string, string>();
    try {
      const doc: unknown = parse(await readFile(path, 'utf8'));
      const positions = doc !== null && typeof doc === 'object' ? (doc as { positions?: unknown }).positions : undefined;
      if (positions !== null && typeof positions === 'object') {
        for (const [file, offset] of Object.entries(positions as Record<string, unknown>)) offsets.set(resolve(file), String(offset));
      }
      log.info({ file: path, entries: offsets.size }, 'read Promtail positions to import');
    } catch (e) {
      log.warn({ file: path, err: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, 'cannot read the Promtail positions file: nothing imported');
    }
    return new PromtailPositionsImport(offsets, log, metrics);
  }

  /** Entries not yet taken or refused. */
  get pending(): number {
    return this.offsets.size;
  }

  /**
   * The offset Promtail had reached in the file at `path` (open as `fd`, `size` bytes), or
   * undefined when Promtail had none or it no longer fits (logged and counted).
   */
  async offsetFor(path: string, size: number, fd: number): Promise<number | undefined> {
    const key = resolve(path);
    const text = this.offsets.get(key);
    if (text === undefined) return undefined;
    this.offsets.delete(key);
    const offset = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(offset)) return this.refuse(path, offset, size, 'invalid_offset');
    if (offset > size) return this.refuse(path, offset, size, 'beyond_end');
    if (offset > 0) {
      const byte = Buffer.alloc(1);
      const { bytesRead } = await readAsync(fd, byte, 0, 1, offset - 1);
      if (bytesRead !== 1 || byte[0] !== 0x0a) return this.refuse(path, offset, size, 'not_line_start');
    }
    this.imported.inc();
    this.log.info({ file: path, offset, size }, 'imported the Promtail position: continuing where Promtail stopped');
    return offset;
  }

  private refuse(path: string, offset: number, size: number, reason: RefusalReason): undefined {
    this.refused[reason].inc();
    const why = {
      beyond_end: 'the file is shorter than the offset (truncated or replaced since Promtail read it)',
      not_line_start: 'the offset is not at a line start (the file was replaced or rewritten)',
      invalid_offset: 'the offset is not a number',
    }[reason];
    this.log.warn({ file: path, offset, size, reason }, `refused the Promtail position: ${why}; the file is read as configured (start_at)`);
    return undefined;
  }
}
