/**
 * Pipeline workers (config `workers.threads`, README "Pipeline workers"): the same build shipping
 * the same corpus into countsink with the option off and with 1 and 2 worker threads, runs
 * alternating so machine load falls on all alike. Prints wall lines per second (spawn until
 * countsink holds every line, so start-up included), lines per CPU-second and the load average
 * of each run, the CPU seconds of each kind of thread (main, pipeline workers, V8's GC helpers),
 * then the medians and each setting's wall rate over the off runs', and the ceiling the machine allows:
 * its cores over the cores shipper and receiver (countsink, on the same machine) keep busy with the
 * option off.
 *
 *   npm run build && node bench/workers-ab.ts [--corpus seed] [--parser json] [--lines 300000] [--rounds 4]
 *        [--threads 0,1,2] [--files 1]
 *
 * One corpus file is one file: its lines all go to one worker (order per file), so 2 threads only
 * help with several files (`--files N` splits the corpus into N files).
 */
import { readFileSync, statSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCorpus, type CorpusKind } from './corpus.ts';
import { threadCpu } from './proc.ts';
import { startCountsink } from './receivers.ts';
import { logshipShipper, measure } from './shippers.ts';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const kind = arg('--corpus', 'seed') as CorpusKind;
const lines = Number(arg('--lines', '300000'));
const rounds = Number(arg('--rounds', '4'));
const files = Number(arg('--files', '1'));
const settings = arg('--threads', '0,1,2').split(',').map(Number);
const parser = arg('--parser', kind === 'nginx' ? 'nginx' : 'json');

const corpus = join(tmpdir(), `daemon-ab-${kind}-${lines}.log`);
if (!existsSync(corpus)) await writeCorpus(corpus, kind, lines);
let paths = corpus;
if (files > 1) {
  // the same lines dealt round robin into `files` files
  const dir = join(tmpdir(), `workers-ab-${kind}-${lines}-${files}`);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    const all = readFileSync(corpus, 'utf8').split('\n').filter(Boolean);
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `f${f}.log`), all.filter((_, i) => i % files === f).join('\n') + '\n');
  }
  paths = join(dir, '*.log');
}

const bytes = files > 1 ? lines * (statSync(corpus).size / lines) : statSync(corpus).size;
const receiver = await startCountsink('loki');
const runs = new Map<number, Array<{ wall: number; perCpu: number; cores: number; shipperCores: number }>>(settings.map((t) => [t, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const threads of r % 2 === 0 ? settings : [...settings].reverse()) {
      const shipper = logshipShipper({ name: `workers-${threads}`, sink: 'loki', parser, extraYaml: `workers: { threads: ${threads} }\n` });
      const load = loadavg()[0];
      let threadsCpu = '';
      const receiverCpuBefore = receiver.cpuSeconds();
      const run = await measure(shipper, paths, bytes, lines, receiver, { timeoutMs: 300_000, stallMs: 30_000, onDone: (pid) => (threadsCpu = threadCpu(pid)) });
      const wall = Math.round(lines / run.seconds);
      const perCpu = Math.round(lines / run.stats.cpuSeconds);
      const receiverCpu = receiver.cpuSeconds() - receiverCpuBefore;
      // cores kept busy by shipper and receiver together while the corpus went through
      const cores = (run.stats.cpuSeconds + receiverCpu) / run.seconds;
      runs.get(threads)!.push({ wall, perCpu, cores, shipperCores: run.stats.cpuSeconds / run.seconds });
      console.log(`round ${r + 1} threads ${threads}: ${wall} lines/s wall (${run.seconds.toFixed(2)} s), ${perCpu} lines/CPU-s, ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB, load ${load.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after; CPU-s by thread: ${threadsCpu}; receiver ${receiverCpu.toFixed(2)} CPU-s; shipper + receiver ${cores.toFixed(2)} cores`);
    }
  }
} finally {
  await receiver.stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const off = median(runs.get(settings[0])!.map((x) => x.wall));
for (const [t, xs] of runs) {
  const w = median(xs.map((x) => x.wall));
  console.log(`threads ${t}: median ${w} lines/s wall (${xs.map((x) => x.wall).join(', ')}), ${median(xs.map((x) => x.perCpu))} lines/CPU-s; ${(w / off).toFixed(2)}x threads ${settings[0]}`);
}
// The receiver runs on the same cores. A setting that spent no more CPU per line (shipper and
// receiver together) than the first could at best keep every core busy: that rate is the ceiling.
// Its ratio to the first setting's wall rate is the most any setting can show here, and means
// something only when the first setting ran on a quiet machine (under load its wall rate falls).
const cpus = availableParallelism();
const offRuns = runs.get(settings[0])!;
const cpuPerLine = median(offRuns.map((x) => x.cores / x.wall));
const ceiling = Math.round(cpus / cpuPerLine);
console.log(`ceiling on this machine: ${cpus} cores / ${(cpuPerLine * 1e6).toFixed(1)} CPU-us per line (threads ${settings[0]}, shipper + receiver) = ${ceiling} lines/s, ${(ceiling / off).toFixed(2)}x threads ${settings[0]}'s wall rate`);
// The same were the receiver elsewhere (as Loki is in production): the shipper's own CPU per line only.
const shipperPerLine = median(offRuns.map((x) => x.shipperCores / x.wall));
const alone = Math.round(cpus / shipperPerLine);
console.log(`without the receiver's share: ${cpus} cores / ${(shipperPerLine * 1e6).toFixed(1)} CPU-us per line = ${alone} lines/s, ${(alone / off).toFixed(2)}x`);
