import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, graceForLateEvents, sleep, waitFor, writeConfig } from '../support/daemon.ts';
import { appendSeq, config, emptyAppLog, seqLine, shippedSeqs, summarize } from './cli-support.ts';

t.test('SIGKILL 5 times during a 200,000-line ingest: 0 missing, duplicates bounded by the unacknowledged window', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const budget = 1024 * 1024;
  const cfg = await writeConfig(dir, config(dir, port, { budget: '1MiB' }));
  const out = join(dir, 'data', 'shipped.ndjson');
  const total = 200_000;
  const chunk = 1000;
  let d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  // Random kill moments spread over the ingest (seeded, reproducible).
  let x = 42;
  const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const killAt = new Set<number>();
  while (killAt.size < 5) killAt.add(10 + Math.floor(rnd() * 170));
  const windows: number[] = [];
  /** Per kill: how old the positions file was (ms). A loaded machine writes it late; the bound below follows. */
  const persistedAges: number[] = [];
  const started = Date.now();
  for (let c = 0; c < total / chunk; c++) {
    appendSeq(log, c * chunk, chunk);
    await sleep(5); // paces the writer
    if (killAt.has(c)) {
      await sleep(Math.floor(rnd() * 300)); // a random kill moment
      const killedAt = Date.now();
      await d.kill('SIGKILL');
      persistedAges.push(Math.max(0, killedAt - statSync(join(dir, 'data', 'positions.json')).mtimeMs));
      let shippedUpTo = 0;
      for (const k of shippedSeqs(out).counts.keys()) if (k + 1 > shippedUpTo) shippedUpTo = k + 1;
      const pos = JSON.parse(readFileSync(join(dir, 'data', 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> }; // never missing: see PositionStore
      const committedLines = readFileSync(log).subarray(0, Object.values(pos.files)[0]?.offset ?? 0).toString().split('\n').length - 1;
      windows.push(shippedUpTo - committedLines);
      t.comment(`kill at chunk ${c}: written ${(c + 1) * chunk}, shipped up to ${shippedUpTo}, committed ${committedLines}`);
      d = new DaemonProcess(['run', '--config', cfg]);
      await d.waitHttp(port);
    }
  }
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= total, 60_000, 250);
  await graceForLateEvents(500); // duplicates would show up
  const c = shippedSeqs(out);
  const s = summarize(c, total);
  t.equal(s.missing.length, 0, `missing ${s.missing.length}`);
  t.equal(s.extra, 0);
  // What can be re-sent after a kill: lines in the sink past the last persisted offset — the
  // unacknowledged lines (at most the budget, plus one sink batch of 1 MiB) and what was
  // acknowledged since the last positions write (the file's age at the kill — sync_interval
  // 200 ms on an idle machine, more on a loaded one — plus 0.5 s, at the measured ingest rate).
  const lineBytes = seqLine(0).length;
  const rate = total / ((Date.now() - started) / 1000);
  const bounds = persistedAges.map((age) => Math.ceil((budget + 1024 * 1024) / lineBytes + rate * (age / 1000 + 0.5)));
  const boundSum = bounds.reduce((a, b) => a + b, 0);
  t.ok(s.duplicates <= boundSum, `duplicates ${s.duplicates} ≤ ${boundSum} (windows at kill: ${windows.join(', ')}; torn lines ${c.torn})`);
  t.ok(windows.every((w, i) => w <= bounds[i]), `each kill: shipped-but-not-persisted window within its bound (${windows.join(', ')} ≤ ${bounds.join(', ')}; positions ${persistedAges.map(Math.round).join(', ')} ms old)`);
  // ≤, not =: two kills before positions moved count the same window twice.
  const windowSum = windows.reduce((a, b) => a + b, 0);
  t.ok(s.duplicates <= windowSum, `every duplicate lies in a kill window (${s.duplicates} ≤ ${windowSum})`);
  t.comment(`kill -9 ×5: duplicates ${s.duplicates}, per-kill windows ${windows.join(', ')}, torn sink lines ${c.torn}`);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
