/**
 * Startup and memory scenarios (issue 26 items 3 and 5), apart from bench/run.ts's throughput
 * tables. logship runs as its bin runs it (dist/, the shebang's node flags and environment;
 * `--node-flags "..."` replaces the flags for an A/B) and is measured from /proc:
 *
 *   npm run build && node bench/memory.ts [--only startup,throughput,idle-files,backlog-files] [--rounds N]
 *     [--builds /work/wt-base,/work/main]   (those checkouts' shipped CLIs, alternating)
 *     [--node-flags "--max-semi-space-size=8 ..."] [--lines N] [--corpus seed]
 *     [--variants "MALLOC_TRIM_THRESHOLD_=131072 --flag;budget=8MiB;scrape=0;"]   (throughput, idle, backlog;
 *                        scrape=MS: the idle and backlog runs read the daemon's /metrics every MS ms,
 *                        default 15 s; scrape=0 at every sample)
 *     [--backlog-rounds N]
 *     [--backlog-mib N] [--files N] [--outage-s N]
 *     [--smaps-top N]   (beside each peak's parts: the N anonymous mapping sizes holding the most,
 *                        e.g. `204×256K:51.0` = V8's heap pages, and the file-backed ones by file)
 *     [--timeline]      (backlog: every sample's RSS, parts and /metrics figures in
 *                        bench/out/timeline-<build>[-<variant>]-<round>.tsv)
 *
 * startup:       the default config (no --config), LOGSHIP_LISTEN / LOGSHIP_DATA_DIR set; wall time
 *                from spawn until /ready first answers 200 (polled every 5 ms), CPU seconds and RSS
 *                (anonymous and file-backed) at that moment; beside it, bare Node's floor.
 * throughput:    `--lines` lines of `--corpus` (default pipeline) into countsink: peak RSS and CPU.
 * idle-files:    `--files` files (default 1,000) of one line each, read, then watched 15 s with no
 *                writes: peak RSS and RSS at the end.
 * backlog-files: `--files` files holding `--backlog-mib` MiB (the json corpus split round-robin),
 *                read from the beginning into the Loki test server while it answers 503 for
 *                `--outage-s` s, then until every line is delivered: peak RSS during the outage
 *                and over the whole run, with the daemon's own figures from /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { once } from 'node:events';
import { lineGenerator, type CorpusKind } from './corpus.ts';
import { ProcSampler, readProcStats } from './proc.ts';
import { NODE24, ROOT, freePort, sleep, startCountsink, startLokiTestServer } from './receivers.ts';
import { logshipBin, logshipLaunch } from './shippers.ts';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const only = arg('only') ? new Set(arg('only')!.split(',')) : null;
const rounds = Number(arg('rounds') ?? 3);
const MiB = 1024 * 1024;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const OUT = join(ROOT, 'bench', 'out');
/** `--budget 8MiB`: memory.max_buffer_bytes for the throughput and backlog runs (default: logship's). */
const budgetYaml = arg('budget') ? `memory: { max_buffer_bytes: ${arg('budget')} }\n` : '';
mkdirSync(OUT, { recursive: true });

function launch(root: string = ROOT): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
  const l = logshipLaunch(root);
  const flags = arg('node-flags');
  return flags === undefined ? l : { nodeArgs: flags.split(' ').filter(Boolean), env: l.env };
}

/**
 * `--variants "A;B"` (throughput, backlog-files): launches added to the shipped one, rounds
 * alternating; each is space-separated `NAME=value` environment (`NAME=` unsets it) and node flags appended after
 * the shipped ones (V8 takes the last of a repeated flag), and `budget=8MiB` for the config's
 * memory.max_buffer_bytes; an empty variant is the launch as shipped.
 */
/** `--builds dirA,dirB`: other checkouts, each run as it ships (with each variant), rounds alternating. */
const builds = arg('builds')?.split(',').filter(Boolean).map((b) => resolve(b)) ?? [ROOT];
const variants = (arg('variants') ?? '').split(';').map((v) => v.trim());
const variantLabel = (v: string) => (variants.length > 1 ? `${v || 'as shipped'}: ` : '');

