import t from 'tap';
import { IdleWatch } from '../src/idle-watch.ts';

/** The watch's timer does not keep the process alive (by design): the test keeps it alive meanwhile. */
t.beforeEach((t) => {
  const keep = setInterval(() => {}, 1_000_000);
  t.teardown(() => clearInterval(keep));
});

/** A busy-share reader that answers from a script, then idle; counts its calls. */
function scripted(shares: number[]): { read: () => number; calls: () => number } {
  let n = 0;
  return { read: () => shares[n++] ?? 0, calls: () => n };
}

t.test('runs once, at the end of the first interval at or under the busy share', async (t) => {
  // the first read is the start's baseline; then three busy intervals, one idle at exactly maxBusy
  const share = scripted([1, 0.9, 0.5, 0.11, 0.1, 0]);
  const fired = await new Promise<number>((resolve) => {
    const w = new IdleWatch({ onIdle: () => resolve(share.calls()), intervalMs: 1, maxBusy: 0.1, busyShare: share.read });
    w.start();
  });
  t.equal(fired, 5, 'fired after the fourth interval (the baseline read, three busy, one at 0.1)');
  // the watch stopped itself: no more reads however long we wait for timers to run
  await new Promise((r) => setTimeout(r, 20));
  t.equal(share.calls(), 5);
});

t.test('stop() before the idle interval: never runs', async (t) => {
  let reads = 0;
  let fired = false;
  let w: IdleWatch;
  await new Promise<void>((resolve) => {
    w = new IdleWatch({
      onIdle: () => { fired = true; },
      intervalMs: 1,
      maxBusy: 0.1,
      busyShare: () => {
        if (++reads === 3) { w.stop(); resolve(); }
        return 1;
      },
    });
    w.start();
  });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(fired, false);
  t.equal(reads, 3, 'no reads after stop()');
});

t.test('the default reader: an idle event loop is found idle', async (t) => {
  const at = await new Promise<number>((resolve) => {
    new IdleWatch({ onIdle: () => resolve(Date.now()), intervalMs: 20, maxBusy: 0.5 }).start();
  });
  t.ok(at > 0);
});

t.test('the default reader: a loop kept busy is not idle', async (t) => {
  let fired = false;
  const w = new IdleWatch({ onIdle: () => { fired = true; }, intervalMs: 30, maxBusy: 0.5 });
  w.start();
  // keep the loop busy through several intervals: the watch's checks run between busy slices
  const until = Date.now() + 200;
  while (Date.now() < until) {
    const slice = Date.now() + 25;
    while (Date.now() < slice) { /* busy */ }
    await new Promise((r) => setImmediate(r));
  }
  w.stop();
  t.equal(fired, false);
});
