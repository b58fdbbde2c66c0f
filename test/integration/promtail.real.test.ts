/**
 * Moving off Promtail (issue 25), against the real thing: Promtail 3.4.6 and Loki 3.4.6 from
 * ../shared/peers (skipped, with the reason printed, when that directory is absent).
 *
 * 1. Side by side: Promtail and the converted logship ship the same files into two Lokis; the
 *    stored streams are compared (label sets, line counts, timestamps).
 * 2. Hand-over: Promtail ships half a file and is stopped; logship starts on the converted config
 *    (which imports Promtail's positions) and every line is stored exactly once in one Loki.
 */
import t, { type Test } from 'tap';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { convertPromtail } from '../../src/convert/promtail/convert.ts';
import { DaemonProcess, freePort, tempDir, waitFor } from '../support/daemon.ts';
import { LokiProcess, PEERS_DIR } from '../support/loki-process.ts';
import { PromtailProcess } from '../support/promtail-process.ts';

const PROMTAIL_BIN = join(PEERS_DIR, 'bin', 'promtail');
const LOKI_BIN = join(PEERS_DIR, 'bin', 'loki');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'promtail');

type Stream = { stream: Record<string, string>; values: Array<[string, string]> };

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The corpus: every job of side-by-side.yaml gets lines; times within the last hour (Loki rejects > 7 d). */
function writeCorpus(logs: string): { total: number; dropped: number } {
  const t0 = Date.now() - 3_600_000;
  const iso = (i: number) => new Date(t0 + i * 1000).toISOString();
  let total = 0;
  let dropped = 0;
  const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i) + '\n').join('');
  // The platform's own format (seed-log-formats.md §1a) for the two app jobs.
  write(join(logs, 'cf1-frontend', 'app.log'), lines(20, (i) => JSON.stringify({ timestamp: iso(i), level: 'INFO', service: 'cf1-frontend', message: `page ${i}` })));
  write(join(logs, 'cf1-backend', 'app.log'), lines(15, (i) => JSON.stringify({ timestamp: iso(i), level: i % 5 ? 'INFO' : 'ERROR', service: 'cf1-backend', message: `req ${i}` })));
  total += 35;
  // Docker json-file with the --log-opt tag the containerlogs job parses.
  write(join(logs, 'docker-tagged', 'abc', 'abc-json.log'), lines(10, (i) => JSON.stringify({ log: `tagged ${i}\n`, stream: i % 3 ? 'stdout' : 'stderr', attrs: { tag: 'nginx:1.25|web|sha256:1|abc' }, time: iso(i) })));
  total += 10;
  write(join(logs, 'api', 'api.log'), lines(30, (i) => JSON.stringify({ timestamp: new Date(t0 + i * 1000 + 1).toISOString().replace('Z', `${String(i).padStart(3, '0')}Z`), level: ['INFO', 'WARN', 'ERROR', 'DEBUG'][i % 4], service: i % 2 ? 'api' : 'billing', trace_id: `t${i}`, message: `call ${i}` })));
  total += 30;
  dropped += 7; // i % 4 === 3: DEBUG, dropped by the match stage (i = 3, 7, ..., 27)
  const clf = (i: number) => new Date(t0 + i * 1000).toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
  write(join(logs, 'nginx', 'access.log'), lines(25, (i) => `10.0.0.${i} - - [${clf(i)}] "${i % 5 === 4 ? 'GET /healthz' : i % 2 ? 'POST /api/pay' : 'GET /api/doc'} HTTP/1.1" ${i % 7 === 0 ? 503 : 200} ${(i * 97) % 2000} "-" "curl"`));
  total += 25;
  dropped += 5; // health checks
  write(join(logs, 'containers', 'c1', 'c1-json.log'), lines(12, (i) => JSON.stringify({ log: `docker line ${i}\n`, stream: i % 2 ? 'stderr' : 'stdout', time: new Date(t0 + i * 1000).toISOString().replace('Z', '123456Z') })));
  total += 12;
  // CRI: a partial line joined (P then F), a Java stack trace joined by multiline.
  const cri = (i: number, tag: string, text: string) => `${new Date(t0 + i * 1000).toISOString().replace('Z', '000001Z')} stdout ${tag} ${text}`;
  const pod: string[] = [];
  for (let i = 0; i < 10; i++) pod.push(cri(i, 'F', `2024-01-15 10:00:0${i} INFO started step ${i}`));
  pod.push(cri(10, 'P', '2024-01-15 10:00:10 ERROR failed to'), cri(10, 'F', ' connect'));
  pod.push(cri(11, 'F', '2024-01-15 10:00:11 ERROR boom'), cri(11, 'F', '\tat com.example.A.run(A.java:1)'), cri(11, 'F', '\tat com.example.B.run(B.java:2)'));
  pod.push(cri(12, 'F', '2024-01-15 10:00:12 WARN last'));
  write(join(logs, 'pods', 'prod_api-1_uid', 'api', '0.log'), pod.join('\n') + '\n');
  total += 13 - 0; // 10 + joined partial + joined trace + last
  write(join(logs, 'worker', 'worker.log'), lines(10, (i) => `ts=${t0 + i * 1000 + 7} lvl=${i % 2 ? 'info' : 'warn'} msg="job ${i} done" extra=x`));
  total += 10;
  return { total, dropped };
}

