import { parseDocument } from 'yaml';

/**
 * The documented templating step of the alerting tests (docs/alerting.md "How the rules are
 * tested"): the SHIPPED rule file, with every duration of time scaled down by `factor`, so
 * that "5 minutes" of rule time passes in 5 s of test time (factor 60). Scaled are the `for:`
 * durations and the durations of PromQL: range selectors `[5m]`, subqueries `[15m:1m]` and
 * `offset 5m`. Nothing else changes: thresholds stay as shipped, so an `increase(...[5m]) > 10`
 * rule still needs more than 10 events within its (shortened) window and a `rate(...) > 0.1`
 * rule still needs more than 0.1 events per second.
 *
 * The same factor scales logship's own brute-force window in the test's config, so rules and
 * detector share one clock.
 */
export function scaleRuleDurations(rulesYaml: string, factor: number): string {
  if (!(factor >= 1)) throw new RangeError(`time-scale factor must be >= 1, got ${factor}`);
  const doc = parseDocument(rulesYaml);
  if (doc.errors.length > 0) throw new Error(`rules YAML: ${doc.errors[0].message}`);
  const groups = doc.toJS() as { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };
  for (const g of groups.groups) {
    for (const r of g.rules) {
      if (typeof r.for === 'string') r.for = formatDuration(parseDuration(r.for) / factor);
      if (typeof r.expr === 'string') r.expr = scaleExprRanges(r.expr, factor);
    }
  }
  return JSON.stringify(groups, null, 2); // JSON is YAML
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const DURATION = /^(?:(\d+)(ms|s|m|h|d|w|y))+$/;
const PART = /(\d+)(ms|s|m|h|d|w|y)/g;

/** Milliseconds of a Prometheus duration (`5m`, `1h30m`, `250ms`). */
export function parseDuration(d: string): number {
  if (!DURATION.test(d)) throw new Error(`not a Prometheus duration: "${d}"`);
  let ms = 0;
  for (const m of d.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** A Prometheus duration for `ms` milliseconds (whole milliseconds, at least 1 ms). */
export function formatDuration(ms: number): string {
  const r = Math.max(1, Math.round(ms));
  return r % 1000 === 0 ? `${r / 1000}s` : `${r}ms`;
}

/**
 * Scales the durations inside `[...]` and after `offset` of a PromQL expression. Brackets inside strings (label
 * matchers such as `path=~"/a[0-9]"`) are left alone.
 */
export function scaleExprRanges(expr: string, factor: number): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      const end = stringEnd(expr, i);
      out += expr.slice(i, end);
      i = end;
      continue;
    }
    const offset = /^offset\s+(-?)((?:\d+(?:ms|s|m|h|d|w|y))+)/.exec(expr.slice(i));
    if (offset !== null && (i === 0 || !/[\w:]/.test(expr[i - 1]))) {
      out += `offset ${offset[1]}${formatDuration(parseDuration(offset[2]) / factor)}`;
      i += offset[0].length;
      continue;
    }
    if (c === '[') {
      const close = expr.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed [ in ${expr}`);
      const inner = expr.slice(i + 1, close).trim();
      const parts = inner.split(':').map((p) => p.trim());
      if (parts.length > 2) throw new Error(`unexpected range [${inner}] in ${expr}`);
      out += `[${parts.map((p) => (p === '' ? '' : formatDuration(parseDuration(p) / factor))).join(':')}]`;
      i = close + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function stringEnd(s: string, start: number): number {
  const q = s[start];
  for (let j = start + 1; j < s.length; j++) {
    if (q !== '`' && s[j] === '\\') j++;
    else if (s[j] === q) return j + 1;
  }
  throw new Error(`unterminated string in ${s}`);
}
