/**
 * The line a record was parsed from, kept so sinks can ship its bytes instead of serializing the
 * record again, together with what proves the record still says exactly what the line says.
 *
 * Safe by construction: the proof is not a flag stages must remember to clear. At capture the
 * record's values are copied into a flat snapshot (keys, primitive values, and markers for
 * nested objects and arrays, in enumeration order); when the record leaves the pipeline it is
 * walked again and compared with it. Any change — a top-level field, a nested metadata value, a
 * key deleted, an object replaced by another with other contents — makes `additions()` return
 * null and the sink serializes the record. The only change that keeps the line is top-level keys
 * appended after the captured ones (classification marks a login with `event_type` and
 * `action`): those come back as JSON members to write after the line's own.
 *
 * When the comparison happens: the router seals the line as it hands the event to the sinks
 * (seal(): every stage is done with the record; sinks only read it), so each sink, batched or
 * not, ships the same decision and the comparison runs once per line, not once per sink. Sealing
 * gives the snapshot array back to its SnapshotPool for the processor's next line: the daemon
 * allocates no snapshot per line (one was ~600 bytes per line of the json corpus, most of the
 * extra GC the fast path cost). A line never sealed (an event handed to sinks some other way)
 * keeps its snapshot and compares whenever additions() is called.
 *
 * Cost (json corpus, 4 metadata keys): two walks of the record, ~350 ns per line together, vs
 * ~750 ns for the JSON.stringify it saves.
 */

/** Markers in the snapshot; no value parsed from JSON is a symbol. */
const OBJECT = Symbol('object');
const ARRAY = Symbol('array');
const END = Symbol('end');

/** Deeper than this the line is not kept (JSON.stringify serves it). */
const MAX_DEPTH = 16;

/** The key every record has that the line does not: sinks write it after the line's members. */
const SOURCE_KEY = 'source';

/** Spare snapshot arrays kept by a pool: lines in flight between capture and seal at once. */
const POOL_MAX = 8;

/**
 * Snapshot arrays for reuse, one pool per LineProcessor. A sealed line gives its array back and
 * the next capture takes it: in the daemon one array serves every line of a source. A reused
 * array may hold a longer snapshot's tail past the new END: nothing reads past END.
 */
export class SnapshotPool {
  private readonly spare: unknown[][] = [];

  take(): unknown[] {
    return this.spare.pop() ?? [];
  }

  give(s: unknown[]): void {
    if (this.spare.length < POOL_MAX) this.spare.push(s);
  }
}

export class VerbatimLine {
  /** The line as read: a JSON object, `}` last. */
  readonly text: string;
  /** The record's snapshot until sealed; then null (the array went back to the pool). */
  private snapshot: unknown[] | null;
  private readonly pool: SnapshotPool | undefined;
  /** The record seal() compared, and what it found (see additions()). */
  private sealedRecord: object | undefined = undefined;
  private sealedAdditions: string | null = null;
  /** rendered(): the text stands for the record as shipped, not compared (see there). */
  private readonly final: boolean;

  private constructor(text: string, snapshot: unknown[] | null, pool: SnapshotPool | undefined) {
    this.text = text;
    this.snapshot = snapshot;
    this.pool = pool;
    this.final = snapshot === null;
  }

  /**
   * The JSON text (without `source`, `}` last) of a record finished on another thread (a pipeline
   * worker ran every stage that may change it), shipped as it is with no comparison: the record
   * object on this thread may hold only the fields this thread reads (labels, derived metrics),
   * so the text, not that object, is the record. Only for events no stage changes after this
   * point (the daemon uses it when the derived metrics are the only main-thread stage).
   */
  static rendered(text: string): VerbatimLine {
    return new VerbatimLine(text, null, undefined);
  }

  /**
   * The line of `record` (which the parser found to be exactly `text` plus `source`), or
   * undefined when the record is too deep to be worth the snapshot. The snapshot array comes from
   * `pool` (and goes back at seal()) when one is given.
   */
  static capture(text: string, record: object, pool?: SnapshotPool): VerbatimLine | undefined {
    const s = pool === undefined ? [] : pool.take();
    if (snapshotRecord(record as Record<string, unknown>, s) < 0) {
      pool?.give(s);
      return undefined;
    }
    return new VerbatimLine(text, s, pool);
  }

  /**
   * Compares `record` with the line now, once for every sink: the event is leaving the stages for
   * the sinks. additions() then answers from this comparison, for `record` only. Sealing again
   * (an event a stage emitted twice) finds no snapshot: the line is no longer used (null).
   */
  seal(record: object): void {
    if (this.final) return;
    const s = this.snapshot;
    this.sealedRecord = record;
    if (s === null) {
      this.sealedAdditions = null;
      return;
    }
    this.snapshot = null;
    try {
      this.sealedAdditions = compare(record, s);
    } catch {
      // a stage left something JSON cannot take (a getter that throws, an appended value nested
      // too deep): the sink's own serialization meets it and deals with it as with any record
      this.sealedAdditions = null;
    }
    this.pool?.give(s);
  }

