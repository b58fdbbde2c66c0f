import t from 'tap';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { BulkBatchBuilder, BulkBody, BulkItems } from '../../../src/sinks/elasticsearch/bulk-batch.ts';
import { bulkAction, decodeBulkItem, parseBulkResponse } from '../../../src/sinks/elasticsearch/bulk.ts';
import { documentId } from '../../../src/sinks/elasticsearch/document.ts';
import { compileDataStreamName, compileIndexName } from '../../../src/sinks/elasticsearch/target.ts';
import { CountingAck, event } from './support.ts';

/** Items as the sink encodes them: action line, source line, each newline-terminated. */
function build(docs: Array<{ index: string; id?: string; source: string }>, size = 1 << 16): BulkBatchBuilder {
  const b = new BulkBatchBuilder(Buffer.alloc(size));
  for (const d of docs) b.append(bulkAction(d.index, d.id), d.source, new CountingAck());
  return b;
}

const DOCS = [
  { index: 'logs-a', id: 'id0', source: '{"message":"zero"}' },
  { index: 'logs-b', id: 'id1', source: '{"message":"één — ünïcödé 🚀"}' },
  { index: 'logs-a', source: '{"message":"two, no id"}' },
  { index: 'logs-c', id: 'id3', source: '{"message":"three"}' },
];

t.test('items are written back to back; each one is found by its end offset', async (t) => {
  const b = build(DOCS);
  t.equal(b.count, 4);
  t.equal(b.acks.length, 4);
  const items = b.items();
  const expected = DOCS.map((d) => bulkAction(d.index, d.id) + d.source + '\n');
  t.equal(items.bytes.subarray(0, b.length).toString('utf8'), expected.join(''), 'the NDJSON ES receives');
  t.equal(b.length, Buffer.byteLength(expected.join('')), 'length counts UTF-8 bytes, not characters');
  for (let i = 0; i < 4; i++) t.equal(items.item(i).toString('utf8'), expected[i], `item ${i}`);
  const back = decodeBulkItem(items.item(1));
  t.same(back, { index: 'logs-b', id: 'id1', source: DOCS[1].source }, 'index, id and source read back for the dead-letter file');
  t.equal(decodeBulkItem(items.item(2)).id, undefined, 'no _id when ES generates it');
});

t.test('fits() reports when the buffer is full; the ends array grows past its first size', async (t) => {
  const line = { index: 'i', id: 'x', source: '{"m":"' + 'y'.repeat(10) + '"}' };
  const one = Buffer.byteLength(bulkAction(line.index, line.id) + line.source + '\n');
  const b = new BulkBatchBuilder(Buffer.alloc(one * 3000));
  let refusedEarly = -1;
  for (let i = 0; i < 3000; i++) {
    if (!b.fits(one) && refusedEarly < 0) refusedEarly = i;
    b.append(bulkAction(line.index, line.id), line.source, new CountingAck());
  }
  t.equal(refusedEarly, -1, 'room for every item up to the capacity');
  t.notOk(b.fits(1), 'exactly full');
  t.equal(b.count, 3000);
  t.equal(b.items().ends[2999], one * 3000);
});

t.test('pick() copies exactly the chosen items, slice() views a range', async (t) => {
  const items = build(DOCS).items();
  const picked = items.pick([1, 3]);
  t.equal(picked.count, 2);
  t.equal(picked.bytes.toString('utf8'), items.item(1).toString('utf8') + items.item(3).toString('utf8'), 'the bytes of items 1 and 3, unchanged, in order');
  t.equal(picked.item(1).toString('utf8'), items.item(3).toString('utf8'));
  const tail = items.slice(2, 4);
  t.equal(tail.count, 2);
  t.equal(tail.item(0).toString('utf8'), items.item(2).toString('utf8'));
  t.equal(tail.bytes.toString('utf8'), items.item(2).toString('utf8') + items.item(3).toString('utf8'));
  const head = items.slice(0, 2).pick([1]);
  t.equal(head.bytes.toString('utf8'), items.item(1).toString('utf8'), 'pick of a slice');
});

t.test('a body is gzip of the NDJSON and gives the same items back; it does not alias the batch buffer', async (t) => {
  const b = build(DOCS);
  const plain = b.items().bytes.subarray(0, b.length).toString('utf8');
  const gz = await BulkBody.of(b.items(), 1);
  t.ok(gz.gzipped);
  t.equal(gz.rawBytes, b.length);
  t.equal(gunzipSync(gz.wire).toString('utf8'), plain, 'wire bytes are the gzip of the NDJSON');
  const plainBody = await BulkBody.of(b.items(), null);
  t.notOk(plainBody.gzipped);
  b.items().bytes.fill(0); // the batch buffer goes back to the pool and is overwritten
  t.equal(plainBody.wire.toString('utf8'), plain, 'an uncompressed body is a copy');
  const back = await gz.items();
  t.equal(back.count, 4);
  t.equal(back.item(3).toString('utf8'), bulkAction('logs-c', 'id3') + '{"message":"three"}\n');
  const retry = await BulkBody.of(back.pick([0, 2]), 1);
  t.equal(gunzipSync(retry.wire).toString('utf8'), bulkAction('logs-a', 'id0') + DOCS[0].source + '\n' + bulkAction('logs-a', undefined) + DOCS[2].source + '\n');
});

