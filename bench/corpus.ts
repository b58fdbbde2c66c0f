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

export type CorpusKind = 'json' | 'nginx' | 'cri' | 'java' | 'seed' | 'seed-spaced' | 'pino' | 'python' | 'syslog';

/** The JSON corpora that run side by side with Fluent Bit and Promtail (the issue 26 set). */
export const JSON_CORPORA: readonly CorpusKind[] = ['seed', 'seed-spaced', 'pino', 'python', 'json'];

const ROUTES: readonly (readonly [method: string, route: string, path: (r: () => number) => string])[] = [
  ['GET', '/api/documents/:id', (r) => `/api/documents/${Math.floor(r() * 10000)}`],
  ['POST', '/api/documents', () => '/api/documents'],
  ['GET', '/api/users/:id', (r) => `/api/users/${Math.floor(r() * 100000)}`],
  ['POST', '/api/payments', () => '/api/payments'],
  ['GET', '/api/proposals', () => '/api/proposals'],
  ['POST', '/api/auth/login', () => '/api/auth/login'],
  ['GET', '/healthz', () => '/healthz'],
];
const SLOW_OPS = ['document_processing', 'db_query', 'report_generation', 'pdf_render'];
const ERRORS = ['upstream timeout', 'connection refused', 'deadlock detected', 'invalid signature'];

/**
 * Request latency in seconds, log-normal with median 80 ms (the seed's LogEntry.duration; issue 26):
 * exp(N(ln 0.08, 0.9)) puts ~5% over 350 ms and a tail into seconds. Box-Muller from the PRNG.
 */
function latencySeconds(r: () => number): number {
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Math.exp(Math.log(0.08) + 0.9 * z);
}

/**
 * One record of the platform's seed LogEntry format (seed-log-formats §1b-1d): request lines with
 * trace/span/user/request ids, `duration` in seconds and request details in `metadata`; 3% failed
 * logins (§1c security), 3% slow operations (§1c performance, duration over threshold), 2% failed
 * requests (ERROR, 5xx) and the rest completed requests, INFO or DEBUG.
 */
function seedRecord(r: () => number, t: number): Record<string, unknown> {
  const base = {
    timestamp: new Date(t).toISOString(),
    level: 'INFO',
    service: pick(r, SERVICES),
    message: 'Request completed',
    trace_id: hex(r, 32),
    span_id: hex(r, 16),
    user_id: `user${Math.floor(r() * 100000)}`,
    request_id: `req-${hex(r, 12)}`,
  };
  const u = r();
  if (u < 0.03) {
    return { ...base, level: 'WARN', message: 'Login failed: invalid password', event_type: 'security', action: 'failed_login', ip_address: `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`, user_agent: pick(r, UAS) };
  }
  if (u < 0.06) {
    const threshold = 10;
    return { ...base, level: 'WARN', message: 'Slow operation', event_type: 'performance', operation: pick(r, SLOW_OPS), duration: Math.round((threshold + r() * 40) * 1000) / 1000, threshold };
  }
  const [method, route, path] = pick(r, ROUTES);
  const duration = Math.round(latencySeconds(r) * 1e6) / 1e6;
  if (u < 0.08) {
    return { ...base, level: 'ERROR', message: 'Request failed', duration, metadata: { method, route, path: path(r), status_code: pick(r, [500, 502, 503, 504]), error: pick(r, ERRORS) } };
  }
  const status = r() < 0.95 ? 200 : pick(r, [201, 204, 304, 400, 404]);
  return { ...base, level: r() < 0.9 ? 'INFO' : 'DEBUG', duration, metadata: { method, route, path: path(r), status_code: status, response_size: Math.floor(r() * 50000) } };
}

/** Python's json.dumps default separators: `", "` and `": "` (ASCII-only output, as ensure_ascii). */
function pythonDumps(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pythonDumps).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pythonDumps(x)}`).join(', ')}}`;
}

