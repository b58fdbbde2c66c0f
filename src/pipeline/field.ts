import type { LogRecord } from '../core/record.ts';

/**
 * Reads a record field by dotted path (`level`, `http.status_code`, `metadata.user.id`,
 * `source.namespace`). Paths are split once at config time: pass the result of splitPath.
 */
export function getField(record: LogRecord, path: readonly string[]): unknown {
  let v: unknown = record;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[path[i]];
  }
  return v;
}

export function splitPath(path: string): string[] {
  return path.split('.');
}

/** String form of a field for labels and matching; objects are not label material. */
export function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
