/**
 * positions.import_promtail: Promtail's positions file (`positions: {path: "offset"}`, the
 * format Promtail's positions package writes) read at logship's first start.
 */
import t from 'tap';
import { openSync, closeSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { PromtailPositionsImport } from '../../src/positions/promtail-import.ts';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join('');

t.test('offsets are taken only when they still fit the file, each once', async (t) => {
  const dir = tempDir();
  const files = { good: join(dir, 'good.log'), short: join(dir, 'short.log'), mid: join(dir, 'mid.log'), zero: join(dir, 'zero.log'), bad: join(dir, 'bad.log') };
  writeFileSync(files.good, lines(0, 10));
  writeFileSync(files.short, lines(0, 2));
  writeFileSync(files.mid, lines(0, 10));
  writeFileSync(files.zero, lines(0, 3));
  writeFileSync(files.bad, lines(0, 3));
  const at4 = Buffer.byteLength(lines(0, 4));
  writeFileSync(join(dir, 'positions.yaml'), `positions:\n  ${files.good}: "${at4}"\n  ${files.short}: "${at4}"\n  ${files.mid}: "${at4 + 2}"\n  ${files.zero}: "0"\n  ${files.bad}: "x1"\n  journal-systemd: "s=abc;i=12"\n`);
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const imp = await PromtailPositionsImport.load(join(dir, 'positions.yaml'), createLogger('silent'), metrics);
  const offset = async (p: string) => {
    const fd = openSync(p, 'r');
    try {
      return await imp.offsetFor(p, statSync(p).size, fd);
    } finally {
      closeSync(fd);
    }
  };
  t.equal(await offset(files.good), at4, 'a line start within the file');
  t.equal(await offset(files.good), undefined, 'used once: a later file at the same path starts as configured');
  t.equal(await offset(files.short), undefined, 'beyond the end: truncated or replaced');
  t.equal(await offset(files.mid), undefined, 'not a line start');
  t.equal(await offset(files.zero), 0);
  t.equal(await offset(files.bad), undefined, 'not a number');
  writeFileSync(join(dir, 'unknown.log'), lines(0, 5));
  t.equal(await offset(join(dir, 'unknown.log')), undefined, 'a file Promtail did not know');
  const text = await metrics.metrics();
  t.match(text, /logship_positions_imported_total\{result="imported",reason=""\} 2/);
  t.match(text, /logship_positions_imported_total\{result="refused",reason="beyond_end"\} 1/);
  t.match(text, /logship_positions_imported_total\{result="refused",reason="not_line_start"\} 1/);
  t.match(text, /logship_positions_imported_total\{result="refused",reason="invalid_offset"\} 1/);
  const none = await PromtailPositionsImport.load(join(dir, 'nope.yaml'), createLogger('silent'), metrics);
  t.equal(none.pending, 0, 'a missing file imports nothing');
});

t.test('the daemon continues at Promtail\'s offset at its first start only', async (t) => {
  const dir = tempDir();
  const log = join(dir, 'app.log');
  writeFileSync(log, lines(0, 10));
  writeFileSync(join(dir, 'promtail.yaml'), `positions:\n  ${log}: "${Buffer.byteLength(lines(0, 6))}"\n`);
  const port = await freePort();
  const out = join(dir, 'out.ndjson');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/positions.json", sync_interval: 100ms, import_promtail: "${dir}/promtail.yaml" }
sources: [{ name: app, paths: ["${dir}/*.log"], parser: raw, start_at: beginning }]
sinks: [{ type: file, path: "${out}" }]
`);
  const run = async (until: number) => {
    const d = new DaemonProcess(['run', '--config', cfg]);
    t.teardown(() => d.kill('SIGKILL'));
    await d.waitHttp(port);
    await waitFor(`${until} lines shipped`, () => readNdjson(out).length >= until);
    await d.kill('SIGTERM');
    return d.stderr;
  };
  const stderr = await run(4);
  t.same(readNdjson<{ message: string }>(out).map((r) => r.message), ['line 6', 'line 7', 'line 8', 'line 9']);
  t.match(stderr, /imported the Promtail position/);
  // logship's own position wins from now on; Promtail's file is not read again.
  writeFileSync(log, lines(0, 12));
  await run(6);
  t.same(readNdjson<{ message: string }>(out).map((r) => r.message), ['line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11']);
});
