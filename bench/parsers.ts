/**
 * Parser throughput, one core: `node_modules/.bin/node bench/parsers.ts [seconds-per-case]`.
 * Each case cycles a set of realistic lines (distinct values, so no memo hides work) through
 * the parser for a fixed time after a warm-up, and prints lines/s and MB/s. Results go to
 * bench/RESULTS.md ("Parsers").
 */
import { cpus } from 'node:os';
import { createParser } from '../parsers/index.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogEvent, LogRecord } from '../src/core/record.ts';
import { NO_ACK } from '../src/core/record.ts';
import { ClassifyStage, classifyStageSchema } from '../src/pipeline/classify.ts';
import { RedactStage, redactStageSchema } from '../src/pipeline/redact.ts';
import { MetricsRegistry } from '../src/self-metrics/registry.ts';

const SECONDS = Number(process.argv[2] ?? 2);
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

const CASES: Record<string, { parser: string; lines: string[] }> = {
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

const ctx: ParseContext = {
  source: { type: 'file', name: 'bench', file: '/var/log/bench.log', host: 'bench' },
  service: 'bench',
  readTime: Date.parse('2024-01-15T12:00:00Z'),
  runtimeTimestamp: undefined,
  parseError() {},
};

/** Wall-clock rate, and the rate per CPU-second of this thread (what one core does, even when other processes share the machine). */
function run(parse: (line: string) => unknown, lines: string[]): { rate: number; mbps: number; cpuRate: number } {
  let sink = 0;
  const t0 = performance.now();
  let i = 0;
  let bytes = 0;
  while (performance.now() - t0 < 300) sink ^= parse(lines[i++ % lines.length]) ? 1 : 0; // warm-up
  i = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < SECONDS * 1000) {
    for (let k = 0; k < 1024; k++) {
      const line = lines[i++ % lines.length];
      bytes += line.length;
      sink ^= parse(line) ? 1 : 0;
    }
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 2) console.log('');
  return { rate: i / (elapsed / 1000), mbps: bytes / 1e6 / (elapsed / 1000), cpuRate: i / ((cpu.user + cpu.system) / 1e6) };
}

const rows: string[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.versions.node}, ${cpus()[0]?.model ?? 'cpu'}, ${SECONDS}s per case, one thread`);
for (const [name, c] of Object.entries(CASES)) {
  const p: Parser = createParser(c.parser, { timezone: 'UTC', client_error_level: 'WARN', ...(c.parser === 'regex' ? { pattern: '^(?<timestamp>\\S+) \\[(?<level>\\w+)\\] (?<thread>[\\w-]+): (?<message>.*)$' } : {}) });
  const r = run((l) => p(l, ctx), c.lines);
  rows.push(`| ${name} | ${c.parser} | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | ${r.mbps.toFixed(1)} |`);
  console.log(rows.at(-1));
}
// auto over a mix of every format
{
  const mix = Object.values(CASES).flatMap((c) => c.lines.slice(0, 512));
  const p = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });
  const r = run((l) => p(l, ctx), mix);
  rows.push(`| auto (mix of all above) | auto | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | ${r.mbps.toFixed(1)} |`);
  console.log(rows.at(-1));
}
// the built-in stages on parsed records
{
  const json = createParser('json', { timezone: 'UTC', client_error_level: 'WARN' });
  const nginx = createParser('nginx', { timezone: 'UTC', client_error_level: 'WARN' });
  const records: LogRecord[] = [...CASES.json.lines.map((l) => json(l, ctx)), ...CASES.nginx.lines.map((l) => nginx(l, ctx))];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = {
    'classify stage': new ClassifyStage(classifyStageSchema.parse({ type: 'classify' }), { metrics }),
    'redact stage': new RedactStage(redactStageSchema.parse({ type: 'redact' }), { metrics }),
  };
  for (const [name, stage] of Object.entries(stages)) {
    let k = 0;
    // fresh shallow copies so a stage's edits do not short-circuit the next pass
    const r = run(() => {
      const rec = records[k++ % records.length];
      const ev: LogEvent = { record: { ...rec, metadata: rec.metadata ? { ...rec.metadata } : undefined }, labels: {}, ack: NO_ACK, size: 200 };
      return stage.process(ev);
    }, CASES.json.lines);
    rows.push(`| ${name} (json + nginx records) | - | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | - |`);
    console.log(rows.at(-1));
  }
}
console.log('\n| case | parser | lines/s (wall) | lines per CPU-second | MB/s (wall) |\n|---|---|---:|---:|---:|\n' + rows.join('\n'));
