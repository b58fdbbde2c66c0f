import t from 'tap';
import fc from 'fast-check';
import { Hash52Set } from './hash52-set.ts';

t.test('Hash52Set holds the same members as a Set<number>, through growth and colliding slots', async (t) => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 52 - 1 }), fc.integer({ min: 0, max: 40 }).map((k) => k * 2 ** 32), fc.constantFrom(0, 1, 2 ** 52 - 1)), { maxLength: 300 }), (xs) => {
    const set = new Hash52Set(16);
    const ref = new Set<number>();
    for (const x of xs) {
      if (set.add(x) !== !ref.has(x)) throw new Error(`add(${x}) said ${!ref.has(x) ? 'not new' : 'new'}`);
      ref.add(x);
    }
    if (set.size !== ref.size) throw new Error(`size ${set.size}, want ${ref.size}`);
    for (const x of ref) if (!set.has(x)) throw new Error(`lost ${x}`);
    for (const x of [3, 2 ** 40 + 7, 2 ** 33]) if (set.has(x) !== ref.has(x)) throw new Error(`has(${x})`);
  }), { numRuns: 500 });
  const big = new Hash52Set();
  for (let i = 0; i < 200_000; i++) big.add(i * 4_294_967_296 + (i % 3)); // the same low 32 bits for many members
  t.equal(big.size, 200_000);
  t.ok(big.has(199_999 * 4_294_967_296 + (199_999 % 3)));
  t.notOk(big.has(5));
});

t.test('Hash52Set refuses what it cannot hold', async (t) => {
  const set = new Hash52Set();
  for (const bad of [-1, 2 ** 52, 1.5, Number.NaN]) t.throws(() => set.add(bad), RangeError, String(bad));
});
