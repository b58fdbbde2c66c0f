import { LRUCache } from 'lru-cache';
import type { LogEvent, SourceInfo } from '../../core/record.ts';
import { lookupTable } from '../../core/lookup-table.ts';
import { LabelsCopy } from '../../core/labels-copy.ts';

/**
 * Stream labels and structured metadata for Loki.
 *
 * Labels are a small allowlist (each a stream, so each distinct value set costs Loki an index
 * entry); high-cardinality fields go to structured metadata. Names follow Prometheus label
 * syntax; the label string is formatted the way Prometheus' `labels.String()` does and Loki's
 * `syntax.ParseLabels` reads back: `{a="x", b="y"}`, names sorted, values Go-quoted.
 */

/** Loki's validation limits (pkg/validation/limits.go defaults). */
export const LOKI_MAX_LABEL_NAMES = 15;
export const LOKI_MAX_LABEL_VALUE_LENGTH = 2048;

/** The value an over-cardinality label takes (and the non-core labels of an overflow stream). */
export const OVERFLOW_VALUE = '__overflow__';

const VALID_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `http.status_code` → `http_status_code`, `1st` → `_1st`; invalid characters become `_`. */
export function sanitizeLabelName(name: string): string {
  if (VALID_NAME.test(name)) return name;
  let out = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (out.length === 0 || (out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57)) out = `_${out}`;
  return out;
}

/** Go's strconv.Quote for the characters that need it (what Loki's label parser unquotes). */
export function quoteLabelValue(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff)) {
      plain = false;
      break;
    }
  }
  if (plain) return `"${value}"`;
  const v = (value as string & { toWellFormed(): string }).toWellFormed();
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i];
    const c = v.charCodeAt(i);
    switch (c) {
      case 0x07: out += '\\a'; break;
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x0b: out += '\\v'; break;
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      default:
        if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
        else if ((c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
        else out += ch;
    }
  }
  return out + '"';
}

/** `{a="x", b="y"}` from pairs already sorted by name. */
export function formatLabels(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = '{';
  for (let i = 0; i < pairs.length; i++) {
    if (i > 0) out += ', ';
    out += pairs[i][0] + '=' + quoteLabelValue(pairs[i][1]);
  }
  return out + '}';
}

type FieldReader = (e: LogEvent) => unknown;

/** One level of StreamLabeler's memo: the next level, or the stream at the last label. */
type MemoNode = Map<string | undefined, MemoNode | ResolvedStream>;

const SOURCE_FIELDS = new Set(['host', 'namespace', 'pod', 'container', 'stream', 'container_name', 'container_id', 'image', 'pod_uid', 'file']);

/**
 * Reads a configured field from an event: the event's labels first (static source labels and
 * labels set by stages), then the record: a top-level field or dotted path (`http.method`),
 * then `source.<name>`, then `metadata.<path>`.
 */
export function compileFieldReader(field: string): FieldReader {
  if (field === 'job') return (e) => e.labels.job ?? e.record.source.name;
  const known = KNOWN_FIELD_READERS[field];
  if (known !== undefined) return known;
  if (SOURCE_FIELDS.has(field)) return (e) => e.labels[field] ?? (e.record.source as unknown as Record<string, unknown>)[field];
  const parts = field.split('.');
  if (parts.length === 1) {
    return (e) => {
      const l = e.labels[field];
      if (l !== undefined) return l;
      const r = (e.record as unknown as Record<string, unknown>)[field];
      if (r !== undefined && field !== 'source' && field !== 'metadata') return r;
      return e.record.metadata?.[field];
    };
  }
  return (e) => {
    const l = e.labels[field];
    if (l !== undefined) return l;
    return walk(e.record as unknown as Record<string, unknown>, parts) ?? walk(e.record.metadata, parts);
  };
}

/**
 * The record part of compileFieldReader's lookup (everything after the event's labels), for a
 * caller that already knows the labels do not have the field.
 */
