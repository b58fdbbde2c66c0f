// Child process for brute-force-memory.test.ts: feeds distinct source IPs through the derived
// metrics stage and prints memory at three points as JSON. Run with --expose-gc.
import { DerivedMetricsStage } from '../../src/derived-metrics/stage.ts';
import { derivedMetricsSchema } from '../../src/derived-metrics/config.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { NO_ACK, type LogEvent } from '../../src/core/record.ts';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const MAX_SOURCES = Number(process.argv[3] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function mem() {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss };
}

const metrics = new MetricsRegistry({ defaultMetrics: false });
const stage = new DerivedMetricsStage(derivedMetricsSchema.parse({ security: { brute_force: { threshold: 10, window: '5m', max_sources: MAX_SOURCES } } }), { metrics });
const timestamp = new Date().toISOString();
const source = { type: 'file' as const, name: 'auth' };
let detections = 0;
const emit = (_e: LogEvent) => { detections++; };
function fail(ip: string): void {
  stage.process({
    record: { timestamp, level: 'WARN', service: 'sshd', message: 'Failed password', event_type: 'security', action: 'failed_login', ip_address: ip, source },
    labels: {}, ack: NO_ACK, size: 60,
  }, emit);
}
const ipOf = (i: number) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

const base = mem();
let i = 0;
const feedTo = (n: number) => {
  for (; i < n; i++) {
    fail(ipOf(i));
    // One real attacker keeps failing amid the flood of one-off addresses.
    if (i % 500 === 0) fail('203.0.113.66');
  }
};
feedTo(2 * MAX_SOURCES);
const full = mem();
feedTo(TOTAL);
const end = mem();
const text = await metrics.metrics();
const tracked = Number(/^brute_force_tracked_sources (\d+)/m.exec(text)![1]);
const failures = Number(/^auth_failures_total\{service="sshd"\} (\d+)/m.exec(text)![1]);
process.stdout.write(JSON.stringify({ total: TOTAL, maxSources: MAX_SOURCES, base, full, end, tracked, failures, detections }) + '\n');
