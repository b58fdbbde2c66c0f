import t from 'tap';
import { BruteForceDetector } from '../../src/derived-metrics/brute-force.ts';

const S = 1000;

t.test('threshold failures within the window, sliding', async (t) => {
  const d = new BruteForceDetector({ threshold: 3, window: 60 * S, maxSources: 10 });
  t.equal(d.failure('a', 0), null);
  t.equal(d.failure('a', 30 * S), null);
  t.equal(d.failure('a', 61 * S), null, '0 s and 61 s are more than a window apart');
  const det = d.failure('a', 62 * S);
  t.match(det, { source: 'a', failures: 3, firstFailure: 30 * S, lastFailure: 62 * S }, '30, 61, 62 s lie within one window');
  t.equal(d.overThreshold(62 * S), 1);
  t.equal(d.overThreshold(30 * S + 60 * S - 1), 1, 'over until the oldest of the last three leaves the window');
  t.equal(d.overThreshold(30 * S + 60 * S), 0);
});

t.test('one detection per burst; a new burst after falling below is detected again', async (t) => {
  const d = new BruteForceDetector({ threshold: 2, window: 10 * S, maxSources: 10 });
  t.equal(d.failure('a', 0), null);
  t.ok(d.failure('a', 1 * S));
  t.equal(d.failure('a', 2 * S), null);
  t.same(d.top(5, 2 * S), [{ source: 'a', failures: 3 }]);
  t.equal(d.failure('a', 100 * S), null, 'alone after a quiet spell: below the threshold again');
  t.ok(d.failure('a', 101 * S), 'a new burst');
});

t.test('bounded: the least recently failing source is forgotten first', async (t) => {
  const d = new BruteForceDetector({ threshold: 2, window: 60 * S, maxSources: 2 });
  d.failure('a', 0);
  d.failure('b', 1);
  d.failure('a', 2); // a: detected, most recent
  d.failure('c', 3); // evicts b
  t.equal(d.tracked, 2);
  t.equal(d.failure('b', 4), null, 'b was forgotten: its earlier failure no longer counts');
  t.equal(d.overThreshold(5), 0, 'a was evicted by b (c and b are more recent); evicted sources leave the gauge');
});

t.test('top sources are ordered by failures and cut at k', async (t) => {
  const d = new BruteForceDetector({ threshold: 2, window: 60 * S, maxSources: 100 });
  for (let i = 0; i < 5; i++) d.failure('x', i);
  for (let i = 0; i < 3; i++) d.failure('y', i);
  for (let i = 0; i < 2; i++) d.failure('z', i);
  d.failure('w', 0);
  t.same(d.top(2, 10), [{ source: 'x', failures: 5 }, { source: 'y', failures: 3 }]);
  t.equal(d.overThreshold(10), 3);
});

t.test('absurd source strings are ignored', async (t) => {
  const d = new BruteForceDetector({ threshold: 2, window: 60 * S, maxSources: 100 });
  t.equal(d.failure('', 0), null);
  d.failure('x'.repeat(100), 0);
  t.equal(d.failure('x'.repeat(100), 1), null);
  t.equal(d.tracked, 0);
});
