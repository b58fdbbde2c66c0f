import { z } from 'zod';
import { typed } from '../core/config-fields.ts';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { ClassifyStage, classifyStageSchema, type ClassificationConfig } from './classify.ts';
import { DropStage, dropStageSchema } from './drop.ts';
import { ExtractStage, extractStageSchema } from './extract.ts';
import { FormatStage, formatStageSchema } from './format.ts';
import { LabelsStage, labelsStageSchema } from './labels.ts';
import { MatchStage, matchStageFields } from './match.ts';
import { MessageStage, messageStageSchema } from './message.ts';
import { MetricsStage, metricsStageSchema } from './metrics-stage.ts';
import { RedactStage, redactStageSchema, type RedactionConfig } from './redact.ts';
import type { Stage } from '../core/stage.ts';
import { TimestampStage, timestampStageSchema } from './timestamp.ts';

type LeafStageConfig =
  | z.infer<typeof labelsStageSchema> | z.infer<typeof dropStageSchema> | z.infer<typeof metricsStageSchema>
  | z.infer<typeof classifyStageSchema> | z.infer<typeof redactStageSchema> | z.infer<typeof extractStageSchema>
  | z.infer<typeof timestampStageSchema> | z.infer<typeof messageStageSchema> | z.infer<typeof formatStageSchema>;

/** A match stage as configured: its own keys plus the stages it runs. */
export interface MatchStageConfig extends z.infer<z.ZodObject<ReturnType<typeof matchStageFields>>> {
  stages: StageConfig[];
}
export type StageConfig = LeafStageConfig | MatchStageConfig;

/** `match` holds stages: its schema is defined here, next to the union it recurses into (built at its first use, as the other stages' are). */
const matchStageSchema = z.lazy(() => z.strictObject({
  ...matchStageFields(),
  /** Stages run on the matching events (action keep). */
  get stages(): z.ZodDefault<z.ZodArray<z.ZodType<StageConfig>>> {
    return z.array(stageSchema as z.ZodType<StageConfig>).default([]);
  },
}).refine((c) => c.sources !== undefined || c.selector !== undefined, { message: 'a match stage needs sources or selector (or both)' })
  .refine((c) => c.action === 'drop' || c.stages.length > 0, { message: 'a match stage with action keep needs stages', path: ['stages'] }));

/**
 * Every stage type the config accepts. New stages add their schema here and a case below. A stage
 * whose schema is built at its first use (z.lazy) goes in with typed(), which tells the union its
 * type: the default config (no `pipeline:`) builds none of them (bench/RESULTS.md, "Start-up").
 * classify and redact share their options with the top-level `classification:` and `redaction:`,
 * which every config builds.
 */
export const stageSchema = z.discriminatedUnion('type', [
  typed('labels', labelsStageSchema), typed('drop', dropStageSchema), typed('metrics', metricsStageSchema), classifyStageSchema, redactStageSchema,
  typed('extract', extractStageSchema), typed('timestamp', timestampStageSchema), typed('message', messageStageSchema), typed('format', formatStageSchema), typed('match', matchStageSchema),
]);

export interface StageContext {
  log: Logger;
  metrics: MetricsRegistry;
}

export function createStage(cfg: StageConfig, _ctx: StageContext): Stage {
  switch (cfg.type) {
    case 'labels':
      return new LabelsStage(cfg);
    case 'drop':
      return new DropStage(cfg);
    case 'metrics':
      return new MetricsStage(cfg, _ctx.metrics);
    case 'classify':
      return new ClassifyStage(cfg, _ctx);
    case 'redact':
      return new RedactStage(cfg, _ctx);
    case 'extract':
      return new ExtractStage(cfg);
    case 'timestamp':
      return new TimestampStage(cfg, _ctx.metrics);
    case 'message':
      return new MessageStage(cfg);
    case 'format':
      return new FormatStage(cfg);
    case 'match':
      return new MatchStage(cfg, cfg.stages.map((s) => createStage(s, _ctx)));
  }
}

/** How many stages createBuiltinStages makes for `cfg` (where the configured `pipeline` starts). */
export function builtinStageCount(cfg: { classification: { enabled: boolean }; redaction: { enabled: boolean } }): number {
  return (cfg.classification.enabled ? 1 : 0) + (cfg.redaction.enabled ? 1 : 0);
}

/**
 * The stages that run ahead of the user's `pipeline` unless switched off: classification
 * (so derived metrics work with zero config; it sees the raw values), then redaction (so no
 * user stage, sink or dry-run output sees a secret).
 */
export function createBuiltinStages(cfg: { classification: ClassificationConfig; redaction: RedactionConfig }, ctx: StageContext): Stage[] {
  const stages: Stage[] = [];
  if (cfg.classification.enabled) stages.push(new ClassifyStage(cfg.classification, ctx));
  if (cfg.redaction.enabled) stages.push(new RedactStage(cfg.redaction, ctx));
  return stages;
}
