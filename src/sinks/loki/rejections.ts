/**
 * Reads a Loki 400 body into counts per discard reason. Loki joins one message per rejected
 * entry (or per rejected stream, for label problems) with "; " under an "N errors: " prefix
 * (pkg/distributor/distributor.go, messages from pkg/validation/validate.go); the ingester's
 * out-of-order/too-far-behind errors summarise with "total ignored: N out of M".
 */

interface ReasonPattern {
  reason: string;
  re: RegExp;
  /** The whole stream was rejected: count its entries, found by the quoted labels. */
  perStream: boolean;
}

const PATTERNS: ReasonPattern[] = [
  { reason: 'line_too_long', re: /max entry size '\d+' bytes exceeded for stream '([^']*)'/gi, perStream: false },
  { reason: 'greater_than_max_sample_age', re: /entry for stream '([^']*)' has timestamp too old/g, perStream: false },
  { reason: 'too_far_in_future', re: /entry for stream '([^']*)' has timestamp too new/g, perStream: false },
  { reason: 'max_label_names_per_series', re: /entry for stream '([^']*)' has \d+ label names; limit \d+/g, perStream: true },
  { reason: 'label_name_too_long', re: /stream '([^']*)' has label name too long/g, perStream: true },
  { reason: 'label_value_too_long', re: /stream '([^']*)' has label value too long/g, perStream: true },
  { reason: 'duplicate_label_names', re: /stream '([^']*)' has duplicate label name/g, perStream: true },
  { reason: 'missing_labels', re: /at least one label pair is required per stream/g, perStream: true },
  { reason: 'invalid_labels', re: /error parsing labels '([^']*)'/gi, perStream: true },
  { reason: 'structured_metadata_too_large', re: /stream '([^']*)' has structured metadata too large/g, perStream: false },
  { reason: 'structured_metadata_too_many', re: /stream '([^']*)' has too many structured metadata labels/g, perStream: false },
  { reason: 'disallowed_structured_metadata', re: /stream '([^']*)' includes structured metadata, but this feature is disallowed/g, perStream: true },
  { reason: 'missing_enforced_labels', re: /missing required labels .*? for stream (\{[^}]*\})/g, perStream: true },
];

const TOO_FAR_BEHIND = /entry too far behind/;
const OUT_OF_ORDER = /entry out of order/;
const TOTAL_IGNORED = /total ignored: (\d+) out of \d+/g;

export interface RejectionCounts {
  /** Entries rejected, by Loki's discard reason (`bad_request` when the body names none we know). */
  byReason: Map<string, number>;
  total: number;
}

/**
 * Counts rejected entries. `entriesInStream(labels)` returns how many entries of the request
 * belong to a stream (for stream-level rejections); the result never exceeds `requestEntries`.
 */
export function countRejections(body: string, requestEntries: number, entriesInStream: (labels: string) => number | undefined): RejectionCounts {
  const byReason = new Map<string, number>();
  let total = 0;
  const add = (reason: string, n: number) => {
    if (n <= 0) return;
    byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    total += n;
  };
  for (const p of PATTERNS) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(body); m !== null; m = p.re.exec(body)) {
      add(p.reason, p.perStream && m[1] !== undefined ? (entriesInStream(m[1]) ?? 1) : 1);
    }
  }
  if (TOO_FAR_BEHIND.test(body) || OUT_OF_ORDER.test(body)) {
    const reason = TOO_FAR_BEHIND.test(body) ? 'too_far_behind' : 'out_of_order';
    let ignored = 0;
    TOTAL_IGNORED.lastIndex = 0;
    for (let m = TOTAL_IGNORED.exec(body); m !== null; m = TOTAL_IGNORED.exec(body)) ignored += Number(m[1]);
    add(reason, ignored > 0 ? ignored : 1);
  }
  if (total === 0) add('bad_request', requestEntries);
  if (total > requestEntries) {
    // Never count more than we sent (a message can be repeated by Loki's error grouping).
    const scale = requestEntries / total;
    let sum = 0;
    for (const [k, v] of byReason) {
      const n = Math.floor(v * scale);
      byReason.set(k, n);
      sum += n;
    }
    total = sum;
  }
  return { byReason, total };
}
