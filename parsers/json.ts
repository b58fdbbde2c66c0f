import { FieldMapper } from '../src/parse/fields.ts';
import { compileTimeFormat } from '../src/parse/time-format.ts';
import { unparsedRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogRecord } from '../src/core/record.ts';

/**
 * JSON lines: the platform's own format (CF1 `userId`/`requestId`/`context`, and
 * `trace_id`/`span_id`/`metadata`), pino, bunyan, winston, structlog / python-json-logger,
 * zap / zerolog / slog, ECS and Logstash, Serilog CLEF. Fields come from the aliases in
 * src/parse/fields.ts plus the source's `parser_options.fields`; everything else lands in
 * `metadata` with nested values kept. Malformed JSON and non-object JSON (arrays, numbers,
 * strings) become plain records with the raw line as message and a counted parse error.
 */
export function createJsonParser(options?: Pick<ParserOptions, 'timezone' | 'fields' | 'time_format'>): Parser {
  const time = new TimeReader();
  const mapper = new FieldMapper({ parser: 'json', tz: TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC, time, fields: options?.fields, timeFormat: options?.time_format !== undefined ? compileTimeFormat(options.time_format) : undefined });
  const groups = new JsonLineGroups();
  const parse: Parser = (line: string, ctx: ParseContext): LogRecord => {
    let obj = groups.take(line);
    if (obj === UNPARSED) obj = parseLine(line);
    if (obj === MALFORMED) {
      return unparsedRecord(line, ctx, 'json', 'malformed', time);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return unparsedRecord(line, ctx, 'json', 'not_an_object', time);
    }
    const rec = mapper.map(obj as Record<string, unknown>, ctx);
    if (mapper.verbatim && line.charCodeAt(line.length - 1) === 125 /* } */) {
      // A duplicate key, which JSON.parse folds into one, would leave the line saying more than the record.
      const keys = mapper.inputKeys + (rec.metadata === undefined ? 0 : keyCount(rec.metadata, 0)) + (rec.http === undefined ? 0 : keyCount(rec.http as Record<string, unknown>, 0));
      if (keyColons(line) === keys) ctx.verbatim = true;
    }
    return rec;
  };
  parse.prepare = (lines) => groups.prepare(lines);
  return parse;
}

const MALFORMED = Symbol('malformed');
const UNPARSED = Symbol('unparsed');
const NO_LINES: readonly string[] = [];
/** Lines parsed by one JSON.parse call: past ~16 the saving per line barely grows. */
const GROUP = 16;

/**
 * Parses announced lines (Parser.prepare) in groups: one JSON.parse of `["Ā",⏎L1,⏎L2,⏎…]`
 * (⏎ a newline) instead of one call per line. The json parser on the bench corpus, announced
 * in reads of 900 lines: 1,400 → 1,150 ns per line.
 *
 * A group only takes lines that start with `{` and hold no `[`; then the group parses into
 * exactly one element per line only when each line alone is one JSON object, the same object.
 * Why: a raw newline cannot be inside a JSON string, so every joining `,⏎` is outside strings
 * (and each line's strings are the ones it has alone); with no arrays in the lines, a joining
 * comma below the top level would sit in an object, where the next line's `{` cannot follow a
 * comma: a syntax error. A `]` outside strings has no `[` of its line to close: inside an object
 * it is a syntax error, between elements it closes the group's array with more text after it,
 * a syntax error too. So every joining comma separates top-level elements, each line spans at
 * least one element, and a line that is not exactly one value (`{"a":1},{"b":2}`) makes more
 * elements than lines. Whatever does not parse that way (a malformed line anywhere in the
 * group) is parsed line by line.
 */
class JsonLineGroups {
  private lines: readonly string[] = NO_LINES;
  /** The index in `lines` of the line expected next. */
  private next = 0;
  /** Values of lines[from, to), by index - from (UNPARSED: parse that line alone). */
  private readonly values: unknown[] = new Array(GROUP).fill(UNPARSED);
  private from = 0;
  private to = 0;

