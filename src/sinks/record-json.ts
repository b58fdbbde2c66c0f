import { fallbackEvent } from '../core/fallback-record.ts';
import type { LogEvent, SourceInfo } from '../core/record.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';

/** The last frozen SourceInfo and its tail (a frozen object stays as it is). */
let lastSource: SourceInfo | undefined;
let lastSourceTail = '';

/**
 * `,"source":{…}}`: what closes a record's JSON after its other keys. Sources hand out one frozen
 * SourceInfo per file or container, so its JSON is made once.
 */
export function sourceTail(source: SourceInfo): string {
  if (source === lastSource) return lastSourceTail;
  const tail = ',"source":' + JSON.stringify(source) + '}';
  if (Object.isFrozen(source)) {
    lastSource = source;
    lastSourceTail = tail;
  }
  return tail;
}

/**
 * The record as JSON text in three pieces, `head + added + tail`: for a line that already was the
 * record (LogEvent.json: a JSON line in the shared schema that stages at most added top-level
 * keys to) the line as read without its closing `}`, the keys stages added (LogEvent.jsonAdded,
 * usually '') and `,"source":{…}}` (one string per source: sinks may keep its bytes); else the
 * record serialized, '' and ''. Same object either way; only the key order differs (`source`
 * last). A sink that copies bytes writes the pieces one after the other: joining them would build
 * a string only to copy it once more.
 */
export class RecordJson {
  head = '';
  added = '';
  tail = '';

  /** Sets head, added and tail to `event`'s record. */
  of(event: LogEvent): this {
    const json = event.json;
    if (json === undefined) {
      this.head = JSON.stringify(event.record);
      this.added = '';
      this.tail = '';
      return this;
    }
    // json ends in `}` and holds at least the record's required keys (FieldMapper.verbatim)
    this.head = json.slice(0, json.length - 1);
    this.added = event.jsonAdded ?? '';
    this.tail = sourceTail(event.record.source);
    return this;
  }
}

const scratch = new RecordJson();

/** The record as one JSON string (see RecordJson). */
export function recordJson(event: LogEvent): string {
  scratch.of(event);
  return scratch.tail === '' ? scratch.head : scratch.head + scratch.added + scratch.tail;
}

/**
 * The record's JSON (recordJson), or, when encoding it throws, the JSON of its fallback
 * (fallbackEvent) with the fault noted: one record's encoding failure never fails its batch.
 */
export function recordJsonIsolated(event: LogEvent, sink: string, faults: RecordFaults | undefined): string {
  try {
    return recordJson(event);
  } catch (err) {
    faults?.note({ kind: 'encode', where: sink, reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_fallback', file: event.record.source?.file, offset: event.offset }, err);
    return recordJson(fallbackEvent(event, err));
  }
}