function variantLaunch(variant: string, root: string = ROOT): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
  const l = launch(root);
  const env = { ...l.env };
  const nodeArgs = [...l.nodeArgs];
  for (const t of variant.split(' ').filter(Boolean)) {
    const eq = t.indexOf('=');
    if (t.startsWith('budget=') || t.startsWith('scrape=')) continue;
    if (!t.startsWith('-') && eq === t.length - 1) delete env[t.slice(0, eq)];
    else if (!t.startsWith('-') && eq > 0) env[t.slice(0, eq)] = t.slice(eq + 1);
    else nodeArgs.push(t);
  }
  return { nodeArgs, env };
}

/** The config's `memory:` section for a variant: its `budget=8MiB` token, else `--budget`'s. */
function variantBudgetYaml(variant: string): string {
  const b = variant.split(' ').find((t) => t.startsWith('budget='));
  return b === undefined ? budgetYaml : `memory: { max_buffer_bytes: ${b.slice('budget='.length)} }\n`;
}

/** Rounds × builds × variants, each round's order reversed from the last's. */
function* alternate(n: number): Generator<{ round: number; variant: string; root: string }> {
  const runs = builds.flatMap((root) => variants.map((variant) => ({ root, variant })));
  for (let round = 1; round <= n; round++) for (const r of round % 2 === 1 ? runs : [...runs].reverse()) yield { round, ...r };
}
const runLabel = (root: string, variant: string) => `${builds.length > 1 ? `${basename(root)} ` : ''}${variantLabel(variant)}`;

/** `--smaps-top N`: the N most resident mappings (anonymous by size, file-backed by name), to see what "other anon" is. */
const SMAPS_TOP = Number(arg('smaps-top') ?? 0);
const TIMELINE = argv.includes('--timeline');
const TIMELINE_HEAD = 's\trss\tbrk\totherAnon\tlazyFree\theapUsed\theapTotal\texternal\tbudget\n';

/**
 * Where the resident memory is, from /proc/PID/smaps: file-backed; malloc's (the main arena's
 * brk heap and the 64 MiB arena reservations of other threads); thread stacks; and the rest of
 * the anonymous mappings (V8's heap pages and code space, large mallocs mmapped on their own).
 */
