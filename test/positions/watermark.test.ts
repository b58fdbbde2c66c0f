import t from 'tap';
import { ByteBudget } from '../../src/core/budget.ts';
import { FileWatermark } from '../../src/positions/watermark.ts';

t.test('the watermark advances only over contiguous settled records', async (t) => {
  const commits: number[] = [];
  const w = new FileWatermark(0, null, (o) => commits.push(o));
  const a = w.issue(0, 10, 10);
  const b = w.issue(10, 20, 10);
  const c = w.issue(20, 30, 10);
  c.release();
  t.equal(w.committed, 0, 'c settled first: nothing before it is final');
  a.release();
  t.equal(w.committed, 10, 'a final: up to b');
  b.release();
  t.equal(w.committed, 30, 'all final');
  t.same(commits, [10, 30]);
  t.equal(w.pending, 0);
});

t.test('fan-out: a record is final only when every sink released it', async (t) => {
  const w = new FileWatermark(100, null, () => {});
  const a = w.issue(100, 150, 50);
  a.retain(2); // two sinks
  a.release(); // pipeline's own reference
  a.release(); // sink 1
  t.equal(w.committed, 100);
  a.release(); // sink 2
  t.equal(w.committed, 150);
  a.release(); // a stray extra release must not break anything
  t.equal(w.committed, 150);
});

t.test('a joined record pins the watermark before its first piece', async (t) => {
  // stdout P1 [0,10), stderr F [10,20), stdout F [20,30): stdout pieces join into one record
  const w = new FileWatermark(0, null, () => {});
  const p1 = w.issue(0, 10, 10);
  const errLine = w.issue(10, 20, 10);
  const p2 = w.issue(20, 30, 10);
  p1.absorb(p2); // p2 released, p1 now covers to 30
  errLine.release();
  t.equal(w.committed, 0, 'stderr delivered, but the pending stdout record started at 0');
  p1.release();
  t.equal(w.committed, 30);
});

t.test('budget bytes are held until settled', async (t) => {
  const budget = new ByteBudget(25);
  const w = new FileWatermark(0, budget, () => {});
  const a = w.issue(0, 10, 10);
  const b = w.issue(10, 30, 20);
  t.equal(budget.inUse, 30);
  t.notOk(budget.hasRoom());
  let woke = false;
  const p = budget.waitForRoom().then(() => (woke = true));
  a.release();
  await p;
  t.ok(woke);
  t.equal(budget.inUse, 20);
  b.release();
  t.equal(budget.inUse, 0);
});

t.test('a read token shared by its lines: extend, a joined record across reads, budget back to zero', async (t) => {
  const budget = new ByteBudget(1 << 20);
  const commits: number[] = [];
  const w = new FileWatermark(0, budget, (o) => commits.push(o));
  // read 1: a multiline record's head line, then one more line
  const r1 = w.issue(0, 10, 10);
  t.ok(w.extend(r1, 20, 10));
  const head = r1; // the record holds read 1's first reference
  // read 2: three lines; the first is a continuation of the open record
  const r2 = w.issue(20, 30, 10);
  t.ok(w.extend(r2, 40, 10));
  t.ok(w.extend(r2, 50, 10));
  t.equal(budget.inUse, 50);
  head.absorb(r2); // the continuation joins the record; r2 still carries two lines
  t.equal(r2.refs, 2);
  t.equal(r2.bytes, 30, 'a shared token keeps its budget share');
  r1.release(); // read 1's second line
  r2.release();
  r2.release(); // read 2's other lines are final before the joined record
  t.equal(w.committed, 0, 'the open record pins the position at its head');
  t.equal(budget.inUse, 20);
  head.release();
  t.equal(w.committed, 50);
  t.equal(budget.inUse, 0, 'every byte back');
  t.notOk(w.extend(r2, 60, 10), 'a settled token takes no more lines');
  t.notOk(new FileWatermark(0, null, () => {}).extend(w.issue(50, 60, 10), 70, 10), "another watermark's token is refused");
});
