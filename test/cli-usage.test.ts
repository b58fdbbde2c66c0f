import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, graceForLateEvents, runCli, tempDir, waitFor, writeConfig } from './support/daemon.ts';
import { startLokiAndEs } from './servers/sink-servers.ts';
import { shippedSeqs, appendSeq } from './sources/cli-support.ts';

// Issue 22, item 5: a typo must not start the daemon on the default config (which tails /var/log).
t.test('unknown commands and flags exit 2 naming them with a suggestion; nothing starts', async (t) => {
  const cwd = tempDir();
  const cases: Array<[string[], RegExp]> = [
    [['run', '--confg', 'x.yaml'], /unknown flag "--confg" \(did you mean --config\?\)/],
    [['--confg', 'x.yaml'], /unknown flag "--confg" \(did you mean --config\?\)/],
    [['run', '--dry-rnu'], /unknown flag "--dry-rnu" \(did you mean --dry-run\?\)/],
    [['run', '--log-levl', 'debug'], /unknown flag "--log-levl" \(did you mean --log-level\?\)/],
    [['rnu'], /unknown command "rnu" \(did you mean run\?\)/],
    [['valdiate'], /unknown command "valdiate" \(did you mean validate\?\)/],
    [['validate', '--dry-run'], /validate does not take --dry-run/],
    [['run', '--config'], /--config needs a value/],
    [['run', '--dry-run=yes'], /--dry-run takes no value/],
    [['run', 'extra'], /unexpected argument "extra"/],
    [['-x'], /unknown flag "-x"/],
  ];
  for (const [args, msg] of cases) {
    const r = await runCli(args, { cwd, env: { LOGSHIP_LISTEN: '127.0.0.1:1' } });
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, msg, `${args.join(' ')}: names it`);
    t.equal(r.stdout, '', 'prints nothing on stdout');
    t.notMatch(r.stderr, /logship started/, 'nothing started');
  }
  t.notOk(existsSync(join(cwd, 'data')), 'the default config never ran: no data directory');
});

// Issue 22, item 4: a dry run writes nothing, so the real run that follows ships everything.
t.test('run --dry-run writes no positions, no dead letters, sends nothing to any sink; the real run then ships every line', async (t) => {
  const { loki, es } = await startLokiAndEs(t);
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  appendSeq(log, 0, 100);
  const port = await freePort();
  const data = join(dir, 'data');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${data}/positions.json", sync_interval: 100ms }
sources:
  - { name: app, paths: ["${log}"], start_at: beginning, parser: json }
sinks:
  - { type: file, path: "${data}/shipped.ndjson" }
  - { type: loki, url: "${loki.url}", batch: { max_wait: 100ms } }
  - { type: elasticsearch, url: "${es.url}", dead_letter_path: "${data}/dead.ndjson", batch: { max_wait: 100ms } }
`);
  const dry = new DaemonProcess(['run', '--dry-run', '--config', cfg]);
  t.teardown(() => dry.kill('SIGKILL'));
  await dry.waitHttp(port);
  await waitFor('the dry run prints every record', () => dry.stdout.split('\n').filter((l) => l.includes('"seq":')).length === 100);
  // three positions sync intervals: a wrongly made data directory would show up
  await graceForLateEvents(400);
  t.equal((await dry.kill('SIGTERM')).code, 0);
  t.notOk(existsSync(data), 'no positions, no output file, no dead-letter file: the data directory was never made');
  t.equal(loki.allEntries().length, 0, 'nothing pushed to Loki');
  t.equal(es.count('*'), 0, 'nothing indexed in Elasticsearch');
  t.equal(es.stats.bulkRequests, 0, 'not even a _bulk request');

  const real = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => real.kill('SIGKILL'));
  await real.waitHttp(port);
  await waitFor('the real run ships all 100 lines', () => shippedSeqs(join(data, 'shipped.ndjson')).counts.size === 100 && loki.allEntries().length === 100 && es.count('*') === 100);
  t.pass('the real run shipped every line to every sink');
  t.equal((await real.kill('SIGTERM')).code, 0);
});

// Issue 25: the equivalent of Promtail's -print-config-stderr.
t.test('validate --print-config prints the effective config as YAML (expanded, defaulted, overridden) with credentials masked', async (t) => {
  const dir = tempDir();
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'file-token-s3cret\n');
  const cfg = await writeConfig(dir, `
positions: { path: "${dir}/data/positions.json" }
sources:
  - { name: app, paths: ["\${APP_LOGS}/*.log"] }
sinks:
  - type: loki
    url: http://127.0.0.1:3100
    basic_auth: { username: shipper, password: "\${LOKI_PASSWORD}" }
    headers: { Authorization: "Bearer header-s3cret", X-Scope-OrgID: tenant-a }
  - { type: loki, url: http://127.0.0.1:3101, bearer_token_file: "${tokenFile}" }
  - { type: elasticsearch, url: http://127.0.0.1:9200, api_key: inline-s3cret }
`);
  const env = { APP_LOGS: '/srv/app', LOKI_PASSWORD: 'env-s3cret', LOGSHIP_LISTEN: '127.0.0.1:9999' };
  const r = await runCli(['validate', '--config', cfg, '--print-config'], { env });
  t.equal(r.code, 0, r.stderr);
  const { parse } = await import('yaml');
  const printed = parse(r.stdout) as Record<string, any>;
  t.same(printed.sources[0].paths, ['/srv/app/*.log'], '${VAR} expanded');
  t.equal(printed.sources[0].start_at, 'end', 'defaults filled in (a file source starts at the end by default)');
  t.equal(printed.positions.sync_interval, 1000, 'durations in milliseconds (positions.sync_interval defaults to 1s)');
  t.equal(printed.server.listen, '127.0.0.1:9999', 'the environment override applied');
  t.match(r.stderr, /environment override: server\.listen from LOGSHIP_LISTEN/, 'and named on stderr');
  t.same(printed.sinks[0].basic_auth, { username: 'shipper', password: '<secret>' }, 'password masked, username kept');
  t.same(printed.sinks[0].headers, { Authorization: '<secret>', 'X-Scope-OrgID': 'tenant-a' }, 'a credential header masked, the tenant kept');
  t.equal(printed.sinks[1].bearer_token_file, '<secret>', 'a *_file secret masked');
  t.equal(printed.sinks[2].api_key, '<secret>');
  t.notMatch(r.stdout, /s3cret/, 'no credential anywhere in the output');
  t.notMatch(r.stdout, /config ok/, 'stdout is the YAML alone');

  // The printed config is a config: validate accepts it back.
  const again = join(dir, 'printed.yaml');
  writeFileSync(again, r.stdout.replace(/bearer_token_file: <secret>/, `bearer_token_file: ${tokenFile}`));
  const back = await runCli(['validate', '--config', again], { env: {} });
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /config ok: 1 source\(s\), 0 stage\(s\), 3 sink\(s\)/);
});
