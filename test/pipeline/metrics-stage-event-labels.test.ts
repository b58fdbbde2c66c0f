import t from 'tap';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { MetricsStage, metricsStageSchema } from '../../src/pipeline/metrics-stage.ts';
import { rawEvent } from './stage-helpers.ts';

t.test('rule labels from the event\'s labels (labels.<name>) next to record fields', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stage = new MetricsStage(metricsStageSchema.parse({ type: 'metrics', rules: [{ name: 'lines_total', type: 'counter', labels: { job: 'labels.job', level: 'labels.level', file: 'source.file' } }] }), metrics);
  stage.process(rawEvent('a', { level: 'error' }));
  stage.process(rawEvent('b', { level: 'error' }));
  stage.process(rawEvent('c', {}, 'other'));
  const text = await metrics.metrics();
  t.match(text, /lines_total\{job="app",level="error",file="\/var\/log\/app.log"\} 2/);
  t.match(text, /lines_total\{job="other",level="",file="\/var\/log\/other.log"\} 1/, 'a missing label is empty');
});
