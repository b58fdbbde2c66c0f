/**
 * logship's benchmark harness (`npm run bench`): generates seeded corpora, runs the real logship
 * process against a receiver in a separate process, and reports per scenario lines/s and MiB/s
 * until the last line is acknowledged, CPU seconds (user+sys of the shipper process) and peak
 * RSS (VmHWM). With ../shared/peers present (or FLUENT_BIT_BIN / PROMTAIL_BIN), the JSON→Loki
 * scenario also runs Fluent Bit and Promtail on the same corpus into the same receiver.
 *
 *   npm run bench [-- --quick] [-- --only json-loki,side-by-side,mixed-host] [-- --no-write] [-- --rounds N]
 *                 [-- --side-lines N] [-- --corpora seed,seed-spaced,pino,python,json] [-- --no-margin]
 *
 * --rounds N (default 3, quick 1): runs of each throughput scenario and side-by-side rounds.
 * --no-margin: side by side without the quarter-size runs that give the lines per CPU-s at the margin.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { JSON_CORPORA, writeCorpus, type CorpusKind } from './corpus.ts';
import { readProcStats } from './proc.ts';
import { NODE24, ROOT, freePort, sleep, startCountsink, startEsTestServer, startLokiTestServer, type Receiver } from './receivers.ts';
import { MIXED_FILES, fluentBitMixedShipper, fluentBitShipper, logshipBin, logshipLaunch, logshipMixedShipper, logshipShipper, measure, peerAvailable, promtailMixedShipper, promtailShipper, type ShipperRun, type Shipper } from './shippers.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const noWrite = argv.includes('--no-write');
const noMargin = argv.includes('--no-margin');
const onlyArg = argv[argv.indexOf('--only') + 1];
const only = argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const scale = quick ? 0.2 : 1;
// On a shared VM one run can differ by 20% from the next: each throughput scenario runs several
// times and shows its median run (peak RSS: the highest of the runs), and side by side the shippers
// take turns for as many rounds, each showing its median run.
const rounds = argv.includes('--rounds') ? Math.max(1, Number(argv[argv.indexOf('--rounds') + 1]) || 1) : quick ? 1 : 3;
const CORPUS_DIR = join(ROOT, 'bench', 'out');
mkdirSync(CORPUS_DIR, { recursive: true });

const MiB = 1024 * 1024;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface Row {
  scenario: string;
  shipper: string;
  lines: number;
  bytes: number;
  seconds: number;
  cpu: number;
  rss: number;
  note?: string;
  /** Side by side: lowest and highest lines per CPU-second over the rounds. */
  perCpuRange?: [number, number];
  /**
   * Side by side: lines per CPU-second at the margin, (lines − lines of a quarter-size run) ÷ (CPU −
   * that run's CPU), the rounds' median: start-up and first JIT compiles cancel out.
   */
  warmPerCpu?: number;
}

const rows: Row[] = [];
const EQUAL_WORK = "logship, Fluent Bit's work";
const sideBySide: Row[] = [];

function toRow(scenario: string, r: ShipperRun, note?: string): Row {
  return { scenario, shipper: r.shipper, lines: r.lines, bytes: r.bytes, seconds: r.seconds, cpu: r.stats.cpuSeconds, rss: r.peakRssBytes, note };
}

function report(r: Row): void {
  console.log(`${r.scenario.padEnd(34)} ${r.shipper.padEnd(10)} ${fmt(r.lines / r.seconds).padStart(9)} lines/s ${fmt(r.bytes / MiB / r.seconds, 1).padStart(6)} MiB/s cpu ${fmt(r.cpu, 2).padStart(6)} s ${fmt(r.lines / r.cpu).padStart(9)} lines/cpu-s rss ${fmt(r.rss / MiB).padStart(4)} MiB${r.note ? `  (${r.note})` : ''}`);
}

async function corpus(kind: CorpusKind, records: number): Promise<{ path: string; bytes: number }> {
  const path = join(CORPUS_DIR, `${kind}-${records}.log`);
  const meta = `${path}.bytes`;
  if (existsSync(path) && existsSync(meta)) return { path, bytes: Number(readFileSync(meta, 'utf8')) };
  const bytes = await writeCorpus(path, kind, records);
  writeFileSync(meta, String(bytes));
  return { path, bytes };
}

