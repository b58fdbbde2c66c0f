import type { HttpInfo, LogRecord } from '../core/record.ts';
import { applyTimestamp, levelOf } from './normalize.ts';
import { FIELD_SLOTS, type FieldSlot } from './options.ts';
import type { TimeReader, TimeZone } from './time.ts';
import type { TimeFormat } from './time-format.ts';
import { ipLiteral } from './ip-literal.ts';
import type { ParseContext } from './types.ts';
import { lookupTable } from '../core/lookup-table.ts';
import { setOwnProperty } from './own-property.ts';

/**
 * The keys each logger family uses for each schema field, best first. Dotted names match a flat
 * key (`"log.level"`) and a nested path (`{"log":{"level":...}}`).
 */
export const DEFAULT_ALIASES: Record<FieldSlot, string[]> = {
  // the platform's own, pino/bunyan/winston/zap/zerolog/slog, ECS/Logstash, python, Serilog CLEF, log4j2
  timestamp: ['timestamp', '@timestamp', 'time', 'ts', 'asctime', 'datetime', '@t', 't', 'timeMillis', 'eventTime'],
  level: ['level', 'levelname', 'severity', 'log.level', 'lvl', 'loglevel', 'log_level', '@l', 'levelName', 'SeverityText'],
  // structlog calls the message `event`
  message: ['message', 'msg', 'event', '@m', '@mt', 'Body'],
  service: ['service', 'service.name', 'service_name', 'serviceName', 'app', 'application'],
  trace_id: ['trace_id', 'traceId', 'trace.id', 'traceid', 'otelTraceID', 'dd.trace_id', 'TraceId', 'logging.googleapis.com/trace'],
  span_id: ['span_id', 'spanId', 'span.id', 'spanid', 'otelSpanID', 'dd.span_id', 'SpanId', 'logging.googleapis.com/spanId'],
  user_id: ['user_id', 'userId', 'user.id', 'userid'],
  request_id: ['request_id', 'requestId', 'req_id', 'reqId', 'request.id', 'x_request_id', 'http.request.id'],
  duration: ['duration', 'duration_s', 'duration_seconds', 'elapsed'],
  duration_ms: ['duration_ms', 'durationMs', 'elapsed_ms', 'took_ms', 'took', 'latency_ms'],
  duration_ns: ['duration_ns', 'event.duration'],
  event_type: ['event_type', 'eventType'],
  action: ['action', 'event.action'],
  ip_address: ['ip_address', 'ipAddress', 'ip', 'client_ip', 'clientIp', 'remote_addr', 'remoteAddress', 'remote_ip', 'src_ip', 'client.ip', 'source.ip'],
  user_agent: ['user_agent', 'userAgent', 'http_user_agent', 'user_agent.original', 'ua'],
  'http.method': ['method', 'http_method', 'request_method', 'httpMethod', 'http.request.method', 'req.method'],
  'http.route': ['route', 'http_route', 'http.route'],
  'http.path': ['path', 'url', 'uri', 'request_uri', 'request_path', 'http_path', 'url.path', 'url.original', 'req.url'],
  'http.status_code': ['status_code', 'status', 'statusCode', 'http_status', 'response_status', 'http.status_code', 'http.response.status_code', 'res.statusCode'],
  // pino-http logs `responseTime` in ms
  'http.response_time': ['response_time', 'responseTime', 'response_time_ms', 'request_time_ms', 'http.response_time'],
  'http.bytes': ['bytes', 'bytes_sent', 'body_bytes_sent', 'http.bytes', 'http.response.body.bytes'],
  'http.referrer': ['referrer', 'referer', 'http_referer', 'http.referrer', 'http.request.referrer'],
  'http.protocol': ['protocol', 'http_version', 'http.protocol', 'http.version'],
};

