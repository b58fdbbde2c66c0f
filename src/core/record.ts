import type { VerbatimLine } from './verbatim-line.ts';

/**
 * The shared schema: the one record type that flows between the boxes of the pipeline,
 * and the JSON shape the platform's own services already log in (see README "Record schema").
 * The zod schema that validates it lives in record-schema.ts (used by tests and `parse`).
 */

export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type Level = (typeof LEVELS)[number];

export interface HttpInfo {
  method?: string;
  /** Templated route (`/users/:id`) when known, for bounded metric labels. */
  route?: string;
  path?: string;
  status_code?: number;
  /** Milliseconds. */
  response_time?: number;
  bytes?: number;
  referrer?: string;
  protocol?: string;
}

export type SourceType = 'file' | 'docker' | 'cri' | 'journald' | 'syslog' | 'stdin' | 'internal';

export interface SourceInfo {
  type: SourceType;
  /** The configured source name. */
  name: string;
  file?: string;
  /** The sender's address (`ip:port`) of a record received over the network (syslog source). */
  peer?: string;
  stream?: 'stdout' | 'stderr';
  host?: string;
  container_id?: string;
  container_name?: string;
  image?: string;
  namespace?: string;
  pod?: string;
  pod_uid?: string;
  container?: string;
}

export interface LogRecord {
  /** RFC 3339 UTC, millisecond or finer precision as found in the line. */
  timestamp: string;
  level: Level;
  service: string;
  message: string;
  trace_id?: string;
  span_id?: string;
  user_id?: string;
  request_id?: string;
  /** Seconds. */
  duration?: number;
  event_type?: string;
  action?: string;
  ip_address?: string;
  user_agent?: string;
  http?: HttpInfo;
  /** Everything else the line carried, nested values kept. */
  metadata?: Record<string, unknown>;
  source: SourceInfo;
}

/**
 * Settles a record's share of a source position. A record holds one reference (the pipeline's);
 * fan-out to N sinks retains N more; each holder releases exactly once when the record reached a
 * final state there (delivered, duplicate, rejected-and-dead-lettered, dropped). The records of
 * one read of a file share one ack (a reference each): it settles when all of them have.
 */
export interface Ack {
  retain(n: number): void;
  release(): void;
  /** The record now also covers `other`'s bytes (a joined line); the record's reference to `other` is released. */
  absorb(other: Ack): void;
  /** The identity of the file the record's bytes are in (with LogEvent.offset, their stable name). */
  readonly identity?: string;
}

/** For records with no position to commit (stdin, internal events). */
export const NO_ACK: Ack = { retain() {}, release() {}, absorb(other) { other.release(); } };

/** A record in flight: the record, the labels computed for it so far, its acknowledgement. */
export interface LogEvent {
  record: LogRecord;
  /**
   * Static labels from the source config plus labels set by stages; sinks pick from these. Each
   * event has its own object: a stage writes into it as it likes (sinks compare contents, never
   * identities: see LabelsCopy).
   */
  labels: Record<string, string>;
  ack: Ack;
  /**
   * The line the record was parsed from, when it was exactly the record minus `source` (a JSON
   * line in the shared schema: nothing renamed, converted, moved or added). Sinks ship its bytes
   * instead of serializing the record only while the record provably still is that line
   * (compared when the router hands the event to the sinks: VerbatimLine.seal), so a stage
   * changes the record as it likes and never has to touch this.
   */
  readonly verbatim?: VerbatimLine;
  /** Set when the line was cut at max_line_bytes. */
  truncated?: boolean;
  /** Approximate size in bytes (the raw line), for batching decisions. */
  size: number;
  /** Where the record's bytes start in its file (see Ack.identity). */
  offset?: number;
  /**
   * Epoch ms of `record.timestamp` as the parser read it, so a sink need not parse the text again
   * (NaN or absent when the parser did not read it exactly). Stale once a stage rewrites the
   * timestamp, so it counts only while the text is still `parsedTimeText`: read it through
   * parsedTimestampMs().
   */
  parsedTimeMs?: number;
  /** The `record.timestamp` text `parsedTimeMs` was read from. */
  parsedTimeText?: string;
}

/** `event.parsedTimeMs` while the record still carries the timestamp it was read from, else NaN. */
export function parsedTimestampMs(event: LogEvent): number {
  const ms = event.parsedTimeMs;
  return ms !== undefined && event.parsedTimeText === event.record.timestamp ? ms : NaN;
}