export function compileRecordReader(field: string): FieldReader {
  if (field === 'job') return (e) => e.record.source.name;
  const known = KNOWN_RECORD_READERS[field];
  if (known !== undefined) return known;
  if (SOURCE_FIELDS.has(field)) return (e) => (e.record.source as unknown as Record<string, unknown>)[field];
  const parts = field.split('.');
  if (parts.length === 1) {
    return (e) => {
      const r = (e.record as unknown as Record<string, unknown>)[field];
      if (r !== undefined && field !== 'source' && field !== 'metadata') return r;
      return e.record.metadata?.[field];
    };
  }
  return (e) => walk(e.record as unknown as Record<string, unknown>, parts) ?? walk(e.record.metadata, parts);
}

/**
 * The schema's own fields, read by name rather than by a computed key: these run for every line
 * and label, and a named property load stays monomorphic where a keyed one does not. Same lookup
 * order as the generic readers below (labels, record or source, then metadata for record fields).
 */
const KNOWN_FIELD_READERS: Record<string, FieldReader> = lookupTable({
  // The file path under Promtail's name for it (the `filename` option of the Loki sink).
  filename: (e) => e.labels.filename ?? e.record.source.file,
  host: (e) => e.labels.host ?? e.record.source.host,
  namespace: (e) => e.labels.namespace ?? e.record.source.namespace,
  pod: (e) => e.labels.pod ?? e.record.source.pod,
  container: (e) => e.labels.container ?? e.record.source.container,
  stream: (e) => e.labels.stream ?? e.record.source.stream,
  service: (e) => fromRecord(e.labels.service, e.record.service, e, 'service'),
  level: (e) => fromRecord(e.labels.level, e.record.level, e, 'level'),
  trace_id: (e) => fromRecord(e.labels.trace_id, e.record.trace_id, e, 'trace_id'),
  span_id: (e) => fromRecord(e.labels.span_id, e.record.span_id, e, 'span_id'),
  user_id: (e) => fromRecord(e.labels.user_id, e.record.user_id, e, 'user_id'),
  request_id: (e) => fromRecord(e.labels.request_id, e.record.request_id, e, 'request_id'),
  ip_address: (e) => fromRecord(e.labels.ip_address, e.record.ip_address, e, 'ip_address'),
});

const KNOWN_RECORD_READERS: Record<string, FieldReader> = lookupTable({
  filename: (e) => e.record.source.file,
  host: (e) => e.record.source.host,
  namespace: (e) => e.record.source.namespace,
  pod: (e) => e.record.source.pod,
  container: (e) => e.record.source.container,
  stream: (e) => e.record.source.stream,
  service: (e) => fromRecord(undefined, e.record.service, e, 'service'),
  level: (e) => fromRecord(undefined, e.record.level, e, 'level'),
  trace_id: (e) => fromRecord(undefined, e.record.trace_id, e, 'trace_id'),
  span_id: (e) => fromRecord(undefined, e.record.span_id, e, 'span_id'),
  user_id: (e) => fromRecord(undefined, e.record.user_id, e, 'user_id'),
  request_id: (e) => fromRecord(undefined, e.record.request_id, e, 'request_id'),
  ip_address: (e) => fromRecord(undefined, e.record.ip_address, e, 'ip_address'),
});

/** The generic single-field lookup order, for a label value and record value already read. */
function fromRecord(label: string | undefined, value: unknown, e: LogEvent, field: string): unknown {
  if (label !== undefined) return label;
  if (value !== undefined) return value;
  return e.record.metadata?.[field];
}

function walk(obj: unknown, parts: string[]): unknown {
  let cur = obj;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[parts[i]];
  }
  return cur;
}

/** A label or metadata value as text; undefined for missing, empty, or non-scalar-less values. */
export function valueText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  const buf = Buffer.from(s);
  let end = maxBytes;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** The structured metadata pairs of one entry, valid until the next entry. */
export interface EntryMetadata {
  count: number;
  /** Label-sanitized names ([a-zA-Z_][a-zA-Z0-9_]*, so ASCII). */
  readonly names: readonly string[];
  readonly values: readonly string[];
}

export interface ResolvedStream {
  labels: string;
  pairs: Array<[string, string]>;
  /** Epoch ms when its values were last refreshed in the per-label caches. */
  touched: number;
}

