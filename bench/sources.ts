/**
 * The journal and syslog sources, short runs: entries per CPU-second and peak RSS, logship
 * beside Fluent Bit's inputs where its build has them (`fluent-bit -h`: this build has `syslog`,
 * no `systemd`), same input, same receiver (countsink, Loki push).
 *
 *   npm run build && node bench/sources.ts [--entries N] [--rounds N]
 *
 * journald: N sshd-like entries written into one journal file by systemd-journal-remote, read
 * from the beginning (`directory:`; journal-remote archives a full file and starts the next); the CPU includes the journalctl child logship reads through.
 * syslog: N RFC 5424 messages sent newline-framed over one TCP connection by this process
 * (its CPU is not counted), as fast as the shipper reads them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { readProcStats, type ProcStats } from './proc.ts';
import { NODE24, PEERS_BIN, ROOT, freePort, sleep, startCountsink, type Receiver } from './receivers.ts';
import { logshipBin, logshipLaunch } from './shippers.ts';

const argv = process.argv.slice(2);
const arg = (k: string, d: number) => (argv.includes(k) ? Number(argv[argv.indexOf(k) + 1]) : d);
const N = arg('--entries', 200_000);
const ROUNDS = arg('--rounds', 2);
const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
/** systemd-journal-remote archives its output file past its size limit: the source reads the directory. */
const FLUENT_BIT = process.env.FLUENT_BIT_BIN ?? resolve(PEERS_BIN, 'fluent-bit');

interface Run {
  shipper: string;
  seconds: number;
  cpu: number;
  /** CPU of helper processes included in `cpu` (journalctl). */
  helperCpu: number;
  peakRss: number;
}