const N = FIELD_SLOTS.length;
/** takeKeys' code for a key that is no field's alias. */
const NO_CODE = -1;
/** Key positions takeKeys remembers (keys beyond are looked up every time). */
const KEY_POSITIONS = 64;
const TS = 0, LEVEL = 1, MESSAGE = 2, SERVICE = 3, TRACE = 4, SPAN = 5, USER = 6, REQUEST = 7;
const DUR = 8, DUR_MS = 9, DUR_NS = 10, EVENT_TYPE = 11, ACTION = 12, IP = 13, UA = 14;
const METHOD = 15, ROUTE = 16, PATH = 17, STATUS = 18, RESPONSE_TIME = 19, BYTES = 20, REFERRER = 21, PROTOCOL = 22;
const HTTP_KEYS: Record<string, number> = lookupTable({ method: METHOD, route: ROUTE, path: PATH, status_code: STATUS, response_time: RESPONSE_TIME, bytes: BYTES, referrer: REFERRER, protocol: PROTOCOL });
/** The request keys looked for in a `metadata`/`context` object that holds a status code (seed format 1d), best first. */
const NESTED_REQUEST_KEYS: ReadonlyArray<readonly [number, readonly string[]]> = [
  [METHOD, ['method']],
  [ROUTE, ['route']],
  [PATH, ['path', 'url']],
  [RESPONSE_TIME, ['response_time', 'responseTime']],
];
/** Per slot: the record's own key for it at the top level (the schema's name), if it has one there. */
const RECORD_KEY: Array<string | undefined> = FIELD_SLOTS.map((name) => (name.includes('.') || name === 'duration_ms' || name === 'duration_ns' ? undefined : name));

/**
 * Maps a flat or nested key/value object (a JSON line, logfmt pairs, regex groups) onto the
 * schema: each field from the best alias present with a usable value, everything else into
 * `metadata` with nested values kept (a level value that is not a level stays there too, so it
 * does not vanish into INFO). One mapper per source; it keeps scratch arrays so a line
 * costs one pass over its keys and no allocation beyond the record.
 */
export class FieldMapper {
  private readonly keys = new Map<string, number>();
  /** Per slot: dotted aliases as paths, best first. */
  private readonly nested: Array<Array<string[]>> = [];
  /** Per slot, per dotted path: the bit of the path's first segment (containerBits). */
  private readonly nestedBits: number[][] = [];
  /** First segments of dotted aliases (objects under these keys are searched), each with its bit for `present`. */
  private readonly containers = new Map<string, number>();
  /** containers' bit of `http` (0 when no alias starts with it). */
  private readonly httpBit: number;
  private readonly vals: unknown[] = new Array(N).fill(undefined);
  private readonly prios: number[] = new Array(N).fill(1e9);
  private readonly from: Array<string | undefined> = new Array(N).fill(undefined);
  private readonly tz: TimeZone;
  private readonly parser: string;
  /** The parser's own TimeReader. */
  private readonly time: TimeReader;
  /**
   * After map(): true when the record has exactly the input's keys with the input's values
   * (every key the schema's own name, every value already in the schema's form, nothing added
   * but `source`), so the input's JSON text is the record's. The json parser ships the line
   * itself then instead of re-serializing it.
   */
  verbatim = false;
  /** After map(): how many keys the input object had. */
  inputKeys = 0;
  /**
   * The keys of the inputs seen so far by position and each one's `keys` code (NO_CODE: no
   * alias): lines of one logger repeat their keys in one order, so takeKeys finds a key's code by
   * comparing it with the key last seen at its position instead of hashing it into `keys`.
   */
  private readonly lastKeys: Array<string | undefined> = new Array<string | undefined>(KEY_POSITIONS).fill(undefined);
  private readonly lastCodes: number[] = new Array<number>(KEY_POSITIONS).fill(NO_CODE);

  // Per-line scratch of map() (begin() clears it): what the pass over the keys set aside.
  /** Keys moved or renamed into `metadata`. */
  private meta: Record<string, unknown> | undefined = undefined;
  /** The input's own `metadata` object. */
  private metaObj: Record<string, unknown> | undefined = undefined;
  /** The input's own `http` object. */
  private httpObj: Record<string, unknown> | undefined = undefined;
  /** pino/bunyan `name`. */
  private nameVal: string | undefined = undefined;
  /** A key that starts a dotted alias holds an object: look for fields inside. */
  private searchNested = false;
  /** The containers bits of those keys: only paths through them are walked. */
  private present = 0;

