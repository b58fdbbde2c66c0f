import t from 'tap';
import { DeliveryLoop, type GiveUp, type RetryNotice, type Verdict } from '../../src/sinks/delivery-loop.ts';
import { Backoff } from '../../src/sinks/retry.ts';
import { ManualClock, microtasksSettled } from '../support/manual-clock.ts';

/** A request is its items; the "server" answers each attempt with the next scripted verdict. */
type Items = string[];
type Terminal = { why: string };
type Answer = Verdict<Items, Terminal> | ((req: Items) => Verdict<Items, Terminal>);
/** An answer that takes `after` ms of the clock to arrive (a slow server). */
type Scripted = Answer | { after: number; answer: Answer };

/**
 * random = 1 makes the backoff deterministic at its cap: min·2ⁿ up to max (retry.ts), so with
 * min 100 / max 1000 the waits are 100, 200, 400, 800, 1000, ... ms.
 */
function harness(opts: { answers: Scripted[]; maxRetryDurationMs?: number; giveUpResults?: boolean[] }) {
  const clock = new ManualClock(0);
  const abort = new AbortController();
  const attempts: Array<{ at: number; req: Items }> = [];
  const givenUp: Array<{ at: number; req: Items; why: GiveUp<Terminal> }> = [];
  const retries: Array<RetryNotice<Items>> = [];
  const answers = [...opts.answers];
  const giveUpResults = [...(opts.giveUpResults ?? [])];
  const backoff = new Backoff({ min_backoff: 100, max_backoff: 1000 }, () => 1);
  const loop = new DeliveryLoop<Answer, Items, Terminal>({
    attempt: async (req) => {
      attempts.push({ at: clock.now(), req });
      const a = answers.shift();
      if (a === undefined) throw new Error(`no scripted answer for attempt ${attempts.length}`);
      if (typeof a === 'object' && 'after' in a) {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, a.after));
        return a.answer;
      }
      return a;
    },
    classify: (req, answer) => (typeof answer === 'function' ? answer(req) : answer),
    giveUp: async (req, why) => {
      givenUp.push({ at: clock.now(), req, why });
      return giveUpResults.shift() ?? true;
    },
    onRetry: (n) => retries.push(n),
    maxRetryDurationMs: opts.maxRetryDurationMs ?? 0,
    signal: abort.signal,
    now: clock.now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        const handle = clock.setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clock.clearTimeout(handle);
          resolve();
        }, { once: true });
      }),
  });
  let settled = false;
  const deliver = (req: Items) => {
    const p = loop.deliver(req, { backoff });
    void p.then(() => (settled = true));
    return p;
  };
  /** Moves the clock step by step, letting the loop's promise chains run at every step. */
  async function advance(ms: number, step = 50) {
    await microtasksSettled();
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await microtasksSettled();
    }
  }
  return { clock, abort, attempts, givenUp, retries, backoff, deliver, advance, isSettled: () => settled };
}

const retry = (status: string, extra: Partial<Verdict<Items, Terminal> & { kind: 'retry' }> = {}): Verdict<Items, Terminal> => ({ kind: 'retry', status, reason: `HTTP ${status}`, ...extra });
const delivered: Verdict<Items, Terminal> = { kind: 'delivered' };

t.test('retries with exponential backoff until delivered, then resets the backoff', async (t) => {
  const h = harness({ answers: [retry('network'), retry('503'), delivered] });
  h.deliver(['a', 'b']);
  await h.advance(1000);
  t.same(h.attempts.map((a) => a.at), [0, 100, 300], 'waits 100 then 200 ms (the backoff cap at random = 1)');
  t.same(h.retries.map((r) => [r.status, r.attempt, r.waitMs]), [['network', 1, 100], ['503', 2, 200]]);
  t.ok(h.isSettled());
  t.equal(h.backoff.attempts, 0, 'a delivery resets the shared backoff');
  t.same(h.givenUp, []);
});

t.test('Retry-After wins when longer than the backoff; a sink-chosen wait replaces it', async (t) => {
  const h = harness({ answers: [retry('429', { retryAfterMs: 700 }), retry('429', { retryAfterMs: 10 }), retry('401', { waitMs: 900 }), delivered] });
  h.deliver(['a']);
  await h.advance(3000);
  // 700 (Retry-After > 100), then 200 (the backoff > Retry-After 10), then 900 (the sink's wait).
  t.same(h.attempts.map((a) => a.at), [0, 700, 900, 1800]);
  t.ok(h.isSettled());
});

t.test('each retry notice says whether its own verdict was a credentials refusal (two requests at once)', async (t) => {
  // Two requests in flight: the first's 401 is classified, then the second's 503 before the
  // first's notice is used. Each notice carries its own verdict's flag, not the sink's last one.
  const h = harness({ answers: [{ after: 10, answer: retry('401', { authError: true }) }, { after: 10, answer: retry('503') }, delivered, delivered] });
  h.deliver(['a']);
  h.deliver(['b']);
  await h.advance(1000);
  t.same(h.retries.map((r) => [r.request, r.status, r.authError]), [[['a'], '401', true], [['b'], '503', false]]);
});

