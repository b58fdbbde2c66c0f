import t from 'tap';
import { join } from 'node:path';
import { ByteBudget } from '../../../src/core/budget.ts';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { PositionStore } from '../../../src/positions/store.ts';
import { journaldSourceSchema } from '../../../src/sources/journald/config.ts';
import { JournaldSource } from '../../../src/sources/journald/journald-source.ts';
import { graceForLateEvents, tempDir, waitFor } from '../../support/daemon.ts';
import { CollectingReceiver, silentLog } from '../support.ts';
import { exitUnlessJournalTools, seqEntries, writeJournal } from './support.ts';

exitUnlessJournalTools();

t.test('a spent budget stops reading journalctl; room resumes it; the cursor commits only what was acknowledged', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'x.journal');
  const total = 20_000;
  await writeJournal(file, seqEntries(0, total));
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const positions = await PositionStore.open(join(dir, 'positions.json'), silentLog, metrics);
  const budget = new ByteBudget(64 * 1024);
  const rx = new CollectingReceiver();
  rx.hold = true;
  const cfg = journaldSourceSchema.parse({ name: 'j', type: 'journald', files: [file], start_at: 'beginning' });
  const src = new JournaldSource(cfg, { host: 'h', receiver: rx, budget, positions, metrics, log: silentLog });
  await src.start();
  t.teardown(() => src.stop(Date.now()));
  await waitFor('budget spent', () => !budget.hasRoom());
  const atPause = rx.lines.length;
  await graceForLateEvents(500); // journalctl would have written all 20,000 by now if it were read
  t.ok(rx.lines.length - atPause < 300, `reading stopped (${atPause} → ${rx.lines.length} while held)`);
  t.ok(budget.inUse < 64 * 1024 + 128 * 1024, `held ${budget.inUse} B: the budget plus one pipe read`);
  t.equal(positions.cursor('journald:j'), undefined, 'nothing acknowledged, nothing committed');
  // Acknowledge the first 100 only: the cursor is the 100th entry's.
  const first = rx.held.splice(0, 100);
  for (const a of first) a.release();
  t.match(positions.cursor('journald:j'), /;i=64;/, 'cursor of entry 100 (seqnum 0x64)');
  // Out of order: releasing entry 102 before 101 does not move it past 100.
  rx.held[1].release();
  t.match(positions.cursor('journald:j'), /;i=64;/);
  rx.held[0].release();
  t.match(positions.cursor('journald:j'), /;i=66;/, 'both settled: entry 102');
  rx.held.splice(0, 2);
  const drain = setInterval(() => rx.releaseHeld(), 5);
  t.teardown(() => clearInterval(drain));
  await waitFor('all entries', () => rx.lines.length >= total, 30_000);
  t.same(rx.lines.map((l) => Number(/^entry (\d+) /.exec(l.text)![1])), Array.from({ length: total }, (_, k) => k), 'in order, each once');
  await waitFor('last cursor', () => positions.cursor('journald:j')?.includes(`;i=${total.toString(16)};`));
});

t.test('units and matches filter through journalctl; start_at: end records the current end at once and ships only later entries', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'x.journal');
  await writeJournal(file, [...seqEntries(0, 3, { _SYSTEMD_UNIT: 'ssh.service', PRIORITY: '4' }), ...seqEntries(3, 3, { _SYSTEMD_UNIT: 'cron.service', PRIORITY: '4' }), ...seqEntries(6, 3, { _SYSTEMD_UNIT: 'ssh.service', PRIORITY: '6' })]);
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const positions = await PositionStore.open(join(dir, 'positions.json'), silentLog, metrics);
  const start = async (name: string, extra: Record<string, unknown>) => {
    const rx = new CollectingReceiver();
    const src = new JournaldSource(journaldSourceSchema.parse({ name, type: 'journald', files: [file], ...extra }), { host: 'h', receiver: rx, budget: new ByteBudget(1 << 24), positions, metrics, log: silentLog });
    await src.start();
    t.teardown(() => src.stop(Date.now()));
    return rx;
  };
  const entries = (rx: CollectingReceiver) => rx.lines.map((l) => Number(/^entry (\d+) /.exec(l.text)![1]));
  const filtered = await start('filtered', { start_at: 'beginning', units: ['ssh.service'], matches: ['PRIORITY=4'] });
  await waitFor('ssh warnings', () => filtered.lines.length >= 3);
  const fromEnd = await start('from-end', { start_at: 'end' });
  t.match(positions.cursor('journald:from-end'), /;i=9;/, 'the last entry present at start is the stored cursor before anything shipped');
  await writeJournal(file, seqEntries(9, 2, { _SYSTEMD_UNIT: 'ssh.service', PRIORITY: '4' }));
  await waitFor('new entries', () => fromEnd.lines.length >= 2 && filtered.lines.length >= 5);
  await graceForLateEvents(300); // an entry the filter should drop would show up
  t.same(entries(filtered), [0, 1, 2, 9, 10], 'only ssh.service with PRIORITY=4, followed');
  t.same(entries(fromEnd), [9, 10], 'start_at: end ships only what came after the start');
});