  prepare(lines: readonly string[]): void {
    this.lines = lines;
    this.next = 0;
    this.from = 0;
    this.to = 0;
  }

  /** The parsed value of `line`, or UNPARSED when it was not announced next or is not in a group. */
  take(line: string): unknown {
    const i = this.next;
    const lines = this.lines;
    if (i >= lines.length || lines[i] !== line) {
      if (lines !== NO_LINES) this.prepare(NO_LINES);
      return UNPARSED;
    }
    this.next = i + 1;
    if (i >= this.to) this.parseGroup(i);
    if (i >= this.to) return UNPARSED;
    const v = this.values[i - this.from];
    this.values[i - this.from] = UNPARSED; // the record takes it over; do not keep it alive
    return v;
  }

  private parseGroup(i: number): void {
    const lines = this.lines;
    let j = i;
    let text = '["\u0100"';
    while (j < lines.length && j - i < GROUP && groupable(lines[j])) text += ',\n' + lines[j++];
    this.from = i;
    // one line alone gains nothing: it is parsed alone
    this.to = j - i < 2 ? i : j;
    if (this.to === i) return;
    let parsed: unknown[] | null = null;
    try {
      parsed = JSON.parse(text + ']') as unknown[];
    } catch {
      // some line of the group is not JSON: each is parsed alone
    }
    const values = this.values;
    if (parsed === null || parsed.length !== j - i + 1) {
      for (let k = 0; k < j - i; k++) values[k] = UNPARSED;
      return;
    }
    for (let k = 0; k < j - i; k++) values[k] = parsed[k + 1];
  }
}

/** Starts with `{` and holds no `[` (see JsonLineGroups: a `]` needs no scan of its own). */
function groupable(line: string): boolean {
  return line.charCodeAt(0) === 123 && line.indexOf('[') < 0;
}

/**
 * JSON.parse(line), parsed as the second element of a two-byte array. V8 interns every string
 * value shorter than 10 characters of a one-byte source (user ids, document ids, IPs): each new
 * one is a miss in a string table grown by millions of distinct ids and an old-space string until
 * the next full GC. A two-byte source skips that. Measured on the bench corpus (two such ids per
 * line): 1,120 → 830 ns per line; a line with no short distinct value pays the widening,
 * 590 → 810 ns.
 */
function parseLine(line: string): unknown {
  try {
    // `["Ā",` + one JSON value + `]` is valid exactly when the line is; several values make more elements.
    const wrapped = JSON.parse('["\u0100",' + line + ']') as unknown[];
    return wrapped.length === 2 ? wrapped[1] : MALFORMED;
  } catch {
    return MALFORMED;
  }
}

/** The json parser with the built-in aliases (zone-less times read as UTC). */

/**
 * The keys of a parsed JSON value, nested ones included; -1 when too deep to bother. Each key
 * written `"key":` shows once in the line as `":`, so a line with another count has a duplicate
 * key, `"key" :` spacing or a `":` inside a string: the record is not then exactly the line.
 */
function keyCount(v: Record<string, unknown> | unknown[], depth: number): number {
  if (depth > 16) return -1;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c = keysIn(v[i], depth);
      if (c < 0) return -1;
      n += c;
    }
    return n;
  }
  for (const k in v) {
    const c = keysIn(v[k], depth);
    if (c < 0) return -1;
    n += 1 + c;
  }
  return n;
}

/** The keys inside one value of an object or array at `depth`. */
function keysIn(x: unknown, depth: number): number {
  return x !== null && typeof x === 'object' ? keyCount(x as Record<string, unknown>, depth + 1) : 0;
}

/** How often `":` occurs in the line (found by its `:`, which indexOf finds fastest). */
function keyColons(line: string): number {
  let n = 0;
  for (let i = line.indexOf(':'); i >= 0; i = line.indexOf(':', i + 1)) if (line.charCodeAt(i - 1) === 34) n++;
  return n;
}
