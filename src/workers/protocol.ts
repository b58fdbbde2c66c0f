import type { RecordFault } from '../core/status.ts';
import type { SourceInfo } from '../core/record.ts';
import type { TransportFields } from '../core/line.ts';
import type { ClassificationConfig } from '../pipeline/classify.ts';
import type { RedactionConfig } from '../pipeline/redact.ts';

/**
 * The messages between the main thread and a pipeline worker. What crosses is what the other side
 * cannot have already: line texts go out one message per read (not per line), records come back
 * as their JSON text (the main thread parses it once and sinks ship those bytes), and acks never
 * cross: the main thread keeps each batch's lines (with their acks) until its results return.
 */

/** What a worker needs to build every source's parser and the stages it runs (workerData). */
export interface WorkerInit {
  sources: Array<{ name: string; service: string; parser: string; parserOptions: unknown; labels: Record<string, string> }>;
  classification: ClassificationConfig;
  redaction: RedactionConfig;
  /** The configured `pipeline` stages the worker runs (a prefix), match selectors as their text. */
  stages: unknown[];
  logLevel: string;
  /**
   * The record fields (dotted paths) the main thread reads when it runs no stage that changes a
   * record (only the derived metrics) and every sink ships the record's JSON as the worker
   * rendered it (Loki): then each record comes back as that text plus the values of
   * these fields (BatchResults.slim), not as a record to parse whole. null: whole records.
   */
  slimFields: string[] | null;
  /** How many times this worker slot was started before (for logs). */
  incarnation: number;
}

/** Main → worker: the lines of one read of one file (or one source's messages), in order. */
export interface LineBatch {
  t: 'lines';
  id: number;
  /** Index into WorkerInit.sources. */
  source: number;
  /** Every line's SourceInfo when they share it (the usual case), else `infos`. */
  info: SourceInfo | null;
  infos: SourceInfo[] | null;
  texts: string[];
  readTimes: Float64Array;
  /** NaN: no offset. */
  offsets: Float64Array;
  truncated: Uint8Array;
  /** Only when a line has one (container runtimes, the journal). */
  runtimeTimestamps: Array<string | undefined> | null;
  transports: Array<TransportFields | undefined> | null;
}

/** Main → worker: answer with `drained` once every batch posted before it is answered. */
export interface DrainRequest {
  t: 'drain';
}

/**
 * Worker → main: the events a batch became, in order. Output k came from line `line[k]`; `own[k]`
 * is 1 when it carries that line's ack (0: a stage emitted it, it covers no bytes). A line with no
 * output of its own was dropped by a stage (counted in the worker).
 */
export interface BatchResults {
  t: 'results';
  id: number;
  line: Int32Array;
  own: Uint8Array;
  /**
   * Every output's record as JSON, one after the other in a few strings (one copy across threads,
   * not one per record; each under SEGMENT_CHARS, see there): output k's is
   * `json[jsonSeg[k]].slice(jsonStart[k], jsonEnd[k])`, without `source` when `sourceStripped[k]`
   * (re-attached from the line), else with it.
   */
  json: string[];
  jsonSeg: Int32Array;
  jsonStart: Int32Array;
  jsonEnd: Int32Array;
  sourceStripped: Uint8Array;
  /**
   * With WorkerInit.slimFields: the outputs' values of those fields, one column per field
   * (SlimFields), null for a column no output has a value in. Else empty.
   */
  slim: Array<unknown[] | null>;
  /** With slimFields: 1 for an output the main thread parses whole (it keeps its `source`, or shipped a fallback). */
  whole: Uint8Array;
  /** null: the source's static labels, unchanged. */
  labels: Array<Record<string, string> | null>;
  size: Float64Array;
  offset: Float64Array;
  parsedTimeMs: Float64Array;
  /** null: the record's own timestamp text; undefined: none. */
  parsedTimeText: Array<string | null | undefined>;
}

/**
 * Characters per string of records at most (unless one record is longer). V8 allocates a string
 * over 128 KiB in the large-object space of the old generation: a 280 KB string per batch made
 * every batch old-generation garbage and cost the main thread ~1.5 µs per line in GC and copying
 * (seed corpus, in-process A/B); under 128 KiB it is young garbage and costs nothing measurable.
 */
export const SEGMENT_CHARS = 60_000;

/** Worker → main: counter increments since the last such message, exact. */
export interface CounterDeltas {
  t: 'counts';
  families: Array<{ name: string; help: string; labelNames: string[]; series: Array<{ labels: Record<string, string>; delta: number }> }>;
}

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'drained' }
  | { t: 'fault'; fault: Omit<RecordFault, 'at'> }
  | BatchResults
  | CounterDeltas;

export type MainMessage = LineBatch | DrainRequest;