const PINO_LEVEL: Record<string, number> = { DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50 };
const PY_LOGGERS = ['app.api.views', 'app.services.documents', 'app.auth', 'uvicorn.access'];


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
    case 'seed':
      return (i) => JSON.stringify(seedRecord(r, t0 + i));
    case 'seed-spaced':
      return (i) => pythonDumps(seedRecord(r, t0 + i));
    case 'pino':
      // pino's default output (pino docs: level number, time in epoch ms, pid, hostname, msg last)
      // with pino-http's req/res/responseTime (milliseconds) on request lines.
      return (i) => {
        const rec = seedRecord(r, t0 + i);
        const m = rec.metadata as { method: string; path: string; status_code: number } | undefined;
        const out: Record<string, unknown> = { level: PINO_LEVEL[rec.level as string], time: t0 + i, pid: 4242, hostname: 'cf1-backend-7d9f', service: rec.service, reqId: rec.request_id, userId: rec.user_id };
        if (m) {
          out.req = { id: rec.request_id, method: m.method, url: m.path, remoteAddress: '10.0.3.7', remotePort: 40000 + Math.floor(r() * 20000) };
          out.res = { statusCode: m.status_code };
          out.responseTime = Math.round((rec.duration as number) * 1000);
        } else Object.assign(out, { event_type: rec.event_type, action: rec.action, operation: rec.operation, duration: rec.duration });
        out.msg = rec.message;
        return JSON.stringify(out);
      };
    case 'python':
      // python-json-logger's JsonFormatter('%(asctime)s %(levelname)s %(name)s %(message)s') with
      // `extra=` fields, written through json.dumps (spaced); asctime is logging's default format.
      return (i) => {
        const rec = seedRecord(r, t0 + i);
        const iso = rec.timestamp as string;
        const { timestamp: _t, level, service: _s, message, ...extra } = rec;
        return pythonDumps({ asctime: `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}`, levelname: level, name: pick(r, PY_LOGGERS), message, ...extra });
      };
    case 'syslog':
      // /var/log/syslog as rsyslog writes it (RFC 3164 without PRI): sshd, cron, kernel.
      return (i) => {
        const d = new Date(t0 + i);
        const ts = `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
        const u = r();
        const ip = `203.0.113.${Math.floor(r() * 255)}`;
        if (u < 0.05) return `${ts} web-01 sshd[${1000 + Math.floor(r() * 9000)}]: Failed password for invalid user admin from ${ip} port ${40000 + Math.floor(r() * 20000)} ssh2`;
        if (u < 0.2) return `${ts} web-01 sshd[${1000 + Math.floor(r() * 9000)}]: Accepted publickey for deploy from ${ip} port ${40000 + Math.floor(r() * 20000)} ssh2`;
        if (u < 0.6) return `${ts} web-01 CRON[${1000 + Math.floor(r() * 9000)}]: (root) CMD (run-parts /etc/cron.hourly) seq=${i}`;
        return `${ts} web-01 kernel: [${(i / 1000).toFixed(6)}] TCP: request_sock_TCP: Possible SYN flooding on port 443. seq=${i}`;
      };
    case 'nginx':
      return (i) => {
        const d = new Date(t0 + i);
        const ts = `${String(d.getUTCDate()).padStart(2, '0')}/${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
        const status = r() < 0.9 ? 200 : pick(r, [301, 401, 403, 404, 429, 500, 502]);
        // $request_time $upstream_response_time, seconds with ms resolution, median 80 ms
        const rt = latencySeconds(r);
        return `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)} - - [${ts}] "${pick(r, ['GET', 'GET', 'POST', 'PUT'])} ${pick(r, PATHS)}?seq=${i} HTTP/1.1" ${status} ${Math.floor(r() * 50000)} "https://example.com/" "${pick(r, UAS)}" ${rt.toFixed(3)} ${(rt * 0.97).toFixed(3)}`;
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