  /**
   * The JSON members `record` has beyond the line's own (`,"event_type":"security"`; '' for
   * none), to be written after them; null when the record no longer is the line plus top-level
   * keys appended (then serialize the record).
   */
  additions(record: object): string | null {
    if (this.final) return '';
    const s = this.snapshot;
    if (s !== null) return compare(record, s);
    return record === this.sealedRecord ? this.sealedAdditions : null;
  }
}

/** additions() of `record` against snapshot `s`. */
function compare(record: object, s: unknown[]): string | null {
  const r = record as Record<string, unknown>;
  if (Object.getPrototypeOf(r) !== Object.prototype) return null;
  let i = 0;
  let added = '';
  // still among the captured keys
  let captured = true;
  for (const k in r) {
    if (k === SOURCE_KEY) continue;
    const v = r[k];
    if (captured) {
      const want = s[i];
      if (want === k) {
        if (v === null || typeof v !== 'object') {
          if (!samePrimitive(v, s[i + 1])) return null;
          i += 2;
        } else if ((i = matchNested(v, s, i + 1, 1)) < 0) return null;
        continue;
      }
      if (want !== END) return null;
      captured = false;
    }
    const json = typeof v === 'string' ? jsonString(v) : JSON.stringify(v);
    // as JSON.stringify(record) would: members whose value has no JSON are left out
    if (json !== undefined) added += ',' + jsonString(k) + ':' + json;
  }
  // a captured key the record lost
  if (captured && s[i] !== END) return null;
  return added;
}

/** Longest string jsonString quotes itself; longer ones go to JSON.stringify. */
const QUOTE_MAX = 64;

/**
 * JSON.stringify(s), without its call for the short plain-ASCII strings stages append
 * (`"security"`, `"login"`: classification marks ~1 line in 7 of the json corpus, two members
 * each): printable ASCII but `"` and `\` is written as it is, anything else goes to JSON.stringify.
 */
function jsonString(s: string): string {
  if (s.length > QUOTE_MAX) return JSON.stringify(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/*
 * The snapshot is written by index and read back in the same order, with primitives handled in
 * the loops and the record's own loop apart from the nested objects' (each for-in site sees one
 * kind of object): pushing into an array passed down the recursion cost ~3x as much per line, one
 * shared loop and a call per value ~25% more. Each function returns where the snapshot goes on,
 * -1 for "too deep" (capture) or "differs" (match).
 */

/** Writes the record's members but `source`, then END. */
function snapshotRecord(r: Record<string, unknown>, s: unknown[]): number {
  let n = 0;
  for (const k in r) {
    if (k === SOURCE_KEY) continue;
    const v = r[k];
    s[n++] = k;
    if (v === null || typeof v !== 'object') s[n++] = v;
    else if ((n = snapshotNested(v, s, n, 0)) < 0) return -1;
  }
  s[n++] = END;
  return n;
}

/** Appends a nested object's members and END at `n`. */
function snapshotObject(o: Record<string, unknown>, s: unknown[], n: number, depth: number): number {
  for (const k in o) {
    const v = o[k];
    s[n++] = k;
    if (v === null || typeof v !== 'object') s[n++] = v;
    else if ((n = snapshotNested(v, s, n, depth)) < 0) return -1;
  }
  s[n++] = END;
  return n;
}

/** Appends an object or array value at `n`: its marker, then its contents. */
function snapshotNested(v: object, s: unknown[], n: number, depth: number): number {
  if (depth >= MAX_DEPTH) return -1;
  if (!Array.isArray(v)) {
    s[n++] = OBJECT;
    return snapshotObject(v as Record<string, unknown>, s, n, depth + 1);
  }
  s[n++] = ARRAY;
  s[n++] = v.length;
  for (let i = 0; i < v.length && n >= 0; i++) {
    const x: unknown = v[i];
    if (x === null || typeof x !== 'object') s[n++] = x;
    else n = snapshotNested(x, s, n, depth + 1);
  }
  return n;
}

/** `v` is the primitive `want` (-0 and 0 are === but not the same JSON). */
function samePrimitive(v: unknown, want: unknown): boolean {
  return v === want && (v !== 0 || 1 / (v as number) === 1 / (want as number));
}

/** Where the snapshot goes on after the object or array `v` when it is what it holds at `i`, else -1. */
function matchNested(v: object, s: unknown[], i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  const want = s[i];
  if (want === ARRAY) {
    // only plain arrays: anything else may serialize otherwise (toJSON, a subclass)
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype || v.length !== s[i + 1]) return -1;
    i += 2;
    for (let k = 0; k < v.length && i >= 0; k++) {
      const x: unknown = v[k];
      if (x === null || typeof x !== 'object') i = samePrimitive(x, s[i]) ? i + 1 : -1;
      else i = matchNested(x, s, i, depth + 1);
    }
    return i;
  }
  if (want !== OBJECT || Object.getPrototypeOf(v) !== Object.prototype) return -1;
  i++;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (s[i] !== k) return -1;
    const x = o[k];
    if (x === null || typeof x !== 'object') {
      if (!samePrimitive(x, s[i + 1])) return -1;
      i += 2;
    } else if ((i = matchNested(x, s, i + 1, depth + 1)) < 0) return -1;
  }
  return s[i] === END ? i + 1 : -1;
}
