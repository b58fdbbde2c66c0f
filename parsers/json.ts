import { FieldMapper } from '../src/parse/fields.ts';
import { plainRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogRecord } from '../src/record.ts';

/**
 * JSON lines: the platform's own format (CF1 `userId`/`requestId`/`context`, and
 * `trace_id`/`span_id`/`metadata`), pino, bunyan, winston, structlog / python-json-logger,
 * zap / zerolog / slog, ECS and Logstash, Serilog CLEF. Fields come from the aliases in
 * src/parse/fields.ts plus the source's `parser_options.fields`; everything else lands in
 * `metadata` with nested values kept. Malformed JSON and non-object JSON (arrays, numbers,
 * strings) become plain records with the raw line as message and a counted parse error.
 */
export function createJsonParser(options?: Pick<ParserOptions, 'timezone' | 'fields'>): Parser {
  const mapper = new FieldMapper('json', TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC, options?.fields);
  return (line: string, ctx: ParseContext): LogRecord => {
    const obj = parseLine(line);
    if (obj === MALFORMED) {
      ctx.parseError('json', 'malformed');
      return plainRecord(line, ctx);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      ctx.parseError('json', 'not_an_object');
      return plainRecord(line, ctx);
    }
    const rec = mapper.map(obj as Record<string, unknown>, ctx);
    if (mapper.verbatim && line.charCodeAt(line.length - 1) === 125 /* } */) {
      // A duplicate key, which JSON.parse folds into one, would leave the line saying more than the record.
      const keys = mapper.inputKeys + (rec.metadata === undefined ? 0 : keyCount(rec.metadata, 0)) + (rec.http === undefined ? 0 : keyCount(rec.http as Record<string, unknown>, 0));
      if (keyColons(line) === keys) ctx.verbatim = true;
    }
    return rec;
  };
}

const MALFORMED = Symbol('malformed');

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
export const parseJson: Parser = createJsonParser();

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
