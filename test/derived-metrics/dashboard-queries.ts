import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/daemon.ts';

/** The Grafana dashboards in config/grafana/ and the PromQL they run (used by the dashboard and alerting tests). */
export const GRAFANA = join(ROOT, 'config', 'grafana');

/** PromQL words that look like identifiers but are not metric names. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * Metric names a PromQL expression selects: identifiers that are not functions or aggregations
 * (followed by `(`), keywords, label names (inside `{...}` or a by/without/on/ignoring list),
 * strings, ranges, template variables or numbers.
 */
export function metricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\$\{?\w+\}?/g, '') // Grafana variables
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\{[^}]*\}/g, ''); // label matchers
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(e)) !== null) {
    const word = m[0];
    const rest = e.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // function or aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/^\d/.test(word)) continue;
    if (m.index > 0 && /[0-9.]/.test(e[m.index - 1])) continue; // 1e6, 5m
    names.add(word);
  }
  return [...names];
}

export interface Panel { id: number; type: string; title: string; datasource?: { type: string; uid: string }; gridPos?: object; targets?: Array<{ expr: string; refId: string }>; panels?: Panel[] }
export interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }> } }

export const files = readdirSync(GRAFANA).filter((f) => f.endsWith('.json')).sort();

export function dashboards(): Array<[string, Dashboard]> {
  return files.map((f) => [f, JSON.parse(readFileSync(join(GRAFANA, f), 'utf8')) as Dashboard]);
}

/** Every query a dashboard runs: panel targets and query variables (label_values(metric, label)). */
export function queries(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of d.panels) for (const tg of p.targets ?? []) out.push({ where: `panel "${p.title}" ${tg.refId}`, expr: tg.expr });
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const lv = /^label_values\((.*),\s*\w+\)$/.exec(q);
    out.push({ where: `variable $${v.name}`, expr: lv ? lv[1] : q });
  }
  return out;
}

