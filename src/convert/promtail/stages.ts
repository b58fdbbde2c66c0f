import { compileUserRegex } from '../../parse/safe-regex.ts';
import { parseJsonPath } from '../../pipeline/extract.ts';
import { EPOCH_FORMATS, GoTimeLayout } from '../../pipeline/go-time-layout.ts';
import { parseSelector } from '../../pipeline/match.ts';
import type { IssueLog } from './issues.ts';

/** A logship stage as it will be written in the YAML. */
export type StageOut = Record<string, unknown>;

/** Prometheus client_golang's default buckets: what Promtail uses for a histogram without buckets. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * What the stages of one scrape job know while they are converted in order: where each name of
 * Promtail's extracted map lives in a logship record, and the label and structured-metadata
 * names the stages set (the Loki sink must list them).
 */
export class StageScope {
  /** Extracted-map name → record field. Anything not here is `metadata.<name>` (where extract stages put values). */
  private readonly fields = new Map<string, string>([['filename', 'source.file']]);
  readonly labelNames: Set<string>;
  readonly metadataNames: Set<string>;
  readonly metricNames: Set<string>;
  /** Static labels of the job: a Promtail stage may read them from the extracted map, a logship field cannot. */
  readonly staticLabels: ReadonlySet<string>;
  /** The labels this job's entries carry at the current stage (what Promtail's custom metrics are labelled with). */
  readonly jobLabels: Set<string>;

  constructor(opts: { labelNames: Set<string>; metadataNames: Set<string>; metricNames: Set<string>; staticLabels: ReadonlySet<string> }) {
    this.labelNames = opts.labelNames;
    this.metadataNames = opts.metadataNames;
    this.metricNames = opts.metricNames;
    this.staticLabels = opts.staticLabels;
    this.jobLabels = new Set([...opts.staticLabels, 'filename']);
  }

  /** A stage sets label `name` on this job's entries. */
  label(name: string): void {
    this.labelNames.add(name);
    this.jobLabels.add(name);
  }

  /** The record field holding extracted value `name`, or undefined (reported) when logship cannot read it. */
  field(name: string, log: IssueLog): string | undefined {
    const f = this.fields.get(name);
    if (f !== undefined) return f;
    if (this.staticLabels.has(name)) {
      log.left(`"${name}" is one of the job's labels: logship stages read record fields, not labels`);
      return undefined;
    }
    return `metadata.${name}`;
  }

  /** A stage wrote `name` into the extracted map (a later read finds it in metadata). */
  extracted(name: string): void {
    this.fields.delete(name);
  }

  /** The container runtime's fields, where a docker/cri source puts them. */
  containerFields(kind: 'docker' | 'cri'): void {
    this.fields.set('stream', 'source.stream');
    this.fields.set(kind === 'docker' ? 'output' : 'content', 'message');
  }
}

type Raw = Record<string, unknown>;

