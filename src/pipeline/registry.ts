import { z } from 'zod';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { ClassifyStage, classifyStageSchema, type ClassificationConfig } from './classify.ts';
import { DropStage, dropStageSchema } from './drop.ts';
import { LabelsStage, labelsStageSchema } from './labels.ts';
import { MetricsStage, metricsStageSchema } from './metrics-stage.ts';
import { RedactStage, redactStageSchema, type RedactionConfig } from './redact.ts';
import type { Stage } from '../core/stage.ts';

/** Every stage type the config accepts. New stages add their schema here and a case below. */
export const stageSchema = z.discriminatedUnion("type", [labelsStageSchema, dropStageSchema, metricsStageSchema, classifyStageSchema, redactStageSchema]);
export type StageConfig = z.infer<typeof stageSchema>;

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
  }
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