export interface StreamLabelerOptions {
  /** Configured label fields (names are sanitized here). */
  labels: string[];
  maxValuesPerLabel: number;
  maxStreams: number;
  /** How long a label value or stream unused stays counted against the caps. */
  idleTtlMs: number;
  /** Called for every value (label name) or stream (`__stream__`) replaced by the guard. */
  onOverflow(label: string): void;
  now?: () => number;
}

/**
 * What one labels content (a source's static labels plus what stages set: see LabelsCopy) fixes
 * of a stream, together with one frozen SourceInfo (a file's or container stream's: job, host,
 * pod, container, stream...) when the record's source is frozen: the configured labels they give
 * a value, and which ones still come from the record. Its memo is keyed by the record's values
 * only, so events with the same labels and source read and look up just those (typically
 * service, level). Labels are matched by content; a source by identity, which stands for its
 * content because a frozen object of strings cannot change (a write to it throws).
 */
interface SharedLabelsPlan {
  /** Per configured label: whether the labels object gives its value, and that value as text. */
  fixed: boolean[];
  fixedValues: Array<string | undefined>;
  /** Indexes of the labels read from the record. */
  fromRecord: number[];
  /** Record value tuple → stream (nested maps, one level per record-read label). */
  memo: MemoNode;
  /** The stream when every label is fixed. */
  only: ResolvedStream | undefined;
  /** The labeler's memo generation this plan's memo belongs to (a reset empties all memos). */
  generation: number;
}

/** The plans of one labels content: without a source, and per frozen source. */
interface LabelsPlans {
  plan: SharedLabelsPlan | null;
  bySource: WeakMap<object, SharedLabelsPlan>;
}

/** Distinct labels contents given a plan; more (labels set per line from record fields) take the per-line path. */
const MAX_LABEL_PLANS = 1024;

/** Labels that survive in an overflow stream (everything else becomes OVERFLOW_VALUE). */
const CORE_LABELS = new Set(['job', 'level']);

/**
 * Maps events to their Loki stream under a cardinality guard: each label keeps at most
 * `maxValuesPerLabel` distinct values alive and the sink at most `maxStreams` streams; a value
 * beyond the cap is replaced by OVERFLOW_VALUE, a stream beyond the cap folds into the overflow
 * stream of its job and level. Caps count values seen within `idleTtlMs`, so churn (pods come and
 * go) frees room. Resolution is memoized by the raw value tuple in a tree of maps (one level per
 * label, keyed by the value itself), so the hot path reads the fields and follows one map hit per
 * label: no key string is built and no LRU bookkeeping runs per line.
 */
export class StreamLabeler {
  private readonly names: string[];
  private readonly readers: FieldReader[];
  /** The record part of each reader, for labels a shared labels object leaves unset. */
  private readonly recordReaders: FieldReader[];
  private readonly fields: string[];
  private readonly order: number[];
  private readonly valueCaches: Array<LRUCache<string, true>>;
  private readonly streams: LRUCache<string, true>;
  /** Raw value tuple → stream: nested maps, one level per label (undefined = missing). */
  private memo: MemoNode = new Map();
  private memoEntries = 0;
  /** Entries in the plans' memos of the current generation (bounded by memoMax like the memo). */
  private planEntries = 0;
  private memoGeneration = 0;
  /** Plans per labels content (LabelsCopy.key); the last one looked up is kept at hand. */
  private readonly plans = new Map<string, LabelsPlans>();
  /** Which configured labels the record's SourceInfo alone decides when the labels do not. */
  private readonly fromSource: boolean[];
  private lastLabels: LabelsCopy | null = null;
  private lastSource: object | null = null;
  private lastPlan: SharedLabelsPlan | null = null;
  private readonly memoMax: number;
  private readonly opts: StreamLabelerOptions;
  private readonly now: () => number;
  private lastPurge = 0;
  private readonly values: Array<string | undefined>;

