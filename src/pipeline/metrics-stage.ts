import { Counter, Gauge, Histogram } from '../self-metrics/prom-client.ts';
import { z } from 'zod';
import { duration, regex } from '../core/config-fields.ts';
import { PERFORMANCE_METRIC_NAMES } from '../derived-metrics/performance.ts';
import { SECURITY_METRIC_NAMES } from '../derived-metrics/security.ts';
import { SeriesCap } from '../derived-metrics/series-cap.ts';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { LogEvent, LogRecord } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Prefixes of metric families logship exports itself (self-metrics, process defaults). */
const RESERVED_PREFIXES = ['logship_', 'process_', 'nodejs_'];
/** The built-in derived families (see src/derived-metrics). */
const DERIVED_NAMES: ReadonlySet<string> = new Set([...Object.values(SECURITY_METRIC_NAMES), ...Object.values(PERFORMANCE_METRIC_NAMES)]);
/** Longest label value kept; longer field values are cut (labels are for grouping, not payload). */
const MAX_LABEL_VALUE = 256;

const conditionSchema = z.lazy(() => z.strictObject({
  /** Record field, dotted path (`level`, `http.status_code`, `metadata.reason`). */
  field: z.string().min(1),
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
  matches: regex().optional(),
  in: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  exists: z.boolean().optional(),
}).refine((c) => [c.equals, c.matches, c.in, c.exists].filter((x) => x !== undefined).length === 1, {
  message: 'a match condition needs exactly one of equals, matches, in, exists',
}));

const bucketsSchema = () => z.array(z.number().finite()).min(1)
  .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]), { message: 'buckets must be strictly increasing' });

const ruleSchema = z.lazy(() => z.strictObject({
  name: z.string().regex(METRIC_NAME, { message: 'expected a Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)' }),
  type: z.enum(['counter', 'gauge', 'histogram']),
  help: z.string().min(1).optional(),
  /** Conditions that must all hold; none: every record. */
  match: z.array(conditionSchema).default([]),
  /** Numeric record field: counter adds it (default 1), gauge sets it, histogram observes it. */
  value: z.string().min(1).optional(),
  /** Multiplies the value (e.g. 0.001 for a millisecond field into a `_seconds` metric). */
  scale: z.number().finite().default(1),
  /** label name → record field path, or `labels.<name>` for one of the event's labels. */
  labels: z.record(z.string(), z.string().min(1)).default({}),
  buckets: bucketsSchema().optional(),
  /** Series kept for this metric; one more evicts the least recently updated series. */
  max_series: z.number().int().min(1).max(1_000_000).default(1000),
  /** Series not updated for this long are removed (0: never). */
  idle_expiry: duration().default(0),
}).superRefine((r, ctx) => {
  const isCounter = r.type === 'counter';
  if (isCounter && !r.name.endsWith('_total')) ctx.addIssue({ code: 'custom', path: ['name'], message: `counter names end in "_total" (Prometheus convention), got "${r.name}"` });
  if (!isCounter && r.name.endsWith('_total')) ctx.addIssue({ code: 'custom', path: ['name'], message: `only counter names end in "_total", got ${r.type} "${r.name}"` });
  if (r.type === 'histogram' && /_(bucket|count|sum)$/.test(r.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: 'histogram names must not end in _bucket, _count or _sum' });
  if (r.name.startsWith('__')) ctx.addIssue({ code: 'custom', path: ['name'], message: 'names starting with "__" are reserved' });
  const reserved = RESERVED_PREFIXES.find((p) => r.name.startsWith(p));
  if (reserved) ctx.addIssue({ code: 'custom', path: ['name'], message: `names starting with "${reserved}" are reserved for logship's own metrics` });
  if (DERIVED_NAMES.has(r.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: `"${r.name}" is a built-in derived metric` });
  if (r.type !== 'counter' && r.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `a ${r.type} needs value (the record field it takes its number from)` });
  if (r.buckets !== undefined && r.type !== 'histogram') ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'buckets are for histograms' });
  for (const label of Object.keys(r.labels)) {
    if (!LABEL_NAME.test(label)) ctx.addIssue({ code: 'custom', path: ['labels', label], message: `expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), got "${label}"` });
    if (label.startsWith('__')) ctx.addIssue({ code: 'custom', path: ['labels', label], message: 'label names starting with "__" are reserved' });
    if (r.type === 'histogram' && label === 'le') ctx.addIssue({ code: 'custom', path: ['labels', label], message: '"le" is reserved for histogram buckets' });
  }
}));
export type MetricRuleConfig = z.infer<typeof ruleSchema>;

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const metricsStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('metrics'),
  name: z.string().optional(),
  rules: z.array(ruleSchema).min(1, { message: 'a metrics stage needs at least one rule' }),
}));
export type MetricsStageConfig = z.infer<typeof metricsStageSchema>;

