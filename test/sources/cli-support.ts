import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

/** One JSON line with a sequence number, padded to about `bytes`. */
export function seqLine(seq: number, pad = 40): string {
  return `{"level":"info","msg":"line ${seq}","seq":${seq},"pad":"${'p'.repeat(pad)}"}\n`;
}

export function appendSeq(path: string, from: number, count: number, pad = 40): void {
  let chunk = '';
  for (let i = from; i < from + count; i++) chunk += seqLine(i, pad);
  appendFileSync(path, chunk);
}

export interface SeqCount {
  counts: Map<number, number>;
  /** Lines that are not JSON (a torn write of a killed process). */
  torn: number;
  records: number;
}

/** Counts `metadata.seq` of every shipped record; tolerates torn lines. */
export function shippedSeqs(path: string): SeqCount {
  const counts = new Map<number, number>();
  let torn = 0;
  let records = 0;
  if (!existsSync(path)) return { counts, torn, records };
  for (const l of readFileSync(path, 'utf8').split('\n')) {
    if (l.length === 0) continue;
    let r: { metadata?: { seq?: number } };
    try {
      r = JSON.parse(l) as typeof r;
    } catch {
      torn++;
      continue;
    }
    records++;
    const s = r.metadata?.seq;
    if (typeof s === 'number') counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return { counts, torn, records };
}

export function summarize(c: SeqCount, total: number): { missing: number[]; duplicates: number; extra: number } {
  const missing: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < total; i++) {
    const n = c.counts.get(i) ?? 0;
    if (n === 0) missing.push(i);
    else duplicates += n - 1;
  }
  return { missing, duplicates, extra: [...c.counts.keys()].filter((k) => k < 0 || k >= total).length };
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export function config(dir: string, port: number, o: { paths?: string[]; sink?: string; budget?: string; extra?: string; source?: string } = {}): string {
  return `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
memory: { max_buffer_bytes: ${o.budget ?? '64MiB'} }
shutdown: { grace_period: 10s }
sources:
  - { name: app, paths: ${JSON.stringify(o.paths ?? [`${dir}/logs/app.log`])}, start_at: beginning, parser: json, rotate_wait: 1s${o.source ?? ''} }
sinks:
  - ${o.sink ?? `{ type: file, path: "${dir}/data/shipped.ndjson", fsync: false }`}
${o.extra ?? ''}`;
}

/** A temp dir with an empty logs/app.log (the path `config()` tails by default) and a free port. */
export async function emptyAppLog(): Promise<{ dir: string; log: string; port: number }> {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  return { dir, log, port: await freePort() };
}

/** A real logship process tailing logs/app.log of a temp dir into data/shipped.ndjson (see config()). */
export interface AppLogRun {
  dir: string;
  log: string;
  port: number;
  /** The config file. */
  cfg: string;
  /** The file sink's output. */
  out: string;
  /** The process running now (restart() replaces it; the teardown SIGKILLs whichever runs). */
  daemon: DaemonProcess;
  /** Starts another process on the same config (after the previous one stopped) and waits for its HTTP server. */
  restart(): Promise<DaemonProcess>;
}

/**
 * Starts logship on an empty app.log with `yaml` (default config()), writes sequence lines
 * 0..lines-1 and waits until all of them shipped: the opening of every stop-and-restart test.
 */
export async function shipFirstLines(teardown: (fn: () => unknown) => void, o: { lines: number; yaml?: (dir: string, port: number) => string }): Promise<AppLogRun> {
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, (o.yaml ?? config)(dir, port));
  const run: AppLogRun = {
    dir, log, port, cfg,
    out: join(dir, 'data', 'shipped.ndjson'),
    daemon: new DaemonProcess(['run', '--config', cfg]),
    async restart() {
      run.daemon = new DaemonProcess(['run', '--config', cfg]);
      await run.daemon.waitHttp(port);
      return run.daemon;
    },
  };
  teardown(() => run.daemon.kill('SIGKILL'));
  await run.daemon.waitHttp(port);
  appendSeq(log, 0, o.lines);
  await waitFor('first lines', () => shippedSeqs(run.out).counts.size >= o.lines);
  return run;
}