t.test('parseBulkResponse: "errors":false decides without reading items; anything else is parsed in full', async (t) => {
  t.same(parseBulkResponse('{"took":3,"errors":false,"items":[{"create":{"status":201}}]}', 1), { errors: false, items: null });
  t.same(parseBulkResponse(' { "errors" : false }', 5), { errors: false, items: null }, 'filter_path drops took');
  const nested = parseBulkResponse('{"items":[{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"errors\\":false"}}}],"errors":true}', 1);
  t.equal(nested.errors, true, 'a nested "errors":false is not the top-level flag');
  t.equal(nested.items![0].verdict, 'retry');
  const mixed = parseBulkResponse('{"took":1,"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}', 3);
  t.same(mixed.items!.map((i) => i.verdict), ['ok', 'duplicate', 'reject']);
  t.throws(() => parseBulkResponse('{"took":1,"errors":true,"items":[]}', 2), /0 items for 2 actions/);
  t.throws(() => parseBulkResponse('<html>bad gateway</html>', 2), /not JSON/);
});

t.test('document ids: one-shot SHA-1, identical to the createHash ids of earlier versions', async (t) => {
  const reference = (key: string | undefined, message: string, source: string) => {
    const h = createHash('sha1');
    if (key !== undefined) h.update(key).update('\n').update(message);
    else h.update(source);
    return h.digest().subarray(0, 16).toString('base64url');
  };
  const messages = ['one', '', 'a'.repeat(10_000), 'ünïcödé 🚀 — 日本語', 'line\nwith\nnewlines', '\u0000\ud800'];
  let n = 0;
  for (const m of messages) {
    for (const key of ['64:7@0', '2049:1234567@987654321', undefined]) {
      for (let salt = 0; salt < 40; salt++) {
        const e = event({ message: m + (salt ? String(salt) : '') }, key);
        const source = JSON.stringify({ message: e.record.message, salt });
        const id = documentId(e, source);
        if (id !== reference(key, e.record.message, source)) t.fail(`id of ${JSON.stringify(e.record.message.slice(0, 40))} @ ${key}`);
        n++;
      }
    }
  }
  t.pass(`${n} ids equal the reference`);
  t.equal(documentId(event({ message: 'one' }, '64:7@0'), ''), reference('64:7@0', 'one', ''), 'the id a restart computes again for the same bytes');
  t.match(documentId(event({ message: 'x' }, '1:1@0'), ''), /^[A-Za-z0-9_-]{22}$/);
});

t.test('index names are memoized by their inputs without mixing them up', async (t) => {
  const name = compileIndexName('logs-{service}-{labels.team}-%Y.%m.%d.%H');
  const cases: Array<[Parameters<typeof event>[0], Record<string, string>, string]> = [
    [{ service: 'ab' }, { team: '' }, 'logs-ab-unknown-2024.05.01.10'],
    [{ service: 'a' }, { team: 'b' }, 'logs-a-b-2024.05.01.10'],
    [{ service: 'a' }, { team: 'b', other: 'x' }, 'logs-a-b-2024.05.01.10'],
    [{ service: 'Pay Ment' }, { team: 'X' }, 'logs-pay_ment-x-2024.05.01.10'],
    [{ service: 'a', timestamp: '2024-05-01T11:00:00.000Z' }, { team: 'b' }, 'logs-a-b-2024.05.01.11'],
    [{ service: 'a', timestamp: '2024-05-01T12:30:00.000+02:00' }, { team: 'b' }, 'logs-a-b-2024.05.01.10'],
    [{ service: '1:a' }, { team: '' }, 'logs-1_a-unknown-2024.05.01.10'],
    [{ service: '' }, { team: '1:a' }, 'logs-unknown-1_a-2024.05.01.10'],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [rec, labels, want] of cases) t.equal(name(event(rec, undefined, labels)), want, `${JSON.stringify(rec)} ${JSON.stringify(labels)} (round ${round})`);
  }
  const ds = compileDataStreamName({ type: 'logs', dataset: '{service}', namespace: '{labels.env}' });
  t.equal(ds(event({ service: 'cf1-frontend' }, undefined, { env: 'prod' })), 'logs-cf1_frontend-prod');
  t.equal(ds(event({ service: 'cf1' }, undefined, { env: 'frontend-prod' })), 'logs-cf1-frontend_prod', 'same characters, other split: another name');
  t.equal(ds(event({ service: 'cf1-frontend' }, undefined, { env: 'prod' })), 'logs-cf1_frontend-prod');
});
