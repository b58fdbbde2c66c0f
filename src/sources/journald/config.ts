import { z } from 'zod';
import { duration, size } from '../../core/config-fields.ts';
import { parsedSourceFields } from '../receiver-config.ts';

/** A journalctl match: `FIELD=value` (field names are upper case, digits, `_`), or `+` (OR). */
const MATCH = /^(?:[A-Z0-9_]+=.*|\+)$/s;

export const journaldSourceSchema = z.strictObject({
  // MESSAGE is free text: apps that log JSON or logfmt to stdout keep their fields.
  ...parsedSourceFields('auto'),
  type: z.literal('journald'),
  /** `auto`: on when the journal to read exists (and journalctl is installed), else skipped with a log line. */
  enabled: z.union([z.boolean(), z.literal('auto')]).default(true),
  /** A journal directory (journalctl --directory); default: the local journal. */
  directory: z.string().min(1).optional(),
  /** Journal files or globs (journalctl --file), instead of a directory. */
  files: z.array(z.string().min(1)).min(1).optional(),
  /** Only these units (journalctl --unit, globs allowed). */
  units: z.array(z.string().min(1)).default([]),
  /** Entries of these units (_SYSTEMD_UNIT, exact names) are skipped and acknowledged. */
  exclude_units: z.array(z.string().min(1)).default([]),
  /** Field matches passed to journalctl (`_TRANSPORT=kernel`, `+` between groups for OR). */
  matches: z.array(z.string().regex(MATCH, { message: 'expected FIELD=value (upper-case field name) or "+"' })).default([]),
  /** Where to start when no cursor is stored for this source: the journal's oldest entry or its current end. */
  start_at: z.enum(['beginning', 'end']).default('end'),
  /** The journalctl binary. */
  journalctl: z.string().min(1).default('journalctl'),
  /** Delay before restarting a journalctl that exited; doubles per quick failure up to max_restart_delay. */
  restart_delay: duration().default(1000),
  max_restart_delay: duration().default(30_000),
  /** MESSAGE fields longer than this are cut (and flagged truncated). */
  max_message_bytes: size().default(256 * 1024),
}).superRefine((c, ctx) => {
  if (c.directory !== undefined && c.files !== undefined) ctx.addIssue({ code: 'custom', path: ['files'], message: 'give either directory or files, not both' });
  if (c.max_restart_delay < c.restart_delay) ctx.addIssue({ code: 'custom', path: ['max_restart_delay'], message: 'must be at least restart_delay' });
});
export type JournaldSourceConfig = z.infer<typeof journaldSourceSchema>;
