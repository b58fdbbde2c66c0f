import { z } from 'zod';
import type { LogEvent } from '../core/record.ts';
import { put } from './extract.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

/** `{path}` placeholders in a format text; any other character is literal. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}/g;

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const formatStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('format'),
  name: z.string().optional(),
  /** Where the text goes: `message` or `metadata.<name>`. */
  into: z.string().regex(/^(message|metadata\.[A-Za-z_][A-Za-z0-9_]*)$/, { message: 'expected message or metadata.<name>' }),
  /** Literal text with `{field.path}` placeholders (a missing field is empty). */
  text: z.string(),
  case: z.enum(['upper', 'lower']).optional(),
  /** Remove leading and trailing white space from the result. */
  trim: z.boolean().default(false),
}));
export type FormatStageConfig = z.infer<typeof formatStageSchema>;

/**
 * Builds a text from fields and literal text (Promtail's template stage, for the templates that
 * only interpolate values and change their case or trim them).
 */
export class FormatStage implements Stage {
  readonly name: string;
  private readonly parts: Array<string | string[]>;
  private readonly into: string | null;
  private readonly case: FormatStageConfig['case'];
  private readonly trim: boolean;

  constructor(cfg: FormatStageConfig) {
    this.name = cfg.name ?? 'format';
    this.into = cfg.into === 'message' ? null : cfg.into.slice('metadata.'.length);
    this.case = cfg.case;
    this.trim = cfg.trim;
    const parts: Array<string | string[]> = [];
    let last = 0;
    for (const m of cfg.text.matchAll(PLACEHOLDER)) {
      if (m.index > last) parts.push(cfg.text.slice(last, m.index));
      parts.push(splitPath(m[1]));
      last = m.index + m[0].length;
    }
    if (last < cfg.text.length) parts.push(cfg.text.slice(last));
    this.parts = parts;
  }

  process(event: LogEvent): LogEvent {
    let out = '';
    for (const p of this.parts) out += typeof p === 'string' ? p : (fieldText(getField(event.record, p)) ?? '');
    if (this.trim) out = out.trim();
    if (this.case === 'upper') out = out.toUpperCase();
    else if (this.case === 'lower') out = out.toLowerCase();
    if (this.into === null) event.record.message = out;
    else put(event, this.into, out);
    return event;
  }
}