function smapsParts(pid: number): { file: number; brk: number; arenas: number; stacks: number; otherAnon: number; lazyFree: number; top: string } {
  const r = { file: 0, brk: 0, arenas: 0, stacks: 0, otherAnon: 0, lazyFree: 0, top: '' };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return r;
  }
  const vmas: Array<{ start: number; end: number; perms: string; name: string; anon: boolean; rss: number; lazy: number }> = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const name = head[5].trim();
      vmas.push({ start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], name, anon: head[4] === '0' && !name.startsWith('/'), rss: 0, lazy: 0 });
    } else if (line.startsWith('Rss:') && vmas.length > 0) vmas[vmas.length - 1].rss = Number(/(\d+)/.exec(line)![1]) / 1024;
    else if (line.startsWith('LazyFree:') && vmas.length > 0) vmas[vmas.length - 1].lazy = Number(/(\d+)/.exec(line)![1]) / 1024;
  }
  const ARENA = 64 * MiB;
  for (let i = 0; i < vmas.length; i++) {
    const v = vmas[i];
    const next = vmas[i + 1];
    const prev = vmas[i - 1];
    if (!v.anon) r.file += v.rss;
    else if (v.name === '[heap]') r.brk += v.rss;
    else if (v.name === '[stack]' || (prev?.perms.startsWith('---') && prev.end === v.start && v.end - v.start >= 1 * MiB && v.end - v.start <= 8 * MiB && v.perms.startsWith('rw') && prev.end - prev.start <= 64 * 1024)) r.stacks += v.rss;
    // A glibc arena: a 64 MiB-aligned reservation, its used part read-write and the rest PROT_NONE.
    else if (v.start % ARENA === 0 && (v.end - v.start === ARENA || (next?.start === v.end && next.perms.startsWith('---') && next.end - v.start === ARENA))) r.arenas += v.rss;
    else r.otherAnon += v.rss;
    r.lazyFree += v.lazy;
  }
  if (SMAPS_TOP > 0) {
    const byFile = new Map<string, number>();
    for (const v of vmas) if (!v.anon) byFile.set(v.name, (byFile.get(v.name) ?? 0) + v.rss);
    // Anonymous mappings grouped by size (KiB): V8's pages are 256 KiB each, malloc's mmapped blocks 4 KiB over their size.
    const bySize = new Map<string, { n: number; rss: number }>();
    for (const v of vmas) {
      if (!v.anon) continue;
      const k = `${v.name ? `${v.name} ` : ''}${(v.end - v.start) / 1024}K`;
      const e = bySize.get(k) ?? { n: 0, rss: 0 };
      e.n++;
      e.rss += v.rss;
      bySize.set(k, e);
    }
    const anon = [...bySize].sort((a, b) => b[1].rss - a[1].rss).slice(0, SMAPS_TOP).map(([k, e]) => `${e.n}×${k}:${fmt(e.rss, 1)}`);
    const files = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, rss]) => `${basename(n)} ${fmt(rss, 1)}`);
    r.top = ` [anon count×size: MiB resident ${anon.join(', ')}; files ${files.join(', ')}]`;
  }
  return r;
}
const partsNote = (p: ReturnType<typeof smapsParts>) =>
  `file ${fmt(p.file)} · malloc brk ${fmt(p.brk)} + arenas ${fmt(p.arenas)} · stacks ${fmt(p.stacks, 1)} · other anon ${fmt(p.otherAnon)}${p.lazyFree >= 0.5 ? ` (of the whole, ${fmt(p.lazyFree)} MADV_FREE'd: LazyFree)` : ''}${p.top}`;

/** The smaps breakdown and /metrics figures at the highest RSS seen so far, sampled every call. */
class PeakParts {
  rss = 0;
  parts = smapsParts(0);
  figures: Record<string, number> = {};
  private readonly pid: number;
  private readonly port: number;
  constructor(pid: number, port: number) {
    this.pid = pid;
    this.port = port;
  }
  async sample(): Promise<void> {
    const rss = readProcStats(this.pid)?.rssBytes ?? 0;
    if (rss <= this.rss) return;
    const [parts, figures] = [smapsParts(this.pid), await selfFigures(this.port)];
    this.rss = rss;
    this.parts = parts;
    this.figures = figures;
  }
  note(): string {
    return `at ${fmt(this.rss / MiB)} MiB: ${partsNote(this.parts)}; heap ${fmt(this.figures.heapUsed / MiB, 1)} of ${fmt(this.figures.heapTotal / MiB, 1)}, external ${fmt(this.figures.external / MiB, 1)}, budget ${fmt(this.figures.buffer / MiB, 1)}`;
  }
}


function spawnLogship(args: string[], env: NodeJS.ProcessEnv, cwd: string, root: string = ROOT, variant?: string): ChildProcess {
  const l = variant === undefined ? launch(root) : variantLaunch(variant, root);
  return spawn(NODE24, [...l.nodeArgs, logshipBin(root), ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...l.env, ...env }, cwd });
}

/** RssAnon and RssFile of a process (MiB). */
function rssParts(pid: number): { anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) / 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

const lines: string[] = [];
const out = (s: string) => {
  console.log(s);
  lines.push(s);
};

