import type { ParseContext } from '../src/parse/types.ts';

/**
 * The parser benchmark's lines (bench/parsers.ts, bench/parsers-ab.ts): per case a set of
 * realistic lines with distinct values, so no memo hides work.
 */
const N = 4096;

function pick<T>(xs: T[], i: number): T {
  return xs[i % xs.length];
}
const IPS = Array.from({ length: 97 }, (_, i) => `10.${i % 7}.${(i * 13) % 255}.${(i * 31) % 255}`);
const PATHS = ['/api/users/123', '/api/orders?page=2&size=50', '/static/app.3f9a.js', '/login', '/healthz', '/api/documents/doc123/download'];
const UAS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0', 'Go-http-client/1.1'];
const STATUS = [200, 200, 200, 201, 304, 404, 500, 401];
function clfTime(i: number): string {
  const s = i % 60, m = Math.floor(i / 60) % 60;
  return `15/Jan/2024:10:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')} +0000`;
}

export const CASES: Record<string, { parser: string; lines: string[] }> = {
  json: {
    parser: 'json',
    lines: Array.from({ length: N }, (_, i) => i % 3 === 0
      ? `{"timestamp":"2024-01-15T10:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z","level":"INFO","service":"cf1-frontend","message":"User logged in","context":{"userId":"user${i}","ip":"${pick(IPS, i)}"},"requestId":"req-${i.toString(16)}","userId":"user${i}"}`
      : i % 3 === 1
        ? `{"timestamp":"2024-01-15T10:00:00Z","level":"INFO","service":"api","trace_id":"abc${i}","span_id":"def${i}","user_id":"user${i % 50}","message":"Document uploaded successfully","metadata":{"document_id":"doc${i}","file_size":${1000 + i},"processing_time":0.5}}`
        : `{"level":30,"time":${1705312800000 + i},"pid":4242,"hostname":"web-1","name":"orders","reqId":"r-${i}","msg":"request completed","responseTime":${i % 500}}`),
  },
  nginx: {
    parser: 'nginx',
    lines: Array.from({ length: N }, (_, i) => `${pick(IPS, i)} - - [${clfTime(i)}] "GET ${pick(PATHS, i)} HTTP/1.1" ${pick(STATUS, i)} ${1000 + (i % 5000)} "https://example.com/" "${pick(UAS, i)}" 0.${String(i % 1000).padStart(3, '0')} 0.${String(i % 997).padStart(3, '0')}`),
  },
  'nginx (error log)': {
    parser: 'nginx',
    lines: Array.from({ length: N }, (_, i) => `2024/01/15 10:00:${String(i % 60).padStart(2, '0')} [error] 1234#1234: *${5678 + i} open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: ${pick(IPS, i)}, server: example.com, request: "GET /favicon.ico HTTP/1.1", host: "example.com"`),
  },
  apache: {
    parser: 'apache',
    lines: Array.from({ length: N }, (_, i) => `${pick(IPS, i)} - frank [${clfTime(i)}] "POST ${pick(PATHS, i)} HTTP/1.0" ${pick(STATUS, i)} ${2326 + i} "http://www.example.com/start.html" "${pick(UAS, i)}"`),
  },
  logfmt: {
    parser: 'logfmt',
    lines: Array.from({ length: N }, (_, i) => `ts=2024-01-15T10:00:${String(i % 60).padStart(2, '0')}Z level=info msg="request handled" method=GET path=${pick(PATHS, i)} status=${pick(STATUS, i)} duration=${i % 900}ms user_id=u${i}`),
  },
  syslog: {
    parser: 'syslog',
    lines: Array.from({ length: N }, (_, i) => i % 2 === 0
      ? `Jan 15 10:00:${String(i % 60).padStart(2, '0')} web-1 sshd[${1000 + i}]: Failed password for invalid user admin from ${pick(IPS, i)} port ${40000 + i} ssh2`
      : `<165>1 2024-01-15T10:00:00.${String(i % 1000).padStart(3, '0')}Z host.example.com app ${i} ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event ${i}`),
  },
  plain: {
    parser: 'plain',
    lines: Array.from({ length: N }, (_, i) => i % 2 === 0
      ? `2024-01-15 10:00:00,${String(i % 1000).padStart(3, '0')} ERROR [main] com.example.OrderService - Order ${i} failed: timeout`
      : `2024-01-15 10:00:00,${String(i % 1000).padStart(3, '0')} - app.db - WARNING - slow query ${i}`),
  },
  regex: {
    parser: 'regex',
    lines: Array.from({ length: N }, (_, i) => `2024-01-15T10:00:${String(i % 60).padStart(2, '0')}Z [${i % 5 === 0 ? 'ERROR' : 'INFO'}] worker-${i % 8}: job ${i} done in ${i % 100}ms`),
  },
};

export const ctx: ParseContext = {
  source: { type: 'file', name: 'bench', file: '/var/log/bench.log', host: 'bench' },
  service: 'bench',
  readTime: Date.parse('2024-01-15T12:00:00Z'),
  runtimeTimestamp: undefined,
  parseError() {},
};
