/**
 * Elasticsearch sink benchmark: N JSON lines (default 1,000,000) through the real CLI (file
 * source → json parser → elasticsearch sink, default settings: gzip, 5 MiB batches, 2 in flight)
 * into the ES test server running in its own process. Reports lines/s, MiB/s (of log file),
 * logship's CPU seconds and peak RSS (VmHWM), and records them in bench/RESULTS.md under
 * "## Elasticsearch sink".
 *
 *   npm run build && node_modules/.bin/node bench/elasticsearch.ts [--lines N] [--no-gzip] [--no-record]
 *
 * The pieces are exported for a shared harness: writeJsonCorpus, startEsServerProcess,
 * runLogshipToEs, procStats, recordResults.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const CLK_TCK = 100;

const SERVICES = ['api', 'payment', 'cf1-frontend', 'cf1-backend', 'auth'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const MESSAGES = ['Document uploaded successfully', 'User logged in', 'Investment failed', 'Cache miss for key', 'Request completed', 'Payment authorised'];

/** ~300-byte lines in the platform's JSON format (seeded, so every run ships the same bytes). */
export async function writeJsonCorpus(path: string, lines: number, seed = 42): Promise<number> {
  let a = seed >>> 0;
  const r = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
    return s;
  };
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const out = createWriteStream(path);
  let bytes = 0;
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += JSON.stringify({
      timestamp: new Date(t0 + i).toISOString(), level: LEVELS[Math.floor(r() * LEVELS.length)], service: SERVICES[Math.floor(r() * SERVICES.length)],
      trace_id: hex(32), span_id: hex(16), user_id: `user${Math.floor(r() * 100000)}`, message: MESSAGES[Math.floor(r() * MESSAGES.length)],
      response_time: Math.round(r() * 8000), metadata: { document_id: `doc${Math.floor(r() * 1e6)}`, file_size: Math.floor(r() * 2e6), seq: i },
    }) + '\n';
    if (chunk.length > 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, 'finish');
  return bytes;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface ProcStats {
  cpuSeconds: number;
  peakRssBytes: number;
}

/** utime+stime and VmHWM of a live process (Linux /proc). */
export function procStats(pid: number): ProcStats | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK, peakRssBytes: hwm };
  } catch {
    return null;
  }
}

