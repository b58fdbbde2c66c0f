import { FieldMapper } from '../src/parse/fields.ts';
import { compileTimeFormat } from '../src/parse/time-format.ts';
import { unparsedRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogRecord } from '../src/core/record.ts';
import { splitLogfmt } from '../src/parse/logfmt-pairs.ts';

/** logfmt (Heroku, go-kit, logrus text, Grafana's own logs) mapped with the json parser's aliases. */
export function createLogfmtParser(options?: Pick<ParserOptions, 'timezone' | 'fields' | 'time_format'>): Parser {
  const time = new TimeReader();
  const mapper = new FieldMapper({ parser: 'logfmt', tz: TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC, time, fields: options?.fields, timeFormat: options?.time_format !== undefined ? compileTimeFormat(options.time_format) : undefined });
  return (line: string, ctx: ParseContext): LogRecord => {
    const obj = splitLogfmt(line);
    if (obj === undefined) {
      return unparsedRecord(line, ctx, 'logfmt', 'malformed', time);
    }
    return mapper.map(obj, ctx);
  };
}