  /** parser_options.time_format, tried first on timestamp strings. */
  private readonly timeFormat: TimeFormat | undefined;
  private readonly timeEnd = { at: 0 };

  constructor(opts: { parser: string; tz: TimeZone; time: TimeReader; fields?: Partial<Record<FieldSlot, string | string[]>>; timeFormat?: TimeFormat }) {
    this.parser = opts.parser;
    this.tz = opts.tz;
    this.time = opts.time;
    this.timeFormat = opts.timeFormat;
    const extra = opts.fields ?? {};
    for (let slot = 0; slot < N; slot++) {
      const name = FIELD_SLOTS[slot];
      const user = extra[name];
      const aliases = [...(user === undefined ? [] : Array.isArray(user) ? user : [user]), ...DEFAULT_ALIASES[name]];
      const paths: string[][] = [];
      const bits: number[] = [];
      aliases.forEach((alias, prio) => {
        // A key a user mapped elsewhere keeps the user's meaning.
        const userOwned = user !== undefined && prio < (Array.isArray(user) ? user.length : 1);
        if (!this.keys.has(alias) || userOwned) this.keys.set(alias, slot * 1000 + prio);
        if (alias.includes('.') && !alias.includes('/')) {
          const segs = alias.split('.');
          paths.push(segs);
          let bit = this.containers.get(segs[0]);
          // 30 bits; any further containers share the last one (their paths are then walked together)
          if (bit === undefined) this.containers.set(segs[0], (bit = 1 << Math.min(this.containers.size, 30)));
          bits.push(bit);
        }
      });
      this.nested.push(paths);
      this.nestedBits.push(bits);
    }
    this.httpBit = this.containers.get('http') ?? 0;
  }

  /** The field a source key feeds (by flat key), if any. */
  slotOf(key: string): FieldSlot | undefined {
    const code = this.keys.get(key);
    return code === undefined ? undefined : FIELD_SLOTS[(code / 1000) | 0];
  }

  /** The record for `o`, which it takes over: nested objects of `o` may become the record's own. */
  map(o: Record<string, unknown>, ctx: ParseContext): LogRecord {
    this.begin();
    this.takeKeys(o, ctx);
    if (this.httpObj !== undefined) this.takeHttpGroup(this.httpObj, ctx);
    if (this.searchNested) this.fillNested(o, ctx);
    if (this.vals[STATUS] === undefined) this.takeNestedRequest(o, ctx);
    const rec = this.newRecord(o, ctx);
    this.copyFields(rec);
    const http = this.httpGroup();
    if (http !== undefined) this.placeHttp(rec, http);
    // Anything in `meta` was moved or renamed; a missing level, service, message or time is added.
    if (this.meta !== undefined || this.nameVal !== undefined || (this.httpObj !== undefined && rec.http === undefined) || this.anyRequiredMissing()) this.verbatim = false;
    // The input object is the parser's own (fresh from JSON.parse / logfmt / regex groups): its
    // `metadata` object becomes the record's as is rather than a copy.
    const metaObj = this.metaObj;
    const meta = this.meta;
    if (metaObj !== undefined) rec.metadata = meta === undefined ? metaObj : Object.assign(meta, metaObj);
    else if (meta !== undefined) rec.metadata = meta;
    applyTimestamp(rec, this.vals[TS] as string | undefined, ctx, this.parser, this.time);
    // a clamped (future) time is replaced and noted in metadata
    if (rec.timestamp !== this.vals[TS]) this.verbatim = false;
    // the scratch must not keep the line's objects alive until the next line
    this.meta = this.metaObj = this.httpObj = undefined;
    return rec;
  }

  /** Clears the slots and the per-line scratch. */
  private begin(): void {
    const { vals, prios, from } = this;
    for (let i = 0; i < N; i++) {
      vals[i] = undefined;
      prios[i] = 1e9;
      from[i] = undefined;
    }
    this.meta = this.metaObj = this.httpObj = undefined;
    this.nameVal = undefined;
    this.searchNested = false;
    this.present = 0;
    this.verbatim = true;
  }

