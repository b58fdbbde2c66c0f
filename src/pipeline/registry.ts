import { z } from 'zod';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../metrics/registry.ts';
import { DropStage, dropStageSchema } from './drop.ts';
import { LabelsStage, labelsStageSchema } from './labels.ts';
import { MetricsStage, metricsStageSchema } from './metrics.ts';
import type { Stage } from './stage.ts';

/** Every stage type the config accepts. New stages add their schema here and a case below. */
export const stageSchema = z.discriminatedUnion("type", [labelsStageSchema, dropStageSchema, metricsStageSchema]);
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
  }
}