function isMap(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A stage entry is a one-key mapping `{json: {...}}`: its name and body. */
export function stageEntry(v: unknown): [string, Raw] | undefined {
  if (!isMap(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const body = v[keys[0]];
  return [keys[0], isMap(body) ? body : body === null || body === undefined ? {} : { __value: body }];
}

/** Go RE2 syntax that JavaScript writes differently: `(?P<name>` named groups. */
export function goRegex(pattern: string): string {
  return pattern.replace(/\(\?P</g, '(?<');
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Converts Promtail pipeline stages (in order) into logship stages. Stages that only a source
 * can do (docker, cri, multiline) are handled by the caller before; anything left out is
 * reported on `log` with its key path (`firstIndex`: the index of `stages[0]` in the Promtail list).
 */
export function convertStages(stages: unknown[], scope: StageScope, log: IssueLog, firstIndex = 0): StageOut[] {
  const out: StageOut[] = [];
  stages.forEach((raw, i) => {
    const at = log.at(i + firstIndex);
    const entry = stageEntry(raw);
    if (entry === undefined) {
      at.left('expected a mapping with one stage name');
      return;
    }
    const [kind, body] = entry;
    const s = at.at(kind);
    const converted = convertStage(kind, body, scope, s);
    out.push(...converted);
  });
  return out;
}

function convertStage(kind: string, body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  switch (kind) {
    case 'json':
      return json(body, scope, log);
    case 'logfmt':
      return logfmt(body, scope, log);
    case 'regex':
      return regex(body, scope, log);
    case 'labels':
      return labels(body, scope, log);
    case 'static_labels':
      return staticLabels(body, scope, log);
    case 'structured_metadata':
      return structuredMetadata(body, scope, log);
    case 'timestamp':
      return timestamp(body, scope, log);
    case 'output':
      return output(body, scope, log);
    case 'drop':
      return drop(body, scope, log);
    case 'match':
      return match(body, scope, log);
    case 'labeldrop':
      return labelList(body, 'drop', scope, log);
    case 'labelallow':
      return labelList(body, 'keep', scope, log);
    case 'tenant':
      return tenant(body, scope, log);
    case 'metrics':
      return metrics(body, scope, log);
    case 'template':
      return template(body, scope, log);
    case 'docker':
    case 'cri':
    case 'multiline':
      log.left(`a ${kind} stage converts only as the first stage of a job (logship does it in the source, before any stage)`);
      return [];
    default:
      log.left(`the ${kind} stage has no logship equivalent`);
      return [];
  }
}

function sourceField(body: Raw, scope: StageScope, log: IssueLog): string | undefined | null {
  if (body.source === undefined || body.source === null) return 'message';
  const s = str(body.source);
  if (s === undefined) {
    log.at('source').left('expected the name of an extracted value');
    return null;
  }
  return scope.field(s, log.at('source')) ?? null;
}

function json(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['expressions', 'source', 'drop_malformed']);
  if (body.drop_malformed === true) log.at('drop_malformed').left('logship keeps lines that are not JSON (nothing is extracted from them)');
  const from = sourceField(body, scope, log);
  if (from === null) return [];
  const exprs = isMap(body.expressions) ? body.expressions : {};
  const fields: Record<string, string | null> = {};
  for (const [name, e] of Object.entries(exprs)) {
    const path = e === null || e === undefined || e === '' ? null : str(e);
    if (path !== null && (path === undefined || parseJsonPath(path) === undefined)) {
      log.at('expressions').at(name).left(`JMESPath ${JSON.stringify(e)} is more than a field path (a.b, a[0], "x.y"); logship's extract stage reads field paths only`);
      continue;
    }
    fields[name] = path;
    scope.extracted(name);
  }
  if (Object.keys(fields).length === 0) {
    log.at('expressions').left('no expression converted');
    return [];
  }
  return [{ type: 'extract', format: 'json', ...(from !== 'message' ? { from } : {}), fields }];
}

function logfmt(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['mapping', 'source']);
  const from = sourceField(body, scope, log);
  if (from === null) return [];
  const mapping = isMap(body.mapping) ? body.mapping : {};
  const fields: Record<string, string | null> = {};
  for (const [name, k] of Object.entries(mapping)) {
    fields[name] = k === null || k === undefined || k === '' ? null : (str(k) ?? null);
    scope.extracted(name);
  }
  return [{ type: 'extract', format: 'logfmt', ...(from !== 'message' ? { from } : {}), ...(Object.keys(fields).length > 0 ? { fields } : {}) }];
}

function regex(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['expression', 'source']);
  const from = sourceField(body, scope, log);
  if (from === null) return [];
  const expr = str(body.expression);
  if (expr === undefined) {
    log.at('expression').left('missing');
    return [];
  }
  const pattern = goRegex(expr);
  const compiled = compileUserRegex(pattern);
  if (!compiled.ok) {
    log.at('expression').left(`${compiled.error} (JavaScript regex syntax differs from Go's RE2 here: inline flags like (?i) are not supported)`);
    return [];
  }
  for (const m of pattern.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)) scope.extracted(m[1]);
  return [{ type: 'extract', format: 'regex', ...(from !== 'message' ? { from } : {}), pattern }];
}

/**
 * `key: source` pairs (labels, structured_metadata): each key's logship field, from the extracted
 * value named `source` (empty: the one named like the key); keys without one are reported.
 */
function namedFields(body: Raw, scope: StageScope, log: IssueLog): Record<string, string> {
  const from: Record<string, string> = {};
  for (const [key, src] of Object.entries(body)) {
    const name = src === null || src === undefined || src === '' ? key : str(src);
    if (name === undefined) {
      log.at(key).left('expected the name of an extracted value');
      continue;
    }
    const field = scope.field(name, log.at(key));
    if (field !== undefined) from[key] = field;
  }
  return from;
}

function labels(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  const from = namedFields(body, scope, log);
  for (const label of Object.keys(from)) scope.label(label);
  return Object.keys(from).length > 0 ? [{ type: 'labels', from }] : [];
}

function staticLabels(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  const values: Record<string, string> = {};
  for (const [label, v] of Object.entries(body)) {
    const s = str(v);
    if (s === undefined) {
      log.at(label).left('expected a value');
      continue;
    }
    values[label] = s;
    scope.label(label);
  }
  return Object.keys(values).length > 0 ? [{ type: 'labels', values }] : [];
}

function structuredMetadata(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  // The value rides on the event as a label named like the key; the Loki sink lists it under
  // structured_metadata (not labels), so it is sent as structured metadata only.
  const from = namedFields(body, scope, log);
  for (const key of Object.keys(from)) scope.metadataNames.add(key);
  return Object.keys(from).length > 0 ? [{ type: 'labels', from }] : [];
}

function timestamp(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['source', 'format', 'fallback_formats', 'location', 'action_on_failure']);
  const src = str(body.source);
  const format = str(body.format);
  if (src === undefined || format === undefined) {
    log.left('needs source and format');
    return [];
  }
  const from = scope.field(src, log.at('source'));
  if (from === undefined) return [];
  const known = (f: string, at: IssueLog): boolean => {
    if ((EPOCH_FORMATS as readonly string[]).includes(f)) return true;
    try {
      new GoTimeLayout(f);
      return true;
    } catch (e) {
      at.left((e as Error).message);
      return false;
    }
  };
  if (!known(format, log.at('format'))) return [];
  const fallbacks = Array.isArray(body.fallback_formats) ? body.fallback_formats.map(str).filter((f, i): f is string => f !== undefined && known(f, log.at('fallback_formats').at(i))) : [];
  if (body.action_on_failure === 'fudge') log.at('action_on_failure').left('logship keeps the read time of a line whose time it cannot read (Promtail\'s "skip"), not the previous line\'s time plus 1ns');
  const location = str(body.location);
  return [{ type: 'timestamp', from, format, ...(fallbacks.length > 0 ? { fallback_formats: fallbacks } : {}), ...(location !== undefined ? { location } : {}) }];
}

