import t from 'tap';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from '../support/daemon.ts';
import { LOKI_SKIP_REASON, daemonConfig, metric, startDaemon } from '../support/loki-daemon.ts';
import { LokiProcess } from '../support/loki-process.ts';

/**
 * logship against a real Loki with the platform limits (4 MB/s, shared/peers/loki-seedlimits.yaml): a 100 MB
 * backlog paced by 429s. Its own file so that its minutes do not share a tap timeout with the other suites.
 */

const LOKI_BIN = process.env.LOKI_BIN;

if (!LOKI_BIN) {
  t.plan(0, LOKI_SKIP_REASON);
} else {
  t.test('real Loki with the platform limits (4 MB/s): a 100 MB backlog lands with zero loss, paced by 429s', async (t) => {
    const loki = new LokiProcess(LOKI_BIN, { config: 'loki-seedlimits.yaml' });
    await loki.start();
    t.teardown(() => loki.stop('SIGKILL'));
    const dir = tempDir();
    mkdirSync(join(dir, 'logs'));
    const t0 = Date.now() - 3_000_000;
    const pad = 'x'.repeat(180);
    let n = 0;
    let bytes = 0;
    const file = join(dir, 'logs', 'app.log');
    writeFileSync(file, '');
    while (bytes < 100 * 1024 * 1024) {
      let chunk = '';
      for (let i = 0; i < 10_000; i++, n++) chunk += JSON.stringify({ timestamp: new Date(t0 + n * 5).toISOString(), level: 'INFO', service: 'bulk', trace_id: `t${n}`, message: `backlog ${n} ${pad}` }) + '\n';
      appendFileSync(file, chunk);
      bytes += Buffer.byteLength(chunk);
    }
    const port = await freePort();
    const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: '\n    labels: { job: backlog }' }));
    const count = async () => {
      const r = await loki.query('sum(count_over_time({job="backlog"}[2h]))');
      return r.length ? Number(r[0].value[1]) : 0;
    };
    await waitFor(`all ${n} lines`, async () => (await count()) >= n, 240_000, 2000);
    // Every batch acknowledged before counting: count_over_time reaching n may include duplicates.
    await waitFor('positions at EOF', () => {
      const pos = JSON.parse(readFileSync(join(dir, 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> };
      return Object.values(pos.files)[0]?.offset === bytes;
    }, 60_000, 200);
    // One timestamp per line written, so distinct timestamps are the lines stored at least once.
    const stored = await loki.countEntries('{job="backlog"}', { sinceMs: 2 * 3_600_000 });
    t.equal(stored.distinctTimestamps, n, `zero loss: all ${n} lines (${(bytes / 1048576).toFixed(0)} MiB) in Loki`);
    const retries429 = await metric(port, /^logship_sink_retries_total\{.*status="429"/);
    t.ok(retries429 > 0, `429s were retried (${retries429} retries in logship_sink_retries_total)`);
    t.equal(await metric(port, /^logship_sink_dropped_entries_total\{/), 0, 'no batch dropped');
    // Loki 3 shards a stream faster than shard_streams.desired_rate into __stream_shard__ streams and
    // rate-limits each: a push it answers 429 may have stored some shards, and the resend stores them
    // again (in a shard stream of its own, so the ingester's dedup does not see them). At-least-once
    // allows that much and no more: duplicates only from retried batches (README "Duplicates after a resend").
    const retries = await metric(port, /^logship_sink_retries_total\{/);
    const linesPerBatch = Math.ceil((1024 * 1024) / 200); // batch.max_bytes over a lower bound of one entry's bytes
    const duplicates = stored.entries - stored.distinctTimestamps;
    t.ok(duplicates <= retries * linesPerBatch, `${duplicates} lines stored twice, within what ${retries} retried batches hold`);
    t.equal((await d.kill('SIGTERM')).code, 0);
  });

}
