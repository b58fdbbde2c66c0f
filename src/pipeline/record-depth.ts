/**
 * Deepest object/array nesting a record may have. Encoders recurse (JSON.stringify overflowed
 * V8's stack on a 40,000-level line; redaction and the Elasticsearch document builder walk
 * records too), and no log line nests anywhere near this deep on purpose. High enough that
 * lines shorter than 2,000 characters (nearly all) are never checked (see LineProcessor).
 */
export const MAX_RECORD_DEPTH = 1000;

/** True when `value` nests objects or arrays more than `max` levels deep (recursion bounded by `max`). */
export function exceedsDepth(value: unknown, max: number): boolean {
  return deeper(value, max);
}

function deeper(v: unknown, left: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (left === 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (deeper(v[i], left - 1)) return true;
    return false;
  }
  for (const k in v as Record<string, unknown>) if (deeper((v as Record<string, unknown>)[k], left - 1)) return true;
  return false;
}

/**
 * False when `text` cannot hold a value nested more than `max` levels deep: each level opens
 * with a `{` or `[`, so fewer than `max + 1` of them settle it. Counted with indexOf (memchr),
 * stopping at `max + 1`: far cheaper per line than walking the parsed record.
 */
export function mayNestDeeperThan(text: string, max: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > max) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > max) return true;
  return false;
}