  constructor(opts: StreamLabelerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.names = opts.labels.map(sanitizeLabelName);
    this.readers = opts.labels.map((f) => {
      const read = compileFieldReader(f);
      const name = sanitizeLabelName(f);
      // A stage may have set the label under its sanitized name.
      return name === f ? read : (e: LogEvent) => e.labels[name] ?? read(e);
    });
    this.fields = opts.labels.slice();
    this.recordReaders = opts.labels.map(compileRecordReader);
    this.fromSource = opts.labels.map((f) => f === 'job' || f === 'filename' || (SOURCE_FIELDS.has(f) && sanitizeLabelName(f) === f));
    this.order = this.names.map((_, i) => i).sort((a, b) => (this.names[a] < this.names[b] ? -1 : this.names[a] > this.names[b] ? 1 : 0));
    const ttl = Math.max(1, opts.idleTtlMs);
    this.valueCaches = this.names.map(() => new LRUCache<string, true>({ max: opts.maxValuesPerLabel, ttl, updateAgeOnGet: true, ttlResolution: 0, perf: { now: this.now } }));
    // The cap is enforced by hand (admit while below max); max only bounds memory.
    this.streams = new LRUCache<string, true>({ max: opts.maxStreams + 10_000, ttl, updateAgeOnGet: true, ttlResolution: 0, perf: { now: this.now } });
    this.memoMax = Math.max(1000, opts.maxStreams * 4);
    this.values = new Array(this.names.length);
  }

  get labelNames(): readonly string[] {
    return this.names;
  }

  /** Streams seen within the idle TTL (the `logship_streams_active` gauge). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** `now`: the caller's clock reading when it has one (the sink reads it once per entry). */
  resolve(event: LogEvent, now?: number): ResolvedStream {
    const labels = event.labels;
    const source = event.record.source;
    const plan = source === this.lastSource && this.lastLabels !== null && this.lastLabels.matches(labels) ? this.lastPlan : this.planFor(labels, source);
    if (plan !== null) return this.resolveShared(event, plan, now ?? this.now());
    const vals = this.values;
    const last = this.readers.length - 1;
    let node: MemoNode | undefined = this.memo;
    let hit: ResolvedStream | undefined;
    for (let i = 0; i <= last; i++) {
      const v = valueText(this.readers[i](event));
      vals[i] = v;
      if (node !== undefined) {
        const next: MemoNode | ResolvedStream | undefined = node.get(v);
        if (i === last) hit = next as ResolvedStream | undefined;
        else node = next as MemoNode | undefined;
      }
    }
    now ??= this.now();
    if (hit !== undefined && this.stillAdmitted(hit, now)) return hit;
    const resolved = this.admit(vals, now);
    this.remember(vals, resolved);
    return resolved;
  }

  /** Whether a memoized stream still stands (refreshing it in the guard's caches now and then). */
  private stillAdmitted(hit: ResolvedStream, now: number): boolean {
    const idle = now - hit.touched;
    // Keep the stream and its values alive in the guard's caches (cheaply, not every line).
    if (idle <= this.refreshMs) return true;
    if (idle <= this.opts.idleTtlMs) {
      this.refresh(hit, now);
      return true;
    }
    // Unused past the TTL: the guard forgot its values, so it is admitted (and counted) again.
    return false;
  }

  /**
   * The plan for these labels (and source, when it is frozen), or null when MAX_LABEL_PLANS other
   * label contents have plans already (labels that vary per line: the per-line path serves them).
   */
  private planFor(labels: Record<string, string>, source: SourceInfo): SharedLabelsPlan | null {
    const copy = new LabelsCopy(labels);
    let plans = this.plans.get(copy.key);
    if (plans === undefined && this.plans.size < MAX_LABEL_PLANS) {
      plans = { plan: null, bySource: new WeakMap() };
      this.plans.set(copy.key, plans);
    }
    let plan: SharedLabelsPlan | null = null;
    if (plans !== undefined) {
      if (Object.isFrozen(source)) {
        plan = plans.bySource.get(source) ?? null;
        if (plan === null) {
          plan = this.newPlan(labels, source);
          plans.bySource.set(source, plan);
        }
      } else plan = plans.plan ??= this.newPlan(labels, null);
    }
    this.lastLabels = copy;
    this.lastSource = source;
    this.lastPlan = plan;
    return plan;
  }

