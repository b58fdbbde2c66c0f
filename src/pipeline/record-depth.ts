/**
 * Deepest object/array nesting a record may have. Encoders recurse (JSON.stringify overflows
 * V8's stack at a few thousand levels; the Elasticsearch index refuses documents deeper than
 * index.mapping.depth.limit, 20 by default, with their fields mapped), and no log
 * line nests this deep on purpose.
 */
export const MAX_RECORD_DEPTH = 100;

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
