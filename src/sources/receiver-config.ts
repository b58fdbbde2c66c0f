import { z } from 'zod';
import { labelMap } from '../core/config-fields.ts';
import { parserOptionsSchema } from '../parse/options.ts';
import { PARSER_NAMES } from '../../parsers/index.ts';

/**
 * The keys every non-file source shares with the file source: what parses its messages and the
 * labels and service its records get. Spread into each source's own schema.
 */
export function parsedSourceFields(defaultParser: string) {
  return {
    name: z.string().min(1),
    parser: z.string().refine((p) => PARSER_NAMES.includes(p), { error: (iss) => `unknown parser ${JSON.stringify(iss.input)} (known: ${PARSER_NAMES.join(', ')})` }).default(defaultParser),
    parser_options: parserOptionsSchema.optional(),
    /** Service name for records whose message and transport name none (defaults to the source name). */
    service: z.string().optional(),
    labels: labelMap(),
  };
}