/** The children of `pid` (Linux /proc/<pid>/task/<pid>/children). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Runs `child` until the receiver holds `expected` entries; CPU and peak RSS of it (and its children) from /proc. */
async function measure(name: string, child: ChildProcess, receiver: Receiver, expected: number, started: number, feed?: () => Promise<void>): Promise<Run> {
  const last = new Map<number, ProcStats>();
  let peakRss = 0;
  const sample = () => {
    for (const pid of [child.pid!, ...childPids(child.pid!)]) {
      const s = readProcStats(pid);
      if (s) {
        last.set(pid, s);
        if (pid === child.pid) peakRss = Math.max(peakRss, s.peakRssBytes, s.rssBytes);
      }
    }
  };
  const timer = setInterval(sample, 100);
  const feeding = feed?.();
  let got = 0;
  let changed = performance.now();
  let seconds: number;
  try {
    while (got < expected) {
      const n = await receiver.count();
      if (n !== got) {
        got = n;
        changed = performance.now();
      }
      if (performance.now() - changed > 30_000) throw new Error(`${name}: stalled at ${got}/${expected}`);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) at ${got}/${expected}`);
      await sleep(50);
    }
    seconds = (performance.now() - started) / 1000;
    sample();
    await feeding;
  } finally {
    clearInterval(timer);
    for (const pid of childPids(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  }
  let cpu = 0;
  let helperCpu = 0;
  for (const [pid, s] of last) {
    cpu += s.cpuSeconds;
    if (pid !== child.pid) helperCpu += s.cpuSeconds;
  }
  return { shipper: name, seconds, cpu, helperCpu, peakRss };
}

function logship(yaml: string, dir: string): ChildProcess {
  writeFileSync(join(dir, 'logship.yaml'), yaml);
  const launch = logshipLaunch();
  return spawn(NODE24, [...launch.nodeArgs, logshipBin(), 'run', '--config', join(dir, 'logship.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: launch.env });
}

/** Export format (systemd "Journal Export Format"), sshd-like entries. */
function journalExport(n: number): Buffer {
  const base = Date.now() * 1000 - n * 1000;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = base + i * 1000;
    parts.push(`__REALTIME_TIMESTAMP=${t}\n__MONOTONIC_TIMESTAMP=${t - 1_700_000_000_000_000}\n_BOOT_ID=0123456789abcdef0123456789abcdef\nPRIORITY=${i % 10 === 0 ? 4 : 6}\nSYSLOG_FACILITY=10\nSYSLOG_IDENTIFIER=sshd\n_SYSTEMD_UNIT=ssh.service\n_HOSTNAME=web1\n_PID=${1000 + (i % 50)}\n_TRANSPORT=syslog\n_COMM=sshd\nMESSAGE=${i % 10 === 0 ? `Failed password for invalid user u${i % 97} from 203.0.113.${i % 250} port ${20000 + (i % 30000)} ssh2` : `Accepted publickey for deploy from 198.51.100.${i % 250} port ${20000 + (i % 30000)} ssh2: ED25519 SHA256:abc${i}`}\n\n`);
  }
  return Buffer.from(parts.join(''));
}

function syslogCorpus(n: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`<38>1 2026-12-04T10:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z web1 sshd ${1000 + (i % 50)} - [origin@32473 ip="203.0.113.${i % 250}"] ${i % 10 === 0 ? `Failed password for invalid user u${i % 97} from 203.0.113.${i % 250} port ${20000 + (i % 30000)} ssh2` : `Accepted publickey for deploy from 198.51.100.${i % 250} port 22 ssh2`}\n`);
  return Buffer.from(parts.join(''));
}

/** Connects (retrying until the shipper listens) and writes the corpus with backpressure. */
async function sendTcp(port: number, data: Buffer): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => s.end(data, () => res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;

async function main(): Promise<void> {
  if (!existsSync(logshipBin())) throw new Error('run npm run build first');
  const receiver = await startCountsink('loki');
  try {
    await runAll(receiver);
  } finally {
    await receiver.stop().catch(() => {});
  }
}

async function runAll(receiver: Receiver): Promise<void> {
  const rows: string[] = [];
  const row = (scenario: string, r: Run, note: string) =>
    rows.push(`| ${scenario} | ${r.shipper} | ${fmt(N)} | ${fmt(N / r.seconds)} | ${r.cpu.toFixed(2)}${r.helperCpu > 0 ? ` (journalctl ${r.helperCpu.toFixed(2)})` : ''} | ${fmt(N / r.cpu)} | ${mib(r.peakRss)} | ${note} |`);
  const fbInputs = spawnSync(FLUENT_BIT, ['-h'], { encoding: 'utf8' }).stdout;
  const fbHas = (input: string) => existsSync(FLUENT_BIT) && new RegExp(`^\\s+${input}\\s`, 'm').test(fbInputs);

  // journald
  if (existsSync(JOURNAL_REMOTE)) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-journal-'));
    const file = join(dir, 'bench.journal');
    const w = spawnSync(JOURNAL_REMOTE, [`--output=${file}`, '-'], { input: journalExport(N) });
    if (w.status !== 0) throw new Error(`systemd-journal-remote: ${w.stderr}`);
    for (let round = 0; round < ROUNDS; round++) {
      await receiver.reset();
      const work = mkdtempSync(join(tmpdir(), 'bench-logship-'));
      const started = performance.now();
      const child = logship(`
server: { listen: "127.0.0.1:${await freePort()}" }
positions: { path: "${work}/positions.json" }
sources:
  - { name: journal, type: journald, directory: "${dir}", start_at: beginning }
sinks:
  - { type: loki, url: "${receiver.url}" }
`, work);
      row('journald → Loki', await measure('logship', child, receiver, N, started), `round ${round + 1}; default pipeline (sshd classification, derived metrics)`);
    }
    if (!fbHas('systemd')) rows.push(`| journald → Loki | fluent-bit | - | - | - | - | - | this build has no systemd input (\`fluent-bit -h\`) |`);
  } else rows.push(`| journald | - | - | - | - | - | - | skipped: ${JOURNAL_REMOTE} missing |`);

  // syslog over TCP
  const corpus = syslogCorpus(N);
  const fbParsers = join(mkdtempSync(join(tmpdir(), 'bench-fb-')), 'parsers.conf');
  // Fluent Bit's own syslog-rfc5424 parser definition (conf/parsers.conf of its source tree).
  writeFileSync(fbParsers, `[PARSER]
    Name        syslog-rfc5424
    Format      regex
    Regex       ^\\<(?<pri>[0-9]{1,5})\\>1 (?<time>[^ ]+) (?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(\\[(.*?)\\]|-)) (?<message>.+)$
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
    Time_Keep   On
`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const shipper of ['logship', 'logship-lean', 'fluent-bit'] as const) {
      if (shipper === 'fluent-bit' && !fbHas('syslog')) continue;
      await receiver.reset();
      const port = await freePort();
      const work = mkdtempSync(join(tmpdir(), 'bench-syslog-'));
      const started = performance.now();
      // logship-lean: classification, redaction and derived metrics off, i.e. parse + labels +
      // ship like the Fluent Bit pipeline beside it.
      const lean = shipper === 'logship-lean' ? 'classification: { enabled: false }\nredaction: { enabled: false }\nderived_metrics: { enabled: false }\n' : '';
      const child = shipper !== 'fluent-bit'
        ? logship(`${lean}
server: { listen: "127.0.0.1:${await freePort()}" }
positions: { path: "${work}/positions.json" }
sources:
  - { name: net, type: syslog, listen: "tcp://127.0.0.1:${port}" }
sinks:
  - { type: loki, url: "${receiver.url}" }
`, work)
        : spawn(FLUENT_BIT, ['-q', '-R', fbParsers, '-i', 'syslog', '-p', 'mode=tcp', '-p', 'listen=127.0.0.1', '-p', `port=${port}`, '-p', 'parser=syslog-rfc5424', '-p', 'mem_buf_limit=64MB',
          '-o', 'loki', '-p', 'host=127.0.0.1', '-p', `port=${new URL(receiver.url).port}`, '-p', 'labels=job=fb', '-p', 'label_keys=$ident', '-p', 'line_format=json', '-p', 'match=*'], { stdio: ['ignore', 'ignore', 'inherit'] });
      const r = await measure(shipper, child, receiver, N, started, () => sendTcp(port, corpus));
      const note = { logship: 'default pipeline', 'logship-lean': "Fluent Bit's work: classification, redaction, derived metrics off", 'fluent-bit': 'regex parser syslog-rfc5424, ident label' }[shipper];
      row('syslog RFC 5424, TCP → Loki', r, `round ${round + 1}; ${note}`);
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.versions.node}; ${new Date().toISOString().slice(0, 10)}. Command: \`node bench/sources.ts --entries ${N} --rounds ${ROUNDS}\`.\n`);
  console.log('| scenario | shipper | entries | entries/s | CPU s | entries per CPU-s | peak RSS | note |\n|---|---|---:|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(r);
}

await main();