// ---------------------------------------------------------------------------------------------
if (!only || only.has('startup')) {
  const label = (root: string) => (builds.length > 1 ? `${basename(root)} ` : '');
  out(`\n### startup (default config), ${rounds} rounds${builds.length > 1 ? ` alternating ${builds.join(' / ')}` : ''}, node flags: ${launch().nodeArgs.join(' ')}; load average at the start ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  out('| round | ready after | CPU s at ready | RSS at ready | of which anon / file | peak RSS | RSS 2 s later |');
  out('|---|---:|---:|---:|---:|---:|---:|');
  const rows = new Map<string, Array<{ ms: number; cpu: number; rss: number; later: number }>>(builds.map((b) => [b, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const root of round % 2 === 1 ? builds : [...builds].reverse()) {
      const work = mkdtempSync(join(tmpdir(), 'bench-startup-'));
      const port = await freePort();
      const t0 = performance.now();
      const child = spawnLogship(['run', '--log-level', 'warn'], { LOGSHIP_LISTEN: `127.0.0.1:${port}`, LOGSHIP_DATA_DIR: join(work, 'data') }, work, root);
      const deadline = t0 + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`logship exited ${child.exitCode} before /ready`);
        const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
        if (ok) break;
        if (performance.now() > deadline) throw new Error('logship not ready within 60 s');
        await sleep(5);
      }
      const ms = performance.now() - t0;
      const st = readProcStats(child.pid!)!;
      const parts = rssParts(child.pid!);
      // What stays resident once the start-up is over (the file sources' first scan, timers).
      await sleep(2000);
      const later = readProcStats(child.pid!)!;
      rows.get(root)!.push({ ms, cpu: st.cpuSeconds, rss: st.rssBytes / MiB, later: later.rssBytes / MiB });
      out(`| ${label(root)}${round} | ${fmt(ms)} ms | ${fmt(st.cpuSeconds, 2)} | ${fmt(st.rssBytes / MiB, 1)} MiB | ${fmt(parts.anon, 1)} / ${fmt(parts.file, 1)} | ${fmt(st.peakRssBytes / MiB, 1)} MiB | ${fmt(later.rssBytes / MiB, 1)} MiB |`);
      await stop(child);
      rmSync(work, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  for (const [root, r] of rows) out(`| ${label(root)}median | ${fmt(median(r.map((x) => x.ms)))} ms | ${fmt(median(r.map((x) => x.cpu)), 2)} | ${fmt(median(r.map((x) => x.rss)), 1)} MiB | | | ${fmt(median(r.map((x) => x.later)), 1)} MiB |`);
  // The floor: Node itself serving one HTTP endpoint, same flags.
  const port = await freePort();
  const l = launch();
  const bare = spawn(NODE24, [...l.nodeArgs, '-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`], { stdio: 'ignore', env: l.env });
  const t0 = performance.now();
  while (!(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false))) await sleep(5);
  const ms = performance.now() - t0;
  const st = readProcStats(bare.pid!)!;
  const parts = rssParts(bare.pid!);
  out(`| bare node + http server | ${fmt(ms)} ms | ${fmt(st.cpuSeconds, 2)} | ${fmt(st.rssBytes / MiB, 1)} MiB | ${fmt(parts.anon, 1)} / ${fmt(parts.file, 1)} | ${fmt(st.peakRssBytes / MiB, 1)} MiB | |`);
  await stop(bare);
}

