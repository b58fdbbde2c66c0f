import { z } from 'zod';
import { regex, size } from '../core/config-fields.ts';
import { LEVELS, type LogEvent } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const dropStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('drop'),
  name: z.string().optional(),
  /** Drop records at these levels. */
  levels: z.array(z.enum(LEVELS)).optional(),
  /** Drop records whose field (dotted path) matches the regex. */
  field: z.string().optional(),
  matches: regex().optional(),
  equals: z.string().optional(),
  /** Drop records whose message is longer than this. */
  longer_than: size().optional(),
}).refine((c) => c.levels || c.field || c.longer_than !== undefined, { message: 'a drop stage needs at least one of levels, field (with matches or equals), longer_than' })
  .refine((c) => !c.field || c.matches || c.equals !== undefined, { message: 'field needs matches or equals', path: ['field'] }));
export type DropStageConfig = z.infer<typeof dropStageSchema>;

/** Drops records by level, field value or size; every condition given must hold. */
export class DropStage implements Stage {
  readonly name: string;
  private readonly levels: Set<string> | null;
  private readonly path: string[] | null;
  private readonly matches: RegExp | undefined;
  private readonly equals: string | undefined;
  private readonly longerThan: number | undefined;

  constructor(cfg: DropStageConfig) {
    this.name = cfg.name ?? 'drop';
    this.levels = cfg.levels ? new Set(cfg.levels) : null;
    this.path = cfg.field ? splitPath(cfg.field) : null;
    this.matches = cfg.matches;
    this.equals = cfg.equals;
    this.longerThan = cfg.longer_than;
  }

  process(event: LogEvent): LogEvent | null {
    const r = event.record;
    if (this.levels && !this.levels.has(r.level)) return event;
    if (this.longerThan !== undefined && r.message.length <= this.longerThan) return event;
    if (this.path) {
      const v = fieldText(getField(r, this.path));
      if (v === undefined) return event;
      if (this.equals !== undefined && v !== this.equals) return event;
      if (this.matches && !this.matches.test(v)) return event;
    }
    return null;
  }
}
