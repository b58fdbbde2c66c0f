import { z } from 'zod';
import { DERIVED_METRICS_DEFAULTS, derivedMetricsSchema } from '../derived-metrics/config.ts';
import { duplicateMetricRuleNames } from '../pipeline/metrics-stage.ts';
import { stageSchema } from '../pipeline/registry.ts';
import { classificationConfigSchema } from '../pipeline/classify.ts';
import { redactionConfigSchema } from '../pipeline/redact.ts';
import { parserOptionIssues } from '../parse/options.ts';
import { sinkSchema } from '../sinks/registry.ts';
import { sourceSchema } from '../sources/registry.ts';
import { memoryConfigSchema } from '../core/budget.ts';
import { duration } from '../core/config-fields.ts';
import { positionsConfigSchema } from '../positions/config.ts';
import { serverConfigSchema } from '../server/config.ts';
import { workersConfigSchema } from '../workers/config.ts';

export const configSchema = z.strictObject({
  server: serverConfigSchema,
  positions: positionsConfigSchema,
  memory: memoryConfigSchema,
  shutdown: z.strictObject({
    grace_period: duration().default(10_000),
  }).default({ grace_period: 10_000 }),
  /** Host name recorded in source.host (defaults to os.hostname()). */
  host: z.string().optional(),
  sources: z.array(sourceSchema).min(1, { message: 'at least one source is required' }),
  pipeline: z.array(stageSchema).default([]),
  /** Built-in event classification ahead of `pipeline` (README "Event classification"). */
  classification: classificationConfigSchema,
  /** Built-in secret redaction ahead of `pipeline`, on by default (README "Redaction"). */
  redaction: redactionConfigSchema,
  /** Built-in security and performance metrics on /metrics (see README "Derived metrics"). */
  derived_metrics: derivedMetricsSchema.default(DERIVED_METRICS_DEFAULTS),
  /** Parse and run the stages on worker threads (README "Pipeline workers"); 0 threads: off. */
  workers: workersConfigSchema,
  sinks: z.array(sinkSchema).min(1, { message: 'at least one sink is required' }),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.sources.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name "${s.name}"` });
    seen.add(s.name);
    for (const iss of parserOptionIssues(s.parser, s.parser_options)) ctx.addIssue({ code: 'custom', path: ['sources', i, ...iss.path], message: iss.message });
  });
  const sinkNames = new Set<string>();
  cfg.sinks.forEach((s, i) => {
    const name = s.name ?? `${s.type}${cfg.sinks.filter((x) => x.type === s.type).length > 1 ? `_${i}` : ''}`;
    if (sinkNames.has(name)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink name "${name}"` });
    sinkNames.add(name);
  });
  for (const iss of duplicateMetricRuleNames(cfg.pipeline)) ctx.addIssue({ code: 'custom', ...iss });
});
export type Config = z.infer<typeof configSchema>;

/** The name a sink is known by in metrics and /api/status. */
export function sinkName(cfg: Config, index: number): string {
  const s = cfg.sinks[index];
  if (s.name) return s.name;
  return cfg.sinks.filter((x) => x.type === s.type).length > 1 ? `${s.type}_${index}` : s.type;
}
