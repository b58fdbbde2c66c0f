import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SEQ_PATTERN, writePlatformCorpus } from '../../servers/loki-corpus.ts';
import { LokiServerProcess } from '../../servers/loki-server-process.ts';
import { DaemonProcess, freePort, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';

/**
 * Acceptance (issue 5): with the platform's Loki limits (ingestion_rate_mb 4, burst 6: 4 MiB/s and
 * 6 MiB per tenant), a 200 MB backlog of log files (LOKI_RATELIMIT_BYTES to change) arrives
 * completely, paced by 429s, with no batch dropped or dead-lettered. Takes ~80 s by construction
 * (the backlog's Loki bytes — normalized JSON lines plus structured metadata — over 4 MiB/s).
 */
const BACKLOG_BYTES = Number(process.env.LOKI_RATELIMIT_BYTES ?? 200_000_000);
const RATE = 4 * 1024 * 1024;
const BURST = 6 * 1024 * 1024;

t.test(`a ${Math.round(BACKLOG_BYTES / 1e6)} MB backlog under a 4 MiB/s rate limit arrives completely, paced by 429s`, async (t) => {
  const dir = tempDir('logship-loki-rate-');
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  const lines = Math.ceil(BACKLOG_BYTES / 258);
  const bytes = await writePlatformCorpus(log, lines, { flags: 'w' });
  const loki = new LokiServerProcess({ port: await freePort(), summary: true, trackSeq: SEQ_PATTERN, rate: RATE, burst: BURST });
  await loki.start();
  t.teardown(() => loki.kill());
  const port = await freePort();
  const dlq = join(dir, 'data', 'dead-letter.ndjson');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}", ready_max_failing: 1h }
positions: { path: "${dir}/data/positions.json" }
sources:
  - { name: cf1-backend, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: json }
sinks:
  - { type: loki, url: "${loki.url}", dead_letter_path: "${dlq}" }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  const t0 = Date.now();
  await d.waitHttp(port);
  await waitFor('the whole backlog stored', async () => (await loki.seq(lines)).distinct >= lines, 280_000, 1000);
  const seconds = (Date.now() - t0) / 1000;
  const seq = await loki.seq(lines);
  const summary = await loki.summary();
  t.equal(seq.missing, 0, 'every line arrived');
  t.ok((summary.statuses['429'] ?? 0) > 0, 'paced by 429s');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.notMatch(metrics, /logship_sink_dropped_entries_total\{[^}]*\} [1-9]/, 'no entry dropped');
  t.notOk(existsSync(dlq), 'nothing dead-lettered');
  const lokiBytes = summary.bytes;
  t.ok(seconds >= (lokiBytes - BURST) / RATE * 0.95, 'the rate limit was really in force');
  t.comment(`${bytes} file bytes, ${lines} lines, ${lokiBytes} line bytes in Loki in ${seconds.toFixed(1)} s = ${(lokiBytes / seconds / 1048576).toFixed(2)} MiB/s of lines against a 4 MiB/s limit (lines + structured metadata); ${summary.statuses['429']} × 429, ${summary.statuses['204']} × 204, ${seq.extraCopies} duplicate copies`);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