t.test('a retry verdict may narrow the request to the items still to deliver', async (t) => {
  const h = harness({ answers: [retry('429', { request: ['b'] }), delivered] });
  h.deliver(['a', 'b', 'c']);
  await h.advance(500);
  t.same(h.attempts.map((a) => a.req), [['a', 'b', 'c'], ['b']]);
  t.ok(h.isSettled());
});

t.test('gives up max_retry_duration after the first failure, shortening the last wait to end there', async (t) => {
  const h = harness({ answers: Array.from({ length: 10 }, () => retry('503')), maxRetryDurationMs: 1000 });
  h.deliver(['a']);
  await h.advance(5000);
  // Failures at 0, 100, 300, 700; the next wait (800) is cut to 300 so the last try is at 1000.
  t.same(h.attempts.map((a) => a.at), [0, 100, 300, 700, 1000]);
  t.same(h.retries.map((r) => r.waitMs), [100, 200, 400, 300]);
  t.equal(h.givenUp.length, 1);
  t.same(h.givenUp[0].at, 1000);
  t.same(h.givenUp[0].why, { cause: 'exhausted', failingForMs: 1000, lastReason: 'HTTP 503' });
  t.ok(h.isSettled());
});

t.test('the clock starts at the first failure, not at the first try', async (t) => {
  // The first try takes 200 ms to fail; counted from the first try it would be given up then.
  const h = harness({ answers: [{ after: 200, answer: retry('503') }, retry('503'), delivered], maxRetryDurationMs: 150 });
  h.deliver(['a']);
  await h.advance(1000);
  // Failure at 200 (the clock starts), wait 100 → 300 fails (wait 200 cut to 50) → 350 delivered.
  t.same(h.attempts.map((a) => a.at), [0, 300, 350]);
  t.same(h.givenUp, []);
});

t.test('when dead-lettering fails the request is held and retried, never dropped', async (t) => {
  const h = harness({ answers: Array.from({ length: 10 }, () => retry('503')), maxRetryDurationMs: 300, giveUpResults: [false, true] });
  h.deliver(['a']);
  await h.advance(2000);
  // 0, 100, 300 (giving up fails: past the deadline the backoff's 400 ms paces the retries, no
  // zero-wait spin), 700 (giving up succeeds).
  t.same(h.attempts.map((a) => a.at), [0, 100, 300, 700]);
  t.same(h.givenUp.map((g) => g.at), [300, 700]);
  t.ok(h.isSettled());
});

t.test('a terminal verdict gives up at once; if that fails, it retries', async (t) => {
  const h = harness({ answers: [{ kind: 'terminal', status: '413', terminal: { why: 'too large' } }, { kind: 'terminal', status: '413', terminal: { why: 'too large' } }], giveUpResults: [false, true] });
  h.deliver(['huge']);
  await h.advance(1000);
  t.same(h.attempts.map((a) => a.at), [0, 100]);
  t.same(h.givenUp.map((g) => g.why), [{ cause: 'terminal', terminal: { why: 'too large' } }, { cause: 'terminal', terminal: { why: 'too large' } }]);
  t.same(h.retries.map((r) => r.status), ['413']);
  t.ok(h.isSettled());
});

t.test('split: the parts are sent in order and inherit the give-up clock', async (t) => {
  const half = (req: Items): Verdict<Items, Terminal> => ({ kind: 'split', parts: [req.slice(0, req.length / 2), req.slice(req.length / 2)] });
  const h = harness({
    answers: [retry('503'), half, retry('503'), delivered, retry('503'), retry('503'), retry('503'), retry('503')],
    maxRetryDurationMs: 500,
  });
  h.deliver(['a', 'b', 'c', 'd']);
  await h.advance(3000);
  t.same(h.attempts.map((a) => [a.at, a.req.join('')]), [
    [0, 'abcd'], // first failure: the clock starts
    [100, 'abcd'], // split
    [100, 'ab'], // fails: wait 200
    [300, 'ab'], // delivered: the backoff resets
    [300, 'cd'], // fails: wait 100
    [400, 'cd'], // fails: wait 200 cut to 100 (500 ms after the parent's first failure)
    [500, 'cd'], // fails at the deadline: given up
  ]);
  t.same(h.givenUp.map((g) => [g.at, g.req.join(''), g.why.cause]), [[500, 'cd', 'exhausted']]);
  t.ok(h.isSettled());
});

t.test('after the abort a request never settles and is not retried', async (t) => {
  const h = harness({ answers: [retry('503'), delivered] });
  h.deliver(['a']);
  await h.advance(50);
  h.abort.abort();
  await h.advance(1000);
  t.same(h.attempts.map((a) => a.at), [0]);
  t.notOk(h.isSettled());
});
