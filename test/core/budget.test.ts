import t from 'tap';
import { ByteBudget, heldStringBytes } from '../../src/core/budget.ts';
import { waitFor } from '../support/daemon.ts';

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

t.test('queued waiters (onRoom) are woken oldest first, about one per 256 KiB of free room, not all at once', async (t) => {
  const MiB = 1024 * 1024;
  const budget = new ByteBudget(4 * MiB);
  budget.acquire(4 * MiB);
  const woken: number[] = [];
  const waiters = Array.from({ length: 20 }, (_, i) => () => void woken.push(i));
  for (const w of waiters) budget.onRoom(w);
  budget.onRoom(waiters[0]);
  budget.release(MiB);
  t.same(woken, [0, 1, 2, 3], '1 MiB free wakes the four oldest; asking twice queued the first once');
  budget.release(MiB);
  t.same(woken.slice(4), [4, 5, 6, 7, 8, 9, 10, 11], '2 MiB free wakes the next eight');
  let now = false;
  budget.onRoom(() => (now = true));
  t.ok(now, 'with room, onRoom calls at once');
});

t.test('a queued waiter taken out (cancelRoom) is not woken; room left after the woken ones wakes the rest by timer', async (t) => {
  const budget = new ByteBudget(100);
  budget.acquire(100);
  const woken: string[] = [];
  const a = () => void woken.push('a');
  const b = () => void woken.push('b');
  const c = () => void woken.push('c');
  const d = () => void woken.push('d');
  for (const w of [a, b, c, d]) budget.onRoom(w);
  budget.cancelRoom(b);
  // 100 bytes free: one waiter per release; the ones woken take nothing, and no release follows.
  budget.release(100);
  t.same(woken, ['a']);
  await waitFor('the rest woken while the room stayed free', () => woken.length === 3);
  t.same(woken, ['a', 'c', 'd'], 'oldest first, the cancelled one never');
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
