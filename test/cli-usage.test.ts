import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, graceForLateEvents, runCli, tempDir, waitFor, writeConfig } from './support/daemon.ts';
import { LokiTestServer } from './servers/loki-server.ts';
import { EsServer } from './servers/es-server.ts';
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
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const es = new EsServer({ storeSource: true });
  await es.start();
  t.teardown(() => es.stop());
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
