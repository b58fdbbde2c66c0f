import t, { type Test } from 'tap';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LokiTestServer } from '../servers/loki-server.ts';
import { DaemonProcess, ROOT, builtBundle, freePort, readNdjson, runCli, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

// The bundle (scripts/bundle.ts) is what the npm bin, `npm start`, the image and the systemd unit
// run; the other tests run the sources. These run the real bundle end to end: its lazily loaded
// chunks (parse, convert, print-config, the status page, the Loki sink) and the one
// module it leaves out (snappy's native addon) included.
const CLI = builtBundle(); // StaleBuildError, naming a file, when older than the sources

t.test('--version, and an invalid config fails naming the key', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = await runCli(['--version'], { cli: CLI });
  t.equal(v.code, 0, v.stderr);
  t.equal(v.stdout.trim(), pkg.version);
  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources: [ { name: app, paths: ["${dir}/*.log"], start_at: middle } ]
sinks: [ { type: loki, url: "http://127.0.0.1:3100", batch: { max_bytes: lots } } ]
`);
  const bad = await runCli(['validate', '--config', cfg], { cli: CLI });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /sources\[0\]\.start_at:/);
  t.match(bad.stderr, /sinks\[0\]\.batch\.max_bytes: expected a size like "1MiB", got "lots"/);
  const run = await runCli(['run', '--config', cfg], { cli: CLI });
  t.equal(run.code, 2, 'run refuses it too, before starting');
  t.match(run.stderr, /sinks\[0\]\.batch\.max_bytes/);
  const printed = await runCli(['validate', '--print-config'], { cli: CLI });
  t.equal(printed.code, 0, printed.stderr);
  t.match(printed.stdout, /^sources:/m, 'the effective default config as YAML');
});

t.test('parse and convert (lazily loaded chunks)', async (t) => {
  const p = await runCli(['parse', '--parser', 'json'], { cli: CLI, input: '{"level":"error","msg":"payment failed","password":"hunter2"}\n' });
  t.equal(p.code, 0, p.stderr);
  const rec = JSON.parse(p.stdout.trim()) as { level: string; message: string };
  t.equal(rec.level, 'ERROR');
  t.equal(rec.message, 'payment failed');
  t.notMatch(p.stdout, /hunter2/, 'redacted');
  const args = ['convert', '--from', 'promtail', join(ROOT, 'test', 'fixtures', 'promtail', 'bench.yaml')];
  const [bundled, sources] = [await runCli(args, { cli: CLI }), await runCli(args)];
  t.equal(bundled.code, sources.code);
  t.match(bundled.stdout, /^sources:/m);
  t.equal(bundled.stdout, sources.stdout, 'the same config as the sources print');
  t.equal(bundled.stderr, sources.stderr, 'the same notes on what was left out');
});

/**
 * The bundle running on a config that tails a new, empty `app.log` (json) into a file sink
 * `out.ndjson` plus `moreSinks`, with `top` added at the top level; ready, and killed with the test.
 */
async function runBundle(t: Test, o: { top?: string; moreSinks?: string; noTapHook?: boolean } = {}): Promise<{ dir: string; port: number; log: string; d: DaemonProcess }> {
  const dir = tempDir();
  const port = await freePort();
  const log = join(dir, 'app.log');
  writeFileSync(log, '');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/positions.json" }
${o.top ?? ''}
sources: [ { name: app, paths: ["${log}"], parser: json, start_at: beginning } ]
sinks:
  - { type: file, path: "${dir}/out.ndjson" }
${o.moreSinks ?? ''}
`);
  const d = new DaemonProcess(['run', '--config', cfg], { cli: CLI, noTapHook: o.noTapHook });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port, '/ready');
  return { dir, port, log, d };
}

t.test('run: ready, ships appended lines to a file and to Loki (snappy), serves the status page', async (t) => {
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const { dir, port, log, d } = await runBundle(t, { moreSinks: `  - { type: loki, url: "${loki.url}", batch: { max_wait: 100ms } }` });
  for (let i = 0; i < 50; i++) appendFileSync(log, `{"level":"info","service":"shop","msg":"order ${i}"}\n`);
  const shipped = await waitFor('50 records in the file sink', () => {
    const recs = readNdjson<{ message: string }>(join(dir, 'out.ndjson'));
    return recs.length >= 50 ? recs : null;
  });
  t.same(shipped.map((r) => r.message), Array.from({ length: 50 }, (_, i) => `order ${i}`));
  await waitFor('50 entries in Loki', () => (loki.allEntries().length >= 50 ? true : null));
  t.equal(loki.allEntries().length, 50);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  t.equal(page.status, 200);
  t.match(await page.text(), /<html/i, 'the status page chunk loads');
  const exit = await d.kill('SIGTERM');
  t.equal(exit.code, 0, 'SIGTERM: drained, exit 0');
});

t.test('run with a pipeline worker thread: the bundle starts its second entry, pipeline-worker.js', async (t) => {
  const { dir, log, d } = await runBundle(t, { top: 'workers: { threads: 1 }' });
  for (let i = 0; i < 20; i++) appendFileSync(log, `{"level":"warn","service":"shop","msg":"slow ${i}"}\n`);
  const shipped = await waitFor('20 records parsed by the worker', () => {
    const recs = readNdjson<{ level: string; service: string; message: string }>(join(dir, 'out.ndjson'));
    return recs.length >= 20 ? recs : null;
  });
  t.same(shipped.map((r) => [r.level, r.service, r.message]), Array.from({ length: 20 }, (_, i) => ['WARN', 'shop', `slow ${i}`]));
  t.notMatch(d.stderr, /worker.*(crash|exit|error)/i, 'the worker neither crashed nor failed to start');
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('the young generation: at its initial size when ready (src/launch.ts), grows to its cap under a backlog', async (t) => {
  const MiB = 1024 * 1024;
  // Without tap's preload hook, which allocates before the launcher runs.
  const { port, log, d } = await runBundle(t, { noTapHook: true });
  const newSpace = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(text)?.[1]);
  };
  // Without the launcher's flag the start's survivors grow it to the cap (8 MiB) before /ready.
  t.equal(await newSpace(), 2 * MiB, 'two 1 MiB semi-spaces at /ready');
  // Records alive across scavenges: V8 grows it again only if cli.ts gave the growth factor back.
  // A batch at a time until it has grown (a loaded machine reads them slower: up to 300 batches).
  let grown = 0;
  for (let batch = 0; batch < 300 && grown < 8 * MiB; batch++) {
    appendFileSync(log, Array.from({ length: 5000 }, (_, i) => `{"level":"info","service":"shop","msg":"order ${batch}-${i}","user":{"id":${i},"tags":["a","b"]}}\n`).join(''));
    await new Promise((r) => setTimeout(r, 100));
    grown = await newSpace();
  }
  t.equal(grown, 8 * MiB, 'two 4 MiB semi-spaces (--max-semi-space-size=4) once lines flow');
  t.equal((await d.kill('SIGTERM')).code, 0);
});
