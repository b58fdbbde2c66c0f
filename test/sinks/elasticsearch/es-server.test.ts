import t from 'tap';
import { gzipSync } from 'node:zlib';
import { EsServer, filterPath } from '../../servers/es-server.ts';

/** The test server must refuse what Elasticsearch refuses, with ES's shapes, or sink tests prove nothing. */

async function bulk(es: EsServer, body: string | Buffer, headers: Record<string, string> = {}, path = '/_bulk'): Promise<{ status: number; body: any }> {
  const res = await fetch(es.url + path, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

t.test('bulk NDJSON parsing follows BulkRequestParser', async (t) => {
  const es = new EsServer();
  await es.start();
  t.teardown(() => es.stop());

  let r = await bulk(es, '{"create":{"_index":"a","_id":"1"}}\n{"x":1}');
  t.equal(r.status, 400, 'missing final newline');
  t.equal(r.body.error.type, 'illegal_argument_exception');
  t.equal(r.body.error.reason, 'The bulk request must be terminated by a newline [\\n]');
  t.equal(r.body.status, 400);
  t.equal(es.count(), 0, 'nothing indexed from a refused request');

  r = await bulk(es, '{"upsert":{"_index":"a"}}\n{"x":1}\n');
  t.equal(r.status, 400);
  t.equal(r.body.error.reason, 'Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]');

  r = await bulk(es, '["create"]\n{"x":1}\n');
  t.equal(r.body.error.reason, 'Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]');

  r = await bulk(es, '{"create":{"_index":"a","colour":"red"}}\n{"x":1}\n');
  t.equal(r.body.error.reason, 'Action/metadata line [1] contains an unknown parameter [colour]');

  r = await bulk(es, '{"create":{}}\n{"x":1}\n');
  t.equal(r.body.error.type, 'action_request_validation_exception');
  t.match(r.body.error.reason, /index is missing/);

  r = await bulk(es, '{"create":{}}\n{"x":1}\n', {}, '/dflt/_bulk');
  t.equal(r.status, 200, 'the path index is the default');
  t.equal(es.count('dflt'), 1);

  r = await bulk(es, '{"create":{"_index":"a","_id":"1"}}\n"just a string"\n{"create":{"_index":"a","_id":"2"}}\n[1,2]\n{"create":{"_index":"a","_id":"3"}}\n{"ok":true}\n');
  t.equal(r.status, 200, 'source lines are judged per item');
  t.equal(r.body.errors, true);
  t.same(r.body.items.map((i: any) => i.create.status), [400, 400, 201]);
  t.equal(r.body.items[0].create.error.type, 'mapper_parsing_exception');
  t.match(r.body.items[1].create.error.caused_by.reason, /must start with an object/);
  t.equal(typeof r.body.took, 'number');

  r = await bulk(es, '{"index":{"_index":"a"}}\n{"x":1}\n', { 'content-type': 'text/plain' });
  t.equal(r.status, 406, 'content type is checked');
});

t.test('create semantics, gzip, filter_path, invalid index names', async (t) => {
  const es = new EsServer();
  await es.start();
  t.teardown(() => es.stop());
  const body = '{"create":{"_index":"logs1","_id":"a"}}\n{"m":"x"}\n{"create":{"_index":"logs1","_id":"a"}}\n{"m":"y"}\n{"create":{"_index":"Bad Name","_id":"b"}}\n{"m":"z"}\n';
  const r = await bulk(es, gzipSync(body), { 'content-encoding': 'gzip' }, '/_bulk?filter_path=errors,items.*.status,items.*.error.type');
  t.equal(r.status, 200);
  t.same(r.body, { errors: true, items: [{ create: { status: 201 } }, { create: { status: 409, error: { type: 'version_conflict_engine_exception' } } }, { create: { status: 400, error: { type: 'invalid_index_name_exception' } } }] });
  t.equal(es.stats.gzipRequests, 1);
  t.equal(es.count(), 1);
  t.same(es.docs()[0]._source, { m: 'x' }, 'the first create wins');
  t.same(filterPath({ a: 1, b: { c: 2, d: 3 } }, 'b.c'), { b: { c: 2 } });
});

t.test('mappings from templates are enforced; data streams accept only create', async (t) => {
  const es = new EsServer();
  await es.start();
  t.teardown(() => es.stop());
  const put = async (path: string, body: unknown) => (await fetch(es.url + path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  t.equal(await put('/_index_template/x', { index_patterns: ['m-*'], composed_of: ['missing'] }), 400, 'component templates must exist');
  t.equal(await put('/_component_template/c', { template: { mappings: { properties: { n: { type: 'long' }, ok: { type: 'boolean' }, meta: { type: 'flattened' } } } } }), 200);
  t.equal(await put('/_index_template/x', { index_patterns: ['m-*'], priority: 10, composed_of: ['c'] }), 200);
  const r = await bulk(es, [
    '{"create":{"_index":"m-1","_id":"1"}}', '{"n":"42","meta":{"a":{"b":1},"c":"d"}}',
    '{"create":{"_index":"m-1","_id":"2"}}', '{"n":"forty-two"}',
    '{"create":{"_index":"m-1","_id":"3"}}', '{"n":{"x":1}}',
    '{"create":{"_index":"m-1","_id":"4"}}', '{"ok":"maybe"}',
    '{"create":{"_index":"m-1","_id":"5"}}', '{"s":"text"}',
    '{"create":{"_index":"m-1","_id":"6"}}', '{"s":{"nested":1}}',
    '{"create":{"_index":"m-1","_id":"7"}}', '{"o":{"a":1}}',
    '{"create":{"_index":"m-1","_id":"8"}}', '{"o":"scalar"}',
  ].join('\n') + '\n');
  const st = r.body.items.map((i: any) => i.create.status);
  t.same(st, [201, 400, 400, 400, 201, 400, 201, 400]);
  t.equal(r.body.items[1].create.error.type, 'mapper_parsing_exception');
  t.match(r.body.items[1].create.error.reason, /failed to parse field \[n\] of type \[long\]/);
  t.match(r.body.items[5].create.error.reason, /failed to parse field \[s\] of type \[text\]/);
  t.match(r.body.items[7].create.error.reason, /object mapping for \[o\] tried to parse field \[o\] as object, but found a concrete value/);
  t.equal(es.mapping('m-1')!.properties.s.type, 'text', 'dynamic mapping of a new string field');

  const ds = await bulk(es, '{"index":{"_index":"logs-app-default"}}\n{"@timestamp":"2024-01-01T00:00:00Z"}\n{"create":{"_index":"logs-app-default"}}\n{"@timestamp":"2024-01-01T00:00:00Z"}\n{"create":{"_index":"logs-app-default"}}\n{"no":"timestamp"}\n');
  t.same(ds.body.items.map((i: any) => Object.values(i)[0] as any).map((i: any) => i.status), [400, 201, 400]);
  t.equal(ds.body.items[0].index.error.reason, 'only write ops with an op_type of create are allowed in data streams');
  t.match(ds.body.items[1].create._index, /^\.ds-logs-app-default-/);
});

t.test('fault injection', async (t) => {
  const es = new EsServer({ maxContentLength: 200 });
  await es.start();
  t.teardown(() => es.stop());
  es.failRequests(503, { count: 1 });
  let r = await bulk(es, '{"create":{"_index":"a"}}\n{}\n');
  t.equal(r.status, 503);
  t.equal(r.body.error.type, 'unavailable_shards_exception');
  r = await bulk(es, '{"create":{"_index":"a"}}\n{"big":"' + 'x'.repeat(300) + '"}\n');
  t.equal(r.status, 413);
  es.failItems(429, 1);
  r = await bulk(es, '{"create":{"_index":"a"}}\n{}\n');
  t.equal(r.body.items[0].create.status, 429);
  t.equal(r.body.items[0].create.error.type, 'es_rejected_execution_exception');
  es.clearFaults();
  r = await bulk(es, '{"create":{"_index":"a"}}\n{}\n');
  t.equal(r.body.items[0].create.status, 201);
});

t.test("field names that are Object.prototype's members are ordinary fields, as in ES (the poison-lines stall)", async (t) => {
  const es = new EsServer();
  await es.start();
  t.teardown(() => es.stop());
  // The record of poison-lines' hostile line `{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},...}`
  // as the ES sink sends it: the keys are own fields of metadata (JSON.parse makes them so).
  const hostile = '{"@timestamp":"2026-01-01T00:00:00.000Z","message":"proto","metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"toString":1}}';
  let r = await bulk(es, `{"create":{"_index":"logs-a","_id":"1"}}\n${hostile}\n{"create":{"_index":"logs-a","_id":"2"}}\n{"message":"after"}\n`);
  t.equal(r.status, 200, 'the request is answered (it was a 500: Maximum call stack size exceeded)');
  t.same(r.body.items.map((i: any) => i.create.status), [201, 201]);
  t.equal(({} as Record<string, unknown>).properties, undefined, 'Object.prototype is not written to');
  r = await bulk(es, '{"create":{"_index":"logs-b","_id":"3"}}\n{"message":"later"}\n');
  t.equal(r.status, 200, 'a later request to another index still works');
  const meta = es.mapping('logs-a')!.properties.metadata.properties!;
  t.ok(Object.hasOwn(meta, '__proto__') && Object.hasOwn(meta, 'constructor') && Object.hasOwn(meta, 'toString'), 'mapped as own fields');
  t.equal(meta['toString' as string].type, 'long');
  r = await bulk(es, '{"create":{"_index":"logs-a","_id":"4"}}\n{"metadata":{"toString":"not a number"}}\n{"create":{"_index":"logs-a","_id":"5"}}\n{"metadata":{"__proto__":{"polluted":"yes"}}}\n');
  t.same(r.body.items.map((i: any) => i.create.status), [400, 400], 'and enforced like any field: a string into the long, a string into the boolean');
  t.equal(r.body.items[0].create.error.type, 'mapper_parsing_exception');
  t.equal(es.docs('logs-a').find((d) => d._id === '1')?._source.message, 'proto');
});
