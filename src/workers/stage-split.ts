import { parseSelector, type Selector } from '../pipeline/match.ts';
import type { StageConfig } from '../pipeline/registry.ts';

/**
 * Where the configured `pipeline` splits between the workers and the main thread: the index of
 * the first stage that must see every record of the process in one place (a `metrics` stage
 * updates the one Prometheus registry; a `match` holding one does too). It and every stage after
 * it run on the main thread, as do the derived metrics (always last). Everything before it runs
 * in the workers; what those stages count is sent to the main thread's registry as exact deltas.
 */
export function workerStageCount(stages: readonly StageConfig[]): number {
  const i = stages.findIndex(mustStayOnMain);
  return i < 0 ? stages.length : i;
}

function mustStayOnMain(s: StageConfig): boolean {
  if (s.type === 'metrics') return true;
  return s.type === 'match' && s.stages.some(mustStayOnMain);
}

/**
 * A stage config as a worker can receive it (structured clone): a match stage's parsed selector
 * holds functions, so it crosses as its text and is parsed again there (see revivedStage).
 */
export function portableStage(s: StageConfig): unknown {
  if (s.type !== 'match') return s;
  return { ...s, selector: s.selector?.text, stages: s.stages.map(portableStage) };
}

/** The stage config portableStage sent, as createStage takes it. */
export function revivedStage(s: unknown): StageConfig {
  const cfg = s as { type: string; selector?: string | Selector; stages?: unknown[] };
  if (cfg.type !== 'match') return cfg as StageConfig;
  return { ...cfg, selector: typeof cfg.selector === 'string' ? parseSelector(cfg.selector) : cfg.selector, stages: (cfg.stages ?? []).map(revivedStage) } as StageConfig;
}
