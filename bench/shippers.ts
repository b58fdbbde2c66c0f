import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ProcSampler, type ProcStats } from './proc.ts';
import { NODE24, PEERS_BIN, ROOT, freePort, sleep, type Receiver } from './receivers.ts';

export interface ShipperRun {
  shipper: string;
  lines: number;
  bytes: number;
  seconds: number;
  stats: ProcStats;
  peakRssBytes: number;
}

/**
 * The CLI a checkout ships: its package.json `bin` (dist/bundle/cli.js, the esbuild bundle; before
 * it, dist/src/cli.js), so an A/B against an older checkout runs each build as it was shipped.
 */
export function logshipBin(root: string = ROOT): string {
  return join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { logship: string } }).bin.logship);
}

/**
 * logship's node arguments and environment as the bin's shebang gives them, which
 * `node dist/bundle/cli.js` would bypass: the V8 flags and the malloc arena limit. Read from the
 * built bin itself, not from src/cli.ts: a build older than the sources must run with its own
 * flags (a bundle from before the compilers-off launch, started with `--no-opt --no-sparkplug`
 * from newer sources, never turned the compilers on and read 5x slower).
 */
export function logshipLaunch(root: string = ROOT): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
  const bin = logshipBin(root);
  const m = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)*)\n/.exec(readFileSync(bin, 'utf8'));
  if (m === null) throw new Error(bin + ' does not start with an `env -S ... node` shebang (run `npm run build`)');
  const env = { ...process.env };
  for (const assignment of m[1].split(' ').filter(Boolean)) {
    const eq = assignment.indexOf('=');
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { nodeArgs: m[2].split(' ').filter(Boolean), env };
}

/** How to start one shipper on a corpus file, pointed at a receiver. */
export interface Shipper {
  name: string;
  start(corpus: string, receiver: Receiver, workDir: string): Promise<ChildProcess>;
}

export interface LogshipOptions {
  /** Row name (default `logship`). */
  name?: string;
  sink: 'loki' | 'elasticsearch';
  sourceType?: 'file' | 'docker' | 'cri';
  parser?: string;
  multilineStart?: string;
  extraSourceYaml?: string;
  extraSinkYaml?: string;
  extraYaml?: string;
}

