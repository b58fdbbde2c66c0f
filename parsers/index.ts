import { createApacheParser } from './apache.ts';
import { createAutoParser } from './auto.ts';
import { createJsonParser } from './json.ts';
import { createLogfmtParser } from './logfmt.ts';
import { createNginxParser } from './nginx.ts';
import { createPlainParser, createRawParser } from './plain.ts';
import { createRegexParser } from './regex.ts';
import { createSyslogParser } from './syslog.ts';
import { LogshipError } from '../src/core/errors.ts';
import { DEFAULT_PARSER_OPTIONS, parserOptionIssues, type ParserOptions } from '../src/parse/options.ts';
import type { Parser } from '../src/parse/types.ts';

export class UnknownParserError extends LogshipError {}
export class ParserOptionsError extends LogshipError {}

/** Every parser a source can name in `parser:`, built from its `parser_options`. */
const FACTORIES: Record<string, (o: ParserOptions) => Parser> = {
  auto: (o) => createAutoParser(o),
  json: (o) => createJsonParser(o),
  logfmt: (o) => createLogfmtParser(o),
  nginx: (o) => createNginxParser(o),
  apache: (o) => createApacheParser(o),
  syslog: (o) => createSyslogParser(o),
  plain: (o) => createPlainParser(o),
  raw: () => createRawParser(),
  regex: (o) => createRegexParser(o),
};

export const PARSER_NAMES = Object.keys(FACTORIES);

/** A parser by name with its options (validated again here so a programmatic caller gets the same errors as config). */
export function createParser(name: string, options: ParserOptions = DEFAULT_PARSER_OPTIONS): Parser {
  const factory = FACTORIES[name];
  if (!factory) throw new UnknownParserError('UNKNOWN_PARSER', `unknown parser "${name}" (known: ${PARSER_NAMES.join(', ')})`, { parser: name });
  const issues = parserOptionIssues(name, options);
  if (issues.length > 0) throw new ParserOptionsError('BAD_PARSER_OPTIONS', issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { parser: name });
  return factory({ ...DEFAULT_PARSER_OPTIONS, ...options });
}