  private newPlan(labels: Record<string, string>, source: SourceInfo | null): SharedLabelsPlan {
    const plan: SharedLabelsPlan = { fixed: [], fixedValues: [], fromRecord: [], memo: new Map(), only: undefined, generation: this.memoGeneration };
    for (let i = 0; i < this.names.length; i++) {
      // The same lookup as the readers: the sanitized name, then the configured field.
      const l = labels[this.names[i]] ?? labels[this.fields[i]];
      if (l !== undefined) {
        plan.fixed.push(true);
        plan.fixedValues.push(valueText(l));
      } else if (source !== null && this.fromSource[i]) {
        plan.fixed.push(true);
        plan.fixedValues.push(valueText(this.recordReaders[i]({ record: { source } } as LogEvent)));
      } else {
        plan.fixed.push(false);
        plan.fixedValues.push(undefined);
        plan.fromRecord.push(i);
      }
    }
    return plan;
  }

  private resolveShared(event: LogEvent, plan: SharedLabelsPlan, now: number): ResolvedStream {
    if (plan.generation !== this.memoGeneration) {
      plan.memo = new Map();
      plan.only = undefined;
      plan.generation = this.memoGeneration;
    }
    const vals = this.values;
    const dyn = plan.fromRecord;
    const last = dyn.length - 1;
    let hit: ResolvedStream | undefined = plan.only;
    let node: MemoNode | undefined = plan.memo;
    for (let j = 0; j <= last; j++) {
      const i = dyn[j];
      const v = valueText(this.recordReaders[i](event));
      vals[i] = v;
      if (node !== undefined) {
        const next: MemoNode | ResolvedStream | undefined = node.get(v);
        if (j === last) hit = next as ResolvedStream | undefined;
        else node = next as MemoNode | undefined;
      }
    }
    if (hit !== undefined && this.stillAdmitted(hit, now)) return hit;
    for (let i = 0; i < vals.length; i++) if (plan.fixed[i]) vals[i] = plan.fixedValues[i];
    // The tuple may be known from other labels objects: the shared memo keeps the guard's
    // accounting (admissions, overflow counts) exactly what it is without the plan.
    let resolved = this.recall(vals);
    if (resolved === undefined || resolved === hit || !this.stillAdmitted(resolved, now)) {
      resolved = this.admit(vals, now);
      this.remember(vals, resolved);
    }
    if (this.planEntries >= this.memoMax) {
      this.planEntries = 0;
      this.memoGeneration++;
    }
    if (plan.generation !== this.memoGeneration) {
      plan.memo = new Map();
      plan.generation = this.memoGeneration;
    }
    if (last < 0) {
      if (plan.only === undefined) this.planEntries++;
      plan.only = resolved;
    } else {
      let n = plan.memo;
      for (let j = 0; j < last; j++) {
        const v = vals[dyn[j]];
        let next = n.get(v) as MemoNode | undefined;
        if (next === undefined) {
          next = new Map();
          n.set(v, next);
        }
        n = next;
      }
      if (!n.has(vals[dyn[last]])) this.planEntries++;
      n.set(vals[dyn[last]], resolved);
    }
    return resolved;
  }

  /** The memoized stream of a full value tuple, if any. */
  private recall(vals: Array<string | undefined>): ResolvedStream | undefined {
    let node: MemoNode | undefined = this.memo;
    const last = vals.length - 1;
    for (let i = 0; i < last && node !== undefined; i++) node = node.get(vals[i]) as MemoNode | undefined;
    return node?.get(vals[last]) as ResolvedStream | undefined;
  }

  /** Bounded: past the cap the memo starts over (resolving again is a few map hits per tuple); plan memos too. */
  private resetMemosIfFull(): void {
    if (this.memoEntries >= this.memoMax) {
      this.memo = new Map();
      this.memoEntries = 0;
      this.planEntries = 0;
      this.memoGeneration++;
    }
  }

  private get refreshMs(): number {
    return this.opts.idleTtlMs / 8;
  }

