import t from 'tap';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { appForUser, DaemonProcess, waitFor, worldReadableDir, writeConfig } from '../support/daemon.ts';
import { LokiTestServer } from '../servers/loki-server.ts';
import { appendSeq, config, emptyAppLog } from '../sources/cli-support.ts';

// Root ignores directory permissions, so the daemon runs as nobody (see file-errors.test.ts).
const NOBODY = { uid: 65534, gid: 65534 };

async function ready(port: number): Promise<{ status: number; body: string; reasons: string[] }> {
  const r = await fetch(`http://127.0.0.1:${port}/ready`);
  const st = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { ready: { reasons: string[] } };
  return { status: r.status, body: await r.text(), reasons: st.ready.reasons };
}

t.test('/ready is 503 with the reason while positions cannot be persisted, and 200 again once they can', { skip: process.getuid?.() !== 0 ? 'needs root to run the daemon as another user' : false }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const data = join(dir, 'data');
  mkdirSync(data);
  chownSync(dir, NOBODY.uid, NOBODY.gid); // mkdtemp made it 0700
  chownSync(data, NOBODY.uid, NOBODY.gid);
  const cfg = await writeConfig(dir, config(dir, port));
  const app = appForUser(NOBODY, worldReadableDir());
  const d = new DaemonProcess(['run', '--config', cfg], { user: NOBODY, node: app.node, cli: app.cli });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port, '/ready', 60_000); // a loaded machine (2 cores, 8 helpers) can take long
  chmodSync(data, 0o555); // positions.json.tmp can no longer be created
  appendSeq(log, 0, 10); // something to persist
  const bad = await waitFor('/ready 503', async () => {
    const r = await ready(port);
    return r.status === 503 ? r : null;
  });
  t.match(bad.body, /not ready: positions cannot be persisted to .*positions\.json for \d+s: EACCES/, 'the reason in the body');
  t.match(bad.reasons.join(), /positions cannot be persisted/, 'and on the status page');
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, /not ready[\s\S]*positions cannot be persisted/);
  chmodSync(data, 0o755);
  await waitFor('/ready 200 again', async () => (await ready(port)).status === 200);
  t.pass('ready again once a write succeeded');
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('/ready is 503 with the reason once a sink has failed longer than server.ready_max_failing', async (t) => {
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, config(dir, port, { sink: `{ type: loki, url: "${loki.url}", batch: { max_wait: 50ms }, retry: { min_backoff: 50ms, max_backoff: 200ms } }` }).replace(`listen: "127.0.0.1:${port}"`, `listen: "127.0.0.1:${port}", ready_max_failing: 1s`));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port, '/ready');
  loki.fail({ mode: 'status', status: 503 });
  appendSeq(log, 0, 10);
  const bad = await waitFor('/ready 503', async () => {
    const r = await ready(port);
    return r.status === 503 ? r : null;
  });
  t.match(bad.body, /not ready: sink loki failing for \d+s/);
  loki.clearFailure();
  await waitFor('/ready 200 again', async () => (await ready(port)).status === 200);
  t.pass('ready again once the sink delivers');
  t.equal((await d.kill('SIGTERM')).code, 0);
});
