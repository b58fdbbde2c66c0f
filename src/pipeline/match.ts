import { z } from 'zod';
import { LogshipError } from '../core/errors.ts';
import { compileUserRegex } from '../parse/safe-regex.ts';
import type { LogEvent } from '../core/record.ts';
import type { EmitEvent, Stage } from '../core/stage.ts';

export class SelectorError extends LogshipError {}

type LabelTest = { label: string; test: (v: string) => boolean };
type LineTest = (line: string) => boolean;

/** A parsed LogQL stream selector with optional line filters: `{app="api", env=~"prod|stage"} |= "error"`. */
export interface Selector {
  text: string;
  labels: LabelTest[];
  lines: LineTest[];
}

/**
 * Parses the subset of LogQL Promtail's match stage evaluates: label matchers `= != =~ !~`
 * (regexes fully anchored, as in Prometheus) and line filters `|= != |~ !~`. A label that is
 * not set counts as the empty string, as in LogQL.
 */
export function parseSelector(text: string): Selector {
  let i = 0;
  const n = text.length;
  const fail = (why: string): never => {
    throw new SelectorError('BAD_SELECTOR', `selector ${JSON.stringify(text)}: ${why} at offset ${i}`, { selector: text });
  };
  const skip = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    skip();
    const q = text[i];
    if (q === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) fail('unterminated string');
      const v = text.slice(i + 1, end);
      i = end + 1;
      return v;
    }
    if (q !== '"') fail('expected a quoted string');
    let j = i + 1;
    while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= n) fail('unterminated string');
    const v = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return v;
  };
  const regex = (src: string, anchored: boolean): RegExp => {
    const r = compileUserRegex(anchored ? `^(?:${src})$` : src);
    if (!r.ok) fail(r.error);
    return (r as { regex: RegExp }).regex;
  };
  skip();
  if (text[i] !== '{') fail('expected "{"');
  i++;
  const labels: LabelTest[] = [];
  for (;;) {
    skip();
    if (text[i] === '}') {
      i++;
      break;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) fail('expected a label name');
    const label = m![0];
    i += label.length;
    skip();
    const op = text.startsWith('=~', i) ? '=~' : text.startsWith('!~', i) ? '!~' : text.startsWith('!=', i) ? '!=' : text[i] === '=' ? '=' : fail('expected = != =~ or !~');
    i += op.length;
    const value = str();
    if (op === '=') labels.push({ label, test: (v) => v === value });
    else if (op === '!=') labels.push({ label, test: (v) => v !== value });
    else {
      const re = regex(value, true);
      labels.push({ label, test: op === '=~' ? (v) => re.test(v) : (v) => !re.test(v) });
    }
    skip();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail('expected "," or "}"');
  }
  const lines: LineTest[] = [];
  for (;;) {
    skip();
    if (i >= n) break;
    const op = ['|=', '!=', '|~', '!~'].find((o) => text.startsWith(o, i)) ?? fail('expected a line filter (|= != |~ !~)');
    i += op.length;
    const value = str();
    if (op === '|=') lines.push((l) => l.includes(value));
    else if (op === '!=') lines.push((l) => !l.includes(value));
    else {
      const re = regex(value, false);
      lines.push(op === '|~' ? (l) => re.test(l) : (l) => !re.test(l));
    }
  }
  return { text, labels, lines };
}

export function selectorMatches(sel: Selector, event: LogEvent): boolean {
  for (const t of sel.labels) if (!t.test(event.labels[t.label] ?? '')) return false;
  for (const t of sel.lines) if (!t(event.record.message)) return false;
  return true;
}

export const selectorSchema = z.lazy(() => z.string().transform((v, ctx) => {
  try {
    return parseSelector(v);
  } catch (e) {
    if (!(e instanceof SelectorError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.message });
    return z.NEVER;
  }
}));

/**
 * The match stage's own keys; `stages` (recursive) is added where the stage union is defined.
 * A function: the schema is built at its first use (registry.ts).
 */
export const matchStageFields = () => ({
  type: z.literal('match'),
  name: z.string().optional(),
  /** Only events of these sources (by source name). */
  sources: z.array(z.string().min(1)).min(1).optional(),
  /** Only events whose labels and message fit this LogQL selector. */
  selector: selectorSchema.optional(),
  /** keep: run `stages` on matching events; drop: drop matching events. */
  action: z.enum(['keep', 'drop']).default('keep'),
});

/**
 * Runs nested stages only on the events a source list and/or a selector picks (Promtail's
 * per-scrape-job pipelines and its match stage), or drops those events. An event a nested stage
 * drops is dropped; events a nested stage emits continue after the match stage.
 */
export class MatchStage implements Stage {
  readonly name: string;
  private readonly sources: ReadonlySet<string> | null;
  private readonly selector: Selector | undefined;
  private readonly drop: boolean;
  private readonly stages: Stage[];

  constructor(cfg: { name?: string; sources?: string[]; selector?: Selector; action: 'keep' | 'drop' }, stages: Stage[]) {
    this.name = cfg.name ?? (cfg.action === 'drop' ? 'match_drop' : 'match');
    this.sources = cfg.sources ? new Set(cfg.sources) : null;
    this.selector = cfg.selector;
    this.drop = cfg.action === 'drop';
    this.stages = stages;
  }

  process(event: LogEvent, emit?: EmitEvent): LogEvent | null {
    if (this.sources !== null && !this.sources.has(event.record.source.name)) return event;
    if (this.selector !== undefined && !selectorMatches(this.selector, event)) return event;
    if (this.drop) return null;
    let out: LogEvent | null = event;
    for (let i = 0; i < this.stages.length && out !== null; i++) out = this.stages[i].process(out, emit);
    return out;
  }
}
