import { z } from 'zod';
import { duration } from '../core/config-fields.ts';

export const fileSinkSchema = z.strictObject({
  type: z.literal('file'),
  name: z.string().optional(),
  /** NDJSON output file; its directory is created. */
  path: z.string().default('./data/shipped.ndjson'),
  /** fsync after each flush: slower, but what is acknowledged is on disk. */
  fsync: z.boolean().default(true),
  max_wait: duration().default(200),
});
export type FileSinkConfig = z.infer<typeof fileSinkSchema>;

export const stdoutSinkSchema = z.strictObject({
  type: z.literal('stdout'),
  name: z.string().optional(),
  pretty: z.boolean().default(false),
});
export type StdoutSinkConfig = z.infer<typeof stdoutSinkSchema>;
