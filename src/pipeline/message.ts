import { z } from 'zod';
import type { LogEvent } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const messageStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('message'),
  name: z.string().optional(),
  /** The record field whose text becomes the message (what a Loki sink with line_format: message ships). */
  from: z.string().min(1),
}));
export type MessageStageConfig = z.infer<typeof messageStageSchema>;

/** Replaces the message with a field's text (Promtail's `output` stage); a missing field changes nothing. */
export class MessageStage implements Stage {
  readonly name: string;
  private readonly from: string[];

  constructor(cfg: MessageStageConfig) {
    this.name = cfg.name ?? 'message';
    this.from = splitPath(cfg.from);
  }

  process(event: LogEvent): LogEvent {
    const text = fieldText(getField(event.record, this.from));
    if (text !== undefined && text !== event.record.message) {
      event.record.message = text;
    }
    return event;
  }
}
