import t from 'tap';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { LokiTestServer } from '../../servers/loki-server.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';

/** The test server must behave like Loki's distributor, or the sink tests prove nothing. */

const PushRequest = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'servers', 'push.proto')).lookupType('logproto.PushRequest');

interface S {
  labels: string;
  entries: Array<{ sec: number; line: string; md?: Record<string, string> }>;
}

function body(streams: S[]): Buffer {
  return compressSync(Buffer.from(PushRequest.encode(PushRequest.fromObject({
    streams: streams.map((s) => ({ labels: s.labels, entries: s.entries.map((e) => ({ timestamp: { seconds: e.sec, nanos: 0 }, line: e.line, structuredMetadata: Object.entries(e.md ?? {}).map(([name, value]) => ({ name, value })) })) })),
  })).finish()));
}

async function push(server: LokiTestServer, streams: S[], headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body: body(streams) });
  return { status: r.status, text: await r.text() };
}

const now = () => Math.floor(Date.now() / 1000);

t.test('validation: 400 with Loki\'s messages, the valid streams of the request still stored', async (t) => {
  const s = new LokiTestServer({ limits: { maxLineSize: 100 } });
  await s.start();
  t.teardown(() => s.stop());
  const sixteen = `{${Array.from({ length: 16 }, (_, i) => `l${String(i).padStart(2, '0')}="v"`).join(', ')}}`;
  const r = await push(s, [
    { labels: '{job="ok"}', entries: [{ sec: now(), line: 'good' }, { sec: now() - 8 * 86400, line: 'old' }, { sec: now(), line: 'x'.repeat(101) }] },
    { labels: sixteen, entries: [{ sec: now(), line: 'a' }] },
    { labels: '{job="a", job="b"}', entries: [{ sec: now(), line: 'a' }] },
    { labels: '{job=ok}', entries: [{ sec: now(), line: 'a' }] },
    { labels: '{}', entries: [{ sec: now(), line: 'a' }] },
    { labels: '{job="x"}', entries: [{ sec: now() + 3600, line: 'future' }] },
  ]);
  t.equal(r.status, 400);
  t.match(r.text, /^7 errors: /);
  t.match(r.text, /entry for stream '\{job="ok"\}' has timestamp too old: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC, oldest acceptable timestamp is: /);
  t.match(r.text, /Max entry size '100' bytes exceeded for stream '\{job="ok"\}' while adding an entry with length '101' bytes/);
  t.match(r.text, /has 16 label names; limit 15/);
  t.match(r.text, /has duplicate label name: 'job'/);
  t.match(r.text, /Error parsing labels '\{job=ok\}' with error: /);
  t.match(r.text, /error at least one label pair is required per stream/);
  t.match(r.text, /has timestamp too new/);
  t.same(s.allEntries().map((e) => e.line), ['good']);
  t.same(s.rejected, { greater_than_max_sample_age: 1, line_too_long: 1, max_label_names_per_series: 1, duplicate_label_names: 1, invalid_labels: 1, missing_labels: 1, too_far_in_future: 1 });
});