/**
 * Reports metric rule names used twice across the pipeline's metrics stages (for the config's
 * top-level refinement: the key path names the second use).
 */
export function duplicateMetricRuleNames(pipeline: ReadonlyArray<PipelineStageShape>): Array<{ path: Array<string | number>; message: string }> {
  const seen = new Map<string, string>();
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  const visit = (stages: ReadonlyArray<PipelineStageShape>, at: Array<string | number>) => {
    stages.forEach((stage, i) => {
      // match stages hold stages of their own: one metric name across the whole tree
      if (stage.stages) visit(stage.stages, [...at, i, 'stages']);
      if (stage.type !== 'metrics' || !stage.rules) return;
      stage.rules.forEach((rule, j) => {
        const path = [...at, i, 'rules', j];
        const first = seen.get(rule.name);
        if (first !== undefined) out.push({ path: [...path, 'name'], message: `metric "${rule.name}" is already defined at ${first}` });
        else seen.set(rule.name, path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1));
      });
    });
  };
  visit(pipeline, ['pipeline']);
  return out;
}

interface PipelineStageShape {
  type: string;
  rules?: ReadonlyArray<{ name: string }>;
  stages?: ReadonlyArray<PipelineStageShape>;
}

type Condition = (r: LogRecord) => boolean;

function compileCondition(c: z.infer<typeof conditionSchema>): Condition {
  const path = splitPath(c.field);
  if (c.exists !== undefined) {
    const want = c.exists;
    return (r) => (getField(r, path) !== undefined) === want;
  }
  if (c.equals !== undefined) {
    const want = String(c.equals);
    return (r) => fieldText(getField(r, path)) === want;
  }
  if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    return (r) => {
      const v = fieldText(getField(r, path));
      return v !== undefined && set.has(v);
    };
  }
  const re = c.matches!;
  return (r) => {
    const v = fieldText(getField(r, path));
    return v !== undefined && re.test(v);
  };
}

/** One user-defined metric: its family, its conditions, its label fields, its series cap. */
class MetricRule {
  readonly name: string;
  private readonly type: MetricRuleConfig['type'];
  private readonly conditions: Condition[];
  private readonly labelNames: string[];
  /** Per label: the event label it copies, or null for a record field (labelPaths). */
  private readonly labelLabels: Array<string | null>;
  private readonly labelPaths: string[][];
  private readonly valuePath: string[] | null;
  private readonly scale: number;
  private readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
  private readonly cap: SeriesCap;
  private readonly invalid: { nonNumeric: { inc(): void }; negative: { inc(): void } };
  /** Reused per record: label values are copied only when a new series is admitted. */
  private readonly values: string[];

