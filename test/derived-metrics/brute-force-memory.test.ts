import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CHILD = join(import.meta.dirname, 'brute-force-memory.child.ts');
const MiB = 1024 * 1024;

interface Mem { heapUsed: number; heapTotal: number; external: number; rss: number }
interface Result { total: number; maxSources: number; base: Mem; full: Mem; end: Mem; tracked: number; failures: number; detections: number }

function runChild(total: number, maxSources: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    // A fixed 1 MiB semi-space keeps V8's young-generation sizing (which grows with allocation
    // rate, not with retained data) out of the RSS numbers.
    const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', CHILD, String(total), String(maxSources)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Result);
    });
  });
}

t.test('1,000,000 distinct source IPs through brute-force detection: memory bounded by the cache size', async (t) => {
  const MAX = 10_000;
  const r = await runChild(1_000_000, MAX);
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  t.comment(`heapUsed: base ${mb(r.base.heapUsed)}, cache full ${mb(r.full.heapUsed)}, after 1M IPs ${mb(r.end.heapUsed)}`);
  t.comment(`rss: base ${mb(r.base.rss)}, cache full ${mb(r.full.rss)}, after 1M IPs ${mb(r.end.rss)}`);
  t.equal(r.tracked, MAX, 'the detector remembers exactly max_sources addresses');
  t.equal(r.failures, 1_000_000 + 2_000, 'every failure was counted (1M one-off addresses + one attacker)');
  t.equal(r.detections, 1, 'the attacker failing amid the flood is still detected, once');
  // Live data grows with the cache (a few hundred bytes per remembered source), not with the
  // number of addresses seen: 980,000 more addresses after the cache filled add next to nothing.
  t.ok(r.end.heapUsed - r.full.heapUsed < 2 * MiB, `heap growth after the cache is full: ${mb(r.end.heapUsed - r.full.heapUsed)} < 2 MiB`);
  t.ok(r.end.heapUsed - r.base.heapUsed < MAX * 1024, `heap growth overall: ${mb(r.end.heapUsed - r.base.heapUsed)} < max_sources × 1 KiB`);
  // Unbounded, 1M sources would retain ~300 MiB; RSS also carries one-off JIT and allocator growth.
  t.ok(r.end.rss - r.base.rss < 64 * MiB, `RSS growth: ${mb(r.end.rss - r.base.rss)} < 64 MiB`);
});
