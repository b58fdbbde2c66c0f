import type { LogRecord } from '../src/record.ts';
import { normalizeLevel, normalizeTimestamp, plainRecord, readTime } from '../src/parse/normalize.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';

const KNOWN = new Set(['timestamp', 'time', '@timestamp', 'ts', 'level', 'severity', 'msg', 'message', 'service', 'trace_id', 'span_id', 'user_id', 'userId', 'request_id', 'requestId', 'duration', 'event_type', 'action', 'ip_address', 'user_agent', 'context', 'metadata']);

/** JSON lines (the platform's own format first). Non-objects and malformed JSON become plain records. */
export const parseJson: Parser = (line: string, ctx: ParseContext): LogRecord => {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    ctx.parseError('json', 'malformed');
    return plainRecord(line, ctx);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    ctx.parseError('json', 'not_an_object');
    return plainRecord(line, ctx);
  }
  const o = obj as Record<string, unknown>;
  const ts = normalizeTimestamp(o.timestamp ?? o['@timestamp'] ?? o.time ?? o.ts);
  const rec: LogRecord = {
    timestamp: ts ?? ctx.runtimeTimestamp ?? readTime(ctx),
    level: normalizeLevel(o.level ?? o.severity),
    service: typeof o.service === 'string' ? o.service : ctx.service,
    message: typeof o.message === 'string' ? o.message : typeof o.msg === 'string' ? o.msg : '',
    source: ctx.source,
  };
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  const trace = str(o.trace_id); if (trace) rec.trace_id = trace;
  const span = str(o.span_id); if (span) rec.span_id = span;
  const user = str(o.user_id ?? o.userId); if (user) rec.user_id = user;
  const req = str(o.request_id ?? o.requestId); if (req) rec.request_id = req;
  if (typeof o.duration === 'number') rec.duration = o.duration;
  for (const k of ['event_type', 'action', 'ip_address', 'user_agent'] as const) {
    const v = str(o[k]);
    if (v) rec[k] = v;
  }
  let metadata: Record<string, unknown> | undefined;
  const ctxObj = o.context ?? o.metadata;
  if (ctxObj && typeof ctxObj === 'object' && !Array.isArray(ctxObj)) metadata = { ...(ctxObj as Record<string, unknown>) };
  for (const k in o) {
    if (!KNOWN.has(k)) (metadata ??= {})[k] = o[k];
  }
  if (!ts && !ctx.runtimeTimestamp) (metadata ??= {}).timestamp_source = 'read_time';
  if (metadata) rec.metadata = metadata;
  return rec;
};