export interface EsServerProcess {
  url: string;
  child: ChildProcess;
  count(): Promise<number>;
  stats(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** test/servers/es-server-main.ts in its own process (sources not kept: a million ids fit, documents would not). */
export async function startEsServerProcess(port = 0): Promise<EsServerProcess> {
  const child = spawn(NODE, [join(ROOT, 'test', 'servers', 'es-server-main.ts'), '--port', String(port), '--no-source'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const listening = await new Promise<number>((res, rej) => {
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (code) => rej(new Error(`es-server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${listening}`;
  const stats = async () => (await (await fetch(`${url}/_logship_test/stats`)).json()) as Record<string, unknown>;
  return {
    url, child, stats,
    count: async () => (await stats()).count as number,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

export interface EsBenchResult {
  lines: number;
  bytes: number;
  seconds: number;
  linesPerSecond: number;
  mibPerSecond: number;
  cpuSeconds: number;
  peakRssBytes: number;
  bulkRequests: number;
  gzip: boolean;
  /** memory.max_buffer_bytes when not the default (64MiB). */
  maxBufferBytes?: string;
}

/** Ships `corpus` (of `lines` lines) with the real CLI into `es` and measures logship. */
export async function runLogshipToEs(corpus: string, lines: number, bytes: number, es: EsServerProcess, opts: { gzip?: boolean; workDir?: string; maxBufferBytes?: string } = {}): Promise<EsBenchResult> {
  const work = opts.workDir ?? mkdtempSync(join(tmpdir(), 'logship-bench-es-'));
  const httpPort = await freePort();
  const gzip = opts.gzip ?? true;
  writeFileSync(join(work, 'logship.yaml'), `
server: { listen: "127.0.0.1:${httpPort}" }
positions: { path: "${work}/positions.json" }
${opts.maxBufferBytes ? `memory: { max_buffer_bytes: ${opts.maxBufferBytes} }` : ''}
sources:
  - { name: app, paths: ["${corpus}"], parser: json, start_at: beginning }
sinks:
  - { type: elasticsearch, url: "${es.url}", gzip: ${gzip}, dead_letter_path: "${work}/dead.ndjson" }
`);
  const before = await es.count();
  const t0 = process.hrtime.bigint();
  const child = spawn(NODE, [join(ROOT, 'dist', 'src', 'cli.js'), 'run', '--config', join(work, 'logship.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let last: ProcStats | null = null;
  let seconds = 0;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      last = procStats(child.pid!) ?? last;
      if (child.exitCode !== null) throw new Error(`logship exited with ${child.exitCode}`);
      if ((await es.count()) - before >= lines) break;
    }
  } finally {
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    last = procStats(child.pid!) ?? last;
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  const st = await es.stats();
  if (!opts.workDir) rmSync(work, { recursive: true, force: true });
  return {
    lines, bytes, seconds, gzip,
    ...(opts.maxBufferBytes ? { maxBufferBytes: opts.maxBufferBytes } : {}),
    linesPerSecond: lines / seconds,
    mibPerSecond: bytes / 1048576 / seconds,
    cpuSeconds: last?.cpuSeconds ?? NaN,
    peakRssBytes: last?.peakRssBytes ?? NaN,
    bulkRequests: st.bulkRequests as number,
  };
}

const HEADING = '## Elasticsearch sink';

/** Replaces (or appends) only the "## Elasticsearch sink" section of bench/RESULTS.md. */
export function recordResults(results: EsBenchResult[], file = join(ROOT, 'bench', 'RESULTS.md')): void {
  const rows = results.map((r) => `| ${r.lines.toLocaleString('en-US')} | ${r.gzip ? 'gzip' : 'none'} | ${r.seconds.toFixed(1)} | ${Math.round(r.linesPerSecond).toLocaleString('en-US')} | ${r.mibPerSecond.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${(r.peakRssBytes / 1048576).toFixed(0)} | ${r.bulkRequests} |`);
  const section = `${HEADING}

\`node_modules/.bin/node bench/elasticsearch.ts\` — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.versions.node}.
JSON lines (~300 B, the platform's format) in one file → \`logship run\` (file source, json parser, elasticsearch
sink with default batching: 5 MiB / 1 s, 2 requests in flight, create + idempotent ids) → the ES test server
(test/servers/es-server.ts) in its own process on 127.0.0.1, which parses every NDJSON line, checks mappings
and \`create\` semantics. Time is from spawning logship until the server holds every document; CPU seconds
and peak RSS (VmHWM) are logship's alone. The machine is shared with other developers; the server competes
for the same 2 cores, so throughput is a floor.

| lines | compression | seconds | lines/s | MiB/s (log file) | logship CPU s | peak RSS MiB | bulk requests |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const start = text.indexOf(`${HEADING}\n`);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + HEADING.length);
    text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : '');
  } else {
    text = text.replace(/\n*$/, '\n\n') + section;
  }
  writeFileSync(file, text);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--lines');
  const lines = i >= 0 ? Number(args[i + 1]) : 1_000_000;
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'logship-bench-es-corpus-'));
  const corpus = join(dir, 'app.log');
  const bytes = await writeJsonCorpus(corpus, lines);
  process.stderr.write(`corpus: ${lines} lines, ${(bytes / 1048576).toFixed(1)} MiB\n`);
  const results: EsBenchResult[] = [];
  for (const gzip of args.includes('--no-gzip') ? [false] : args.includes('--both') ? [true, false] : [true]) {
    const es = await startEsServerProcess();
    try {
      const r = await runLogshipToEs(corpus, lines, bytes, es, { gzip });
      results.push(r);
      process.stdout.write(JSON.stringify(r) + '\n');
    } finally {
      await es.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (!args.includes('--no-record')) recordResults(results);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