  /** The keys that end in `metadata` (made on first use). */
  private metaBag(): Record<string, unknown> {
    return (this.meta ??= {});
  }

  /**
   * One pass over the input's keys. A key that is an alias of a field (`code`: slot * 1000 + the
   * alias's rank) whose value fits fills the field's slot when it is a better alias than the
   * slot's so far (a worse one taken before goes to `metadata`); any other key is takeOther's.
   * One loop body, no call per key: this is the parser's hottest loop.
   */
  private takeKeys(o: Record<string, unknown>, ctx: ParseContext): void {
    const { vals, prios, from, lastKeys, lastCodes } = this;
    let n = 0;
    for (const k in o) {
      const v = o[k];
      // the previous input's key at this position (JSON.parse's keys are interned: one compare)
      let code: number;
      if (n < KEY_POSITIONS && lastKeys[n] === k) code = lastCodes[n];
      else {
        code = this.keys.get(k) ?? NO_CODE;
        if (n < KEY_POSITIONS) {
          lastKeys[n] = k;
          lastCodes[n] = code;
        }
      }
      n++;
      if (code !== NO_CODE) {
        const slot = (code / 1000) | 0;
        const prio = code - slot * 1000;
        const c = prio < prios[slot] ? this.convert(slot, v, ctx) : undefined;
        if (c !== undefined) {
          const prev = from[slot];
          if (prev !== undefined) this.metaBag()[prev] = o[prev];
          if (c !== v || k !== RECORD_KEY[slot]) this.verbatim = false;
          vals[slot] = c;
          prios[slot] = prio;
          from[slot] = k;
          continue;
        }
      }
      this.takeOther(k, v);
    }
    this.inputKeys = n;
  }