async function scenario(name: string, id: string, kind: CorpusKind, records: number, shipper: Shipper, receiver: () => Promise<Receiver>, note?: string): Promise<void> {
  if (only && !only.has(id)) return;
  const c = await corpus(kind, records);
  const runs: Row[] = [];
  for (let round = 0; round < rounds; round++) {
    // A fresh receiver each run: the Loki test server would count a second copy as duplicates.
    const rx = await receiver();
    try {
      const r = toRow(name, await measure(shipper, c.path, c.bytes, records, rx), note);
      runs.push(r);
      report(r);
    } finally {
      await rx.stop();
    }
  }
  const rate = (r: Row) => r.lines / r.seconds;
  runs.sort((a, b) => rate(a) - rate(b));
  // the lower middle run when the count is even
  const median = runs[Math.floor((runs.length - 1) / 2)];
  const peak = Math.max(...runs.map((r) => r.rss));
  const spread = runs.length > 1 ? `median of ${runs.length} runs (${fmt(rate(runs[0]))}–${fmt(rate(runs[runs.length - 1]))} lines/s), peak RSS the highest` : undefined;
  rows.push({ ...median, rss: peak, note: [note, spread].filter(Boolean).join('; ') || undefined });
}

const N = Math.round(1_000_000 * scale);

await scenario('JSON app logs → Loki (protobuf+snappy)', 'json-loki', 'json', N, logshipShipper({ sink: 'loki', parser: 'json' }), startLokiTestServer);
await scenario('nginx combined → Loki', 'nginx-loki', 'nginx', N, logshipShipper({ sink: 'loki', parser: 'nginx' }), startLokiTestServer);
await scenario('CRI, 5% partial lines → Loki', 'cri-loki', 'cri', N, logshipShipper({ sink: 'loki', sourceType: 'cri', parser: 'auto' }), startLokiTestServer, 'lines = joined records');
await scenario('Java stack traces (multiline) → Loki', 'java-loki', 'java', Math.round(200_000 * scale),
  logshipShipper({ sink: 'loki', parser: 'plain', extraSourceYaml: "\n    multiline: { start: '^\\d{4}-\\d{2}-\\d{2} ', timeout: 200ms }" }), startLokiTestServer, 'lines = records');
await scenario('JSON app logs → Elasticsearch (gzip)', 'json-es', 'json', N, logshipShipper({ sink: 'elasticsearch' }), startEsTestServer);

// A backlog that arrives while the sink is down for 60 s: memory must stay bounded.
if (!only || only.has('backlog')) {
  const mib = Number(process.env.BENCH_BACKLOG_MIB ?? (quick ? 200 : 1024));
  const records = Math.round((mib * MiB) / 300);
  const outage = quick ? 20_000 : 60_000;
  const c = await corpus('json', records);
  const rx = await startLokiTestServer();
  try {
    // Backoff capped at 5 s so the run measures the outage, not the default 5 min backoff ceiling.
    const shipper = logshipShipper({ sink: 'loki', parser: 'json', extraSinkYaml: '\n    retry: { max_backoff: 5s }' });
    const r = await measure(shipper, c.path, c.bytes, records, rx, { stallMs: outage + 60_000, onStart: () => rx.fail(outage) });
    const row = toRow(`${fmt(c.bytes / MiB)} MiB backlog, sink down ${outage / 1000} s`, r, 'time includes the outage');
    rows.push(row);
    report(row);
  } finally {
    await rx.stop();
  }
}

