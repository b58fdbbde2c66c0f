import t from 'tap';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, runCli, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';
import { EsServer } from '../../servers/es-server.ts';

function esConfig(dir: string, port: number, esUrl: string, sinkExtra = ''): string {
  return `
server: { listen: "127.0.0.1:${port}", ready_max_failing: 1m }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning }
sinks:
  - { type: elasticsearch, url: "${esUrl}", dead_letter_path: "${dir}/data/dead.ndjson", batch: { max_wait: 100ms }, retry: { min_backoff: 50ms, max_backoff: 500ms }${sinkExtra} }
`;
}

t.test('es-template prints the component + index template with the runbook mappings', async (t) => {
  const r = await runCli(['es-template']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { component_templates: Record<string, any>; index_templates: Record<string, any> };
  const comp = out.component_templates['logship-mappings'];
  const props = comp.template.mappings.properties;
  t.equal(props.response_time.type, 'double', 'response_time is numeric: response_time:>5000 is a range query');
  t.equal(props.level.type, 'keyword', 'level is a keyword: level:ERROR is an exact match');
  t.equal(props.service.type, 'keyword');
  t.equal(props.message.type, 'text', 'message is full text: phrase queries work');
  t.equal(props['@timestamp'].type, 'date');
  t.equal(props.duration.type, 'double');
  t.equal(props.http.properties.response_time.type, 'double');
  t.equal(props.metadata.type, 'flattened', 'metadata is one flattened field: no mapping explosion');
  const idx = out.index_templates.logship;
  t.same(idx.index_patterns, ['logstash-*']);
  t.same(idx.composed_of, ['logship-mappings']);
  t.notOk('data_stream' in idx);
  t.ok(idx.priority > 100);

  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources: [{ name: app, paths: ["/tmp/x/*.log"] }]
sinks:
  - { type: file, path: /tmp/x.ndjson }
  - { type: elasticsearch, name: ds, url: "http://127.0.0.1:9200", mode: data_stream, data_stream: { namespace: prod }, schema: ecs }
`);
  const ds = await runCli(['es-template', '--config', cfg, '--sink', 'ds', '--format', 'console']);
  t.equal(ds.code, 0, ds.stderr);
  t.match(ds.stdout, /^PUT _component_template\/logship-mappings\n\{/);
  const indexBody = JSON.parse(ds.stdout.slice(ds.stdout.indexOf('PUT _index_template/logship\n') + 'PUT _index_template/logship\n'.length));
  t.same(indexBody.index_patterns, ['logs-*-prod']);
  t.same(indexBody.data_stream, {}, 'data streams need data_stream: {}');
  t.equal((await runCli(['es-template', '--config', cfg, '--sink', 'nope'])).code, 2);
});

t.test('manage_template installs once (idempotent); stored documents have numeric response_time and keyword level', async (t) => {
  const es = new EsServer();
  await es.start();
  t.teardown(() => es.stop());
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const cfg = await writeConfig(dir, esConfig(dir, port, es.url, ', manage_template: true, index: "logstash-{service}-%Y.%m.%d"'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, [
    '{"timestamp":"2024-05-01T10:00:00.000Z","level":"error","service":"pafar","message":"authentication failed","response_time":6001,"method":"POST","status":401}',
    '{"timestamp":"2024-05-01T10:00:01.000Z","level":"info","service":"pafar","message":"ok","response_time":"12","status":200}',
    '10.1.2.3 - - [01/May/2024:10:00:02 +0000] "GET /api/v1/orders HTTP/1.1" 200 123 "-" "curl/8.5.0" 0.512 0.500',
  ].join('\n') + '\n');
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('3 documents', () => es.count() === 3, 20_000);
  t.equal(es.stats.templatePuts, 2, 'component + index template installed');
  t.ok(es.indexTemplates.get('logship'), 'index template present');
  const docs = es.docs('logstash-pafar-*');
  t.ok(docs.length >= 2, 'the runbook index pattern logstash-pafar-* matches');
  const m = es.mapping('logstash-pafar-2024.05.01')!;
  t.equal(m.properties.response_time.type, 'double', 'index created from the template');
  t.equal(m.properties.level.type, 'keyword');
  t.equal(m.properties.metadata?.type ?? 'flattened', 'flattened');
  const err = docs.find((x) => x._source.message === 'authentication failed')!;
  t.equal(err._source.level, 'ERROR', 'level:ERROR matches exactly');
  t.equal(typeof err._source.response_time, 'number', 'response_time stored as a number');
  t.ok((err._source.response_time as number) > 5000, 'response_time:>5000 finds it');
  const nginx = es.docs().find((x) => String(x._source.message).startsWith('10.1.2.3'))!;
  t.equal(nginx._source.response_time, 512, 'nginx request_time seconds → response_time ms');
  t.equal((await d.kill('SIGTERM')).code, 0);

  // Restart: the templates are already there and identical → no PUT.
  const d2 = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d2.kill('SIGKILL'));
  await d2.waitHttp(port);
  appendFileSync(log, '{"timestamp":"2024-05-01T10:00:03.000Z","level":"warn","service":"pafar","message":"after restart"}\n');
  await waitFor('4 documents', () => es.count() === 4, 20_000);
  t.equal(es.stats.templatePuts, 2, 'no second install');
  t.equal(es.stats.conflicts, 0);
  t.equal((await d2.kill('SIGTERM')).code, 0);
});

t.test('rejected credentials fail /ready with the reason; lines wait', async (t) => {
  const es = new EsServer({ authorization: 'ApiKey right' });
  await es.start();
  t.teardown(() => es.stop());
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'a.log'), '{"level":"info","message":"held"}\n');
  writeFileSync(join(dir, 'key'), 'wrong\n');
  const port = await freePort();
  const cfg = await writeConfig(dir, esConfig(dir, port, es.url, `, api_key_file: "${dir}/key"`));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const ready = await waitFor('/ready 503', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/ready`);
    return r.status === 503 ? await r.text() : null;
  });
  t.match(ready, /credentials rejected/);
  const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as { sinks: Array<{ state: string; queued: number }> };
  t.equal(status.sinks[0].state, 'auth_error');
  t.equal(status.sinks[0].queued, 1);
  t.equal(es.count(), 0);
});