t.test('structured metadata limits, duplicates, content encodings, JSON', async (t) => {
  const s = new LokiTestServer({ limits: { maxStructuredMetadataBytes: 20, maxStructuredMetadataEntries: 2 } });
  await s.start();
  t.teardown(() => s.stop());
  const r = await push(s, [{ labels: '{job="a"}', entries: [
    { sec: now(), line: 'ok', md: { trace_id: 'abc' } },
    { sec: now(), line: 'big', md: { trace_id: 'x'.repeat(30) } },
    { sec: now(), line: 'many', md: { a: '1', b: '2', c: '3' } },
  ] }]);
  t.equal(r.status, 400);
  t.match(r.text, /has structured metadata too large: '38' bytes, limit: '20' bytes/);
  t.match(r.text, /has too many structured metadata labels: '3', limit: '2'/);
  t.same(s.allEntries().map((e) => [e.line, e.metadata]), [['ok', { trace_id: 'abc' }]]);
  const again = await push(s, [{ labels: '{job="a"}', entries: [{ sec: now() - 1, line: 'ok2' }] }]);
  t.equal(again.status, 204);
  const ts = now() - 1;
  await push(s, [{ labels: '{job="dup"}', entries: [{ sec: ts, line: 'same' }, { sec: ts, line: 'same' }] }]);
  t.equal(s.duplicates, 1, 'exact duplicates are counted, stored once');
  const gz = await fetch(`${s.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: body([]) });
  t.equal(gz.status, 400);
  t.match(await gz.text(), /Content-Encoding "gzip" not supported/);
  const bad = await fetch(`${s.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from('not snappy at all') });
  t.equal(bad.status, 400);
  const json = await fetch(`${s.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'j' }, values: [[`${now()}000000001`, 'from json', { trace_id: 't' }]] }] }) });
  t.equal(json.status, 204);
  t.same(s.streams().find((x) => x.labels === '{job="j"}')?.entries[0].metadata, { trace_id: 't' });
});

t.test('rate limit (429 with Loki\'s message, nothing stored), stream limit, failure injection, journal replay', async (t) => {
  const journal = join(tempDir(), 'journal.ndjson');
  const s = new LokiTestServer({ limits: { ingestionRateBytes: 1000, ingestionBurstBytes: 1500, maxStreamsPerTenant: 2 }, journalPath: journal });
  await s.start();
  t.teardown(() => s.stop());
  t.equal((await push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'x'.repeat(1000) }] }])).status, 204);
  const limited = await push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'y'.repeat(1000) }] }], { 'x-scope-orgid': 'fake' });
  t.equal(limited.status, 429);
  t.match(limited.text, /Ingestion rate limit exceeded for user fake \(limit: 1000 bytes\/sec\) while attempting to ingest '1' lines totaling '1000' bytes/);
  t.equal(s.entries, 1);
  s.setLimits({ ingestionRateBytes: 0 });
  const streams = await push(s, [{ labels: '{job="b"}', entries: [{ sec: now(), line: 'b' }] }, { labels: '{job="c"}', entries: [{ sec: now(), line: 'c' }] }]);
  t.equal(streams.status, 429);
  t.match(streams.text, /Maximum active stream limit exceeded when trying to create stream \{job="c"\}/);
  t.equal(s.streams().length, 2, 'the stream under the limit was stored');

  s.fail({ mode: 'status', status: 503, times: 1 });
  t.equal((await push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'z' }] }])).status, 503);
  s.fail({ mode: 'drop', times: 1 });
  await t.rejects(push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'z' }] }]));
  s.fail({ mode: 'hang', forMs: 10_000 });
  const hung = push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'z' }] }]);
  await waitFor('the push hanging', () => s.hanging === 1);
  s.clearFailure();
  await t.rejects(hung, 'a hung request never gets an answer (its socket is destroyed when the failure is cleared)');
  t.equal((await push(s, [{ labels: '{job="a"}', entries: [{ sec: now(), line: 'z' }] }])).status, 204);
  s.fail({ mode: 'store-then-drop', times: 1 });
  const before = s.entries;
  await t.rejects(push(s, [{ labels: '{job="a"}', entries: [{ sec: now() - 5, line: 'stored, answer lost' }] }]));
  t.equal(s.entries, before + 1, 'store-then-drop stored the entry and dropped the answer');
  await s.stop();
  const replayed = new LokiTestServer({ journalPath: journal });
  t.equal(replayed.entries, s.entries);
  t.same(replayed.allEntries().map((e) => e.line), s.allEntries().map((e) => e.line));
});

t.test('summary store (the benchmark\'s): duplicates within a push and across pushes are counted once, bytes from the validated lines', async (t) => {
  const s = new LokiTestServer({ store: 'summary' });
  await s.start();
  t.teardown(() => s.stop());
  const ts = now() - 5;
  t.equal((await push(s, [{ labels: '{job="a"}', entries: [{ sec: ts, line: 'é one' }, { sec: ts, line: 'é one' }, { sec: ts, line: 'two' }] }])).status, 204);
  t.equal((await push(s, [{ labels: '{job="a"}', entries: [{ sec: ts, line: 'two' }, { sec: ts, line: 'three' }] }, { labels: '{job="b"}', entries: [{ sec: ts, line: 'two' }] }])).status, 204);
  t.equal(s.entries, 4, "one, two, three in job a; two in job b (another stream)");
  t.equal(s.duplicates, 2);
  t.equal(s.bytes, Buffer.byteLength('é one') + 3 + 5 + 3, 'UTF-8 bytes');
});
