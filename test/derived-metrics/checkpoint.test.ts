import t from 'tap';
import { join } from 'node:path';
import { pino } from 'pino';
import { DerivedMetricsCheckpoint, checkpointPath } from '../../src/derived-metrics/checkpoint.ts';
import { derivedMetricsSchema } from '../../src/derived-metrics/config.ts';
import { DerivedMetricsStage } from '../../src/derived-metrics/stage.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import type { Ack, LogEvent, LogRecord } from '../../src/core/record.ts';
import { tempDir } from '../support/daemon.ts';
import { family, parseExposition } from './exposition.ts';

const log = pino({ level: 'silent' });

/** A line of file `identity` starting at byte `offset`: one failed login and one request. */
function line(identity: string, offset: number): LogEvent {
  const ack: Ack = { retain() {}, release() {}, absorb() {}, identity };
  const record: LogRecord = {
    timestamp: '2024-01-15T10:00:00.000Z', level: 'WARN', service: 'api', message: 'login failed', source: { type: 'file', name: 'app' },
    event_type: 'security', action: 'failed_login', http: { method: 'POST', route: '/login', status_code: 401, response_time: 30 },
  };
  return { record, labels: {}, ack, size: 100, offset };
}

function daemonLike(path: string, buckets?: number[]) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const checkpoint = new DerivedMetricsCheckpoint({ path, metrics, log });
  const cfg = derivedMetricsSchema.parse(buckets ? { performance: { duration_buckets: buckets } } : {});
  const stage = new DerivedMetricsStage(cfg, { metrics, checkpoint });
  checkpoint.restore();
  return { metrics, checkpoint, stage };
}

const failures = async (m: MetricsRegistry) => family(parseExposition(await m.metrics()), 'auth_failures_total')['auth_failures_total{service="api"}'];

t.test('a restart resumes the totals and skips the lines counted before, from the committed position to the last counted offset', async (t) => {
  const path = checkpointPath(join(tempDir('logship-ckpt-'), 'positions.json'));
  const a = daemonLike(path);
  for (let off = 0; off < 1000; off += 100) a.stage.process(line('1:7', off)); // 10 lines
  a.checkpoint.save();
  t.equal(await failures(a.metrics), 10);

  // Restart: positions committed up to 600 (lines 600..900 were counted, not acknowledged).
  const b = daemonLike(path);
  t.equal(await failures(b.metrics), 10, 'the totals come back');
  const hist = family(parseExposition(await b.metrics.metrics()), 'http_request_duration_seconds_count');
  t.same(Object.values(hist), [10], 'the histogram comes back');
  b.checkpoint.arm({ committed: (id) => (id === '1:7' ? 600 : undefined), firstStart: false });
  for (let off = 600; off < 1300; off += 100) b.stage.process(line('1:7', off)); // 600..900 again, then 1000..1200 new
  t.equal(await failures(b.metrics), 13, 'the re-read lines are not counted again; the 3 new ones are');
});

t.test('a file read again from 0 (truncated or replaced under the same inode) is counted', async (t) => {
  const path = checkpointPath(join(tempDir('logship-ckpt-'), 'positions.json'));
  const a = daemonLike(path);
  for (let off = 0; off < 500; off += 100) a.stage.process(line('1:7', off));
  a.checkpoint.save();
  const b = daemonLike(path);
  b.checkpoint.arm({ committed: () => 300, firstStart: false });
  b.stage.process(line('1:7', 0)); // before the committed position: not the resumed read
  b.stage.process(line('1:7', 100));
  t.equal(await failures(b.metrics), 7);
});

t.test('no positions file at all: every counted line of the first run is skipped; files the positions forgot are forgotten', async (t) => {
  const path = checkpointPath(join(tempDir('logship-ckpt-'), 'positions.json'));
  const a = daemonLike(path);
  for (let off = 0; off < 300; off += 100) a.stage.process(line('1:7', off));
  a.stage.process(line('1:8', 0));
  a.checkpoint.save();
  const b = daemonLike(path);
  b.checkpoint.arm({ committed: () => undefined, firstStart: true });
  for (let off = 0; off < 300; off += 100) b.stage.process(line('1:7', off));
  t.equal(await failures(b.metrics), 4, 'a kill before the first positions write re-reads from 0: nothing counted twice');
  const c = daemonLike(path);
  c.checkpoint.arm({ committed: () => undefined, firstStart: false });
  c.stage.process(line('1:7', 0));
  t.equal(await failures(c.metrics), 5, 'the positions no longer know the file: its lines count');
});

t.test('changed histogram buckets: the histogram restarts, the counters resume; a corrupt file restarts everything', async (t) => {
  const dir = tempDir('logship-ckpt-');
  const path = checkpointPath(join(dir, 'positions.json'));
  const a = daemonLike(path);
  a.stage.process(line('1:7', 0));
  a.checkpoint.save();
  const b = daemonLike(path, [0.1, 1, 10]);
  t.equal(await failures(b.metrics), 1);
  t.same(family(parseExposition(await b.metrics.metrics()), 'http_request_duration_seconds_count'), {});
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, '{"version":1,"counters":');
  const c = daemonLike(path);
  t.equal(await failures(c.metrics), undefined, 'unreadable: logged, counters start empty');
});
