import t from 'tap';
import { copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, graceForLateEvents, sleep, waitFor, writeConfig } from '../../support/daemon.ts';
import { appendSeq, config, emptyAppLog, shipFirstLines, shippedSeqs, summarize } from '../cli-support.ts';

interface Status { sources: Array<{ files: Array<{ path: string; key: string; offset: number; size: number }> }> }

/** The read offset logship reports for the file now at `path` (by identity: a rotated generation keeps its old path in the status). */
async function readOffset(port: number, path: string): Promise<number> {
  const st = statSync(path);
  const s = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as Status;
  return s.sources[0].files.find((f) => f.key === `${st.dev}:${st.ino}`)?.offset ?? -1;
}

t.test('200,000 lines through 5 renames and 2 copytruncates: each line exactly once', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, config(dir, port));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('tailing', async () => (await readOffset(port, log)) === 0);
  const total = 200_000;
  const chunk = 2000;
  // Rotation points (in chunks): renames while logship is behind, copytruncates once it read up to the end.
  const renames = new Set([10, 25, 40, 55, 85]);
  const copytruncates = new Set([70, 95]);
  let rotated = 0;
  for (let c = 0; c < total / chunk; c++) {
    if (renames.has(c)) {
      // logship has this generation open (and is behind on it): on a loaded machine it might not
      // have seen it yet, and a generation it never saw is found another way, not counted as a rotation.
      await waitFor('the current generation open', async () => (await readOffset(port, log)) >= 0, 30_000);
      renameSync(log, `${log}.${++rotated}`); // the app reopens its log: new inode at the same path
    } else if (copytruncates.has(c)) {
      // copytruncate loses what the shipper has not read when the truncate happens (for every
      // shipper; see README): like a sane logrotate schedule, wait until it has read to the end.
      const size = statSync(log).size;
      await waitFor('read to the end before copytruncate', async () => (await readOffset(port, log)) >= size, 30_000);
      copyFileSync(log, `${log}.${++rotated}`);
      truncateSync(log, 0);
    }
    appendSeq(log, c * chunk, chunk);
    // Paces the writer so logship reads while it writes; nothing asserted depends on how long it is.
    await sleep(c % 5 === 0 ? 20 : 2);
  }
  const out = join(dir, 'data', 'shipped.ndjson');
  // On a timeout, fall through to the summary so the failure says which lines are missing.
  const complete = await waitFor('all lines shipped', () => shippedSeqs(out).counts.size >= total, 60_000, 200).then(() => true, () => false);
  t.ok(complete, 'all lines shipped within 60 s');
  await graceForLateEvents(1500); // a wrong re-read would show up
  const s = summarize(shippedSeqs(out), total);
  t.same(s.missing.slice(0, 10), [], `missing: ${s.missing.length} (first: ${s.missing.slice(0, 10).join(', ')})`);
  t.equal(s.duplicates, 0, 'no line read twice');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /logship_rotations_total\{source="app"\} 5/);
  t.match(metrics, /logship_truncations_total\{source="app"\} 2/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('copytruncate while logship is far behind: the copy is recognised by its head and read from where the original was', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  // A tiny budget and a slow-acking sink keep logship behind the writer.
  const d = new DaemonProcess(['run', '--config', await writeConfig(dir, config(dir, port, { budget: '64KiB' }))]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('tailing', async () => (await readOffset(port, log)) === 0);
  appendSeq(log, 0, 50_000);
  await waitFor('reading', async () => (await readOffset(port, log)) > 0);
  t.ok((await readOffset(port, log)) < statSync(log).size, 'behind when the rotation happens');
  copyFileSync(log, `${log}.1`);
  truncateSync(log, 0);
  appendSeq(log, 50_000, 1000);
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= 51_000, 60_000, 200);
  await graceForLateEvents(1500); // a wrong re-read of the copy would show up
  const s = summarize(shippedSeqs(out), 51_000);
  t.equal(s.missing.length, 0, 'nothing lost in the copy');
  t.equal(s.duplicates, 0, 'the copy is not re-read from its start');
  t.match(d.stderr, /copy of a truncated file/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('deleted while unread: the open file is read to EOF, then closed', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const d = new DaemonProcess(['run', '--config', await writeConfig(dir, config(dir, port, { budget: '256KiB' }))]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('tailing', async () => (await readOffset(port, log)) === 0);
  appendSeq(log, 0, 20_000);
  unlinkSync(log);
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= 20_000, 30_000);
  const s = summarize(shippedSeqs(out), 20_000);
  t.equal(s.missing.length, 0);
  t.equal(s.duplicates, 0);
  await waitFor('file closed', async () => {
    const st = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as Status;
    return st.sources[0].files.length === 0;
  }, 10_000);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('rotated while logship was stopped: the old generation is finished, the new one read whole', async (t) => {
  const run = await shipFirstLines((fn) => t.teardown(fn), { lines: 5000 });
  const { log, out } = run;
  t.equal((await run.daemon.kill('SIGTERM')).code, 0);
  // While stopped: more lines, rotation by rename (twice: app.log.1 → app.log.2), new lines in the new file.
  appendSeq(log, 5000, 3000);
  renameSync(log, `${log}.1`);
  appendSeq(log, 8000, 1000);
  renameSync(`${log}.1`, `${log}.2`);
  renameSync(log, `${log}.1`);
  appendSeq(log, 9000, 1000);
  const d = await run.restart();
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= 10_000, 20_000);
  await graceForLateEvents(800); // a wrong re-read would show up
  const s = summarize(shippedSeqs(out), 10_000);
  t.equal(s.missing.length, 0, 'the rest of app.log.2 was read (not skipped)');
  t.equal(s.duplicates, 0, 'nothing re-read');
  t.match(d.stderr, /rotated generation with unread lines/);
  t.match(d.stderr, /unseen rotated generation/);
  t.equal((await d.kill('SIGTERM')).code, 0);
  t.notMatch(d.stderr, /"level":50/, 'no errors logged');
});

t.test('renamed to a name the globs still match: not read twice', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const d = new DaemonProcess(['run', '--config', await writeConfig(dir, config(dir, port, { paths: [`${dir}/logs/app.log*`], budget: '512KiB', source: ', rescan_interval: 1s' }))]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('tailing', async () => (await readOffset(port, log)) === 0);
  for (let r = 1; r <= 3; r++) {
    appendSeq(log, (r - 1) * 10_000, 10_000);
    for (let k = r - 1; k >= 1; k--) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, '');
    await sleep(300); // paces the rotations; nothing asserted depends on it
  }
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('all lines', () => shippedSeqs(out).counts.size >= 30_000, 30_000);
  // Spans rescans (every 1 s here), which see every generation under its new name: a wrong
  // re-read would show up.
  await graceForLateEvents(3_000);
  const s = summarize(shippedSeqs(out), 30_000);
  t.equal(s.missing.length, 0);
  t.equal(s.duplicates, 0);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

/**
 * Issue 22, item 9: files beside a rotated log that the globs do not match are someone else's
 * (a lock, an editor's temp file, a manual backup): never shipped, while logship runs and across
 * a restart. Only rotation names (app.log.1, app.log-20240101) are followed, to drain them.
 */
t.test('app.log.lock, app.log.tmp and app.log-backup.txt beside a rotated log never ship; app.log.1 and app.log-20260101 are drained', async (t) => {
  const run = await shipFirstLines((fn) => t.teardown(fn), { lines: 100 });
  const { log, port, out } = run;
  const sidecars = [`${log}.lock`, `${log}.tmp`, `${log}-backup.txt`, `${log}.swp`, `${log}.1.bak`];
  // Sequence numbers ≥ 1,000,000 mark the lines that must never ship.
  sidecars.forEach((p, i) => appendSeq(p, 1_000_000 + i * 10, 10));
  renameSync(log, `${log}.1`); // rotation while running: the rotated-generation scan runs
  appendSeq(`${log}.1`, 100, 50); // written under the old name after the rename: drained
  appendSeq(log, 150, 50);
  await waitFor('the rotated and the new file', () => shippedSeqs(out).counts.size >= 200);
  t.equal((await run.daemon.kill('SIGTERM')).code, 0);
  // While stopped: a dateext rotation, new sidecars, then a restart (the startup scan).
  appendSeq(log, 200, 50);
  renameSync(log, `${log}-20260101`);
  appendSeq(log, 250, 50);
  sidecars.forEach((p, i) => appendSeq(p, 1_000_000 + 100 + i * 10, 10));
  const d = await run.restart();
  await waitFor('all 300 lines', () => shippedSeqs(out).counts.size >= 300);
  // three rescans and a rotation-scan round after the last line: a leaked sidecar would show up
  await graceForLateEvents(1000);
  const c = shippedSeqs(out);
  const leaked = [...c.counts.keys()].filter((k) => k >= 1_000_000);
  t.same(leaked, [], 'nothing from the sidecar files');
  const s = summarize(c, 300);
  t.same({ missing: s.missing.length, duplicates: s.duplicates }, { missing: 0, duplicates: 0 }, 'app.log, app.log.1 and app.log-20260101 exactly once');
  const st = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Status;
  t.notOk(st.sources[0].files.some((f) => sidecars.includes(f.path)), 'no sidecar is open');
  t.equal((await d.kill('SIGTERM')).code, 0);
});
