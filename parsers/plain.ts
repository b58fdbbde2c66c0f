import { plainRecord } from '../src/parse/normalize.ts';
import type { Parser } from '../src/parse/types.ts';

/** The whole line is the message. */
export const parsePlain: Parser = (line, ctx) => plainRecord(line, ctx);
