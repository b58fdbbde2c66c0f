import t from 'tap';
import { Batcher, BatchQueue } from '../../src/sinks/batcher.ts';
import type { Ack } from '../../src/record.ts';
import { sleep } from '../support/daemon.ts';

class CountingAck implements Ack {
  released = 0;
  retain(): void {}
  release(): void {
    this.released++;
  }
  absorb(o: Ack): void {
    o.release();
  }
}

/** A batch of the sink's own shape: here, the sizes appended and a log of what happened to it. */
interface TestBatch {
  id: number;
  sizes: number[];
  sealed: number;
  settled: number;
}

function queue(opts: { maxBytes?: number; maxWait?: number; maxInflight?: number; send?: (b: TestBatch) => Promise<void> } = {}) {
  let next = 0;
  const sent: TestBatch[] = [];
  const bugs: unknown[] = [];
  const q = new BatchQueue<TestBatch>({
    maxBytes: opts.maxBytes ?? 100,
    maxWait: opts.maxWait ?? 10_000,
    maxInflight: opts.maxInflight ?? 2,
    open: () => ({ id: next++, sizes: [], sealed: 0, settled: 0 }),
    seal: (b) => void b.sealed++,
    send: async (b) => {
      sent.push(b);
      await opts.send?.(b);
    },
    settle: (b) => void b.settled++,
    onBug: (err) => void bugs.push(err),
  });
  const add = (size: number) => {
    q.reserve(size).sizes.push(size);
    q.added(size);
  };
  return { q, add, sent, bugs };
}

t.test('cuts by bytes: an item that would overflow starts the next batch; a full batch closes at once', async (t) => {
  const { q, add, sent } = queue({ maxBytes: 100, maxInflight: 10 });
  add(40);
  add(40);
  add(40); // 120 > 100: the first batch closes with two items
  t.same(sent.map((b) => b.sizes), [[40, 40]]);
  add(60); // 100: full, closes now
  t.same(sent.map((b) => b.sizes), [[40, 40], [40, 60]]);
  add(500); // alone over the limit: still one batch of one
  t.same(sent.map((b) => b.sizes), [[40, 40], [40, 60], [500]]);
  await q.drain(Date.now() + 1000);
  t.ok(sent.every((b) => b.sealed === 1 && b.settled === 1), 'each batch sealed once and settled once after its send');
  t.equal(q.queued, 0);
});

t.test('cuts by age: a batch closes maxWait after its first item', async (t) => {
  const { q, add, sent } = queue({ maxBytes: 1000, maxWait: 80 });
  add(10);
  await sleep(30);
  add(10);
  t.equal(sent.length, 0);
  t.equal(q.queued, 2);
  await sleep(120);
  t.same(sent.map((b) => b.sizes), [[10, 10]]);
});

t.test('at most maxInflight sends; the rest wait sealed, in order; settle only after send resolved', async (t) => {
  const gates: Array<() => void> = [];
  const { q, add, sent } = queue({ maxBytes: 10, maxInflight: 2, send: () => new Promise<void>((r) => gates.push(r)) });
  for (let i = 0; i < 5; i++) add(10);
  t.equal(sent.length, 2, 'two sending');
  t.equal(q.inflightRequests, 2);
  t.equal(q.queued, 5);
  gates.shift()!();
  await sleep(10);
  t.equal(sent[0].settled, 1);
  t.equal(sent[1].settled, 0);
  t.equal(sent.length, 3, 'the next waiting batch started');
  t.same(sent.map((b) => b.id), [0, 1, 2]);
  t.equal(q.queued, 4);
  while (gates.length > 0 || sent.length < 5) {
    gates.shift()?.();
    await sleep(5);
  }
  t.ok(await q.drain(Date.now() + 1000));
  t.equal(q.queued, 0);
});

t.test('a send that rejects is reported and retried; nothing is settled until it succeeds', async (t) => {
  let calls = 0;
  const { q, add, sent, bugs } = queue({ maxBytes: 10, send: async () => {
    if (++calls === 1) throw new Error('boom');
  } });
  add(10);
  await sleep(20);
  t.equal(bugs.length, 1);
  t.equal(sent[0].settled, 0);
  t.ok(await q.drain(Date.now() + 3000));
  t.equal(calls, 2);
  t.equal(sent[0].settled, 1);
});

t.test('drain returns false at the deadline while a send hangs', async (t) => {
  const { q, add } = queue({ maxBytes: 1000, send: () => new Promise<void>(() => {}) });
  add(1);
  const t0 = Date.now();
  t.equal(await q.drain(Date.now() + 100), false);
  t.ok(Date.now() - t0 < 1000);
});

t.test('Batcher: arrays of events, each ack released once after its batch was sent', async (t) => {
  const batches: number[] = [];
  const b = new Batcher<{ ack: CountingAck; n: number }>({
    maxBytes: 3, maxWait: 50, maxInflight: 1, sizeOf: () => 1,
    send: async (events, bytes) => void batches.push(bytes),
    onBug: () => {},
  });
  const events = Array.from({ length: 7 }, (_, n) => ({ ack: new CountingAck(), n }));
  for (const e of events) b.add(e);
  t.ok(await b.drain(Date.now() + 1000));
  t.same(batches, [3, 3, 1]);
  t.ok(events.every((e) => e.ack.released === 1));
  t.equal(b.queued, 0);
});