export function logshipShipper(o: LogshipOptions): Shipper {
  return {
    name: o.name ?? 'logship',
    async start(corpus, receiver, workDir) {
      const port = await freePort();
      const cfg = `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${workDir}/positions.json" }
sources:
  - name: app
    type: ${o.sourceType ?? 'file'}
    paths: ["${corpus}"]
    parser: ${o.parser ?? 'json'}
    start_at: beginning${o.multilineStart ? `\n    multiline: { start: '${o.multilineStart}' }` : ''}${o.extraSourceYaml ?? ''}
sinks:
  - type: ${o.sink}
    url: ${receiver.url}${o.extraSinkYaml ?? ''}
${o.extraYaml ?? ''}`;
      writeFileSync(join(workDir, 'logship.yaml'), cfg);
      const launch = logshipLaunch();
      return spawn(NODE24, [...launch.nodeArgs, logshipBin(), 'run', '--config', join(workDir, 'logship.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: launch.env });
    },
  };
}

/** Fluent Bit 4.2.8 with the equivalent pipeline (shared/peers/README.md). */
export function fluentBitShipper(): Shipper {
  return {
    name: 'fluent-bit',
    async start(corpus, receiver, workDir) {
      const bin = process.env.FLUENT_BIT_BIN ?? resolve(PEERS_BIN, 'fluent-bit');
      const port = new URL(receiver.url).port;
      return spawn(bin, ['-q', '-R', resolve(PEERS_BIN, '..', 'fluent-bit-parsers.conf'),
        '-i', 'tail', '-p', `path=${corpus}`, '-p', 'read_from_head=true', '-p', 'parser=json', '-p', 'buffer_max_size=1M',
        '-p', 'buffer_chunk_size=1M', '-p', 'mem_buf_limit=64MB', '-p', `db=${workDir}/fb.db`,
        '-o', 'loki', '-p', 'host=127.0.0.1', '-p', `port=${port}`, '-p', 'labels=job=fb', '-p', 'label_keys=$level,$service',
        '-p', 'structured_metadata=trace_id=$trace_id,span_id=$span_id,user_id=$user_id', '-p', 'line_format=json', '-p', 'match=*'], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  };
}

/** Promtail 3.4.6 with shared/peers/promtail-bench.yaml. */
export function promtailShipper(): Shipper {
  return {
    name: 'promtail',
    async start(corpus, receiver, workDir) {
      const bin = process.env.PROMTAIL_BIN ?? resolve(PEERS_BIN, 'promtail');
      return spawn(bin, [`-config.file=${resolve(PEERS_BIN, '..', 'promtail-bench.yaml')}`, '-config.expand-env=true', '-log.level=warn'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, POSITIONS_DIR: workDir, SINK_PORT: new URL(receiver.url).port, CORPUS: corpus },
      });
    },
  };
}

export function peerAvailable(name: 'fluent-bit' | 'promtail'): boolean {
  const env = name === 'fluent-bit' ? process.env.FLUENT_BIT_BIN : process.env.PROMTAIL_BIN;
  return existsSync(env ?? resolve(PEERS_BIN, name));
}

/**
 * Runs one shipper over a corpus until the receiver has `expected` entries (or the timeout),
 * sampling its CPU and RSS from /proc. Time runs from process start to the last entry received.
 */
export async function measure(shipper: Shipper, corpus: string, bytes: number, expected: number, receiver: Receiver, opts: { timeoutMs?: number; stallMs?: number; onStart?: () => Promise<void>; onDone?: (pid: number) => void } = {}): Promise<ShipperRun> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const stallMs = opts.stallMs ?? 60_000;
  await receiver.reset();
  const workDir = mkdtempSync(join(tmpdir(), `bench-${shipper.name}-`));
  const started = performance.now();
  await opts.onStart?.();
  const child = await shipper.start(corpus, receiver, workDir);
  const sampler = new ProcSampler(child.pid!, 100);
  let got = 0;
  let lastChange = performance.now();
  let doneAt = 0;
  let failure: Error | null = null;
  for (;;) {
    const n = await receiver.count();
    const now = performance.now();
    if (n !== got) {
      got = n;
      lastChange = now;
    }
    if (got >= expected) {
      doneAt = now;
      break;
    }
    if (child.exitCode !== null) failure = new Error(`${shipper.name} exited early (${child.exitCode}) with ${got}/${expected} received`);
    else if (now - started > timeoutMs) failure = new Error(`${shipper.name}: timeout with ${got}/${expected} received`);
    else if (now - lastChange > stallMs) failure = new Error(`${shipper.name}: stalled at ${got}/${expected}`);
    if (failure) break;
    await sleep(got / expected > 0.98 ? 20 : 100);
  }
  const stats = sampler.stop();
  if (failure === null) opts.onDone?.(child.pid!);
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  if (failure) throw failure;
  if (!stats) throw new Error(`no /proc stats for ${shipper.name}`);
  return { shipper: shipper.name, lines: got, bytes, seconds: (doneAt - started) / 1000, stats, peakRssBytes: Math.max(stats.peakRssBytes, sampler.maxRss) };
}

/**
 * The mixed-host scenario's files (issue 26): the platform's JSON app log, nginx access log with
 * request times, /var/log/syslog and a CRI pod log with partial lines, all tailed at once.
 */
export const MIXED_FILES = { json: 'app.log', nginx: 'access.log', syslog: 'syslog', cri: 'pod.log' } as const;

/** logship with one source per file of a mixed-host directory (`corpus` is the directory). */
export function logshipMixedShipper(): Shipper {
  return {
    name: 'logship',
    async start(dir, receiver, workDir) {
      const port = await freePort();
      const cfg = `server: { listen: "127.0.0.1:${port}" }
positions: { path: "${workDir}/positions.json" }
sources:
  - { name: app, type: file, paths: ["${dir}/${MIXED_FILES.json}"], parser: json, start_at: beginning }
  - { name: nginx, type: file, paths: ["${dir}/${MIXED_FILES.nginx}"], parser: nginx, start_at: beginning }
  - { name: syslog, type: file, paths: ["${dir}/${MIXED_FILES.syslog}"], parser: syslog, start_at: beginning }
  - { name: pods, type: cri, paths: ["${dir}/${MIXED_FILES.cri}"], parser: auto, start_at: beginning }
sinks:
  - { type: loki, url: "${receiver.url}" }
`;
      writeFileSync(join(workDir, 'logship.yaml'), cfg);
      const launch = logshipLaunch();
      return spawn(NODE24, [...launch.nodeArgs, logshipBin(), 'run', '--config', join(workDir, 'logship.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: launch.env });
    },
  };
}

/**
 * Fluent Bit on the mixed-host directory: four tail inputs, its stock nginx and CRI regexes and
 * an RFC 3164 file regex (as in Fluent Bit's conf/parsers.conf), the CRI multiline parser joining
 * partial lines, JSON as in the JSON side by side.
 */
export function fluentBitMixedShipper(): Shipper {
  return {
    name: 'fluent-bit',
    async start(dir, receiver, workDir) {
      const bin = process.env.FLUENT_BIT_BIN ?? resolve(PEERS_BIN, 'fluent-bit');
      const parsers = join(workDir, 'parsers.conf');
      writeFileSync(parsers, readFileSync(resolve(PEERS_BIN, '..', 'fluent-bit-parsers.conf'), 'utf8') + `
[PARSER]
    Name        nginx
    Format      regex
    Regex       ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "(?<method>\\S+)(?: +(?<path>[^\\"]*?)(?: +\\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\\"]*)" "(?<agent>[^\\"]*)")
    Time_Key    time
    Time_Format %d/%b/%Y:%H:%M:%S %z

[PARSER]
    Name        syslog-file
    Format      regex
    Regex       ^(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\\/\\.\\-]*)(?:\\[(?<pid>[0-9]+)\\])?(?:[^\\:]*\\:)? *(?<message>.*)$
    Time_Key    time
    Time_Format %b %d %H:%M:%S
`);
      const port = new URL(receiver.url).port;
      const tail = (file: string, tag: string, ...p: string[]) => ['-i', 'tail', '-t', tag, '-p', `path=${dir}/${file}`, '-p', 'read_from_head=true', '-p', 'buffer_max_size=1M', '-p', 'buffer_chunk_size=1M', '-p', 'mem_buf_limit=64MB', '-p', `db=${workDir}/fb-${tag}.db`, ...p.flatMap((x) => ['-p', x])];
      return spawn(bin, ['-q', '-R', parsers,
        ...tail(MIXED_FILES.json, 'app', 'parser=json'),
        ...tail(MIXED_FILES.nginx, 'nginx', 'parser=nginx'),
        ...tail(MIXED_FILES.syslog, 'syslog', 'parser=syslog-file'),
        ...tail(MIXED_FILES.cri, 'pods', 'multiline.parser=cri'),
        '-o', 'loki', '-p', 'host=127.0.0.1', '-p', `port=${port}`, '-p', 'labels=job=fb', '-p', 'label_keys=$level,$service', '-p', 'line_format=json', '-p', 'match=*'], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  };
}

/** Promtail on the mixed-host directory: a json stage for the app log, regex for nginx, cri for the pod log. */
export function promtailMixedShipper(): Shipper {
  return {
    name: 'promtail',
    async start(dir, receiver, workDir) {
      const bin = process.env.PROMTAIL_BIN ?? resolve(PEERS_BIN, 'promtail');
      const cfg = join(workDir, 'promtail.yaml');
      const job = (name: string, file: string, stages: string) => `  - job_name: ${name}
    static_configs:
      - targets: [localhost]
        labels: { job: ${name}, __path__: "${dir}/${file}" }
    pipeline_stages:
${stages}`;
      writeFileSync(cfg, `server: { disable: true }
positions: { filename: "${workDir}/positions.yaml" }
clients:
  - url: ${receiver.url.replace(/\/$/, '')}/loki/api/v1/push
scrape_configs:
${job('app', MIXED_FILES.json, `      - json: { expressions: { level: level, service: service, ts: timestamp } }
      - labels: { level: , service: }
      - timestamp: { source: ts, format: RFC3339Nano }
`)}${job('nginx', MIXED_FILES.nginx, `      - regex: { expression: '^(?P<remote>\\S+) \\S+ \\S+ \\[(?P<time>[^\\]]*)\\] "(?P<method>\\S+) (?P<path>\\S+) [^"]*" (?P<status>\\d+)' }
      - labels: { status: }
`)}${job('syslog', MIXED_FILES.syslog, `      - regex: { expression: '^\\w{3} +\\d+ [\\d:]+ (?P<host>\\S+) (?P<ident>[^\\[:]+)' }
      - labels: { ident: }
`)}${job('pods', MIXED_FILES.cri, `      - cri: {}
`)}`);
      return spawn(bin, [`-config.file=${cfg}`, '-log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  };
}
