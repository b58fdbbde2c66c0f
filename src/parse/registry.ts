import { parseJson } from '../../parsers/json.ts';
import { parsePlain } from '../../parsers/plain.ts';
import { LogshipError } from '../errors.ts';
import type { Parser } from './types.ts';

export class UnknownParserError extends LogshipError {}

/** `auto`: JSON when the line starts with `{`, otherwise plain text. */
const parseAuto: Parser = (line, ctx) => (line.charCodeAt(0) === 123 ? parseJson(line, ctx) : parsePlain(line, ctx));

const PARSERS: Record<string, Parser> = {
  auto: parseAuto,
  json: parseJson,
  plain: parsePlain,
};

export const PARSER_NAMES = Object.keys(PARSERS);

export function createParser(name: string): Parser {
  const p = PARSERS[name];
  if (!p) throw new UnknownParserError('UNKNOWN_PARSER', `unknown parser "${name}" (known: ${PARSER_NAMES.join(', ')})`, { parser: name });
  return p;
}
