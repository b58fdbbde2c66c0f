import type { LogEvent, SourceInfo } from './record.ts';

let lastSource: SourceInfo | undefined;
let lastSourceJson = '';

/**
 * The record as JSON text: the line as read plus `source` when the line already was the record
 * (LogEvent.json: a JSON line in the shared schema that no stage changed), else the record
 * serialized. Same object either way; only the key order differs (`source` last).
 */
export function recordJson(event: LogEvent): string {
  const json = event.json;
  if (json === undefined) return JSON.stringify(event.record);
  const source = event.record.source;
  // Sources hand out one frozen SourceInfo per file or container: its JSON is made once.
  if (source !== lastSource || !Object.isFrozen(source)) {
    lastSource = source;
    lastSourceJson = JSON.stringify(source);
  }
  // json ends in `}` and holds at least the record's required keys (FieldMapper.verbatim)
  return json.slice(0, json.length - 1) + ',"source":' + lastSourceJson + '}';
}