  constructor(rule: MetricRuleConfig, metrics: MetricsRegistry, evicted: Counter<'metric' | 'reason'>, invalid: Counter<'metric' | 'reason'>, perf: { now(): number } | undefined) {
    this.name = rule.name;
    this.type = rule.type;
    this.conditions = rule.match.map(compileCondition);
    const labelNames = Object.keys(rule.labels);
    this.labelNames = labelNames;
    this.labelLabels = Object.values(rule.labels).map((p) => (p.startsWith('labels.') ? p.slice('labels.'.length) : null));
    this.labelPaths = Object.values(rule.labels).map(splitPath);
    this.values = new Array<string>(labelNames.length).fill('');
    this.valuePath = rule.value !== undefined ? splitPath(rule.value) : null;
    this.scale = rule.scale;
    this.invalid = { nonNumeric: invalid.labels(rule.name, 'non_numeric'), negative: invalid.labels(rule.name, 'negative') };
    const help = rule.help ?? `User-defined ${rule.type} "${rule.name}" from the logship config.`;
    // A reload rebuilds the stage: replace the family so its collect hook and series cap are this rule's.
    metrics.remove(rule.name);
    const cap = (): SeriesCap => this.cap;
    const collect = function () { cap().expire(); };
    const registers = [metrics.registry];
    this.metric = rule.type === 'counter' ? new Counter({ name: rule.name, help, labelNames, registers, collect })
      : rule.type === 'gauge' ? new Gauge({ name: rule.name, help, labelNames, registers, collect })
      : new Histogram({ name: rule.name, help, labelNames, registers, collect, ...(rule.buckets ? { buckets: rule.buckets } : {}) });
    const metric = this.metric;
    this.cap = new SeriesCap({ metric: rule.name, maxSeries: rule.max_series, idleMs: rule.idle_expiry, evicted, perf, owner: { remove: (...v: string[]) => metric.remove(...v) } });
  }

  observe(event: LogEvent): void {
    const r = event.record;
    const conditions = this.conditions;
    for (let i = 0; i < conditions.length; i++) if (!conditions[i](r)) return;
    let value = 1;
    if (this.valuePath !== null) {
      const raw = getField(r, this.valuePath);
      if (raw === undefined) return; // the record does not carry the field: not an observation
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) {
        this.invalid.nonNumeric.inc();
        return;
      }
      value = n * this.scale;
      if (this.type === 'counter' && value < 0) {
        this.invalid.negative.inc();
        return;
      }
    }
    const values = this.values;
    let key = '';
    for (let i = 0; i < values.length; i++) {
      const label = this.labelLabels[i];
      let v = (label !== null ? event.labels[label] : fieldText(getField(r, this.labelPaths[i]))) ?? '';
      if (v.length > MAX_LABEL_VALUE) v = v.slice(0, MAX_LABEL_VALUE);
      values[i] = v;
      key = i === 0 ? v : `${key}\u0000${v}`;
    }
    this.cap.touch(key, values);
    const labels: Record<string, string> = {};
    const names = this.labelNames;
    for (let i = 0; i < names.length; i++) labels[names[i]] = values[i];
    const m = this.metric;
    if (this.type === 'counter') (m as Counter<string>).inc(labels, value);
    else if (this.type === 'gauge') (m as Gauge<string>).set(labels, value);
    else (m as Histogram<string>).observe(labels, value);
  }
}

/**
 * User-defined metrics from config rules: each rule counts matching records (counter), sets a
 * gauge or observes a histogram from a numeric field, with labels from record fields. Each
 * metric's series are capped (max_series, least recently updated evicted) and optionally expire
 * when idle. The stage never changes or drops events.
 */
export class MetricsStage implements Stage {
  readonly name: string;
  private readonly rules: MetricRule[];

  /** `opts.perf`: the clock idle_expiry reads (default: performance); a test passes a manual one. */
  constructor(cfg: MetricsStageConfig, metrics: MetricsRegistry, opts: { perf?: { now(): number } } = {}) {
    this.name = cfg.name ?? 'metrics';
    const evicted = metrics.counter('logship_metric_series_evicted_total', 'Series of user-defined metrics removed, by metric and reason (max_series: cap reached, idle: idle_expiry passed).', ['metric', 'reason']);
    const invalid = metrics.counter('logship_metric_rule_skipped_total', 'Matching records a user-defined metric rule could not use, by metric and reason (non_numeric value, negative counter increment).', ['metric', 'reason']);
    this.rules = cfg.rules.map((r) => new MetricRule(r, metrics, evicted, invalid, opts.perf));
  }

  process(event: LogEvent): LogEvent {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) rules[i].observe(event);
    return event;
  }
}
