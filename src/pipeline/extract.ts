import { z } from 'zod';
import { splitLogfmt } from '../parse/logfmt-pairs.ts';
import { compileUserRegex } from '../parse/safe-regex.ts';
import type { LogEvent } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';

/** A user regex that must run in linear time (see src/parse/safe-regex.ts), named groups required. */
const groupsRegex = () =>
  z.string().transform((v, ctx) => {
    const r = compileUserRegex(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    if (!/\(\?<[A-Za-z_]/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'the pattern needs at least one named group (?<name>...)' });
      return z.NEVER;
    }
    return r.regex;
  });

/**
 * A JSON path: `a.b`, `a[0].b`, `"key.with.dots"` (the part of JMESPath Promtail users write for
 * field access); each element is a key or an array index.
 */
export function parseJsonPath(text: string): Array<string | number> | undefined {
  const out: Array<string | number> = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      out.push(text.slice(i + 1, end));
      i = end + 1;
    } else if (text[i] === '[') {
      const end = text.indexOf(']', i);
      const idx = Number(text.slice(i + 1, end));
      if (end < 0 || !Number.isInteger(idx) || idx < 0) return undefined;
      out.push(idx);
      i = end + 1;
    } else {
      const m = /^[A-Za-z_@$][A-Za-z0-9_@$-]*/.exec(text.slice(i));
      if (!m) return undefined;
      out.push(m[0]);
      i += m[0].length;
    }
    if (i < n && text[i] === '.') {
      i++;
      if (i === n) return undefined;
    } else if (i < n && text[i] !== '[') return undefined;
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const extractStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('extract'),
  name: z.string().optional(),
  /** The record field whose text is read (default: the message). */
  from: z.string().default('message'),
  /** json: the text is a JSON object; logfmt: key=value pairs; regex: `pattern`'s named groups. */
  format: z.enum(['json', 'logfmt', 'regex']),
  /** json: name → path in the object; logfmt: name → key. Empty or null: the same name. None: every key (logfmt). */
  fields: z.record(z.string(), z.string().nullable()).optional(),
  pattern: groupsRegex().optional(),
}).superRefine((c, ctx) => {
  if (c.format === 'regex' && c.pattern === undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'format regex needs pattern' });
  if (c.format !== 'regex' && c.pattern !== undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'pattern is for format regex' });
  if (c.format === 'json' && (c.fields === undefined || Object.keys(c.fields).length === 0)) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'format json needs fields (name: path)' });
  if (c.format === 'json' && c.fields) {
    for (const [name, p] of Object.entries(c.fields)) {
      if (parseJsonPath(p || name) === undefined) ctx.addIssue({ code: 'custom', path: ['fields', name], message: `expected a field path like a.b or a[0]."c.d", got ${JSON.stringify(p)}` });
    }
  }
}));
export type ExtractStageConfig = z.infer<typeof extractStageSchema>;

/**
 * Reads values out of a field's text into `metadata.<name>` without touching the message: the
 * Promtail way of parsing (json, logfmt, regex stages fill an "extracted map" that later stages
 * turn into labels, timestamps or the line). Values are kept as found (strings, numbers,
 * booleans); objects and arrays become their JSON text. Text that is not of the format adds
 * nothing.
 */
export class ExtractStage implements Stage {
  readonly name: string;
  private readonly from: string[];
  private readonly format: ExtractStageConfig['format'];
  private readonly paths: Array<[string, Array<string | number>]>;
  private readonly keys: Array<[string, string]> | null;
  private readonly pattern: RegExp | undefined;

  constructor(cfg: ExtractStageConfig) {
    this.name = cfg.name ?? `extract_${cfg.format}`;
    this.from = splitPath(cfg.from);
    this.format = cfg.format;
    const fields = Object.entries(cfg.fields ?? {});
    this.paths = cfg.format === 'json' ? fields.map(([name, p]) => [name, parseJsonPath(p || name)!]) : [];
    this.keys = cfg.format === 'logfmt' && fields.length > 0 ? fields.map(([name, k]) => [name, k || name]) : null;
    this.pattern = cfg.pattern;
  }

  process(event: LogEvent): LogEvent {
    const text = fieldText(getField(event.record, this.from));
    if (text === undefined) return event;
    switch (this.format) {
      case 'json':
        this.json(event, text);
        break;
      case 'logfmt':
        this.logfmt(event, text);
        break;
      case 'regex':
        this.regex(event, text);
        break;
    }
    return event;
  }

  private json(event: LogEvent, text: string): void {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      return;
    }
    if (obj === null || typeof obj !== 'object') return;
    for (const [name, path] of this.paths) {
      let v: unknown = obj;
      for (const p of path) {
        if (v === null || typeof v !== 'object') {
          v = undefined;
          break;
        }
        v = (v as Record<string | number, unknown>)[p];
      }
      if (v !== undefined) put(event, name, v);
    }
  }

  private logfmt(event: LogEvent, text: string): void {
    const pairs = splitLogfmt(text);
    if (pairs === undefined) return;
    if (this.keys === null) {
      for (const [k, v] of Object.entries(pairs)) put(event, k, v);
      return;
    }
    for (const [name, key] of this.keys) if (pairs[key] !== undefined) put(event, name, pairs[key]);
  }

  private regex(event: LogEvent, text: string): void {
    const m = this.pattern!.exec(text);
    if (m?.groups === undefined) return;
    for (const [name, v] of Object.entries(m.groups)) if (v !== undefined) put(event, name, v);
  }
}

/** Sets metadata.<name>. */
export function put(event: LogEvent, name: string, value: unknown): void {
  const v = value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
  (event.record.metadata ??= {})[name] = v;
}
