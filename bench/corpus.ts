import { prng, writeLines } from '../test/support/seeded-lines.ts';

/**
 * Deterministic benchmark corpora (seeded PRNG), so every run and every shipper reads the same
 * bytes: the platform's JSON app logs, nginx combined access lines, CRI container lines with
 * partial pieces, and Java stack traces (multiline).
 */

const SERVICES = ['api', 'payment', 'cf1-frontend', 'cf1-backend', 'auth'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const MESSAGES = ['Document uploaded successfully', 'User logged in', 'Investment failed', 'Cache miss for key', 'Request completed', 'Payment authorised', 'Session refreshed'];
const PATHS = ['/api/v1/users/1234', '/api/v1/orders', '/login', '/static/app.js', '/api/v1/payments/987/capture', '/healthz'];
const UAS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0', 'Go-http-client/1.1'];

const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};
const pick = <T>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)];

/** Timestamps start an hour ago (Loki rejects samples older than 7 days) and advance 1 ms per line. */
function baseTime(): number {
  return Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
}

export type CorpusKind = 'json' | 'nginx' | 'cri' | 'java';

export function lineGenerator(kind: CorpusKind, seed = 42): (i: number) => string {
  const r = prng(seed);
  const t0 = baseTime();
  switch (kind) {
    case 'json':
      // ~300 bytes: the platform's Python/other services format (seed-log-formats §1b)
      return (i) => JSON.stringify({
        timestamp: new Date(t0 + i).toISOString(),
        level: pick(r, LEVELS),
        service: pick(r, SERVICES),
        trace_id: hex(r, 32),
        span_id: hex(r, 16),
        user_id: `user${Math.floor(r() * 100000)}`,
        message: pick(r, MESSAGES),
        metadata: { document_id: `doc${Math.floor(r() * 1e6)}`, file_size: Math.floor(r() * 2e6), processing_time: Math.round(r() * 1000) / 1000, seq: i },
      });
    case 'nginx':
      return (i) => {
        const d = new Date(t0 + i);
        const ts = `${String(d.getUTCDate()).padStart(2, '0')}/${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
        const status = r() < 0.9 ? 200 : pick(r, [301, 401, 403, 404, 429, 500, 502]);
        return `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)} - - [${ts}] "${pick(r, ['GET', 'GET', 'POST', 'PUT'])} ${pick(r, PATHS)}?seq=${i} HTTP/1.1" ${status} ${Math.floor(r() * 50000)} "https://example.com/" "${pick(r, UAS)}" ${(r() * 2).toFixed(3)} ${(r() * 2).toFixed(3)}`;
      };
    case 'cri':
      // One logical line per i; 5% are split into P pieces + F (as containerd does past 16 KiB).
      return (i) => {
        const ts = new Date(t0 + i).toISOString().replace('Z', '123456Z');
        const stream = r() < 0.8 ? 'stdout' : 'stderr';
        const msg = JSON.stringify({ timestamp: new Date(t0 + i).toISOString(), level: pick(r, LEVELS), service: pick(r, SERVICES), message: pick(r, MESSAGES), request_id: hex(r, 12), seq: i });
        if (r() < 0.05) {
          const cut = Math.floor(msg.length / 2);
          return `${ts} ${stream} P ${msg.slice(0, cut)}\n${ts} ${stream} F ${msg.slice(cut)}`;
        }
        return `${ts} ${stream} F ${msg}`;
      };
    case 'java':
      // One logical record per i: a header line and, for 20%, a stack trace of 8-20 lines.
      return (i) => {
        const ts = new Date(t0 + i).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
        if (r() >= 0.2) return `${ts} INFO  [main] c.e.app.Service - request ${i} handled in ${Math.floor(r() * 500)} ms`;
        let s = `${ts} ERROR [http-nio-8080-exec-${Math.floor(r() * 20)}] c.e.app.Controller - request ${i} failed\njava.lang.IllegalStateException: boom ${i}`;
        const depth = 8 + Math.floor(r() * 13);
        for (let k = 0; k < depth; k++) s += `\n\tat com.example.app.Layer${k}.call(Layer${k}.java:${Math.floor(r() * 400)})`;
        return s + `\nCaused by: java.io.IOException: disk\n\t... ${depth} more`;
      };
  }
}

/** Writes `records` logical records of `kind` to `path`; returns bytes written. */
export function writeCorpus(path: string, kind: CorpusKind, records: number, seed = 42): Promise<number> {
  return writeLines(path, 0, records, lineGenerator(kind, seed));
}
