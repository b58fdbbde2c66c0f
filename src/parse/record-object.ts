import type { Level, LogRecord, SourceInfo } from '../core/record.ts';

/**
 * Records are made by a constructor instead of an object literal, for the room: V8 sizes a
 * constructor's objects for the properties its body assigns plus 8 (in-object slack, trimmed to
 * what the first objects it made use), so the optional fields a parser or stage adds afterwards
 * (trace_id … duration, http, metadata) live in the object itself. A literal's object holds its
 * 5 properties and nothing more: the first field added allocates a separate property array of 3
 * slots, the fourth a copy with 6, the seventh one with 9 (seed format: 7 adds, ~110 bytes of
 * garbage and two copies per line more than this).
 *
 * The prototype is Object.prototype, so a record still is a plain object (VerbatimLine checks
 * that; JSON.stringify, structured clone and for-in see the same own properties in the same
 * order as the literal `{ timestamp, level, service, message, source }` made).
 */
interface RecordConstructor {
  new (timestamp: string, level: Level, service: string, message: string, source: SourceInfo): LogRecord;
  prototype: object;
}

const RecordObject = function (this: LogRecord, timestamp: string, level: Level, service: string, message: string, source: SourceInfo): void {
  this.timestamp = timestamp;
  this.level = level;
  this.service = service;
  this.message = message;
  this.source = source;
} as unknown as RecordConstructor;
RecordObject.prototype = Object.prototype;

/** `{ timestamp, level, service, message, source }`, with room for the optional fields (see above). */
export function newLogRecord(timestamp: string, level: Level, service: string, message: string, source: SourceInfo): LogRecord {
  return new RecordObject(timestamp, level, service, message, source);
}
