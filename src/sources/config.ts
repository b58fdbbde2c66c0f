import { z } from 'zod';
import { duration, labelMap, regex, size } from '../core/config-fields.ts';
import { parserOptionsSchema } from '../parse/options.ts';
import { PARSER_NAMES } from '../../parsers/index.ts';

export const multilineSchema = z.strictObject({
  /** A line matching `start` begins a new record; other lines are appended to the open one. */
  start: regex(),
  max_lines: z.number().int().min(1).default(500),
  max_bytes: size().default(1024 * 1024),
  /** Flush an open record this long after its last line arrived. */
  timeout: duration().default(3000),
});
export type MultilineConfig = z.infer<typeof multilineSchema>;

export const fileSourceSchema = z.strictObject({
  name: z.string().min(1),
  /** file: plain lines; docker: Docker json-file; cri: containerd/CRI-O; auto-detected per file with `container`. */
  type: z.enum(['file', 'docker', 'cri']).default('file'),
  paths: z.array(z.string().min(1)).min(1),
  exclude: z.array(z.string()).default([]),
  parser: z.string().refine((p) => PARSER_NAMES.includes(p), { error: (iss) => `unknown parser ${JSON.stringify(iss.input)} (known: ${PARSER_NAMES.join(', ')})` }).default('auto'),
  /** Options for the parser: `pattern` (regex), `timezone`, `fields` (aliases), `client_error_level`. */
  parser_options: parserOptionsSchema.optional(),
  /** Service name for records that carry none (defaults to the source name). */
  service: z.string().optional(),
  labels: labelMap(),
  /** Where to start in a file seen for the first time at the daemon's first start. Later files start at the beginning. */
  start_at: z.enum(['beginning', 'end']).default('end'),
  max_line_bytes: size().default(256 * 1024),
  /** A final line without newline is emitted once the file has been idle this long. */
  partial_line_timeout: duration().default(5000),
  multiline: multilineSchema.optional(),
  /** Safety-net rescan of the globs besides change events. */
  rescan_interval: duration().default(10_000),
  /** How long a renamed or deleted file is kept open after EOF, to catch late writes. */
  rotate_wait: duration().default(5000),
  /** Max bytes of a joined Docker/CRI record. */
  max_partial_bytes: size().default(1024 * 1024),
});
export type FileSourceConfig = z.infer<typeof fileSourceSchema>;
