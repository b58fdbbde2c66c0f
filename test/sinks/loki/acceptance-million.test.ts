import t from 'tap';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LOKI_LABELS } from '../../../src/sinks/loki/config.ts';
import { SEQ_PATTERN, writePlatformCorpus } from '../../servers/loki-corpus.ts';
import { LokiServerProcess } from '../../servers/loki-server-process.ts';
import { DaemonProcess, freePort, sleep, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';

/**
 * Acceptance (issue 5): N lines (default 1,000,000; LOKI_ACCEPT_LINES to change) through the real
 * CLI into the Loki test server running in its own process, with 429s for 20 s and 5xx for 20 s in
 * the middle and the server killed (SIGKILL) and restarted once. Every line must arrive; the server
 * counts exact duplicates (same stream, timestamp, line) the way Loki's ingester would.
 */
const N = Number(process.env.LOKI_ACCEPT_LINES ?? 1_000_000);
const FAIL_MS = Number(process.env.LOKI_ACCEPT_FAIL_MS ?? 20_000);

t.test(`${N} lines, 429s and 5xx for ${FAIL_MS / 1000}s each, Loki killed and restarted: 0 lost`, async (t) => {
  const dir = tempDir('logship-loki-accept-');
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  await writePlatformCorpus(log, N, { flags: 'w' });
  const loki = new LokiServerProcess({ port: await freePort(), summary: true, journal: join(dir, 'loki-journal.ndjson'), trackSeq: SEQ_PATTERN });
  await loki.start();
  t.teardown(() => loki.kill());
  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}", ready_max_failing: 1h }
positions: { path: "${dir}/data/positions.json", sync_interval: 500ms }
sources:
  - { name: cf1-backend, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: json }
sinks:
  - { type: loki, url: "${loki.url}", retry: { max_backoff: 5s }, timeout: 5s }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
  const t0 = Date.now();
  await d.waitHttp(port);

  await waitFor('10% stored', async () => (await loki.count()).entries >= N * 0.1, 120_000, 200);
  // 429s until the 503s replace them (no window end for a loaded machine to overshoot); counted
  // from the first 429 answered, so a push that was already being stored is not mistaken for one
  // stored during the 429s.
  await loki.fail({ mode: 'status', status: 429 });
  await waitFor('a 429 answered', async () => ((await loki.summary()).statuses['429'] ?? 0) > 0, 60_000, 100);
  const during429 = (await loki.count()).entries;
  await sleep(FAIL_MS); // the length of the 429 period: nothing below waits on it
  t.equal((await loki.count()).entries, during429, 'nothing stored while Loki answers 429');
  await loki.fail({ mode: 'status', status: 503, forMs: FAIL_MS });
  await sleep(FAIL_MS);
  t.ok(await metric(/^logship_backpressure_seconds_total (\S+)$/m) > 0, 'the tailer was held back (backpressure) during the outage');

  const before = (await loki.count()).entries;
  await waitFor('progress after the outage', async () => (await loki.count()).entries >= Math.min(N - 1, before + N * 0.05), 120_000, 100);
  // One response lost after Loki stored the batch: the sink must retry it (at-least-once), and
  // the duplicates it causes must be visible in the server's counts.
  const networkRetries = () => metric(/logship_sink_retries_total\{sink="loki",status="network"\} (\S+)/);
  const networkBefore = await networkRetries();
  await loki.fail({ mode: 'store-then-drop', times: 1 });
  await waitFor('the lost response retried', async () => (await networkRetries()) > networkBefore, 120_000, 100);
  await loki.kill('SIGKILL');
  await sleep(1500); // Loki down this long: nothing below waits on it
  await loki.start();
  const afterRestart = (await loki.count()).entries;
  t.ok(afterRestart > before, 'the restarted server kept what it had accepted (journal)');

  await waitFor('every line stored', async () => (await loki.seq(N)).distinct >= N, 240_000, 500);
  const seconds = (Date.now() - t0) / 1000;
  const seq = await loki.seq(N);
  t.equal(seq.missing, 0, 'no line lost');
  t.equal(seq.max, N - 1, 'no unexpected lines');
  const summary = await loki.summary();
  t.comment(`delivery: at-least-once; ${summary.duplicates} entries re-sent and received twice (exact duplicates: same stream, timestamp and line; Loki stores them once), ${seq.extraCopies} other repeats, ${N} distinct stored, 0 lost, in ${seconds.toFixed(1)} s; statuses since restart ${JSON.stringify(summary.statuses)}`);
  t.equal(summary.entries, N, 'stored entries (duplicates excluded, as Loki\'s ingester drops them) = N');
  t.ok(summary.duplicates > 0, 'the lost response made the sink re-send a stored batch: counted as exact duplicates (Loki drops those), not stored twice');
  t.equal(seq.extraCopies, 0, 'no line arrived twice in any other form (different timestamp or stream)');
  for (const s of summary.streams) {
    t.ok(Object.keys(s.pairs).every((k) => DEFAULT_LOKI_LABELS.includes(k)), `labels within the allowlist: ${s.labels}`);
    t.equal(s.metadataKeys.trace_id, s.count, 'every entry carries trace_id as structured metadata');
  }
  t.ok(await metric(/logship_sink_retries_total\{sink="loki",status="429"\} (\S+)/) > 0, 'retried 429s');
  t.ok(await metric(/logship_sink_retries_total\{sink="loki",status="503"\} (\S+)/) > 0, 'retried 503s');
  t.ok(await networkRetries() > networkBefore, 'retried after the lost response and the killed server');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.notMatch(metrics, /logship_sink_dropped_entries_total\{[^}]*\} [1-9]/, 'nothing dropped');

  t.equal((await d.kill('SIGTERM')).code, 0);
  const pos = JSON.parse(readFileSync(join(dir, 'data', 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> };
  t.equal(Object.values(pos.files)[0].offset, statSync(log).size, 'positions committed to the end of the file');
});