  /** A key no field took: `metadata`, `http` and pino's `name` are set aside, the rest goes to `metadata`. */
  private takeOther(k: string, v: unknown): void {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (k === 'metadata' && this.metaObj === undefined) {
        this.metaObj = v as Record<string, unknown>;
        return;
      }
      if (k === 'http' && this.httpObj === undefined) {
        this.httpObj = v as Record<string, unknown>;
        // its paths are walked when anything sends fillNested looking
        this.present |= this.httpBit;
        return;
      }
      const bit = this.containers.get(k);
      if (bit !== undefined) {
        this.searchNested = true;
        this.present |= bit;
      }
    } else if (k === 'name' && typeof v === 'string' && this.nameVal === undefined) {
      this.nameVal = v;
      return;
    }
    setOwnProperty(this.metaBag(), k, v);
  }

  /** Our own schema's http group (or a logger that nests the same names): what fits fills the empty http slots. */
  private takeHttpGroup(httpObj: Record<string, unknown>, ctx: ParseContext): void {
    const { vals } = this;
    let rest: Record<string, unknown> | undefined;
    for (const k in httpObj) {
      const slot = HTTP_KEYS[k];
      const v = httpObj[k];
      if (slot !== undefined && vals[slot] === undefined) {
        const c = this.convert(slot, v, ctx);
        if (c !== undefined) {
          if (c !== v) this.verbatim = false;
          vals[slot] = c;
          continue;
        }
      }
      setOwnProperty((rest ??= {}), k, v);
    }
    if (rest !== undefined) {
      this.metaBag().http = rest;
      this.searchNested = true;
    }
  }

  /**
   * The platform's request lines (seed format 1d) keep method/route/status in `metadata`
   * (Python services) or `context` (TypeScript services): a valid status code there makes them
   * the record's http group, so app request logs feed the same HTTP metrics as access logs. The
   * logger's own keys stay where they were.
   */
  private takeNestedRequest(o: Record<string, unknown>, ctx: ParseContext): void {
    if (this.requestFrom(this.metaObj, ctx) || this.requestFrom(o.context, ctx)) this.verbatim = false;
  }

  /** The record with its required fields (and pino's `name` placed). */
  private newRecord(o: Record<string, unknown>, ctx: ParseContext): LogRecord {
    const { vals } = this;
    const level = vals[LEVEL];
    const rec: LogRecord = {
      timestamp: '',
      level: level === undefined ? 'INFO' : (level as LogRecord['level']),
      service: (vals[SERVICE] as string | undefined) ?? ctx.service,
      message: (vals[MESSAGE] as string | undefined) ?? '',
      source: ctx.source,
    };
    // pino and bunyan call the application `name`
    const nameVal = this.nameVal;
    if (nameVal !== undefined) {
      if (vals[SERVICE] === undefined && typeof o.level === 'number') rec.service = nameVal;
      else this.metaBag().name = nameVal;
    }
    return rec;
  }

  /** The optional top-level fields found. */
  private copyFields(rec: LogRecord): void {
    const { vals } = this;
    if (vals[TRACE] !== undefined) rec.trace_id = vals[TRACE] as string;
    if (vals[SPAN] !== undefined) rec.span_id = vals[SPAN] as string;
    if (vals[USER] !== undefined) rec.user_id = vals[USER] as string;
    if (vals[REQUEST] !== undefined) rec.request_id = vals[REQUEST] as string;
    const dur = vals[DUR] ?? vals[DUR_MS] ?? vals[DUR_NS];
    if (dur !== undefined) rec.duration = dur as number;
    if (vals[EVENT_TYPE] !== undefined) rec.event_type = vals[EVENT_TYPE] as string;
    if (vals[ACTION] !== undefined) rec.action = vals[ACTION] as string;
    if (vals[IP] !== undefined) rec.ip_address = vals[IP] as string;
    if (vals[UA] !== undefined) rec.user_agent = vals[UA] as string;
  }

  /** The http fields found, or undefined for none. */
  private httpGroup(): HttpInfo | undefined {
    const { vals } = this;
    let http: HttpInfo | undefined;
    if (vals[METHOD] !== undefined) (http ??= {}).method = vals[METHOD] as string;
    if (vals[ROUTE] !== undefined) (http ??= {}).route = vals[ROUTE] as string;
    if (vals[PATH] !== undefined) (http ??= {}).path = vals[PATH] as string;
    if (vals[STATUS] !== undefined) (http ??= {}).status_code = vals[STATUS] as number;
    if (vals[RESPONSE_TIME] !== undefined) (http ??= {}).response_time = vals[RESPONSE_TIME] as number;
    if (vals[BYTES] !== undefined) (http ??= {}).bytes = vals[BYTES] as number;
    if (vals[REFERRER] !== undefined) (http ??= {}).referrer = vals[REFERRER] as string;
    if (vals[PROTOCOL] !== undefined) (http ??= {}).protocol = vals[PROTOCOL] as string;
    return http;
  }

  /** The http group becomes the record's, unless it is a lone `path`/`url`. */
  private placeHttp(rec: LogRecord, http: HttpInfo): void {
    const pathKey = this.from[PATH];
    if (http.method === undefined && http.status_code === undefined && http.route === undefined && http.response_time === undefined && pathKey !== undefined && http.path !== undefined && Object.keys(http).length === 1) {
      // a lone `path`/`url` is more likely a file or resource than a request: keep it as found
      this.metaBag()[pathKey] = http.path;
    } else rec.http = http;
  }

  private anyRequiredMissing(): boolean {
    const { vals } = this;
    return vals[LEVEL] === undefined || vals[SERVICE] === undefined || vals[MESSAGE] === undefined || vals[TS] === undefined;
  }

  /** Fills the empty http slots from `inner` when it holds a valid status code; true when it did. */
  private requestFrom(inner: unknown, ctx: ParseContext): boolean {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return false;
    const d = inner as Record<string, unknown>;
    const status = this.convert(STATUS, d.status_code ?? d.statusCode ?? d.status, ctx);
    if (status === undefined) return false;
    const { vals } = this;
    vals[STATUS] = status;
    for (const [slot, keys] of NESTED_REQUEST_KEYS) {
      if (vals[slot] !== undefined) continue;
      for (const k of keys) {
        const c = d[k] === undefined ? undefined : this.convert(slot, d[k], ctx);
        if (c !== undefined) {
          vals[slot] = c;
          break;
        }
      }
    }
    return true;
  }

  /**
   * Fills the empty slots from their dotted aliases as paths into `o`, best first. Only paths
   * whose first key holds an object (`present`) are walked: any other finds nothing.
   */
  private fillNested(o: Record<string, unknown>, ctx: ParseContext): void {
    const { vals, present } = this;
    for (let slot = 0; slot < N; slot++) {
      if (vals[slot] !== undefined) continue;
      const paths = this.nested[slot];
      const bits = this.nestedBits[slot];
      for (let p = 0; p < paths.length; p++) {
        if ((present & bits[p]) === 0) continue;
        const segs = paths[p];
        let v: unknown = o;
        for (let i = 0; i < segs.length && v !== undefined; i++) {
          v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[segs[i]] : undefined;
        }
        if (v === undefined) continue;
        const c = this.convert(slot, v, ctx);
        if (c !== undefined) {
          vals[slot] = c;
          break;
        }
      }
    }
  }

  /** The slot's value from a raw value, or undefined when the value does not fit the field. */
  private convert(slot: number, v: unknown, ctx: ParseContext): unknown {
    switch (slot) {
      case TS:
        if (this.timeFormat !== undefined && typeof v === 'string') {
          const iso = this.timeFormat.parse(v, 0, this.tz, ctx.readTime, this.timeEnd);
          if (iso !== undefined && this.timeEnd.at === v.length) return iso;
        }
        return this.time.parseTimestampValue(v, this.tz, ctx.readTime);
      case LEVEL:
        return levelOf(v);
      case IP:
        // only an IP literal; a host name stays under its own key in metadata
        return typeof v === 'string' ? ipLiteral(v) : undefined;
      case MESSAGE:
        return typeof v === 'string' ? v : undefined;
      case DUR:
        return durationSeconds(v, 1);
      case DUR_MS:
        return durationSeconds(v, 1000);
      case DUR_NS:
        return durationSeconds(v, 1e9);
      case STATUS: {
        const n = toNumber(v);
        return n !== undefined && Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
      }
      case RESPONSE_TIME: {
        const n = toNumber(v);
        return n !== undefined && n >= 0 ? n : undefined;
      }
      case BYTES: {
        const n = toNumber(v);
        return n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
      }
      default:
        // identifiers and text: strings, or numbers written as text (numeric user ids)
        if (typeof v === 'string') return v.length > 0 && v !== '-' ? v : undefined;
        if (typeof v === 'number' && Number.isFinite(v)) return String(v);
        return undefined;
    }
  }
}

