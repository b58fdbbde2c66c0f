import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, graceForLateEvents, readNdjson, runCli, sleep, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { appendSeq, config, emptyAppLog, seqLine, shippedSeqs, summarize } from '../sources/cli-support.ts';
import { LokiTestServer } from '../servers/loki-server.ts';

/**
 * `workers.threads` through the real daemon: real worker threads, real files, the file sink.
 * The option changes where lines are parsed, never what ships, what is counted, or when a
 * position moves.
 */

type Rec = { message: string; timestamp: string; source: { file: string }; metadata?: Record<string, unknown> };

/** Platform request lines, failed logins from one address (brute-force detections), a secret, text. */
function corpusLine(file: number, i: number): string {
  const ts = new Date(Date.UTC(2026, 11, 4, 10, 0, 0) + i * 7 + file).toISOString();
  switch (i % 5) {
    case 0:
      return JSON.stringify({ timestamp: ts, level: 'INFO', service: `svc${file}`, message: 'Request completed', trace_id: `t${i}`, duration: (i % 97) / 100, metadata: { method: i % 2 ? 'GET' : 'POST', route: '/api/users/:id', path: `/api/users/${i}`, status_code: [200, 201, 404, 500][i % 4], response_size: i } });
    case 1:
      // one file only: the brute-force detector (main thread) sees them in the order of that file,
      // while the order across files depends on when each file is read, with or without workers
      if (file !== 0) return JSON.stringify({ timestamp: ts, level: 'INFO', service: 'auth', message: 'Login succeeded', user_id: `u${i % 3}` });
      return JSON.stringify({ timestamp: ts, level: 'WARN', service: 'auth', message: 'Login failed: invalid password', user_id: `u${i % 3}`, ip_address: '203.0.113.7', event_type: 'security', action: 'failed_login' });
    case 2:
      return JSON.stringify({ timestamp: ts, level: 'ERROR', service: 'pay', message: `charge failed password=hunter${i} card 4111 1111 1111 1111`, metadata: { attempt: i } });
    case 3:
      return `${ts} INFO worker[${file}] processed job ${i} in ${i % 50}ms`;
    default:
      return JSON.stringify({ timestamp: ts, level: 'DEBUG', message: `plain ${i}`, seq: i });
  }
}

function writeCorpus(dir: string, files: number, lines: number): void {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  for (let f = 0; f < files; f++) {
    let s = '';
    for (let i = 0; i < lines; i++) s += corpusLine(f, i) + '\n';
    writeFileSync(join(dir, 'logs', `f${f}.log`), s);
  }
}

