import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, graceForLateEvents, waitFor, writeConfig } from '../support/daemon.ts';
import { appendSeq, config, shipFirstLines, shippedSeqs, summarize } from '../sources/cli-support.ts';

t.test('positions file filled with NUL bytes: the daemon starts, reports it, resumes from the backup', async (t) => {
  const run = await shipFirstLines((fn) => t.teardown(fn), { lines: 5000 });
  const { dir, log, port, out } = run;
  t.equal((await run.daemon.kill('SIGTERM')).code, 0);
  const positions = join(dir, 'data', 'positions.json');
  const bak = JSON.parse(readFileSync(`${positions}.bak`, 'utf8')) as { files: Record<string, { offset: number }> };
  t.equal(Object.values(bak.files)[0].offset, statSync(log).size, 'the backup generation holds the final offset');
  writeFileSync(positions, Buffer.alloc(statSync(positions).size)); // what a crash mid-write on some file systems leaves
  appendSeq(log, 5000, 1000);
  const d = await run.restart();
  await waitFor('new lines', () => shippedSeqs(out).counts.size >= 6000);
  await graceForLateEvents(800); // a wrong re-send from the start would show up as duplicates
  const s = summarize(shippedSeqs(out), 6000);
  t.equal(s.missing.length, 0);
  t.equal(s.duplicates, 0, 'resumed from the backup: nothing re-sent');
  t.match(d.stderr, /positions file is corrupt/);
  t.match(d.stderr, /resumed from an older positions generation/);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /logship_positions_corrupt_total\{file="current"\} 1/);
  t.equal((await d.kill('SIGTERM')).code, 0);
  t.ok(JSON.parse(readFileSync(positions, 'utf8')).files, 'a valid positions file was written again');
});

/**
 * Issue 22, item 3: every generation corrupt, start_at: end. Lines 0-999 were shipped, 1000-1999
 * written while logship was stopped. Before: treated as a first start, 1000-1999 skipped silently.
 */
async function bothCorrupt(teardown: (fn: () => unknown) => void, onLost: 'beginning' | 'end' | undefined): Promise<{ counts: Map<number, number>; stderr: string; metrics: string; dir: string; status: Record<string, unknown> }> {
  const run = await shipFirstLines(teardown, {
    lines: 1000,
    yaml: (dir, port) => {
      const yaml = config(dir, port).replace('start_at: beginning', 'start_at: end');
      return onLost ? yaml.replace('sync_interval: 200ms }', `sync_interval: 200ms, on_lost: ${onLost} }`) : yaml;
    },
  });
  const { dir, log, port, out } = run;
  await run.daemon.kill('SIGTERM');
  appendSeq(log, 1000, 1000);
  const positions = join(dir, 'data', 'positions.json');
  writeFileSync(positions, Buffer.alloc(300));
  writeFileSync(`${positions}.bak`, '{"version":1,"files":{"x"');
  const d = await run.restart();
  appendSeq(log, 2000, 10);
  await waitFor('the lines written after the restart', () => shippedSeqs(out).counts.has(2009));
  await graceForLateEvents(500); // more re-sent lines would show up
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Record<string, unknown>;
  await d.kill('SIGTERM');
  return { counts: shippedSeqs(out).counts, stderr: d.stderr, metrics, dir, status };
}

t.test('both positions generations corrupt: every file is read from the start by default, the copies kept aside, an error names them', async (t) => {
  const r = await bothCorrupt((fn) => t.teardown(fn), undefined);
  const s = summarize({ counts: r.counts, torn: 0, records: 0 }, 2010);
  t.equal(s.missing.length, 0, 'nothing written while stopped is skipped');
  t.equal(s.duplicates, 1000, 'at-least-once: the lines shipped before are sent again');
  const line = r.stderr.split('\n').find((l) => l.includes('no trustworthy positions'));
  t.ok(line, 'an error says so');
  const logged = JSON.parse(line!) as { level: number; corrupt: string[]; kept_aside: string[]; start_at: string };
  t.equal(logged.level, 50, 'logged as an error');
  t.same(logged.corrupt, [join(r.dir, 'data', 'positions.json'), join(r.dir, 'data', 'positions.json.bak')], 'naming the corrupt files');
  t.equal(logged.kept_aside.length, 2);
  t.same(logged.kept_aside.map((p) => readFileSync(p).length), [300, 25], 'the corrupt copies are kept aside as they were');
  t.match(r.metrics, /logship_positions_lost_total 1\b/);
  t.match(r.status, { positions: { lost: { startAt: 'beginning' } } }, 'the status says so');
});

t.test('both positions generations corrupt with positions.on_lost: end: what was written while stopped is skipped, but loudly', async (t) => {
  const r = await bothCorrupt((fn) => t.teardown(fn), 'end');
  const s = summarize({ counts: r.counts, torn: 0, records: 0 }, 2010);
  t.equal(s.duplicates, 0);
  t.equal(s.missing.length, 1000, 'the lines written while stopped are skipped, as chosen');
  t.ok(s.missing.every((m) => m >= 1000 && m < 2000));
  t.match(r.stderr, /no trustworthy positions.*positions.on_lost: end/);
  t.match(r.metrics, /logship_positions_lost_total 1\b/);
});