/** A finite number, or a string that is exactly one. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 32) return undefined;
  const c = v.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 || c === 46)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const GO_UNITS: Record<string, number> = lookupTable({ ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 });

/**
 * Seconds from a duration value: a number in units of 1/`perSecond` seconds, a numeric
 * string likewise, or a Go-style duration string (`1.5s`, `250ms`, `1m30s`) whatever the slot.
 */
export function durationSeconds(v: unknown, perSecond: number): number | undefined {
  const n = toNumber(v);
  if (n !== undefined) return n >= 0 ? n / perSecond : undefined;
  if (typeof v !== 'string' || v.length < 2 || v.length > 32) return undefined;
  let total = 0;
  let i = 0;
  while (i < v.length) {
    let j = i;
    while (j < v.length && ((v.charCodeAt(j) >= 48 && v.charCodeAt(j) <= 57) || v.charCodeAt(j) === 46)) j++;
    if (j === i) return undefined;
    const num = Number(v.slice(i, j));
    let k = j;
    while (k < v.length && !((v.charCodeAt(k) >= 48 && v.charCodeAt(k) <= 57) || v.charCodeAt(k) === 46)) k++;
    const unit = GO_UNITS[v.slice(j, k)];
    if (unit === undefined || !Number.isFinite(num)) return undefined;
    total += num * unit;
    i = k;
  }
  return total;
}
