import t from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { PositionStore } from '../../src/positions/store.ts';
import { tempDir } from '../support/daemon.ts';

const log = pino({ level: 'silent' });
const entry = (offset: number) => ({ path: '/var/log/a.log', offset, dev: 1, ino: 2, fingerprint: 'ab', fp_len: 2, source: 'a', updated: 0 });

t.test('writes atomically and keeps the previous generation as .bak', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'sub', 'positions.json');
  const s = await PositionStore.open(path, log, new MetricsRegistry({ defaultMetrics: false }));
  t.ok(s.firstStart);
  s.set('1:2', entry(10));
  await s.flush();
  s.advance('1:2', 20);
  await s.flush();
  t.equal(JSON.parse(readFileSync(path, 'utf8')).files['1:2'].offset, 20);
  t.equal(JSON.parse(readFileSync(`${path}.bak`, 'utf8')).files['1:2'].offset, 10);
  t.notOk(existsSync(`${path}.tmp`));
  const again = await PositionStore.open(path, log, new MetricsRegistry({ defaultMetrics: false }));
  t.notOk(again.firstStart);
  t.equal(again.get('1:2')?.offset, 20);
});

t.test('a NUL-filled positions file falls back to the backup, loudly', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'positions.json');
  const s = await PositionStore.open(path, log, new MetricsRegistry({ defaultMetrics: false }));
  s.set('1:2', entry(10));
  await s.flush();
  s.advance('1:2', 20);
  await s.flush();
  writeFileSync(path, Buffer.alloc(4096));
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const lines: string[] = [];
  const capture = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
  const back = await PositionStore.open(path, capture, metrics);
  t.equal(back.get('1:2')?.offset, 10, 'resumed from .bak');
  t.match(await metrics.metrics(), /logship_positions_corrupt_total\{file="current"\} 1/);
  t.ok(lines.some((l) => l.includes('corrupt')));
});

t.test('every generation corrupt: start empty, never refuse', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'positions.json');
  writeFileSync(path, '{"version":1,"files":');
  writeFileSync(`${path}.bak`, 'garbage');
  const s = await PositionStore.open(path, log, new MetricsRegistry({ defaultMetrics: false }));
  t.equal([...s.all()].length, 0);
  // Not a first start (start_at would skip what was written while stopped): positions are lost.
  t.notOk(s.firstStart);
  t.equal(s.lost?.startAt, 'beginning');
  t.equal(s.lost?.keptAside.length, 2);
});

t.test('flushes called while a write is in flight run one after another: no failed write, the last offsets saved', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'positions.json');
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const errors: string[] = [];
  const capture = pino({ level: 'error' }, { write: (l: string) => errors.push(l) });
  const s = await PositionStore.open(path, capture, metrics);
  s.set('1:2', entry(10));
  await s.flush();
  // One write in flight (the periodic one), then three more callers at once, as the shutdown's
  // close() and the pipeline's stop do: each wakes when the first ends.
  s.advance('1:2', 20);
  const inFlight = s.flush();
  s.advance('1:2', 30);
  await Promise.all([inFlight, s.flush(true), s.flush(true), s.flush(true)]);
  t.same(errors, [], 'no write failed');
  t.match(await metrics.metrics(), /logship_positions_write_errors_total 0/);
  t.equal(JSON.parse(readFileSync(path, 'utf8')).files['1:2'].offset, 30);
  t.notOk(existsSync(`${path}.tmp`));
});
