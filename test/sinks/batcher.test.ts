import t from 'tap';
import { Batcher, BatchQueue } from '../../src/sinks/batcher.ts';
import type { Ack } from '../../src/core/record.ts';
import { ManualClock, microtasksSettled } from '../support/manual-clock.ts';

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

/** A queue on a manual clock: its batch-age timer and retry pause fire only in clock.advance(). */
function queue(opts: { maxBytes?: number; maxWait?: number; maxInflight?: number; send?: (b: TestBatch) => Promise<void> } = {}) {
  const clock = new ManualClock();
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
    timers: clock,
  });
  const add = (size: number) => {
    q.reserve(size).sizes.push(size);
    q.added(size);
  };
  return { q, add, sent, bugs, clock };
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
  t.ok(await q.drain(Date.now() + 1000), 'drained');
  t.ok(sent.every((b) => b.sealed === 1 && b.settled === 1), 'each batch sealed once and settled once after its send');
  t.equal(q.queued, 0);
});

t.test('cuts by age: a batch closes maxWait after its first item', async (t) => {
  const { q, add, sent, clock } = queue({ maxBytes: 1000, maxWait: 80 });
  add(10);
  clock.advance(30);
  add(10); // does not restart the age
  t.equal(sent.length, 0);
  t.equal(q.queued, 2);
  clock.advance(49);
  t.equal(sent.length, 0, 'still open 1 ms before maxWait');
  clock.advance(1);
  t.same(sent.map((b) => b.sizes), [[10, 10]], 'closed at maxWait after the first item');
  add(10);
  t.equal(sent.length, 1, 'the next item opens a new batch');
  clock.advance(80);
  t.same(sent.map((b) => b.sizes), [[10, 10], [10]], 'with its own age');
  t.equal(clock.timers, 0, 'no timer left armed');
});

t.test('at most maxInflight sends; the rest wait sealed, in order; settle only after send resolved', async (t) => {
  const gates: Array<() => void> = [];
  const { q, add, sent } = queue({ maxBytes: 10, maxInflight: 2, send: () => new Promise<void>((r) => gates.push(r)) });
  for (let i = 0; i < 5; i++) add(10);
  t.equal(sent.length, 2, 'two sending');
  t.equal(q.inflightRequests, 2);
  t.equal(q.queued, 5);
  gates.shift()!();
  await microtasksSettled();
  t.equal(sent[0].settled, 1);
  t.equal(sent[1].settled, 0);
  t.equal(sent.length, 3, 'the next waiting batch started');
  t.same(sent.map((b) => b.id), [0, 1, 2]);
  t.equal(q.queued, 4);
  while (gates.length > 0) {
    gates.shift()!();
    await microtasksSettled();
  }
  t.equal(sent.length, 5, 'every batch sent, each after a slot freed');
  t.ok(await q.drain(Date.now() + 1000));
  t.equal(q.queued, 0);
});

t.test('a send that rejects is reported and retried; nothing is settled until it succeeds', async (t) => {
  let calls = 0;
  const { q, add, sent, bugs, clock } = queue({ maxBytes: 10, send: async () => {
    if (++calls === 1) throw new Error('boom');
  } });
  add(10);
  await microtasksSettled();
  t.equal(bugs.length, 1);
  t.equal(calls, 1);
  t.equal(sent[0].settled, 0);
  clock.advance(999);
  await microtasksSettled();
  t.equal(calls, 1, 'no retry before the pause ends');
  clock.advance(1);
  await microtasksSettled();
  t.equal(calls, 2, 'retried after the pause');
  t.equal(sent[0].settled, 1);
  t.ok(await q.drain(Date.now() + 3000));
  t.equal(q.queued, 0);
});

t.test('drain returns false at the deadline while a send hangs', async (t) => {
  const { q, add } = queue({ maxBytes: 1000, send: () => new Promise<void>(() => {}) });
  add(1);
  // The deadline is wall-clock time (the caller's shutdown deadline); how late a loaded machine
  // lets drain return is not asserted, and a drain that never returned would hit tap's timeout.
  t.equal(await q.drain(Date.now() + 100), false);
  t.equal(q.queued, 1, 'the hung batch stays queued (not settled)');
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