/** /metrics lines that count what was shipped and derived (not timings, memory or the workers' own). */
function countedSeries(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'))
    .filter((l) => !/^(process_|nodejs_|logship_)/.test(l) || /^logship_(records_total|records_dropped_total|parse_errors_total|parse_fallback_total|redactions_total|record_faults_total)\b/.test(l))
    .filter((l) => !/_(seconds|bytes)(_bucket|_sum|_count)?\{/.test(l) || /^http_request_duration_seconds/.test(l))
    .sort();
}

async function runOnce(teardown: (fn: () => unknown) => void, dir: string, threads: number, expected: { lines: number; shipped: number }): Promise<{ records: Rec[]; metrics: string[]; exit: number | null }> {
  const port = await freePort();
  const data = join(dir, `data-${threads}`);
  const cfg = join(dir, `logship-${threads}.yaml`);
  writeFileSync(cfg, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${data}/positions.json" }
host: test-host
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: auto }
sinks:
  - { type: file, path: "${data}/shipped.ndjson", fsync: false }
workers: { threads: ${threads} }
# before the metrics stage: in the workers; from it on: on the main thread
pipeline:
  - { type: labels, from: { level: level }, values: { env: test } }
  - { type: extract, format: regex, pattern: 'job (?<job_no>\\d+)' }
  - { type: drop, levels: [DEBUG], field: message, matches: 'plain [0-9]*9$' }
  - type: metrics
    rules:
      - { name: test_errors_total, type: counter, help: errors, match: [{ field: level, equals: ERROR }], labels: { service: service } }
  - { type: format, into: metadata.where, text: "{service}@{level}", case: lower }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const out = join(data, 'shipped.ndjson');
  await waitFor(`${expected.shipped} records (threads ${threads})`, () => readNdjson(out).length >= expected.shipped, 120_000, 200);
  await graceForLateEvents(300);
  const records = readNdjson<Rec>(out);
  // the workers' counts follow their records within 200 ms: read until two reads agree
  let metrics: string[] = [];
  await waitFor('settled /metrics', async () => {
    const now = countedSeries(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const same = JSON.stringify(now) === JSON.stringify(metrics) && now.includes(`logship_records_total{source="app"} ${expected.lines}`);
    metrics = now;
    return same;
  }, 30_000, 400);
  return { records, metrics, exit: (await d.kill('SIGTERM')).code };
}

/** Records per file, in shipped order; a read-time timestamp (a line without one) blanked. */
function perFile(records: Rec[]): Map<string, unknown[]> {
  const m = new Map<string, unknown[]>();
  for (const r of records) {
    const x = { ...r } as Rec;
    if (x.metadata?.timestamp_source === 'read_time') x.timestamp = '(read time)';
    const f = r.source?.file ?? '(none)';
    if (!m.has(f)) m.set(f, []);
    m.get(f)!.push(x);
  }
  return m;
}

t.test('threads 2 vs off: the same records per file in the same order, and the same counts on /metrics', { timeout: 300_000 }, async (t) => {
  const dir = tempDir('logship-workers-');
  const files = 4;
  const lines = 2500;
  writeCorpus(dir, files, lines);
  // the drop stage drops every tenth line (DEBUG "plain …9")
  const expected = { lines: files * lines, shipped: files * lines * 0.9 };
  const off = await runOnce((fn) => t.teardown(fn), dir, 0, expected);
  const on = await runOnce((fn) => t.teardown(fn), dir, 2, expected);
  t.same([off.exit, on.exit], [0, 0], 'both stop cleanly');
  t.equal(on.records.length, off.records.length, `as many records (${off.records.length}, brute-force detections included)`);
  const a = perFile(off.records);
  const b = perFile(on.records);
  t.same([...b.keys()].sort(), [...a.keys()].sort(), 'the same files');
  for (const [f, recs] of a) t.same(b.get(f), recs, `${f}: identical records in identical order`);
  t.ok(off.metrics.some((l) => l.startsWith('http_requests_total')) && off.metrics.some((l) => l.startsWith('logship_redactions_total')) && off.metrics.some((l) => l.startsWith('test_errors_total')) && off.metrics.some((l) => l.startsWith('logship_records_dropped_total')), 'the comparison covers derived, metrics-stage, drop and redaction counters');
  t.ok(off.records.some((r) => (r.metadata as { where?: string } | undefined)?.where !== undefined) && off.records.some((r) => (r.metadata as { job_no?: string } | undefined)?.job_no !== undefined), 'stages before and after the split changed records');
  // A latency sum adds one file's durations in order, but the files' lines interleave as they are
  // read, with workers or without: the last bits of a float sum depend on that order, nothing else.
  t.same(on.metrics.map(roundSums), off.metrics.map(roundSums), 'identical derived metrics and record counters (sums to 12 significant digits)');
});

t.test('2 workers, 6 files written while running: every file\'s lines ship in the order written, none lost, none twice', { timeout: 300_000 }, async (t) => {
  const { dir, port } = await emptyAppLog();
  const files = Array.from({ length: 6 }, (_, f) => join(dir, 'logs', `s${f}.log`));
  for (const f of files) writeFileSync(f, '');
  const cfg = await writeConfig(dir, config(dir, port, { paths: [`${dir}/logs/s*.log`], extra: 'workers: { threads: 2 }' }));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const per = 4000;
  for (let c = 0; c < per; c += 500) {
    for (const f of files) appendSeq(f, c, 500);
    await sleep(20);
  }
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('every line', () => readNdjson(out).length >= files.length * per, 120_000, 200);
  await graceForLateEvents(300);
  const recs = readNdjson<{ source: { file: string }; metadata: { seq: number } }>(out);
  t.equal(recs.length, files.length * per, 'no line twice');
  for (const f of files) {
    const seqs = recs.filter((r) => r.source.file === f).map((r) => r.metadata.seq);
    t.same(seqs, Array.from({ length: per }, (_, i) => i), `${f}: every line, in the order written`);
  }
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('SIGKILL 3 times during a 60,000-line ingest with 2 workers: 0 missing; positions only move past acknowledged lines', { timeout: 300_000 }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, config(dir, port, { budget: '1MiB', extra: 'workers: { threads: 2 }' }));
  const out = join(dir, 'data', 'shipped.ndjson');
  const total = 60_000;
  const chunk = 1000;
  let d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const killAt = new Set([12, 31, 47]);
  for (let c = 0; c < total / chunk; c++) {
    appendSeq(log, c * chunk, chunk);
    await sleep(5);
    if (killAt.has(c)) {
      await sleep(50 * (c % 4));
      await d.kill('SIGKILL');
      // the committed offset never passes a line the sink does not hold
      const posFile = join(dir, 'data', 'positions.json');
      const pos = (existsSync(posFile) ? JSON.parse(readFileSync(posFile, 'utf8')) : { files: {} }) as { files: Record<string, { offset: number }> };
      const committedLines = readFileSync(log).subarray(0, Object.values(pos.files)[0]?.offset ?? 0).toString().split('\n').length - 1;
      const shipped = shippedSeqs(out).counts;
      const missing = Array.from({ length: committedLines }, (_, i) => i).filter((i) => !shipped.has(i));
      t.same(missing.slice(0, 5), [], `kill at chunk ${c}: every one of the ${committedLines} committed lines is in the sink`);
      d = new DaemonProcess(['run', '--config', cfg]);
      await d.waitHttp(port);
    }
  }
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= total, 120_000, 250);
  await graceForLateEvents(500);
  const s = summarize(shippedSeqs(out), total);
  t.equal(s.missing.length, 0, `missing ${s.missing.length}`);
  t.equal(s.extra, 0);
  t.comment(`duplicates after 3 kills: ${s.duplicates} (re-sent unacknowledged windows; budget 1 MiB ≈ ${Math.round(1024 * 1024 / seqLine(0).length)} lines)`);
  t.ok(statSync(out).size > 0);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('hostile lines in a worker affect those lines only: every normal line once, faults counted on the main thread', { timeout: 120_000 }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, config(dir, port, { extra: 'workers: { threads: 1 }' }));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const deep = '{"a":'.repeat(40_000) + '1' + '}'.repeat(40_000);
  const hostile = [deep, '{"level":"info","msg":' + '['.repeat(5000) + ']'.repeat(5000) + '}', '{"__proto__":{"polluted":true},"msg":"proto"}', '{"n":1e999,"z":-0}', '\u0000\ud800 not json {', '{"msg":"x"'];
  let body = '';
  let normal = 0;
  for (let i = 0; i < 200; i++) {
    body += `{"level":"info","msg":"between ${normal}","seq":${normal}}\n`;
    normal++;
    if (i % 30 === 0) body += hostile[(i / 30) % hostile.length] + '\n';
  }
  writeFileSync(log, body);
  const out = join(dir, 'data', 'shipped.ndjson');
  const expected = normal + 7;
  await waitFor('every line', () => readNdjson(out).length >= expected, 60_000, 200);
  await graceForLateEvents(300);
  const recs = readNdjson<{ message: string; metadata?: { seq?: number } }>(out);
  t.equal(recs.length, expected, 'every line shipped once (hostile ones as text or as what they parse to)');
  const seqs = recs.map((r) => r.metadata?.seq).filter((s) => typeof s === 'number');
  t.same(seqs, Array.from({ length: normal }, (_, i) => i), 'every normal line, in order');
  const metrics = await waitFor('the too-deep fault on /metrics', async () => {
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return /logship_record_faults_total\{kind="parse",where="json",reason="too_deep",outcome="shipped_as_text"\} [1-9]/.test(m) ? m : null;
  }, 10_000, 200);
  t.match(metrics, /logship_parse_errors_total\{parser="json",reason="too_deep"\} [1-9]/, 'the worker\'s parse errors are counted on the main registry');
  const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as { faults: { total: number } };
  t.ok(status.faults.total >= 1, 'listed on the status page');
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('an invalid workers section fails validation naming the key', async (t) => {
  const dir = tempDir();
  for (const [value, why] of [['-1', /workers\.threads/], ['two', /workers\.threads/], ['{ threads: 1, queue: 3 }', /workers/]] as const) {
    const cfg = await writeConfig(dir, `sources: [{ name: a, paths: [/x] }]\nsinks: [{ type: stdout }]\nworkers: ${value.startsWith('{') ? value : `{ threads: ${value} }`}\n`);
    const r = await runCli(['validate', '--config', cfg]);
    t.equal(r.code, 2, `workers ${value}: exit 2`);
    t.match(r.stderr + r.stdout, why, `workers ${value}: names the key`);
  }
  const ok = await writeConfig(dir, 'sources: [{ name: a, paths: [/x] }]\nsinks: [{ type: stdout }]\nworkers: { threads: 2 }\n');
  t.equal((await runCli(['validate', '--config', ok])).code, 0);
});

t.test('SIGHUP from 1 to 2 workers and back to 0 while lines flow: every line once, in order', { timeout: 300_000 }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const yaml = (threads: number) => config(dir, port, { extra: `workers: { threads: ${threads} }` });
  const cfg = await writeConfig(dir, yaml(1));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const out = join(dir, 'data', 'shipped.ndjson');
  let written = 0;
  for (const next of [2, 0]) {
    appendSeq(log, written, 5000);
    written += 5000;
    await writeConfig(dir, yaml(next));
    d.child.kill('SIGHUP');
    appendSeq(log, written, 5000);
    written += 5000;
    await waitFor(`${written} lines`, () => shippedSeqs(out).counts.size >= written, 120_000, 200);
  }
  await graceForLateEvents(300);
  const seqs = readNdjson<{ metadata: { seq: number } }>(out).map((r) => r.metadata.seq);
  t.same(seqs, Array.from({ length: written }, (_, i) => i), 'every line once, in the order written, across both reloads');
  t.match(d.stderr, /reloading configuration/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('a worker that falls behind fills the byte budget and the reader pauses: lines in flight stay bounded', { timeout: 300_000 }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  // 150 format stages make each line cost the worker far more than the main thread
  const slow = Array.from({ length: 150 }, (_, i) => `  - { type: format, into: metadata.f${i % 5}, text: "{message}-{level}-${i}", case: upper }`).join('\n');
  const limit = 256 * 1024;
  const cfg = await writeConfig(dir, config(dir, port, { budget: '256KiB', extra: `workers: { threads: 1 }\npipeline:\n${slow}` }));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const total = 30_000;
  appendSeq(log, 0, total);
  const out = join(dir, 'data', 'shipped.ndjson');
  const gauge = (m: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(m)?.[1] ?? NaN);
  let maxInFlight = 0;
  let maxBuffer = 0;
  let paused = 0;
  await waitFor('every line', async () => {
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    maxInFlight = Math.max(maxInFlight, gauge(m, 'logship_pipeline_worker_lines_in_flight'));
    maxBuffer = Math.max(maxBuffer, gauge(m, 'logship_buffer_bytes'));
    paused = gauge(m, 'logship_backpressure_seconds_total');
    return shippedSeqs(out).counts.size >= total;
  }, 240_000, 50);
  // As on one thread, a read is checked against the budget before it starts: the limit may be
  // passed by one read's lines (256 KiB of them, each charged 128 B more) and the two read buffers.
  const chunk = 256 * 1024;
  const perLine = seqLine(0).length + 128;
  const readLines = Math.ceil(chunk / seqLine(0).length);
  const lineBound = Math.ceil(limit / perLine) + readLines;
  const bufferBound = limit + readLines * perLine + 2 * chunk;
  t.ok(maxInFlight > 200, `the worker fell behind (up to ${maxInFlight} lines in flight)`);
  t.ok(maxInFlight <= lineBound, `lines in flight bounded by the budget: ${maxInFlight} ≤ ${lineBound} of ${total}`);
  t.ok(maxBuffer <= bufferBound, `logship_buffer_bytes ${maxBuffer} ≤ ${bufferBound}`);
  t.ok(paused > 0, `the reader paused (logship_backpressure_seconds_total ${paused})`);
  t.equal(summarize(shippedSeqs(out), total).missing.length, 0);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

/**
 * A seed-format line (the platform's LogEntry): requests with status codes and durations, failed
 * logins from one address in file 0 (brute-force detections), slow operations, suspicious requests
 * with a threat, repeated errors with a secret, and plain text. Timestamps from `base` (recent:
 * Loki refuses old entries).
 */
function seedLine(base: number, file: number, i: number): string {
  const timestamp = new Date(base + i * 3 + file).toISOString();
  const common = { timestamp, trace_id: `t${file}x${i}`, span_id: `s${i}`, request_id: `r${file}-${i}` };
  const service = `svc${(i >> 3) % 3}`;
  if (i % 13 === 12) return `${timestamp} INFO worker[${file}] processed job ${i}`;
  switch (i % 10) {
    case 6:
      if (file !== 0) return JSON.stringify({ ...common, level: 'INFO', service: 'auth', message: 'Login succeeded', user_id: `u${i % 7}` });
      return JSON.stringify({ ...common, level: 'WARN', service: 'auth', message: 'Login failed: invalid password', user_id: `u${i % 7}`, ip_address: '203.0.113.7', event_type: 'security', action: 'failed_login' });
    case 7:
      return JSON.stringify({ ...common, level: 'WARN', service, message: 'Slow database query', duration: 2.5 + (i % 5), event_type: 'performance', metadata: { operation: i % 2 ? 'SELECT users' : 'GET /api/users/42', threshold: 1 } });
    case 8:
      return JSON.stringify({ ...common, level: 'WARN', service, message: 'Suspicious request blocked', ip_address: `198.51.100.${i % 9}`, event_type: 'security', action: 'suspicious_request', metadata: { threat: i % 2 ? 'sqli' : 'traversal', path: `/api/x?id=${i}` } });
    case 9:
      return JSON.stringify({ ...common, level: 'ERROR', service, message: `charge failed password=hunter${i} card 4111 1111 1111 1111`, metadata: { repeat_count: 1 + (i % 4), tier: i % 3 ? 'gold' : 'free' } });
    default:
      return JSON.stringify({ ...common, level: 'INFO', service, message: 'Request completed', user_id: `u${i % 50}`, duration: (i % 97) / 1000, metadata: { method: i % 3 ? 'GET' : 'POST', route: '/api/users/:id', path: `/api/users/${i}`, status_code: [200, 201, 404, 500, 401, 429][i % 6], response_size: i, tier: i % 2 ? 'gold' : undefined } });
  }
}

/** Entries per stream and file (structured metadata `filename`), in the order Loki stored them. */
function lokiEntries(loki: LokiTestServer): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const s of loki.streams()) {
    for (const e of s.entries) {
      const key = `${s.labels} ${e.metadata.filename}`;
      if (!m.has(key)) m.set(key, []);
      const md = Object.entries(e.metadata).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      m.get(key)!.push(`${e.ts} ${JSON.stringify(md)} ${e.line}`);
    }
  }
  return m;
}

async function runLoki(t: Test, dir: string, threads: number, lines: number): Promise<{ entries: Map<string, string[]>; metrics: string[]; stderr: string; exit: number | null }> {
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const port = await freePort();
  const cfg = join(dir, `loki-${threads}.yaml`);
  writeFileSync(cfg, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data-loki-${threads}/positions.json" }
host: test-host
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: auto }
sinks:
  - type: loki
    url: ${loki.url}
    batch: { max_wait: 200ms }
    # one request at a time: Loki stores entries in the order logship sent them
    max_inflight: 1
    labels: [job, service, level, host, env]
    structured_metadata: [trace_id, user_id, ip_address, http.route, tier]
workers: { threads: ${threads} }
# in the workers: the main thread runs only the derived metrics, so records come back as fields and line
pipeline:
  - { type: labels, values: { env: test } }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const read = async () => countedSeries(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  // every line parsed and its derived metrics settled (two reads agree), then every line and
  // every brute-force detection stored in Loki
  let metrics: string[] = [];
  await waitFor(`${lines} lines counted (threads ${threads})`, async () => {
    const now = await read();
    const same = JSON.stringify(now) === JSON.stringify(metrics) && now.includes(`logship_records_total{source="app"} ${lines}`);
    metrics = now;
    return same;
  }, 120_000, 400);
  const detections = metrics.filter((l) => l.startsWith('brute_force_detections_total')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  await waitFor(`${lines} + ${detections} entries (threads ${threads})`, () => loki.entries >= lines + detections, 120_000, 200);
  await graceForLateEvents(300);
  t.same(await read(), metrics, `threads ${threads}: /metrics did not change while the sink caught up`);
  const exit = (await d.kill('SIGTERM')).code;
  return { entries: lokiEntries(loki), metrics, stderr: d.stderr, exit };
}

t.test('Loki sink, seed-format lines, one busy file: threads 2 vs off store identical entries per stream and file, and identical /metrics', { timeout: 300_000 }, async (t) => {
  const dir = tempDir('logship-workers-loki-');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const base = Date.now() - 3_600_000;
  const sizes = [12_000, 1500, 1500];
  sizes.forEach((n, f) => writeFileSync(join(dir, 'logs', `f${f}.log`), Array.from({ length: n }, (_, i) => seedLine(base, f, i) + '\n').join('')));
  const total = sizes.reduce((a, b) => a + b, 0);
  const off = await runLoki(t, dir, 0, total);
  const on = await runLoki(t, dir, 2, total);
  t.same([off.exit, on.exit], [0, 0], 'both stop cleanly');
  t.match(on.stderr, /"records":"fields and line".*pipeline workers started|pipeline workers started.*"records":"fields and line"/, 'the workers sent fields and lines, not whole records');
  t.same([...on.entries.keys()].sort(), [...off.entries.keys()].sort(), 'the same streams and files');
  let n = 0;
  for (const [k, entries] of off.entries) {
    n += entries.length;
    t.same(on.entries.get(k), entries, `${k}: identical entries (timestamp, structured metadata, line bytes) in identical order`);
  }
  t.ok(n > total, `every line and the brute-force detections stored (${n} entries for ${total} lines)`);
  t.ok([...off.entries.keys()].some((k) => k.includes('env="test"')) && [...off.entries.values()].flat().some((e) => e.includes('"http_route"') || e.includes('"tier"')), 'labels from a worker stage and dotted / metadata structured metadata were compared');
  t.ok(['http_requests_total', 'http_request_duration_seconds_bucket', 'security_events_total', 'brute_force_detections_total', 'slow_operations_total', 'suspicious_requests_total', 'logship_redactions_total'].every((name) => off.metrics.some((l) => l.startsWith(name))), 'the comparison covers request, latency, security, brute-force, slow-operation and redaction series');
  // A latency sum adds one file's durations in order, but the files' lines interleave as they are
  // read, with workers or without: the last bits of a float sum depend on that order, nothing else.
  t.same(on.metrics.map(roundSums), off.metrics.map(roundSums), 'identical derived metrics and record counters (sums to 12 significant digits)');
});

function roundSums(line: string): string {
  const m = /^(\S+_sum\{.*\}) (\S+)$/.exec(line);
  return m === null ? line : `${m[1]} ${Number(m[2]).toPrecision(12)}`;
}
