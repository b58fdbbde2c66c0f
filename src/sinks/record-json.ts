import { fallbackEvent } from '../core/fallback-record.ts';
import type { LogEvent, SourceInfo } from '../core/record.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';

/**
 * `,"source":{…}}`: what closes a record's JSON after its other keys. Sources hand out one frozen
 * SourceInfo per file or container, so its JSON is made once per sink: a frozen object's own
 * values cannot change (a write throws), and SourceInfo holds only strings, so its identity
 * stands for its content. A source object that is not frozen is serialized every time.
 */
export class SourceJson {
  private last: SourceInfo | undefined;
  private lastTail = '';

  tail(source: SourceInfo): string {
    if (source === this.last) return this.lastTail;
    const tail = ',"source":' + JSON.stringify(source) + '}';
    if (Object.isFrozen(source)) {
      this.last = source;
      this.lastTail = tail;
    }
    return tail;
  }
}

/**
 * The record as JSON text in three pieces, `head + added + tail`: for a record that still is the
 * line it was parsed from (LogEvent.verbatim: a JSON line in the shared schema, proven unchanged
 * when shipped, top-level keys stages appended aside) the line as read without its closing `}`,
 * the members stages appended (usually '') and `,"source":{…}}` (one string per source: sinks
 * may keep its bytes); else the record serialized, '' and ''. Same object either way; only the
 * key order differs (`source` last). A sink that copies bytes writes the pieces one after the
 * other: joining them would build a string only to copy it once more. One per sink.
 */
export class RecordJson {
  head = '';
  added = '';
  tail = '';
  private readonly source = new SourceJson();

  /** Sets head, added and tail to `event`'s record. */
  of(event: LogEvent): this {
    const line = event.verbatim;
    const added = line === undefined ? null : line.additions(event.record);
    if (added === null) {
      this.head = JSON.stringify(event.record);
      this.added = '';
      this.tail = '';
      return this;
    }
    return this.verbatim(line!.text, added, this.source.tail(event.record.source));
  }

  /**
   * Like of(), without `source`: for a sink whose line is the record alone (Loki: where it was
   * read goes to labels and structured metadata). Tail `}` for a verbatim line, '' otherwise.
   */
  ofWithoutSource(event: LogEvent): this {
    const line = event.verbatim;
    const added = line === undefined ? null : line.additions(event.record);
    if (added === null) {
      // The record is shared with the other sinks: `source` is hidden only while it is encoded.
      const record = event.record as { source: LogEvent['record']['source'] | undefined };
      const source = record.source;
      record.source = undefined;
      try {
        this.head = JSON.stringify(event.record);
      } finally {
        record.source = source;
      }
      this.added = '';
      this.tail = '';
      return this;
    }
    return this.verbatim(line!.text, added, '}');
  }

  /** A verbatim line: its text without the closing `}`, then the additions, then `tail`. */
  private verbatim(text: string, added: string, tail: string): this {
    this.head = text.slice(0, text.length - 1);
    this.added = added;
    this.tail = tail;
    return this;
  }

  /** The record as one JSON string. */
  string(event: LogEvent): string {
    this.of(event);
    return this.tail === '' ? this.head : this.head + this.added + this.tail;
  }
}

/**
 * The record's JSON (RecordJson.string), or, when encoding it throws, the JSON of its fallback
 * (fallbackEvent) with the fault noted: one record's encoding failure never fails its batch.
 */
export function recordJsonIsolated(json: RecordJson, event: LogEvent, sink: string, faults: RecordFaults | undefined): string {
  try {
    return json.string(event);
  } catch (err) {
    faults?.note({ kind: 'encode', where: sink, reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_fallback', file: event.record.source?.file, offset: event.offset }, err);
    return json.string(fallbackEvent(event, err));
  }
}
