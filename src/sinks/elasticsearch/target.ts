import { LogshipError } from '../../core/errors.ts';
import type { LogEvent } from '../../core/record.ts';

/** A configured index or data stream name that can never be valid. */
export class IndexNameError extends LogshipError {}

/** Computes the target (index or data stream name) of one event. */
export type TargetNamer = (event: LogEvent) => string;

/** Characters Elasticsearch refuses in index names (plus ':' since 7.0); see the create-index API. */
const ILLEGAL = /[\\/*?"<>|\s,#:]/g;
const MAX_NAME_BYTES = 255;

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'field'; path: string[] }
  | { kind: 'date'; unit: 'Y' | 'm' | 'd' | 'H' };

function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{') {
      const close = template.indexOf('}', i);
      if (close < 0) throw new IndexNameError('INDEX_TEMPLATE', `unclosed "{" in ${JSON.stringify(template)}`, { template });
      const name = template.slice(i + 1, close).trim();
      if (!/^[A-Za-z_@][\w@]*(\.[\w@-]+)*$/.test(name)) throw new IndexNameError('INDEX_TEMPLATE', `bad field reference {${name}} in ${JSON.stringify(template)}`, { template });
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'field', path: name.split('.') });
      i = close;
    } else if (c === '%') {
      const u = template[i + 1];
      if (u === '%') text += '%';
      else if (u === 'Y' || u === 'm' || u === 'd' || u === 'H') {
        if (text) parts.push({ kind: 'text', text });
        text = '';
        parts.push({ kind: 'date', unit: u });
      } else throw new IndexNameError('INDEX_TEMPLATE', `unknown date token %${u ?? ''} in ${JSON.stringify(template)} (known: %Y %m %d %H %%)`, { template });
      i++;
    } else text += c;
  }
  if (text) parts.push({ kind: 'text', text });
  return parts;
}

/** Lower-cases and replaces what ES forbids, so a record's value can never make a name invalid. */
export function sanitizeNamePart(value: string, alsoForbid?: RegExp): string {
  let v = value.toLowerCase().replace(ILLEGAL, '_');
  if (alsoForbid) v = v.replace(alsoForbid, '_');
  return v.length === 0 ? 'unknown' : v;
}

function fieldValue(event: LogEvent, path: string[]): string {
  if (path[0] === 'labels' && path.length === 2) return event.labels[path[1]] ?? '';
  let v: unknown = event.record;
  for (let i = 0; i < path.length && v !== undefined && v !== null; i++) v = (v as Record<string, unknown>)[path[i]];
  return v === undefined || v === null || typeof v === 'object' ? '' : String(v);
}

/** UTC date fields of an RFC 3339 timestamp: sliced when it is already UTC ("...Z"), parsed otherwise. */
function dateParts(ts: string): [string, string, string, string] {
  if (ts.length >= 20 && ts.charCodeAt(ts.length - 1) === 90 && ts.charCodeAt(10) === 84) {
    return [ts.slice(0, 4), ts.slice(5, 7), ts.slice(8, 10), ts.slice(11, 13)];
  }
  let ms = Date.parse(ts);
  if (Number.isNaN(ms)) ms = Date.now();
  const iso = new Date(ms).toISOString();
  return [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
}

function finishName(name: string): string {
  // Cannot start with - _ + ; cannot be . or .. ; at most 255 bytes.
  let n = name.replace(/^[-_+]+/, '');
  if (n === '' || n === '.' || n === '..') n = 'logship';
  if (Buffer.byteLength(n) > MAX_NAME_BYTES) n = Buffer.from(n).subarray(0, MAX_NAME_BYTES).toString('utf8').replace(/\uFFFD$/, '');
  return n;
}

/** One input a template reads from an event (a field's value, the hour of the timestamp). */
type Input = (event: LogEvent) => string;

/** The UTC hour ("2024-05-01T10") of a timestamp: all the date tokens read. */
function hourOf(ts: string): string {
  if (ts.length >= 20 && ts.charCodeAt(ts.length - 1) === 90 && ts.charCodeAt(10) === 84) return ts.slice(0, 13);
  const [y, m, d, h] = dateParts(ts);
  return `${y}-${m}-${d}T${h}`;
}

function inputsOf(parts: Part[]): Input[] {
  const inputs: Input[] = [];
  if (parts.some((p) => p.kind === 'date')) inputs.push((event) => hourOf(event.record.timestamp));
  for (const p of parts) {
    if (p.kind === 'field') {
      const path = p.path;
      inputs.push((event) => fieldValue(event, path));
    }
  }
  return inputs;
}

const MEMO_MAX = 4096;

/**
 * Names are memoized by their inputs, one Map level per input (no key strings to build):
 * lower-casing, sanitizing and byte-length checks per event cost more than the lookups, and a
 * host writes to a handful of indices at a time.
 */
function memoize(inputs: Input[], build: TargetNamer): TargetNamer {
  type Level = Map<string, Level | string>;
  let root: Level = new Map();
  let size = 0;
  const last = inputs.length - 1;
  return (event) => {
    let level = root;
    for (let i = 0; i < last; i++) {
      const k = inputs[i](event);
      let next = level.get(k) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(k, next);
      }
      level = next;
    }
    const k = inputs[last](event);
    let name = level.get(k) as string | undefined;
    if (name === undefined) {
      name = build(event);
      if (++size > MEMO_MAX) {
        // High-cardinality templates: start over rather than grow without bound.
        root = new Map();
        size = 0;
      } else level.set(k, name);
    }
    return name;
  };
}

function compile(parts: Part[], forbidInFields?: RegExp): TargetNamer {
  const dynamic = parts.some((p) => p.kind !== 'text');
  if (!dynamic) {
    const fixed = finishName(parts.map((p) => (p as { text: string }).text).join(''));
    return () => fixed;
  }
  return (event) => {
    let out = '';
    let date: [string, string, string, string] | null = null;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p.kind === 'text') out += p.text;
      else if (p.kind === 'field') out += sanitizeNamePart(fieldValue(event, p.path), forbidInFields);
      else {
        date ??= dateParts(event.record.timestamp);
        out += date[p.unit === 'Y' ? 0 : p.unit === 'm' ? 1 : p.unit === 'd' ? 2 : 3];
      }
    }
    return finishName(out);
  };
}

