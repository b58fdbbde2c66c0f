import { FieldMapper } from '../src/parse/fields.ts';
import { compileTimeFormat } from '../src/parse/time-format.ts';
import { unparsedRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { userRegex } from '../src/parse/safe-regex.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogRecord } from '../src/core/record.ts';

/**
 * A user's regular expression with named groups (`parser_options.pattern`). Group names are
 * record fields or any alias the json parser knows (`(?<ts>...)`, `(?<status>\d+)`,
 * `(?<msg>.*)`), plus `parser_options.fields`; other groups go to `metadata`. Without a message
 * group the whole line is the message. Lines that do not match ship as plain records with a
 * counted `no_match` parse error.
 *
 * Safety: the pattern was checked at config load to be runnable by V8's linear-time engine and
 * runs with the backtracking fallback enabled (see src/parse/safe-regex.ts), so no pattern and
 * no line can hang the daemon.
 */
export function createRegexParser(options: Pick<ParserOptions, 'pattern' | 'timezone' | 'fields' | 'time_format'>): Parser {
  if (options.pattern === undefined) throw new Error('the regex parser needs parser_options.pattern');
  const re = userRegex(options.pattern);
  const time = new TimeReader();
  const mapper = new FieldMapper({ parser: 'regex', tz: TimeZone.parse(options.timezone ?? 'UTC') ?? TimeZone.UTC, time, fields: options.fields, timeFormat: options?.time_format !== undefined ? compileTimeFormat(options.time_format) : undefined });
  // every group name: matching the pattern's alternative with an empty one yields them all
  const names = Object.keys(new RegExp(`${options.pattern}|`).exec('')?.groups ?? {});
  const hasMessage = names.some((g) => mapper.slotOf(g) === 'message');
  return (line: string, ctx: ParseContext): LogRecord => {
    const m = re.exec(line);
    if (m === null || m.groups === undefined) {
      return unparsedRecord(line, ctx, 'regex', 'no_match', time);
    }
    const groups: Record<string, unknown> = {};
    for (const k in m.groups) {
      const v = m.groups[k];
      if (v !== undefined && v !== '') groups[k] = v;
    }
    const rec = mapper.map(groups, ctx);
    if (!hasMessage) rec.message = line;
    return rec;
  };
}