function output(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['source']);
  const src = str(body.source);
  if (src === undefined) {
    log.at('source').left('missing');
    return [];
  }
  const from = scope.field(src, log.at('source'));
  return from === undefined || from === 'message' ? [] : [{ type: 'message', from }];
}

function drop(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['source', 'expression', 'value', 'longer_than', 'older_than', 'drop_counter_reason', 'separator']);
  if (body.older_than !== undefined) {
    log.at('older_than').left('not converted: logship\'s drop stage has no age condition (the Loki sink drops entries older than reject_old_samples_max_age, 7d)');
    return [];
  }
  if (Array.isArray(body.source)) {
    log.at('source').left('a list of sources (joined with separator) is not converted');
    return [];
  }
  const out: StageOut = { type: 'drop' };
  const reason = str(body.drop_counter_reason);
  if (reason !== undefined) out.name = reason;
  const hasSource = body.source !== undefined && body.source !== null;
  const field = sourceField(body, scope, log);
  if (field === null) return [];
  const expr = str(body.expression);
  const value = str(body.value);
  if (expr !== undefined) {
    const pattern = goRegex(expr);
    const compiled = compileUserRegex(pattern);
    if (!compiled.ok) {
      log.at('expression').left(compiled.error);
      return [];
    }
    Object.assign(out, { field, matches: pattern });
  } else if (value !== undefined) {
    Object.assign(out, { field, equals: value });
  } else if (hasSource) {
    // Promtail drops when the extracted value exists: any text matches ''.
    Object.assign(out, { field, matches: '' });
  }
  if (body.longer_than !== undefined) out.longer_than = body.longer_than;
  if (out.field === undefined && out.longer_than === undefined) {
    log.left('a drop stage with no condition logship can express');
    return [];
  }
  return [out];
}

function match(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['selector', 'stages', 'action', 'pipeline_name', 'drop_counter_reason']);
  const selector = str(body.selector);
  if (selector === undefined) {
    log.at('selector').left('missing');
    return [];
  }
  try {
    parseSelector(selector);
  } catch (e) {
    log.at('selector').left((e as Error).message);
    return [];
  }
  const action = body.action === 'drop' ? 'drop' : 'keep';
  const name = str(body.drop_counter_reason) ?? str(body.pipeline_name);
  if (action === 'drop') return [{ type: 'match', ...(name ? { name } : {}), selector, action: 'drop' }];
  const stages = convertStages(Array.isArray(body.stages) ? body.stages : [], scope, log.at('stages'));
  if (stages.length === 0) return [];
  return [{ type: 'match', ...(name ? { name } : {}), selector, stages }];
}