// Idle: 1,000 watched files, no writes.
if (!only || only.has('idle')) {
  const dir = join(CORPUS_DIR, 'idle');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 1000; i++) writeFileSync(join(dir, `app-${i}.log`), `{"level":"INFO","message":"file ${i}"}\n`);
  const rx = await startCountsink('loki');
  const port = await freePort();
  const work = join(CORPUS_DIR, `idle-work-${process.pid}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'c.yaml'), `server: { listen: "127.0.0.1:${port}" }\npositions: { path: "${work}/positions.json" }\nsources:\n  - { name: idle, paths: ["${dir}/*.log"], start_at: beginning }\nsinks:\n  - { type: loki, url: "${rx.url}" }\n`);
  const launch = logshipLaunch();
  const child = spawn(NODE24, [...launch.nodeArgs, logshipBin(), 'run', '--config', join(work, 'c.yaml'), '--log-level', 'warn'], { stdio: 'ignore', env: launch.env });
  const settle = quick ? 5_000 : 15_000;
  const window = quick ? 10_000 : 30_000;
  await sleep(settle);
  const a = readProcStats(child.pid!)!;
  await sleep(window);
  const b = readProcStats(child.pid!)!;
  const shipped = await rx.count();
  child.kill('SIGTERM');
  await rx.stop();
  const pct = ((b.cpuSeconds - a.cpuSeconds) / (window / 1000)) * 100;
  const row: Row = { scenario: 'idle, 1,000 watched files', shipper: 'logship', lines: shipped, bytes: 0, seconds: window / 1000, cpu: b.cpuSeconds - a.cpuSeconds, rss: b.peakRssBytes, note: `${fmt(pct, 2)}% of one core over ${window / 1000} s` };
  rows.push(row);
  console.log(`idle, 1,000 files: ${fmt(pct, 2)}% CPU, rss ${fmt(b.rssBytes / MiB)} MiB (${shipped} initial lines shipped)`);
}

// Side by side on the same corpora into the same receiver (countsink, Loki's own push parser):
// every JSON corpus (the seed format compact and spaced, pino, a Python logger, the old compact
// corpus), then the mixed host. --corpora seed,pino,... picks corpora; --side-lines N sizes them.
const sideN = argv.includes('--side-lines') ? Number(argv[argv.indexOf('--side-lines') + 1]) : N;
const corporaArg = argv.includes('--corpora') ? argv[argv.indexOf('--corpora') + 1].split(',') : null;

interface SideCorpus {
  path: string;
  bytes: number;
  lines: number;
}

/**
 * Each round runs every shipper on the corpus and, when `quarter` is given, on a quarter-size corpus
 * of the same kind right after: the difference of the two runs is what the extra lines cost once a
 * shipper is up and warm (a daemon's long-run cost), whatever it buffers or flushes when.
 */
async function sideBySideRun(label: string, full: SideCorpus, quarter: SideCorpus | null, shippers: Shipper[]): Promise<void> {
  const rx = await startCountsink('loki');
  try {
    const runs = new Map<string, Row[]>(shippers.map((s) => [s.name, []]));
    const margins = new Map<string, number[]>(shippers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const s of shippers) {
        try {
          const r = toRow(label, await measure(s, full.path, full.bytes, full.lines, rx));
          runs.get(s.name)!.push(r);
          report(r);
          if (quarter) {
            const q = toRow(`${label} (quarter)`, await measure(s, quarter.path, quarter.bytes, quarter.lines, rx));
            report(q);
            if (r.cpu > q.cpu) margins.get(s.name)!.push((r.lines - q.lines) / (r.cpu - q.cpu));
          }
        } catch (e) {
          console.log(`${label}: ${s.name} failed: ${(e as Error).message}`);
        }
      }
    }
    const mid = (n: number) => Math.floor((n - 1) / 2);
    for (const [name, rs] of runs) {
      if (rs.length === 0) continue;
      const perCpu = (r: Row) => r.lines / r.cpu;
      const warm = margins.get(name)!.sort((a, b) => a - b);
      rs.sort((a, b) => perCpu(a) - perCpu(b));
      sideBySide.push({ ...rs[mid(rs.length)], perCpuRange: [perCpu(rs[0]), perCpu(rs[rs.length - 1])], warmPerCpu: warm.length ? warm[mid(warm.length)] : undefined });
    }
  } finally {
    await rx.stop();
  }
}

if (!only || only.has('side-by-side')) {
  for (const kind of JSON_CORPORA.filter((k) => !corporaArg || corporaArg.includes(k))) {
    const c = { ...(await corpus(kind, sideN)), lines: sideN };
    const q = { ...(await corpus(kind, Math.round(sideN / 4))), lines: Math.round(sideN / 4) };
    const shippers = [logshipShipper({ sink: 'loki', parser: 'json' })];
    if (peerAvailable('fluent-bit')) {
      // Fluent Bit's pipeline parses, labels and attaches structured metadata; logship's default
      // also redacts, classifies and derives metrics. This row is logship doing only that work.
      shippers.push(logshipShipper({ name: EQUAL_WORK, sink: 'loki', parser: 'json', extraYaml: 'redaction: { enabled: false }\nclassification: { enabled: false }\nderived_metrics: { enabled: false }\n' }));
      shippers.push(fluentBitShipper());
    }
    if (peerAvailable('promtail')) shippers.push(promtailShipper());
    await sideBySideRun(`${kind} → Loki push`, c, noMargin ? null : q, shippers);
  }
}

// A mixed host: JSON app log, nginx with request times, syslog and CRI with partial lines, tailed at once.
if (!only || only.has('mixed-host')) {
  const per = Math.round(sideN / 4);
  const dir = join(CORPUS_DIR, `mixed-${per}`);
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const [kind, file] of [['seed', MIXED_FILES.json], ['nginx', MIXED_FILES.nginx], ['syslog', MIXED_FILES.syslog], ['cri', MIXED_FILES.cri]] as const) {
    const path = join(dir, file);
    bytes += existsSync(path) ? statSync(path).size : await writeCorpus(path, kind, per);
  }
  const shippers = [logshipMixedShipper()];
  if (peerAvailable('fluent-bit')) shippers.push(fluentBitMixedShipper());
  if (peerAvailable('promtail')) shippers.push(promtailMixedShipper());
  await sideBySideRun('mixed host → Loki push', { path: dir, bytes, lines: per * 4 }, null, shippers);
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${fmt(totalmem() / 1024 ** 3)} GiB; Node ${process.versions.node}; ${new Date().toISOString().slice(0, 10)}${quick ? '; --quick (20% sizes)' : ''}`;
const shipped = logshipLaunch();
const shippedEnv = Object.entries(shipped.env).filter(([k, v]) => process.env[k] !== v).map(([k, v]) => `${k}=${v} `).join('');
let md = `Machine: ${machine}. Command: \`npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}\`.\nlogship launched as its bin's shebang does: \`${shippedEnv}node ${shipped.nodeArgs.join(' ')}\`.\n\n`;
if (rows.length) {
  md += '| scenario | lines | lines/s | MiB/s | CPU s | lines per CPU-s | peak RSS | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n';
  for (const r of rows) {
    const idle = r.bytes === 0;
    md += `| ${r.scenario} | ${fmt(r.lines)} | ${idle ? '-' : fmt(r.lines / r.seconds)} | ${idle ? '-' : fmt(r.bytes / MiB / r.seconds, 1)} | ${fmt(r.cpu, 2)} | ${idle ? '-' : fmt(r.lines / r.cpu)} | ${fmt(r.rss / MiB)} MiB | ${r.note ?? ''} |\n`;
  }
}
if (sideBySide.length) {
  const how = rounds === 1 ? 'one run each' : `the shippers taking turns for ${rounds} rounds, each shipper's median run (by lines per CPU-s)`;
  md += `\nSide by side into the same receiver (countsink), ${how}; "vs" = logship's lines per CPU-s ÷ this shipper's:\n\n| corpus | shipper | lines | MiB | lines/s | CPU s | lines per CPU-s | range over the rounds | peak RSS | logship ÷ this | at the margin: lines per CPU-s | logship ÷ this |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
  for (const r of sideBySide) {
    const ls = sideBySide.find((x) => x.scenario === r.scenario && x.shipper === 'logship');
    const ratio = ls ? (ls.lines / ls.cpu) / (r.lines / r.cpu) : NaN;
    const range = r.perCpuRange ? `${fmt(r.perCpuRange[0])}–${fmt(r.perCpuRange[1])}` : '-';
    const own = r.shipper === EQUAL_WORK || r.shipper === 'logship';
    const warmRatio = ls?.warmPerCpu !== undefined && r.warmPerCpu !== undefined ? ls.warmPerCpu / r.warmPerCpu : NaN;
    md += `| ${r.scenario} | ${r.shipper} | ${fmt(r.lines)} | ${fmt(r.bytes / MiB)} | ${fmt(r.lines / r.seconds)} | ${fmt(r.cpu, 2)} | ${fmt(r.lines / r.cpu)} | ${range} | ${fmt(r.rss / MiB)} MiB | ${own ? '-' : `${fmt(ratio, 2)}×`} | ${r.warmPerCpu === undefined ? '-' : fmt(r.warmPerCpu)} | ${own || Number.isNaN(warmRatio) ? '-' : `${fmt(warmRatio, 2)}×`} |\n`;
  }
  md += `\n"At the margin": each round also ran each shipper on a quarter-size corpus of the same kind; (lines − its lines) ÷ (CPU s − its CPU s), the rounds' median: what lines cost a shipper that is already up and warm, start-up and first JIT compiles cancelled out (a daemon's long-run cost).\n`;
  md += `\n"${EQUAL_WORK}": logship with redaction, classification and derived metrics switched off, so that it parses, labels and attaches structured metadata like the Fluent Bit pipeline.\n`;
}
console.log('\n' + md);
if (!noWrite) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const start = '<!-- bench:run:start -->';
  const end = '<!-- bench:run:end -->';
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const block = `${start}\n${md}${end}`;
  const next = old.includes(start) ? old.replace(new RegExp(`${start}[\\s\\S]*${end}`), block) : `# Benchmark results\n\n## npm run bench\n\n${block}\n\n${old}`;
  writeFileSync(file, next);
  console.log(`updated ${file}`);
}