  private remember(vals: Array<string | undefined>, resolved: ResolvedStream): void {
    this.resetMemosIfFull();
    let node = this.memo;
    const last = vals.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(vals[i]) as MemoNode | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(vals[i], next);
      }
      node = next;
    }
    if (!node.has(vals[last])) this.memoEntries++;
    node.set(vals[last], resolved);
  }

  private refresh(s: ResolvedStream, now: number): void {
    s.touched = now;
    if (this.streams.get(s.labels) === undefined) this.streams.set(s.labels, true);
    for (const [name, value] of s.pairs) {
      const idx = this.names.indexOf(name);
      if (idx >= 0 && value !== OVERFLOW_VALUE) this.valueCaches[idx].get(value);
    }
  }

  private maybePurge(now: number): void {
    if (now - this.lastPurge < 1000) return;
    this.lastPurge = now;
    for (const c of this.valueCaches) c.purgeStale();
    this.streams.purgeStale();
  }

  private admit(vals: Array<string | undefined>, now: number): ResolvedStream {
    const pairs: Array<[string, string]> = [];
    for (const i of this.order) {
      let v = vals[i];
      if (v === undefined) continue;
      v = truncateUtf8(v, LOKI_MAX_LABEL_VALUE_LENGTH);
      const cache = this.valueCaches[i];
      if (cache.get(v) === undefined) {
        if (cache.size >= this.opts.maxValuesPerLabel) this.maybePurge(now);
        if (cache.size < this.opts.maxValuesPerLabel) cache.set(v, true);
        else {
          this.opts.onOverflow(this.names[i]);
          v = OVERFLOW_VALUE;
        }
      }
      pairs.push([this.names[i], v]);
    }
    if (pairs.length === 0) {
      // Loki rejects a stream without labels; the first configured label says "unknown".
      pairs.push([this.names[0], 'unknown']);
    }
    let labels = formatLabels(pairs);
    if (this.streams.get(labels) === undefined) {
      if (this.streams.size >= this.opts.maxStreams) this.maybePurge(now);
      if (this.streams.size < this.opts.maxStreams) this.streams.set(labels, true);
      else {
        this.opts.onOverflow('__stream__');
        for (const p of pairs) if (!CORE_LABELS.has(p[0])) p[1] = OVERFLOW_VALUE;
        labels = formatLabels(pairs);
        // Overflow streams are few (jobs × levels) and always admitted.
        this.streams.set(labels, true);
      }
    }
    return { labels, pairs, touched: now };
  }
}

/** Loki's default structured metadata limits. */
export const LOKI_MAX_STRUCTURED_METADATA_BYTES = 64 * 1024;
export const LOKI_MAX_STRUCTURED_METADATA_ENTRIES = 128;

/**
 * Picks the configured structured metadata fields from an event. Names are label-sanitized;
 * pairs that would push an entry over Loki's 64 KB budget are left out (reported to `onOversize`).
 */
export class StructuredMetadataPicker implements EntryMetadata {
  private readonly fieldNames: string[];
  private readonly readers: FieldReader[];
  private readonly onOversize: () => void;
  /** The pairs collect() found, valid until its next call (reused: no allocation per line). */
  count = 0;
  readonly names: string[] = [];
  readonly values: string[] = [];

  constructor(fields: string[], onOversize: () => void) {
    this.fieldNames = fields.map(sanitizeLabelName);
    this.readers = fields.map(compileFieldReader);
    this.onOversize = onOversize;
  }

  /** Reads the event's pairs into names/values/count; the picker itself is the EntryMetadata. */
  collect(event: LogEvent): EntryMetadata {
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < this.readers.length; i++) {
      const v = valueText(this.readers[i](event));
      if (v === undefined) continue;
      // A cheap upper bound first; the exact UTF-8 size only when the bound says it might not fit.
      let size = this.fieldNames[i].length + v.length * 3;
      if (bytes + size > LOKI_MAX_STRUCTURED_METADATA_BYTES) {
        size = this.fieldNames[i].length + Buffer.byteLength(v);
        if (bytes + size > LOKI_MAX_STRUCTURED_METADATA_BYTES) {
          this.onOversize();
          continue;
        }
      }
      bytes += size;
      this.names[n] = this.fieldNames[i];
      this.values[n] = v;
      n++;
    }
    this.count = n;
    return this;
  }

  /** The event's pairs as an array (null when none); for callers that keep them. */
  pick(event: LogEvent): Array<[string, string]> | null {
    const md = this.collect(event);
    if (md.count === 0) return null;
    const out: Array<[string, string]> = [];
    for (let i = 0; i < md.count; i++) out.push([md.names[i], md.values[i]]);
    return out;
  }
}
