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
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      ctx.parseError('json', 'malformed');
      return plainRecord(line, ctx);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      ctx.parseError('json', 'not_an_object');
      return plainRecord(line, ctx);
    }
    return mapper.map(obj as Record<string, unknown>, ctx);
  };
}

/** The json parser with the built-in aliases (zone-less times read as UTC). */
export const parseJson: Parser = createJsonParser();
