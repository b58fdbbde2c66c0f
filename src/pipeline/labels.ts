import { z } from 'zod';
import type { LogEvent } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const labelsStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('labels'),
  /** label name → record field path (`level`, `http.method`, `source.namespace`). */
  from: z.record(z.string(), z.string()).default({}),
  /** Static labels added to every event. */
  values: z.record(z.string(), z.string()).default({}),
  /**
   * Labels removed after `from` and `values` (set empty: the Loki sink leaves empty labels out and
   * does not fill them in from the record either). Promtail's labeldrop.
   */
  drop: z.array(z.string().min(1)).optional(),
  /** When given, every other label is removed the same way (Promtail's labelallow). */
  keep: z.array(z.string().min(1)).optional(),
}));
export type LabelsStageConfig = z.infer<typeof labelsStageSchema>;

/** Copies record fields into the event's labels (sinks decide which labels they use). */
export class LabelsStage implements Stage {
  readonly name = 'labels';
  private readonly from: Array<[string, string[]]>;
  private readonly values: Array<[string, string]>;
  private readonly drop: string[];
  private readonly keep: ReadonlySet<string> | null;

  constructor(cfg: LabelsStageConfig) {
    this.from = Object.entries(cfg.from).map(([label, path]) => [label, splitPath(path)]);
    this.values = Object.entries(cfg.values);
    this.drop = cfg.drop ?? [];
    this.keep = cfg.keep ? new Set(cfg.keep) : null;
  }

  process(event: LogEvent): LogEvent {
    const labels = event.labels;
    for (const [label, path] of this.from) {
      const v = fieldText(getField(event.record, path));
      if (v !== undefined && v !== '') labels[label] = v;
    }
    for (const [label, value] of this.values) labels[label] = value;
    if (this.drop.length > 0 || this.keep !== null) this.removeLabels(labels);
    return event;
  }

  private removeLabels(labels: Record<string, string>): void {
    for (const label of this.drop) labels[label] = '';
    if (this.keep !== null) for (const label of Object.keys(labels)) if (!this.keep.has(label)) labels[label] = '';
  }
}
