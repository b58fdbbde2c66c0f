/**
 * Loki sink benchmark: ships N (default 1,000,000) of the platform's JSON lines (~250 bytes,
 * seed-log-formats §1) from a file through the real CLI (dist/) to the Loki test server running in
 * its own process (protobuf + snappy decoded and validated there), and reports lines/s, MiB/s,
 * CPU seconds (user + sys of the logship process, /proc/<pid>/stat) and peak RSS (VmHWM).
 *
 *   npm run build && node_modules/.bin/node bench/loki.ts [--lines N] [--encoding protobuf|json] [--runs K]
 *
 * Self-contained; the exported functions are meant for a shared bench harness.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SEQ_PATTERN, writePlatformCorpus } from '../test/servers/loki-corpus.ts';
import { LokiServerProcess } from '../test/servers/loki-server-process.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface LokiBenchOptions {
  lines: number;
  encoding: 'protobuf' | 'json';
  /** Extra YAML for the loki sink entry, e.g. `, max_inflight: 4`. */
  sinkExtra?: string;
  /** Reuse a corpus file (must hold `lines` lines). */
  corpus?: string;
}

export interface LokiBenchResult {
  lines: number;
  fileBytes: number;
  seconds: number;
  linesPerSecond: number;
  mibPerSecond: number;
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  peakRssMiB: number;
  duplicates: number;
  requests: number;
  loadBefore: number;
}

/** user + sys CPU seconds and VmHWM of a process (Linux /proc). */
export function procStats(pid: number): { user: number; sys: number; peakRssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100, peakRssBytes: hwm };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function makeCorpus(path: string, lines: number): Promise<number> {
  return writePlatformCorpus(path, lines, { flags: 'w' });
}

/** One run: corpus → logship (real CLI) → Loki test server (own process). */
export async function runLokiBench(opts: LokiBenchOptions): Promise<LokiBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'logship-bench-loki-'));
  try {
    const logs = join(dir, 'logs');
    const corpus = opts.corpus ?? join(logs, 'app.log');
    if (!opts.corpus) {
      mkdirSync(logs, { recursive: true });
      await makeCorpus(corpus, opts.lines);
    }
    const fileBytes = statSync(corpus).size;
    const loki = new LokiServerProcess({ port: await freePort(), summary: true, trackSeq: SEQ_PATTERN });
    await loki.start();
    const port = await freePort();
    const cfgPath = join(dir, 'logship.yaml');
    writeFileSync(cfgPath, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json" }
sources:
  - { name: cf1-backend, paths: ["${corpus}"], start_at: beginning, parser: json }
sinks:
  - { type: loki, url: "${loki.url}", encoding: ${opts.encoding}${opts.sinkExtra ?? ''} }
`);
    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'run', '--config', cfgPath, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`logship exited ${child.exitCode}: ${stderr.slice(-2000)}`);
        const c = await loki.count();
        if (c.entries >= opts.lines) break;
        await sleep(50);
      }
      const seconds = (performance.now() - t0) / 1000;
      const ps = procStats(child.pid!);
      const seq = await loki.seq(opts.lines);
      if (seq.missing > 0) throw new Error(`${seq.missing} lines missing`);
      const count = await loki.count();
      return {
        lines: opts.lines, fileBytes, seconds,
        linesPerSecond: opts.lines / seconds, mibPerSecond: fileBytes / seconds / 1048576,
        cpuSeconds: ps.user + ps.sys, userSeconds: ps.user, systemSeconds: ps.sys,
        peakRssMiB: ps.peakRssBytes / 1048576, duplicates: seq.extraCopies, requests: count.requests, loadBefore,
      };
    } finally {
      child.kill('SIGKILL');
      await loki.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatLokiResult(r: LokiBenchResult): string {
  return `| ${r.lines.toLocaleString('en-US')} | ${(r.fileBytes / 1e6).toFixed(0)} MB | ${r.seconds.toFixed(1)} s | ${Math.round(r.linesPerSecond).toLocaleString('en-US')} | ${r.mibPerSecond.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} (${r.userSeconds.toFixed(1)} user + ${r.systemSeconds.toFixed(1)} sys) | ${Math.round(r.lines / r.cpuSeconds).toLocaleString('en-US')} | ${r.peakRssMiB.toFixed(0)} MiB | ${r.loadBefore.toFixed(1)} |`;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, encoding: { type: 'string', default: 'protobuf' }, runs: { type: 'string', default: '1' }, 'sink-extra': { type: 'string' } } });
  const opts: LokiBenchOptions = { lines: Number(values.lines), encoding: values.encoding === 'json' ? 'json' : 'protobuf', ...(values['sink-extra'] ? { sinkExtra: values['sink-extra'] } : {}) };
  console.log(`# Loki sink benchmark: ${opts.lines} lines, ${opts.encoding}, ${cpus().length} cores, node ${process.versions.node}`);
  console.log('| lines | file | time | lines/s | MiB/s | CPU s | lines per CPU-s | peak RSS | load before |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (let i = 0; i < Number(values.runs); i++) console.log(formatLokiResult(await runLokiBench(opts)));
}
