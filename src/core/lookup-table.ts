/**
 * A string-keyed table without a prototype: keys come from log lines and configs, and on a plain
 * object `table['toString']` or `table['constructor']` would find Object.prototype's functions
 * (a regex group `level` of "toString" once became a function-valued level).
 */
export function lookupTable<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}
