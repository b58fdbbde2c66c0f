import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, graceForLateEvents, sleep, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { appendSeq, config, rssKiB } from './cli-support.ts';

/**
 * The sink is a named pipe this test reads: pausing the reader stalls the sink's writes (the
 * pipe fills), exactly like a destination that accepts nothing for a minute. Lines keep coming
 * and the file rotates twice meanwhile.
 */
t.test('sink down 60 s while lines keep coming and the file rotates twice: 0 lost, RSS flat', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'data'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  const fifo = join(dir, 'data', 'sink.fifo');
  execFileSync('mkfifo', [fifo]);
  const seen = new Map<number, number>();
  let rest = '';
  const reader = createReadStream(fifo, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  reader.on('data', (chunk: string | Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      const seq = (JSON.parse(l) as { metadata: { seq: number } }).metadata.seq;
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    }
  });
  const port = await freePort();
  const cfg = await writeConfig(dir, config(dir, port, { budget: '8MiB', sink: `{ type: file, path: "${fifo}", fsync: false, max_wait: 100ms }` }));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => {
    reader.destroy();
    return d.kill('SIGKILL');
  });
  await d.waitHttp(port);
  const pid = d.child.pid!;
  let written = 0;
  const writeFor = async (ms: number, onSecond?: (s: number) => void) => {
    const end = Date.now() + ms;
    for (let s = 0; Date.now() < end; s++) {
      const tick = Date.now();
      for (let i = 0; i < 10; i++) {
        appendSeq(log, written, 200, 100); // 2,000 lines/s of ~150 bytes
        written += 200;
        await sleep(Math.max(0, tick + (i + 1) * 100 - Date.now())); // paces the writer: nothing asserted waits on it
      }
      onSecond?.(s);
    }
  };
  // Before: 10 s with the sink up; the baseline is the highest RSS of the last 5 s.
  const before: number[] = [];
  await writeFor(10_000, (s) => {
    if (s >= 5) before.push(rssKiB(pid));
  });
  await waitFor('caught up before the outage', () => seen.size >= written, 20_000);
  const baseline = Math.max(...before);
  // Outage: nothing is read from the pipe for 60 s.
  reader.pause();
  const during: number[] = [];
  await writeFor(60_000, (s) => {
    during.push(rssKiB(pid));
    if (s === 19) renameSync(log, `${log}.1`);
    if (s === 39) {
      renameSync(`${log}.1`, `${log}.2`);
      renameSync(log, `${log}.1`);
    }
  });
  const shippedDuringOutage = seen.size;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const bp = Number(/^logship_backpressure_seconds_total (\S+)$/m.exec(metrics)?.[1] ?? 0);
  reader.resume();
  await waitFor('every line after the sink returns', () => seen.size >= written, 60_000, 200);
  await graceForLateEvents(500); // duplicates would show up
  let missing = 0;
  let duplicates = 0;
  for (let i = 0; i < written; i++) {
    const n = seen.get(i) ?? 0;
    if (n === 0) missing++;
    else duplicates += n - 1;
  }
  const peak = Math.max(...during);
  t.comment(`outage: ${written} lines written, RSS before ${Math.round(baseline / 1024)} MiB, peak during ${Math.round(peak / 1024)} MiB, backpressure ${bp.toFixed(1)} s, shipped when the outage ended ${shippedDuringOutage}`);
  t.equal(missing, 0, '0 lines lost');
  t.equal(duplicates, 0, 'none twice');
  t.ok(peak <= 2 * baseline, `peak RSS ${peak} KiB within 2× ${baseline} KiB`);
  t.ok(bp > 20, `tailers paused on the budget (${bp.toFixed(1)} s)`);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
