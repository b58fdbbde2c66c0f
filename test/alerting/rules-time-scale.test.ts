import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../support/daemon.ts';
import { formatDuration, parseDuration, scaleExprRanges, scaleRuleDurations } from './rules-time-scale.ts';

t.test('durations parse and format as Prometheus writes them', async (t) => {
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.throws(() => parseDuration('5 minutes'), /not a Prometheus duration/);
  t.equal(formatDuration(5000), '5s');
  t.equal(formatDuration(16_666.7), '16667ms');
  t.equal(formatDuration(0.2), '1ms', 'never zero');
});

t.test('ranges, subqueries and offsets are scaled; strings and everything else are not', async (t) => {
  t.equal(scaleExprRanges('sum by (service) (increase(auth_failures_total[5m])) > 10', 60), 'sum by (service) (increase(auth_failures_total[5s])) > 10');
  t.equal(scaleExprRanges('deriv((a - b)[15m:1m]) > 0', 60), 'deriv((a - b)[15s:1s]) > 0');
  t.equal(scaleExprRanges('x unless x offset 5m', 60), 'x unless x offset 5s');
  t.equal(scaleExprRanges('rate(x{path=~"/a[0-9]+"}[10m])', 60), 'rate(x{path=~"/a[0-9]+"}[10s])', 'a bracket in a label matcher string stays');
  t.equal(scaleExprRanges('my_offset_total > 5', 60), 'my_offset_total > 5', 'a metric name containing "offset" is not a modifier');
  t.throws(() => scaleExprRanges('rate(x[5 m])', 60), /not a Prometheus duration/);
});

t.test('the shipped rule file keeps every rule, thresholds and labels; only durations shrink', async (t) => {
  const shipped = readFileSync(join(ROOT, 'config', 'alerts', 'logship-rules.yml'), 'utf8');
  type Rules = { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels: Record<string, string> }> }> };
  const before = parse(shipped) as Rules;
  const after = parse(scaleRuleDurations(shipped, 60)) as Rules;
  t.same(after.groups.map((g) => g.rules.map((r) => r.alert)), before.groups.map((g) => g.rules.map((r) => r.alert)));
  for (const [gi, g] of before.groups.entries()) {
    for (const [ri, r] of g.rules.entries()) {
      const s = after.groups[gi].rules[ri];
      t.same(s.labels, r.labels, `${r.alert}: labels`);
      if (r.for !== undefined) t.equal(parseDuration(s.for!) * 60, parseDuration(r.for), `${r.alert}: for ${r.for} → ${s.for}`);
      const strip = (e: string) => e.replace(/\[[^\]]*\]|offset \S+/g, '');
      t.equal(strip(s.expr), strip(r.expr), `${r.alert}: the expression apart from its durations`);
    }
  }
  t.throws(() => scaleRuleDurations(shipped, 0), RangeError);
});