// ---------------------------------------------------------------------------------------------
async function writeLines(path: string, kind: CorpusKind, count: number): Promise<number> {
  const gen = lineGenerator(kind);
  const ws = createWriteStream(path);
  let bytes = 0;
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += gen(i) + '\n';
    if (chunk.length > 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!ws.write(chunk)) await once(ws, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  ws.end(chunk);
  await once(ws, 'finish');
  return bytes;
}

/**
 * `--timeline`: one row per sample of the backlog run (seconds, RSS and its parts, the daemon's
 * figures) in bench/out/timeline-<build>-<variant>-<round>.tsv, to see when a peak comes.
 */
function timeline(name: string, pid: number, t0: number, f: Record<string, number>): void {
  if (!TIMELINE) return;
  const file = join(OUT, `timeline-${name}.tsv`);
  const p = smapsParts(pid);
  const rss = (readProcStats(pid)?.rssBytes ?? 0) / MiB;
  const row = [((performance.now() - t0) / 1000).toFixed(1), rss.toFixed(1), p.brk.toFixed(1), p.otherAnon.toFixed(1), p.lazyFree.toFixed(1), ...['heapUsed', 'heapTotal', 'external', 'buffer'].map((k) => (f[k] / MiB).toFixed(1))];
  writeFileSync(file, row.join('\t') + '\n', { flag: 'a' });
}

/**
 * How often the idle and backlog runs read the daemon's /metrics (the figures in between are the
 * last read's): every 15 s, as a Prometheus might; a variant's `scrape=MS` sets it (`scrape=0`:
 * at every sample, 2–5 times a second, as before). With 1,000 files a scrape renders 2,000
 * per-file series (240 KB), and reading it at every sample added 8–14 MiB to the peaks it
 * measured (bench/RESULTS.md, "Memory: V8's page pool ... the bench's own /metrics scrapes").
 */
const SCRAPE_MS = 15_000;
const scrapeEvery = new Map<number, number>();
const lastScrape = new Map<number, { at: number; figures: Record<string, number> }>();

/** Applies a variant's `scrape=MS` to the daemon listening on `port`. */
function limitScrapes(port: number, variant: string): void {
  const scrape = variant.split(' ').find((t) => t.startsWith('scrape='));
  scrapeEvery.set(port, scrape === undefined ? SCRAPE_MS : Number(scrape.slice('scrape='.length)));
}

/** logship's own figures from /metrics (budget in use, heap). */
async function selfFigures(port: number): Promise<Record<string, number>> {
  const every = scrapeEvery.get(port);
  const last = lastScrape.get(port);
  if (every !== undefined && last !== undefined && performance.now() - last.at < every) return last.figures;
  const figures = await scrapeFigures(port);
  // A failed read (the daemon not listening yet) is tried again at the next sample.
  if (!Number.isNaN(figures.heapUsed)) lastScrape.set(port, { at: performance.now(), figures });
  return figures;
}

async function scrapeFigures(port: number): Promise<Record<string, number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  const pick = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { buffer: pick('logship_buffer_bytes'), heapUsed: pick('nodejs_heap_size_used_bytes'), heapTotal: pick('nodejs_heap_size_total_bytes'), external: pick('nodejs_external_memory_bytes'), rss: pick('process_resident_memory_bytes') };
}

const figuresNote = (f: Record<string, number>) =>
  `budget in use ${fmt(f.buffer / MiB, 1)} MiB, heap used ${fmt(f.heapUsed / MiB, 1)} of ${fmt(f.heapTotal / MiB, 1)} MiB, external ${fmt(f.external / MiB, 1)} MiB`;