/** Streams of a Loki as "labels → sorted `timestamp line`" (structured metadata counts as labels in query results). */
async function stored(loki: LokiProcess, query = '{job=~".+"}'): Promise<Map<string, string[]>> {
  const streams: Stream[] = await loki.queryRange(query);
  const out = new Map<string, string[]>();
  for (const s of streams) {
    const key = JSON.stringify(Object.fromEntries(Object.entries(s.stream).sort(([a], [b]) => (a < b ? -1 : 1))));
    out.set(key, [...(out.get(key) ?? []), ...s.values.map(([ts, line]) => `${ts} ${line}`)].sort());
  }
  return out;
}

/** `promtail_custom_*` samples of a /metrics page, labels sorted, empty labels left out (as Prometheus reads them). */
async function customMetrics(port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('promtail_custom_')).map((l) => {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(l)!;
    const labels = (m[2] ?? '').match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
    return `${m[1]}{${labels.filter((x) => !x.endsWith('=""')).sort().join(',')}} ${Number(m[3])}`;
  }).sort();
}

const count = (m: Map<string, string[]>) => [...m.values()].reduce((n, v) => n + v.length, 0);

/** The converted config for this run: ${VAR}s are left for logship to expand from its environment. */
function converted(file: string, t: Test, expectIssues: string[] = []): string {
  const res = convertPromtail(readFileSync(file, 'utf8'), file);
  t.same(res.issues.map((i) => i.path), expectIssues, 'conversion report');
  return res.yaml;
}

