import { prng, writeLines } from '../support/seeded-lines.ts';

/**
 * The platform's JSON log lines (seed-log-formats §1a/§1b, ~250 bytes) with a sequence number in
 * `metadata.seq`, so a receiver can tell exactly which lines arrived and how often.
 * Deterministic (seeded), timestamps start `startMs` and advance 1 ms per line.
 */
export const SEQ_PATTERN = '"seq":(\\d+)';

const SERVICES = ['cf1-frontend', 'cf1-backend', 'api', 'payment'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const MESSAGES = ['Document uploaded successfully', 'User logged in', 'Investment failed', 'Request completed', 'Payment authorised', 'Cache miss for key'];


export function platformLine(r: () => number, i: number, startMs: number): string {
  const hex = (n: number) => {
    let s = '';
    for (let k = 0; k < n; k++) s += '0123456789abcdef'[Math.floor(r() * 16)];
    return s;
  };
  return JSON.stringify({
    timestamp: new Date(startMs + i).toISOString(),
    level: LEVELS[Math.floor(r() * LEVELS.length)],
    service: SERVICES[Math.floor(r() * SERVICES.length)],
    trace_id: hex(32),
    span_id: hex(16),
    user_id: `user${Math.floor(r() * 100000)}`,
    message: MESSAGES[Math.floor(r() * MESSAGES.length)],
    metadata: { document_id: `doc${Math.floor(r() * 1e6)}`, seq: i },
  });
}

/** Writes lines [from, from+count) to `path` (appending). Returns the bytes written. */
export async function writePlatformCorpus(path: string, count: number, opts: { from?: number; startMs?: number; seed?: number; flags?: string } = {}): Promise<number> {
  const from = opts.from ?? 0;
  const r = prng(opts.seed ?? 42);
  const startMs = opts.startMs ?? Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  return writeLines(path, from, count, (i) => platformLine(r, i, startMs), opts.flags ?? 'a');
}