if (!only || only.has('throughput')) {
  const kind = (arg('corpus') ?? 'seed') as CorpusKind;
  const count = Number(arg('lines') ?? 200_000);
  const corpus = join(OUT, `mem-${kind}-${count}.log`);
  if (!existsSync(corpus)) await writeLines(corpus, kind, count);
  out(`\n### throughput: ${fmt(count)} ${kind} lines → countsink (default pipeline), node flags: ${launch().nodeArgs.join(' ')}${budgetYaml ? `, ${budgetYaml.trim()}` : ''}\n`);
  out('| round | seconds | CPU s | lines per CPU-s | peak RSS | highest of logship\'s own figures (/metrics, every 0.5 s) | at the highest RSS sampled (smaps, MiB) |');
  out('|---|---:|---:|---:|---:|---|---|');
  for (const { round, variant, root } of alternate(rounds)) {
    const rx = await startCountsink('loki');
    const work = mkdtempSync(join(tmpdir(), 'bench-mem-'));
    const port = await freePort();
    writeFileSync(join(work, 'c.yaml'), `server: { listen: "127.0.0.1:${port}" }\npositions: { path: "${work}/positions.json" }\n${variantBudgetYaml(variant)}sources:\n  - { name: app, paths: ["${corpus}"], start_at: beginning }\nsinks:\n  - { type: loki, url: "${rx.url}" }\n`);
    const t0 = performance.now();
    const child = spawnLogship(['run', '--config', join(work, 'c.yaml'), '--log-level', 'warn'], {}, work, root, variant);
    const sampler = new ProcSampler(child.pid!, 50);
    const peak = new PeakParts(child.pid!, port);
    const most: Record<string, number> = {};
    let lastFigures = 0;
    while ((await rx.count()) < count) {
      if (child.exitCode !== null) throw new Error('logship exited');
      if (performance.now() - lastFigures > 500) {
        lastFigures = performance.now();
        for (const [k, v] of Object.entries(await selfFigures(port))) if (!Number.isNaN(v)) most[k] = Math.max(most[k] ?? 0, v);
      }
      await peak.sample();
      await sleep(50);
    }
    const secs = (performance.now() - t0) / 1000;
    const st = sampler.stop()!;
    out(`| ${runLabel(root, variant)}${round} | ${fmt(secs, 1)} | ${fmt(st.cpuSeconds, 2)} | ${fmt(count / st.cpuSeconds)} | ${fmt(Math.max(st.peakRssBytes, sampler.maxRss) / MiB)} MiB | ${figuresNote(most)} | ${peak.note()} |`);
    await stop(child);
    await rx.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
if (!only || only.has('idle-files')) {
  const files = Number(arg('files') ?? 1000);
  const dir = join(OUT, `idle-${files}`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `app-${String(i).padStart(4, '0')}.log`), `{"level":"INFO","message":"file ${i}"}\n`);
  out(`\n### idle: ${fmt(files)} watched files (one line each, read from the beginning, then no writes) → countsink, node flags: ${launch().nodeArgs.join(' ')}\n`);
  out('| round | peak RSS | RSS after 15 s | CPU s (15 s) | at the highest RSS sampled (smaps, MiB) |');
  out('|---|---:|---:|---:|---|');
  for (const { round, variant, root } of alternate(rounds)) {
    const rx = await startCountsink('loki');
    const work = mkdtempSync(join(tmpdir(), 'bench-idle-'));
    const port = await freePort();
    limitScrapes(port, variant);
    writeFileSync(join(work, 'c.yaml'), `server: { listen: "127.0.0.1:${port}" }\npositions: { path: "${work}/positions.json" }\n${variantBudgetYaml(variant)}sources:\n  - { name: idle, paths: ["${dir}/*.log"], start_at: beginning }\nsinks:\n  - { type: loki, url: "${rx.url}" }\n`);
    const child = spawnLogship(['run', '--config', join(work, 'c.yaml'), '--log-level', 'warn'], {}, work, root, variant);
    const peak = new PeakParts(child.pid!, port);
    const t0 = performance.now();
    while (performance.now() - t0 < 15_000) {
      await peak.sample();
      await sleep(200);
    }
    const st = readProcStats(child.pid!)!;
    out(`| ${runLabel(root, variant)}${round} | ${fmt(st.peakRssBytes / MiB)} MiB | ${fmt(st.rssBytes / MiB)} MiB | ${fmt(st.cpuSeconds, 2)} | ${peak.note()}; ${fmt(await rx.count())} lines shipped |`);
    await stop(child);
    await rx.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
if (!only || only.has('backlog-files')) {
  const files = Number(arg('files') ?? 1000);
  const mib = Number(arg('backlog-mib') ?? 1024);
  const outage = Number(arg('outage-s') ?? 60) * 1000;
  const dir = join(OUT, `backlog-${files}x${mib}MiB`);
  const meta = join(dir, '.lines');
  let total: number;
  if (existsSync(meta)) total = Number(readFileSync(meta, 'utf8'));
  else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // The json corpus (~300-byte lines), each file a contiguous share: files × lines each ≈ mib.
    const perFile = Math.max(1, Math.round((mib * MiB) / 300 / files));
    const gen = lineGenerator('json');
    let n = 0;
    for (let f = 0; f < files; f++) {
      let text = '';
      for (let i = 0; i < perFile; i++) text += gen(n++) + '\n';
      writeFileSync(join(dir, `app-${String(f).padStart(4, '0')}.log`), text);
    }
    total = n;
    writeFileSync(meta, String(total));
  }
  out(`\n### backlog: ${fmt(files)} files, ${fmt(mib)} MiB (${fmt(total)} lines), sink down ${outage / 1000} s, node flags: ${launch().nodeArgs.join(' ')}${budgetYaml ? `, ${budgetYaml.trim()}` : ''}\n`);
  out('| phase | peak RSS | CPU s | note |');
  out('|---|---:|---:|---|');
  for (const { round, variant, root } of alternate(Number(arg('backlog-rounds') ?? 1))) {
    const rx = await startLokiTestServer();
    const label = `${basename(root)}${variant ? `-${variant.replace(/[^A-Za-z0-9=]+/g, '_')}` : ''}`;
    if (TIMELINE) writeFileSync(join(OUT, `timeline-${label}-${round}.tsv`), TIMELINE_HEAD);
    const work = mkdtempSync(join(tmpdir(), 'bench-backlog-'));
    const port = await freePort();
    limitScrapes(port, variant);
    writeFileSync(join(work, 'c.yaml'), `server: { listen: "127.0.0.1:${port}" }\npositions: { path: "${work}/positions.json" }\n${variantBudgetYaml(variant)}sources:\n  - { name: app, paths: ["${dir}/*.log"], parser: json, start_at: beginning }\nsinks:\n  - { type: loki, url: "${rx.url}", retry: { max_backoff: 5s } }\n`);
    await rx.reset();
    await rx.fail(outage);
    const t0 = performance.now();
    const child = spawnLogship(['run', '--config', join(work, 'c.yaml'), '--log-level', 'warn'], {}, work, root, variant);
    const outagePeakParts = new PeakParts(child.pid!, port);
    const drainPeakParts = new PeakParts(child.pid!, port);
    const sampler = new ProcSampler(child.pid!, 100);
    let outagePeak = 0;
    let figures: Record<string, number> = {};
    while (performance.now() - t0 < outage) {
      await sleep(1000);
      outagePeak = Math.max(outagePeak, sampler.maxRss);
      const f = await selfFigures(port);
      if (!Number.isNaN(f.heapUsed)) figures = f;
      await outagePeakParts.sample();
      timeline(`${label}-${round}`, child.pid!, t0, f);
    }
    const outageCpu = sampler.last?.cpuSeconds ?? 0;
    let got = 0;
    let last = performance.now();
    const drainMost: Record<string, number> = {};
    for (;;) {
      const f = await selfFigures(port);
      timeline(`${label}-${round}`, child.pid!, t0, f);
      for (const [k, v] of Object.entries(f)) if (!Number.isNaN(v)) drainMost[k] = Math.max(drainMost[k] ?? 0, v);
      await drainPeakParts.sample();
      const n = await rx.count();
      if (n !== got) {
        got = n;
        last = performance.now();
      }
      if (got >= total) break;
      if (child.exitCode !== null) throw new Error(`logship exited with ${got}/${total}`);
      if (performance.now() - last > 120_000) throw new Error(`stalled at ${got}/${total}`);
      await sleep(500);
    }
    const secs = (performance.now() - t0) / 1000;
    const st = sampler.stop()!;
    out(`| ${runLabel(root, variant)}${round} sink down ${outage / 1000} s | ${fmt(outagePeak / MiB)} MiB | ${fmt(outageCpu, 2)} | at its end: ${figuresNote(figures)}; ${outagePeakParts.note()} |`);
    out(`| ${runLabel(root, variant)}${round} whole run (until ${fmt(got)} lines delivered) | ${fmt(Math.max(st.peakRssBytes, sampler.maxRss) / MiB)} MiB | ${fmt(st.cpuSeconds, 2)} | ${fmt(secs, 0)} s wall; highest while draining: ${figuresNote(drainMost)}; draining ${drainPeakParts.note()} |`);
    await stop(child);
    await rx.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

out(`\nMachine: ${cpus()[0]?.model.trim()}, ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB; Node ${readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8').match(/"version": "([^"]+)"/)?.[1]}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${new Date().toISOString()}`);
writeFileSync(join(OUT, 'memory-last.md'), lines.join('\n') + '\n');
