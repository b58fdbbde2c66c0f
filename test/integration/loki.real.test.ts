import t from 'tap';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from '../support/daemon.ts';
import { LOKI_SKIP_REASON, daemonConfig, metric, startDaemon } from '../support/loki-daemon.ts';
import { LokiProcess, type LokiStream } from '../support/loki-process.ts';

/** logship against a real Grafana Loki with its default limits (issue 11); opt-in via LOKI_BIN (test/support/loki-daemon.ts). */

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fraction digits. */
function toNs(ts: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts)!;
  const secs = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return (secs * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))).toString();
}

const LOKI_BIN = process.env.LOKI_BIN;

if (!LOKI_BIN) {
  t.plan(0, LOKI_SKIP_REASON);
} else {
  t.test('real Loki 3.4.6, default limits', async (t) => {
    const loki = new LokiProcess(LOKI_BIN);
    await loki.start();
    t.teardown(() => loki.stop('SIGKILL'));

    t.test('every line exactly once, with its parsed timestamp, in order; labels and structured metadata', async (t) => {
      const dir = tempDir();
      mkdirSync(join(dir, 'logs'));
      const N = 3000;
      const t0 = Date.now() - 3_600_000;
      const lines: Array<{ timestamp: string; trace_id: string; seq: number; level: string }> = [];
      let text = '';
      for (let i = 0; i < N; i++) {
        // microsecond precision kept end to end
        const ts = new Date(t0 + i).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`);
        const rec = { timestamp: ts, level: i % 10 === 0 ? 'ERROR' : 'INFO', service: 'api', trace_id: `trace-${i}`, span_id: `span-${i}`, user_id: `user${i % 7}`, request_id: `req-${i}`, message: `request ${i} done`, metadata: { seq: i } };
        lines.push({ timestamp: ts, trace_id: rec.trace_id, seq: i, level: rec.level });
        text += JSON.stringify(rec) + '\n';
      }
      writeFileSync(join(dir, 'logs', 'app.log'), text);
      const port = await freePort();
      const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: '\n    labels: { job: exact }' }));
      const streams = await waitFor('all lines in Loki', async () => {
        const s = await loki.queryRange('{job="exact"}');
        return s.reduce((n, x) => n + x.values.length, 0) >= N ? s : null;
      }, 60_000, 500);
      const got = new Map<number, { ns: string; stream: Record<string, string> }>();
      let dup = 0;
      for (const s of streams) {
        for (const [ns, line] of s.values) {
          const rec = JSON.parse(line) as { metadata: { seq: number } };
          if (got.has(rec.metadata.seq)) dup++;
          got.set(rec.metadata.seq, { ns, stream: s.stream });
        }
      }
      t.equal(got.size, N, 'every line present');
      t.equal(dup, 0, 'no duplicates');
      let wrongTs = 0;
      for (const l of lines) if (got.get(l.seq)?.ns !== toNs(l.timestamp)) wrongTs++;
      t.equal(wrongTs, 0, 'each entry carries the parsed log timestamp with full precision, not the read time');
      // in order: ordered by Loki's timestamps, the entries come back in the order they were logged
      const byTime = [...got.entries()].sort((a, b) => (BigInt(a[1].ns) < BigInt(b[1].ns) ? -1 : 1)).map(([seq]) => seq);
      t.same(byTime, lines.map((l) => l.seq), 'timestamps order the entries as the file did');
      // stream labels: the series API lists real stream labels (structured metadata is not in it)
      const u = new URL(`${loki.url}/loki/api/v1/series`);
      u.searchParams.set('match[]', '{job="exact"}');
      u.searchParams.set('start', String(BigInt(t0 - 60_000) * 1_000_000n));
      const series = ((await (await fetch(u)).json()) as { data: Array<Record<string, string>> }).data;
      t.ok(series.length >= 2, 'one stream per level');
      for (const s of series) {
        // Loki itself adds service_name (discover_service_name copies it from `service`)
        t.same(Object.keys(s).filter((k) => k !== 'service_name').sort(), ['host', 'job', 'level', 'service'], `labels of ${JSON.stringify(s)}`);
      }
      // structured metadata is queryable and is not a stream label
      const probe = lines[1234];
      const hit = await loki.queryRange(`{job="exact"} | trace_id="${probe.trace_id}"`);
      t.equal(hit.length, 1);
      t.equal(hit[0].values.length, 1, 'the trace_id filter finds exactly the line');
      t.match(hit[0].stream, { trace_id: probe.trace_id, span_id: 'span-1234', user_id: 'user2', request_id: 'req-1234' });
      t.notOk(series.some((s) => 'trace_id' in s), 'trace_id is not a stream label');
      const counts = await loki.query('sum by (level) (count_over_time({job="exact"}[3h]))');
      const byLevel = Object.fromEntries(counts.map((c) => [c.metric.level, Number(c.value[1])]));
      t.same(byLevel, { ERROR: N / 10, INFO: N - N / 10 }, 'count_over_time per level');
      t.equal((await d.kill('SIGTERM')).code, 0);
    });

    t.test('a stack trace arrives as one entry', async (t) => {
      const dir = tempDir();
      mkdirSync(join(dir, 'logs'));
      const ts = new Date(Date.now() - 600_000).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
      const trace = [
        `${ts} ERROR [http-nio-8080-exec-3] c.e.payment.Controller - payment failed`,
        'java.lang.IllegalStateException: card declined',
        '\tat com.example.payment.Gateway.charge(Gateway.java:42)',
        '\tat com.example.payment.Controller.pay(Controller.java:17)',
        'Caused by: java.net.SocketTimeoutException: Read timed out',
        '\t... 2 more',
      ];
      writeFileSync(join(dir, 'logs', 'app.log'), `${trace.join('\n')}\n${ts} INFO [main] c.e.payment.Controller - next request\n`);
      const port = await freePort();
      const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: `\n    labels: { job: stack }\n    multiline: { start: '^\\d{4}-\\d{2}-\\d{2}', timeout: 500ms }` }));
      const streams = await waitFor('2 entries', async () => {
        const s = await loki.queryRange('{job="stack"}');
        return s.reduce((n, x) => n + x.values.length, 0) >= 2 ? s : null;
      }, 30_000, 500);
      const entries = streams.flatMap((s) => s.values.map(([, line]) => JSON.parse(line) as { message: string; level: string }));
      t.equal(entries.length, 2);
      const err = entries.find((e) => e.message.includes('card declined'));
      t.ok(err, 'the trace is one entry');
      t.ok(err!.message.includes('Caused by: java.net.SocketTimeoutException') && err!.message.includes('Gateway.java:42'), 'with all its lines');
      t.equal(err!.level, 'ERROR');
      t.equal((await d.kill('SIGTERM')).code, 0);
    });

    t.test('an entry too old for Loki is a counted, logged drop and the rest of its batch lands', async (t) => {
      for (const mode of ['client', 'server'] as const) {
        const dir = tempDir();
        mkdirSync(join(dir, 'logs'));
        const job = `old-${mode}`;
        const now = Date.now();
        let text = '';
        for (let i = 0; i < 20; i++) {
          const age = i === 10 ? 8 * 86_400_000 : 60_000 - i; // one line 8 days old, in the middle
          text += JSON.stringify({ timestamp: new Date(now - age).toISOString(), level: 'INFO', service: 'api', message: `line ${i}` }) + '\n';
        }
        writeFileSync(join(dir, 'logs', 'app.log'), text);
        const port = await freePort();
        // client: logship drops it before sending; server: logship sends it and Loki answers 400
        const sink = mode === 'server' ? '\n    reject_old_samples_max_age: 0' : '';
        const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: `\n    labels: { job: ${job} }`, sink }));
        await waitFor('19 entries', async () => (await loki.queryRange(`{job="${job}"}`)).reduce((n, x) => n + x.values.length, 0) >= 19, 30_000, 300);
        await waitFor('drop counted', async () => (await metric(port, /^logship_sink_dropped_entries_total\{.*reason="greater_than_max_sample_age"/)) === 1, 10_000, 200);
        const stored = (await loki.queryRange(`{job="${job}"}`)).flatMap((s) => s.values.map(([, l]) => (JSON.parse(l) as { message: string }).message));
        t.equal(stored.length, 19, `${mode}: the 19 valid lines landed`);
        t.notOk(stored.includes('line 10'), `${mode}: the old line did not`);
        await waitFor('positions at EOF', () => {
          const pos = JSON.parse(readFileSync(join(dir, 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> };
          return Object.values(pos.files)[0]?.offset === statSync(join(dir, 'logs', 'app.log')).size;
        }, 10_000, 100);
        t.pass(`${mode}: the drop is acknowledged (positions at EOF), not retried forever`);
        t.match(d.stderr, mode === 'server' ? /Loki rejected entries/ : /older than reject_old_samples_max_age/, `${mode}: logged`);
        t.equal((await d.kill('SIGTERM')).code, 0);
      }
    });

    // Issue 22, item 7: the line body is the record and nothing else; where it came from goes to
    // labels (the source's static labels) and `filename` (structured metadata, or a label).
    for (const filename of ['structured_metadata', 'label'] as const) {
      t.test(`the stored line is the record (≤ 1.05× the JSON line), source labels are stream labels, filename as ${filename}`, async (t) => {
        const dir = tempDir();
        mkdirSync(join(dir, 'logs'));
        const file = join(dir, 'logs', 'app.log');
        const t0 = Date.now() - 600_000;
        const originals: string[] = [];
        for (let i = 0; i < 200; i++) {
          const ts = new Date(t0 + i * 10).toISOString();
          // the shared schema (shipped as written) and the platform's CF1 format (normalized: userId → user_id, context → metadata);
          // not security events, which classification extends with event_type and action (README "Event classification")
          originals.push(i % 2 === 0
            ? JSON.stringify({ timestamp: ts, level: 'INFO', service: 'api', message: `request ${i} done`, trace_id: `trace-${i}`, metadata: { seq: i, route: '/api/v1/documents' } })
            : JSON.stringify({ timestamp: ts, level: 'INFO', service: 'cf1-frontend', message: `Rendered document list page ${i}`, context: { userId: `user${i}`, ip: '192.168.1.1' }, requestId: `req-${i}`, userId: `user${i}`, seq: i }));
        }
        writeFileSync(file, originals.join('\n') + '\n');
        const port = await freePort();
        const job = `body-${filename}`;
        const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: `\n    labels: { job: ${job}, team: payments, env: prod }`, sink: `\n    filename: ${filename}` }));
        const streams: LokiStream[] = await waitFor('200 lines in Loki', async () => {
          const s = await loki.queryRange(`{job="${job}"}`, { sinceMs: 3_600_000, limit: 1000 });
          return s.reduce((n, x) => n + x.values.length, 0) >= 200 ? s : null;
        }, 30_000, 500);
        let storedBytes = 0;
        const bySeq = new Map<number, string>();
        let withSource = 0;
        for (const s of streams) {
          for (const [, line] of s.values) {
            const rec = JSON.parse(line) as { seq?: number; metadata?: { seq?: number } };
            if ('source' in rec) withSource++;
            bySeq.set(rec.metadata?.seq ?? rec.seq ?? -1, line);
            storedBytes += Buffer.byteLength(line);
          }
        }
        t.ok(streams.every((s) => s.stream.team === 'payments' && s.stream.env === 'prod'), 'the source\'s labels are stream labels');
        // Loki returns structured metadata merged into the stream of a query result
        t.ok(streams.every((s) => s.stream.filename === file), `filename on every entry (${filename})`);
        t.equal(withSource, 0, 'no source object in any line');
        const series = await (await fetch(`${loki.url}/loki/api/v1/series?match[]=${encodeURIComponent(`{job="${job}"}`)}&start=${BigInt(t0 - 60_000) * 1_000_000n}`)).json() as { data: Array<Record<string, string>> };
        t.equal(series.data.some((l) => 'filename' in l), filename === 'label', `filename is ${filename === 'label' ? '' : 'not '}a stream label`);
        const originalBytes = originals.reduce((n, l) => n + Buffer.byteLength(l), 0);
        const ratio = storedBytes / originalBytes;
        t.equal(bySeq.size, 200);
        let worst = 0;
        originals.forEach((l, i) => (worst = Math.max(worst, Buffer.byteLength(bySeq.get(i) ?? '') / Buffer.byteLength(l))));
        t.ok(ratio <= 1.05, `stored lines ${storedBytes} B / original ${originalBytes} B = ${ratio.toFixed(3)} ≤ 1.05 (worst line ${worst.toFixed(3)})`);
        t.equal(bySeq.get(0), originals[0], 'a line in the shared schema is stored exactly as written');
        t.equal((await d.kill('SIGTERM')).code, 0);
      });
    }
  });

}
