import t from 'tap';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteBudget } from '../../../src/core/budget.ts';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { PositionStore } from '../../../src/positions/store.ts';
import { GlobMatcher } from '../../../src/sources/file/discovery.ts';
import { FileSource } from '../../../src/sources/file/file-source.ts';
import { fileSourceSchema } from '../../../src/sources/config.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';
import { CollectingReceiver, silentLog } from '../support.ts';

t.test('globs: **, excludes by name and by path, symlinked directories followed once (no loop)', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
  for (const f of ['x.log', 'a/y.log', 'a/b/c/z.log', 'a/b/c/z.log.gz', 'a/skip.log', 'a/b/keep.txt']) writeFileSync(join(dir, f), '');
  symlinkSync(dir, join(dir, 'a', 'loop')); // a directory loop
  symlinkSync(join(dir, 'a', 'y.log'), join(dir, 'a', 'b', 'link.log')); // a file symlink
  const m = new GlobMatcher([`${dir}/**/*.log`], ['*.gz', `${dir}/a/skip.log`]);
  const found = (await m.scan()).map((p) => p.slice(dir.length + 1)).sort();
  t.same(found.filter((p) => !p.startsWith('a/loop/')), ['a/b/c/z.log', 'a/b/link.log', 'a/y.log', 'x.log']);
  t.ok(found.length < 50, `the loop is walked at most once (${found.length} paths)`);
  t.ok(m.matches(`${dir}/q/r.log`));
  t.notOk(m.matches(`${dir}/a/skip.log`));
  const flat = new GlobMatcher([`${dir}/a/*.log`], []);
  t.same((await flat.scan()).map((p) => p.slice(dir.length + 1)).sort(), ['a/skip.log', 'a/y.log'], 'a single * does not descend');
});

t.test('a new file is picked up by change events (the rescan is an hour away); start_at applies only at first start', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'logs', 'old.log'), 'before start\n');
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const positions = await PositionStore.open(join(dir, 'positions.json'), silentLog, metrics);
  const receiver = new CollectingReceiver();
  const cfg = fileSourceSchema.parse({ name: 'app', paths: [`${dir}/logs/**/*.log`], start_at: 'end', rescan_interval: '1h' });
  const source = new FileSource(cfg, { host: 'h', receiverFor: () => receiver, budget: new ByteBudget(1 << 20), positions, metrics, log: silentLog });
  await source.start();
  t.teardown(() => source.stop());
  // The watcher is ready once a file created after start() is picked up: either by its change
  // event, or by the one rescan that runs when the watcher becomes ready. After that, with the
  // periodic rescan an hour away, only change events can find a new file.
  writeFileSync(join(dir, 'logs', 'probe.log'), 'probe\n');
  await waitFor('the watcher ready (probe file picked up)', () => receiver.texts.includes('probe'));
  appendFileSync(join(dir, 'logs', 'old.log'), 'after start\n');
  await waitFor('appended line', () => receiver.texts.includes('after start'));
  t.notOk(receiver.texts.includes('before start'), 'start_at: end on the first start');
  for (const name of ['new.log', 'sub/deeper.log']) {
    const created = Date.now();
    writeFileSync(join(dir, 'logs', name), `hello from ${name}\n`);
    await waitFor(name, () => receiver.texts.includes(`hello from ${name}`), 20_000, 10);
    t.pass(`${name} picked up by its change event in ${Date.now() - created} ms (files appearing later start at the beginning)`);
  }
  t.match(await metrics.metrics(), /logship_files_active\{source="app"\} 4/, 'old, probe, new and deeper');
});
