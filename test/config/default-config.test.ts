import t from 'tap';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, ROOT, freePort, graceForLateEvents, readNdjson, runCli, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

const DEFAULT_CONFIG_PATH = join(ROOT, 'config', 'logship.yaml');

/**
 * Issue 22, item 6: the embedded default config on a host laid out like a real one (under
 * LOGSHIP_HOST_ROOT, the mount point of a containerized logship; here a temp dir so the test
 * does not write into this machine's /var). Layouts: Docker's json-file driver
 * (docs.docker.com/engine/logging/drivers/json-file: /var/lib/docker/containers/<id>/<id>-json.log,
 * {"log","stream","time"} lines, a line longer than 16 KiB split into pieces without "\n"), the
 * kubelet's CRI files (/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log,
 * "<RFC3339Nano> <stream> <P|F> <text>", and /var/log/containers/<pod>_<ns>_<container>-<id>.log
 * symlinks to them).
 */
const CID = 'a'.repeat(64);

interface Rec { message: string; source: Record<string, string>; metadata?: Record<string, unknown>; level: string }

t.test('the default config reads Docker json-file as docker, CRI pods as CRI with namespace/pod/container, /var/log with auto; symlinks read once', async (t) => {
  const root = tempDir('logship-host-');
  const dockerLog = join(root, 'var/lib/docker/containers', CID, `${CID}-json.log`);
  const podDir = join(root, 'var/log/pods/shop_web-7d4b9_0f1e2d3c-aaaa-bbbb-cccc-000000000001/nginx');
  const podLog = join(podDir, '0.log');
  const plain = join(root, 'var/log/app.log');
  mkdirSync(join(root, 'var/lib/docker/containers', CID), { recursive: true });
  mkdirSync(podDir, { recursive: true });
  mkdirSync(join(root, 'var/log/containers'), { recursive: true });
  for (const f of [dockerLog, podLog, plain]) writeFileSync(f, '');
  symlinkSync(podLog, join(root, 'var/log/containers', `web-7d4b9_shop_nginx-${'b'.repeat(64)}.log`));
  const data = join(root, 'data');
  const port = await freePort();
  const env = { LOGSHIP_HOST_ROOT: root, LOGSHIP_LISTEN: `127.0.0.1:${port}`, LOGSHIP_DATA_DIR: data, LOKI_URL: '', ELASTICSEARCH_URL: '' };
  const d = new DaemonProcess(['run'], { env, cwd: root });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port, '/healthz', 60_000);
  // start_at: end: lines count from when the files are tailed
  await waitFor('the three files tailed', async () => {
    const st = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { sources: Array<{ files: Array<{ path: string }> }> };
    return st.sources.flatMap((s) => s.files).length >= 3;
  }, 30_000);
  const now = new Date().toISOString();
  appendFileSync(dockerLog, [
    { log: 'hello from docker\n', stream: 'stdout', time: now },
    { log: '{"level":"error","msg":"split ', stream: 'stderr', time: now }, // a partial: no newline
    { log: 'json line"}\n', stream: 'stderr', time: now },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n');
  appendFileSync(podLog, `${now} stdout F {"level":"info","msg":"pod says hi"}\n${now} stdout P partial \n${now} stdout F joined\n`);
  appendFileSync(plain, 'level=warn msg="disk almost full" pct=91\n');
  const out = join(data, 'shipped.ndjson');
  const recs = await waitFor('five records', () => {
    const r = readNdjson<Rec>(out).filter((x) => x.source.name !== 'journal');
    return r.length >= 5 ? r : null;
  }, 30_000);
  const by = (m: string) => recs.filter((r) => r.message === m);
  t.match(by('hello from docker'), [{ source: { type: 'docker', name: 'docker', container_id: CID, stream: 'stdout' } }], 'docker: the message decoded, container id and stream in source');
  t.match(by('split json line'), [{ level: 'ERROR', source: { container_id: CID, stream: 'stderr' } }], 'docker: a split line rejoined, then parsed as JSON');
  t.match(by('pod says hi'), [{ level: 'INFO', source: { type: 'cri', name: 'pods', namespace: 'shop', pod: 'web-7d4b9', container: 'nginx', stream: 'stdout' } }], 'CRI: decoded, Kubernetes metadata from the path, read once (not again through /var/log/containers)');
  t.equal(by('partial joined').length, 1, 'CRI: P + F joined');
  t.match(by('disk almost full'), [{ level: 'WARN', source: { type: 'file', name: 'varlog' }, metadata: { pct: 91 } }], '/var/log: auto found logfmt');
  await graceForLateEvents(1000); // a record shipped twice would show up
  t.equal(readNdjson<Rec>(out).filter((x) => x.source.name !== 'journal').length, 5, 'nothing twice');
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('logship parse previews a source\'s whole chain from a config: container decoding, partial rejoin, multiline', async (t) => {
  const root = tempDir('logship-host-');
  const file = join(root, 'var/lib/docker/containers', CID, `${CID}-json.log`);
  const now = '2026-12-04T10:00:00.123456789Z';
  const input = [
    { log: 'plain docker line\n', stream: 'stdout', time: now },
    { log: 'part one, ', stream: 'stdout', time: now },
    { log: 'part two\n', stream: 'stdout', time: now },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n';
  const r = await runCli(['parse', '--config', DEFAULT_CONFIG_PATH, '--source', 'docker', '--file', file], { input, env: { LOGSHIP_HOST_ROOT: root } });
  t.equal(r.code, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec & { timestamp: string });
  t.match(recs, [{ message: 'plain docker line', source: { type: 'docker', container_id: CID, stream: 'stdout' } }, { message: 'part one, part two' }]);
  t.equal(recs[0].timestamp, now, 'the runtime time (no time in the message)');

  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources:
  - name: java
    type: cri
    paths: ["/var/log/pods/*/*/*.log"]
    multiline: { start: '^\\d{4}-\\d{2}-\\d{2} ', timeout: 200ms }
sinks: [{ type: stdout }]
`);
  const cri = (text: string) => `${now} stderr F ${text}`;
  const trace = ['2026-12-04 10:00:00,123 ERROR boom', 'java.lang.IllegalStateException: x', '\tat a.b.C.d(C.java:1)', '2026-12-04 10:00:01,000 INFO next'].map(cri).join('\n') + '\n';
  const m = await runCli(['parse', '--config', cfg, '--source', 'java', '--file', '/var/log/pods/shop_api-1_0f1e2d3c-aaaa-bbbb-cccc-000000000002/app/0.log'], { input: trace });
  t.equal(m.code, 0, m.stderr);
  const mrecs = m.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec);
  t.equal(mrecs.length, 2, 'the stack trace is one record');
  t.match(mrecs[0], { level: 'ERROR', source: { namespace: 'shop', pod: 'api-1', container: 'app' } });
  t.match(mrecs[0].message, /boom\njava.lang.IllegalStateException: x\n\tat a.b.C.d/);
});
