/**
 * The part of a record the main thread reads when a pipeline worker rendered the rest (see
 * WorkerInit.slimFields), carried as columns: one array per configured field path, entry k the
 * value output k's record has at that path (undefined: none). A column no record of a batch has
 * a value in crosses as null. The main thread builds from them a small record of the same shape,
 * so a reader that looks a path up there finds what it would have found in the whole record.
 * Columns, not a JSON text per record: parsing the JSON of these fields alone cost the main
 * thread ~1.3 µs a seed line, about what parsing the whole record did.
 */
export class SlimFields {
  /** The paths (`http.status_code` as ['http', 'status_code']), `source` left out: the main thread has it. */
  private readonly paths: string[][];

  /** `fields`: dotted paths (`level`, `metadata.threat`). */
  constructor(fields: readonly string[]) {
    const seen = new Set<string>();
    this.paths = [];
    for (const f of fields) {
      if (f === 'source' || f.startsWith('source.') || seen.has(f)) continue;
      seen.add(f);
      this.paths.push(f.split('.'));
    }
  }

  /** Empty columns for a batch (worker side). */
  columns(): Array<unknown[] | null> {
    return this.paths.map(() => null);
  }

  /**
   * Writes `record`'s values as output k's row of `cols` (worker side). A column is filled with
   * undefined up to its value, never left with holes: a holey array crosses threads in V8's
   * sparse format, key by key.
   */
  pick(record: object, k: number, cols: Array<unknown[] | null>): void {
    for (let i = 0; i < this.paths.length; i++) {
      const v = valueAt(record, this.paths[i]);
      if (v === undefined) continue;
      const col = (cols[i] ??= []);
      while (col.length < k) col.push(undefined);
      col.push(v);
    }
  }

  /** Output k's slim record from the columns (main thread side). */
  build(cols: ReadonlyArray<unknown[] | null>, k: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < this.paths.length; i++) {
      const col = cols[i];
      if (col === null) continue;
      const v = col[k];
      if (v !== undefined) place(out, this.paths[i], v);
    }
    return out;
  }
}

/**
 * The value at `path` (a reader's walk: through any object), undefined when there is none. Own
 * properties only (a record's `constructor` is not a field: the slim record inherits the same).
 */
function valueAt(record: object, path: string[]): unknown {
  let cur: unknown = record;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, path[i])) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]];
  }
  return cur;
}

function place(out: Record<string, unknown>, path: string[], v: unknown): void {
  let o = out;
  const last = path.length - 1;
  for (let i = 0; i < last; i++) {
    const next = o[path[i]];
    if (next !== null && typeof next === 'object') o = next as Record<string, unknown>;
    else o = (o[path[i]] = {}) as Record<string, unknown>;
  }
  o[path[last]] = v;
}