function labelList(body: Raw, key: 'drop' | 'keep', scope: StageScope, log: IssueLog): StageOut[] {
  const list = Array.isArray(body.__value) ? body.__value.map(str).filter((s): s is string => s !== undefined) : undefined;
  if (list === undefined) {
    log.left('expected a list of label names');
    return [];
  }
  for (const l of [...scope.jobLabels]) if (key === 'drop' ? list.includes(l) : !list.includes(l)) scope.jobLabels.delete(l);
  return [{ type: 'labels', [key]: list }];
}

function tenant(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['value', 'source', 'label']);
  const value = str(body.value);
  if (value !== undefined) return [{ type: 'labels', values: { __tenant_id__: value } }];
  const src = str(body.source);
  if (src !== undefined) {
    const field = scope.field(src, log.at('source'));
    return field === undefined ? [] : [{ type: 'labels', from: { __tenant_id__: field } }];
  }
  log.left('a tenant taken from a label is not converted');
  return [];
}

function metrics(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  const rules: Raw[] = [];
  for (const [name, def] of Object.entries(body)) {
    const at = log.at(name);
    if (!isMap(def)) {
      at.left('expected a metric definition');
      continue;
    }
    const rule = metricRule(name, def, scope, at);
    if (rule !== undefined) rules.push(rule);
  }
  return rules.length > 0 ? [{ type: 'metrics', rules }] : [];
}

/** One Promtail metric definition, as its type's converter needs it. */
interface MetricDefinition {
  /** prefix + name, as Promtail exported it. */
  name: string;
  cfg: Raw;
  cfgLog: IssueLog;
  /** config.value: only records whose source field equals it count. */
  valueFilter: string | undefined;
  /** The logship field of the definition's source (reported when it has none). */
  field: () => string | undefined;
}

/** A metric rule as its type makes it (key order as written), and the conditions its records must match. */
interface TypedRule {
  rule: Raw;
  match: Raw[];
}

function metricRule(name: string, def: Raw, scope: StageScope, log: IssueLog): Raw | undefined {
  log.unknownKeys(def, ['type', 'description', 'source', 'prefix', 'max_idle_duration', 'config']);
  const type = str(def.type)?.toLowerCase();
  const cfg = isMap(def.config) ? def.config : {};
  const src = str(def.source) ?? name;
  const d: MetricDefinition = { name: `${str(def.prefix) ?? 'promtail_custom_'}${name}`, cfg, cfgLog: log.at('config'), valueFilter: str(cfg.value), field: () => scope.field(src, log.at('source')) };
  let typed: TypedRule | undefined;
  if (type === 'counter') typed = counterRule(d, log);
  else if (type === 'histogram' || type === 'gauge') typed = valueRule(type, d);
  else {
    log.at('type').left(`metric type ${JSON.stringify(def.type)} is not converted`);
    return undefined;
  }
  if (typed === undefined) return undefined;
  const { rule, match } = typed;
  const full = rule.name as string;
  if (match.length > 0) rule.match = match;
  const help = str(def.description);
  if (help) rule.help = help;
  // Promtail forgets a series after 5m without updates by default.
  rule.idle_expiry = str(def.max_idle_duration) ?? '5m';
  if (scope.metricNames.has(full)) {
    log.left(`metric ${full} is already defined by another job; logship defines a name once (the first definition counts every job's records only if its stage runs for them)`);
    return undefined;
  }
  scope.metricNames.add(full);
  // Promtail labels each series with the entry's labels at this stage.
  const labels = [...scope.jobLabels].filter((l) => !l.startsWith('__')).sort();
  if (labels.length > 0) rule.labels = Object.fromEntries(labels.map((l) => [l, `labels.${l}`]));
  return rule;
}

/** A counter: of matching records (inc), or of a field's values (add); named with `_total`. */
function counterRule(d: MetricDefinition, log: IssueLog): TypedRule | undefined {
  const { cfg, cfgLog, valueFilter } = d;
  cfgLog.unknownKeys(cfg, ['action', 'value', 'match_all', 'count_entry_bytes']);
  let full = d.name;
  if (!full.endsWith('_total')) {
    log.left(`renamed to ${full}_total: logship counter names end in _total (Prometheus convention); Promtail exported ${full}`);
    full += '_total';
  }
  if (cfg.count_entry_bytes === true) {
    cfgLog.at('count_entry_bytes').left('not converted: logship metric rules count records or add a field');
    return undefined;
  }
  const rule: Raw = {};
  const match: Raw[] = [];
  if (cfg.match_all !== true) {
    const f = d.field();
    if (f === undefined) return undefined;
    match.push(valueFilter !== undefined ? { field: f, equals: valueFilter } : { field: f, exists: true });
    if (cfg.action === 'add') rule.value = f;
    else if (cfg.action !== 'inc') cfgLog.at('action').left(`action ${JSON.stringify(cfg.action)}: only inc and add convert`);
  }
  Object.assign(rule, { name: full, type: 'counter' });
  return { rule, match };
}

