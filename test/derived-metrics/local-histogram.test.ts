/**
 * LocalHistogram (the derived http_request_duration_seconds family) must scrape exactly like the
 * prom-client Histogram it replaced: same text for the same observations, in both exposition
 * formats, and the same JSON.
 */
import t from 'tap';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { LocalHistogram } from '../../src/derived-metrics/local-histogram.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];
const LABELS = ['service', 'method', 'route'] as const;

const observation = fc.record({
  service: fc.constantFrom('api', 'web', 'a"b\\c\nd'),
  method: fc.constantFrom('GET', 'POST', 'other'),
  route: fc.constantFrom('/users/:id', '', 'unknown'),
  value: fc.oneof(fc.constantFrom(...BUCKETS, 0, 1e6), fc.double({ min: 0, max: 30, noNaN: true })),
});

t.test('same exposition as prom-client Histogram for the same observations', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(observation, { maxLength: 60 }), fc.boolean(), async (observations, openMetrics) => {
    const contentType = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
    const reference = new Registry();
    reference.setContentType(contentType as typeof Registry.PROMETHEUS_CONTENT_TYPE);
    const promHistogram = new Histogram({ name: 'h_seconds', help: 'Help.', labelNames: LABELS, buckets: BUCKETS, registers: [reference] });
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    metrics.registry.setContentType(contentType as typeof Registry.PROMETHEUS_CONTENT_TYPE);
    const local = LocalHistogram.family(metrics, 'h_seconds', 'Help.', LABELS, BUCKETS);
    for (const o of observations) {
      promHistogram.observe({ service: o.service, method: o.method, route: o.route }, o.value);
      local.series([o.service, o.method, o.route]).observe(o.value);
    }
    // a series looked up but never observed is not exported (prom-client has no such series)
    local.series(['never', 'GET', '/x']);
    const [want, got] = [await reference.metrics(), await metrics.metrics()];
    if (got !== want) throw new Error(`exposition differs:\n${got}\n---\n${want}`);
    const [wantJson, gotJson] = [await reference.getMetricsAsJSON(), await metrics.registry.getMetricsAsJSON()];
    if (JSON.stringify(gotJson) !== JSON.stringify(wantJson)) throw new Error(`JSON differs:\n${JSON.stringify(gotJson)}\n---\n${JSON.stringify(wantJson)}`);
  }), { numRuns: 300 });
  t.pass('300 observation sequences');
});

t.test('the family survives a reloaded stage; reset empties it like prom-client', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const a = LocalHistogram.family(metrics, 'h_seconds', 'Help.', LABELS, BUCKETS);
  a.series(['api', 'GET', '/']).observe(0.2);
  const b = LocalHistogram.family(metrics, 'h_seconds', 'Help.', LABELS, BUCKETS);
  t.equal(b, a, 'asking again returns the registered family');
  t.match(await metrics.metrics(), /^h_seconds_count\{service="api",method="GET",route="\/"\} 1$/m);
  metrics.registry.resetMetrics();
  t.notMatch(await metrics.metrics(), /h_seconds_count/);
  a.series(['api', 'GET', '/']).observe(3);
  t.match(await metrics.metrics(), /^h_seconds_sum\{service="api",method="GET",route="\/"\} 3$/m);
});
