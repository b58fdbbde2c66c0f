import { z } from 'zod';
import { LEVELS, type LogRecord } from './record.ts';

/**
 * The shared record schema as a zod schema (README "Record schema"). Parsers build records
 * directly (no validation on the hot path); this schema is what tests, the fuzz test and
 * `logship parse --validate` hold every record to. Strict: a parser that invents a field fails.
 */

/** RFC 3339 in UTC with `Z`, seconds required, any number of fraction digits up to 9. */
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

export const timestampSchema = z.string().regex(RFC3339_UTC, { message: 'expected RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.fff]Z)' })
  .refine((v) => !Number.isNaN(Date.parse(v.length > 24 ? `${v.slice(0, 23)}Z` : v)), { message: 'not a real date' });

export const levelSchema = z.enum(LEVELS);

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });

export const httpInfoSchema = z.strictObject({
  method: z.string().optional(),
  route: z.string().optional(),
  path: z.string().optional(),
  status_code: z.number().int().min(0).max(999).optional(),
  /** Milliseconds. */
  response_time: finite.min(0).optional(),
  bytes: z.number().int().min(0).optional(),
  referrer: z.string().optional(),
  protocol: z.string().optional(),
});

export const sourceInfoSchema = z.strictObject({
  type: z.enum(['file', 'docker', 'cri', 'journald', 'syslog', 'stdin', 'internal']),
  name: z.string(),
  file: z.string().optional(),
  peer: z.string().optional(),
  stream: z.enum(['stdout', 'stderr']).optional(),
  host: z.string().optional(),
  container_id: z.string().optional(),
  container_name: z.string().optional(),
  image: z.string().optional(),
  namespace: z.string().optional(),
  pod: z.string().optional(),
  pod_uid: z.string().optional(),
  container: z.string().optional(),
});

export const logRecordSchema = z.strictObject({
  timestamp: timestampSchema,
  level: levelSchema,
  service: z.string(),
  message: z.string(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
  user_id: z.string().optional(),
  request_id: z.string().optional(),
  /** Seconds. */
  duration: finite.optional(),
  event_type: z.string().optional(),
  action: z.string().optional(),
  ip_address: z.string().optional(),
  user_agent: z.string().optional(),
  http: httpInfoSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  source: sourceInfoSchema,
});

export type LogRecordShape = z.infer<typeof logRecordSchema>;

// Compile-time proof that the schema and the LogRecord type describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _recordMatchesSchema: Same<LogRecordShape, LogRecord> = true;
void _recordMatchesSchema;

/** Validates a record; returns the zod issues as `path: message` strings (empty when valid). */
export function recordProblems(record: unknown): string[] {
  const r = logRecordSchema.safeParse(record);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`);
}
