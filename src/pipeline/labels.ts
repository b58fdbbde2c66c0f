import { z } from 'zod';
import type { LogEvent } from '../record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from './stage.ts';

export const labelsStageSchema = z.strictObject({
  type: z.literal('labels'),
  /** label name → record field path (`level`, `http.method`, `source.namespace`). */
  from: z.record(z.string(), z.string()).default({}),
  /** Static labels added to every event. */
  values: z.record(z.string(), z.string()).default({}),
});
export type LabelsStageConfig = z.infer<typeof labelsStageSchema>;

/** Copies record fields into the event's labels (sinks decide which labels they use). */
export class LabelsStage implements Stage {
  readonly name = 'labels';
  private readonly from: Array<[string, string[]]>;
  private readonly values: Array<[string, string]>;

  constructor(cfg: LabelsStageConfig) {
    this.from = Object.entries(cfg.from).map(([label, path]) => [label, splitPath(path)]);
    this.values = Object.entries(cfg.values);
  }

  process(event: LogEvent): LogEvent {
    for (const [label, path] of this.from) {
      const v = fieldText(getField(event.record, path));
      if (v !== undefined && v !== '') event.labels[label] = v;
    }
    for (const [label, value] of this.values) event.labels[label] = value;
    return event;
  }
}
