/**
 * Whole-daemon A/B between checkouts: each build's own CLI (its package.json `bin`), launched with the flags
 * of its own shebang, ships the same corpus into countsink; runs alternate between the builds so
 * that machine load falls on both alike. Prints lines per CPU-second per run and the median.
 *
 *   node bench/daemon-ab.ts --builds /work/wt-base,/work/main [--corpus json] [--lines 300000]
 *        [--rounds 5] [--config-extra 'sinks yaml lines'] [--one-core]
 *
 * --one-core pins every thread of the daemon to CPU 0 and countsink to CPU 1 (taskset), so the
 * wall rate (lines/s) is what the daemon does on one core of its own.
 *
 * Each build must be built (`npm run build`). CPU is user+sys of the daemon from spawn until
 * countsink holds every line, so it includes start-up (~0.5 CPU-s).
 */
import { execFileSync, spawn } from 'node:child_process';
import { statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeCorpus, type CorpusKind } from './corpus.ts';
import { threadCpu } from './proc.ts';
import { freePort, NODE24, startCountsink } from './receivers.ts';
import { logshipBin, logshipLaunch, measure, type Shipper } from './shippers.ts';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const builds = arg('--builds', '').split(',').filter(Boolean).map((b) => resolve(b));
if (builds.length === 0) throw new Error('--builds dirA,dirB is required');
const corpusKind = arg('--corpus', 'json') as CorpusKind;
const lines = Number(arg('--lines', '300000'));
const rounds = Number(arg('--rounds', '5'));
const parser = arg('--parser', 'json');
const sinkExtra = arg('--sink-extra', '');
const oneCore = argv.includes('--one-core');
/** Every thread of `pid` (and those it starts later) on `cpu` only. */
const pin = (pid: number | undefined, cpu: number) => pid !== undefined && execFileSync('taskset', ['-a', '-c', '-p', String(cpu), String(pid)], { stdio: 'ignore' });

function shipperOf(root: string): Shipper {
  return {
    name: root.replace(/\W+/g, '_'),
    async start(corpus, receiver, workDir) {
      const port = await freePort();
      writeFileSync(join(workDir, 'c.yaml'), `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${workDir}/positions.json" }
sources:
  - name: app
    type: file
    paths: ["${corpus}"]
    parser: ${parser}
    start_at: beginning
sinks:
  - type: loki
    url: ${receiver.url}${sinkExtra ? '\n    ' + sinkExtra : ''}
`);
      const l = logshipLaunch(root);
      const child = spawn(NODE24, [...l.nodeArgs, logshipBin(root), 'run', '--config', join(workDir, 'c.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: l.env });
      if (oneCore) pin(child.pid, 0);
      return child;
    },
  };
}

const corpus = join(tmpdir(), `daemon-ab-${corpusKind}-${lines}.log`);
if (!existsSync(corpus)) await writeCorpus(corpus, corpusKind, lines);
const bytes = statSync(corpus).size;
const receiver = await startCountsink('loki');
if (oneCore) pin(receiver.pid, 1);
const results = new Map<string, number[]>(builds.map((b) => [b, []]));
const walls = new Map<string, number[]>(builds.map((b) => [b, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      let threads = '';
      const run = await measure(shipperOf(b), corpus, bytes, lines, receiver, { timeoutMs: 300_000, stallMs: 30_000, onDone: (pid) => (threads = threadCpu(pid)) });
      const perCpu = Math.round(lines / run.stats.cpuSeconds);
      results.get(b)!.push(perCpu);
      walls.get(b)!.push(Math.round(lines / run.seconds));
      console.log(`round ${r + 1} ${b}: ${perCpu} lines/CPU-s, ${run.stats.cpuSeconds.toFixed(2)} CPU-s, ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${run.seconds.toFixed(2)} s; CPU-s by thread: ${threads}`);
    }
  }
} finally {
  await receiver.stop();
}
for (const [b, xs] of results) {
  const s = [...xs].sort((x, y) => x - y);
  const w = [...walls.get(b)!].sort((x, y) => x - y);
  console.log(`${b}: median ${s[s.length >> 1]} lines/CPU-s (${s.join(', ')}); ${w[w.length >> 1]} lines/s wall${oneCore ? ' on one core' : ''} (${w.join(', ')})`);
}