/** A histogram of a field's values, or a gauge set from one (action set only). */
function valueRule(type: 'histogram' | 'gauge', d: MetricDefinition): TypedRule | undefined {
  const { cfg, cfgLog, valueFilter } = d;
  cfgLog.unknownKeys(cfg, type === 'histogram' ? ['value', 'buckets'] : ['value', 'action']);
  if (type === 'gauge' && cfg.action !== 'set') {
    cfgLog.at('action').left(`gauge action ${JSON.stringify(cfg.action)}: only set converts (logship gauges are set from a field)`);
    return undefined;
  }
  const f = d.field();
  if (f === undefined) return undefined;
  const rule: Raw = { name: d.name, type, value: f };
  if (type === 'histogram') rule.buckets = Array.isArray(cfg.buckets) ? cfg.buckets : DEFAULT_BUCKETS;
  return { rule, match: valueFilter !== undefined ? [{ field: f, equals: valueFilter }] : [] };
}

const GO_FUNCTIONS: Record<string, { case?: 'upper' | 'lower'; trim?: true }> = { ToUpper: { case: 'upper' }, ToLower: { case: 'lower' }, TrimSpace: { trim: true } };

/**
 * Go templates that only interpolate values (`{{ .Value }}-{{ .app }}`), or apply one of ToUpper,
 * ToLower, TrimSpace to a single value (`{{ ToUpper .Value }}`, `{{ .Value | ToLower }}`), become a
 * format stage; anything else (if, Replace, regexReplaceAll, ...) is reported.
 */
function template(body: Raw, scope: StageScope, log: IssueLog): StageOut[] {
  log.unknownKeys(body, ['source', 'template']);
  const src = str(body.source);
  const text = str(body.template);
  if (src === undefined || text === undefined) {
    log.left('needs source and template');
    return [];
  }
  const into = scope.field(src, log.at('source'));
  if (into === undefined) return [];
  if (into !== 'message' && !into.startsWith('metadata.')) {
    log.at('source').left(`the template would write ${into}, which logship keeps as read`);
    return [];
  }
  let out = '';
  let fn: (typeof GO_FUNCTIONS)[string] | undefined;
  let actions = 0;
  let last = 0;
  const unsupported = () => {
    log.at('template').left(`${JSON.stringify(text)}: only templates that interpolate values ({{ .name }}) or apply ToUpper, ToLower or TrimSpace to one value convert`);
    return [];
  };
  for (const m of text.matchAll(/\{\{-?\s*(.*?)\s*-?\}\}/g)) {
    out += text.slice(last, m.index);
    last = m.index + m[0].length;
    actions++;
    const ref = goTemplateAction(m[1]);
    if (ref === undefined || (ref.fn !== undefined && fn !== undefined)) return unsupported();
    if (ref.fn !== undefined) fn = GO_FUNCTIONS[ref.fn];
    const field = scope.field(ref.name === 'Value' ? src : ref.name, log.at('template'));
    if (field === undefined) return [];
    out += `{${field}}`;
  }
  out += text.slice(last);
  // A function applies to the whole result: only when the template is that one action.
  if (fn !== undefined && (actions !== 1 || !/^\{[^{}]+\}$/.test(out))) return unsupported();
  // Literal braces would read as placeholders.
  if (/[{}]/.test(out.replace(/\{[A-Za-z_][A-Za-z0-9_.]*\}/g, ''))) return unsupported();
  scope.extracted(src);
  return [{ type: 'format', into, text: out, ...(fn?.case ? { case: fn.case } : {}), ...(fn?.trim ? { trim: true } : {}) }];
}

/** `.name`, `Fn .name` or `.name | Fn` (Fn one of GO_FUNCTIONS); undefined for anything else. */
function goTemplateAction(inner: string): { name: string; fn?: string } | undefined {
  let m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
  if (m) return { name: m[1] };
  m = /^([A-Za-z]+)\s+\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
  if (m && GO_FUNCTIONS[m[1]]) return { name: m[2], fn: m[1] };
  m = /^\.([A-Za-z_][A-Za-z0-9_]*)\s*\|\s*([A-Za-z]+)$/.exec(inner);
  if (m && GO_FUNCTIONS[m[2]]) return { name: m[1], fn: m[2] };
  return undefined;
}
