import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, sleep, waitFor, writeConfig } from '../support/daemon.ts';
import { appendSeq, config, emptyAppLog, shippedSeqs, summarize } from '../sources/cli-support.ts';

t.test('positions file filled with NUL bytes: the daemon starts, reports it, resumes from the backup', async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const cfg = await writeConfig(dir, config(dir, port));
  let d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  appendSeq(log, 0, 5000);
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('first lines', () => shippedSeqs(out).counts.size >= 5000);
  t.equal((await d.kill('SIGTERM')).code, 0);
  const positions = join(dir, 'data', 'positions.json');
  const bak = JSON.parse(readFileSync(`${positions}.bak`, 'utf8')) as { files: Record<string, { offset: number }> };
  t.equal(Object.values(bak.files)[0].offset, statSync(log).size, 'the backup generation holds the final offset');
  writeFileSync(positions, Buffer.alloc(statSync(positions).size)); // what a crash mid-write on some file systems leaves
  appendSeq(log, 5000, 1000);
  d = new DaemonProcess(['run', '--config', cfg]);
  await d.waitHttp(port);
  await waitFor('new lines', () => shippedSeqs(out).counts.size >= 6000);
  await sleep(800);
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
