import type { Test } from 'tap';

/**
 * A small reader of the Prometheus text exposition format for assertions: series keyed as
 * `name{a="x",b="y"}` with labels sorted by name, and every family's TYPE and HELP.
 */
export interface Exposition {
  /** `name{sorted labels}` → value. */
  series: Map<string, number>;
  types: Map<string, string>;
  help: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name, type);
      continue;
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      help.set(rest.slice(0, sp), rest.slice(sp + 1));
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Array<[string, string]> = [];
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let lm: RegExpExecArray | null;
      while ((lm = re.exec(m[3])) !== null) labels.push([lm[1], lm[2]]);
    }
    series.set(seriesKey(m[1], Object.fromEntries(labels)), Number(m[4]));
  }
  return { series, types, help };
}

export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}

/** All series of one family (or of its _bucket/_sum/_count), as key → value. */
export function family(exp: Exposition, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of exp.series) {
    const base = k.includes('{') ? k.slice(0, k.indexOf('{')) : k;
    if (base === name) out[k] = v;
  }
  return out;
}

/** One `t.same` per family (named by it): each family's series exactly as expected, no more, no fewer. */
export function sameFamilies(t: Test, exp: Exposition, expected: Record<string, Record<string, number>>): void {
  for (const [name, series] of Object.entries(expected)) t.same(family(exp, name), series, name);
}

/** Family names a scrape exports (from its TYPE lines), with histogram/summary sample names added. */
export function exportedNames(exp: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of exp.types) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}
