import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, runCli, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { LokiTestServer } from '../servers/loki-server.ts';
import { appendSeq, shippedSeqs } from '../sources/cli-support.ts';

/**
 * Issue 22, item 8: `${VAR:-default}` in a --config file, and the documented overrides
 * (LOGSHIP_LISTEN, LOGSHIP_DATA_DIR, LOKI_URL, ELASTICSEARCH_URL) on top of an explicit config,
 * the environment winning (README "Environment overrides").
 */
t.test('with --config: ${VAR:-default} expands, and LOGSHIP_LISTEN, LOGSHIP_DATA_DIR and LOKI_URL override the file', async (t) => {
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const dead = new LokiTestServer();
  await dead.start();
  const deadUrl = dead.url;
  await dead.stop(); // a Loki url that refuses connections: the file's, overridden by LOKI_URL
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:1" }
positions: { path: "${dir}/data/positions.json", sync_interval: 100ms }
sources:
  - { name: "\${SOURCE_NAME:-fromdefault}", paths: ["\${LOG_DIR}/*.log"], start_at: beginning, parser: json }
sinks:
  - { type: file, path: "${dir}/out/shipped.ndjson" }
  - { type: loki, url: "${deadUrl}", batch: { max_wait: 100ms } }
`);
  const env = { LOG_DIR: join(dir, 'logs'), SOURCE_NAME: '', LOGSHIP_LISTEN: `127.0.0.1:${port}`, LOGSHIP_DATA_DIR: join(dir, 'state'), LOKI_URL: loki.url, ELASTICSEARCH_URL: '' };
  const v = await runCli(['validate', '--config', cfg], { env });
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, 'environment override: server.listen from LOGSHIP_LISTEN');
  t.match(v.stdout, 'environment override: positions.path from LOGSHIP_DATA_DIR');
  t.match(v.stdout, 'environment override: sinks[1].url from LOKI_URL');
  appendSeq(log, 0, 50);
  const d = new DaemonProcess(['run', '--config', cfg], { env });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port); // LOGSHIP_LISTEN, not the file's 127.0.0.1:1
  await waitFor('all lines in the file sink and in the Loki of LOKI_URL', () => shippedSeqs(join(dir, 'out', 'shipped.ndjson')).counts.size === 50 && loki.allEntries().length === 50);
  const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { sources: Array<{ name: string }> };
  t.equal(status.sources[0].name, 'fromdefault', 'an empty variable takes the default');
  t.equal((await d.kill('SIGTERM')).code, 0);
  t.ok(existsSync(join(dir, 'state', 'positions.json')), 'positions under LOGSHIP_DATA_DIR');
  t.notOk(existsSync(join(dir, 'data')), 'not where the file said');
  t.match(d.stderr, /environment overrides applied/);
});

t.test('with --config and no loki sink, LOKI_URL adds one; an unset ${VAR} without default fails naming it; an invalid override fails naming the variable', async (t) => {
  const dir = tempDir();
  const base = `
sources: [{ name: app, paths: ["/tmp/x/*.log"] }]
sinks: [{ type: file, path: "${dir}/out.ndjson" }]
`;
  const cfg = await writeConfig(dir, base);
  const ok = await runCli(['validate', '--config', cfg], { env: { LOKI_URL: 'http://127.0.0.1:3100' } });
  t.equal(ok.code, 0);
  t.match(ok.stdout, 'environment override: a loki sink from LOKI_URL');
  t.match(ok.stdout, '2 sink(s)', 'the file sink of an explicit config stays');
  const bad = await runCli(['validate', '--config', cfg], { env: { LOKI_URL: 'not a url' } });
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'LOKI_URL');
  writeFileSync(cfg, base.replace('/tmp/x', '${NOT_SET_ANYWHERE_22}'));
  const unset = await runCli(['validate', '--config', cfg], { env: { NOT_SET_ANYWHERE_22: '' } });
  t.equal(unset.code, 2);
  t.match(unset.stderr, /NOT_SET_ANYWHERE_22.*not set and has no default/);
});
