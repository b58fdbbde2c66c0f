import { z } from 'zod';
import { compileUserRegex } from './safe-regex.ts';
import { TimeZone } from './time.ts';
import { compileTimeFormat, TimeFormatError } from './time-format.ts';

/** Record fields a source can add aliases for (`parser_options.fields`). */
export const FIELD_SLOTS = [
  'timestamp', 'level', 'message', 'service', 'trace_id', 'span_id', 'user_id', 'request_id',
  'duration', 'duration_ms', 'duration_ns', 'event_type', 'action', 'ip_address', 'user_agent',
  'http.method', 'http.route', 'http.path', 'http.status_code', 'http.response_time', 'http.bytes', 'http.referrer', 'http.protocol',
] as const;
export type FieldSlot = (typeof FIELD_SLOTS)[number];

/**
 * Per-source parser options (`sources[].parser_options`). Validated at config load; parsers
 * that do not use an option ignore it, except `pattern`, which only `regex` takes.
 */
export const parserOptionsSchema = z.strictObject({
  /** `regex`: a JavaScript regular expression with named groups (group names are field names or aliases). */
  pattern: z.string().optional(),
  /** Zone for timestamps that carry none (syslog 3164, nginx/apache error, plain app lines): `local`, `UTC`, `+02:00`, `Europe/Berlin`. */
  timezone: z.string().default('local'),
  /** Extra source keys per record field, tried before the built-in aliases (json, logfmt, regex). Dotted keys also match nested objects. */
  fields: z.partialRecord(z.enum(FIELD_SLOTS), z.union([z.string(), z.array(z.string())])).optional(),
  /**
   * The layout of timestamps the built-in recognition does not read: the leading time of `plain`
   * and `auto` app lines, the timestamp field/group of `json`, `logfmt` and `regex`
   * (`yyMMdd HHmmss`, `dd/MM/yyyy HH:mm:ss.SSS`, `epoch_ms`; see src/parse/time-format.ts). Tried
   * first; a value that does not fit it is read as without it.
   */
  time_format: z.string().min(1).optional(),
  /** `nginx`/`apache`/`auto`: the level of 4xx responses (default WARN; 5xx are ERROR, the rest INFO). */
  client_error_level: z.enum(['INFO', 'WARN', 'ERROR']).default('WARN'),
});
export type ParserOptions = z.infer<typeof parserOptionsSchema>;

export const DEFAULT_PARSER_OPTIONS: ParserOptions = { timezone: 'local', client_error_level: 'WARN' };

export interface OptionIssue {
  path: (string | number)[];
  message: string;
}

/** Problems with a source's parser/parser_options pair, with paths relative to the source. */
export function parserOptionIssues(parser: string, options: ParserOptions | undefined): OptionIssue[] {
  const issues: OptionIssue[] = [];
  if (parser === 'regex' && !options?.pattern) issues.push({ path: ['parser_options', 'pattern'], message: 'the regex parser needs parser_options.pattern (a regular expression with named groups)' });
  if (!options) return issues;
  if (options.pattern !== undefined) {
    if (parser !== 'regex') issues.push({ path: ['parser_options', 'pattern'], message: `pattern is only used by the regex parser (this source uses "${parser}")` });
    else {
      const r = compileUserRegex(options.pattern);
      if (!r.ok) issues.push({ path: ['parser_options', 'pattern'], message: r.error });
      else if (!/\(\?<[A-Za-z_$][\w$]*>/.test(options.pattern)) issues.push({ path: ['parser_options', 'pattern'], message: 'the pattern has no named groups ((?<name>...)); nothing would be extracted' });
    }
  }
  if (options.time_format !== undefined) {
    if (!['plain', 'auto', 'json', 'logfmt', 'regex'].includes(parser)) issues.push({ path: ['parser_options', 'time_format'], message: `time_format is used by the plain, auto, json, logfmt and regex parsers ("${parser}" reads its format's own times)` });
    else {
      try {
        compileTimeFormat(options.time_format);
      } catch (e) {
        if (!(e instanceof TimeFormatError)) throw e;
        issues.push({ path: ['parser_options', 'time_format'], message: e.message });
      }
    }
  }
  if (TimeZone.parse(options.timezone) === undefined) issues.push({ path: ['parser_options', 'timezone'], message: `unknown time zone ${JSON.stringify(options.timezone)} (use local, UTC, an offset like +02:00, or an IANA name like Europe/Berlin)` });
  return issues;
}
