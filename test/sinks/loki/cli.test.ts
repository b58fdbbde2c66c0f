import t, { type Test } from 'tap';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LOKI_LABELS } from '../../../src/sinks/loki/config.ts';
import type { LogRecord } from '../../../src/core/record.ts';
import { LokiTestServer } from '../../servers/loki-server.ts';
import { DaemonProcess, freePort, graceForLateEvents, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';

function config(dir: string, port: number, lokiUrl: string, sinkExtra = ''): string {
  return `
server: { listen: "127.0.0.1:${port}", ready_max_failing: 1h }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
host: test-host
sources:
  - { name: cf1-backend, paths: ["${dir}/logs/*.log"], start_at: beginning, labels: { env: prod } }
sinks:
  - { type: loki, url: "${lokiUrl}", batch: { max_wait: 100ms }${sinkExtra} }
`;
}

const LINES = [
  '{"timestamp":"TS1","level":"INFO","service":"cf1-frontend","message":"User logged in","context":{"userId":"user123","ip":"192.168.1.1"},"requestId":"req-7f3a","userId":"user123"}',
  '{"timestamp":"TS2","level":"ERROR","service":"api","trace_id":"abc123","span_id":"def456","user_id":"user123","message":"Document upload failed","metadata":{"document_id":"doc123"}}',
  'a plain text line',
];

/** A directory with logs/, a Loki test server (stopped at teardown) and a free port for logship's server. */
async function setup(t: Test): Promise<{ dir: string; loki: LokiTestServer; port: number }> {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  return { dir, loki, port: await freePort() };
}

t.test('CLI → Loki: labels within the allowlist, trace_id in structured metadata, normalized JSON lines, positions advance', async (t) => {
  const { dir, loki, port } = await setup(t);
  const cfg = await writeConfig(dir, config(dir, port, loki.url));
  const now = Date.now();
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, LINES.map((l, i) => l.replace(`TS${i + 1}`, new Date(now - 60_000 + i).toISOString())).join('\n') + '\n');
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor(`3 entries in Loki (stderr: ${d.stderr.slice(-800)})`, () => loki.entries === 3, 20_000);
  appendFileSync(log, `{"timestamp":"${new Date().toISOString()}","level":"WARN","service":"api","message":"late","trace_id":"t-late"}\n`);
  await waitFor('4 entries', () => loki.entries === 4);

  const streams = loki.streams();
  for (const s of streams) {
    for (const name of Object.keys(s.pairs)) t.ok(DEFAULT_LOKI_LABELS.includes(name) || name === 'env', `label ${name} is in the allowlist or a source label`);
    t.equal(s.pairs.job, 'cf1-backend');
    t.equal(s.pairs.host, 'test-host');
    t.equal(s.pairs.env, 'prod', 'a source\'s static labels are stream labels (issue 22)');
  }
  const entries = loki.allEntries();
  const byMsg = new Map(entries.map((e) => [(JSON.parse(e.line) as LogRecord).message, e]));
  const err = byMsg.get('Document upload failed')!;
  t.same(err.metadata, { trace_id: 'abc123', span_id: 'def456', user_id: 'user123', filename: log }, 'the file path as structured metadata under Promtail\'s name');
  t.match(err.stream.pairs, { service: 'api', level: 'ERROR' });
  t.notOk(err.stream.labels.includes('abc123'), 'trace_id is not a label');
  t.match(byMsg.get('User logged in')!.metadata, { request_id: 'req-7f3a', user_id: 'user123' });
  t.match(JSON.parse(byMsg.get('a plain text line')!.line), { level: 'INFO', service: 'cf1-backend' });
  for (const e of entries) t.notOk('source' in (JSON.parse(e.line) as object), 'the line is the record only: no source object');
  t.equal(byMsg.get('late')!.metadata.trace_id, 't-late');

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /logship_sink_sent_entries_total\{sink="loki"\} 4/);
  t.match(metrics, /logship_streams_active\{sink="loki"\} [1-9]/);
  t.match(metrics, /logship_sink_request_duration_seconds_bucket\{le="[^"]+",sink="loki",status_code="204"\}/);
  t.match(metrics, /logship_sink_sent_compressed_bytes_total\{sink="loki"\} \d+/);
  await waitFor('positions at EOF', () => {
    const pos = JSON.parse(readFileSync(join(dir, 'data', 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> };
    return Object.values(pos.files)[0]?.offset === statSync(log).size;
  });
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('CLI: Loki rejecting credentials makes /ready fail with auth_error; accepted again → ready, delivered', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const loki = new LokiTestServer({ authorization: 'Bearer right' });
  await loki.start();
  t.teardown(() => loki.stop());
  const port = await freePort();
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'wrong\n');
  const cfg = await writeConfig(dir, config(dir, port, loki.url, `, bearer_token_file: "${tokenFile}", auth_retry_interval: 300ms`));
  writeFileSync(join(dir, 'logs', 'app.log'), `{"timestamp":"${new Date().toISOString()}","level":"INFO","message":"hello"}\n`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('/ready fails', async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 503);
  const ready = await (await fetch(`http://127.0.0.1:${port}/ready`)).text();
  t.match(ready, /credentials rejected/);
  const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as { sinks: Array<{ state: string; lastError: string }> };
  t.equal(status.sinks[0].state, 'auth_error');
  t.match(d.stderr, /"level":50.*Loki rejected our credentials/);
  t.equal(loki.entries, 0);
  (loki as unknown as { opts: { authorization: string } }).opts.authorization = 'Bearer wrong';
  await waitFor('delivered', () => loki.entries === 1);
  await waitFor('/ready ok', async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200);
  t.equal(loki.headersSeen.at(-1)?.authorization, 'Bearer wrong', 'the token was read from bearer_token_file');
});

t.test('a drained backlog ships at once, not after max_wait; a trickle keeps batching', async (t) => {
  const { dir, loki, port } = await setup(t);
  // max_wait far beyond the test: only the caught-up flush (or a full 4 MiB batch) can send
  const cfg = await writeConfig(dir, config(dir, port, loki.url).replace('max_wait: 100ms', 'max_wait: 10m, max_bytes: 4MiB'));
  const log = join(dir, 'logs', 'app.log');
  const ts = new Date(Date.now() - 60_000).toISOString();
  const backlog = Array.from({ length: 5000 }, (_, i) => `{"timestamp":"${ts}","level":"INFO","service":"api","message":"backlog line ${i} ${'x'.repeat(100)}"}`);
  writeFileSync(log, backlog.join('\n') + '\n'); // ~650 KiB: three read chunks, one batch
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor(`the backlog in Loki well before max_wait (stderr: ${d.stderr.slice(-800)})`, () => loki.entries === backlog.length, 30_000);
  appendFileSync(log, `{"timestamp":"${new Date().toISOString()}","level":"INFO","service":"api","message":"trickle"}\n`);
  await graceForLateEvents(1500);
  t.equal(loki.entries, backlog.length, 'one new line is not a backlog: it waits for its batch');
});
