import t from 'tap';
import { ByteBudget, heldStringBytes } from '../../src/core/budget.ts';

t.test('waiting for room: every waiter shares one promise, resolved when room frees', async (t) => {
  const budget = new ByteBudget(100);
  budget.acquire(100);
  const a = budget.waitForRoom();
  const b = budget.waitForRoom();
  // A reader that times out and waits again (a paused tailer, once a second) adds no waiter.
  t.equal(a, b, 'the same promise');
  let resolved = false;
  void a.then(() => (resolved = true));
  budget.release(1);
  await a;
  t.ok(resolved);
  t.not(budget.waitForRoom(), a, 'with room, a fresh resolved promise');
});

t.test('read buffers are charged while held and while kept for reuse, up to an eighth of the limit', async (t) => {
  const budget = new ByteBudget(8 * 1024);
  const a = budget.takeReadBuffer(512);
  const b = budget.takeReadBuffer(512);
  t.equal(budget.inUse, 1024, 'two buffers held');
  budget.giveBackReadBuffer(a);
  t.equal(budget.inUse, 1024, 'a kept buffer stays charged: it is memory held');
  budget.giveBackReadBuffer(b);
  // 8 KiB / 8 = 1 KiB kept at most: the second 512-byte buffer fits, a third would not.
  t.equal(budget.inUse, 1024);
  const c = budget.takeReadBuffer(512);
  t.ok(c === a || c === b, 'a kept buffer is reused, not allocated');
  t.equal(budget.inUse, 1024, 'reuse charges nothing new');
  const d = budget.takeReadBuffer(512);
  const e = budget.takeReadBuffer(512);
  t.equal(budget.inUse, 1536);
  budget.giveBackReadBuffer(c);
  budget.giveBackReadBuffer(d);
  budget.giveBackReadBuffer(e);
  t.equal(budget.inUse, 1024, 'the one beyond the cap is let go and released');
});

t.test('a read buffer of another size is allocated, not taken from the kept ones', async (t) => {
  const budget = new ByteBudget(1 << 20);
  const a = budget.takeReadBuffer(1024);
  budget.giveBackReadBuffer(a);
  const b = budget.takeReadBuffer(2048);
  t.not(b, a);
  t.equal(b.length, 2048);
  t.equal(budget.inUse, 3072);
});

t.test('heldStringBytes: one byte per character while every character is Latin-1, two once one is not', async (t) => {
  t.equal(heldStringBytes('plain ascii'), 11);
  t.equal(heldStringBytes('caf\u00e9 \u00ff'), 6, 'é and ÿ are Latin-1 (U+00E9, U+00FF): still one byte each');
  t.equal(heldStringBytes('caf\u00e9 \u20ac'), 12, 'one € (U+20AC) makes all six characters two bytes');
  t.equal(heldStringBytes('\u{1F600}'), 4, 'an emoji is two UTF-16 units');
  t.equal(heldStringBytes(''), 0);
});
