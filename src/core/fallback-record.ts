import { LEVELS, type Level, type LogEvent, type LogRecord } from './record.ts';

/**
 * What a record becomes when an encoder fails on it (see self-metrics/faults.ts for the counting):
 * a record every encoder can write.
 */

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Nesting kept in a fallback record's `unencoded` rendering. */
const FALLBACK_DEPTH = 20;
/** Characters kept of a fallback record's `unencoded` rendering. */
const FALLBACK_CHARS = 1 << 20;

/**
 * `event` with a record every encoder can write, for a record an encoder failed on (a cycle,
 * a BigInt, a getter that throws, nesting beyond the stack): the required fields as strings,
 * the message kept, and what the record held besides as a bounded best-effort rendering in
 * `metadata.unencoded`, with the failure in `metadata.encode_error`. The ack is the event's.
 */
export function fallbackEvent(event: LogEvent, err: unknown): LogEvent {
  const r = event.record as Partial<LogRecord> & Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const k in r) if (k !== 'timestamp' && k !== 'level' && k !== 'service' && k !== 'message' && k !== 'source') rest[k] = r[k];
  const record: LogRecord = {
    timestamp: typeof r.timestamp === 'string' ? r.timestamp : new Date().toISOString(),
    level: (LEVELS as readonly unknown[]).includes(r.level) ? (r.level as Level) : 'INFO',
    service: typeof r.service === 'string' ? r.service : String(r.service),
    message: typeof r.message === 'string' ? r.message : boundedJson(r.message),
    source: event.record.source,
    metadata: { encode_error: describeError(err), unencoded: boundedJson(rest).slice(0, FALLBACK_CHARS) },
  };
  return { record, labels: event.labels, ack: event.ack, truncated: event.truncated, size: event.size, offset: event.offset };
}

/** JSON of `v` that cannot throw: deep levels, cycles, BigInts and throwing getters become strings. */
export function boundedJson(v: unknown): string {
  const seen = new Set<object>();
  const parts: string[] = [];
  let chars = 0;
  const put = (s: string) => {
    parts.push(s);
    chars += s.length;
  };
  const walk = (x: unknown, depth: number): void => {
    if (chars > FALLBACK_CHARS) return put('null');
    if (x === null || x === undefined) return put('null');
    switch (typeof x) {
      case 'string':
        return put(JSON.stringify(x));
      case 'number':
        return put(Number.isFinite(x) ? String(x) : 'null');
      case 'boolean':
        return put(x ? 'true' : 'false');
      case 'bigint':
        return put(JSON.stringify(x.toString()));
      case 'object':
        break;
      default:
        return put(JSON.stringify(String(x)));
    }
    const o = x as object;
    if (depth >= FALLBACK_DEPTH) return put('"[nested deeper than ' + FALLBACK_DEPTH + ' levels]"');
    if (seen.has(o)) return put('"[cycle]"');
    seen.add(o);
    if (Array.isArray(o)) {
      put('[');
      for (let i = 0; i < o.length; i++) {
        if (i > 0) put(',');
        walk(o[i], depth + 1);
      }
      put(']');
    } else {
      put('{');
      let first = true;
      for (const k of Object.keys(o)) {
        let val: unknown;
        try {
          val = (o as Record<string, unknown>)[k];
        } catch (e) {
          val = `[${describeError(e)}]`;
        }
        if (val === undefined || typeof val === 'function') continue;
        put((first ? '' : ',') + JSON.stringify(k) + ':');
        first = false;
        walk(val, depth + 1);
      }
      put('}');
    }
    seen.delete(o);
  };
  walk(v, 0);
  return parts.join('');
}