if (!existsSync(PROMTAIL_BIN) || !existsSync(LOKI_BIN)) {
  t.plan(0, `${PEERS_DIR}/bin/promtail and bin/loki are not there: skipping the tests against the real Promtail and Loki`);
} else {
  t.test('Promtail and the converted logship store the same streams', { timeout: 90_000 }, async (t) => {
    const lokiP = new LokiProcess(LOKI_BIN);
    const lokiL = new LokiProcess(LOKI_BIN);
    t.teardown(() => Promise.all([lokiP.stop('SIGKILL'), lokiL.stop('SIGKILL')]));
    await Promise.all([lokiP.start(), lokiL.start()]);

    const dir = tempDir('logship-promtail-');
    const logs = join(dir, 'logs');
    const { total, dropped } = writeCorpus(logs);
    const fixture = join(FIXTURES, 'side-by-side.yaml');
    const envP = { LOGS: logs, LOKI_URL: lokiP.url, POSITIONS_DIR: join(dir, 'promtail'), HTTP_PORT: String(await freePort()) };
    const envL = { LOGS: logs, LOKI_URL: lokiL.url, POSITIONS_DIR: join(dir, 'logship'), HTTP_PORT: String(await freePort()) };
    mkdirSync(envP.POSITIONS_DIR);
    mkdirSync(envL.POSITIONS_DIR);
    const cfg = join(dir, 'logship.yaml');
    writeFileSync(cfg, converted(fixture, t));

    const promtail = new PromtailProcess(PROMTAIL_BIN, fixture, envP);
    t.teardown(() => promtail.stop('SIGKILL'));
    const logship = new DaemonProcess(['run', '--config', cfg], { env: envL });
    t.teardown(() => logship.kill('SIGKILL'));

    const want = total - dropped;
    const [fromPromtail, fromLogship] = await Promise.all([
      waitFor(`Promtail's ${want} entries (${promtail.output.slice(-300)})`, async () => { const m = await stored(lokiP); return count(m) >= want ? m : null; }, 60_000, 500),
      waitFor(`logship's ${want} entries`, async () => { const m = await stored(lokiL); return count(m) >= want ? m : null; }, 60_000, 500),
    ]);
    t.equal(count(fromPromtail), want, 'Promtail stored every line it keeps');
    t.equal(count(fromLogship), want, 'logship stored as many');
    t.same([...fromLogship.keys()].sort(), [...fromPromtail.keys()].sort(), 'the same label sets (structured metadata included)');
    // The platform's three jobs have no timestamp stage: both use the time they read the line.
    const readTime = (key: string) => /"job":"(cf1-frontend|cf1-backend|containerlogs)"/.test(key);
    const lines = (entries: string[]) => entries.map((e) => e.slice(e.indexOf(' ') + 1)).sort();
    // Promtail's docker stage keeps the json-file `log` field's final newline in the line; logship's
    // docker source ships the line without it (README "Migrating from Promtail").
    const docker = (key: string, entries: string[]) => (key.includes('"job":"docker"') ? entries.map((e) => e.replace(/\n$/, '')) : entries);
    for (const [key, all] of fromPromtail) {
      const entries = docker(key, all);
      const mine = fromLogship.get(key) ?? [];
      t.equal(mine.length, entries.length, `line count of ${key}`);
      if (!readTime(key)) t.same(mine, entries, `timestamps and lines of ${key}`);
      else t.same(lines(mine), lines(entries), `lines of ${key}`);
    }
    // The nginx job's custom metrics: the same series (stream labels) and values on both /metrics.
    const [mp, ml] = await Promise.all([customMetrics(Number(envP.HTTP_PORT)), customMetrics(Number(envL.HTTP_PORT))]);
    t.ok(mp.length > 10, `Promtail exported its custom metrics (${mp.length} samples)`);
    t.same(ml, mp, 'logship exports the same promtail_custom_* samples');
  });

  t.test('stop Promtail half way through a file, start logship: every line stored exactly once', { timeout: 90_000 }, async (t) => {
    const loki = new LokiProcess(LOKI_BIN);
    t.teardown(() => loki.stop('SIGKILL'));
    await loki.start();
    const dir = tempDir('logship-handover-');
    const logs = join(dir, 'logs');
    const file = join(logs, 'api', 'api.log');
    const replaced = join(logs, 'api', 'old.log');
    const t0 = Date.now() - 600_000;
    const line = (i: number) => JSON.stringify({ timestamp: new Date(t0 + i).toISOString(), level: 'INFO', service: 'api', trace_id: `t${i}`, message: `seq ${i}` }) + '\n';
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => line(a + k)).join('');
    write(file, range(0, 500));
    write(replaced, range(10_000, 10_300));
    const fixture = join(dir, 'promtail.yaml');
    writeFileSync(fixture, readFileSync(join(FIXTURES, 'bench.yaml'), 'utf8').replace('server:\n  disable: true', 'server:\n  http_listen_address: 127.0.0.1\n  http_listen_port: ${HTTP_PORT}\n  grpc_listen_port: 0').replace(/clients:\n  - url: .*/, 'clients:\n  - url: ${LOKI_URL}/loki/api/v1/push\n    batchwait: 200ms'));
    const env = { CORPUS: join(logs, 'api', '*.log'), LOKI_URL: loki.url, POSITIONS_DIR: dir, SINK_PORT: '0', HTTP_PORT: String(await freePort()) };

    const promtail = new PromtailProcess(PROMTAIL_BIN, fixture, env);
    t.teardown(() => promtail.stop('SIGKILL'));
    await waitFor(`Promtail shipped 800 lines (${promtail.output.slice(-300)})`, async () => (await loki.query('sum(count_over_time({job="promtail"}[1h]))'))[0]?.value[1] === '800', 60_000, 300);
    t.equal((await promtail.stop('SIGTERM')).code, 0, 'Promtail stopped cleanly');
    const positions = (parse(readFileSync(join(dir, 'positions.yaml'), 'utf8')) as { positions: Record<string, string> }).positions;
    t.equal(Number(positions[file]), Buffer.byteLength(range(0, 500)), 'Promtail saved its offset half way through the file');

    // While nothing runs: the file grows, the other file is replaced by a shorter one, a new file appears.
    appendFileSync(file, range(500, 1000));
    writeFileSync(replaced, range(20_000, 20_100));
    write(join(logs, 'api', 'new.log'), range(30_000, 30_050));

    const cfg = join(dir, 'logship.yaml');
    writeFileSync(cfg, converted(fixture, t));
    const port = Number(env.HTTP_PORT);
    const logship = new DaemonProcess(['run', '--config', cfg], { env });
    t.teardown(() => logship.kill('SIGKILL'));
    const expected = 500 + 100 + 50;
    const metric = async (re: RegExp) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split('\n').filter((l) => re.test(l)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    await waitFor(`logship sent ${expected} entries (${logship.stderr.slice(-500)})`, async () => (await metric(/^logship_sink_sent_entries_total\{/)) >= expected, 60_000, 300);
    t.equal(await metric(/^logship_sink_sent_entries_total\{/), expected, 'logship sent only what Promtail had not: nothing twice');
    t.equal(await metric(/^logship_positions_imported_total\{result="imported"/), 1, 'one offset imported');
    t.equal(await metric(/^logship_positions_imported_total\{result="refused",reason="beyond_end"/), 1, 'the replaced file\'s offset refused');
    t.match(logship.stderr, /imported the Promtail position/);

    const streams: Stream[] = await loki.queryRange('{job="promtail"}');
    const seqs = streams.flatMap((s) => s.values.map(([, l]) => Number(/seq (\d+)/.exec(l)![1]))).sort((a, b) => a - b);
    const want = [...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 300 }, (_, i) => 10_000 + i), ...Array.from({ length: 100 }, (_, i) => 20_000 + i), ...Array.from({ length: 50 }, (_, i) => 30_000 + i)];
    t.same(seqs, want, 'every line of every file exactly once across Promtail and logship');
  });
}