function checkLiteral(parts: Part[], template: string, part: string): void {
  const literal = parts.filter((p) => p.kind === 'text').map((p) => (p as { text: string }).text).join('');
  if (literal !== literal.toLowerCase()) throw new IndexNameError('INDEX_TEMPLATE', `index names must be lower case: ${JSON.stringify(template)}`, { template, part });
  ILLEGAL.lastIndex = 0;
  const bad = literal.match(ILLEGAL);
  if (bad) throw new IndexNameError('INDEX_TEMPLATE', `index names cannot contain ${JSON.stringify(bad[0])}: ${JSON.stringify(template)}`, { template, part });
  if (parts[0]?.kind === 'text' && /^[-_+]/.test(parts[0].text)) throw new IndexNameError('INDEX_TEMPLATE', `index names cannot start with "-", "_" or "+": ${JSON.stringify(template)}`, { template, part });
}

/** `logstash-{service}-%Y.%m.%d` → a function of the event. Throws IndexNameError for templates that can never be valid. */
export function compileIndexName(template: string): TargetNamer {
  const parts = parseTemplate(template);
  if (parts.length === 0) throw new IndexNameError('INDEX_TEMPLATE', 'the index name is empty', { template, part: 'index' });
  checkLiteral(parts, template, 'index');
  const build = compile(parts);
  return parts.some((p) => p.kind !== 'text') ? memoize(inputsOf(parts), build) : build;
}

/**
 * `{type}-{dataset}-{namespace}` of the data stream naming scheme: dataset and namespace cannot
 * contain "-" (it separates the three parts), so values from records have "-" replaced by "_".
 */
export function compileDataStreamName(ds: { type: string; dataset: string; namespace: string }): TargetNamer {
  const pieces: Array<[string, string]> = [['type', ds.type], ['dataset', ds.dataset], ['namespace', ds.namespace]];
  const namers: TargetNamer[] = [];
  const inputs: Input[] = [];
  for (const [part, template] of pieces) {
    const parts = parseTemplate(template);
    if (parts.length === 0) throw new IndexNameError('DATA_STREAM_NAME', `data_stream.${part} is empty`, { template, part });
    checkLiteral(parts, template, part);
    if (parts.some((p) => p.kind === 'text' && p.text.includes('-'))) throw new IndexNameError('DATA_STREAM_NAME', `data_stream.${part} cannot contain "-": ${JSON.stringify(template)}`, { template, part });
    if (parts.some((p) => p.kind === 'date')) throw new IndexNameError('DATA_STREAM_NAME', `data_stream.${part} cannot contain date tokens (data streams roll over by themselves)`, { template, part });
    namers.push(compile(parts, /-/g));
    inputs.push(...inputsOf(parts));
  }
  const [t, d, n] = namers;
  const name: TargetNamer = (event) => finishName(`${t(event)}-${d(event)}-${n(event)}`);
  if (inputs.length > 0) return memoize(inputs, name);
  let fixed: string | undefined;
  return (event) => (fixed ??= name(event));
}

/** The index pattern a template covers: every placeholder becomes "*" (e.g. "logstash-*"). */
export function targetPattern(cfg: { mode: 'index' | 'data_stream'; index: string; data_stream: { type: string; dataset: string; namespace: string } }): string {
  const wild = (t: string) => t.replace(/\{[^}]*\}|%[YmdH]/g, '*').replace(/%%/g, '%').replace(/\*+([^*]{0,1}\*+)*/g, (m) => (m.length === 1 ? m : '*'));
  if (cfg.mode === 'data_stream') return `${wild(cfg.data_stream.type)}-${wild(cfg.data_stream.dataset)}-${wild(cfg.data_stream.namespace)}`;
  return wild(cfg.index);
}
