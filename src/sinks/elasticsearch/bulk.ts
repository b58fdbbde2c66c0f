/**
 * The `_bulk` wire format and how each answer is classified (shared/notes/anchors-features.md §4b):
 * a 200 can still carry `errors: true`, so every item is judged on its own.
 */

/** The action line of one document: `create`, so a resend of the same `_id` is a 409, not a copy. */
export function bulkAction(index: string, id: string | undefined): string {
  // Index names are sanitized (no quotes or backslashes) and ids are base64url, so no escaping is needed.
  return id === undefined ? `{"create":{"_index":"${index}"}}\n` : `{"create":{"_index":"${index}","_id":"${id}"}}\n`;
}

/** One encoded item (action line + source line) read back, for the dead-letter file. */
export function decodeBulkItem(lines: Buffer): { index: string; id: string | undefined; source: string } {
  const text = lines.toString('utf8');
  const nl = text.indexOf('\n');
  let index = '';
  let id: string | undefined;
  try {
    const action = (JSON.parse(text.slice(0, nl)) as { create?: { _index?: string; _id?: string } }).create;
    index = action?._index ?? '';
    id = action?._id;
  } catch {
    // cannot happen for lines bulkAction wrote; keep the document anyway
  }
  return { index, id, source: text.slice(nl + 1, text.endsWith('\n') ? -1 : undefined) };
}

/** Shrinks the response to what the classification reads (ES's `filter_path`). */
export const BULK_FILTER_PATH = 'errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by.type,items.*.error.caused_by.reason';

export type ItemVerdict =
  /** 2xx: stored. */
  | 'ok'
  /** 409 on create: an earlier send of the same `_id` landed. Final, counts as delivered. */
  | 'duplicate'
  /** 429, 5xx, and 403 cluster blocks (read-only index after the disk watermark): resend later. */
  | 'retry'
  /** Other 4xx (mapping errors, invalid index name, ...): never accepted; dead-letter it. */
  | 'reject';

export interface ItemError {
  type: string;
  reason: string;
  caused_by?: { type?: string; reason?: string };
}

export interface ItemResult {
  status: number;
  verdict: ItemVerdict;
  error?: ItemError;
}

export function classifyItemStatus(status: number, errorType?: string): ItemVerdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 409) return 'duplicate';
  if (status === 429 || status >= 500) return 'retry';
  if (status === 403 && errorType === 'cluster_block_exception') return 'retry';
  if (status === 401 || status === 403) return 'retry';
  return 'reject';
}

export class BulkResponseError extends Error {}

const ALL_OK = /^\s*\{\s*(?:"took"\s*:\s*\d+\s*,\s*)?"errors"\s*:\s*false\s*[,}]/;

/**
 * Parses a 200 `_bulk` answer into one result per item, in request order. A response that does
 * not match the request (wrong count, not JSON) throws: the request is then retried as a whole,
 * which the idempotent ids make safe.
 */
export function parseBulkResponse(text: string, count: number): { errors: boolean; items: ItemResult[] | null } {
  // The common answer, everything stored: the top-level flag decides without parsing one
  // result per item (ES writes "took" then "errors" first; filter_path keeps that order).
  if (ALL_OK.test(text)) return { errors: false, items: null };
  let body: { errors?: unknown; items?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new BulkResponseError(`the _bulk response is not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof body !== 'object' || body === null || typeof body.errors !== 'boolean') throw new BulkResponseError(`the _bulk response has no "errors" flag: ${text.slice(0, 200)}`);
  if (body.errors === false) return { errors: false, items: null };
  if (!Array.isArray(body.items) || body.items.length !== count) {
    throw new BulkResponseError(`the _bulk response has ${Array.isArray(body.items) ? body.items.length : 'no'} items for ${count} actions`);
  }
  const items: ItemResult[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const wrapper = body.items[i] as Record<string, { status?: unknown; error?: ItemError }>;
    let r: { status?: unknown; error?: ItemError } | undefined;
    for (const k in wrapper) {
      r = wrapper[k];
      break;
    }
    const status = typeof r?.status === 'number' ? r.status : 500;
    const error = r?.error && typeof r.error === 'object' ? { type: String(r.error.type ?? 'unknown'), reason: String(r.error.reason ?? ''), ...(r.error.caused_by ? { caused_by: r.error.caused_by } : {}) } : undefined;
    items[i] = { status, verdict: classifyItemStatus(status, error?.type), ...(error ? { error } : {}) };
  }
  return { errors: true, items };
}

/** The `error` object of a non-200 answer ({"error":{"type","reason"},"status"}), when there is one. */
export function parseRequestError(text: string): ItemError | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return { type: 'error', reason: body.error };
    if (body.error && typeof body.error === 'object') {
      const e = body.error as { type?: unknown; reason?: unknown };
      return { type: String(e.type ?? 'unknown'), reason: String(e.reason ?? '') };
    }
  } catch {
    // not JSON (a proxy's HTML page, an empty 413 body)
  }
  return undefined;
}
