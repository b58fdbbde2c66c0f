import { posix } from 'node:path';
import { Document, parseDocument } from 'yaml';
import { compileUserRegex } from '../../parse/safe-regex.ts';
import { IssueLog, PromtailInputError, type ConversionIssue } from './issues.ts';
import { convertStages, goRegex, StageScope, stageEntry, type StageOut } from './stages.ts';

/** Loki accepts at most 15 label names per stream (the Loki sink refuses more). */
const MAX_LABELS = 15;
const PUSH_PATH = '/loki/api/v1/push';

export interface Conversion {
  /** The logship config, YAML with comments. */
  yaml: string;
  /** Every Promtail key left out or only approximated. Empty: everything converted. */
  issues: ConversionIssue[];
}

type Raw = Record<string, unknown>;

function isMap(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

interface SourceOut {
  name: string;
  type?: 'docker' | 'cri';
  paths: string[];
  exclude?: string[];
  parser: 'raw';
  start_at: 'beginning';
  labels: Record<string, string>;
  multiline?: Raw;
  rescan_interval?: string;
}

/**
 * Converts a Promtail config (YAML text, `${VAR}` references unexpanded) into a logship config
 * that ships the same streams: the same label sets, the same lines (Promtail ships the line
 * as read, or what an `output` stage made of it: logship's Loki sink uses `line_format: message`
 * on the raw record), the same timestamps, and that resumes from Promtail's positions.
 */
export function convertPromtail(text: string, file = '<input>'): Conversion {
  const cfg = readPromtailConfig(text, file);
  const log = new IssueLog();
  log.unknownKeys(cfg, ['server', 'positions', 'clients', 'client', 'scrape_configs', 'target_config', 'limits_config', 'global']);
  envReferences(text, log);

  const out: Raw = {};
  const server = convertServer(cfg.server, log.at('server'));
  if (server) out.server = server;
  out.positions = convertPositions(cfg.positions, log.at('positions'));
  const names: StreamNames = { labelNames: new Set(), metadataNames: new Set(), metricNames: new Set() };
  const clients = clientsOf(cfg, log);
  for (const k of Object.keys(clients.external)) names.labelNames.add(k);
  const { sources, pipeline } = convertScrapes(cfg, log, { ...names, usedNames: new Set(), external: clients.external });
  setAbsentNamesEmpty(sources, pipeline, names);
  out.sources = sources.map(orderedSource);
  out.pipeline = pipeline;
  out.sinks = convertClients(clients, log, names);
  return { yaml: conversionYaml(out, file), issues: log.issues };
}

/** The Promtail config as plain data, or a PromtailInputError when the text is none. */
function readPromtailConfig(text: string, file: string): Raw {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new PromtailInputError('PROMTAIL_YAML', `${file}: not valid YAML: ${doc.errors[0].message}`, { file });
  const cfg: unknown = doc.toJS();
  if (!isMap(cfg)) throw new PromtailInputError('PROMTAIL_NOT_A_MAPPING', `${file}: expected a Promtail config (a YAML mapping with scrape_configs)`, { file });
  if (!Array.isArray(cfg.scrape_configs) && !Array.isArray(cfg.clients) && cfg.client === undefined) {
    throw new PromtailInputError('PROMTAIL_NOT_A_CONFIG', `${file}: no scrape_configs or clients: not a Promtail config`, { file });
  }
  return cfg;
}

/** The label, structured-metadata and metric names the converted streams use. */
interface StreamNames {
  labelNames: Set<string>;
  metadataNames: Set<string>;
  metricNames: Set<string>;
}

interface PromtailClients {
  list: unknown[];
  log: IssueLog;
  /** External labels apply to every stream of a client; with one client they are the sources' labels. */
  external: Record<string, string>;
}

function clientsOf(cfg: Raw, log: IssueLog): PromtailClients {
  const list = Array.isArray(cfg.clients) ? cfg.clients : cfg.client !== undefined ? [cfg.client] : [];
  const clientLog = Array.isArray(cfg.clients) ? log.at('clients') : log.at('client');
  const external = list.length === 1 && isMap(list[0]) && isMap(list[0].external_labels) ? stringMap(list[0].external_labels, clientLog.at(0).at('external_labels')) : {};
  if (list.length > 1 && list.some((c) => isMap(c) && c.external_labels !== undefined)) {
    list.forEach((c, i) => {
      if (isMap(c) && c.external_labels !== undefined) clientLog.at(i).at('external_labels').left('not converted: with several clients, logship labels are the same for every sink');
    });
  }
  return { list, log: clientLog, external };
}

/** Every scrape config with files: its sources, and its stages as a `match` on them after the `filename` label stage. */
function convertScrapes(cfg: Raw, log: IssueLog, ctx: Omit<ScrapeContext, 'rescan'>): { sources: SourceOut[]; pipeline: StageOut[] } {
  const sources: SourceOut[] = [];
  const pipeline: StageOut[] = [{ type: 'labels', from: { filename: 'source.file' } }];
  ctx.labelNames.add('filename');
  const targetConfig = isMap(cfg.target_config) ? cfg.target_config : {};
  const rescan = str(targetConfig.sync_period);
  if (cfg.target_config !== undefined) log.at('target_config').unknownKeys(targetConfig, ['sync_period']);
  const scrapes = Array.isArray(cfg.scrape_configs) ? cfg.scrape_configs : [];
  scrapes.forEach((sc, i) => {
    const at = log.at('scrape_configs').at(i);
    if (!isMap(sc)) {
      at.left('expected a mapping');
      return;
    }
    const job = convertScrape(sc, at, { ...ctx, rescan });
    if (job === null) return;
    sources.push(...job.sources);
    if (job.stages.length > 0) pipeline.push({ type: 'match', sources: job.sources.map((s) => s.name), stages: job.stages });
  });
  if (sources.length === 0) log.at('scrape_configs').left('no scrape config with static_configs and __path__ converted: the logship config has no source');
  return { sources, pipeline };
}

/**
 * Every label and structured-metadata name a sink reads is set on every source, empty where
 * Promtail would not have it: sinks leave empty labels out instead of filling them from the record.
 * (filename is set for every event by the first stage.)
 */
function setAbsentNamesEmpty(sources: SourceOut[], pipeline: StageOut[], names: StreamNames): void {
  for (const s of sources) for (const n of names.labelNames) if (n !== 'filename' && s.labels[n] === undefined) s.labels[n] = '';
  // Structured metadata the same way, on the event (a source's own labels are all stream labels).
  const first = pipeline[0] as { values?: Record<string, string> };
  if (names.metadataNames.size > 0) first.values = Object.fromEntries([...names.metadataNames].sort().map((n) => [n, '']));
}

/** One Loki sink per client, each sending every label name (at most MAX_LABELS) and metadata name. */
function convertClients(clients: PromtailClients, log: IssueLog, names: StreamNames): Raw[] {
  const labelList = [...names.labelNames].sort();
  if (labelList.length > MAX_LABELS) log.at('scrape_configs').left(`${labelList.length} label names in all (${labelList.join(', ')}); logship's Loki sink takes at most ${MAX_LABELS}: ${labelList.slice(MAX_LABELS).join(', ')} left out`);
  const lists = { labels: labelList.slice(0, MAX_LABELS), structured_metadata: [...names.metadataNames].sort() };
  const sinks = clients.list.map((c, i) => convertClient(c, clients.log.at(i), lists)).filter((s): s is Raw => s !== null);
  if (sinks.length === 0) log.at('clients').left('no client converted: the logship config has no sink');
  return sinks;
}

function conversionYaml(out: Raw, file: string): string {
  const yamlDoc = new Document(out);
  yamlDoc.commentBefore = [
    ` logship config converted from the Promtail config ${file} (logship convert --from promtail).`,
    ' It ships what Promtail shipped: the same label sets (labels a source does not have are',
    ' listed empty so that the sink does not fill them from the record), the line as read',
    " (line_format: message on the raw parser), Promtail's timestamps, and it resumes each file",
    " where Promtail stopped (positions.import_promtail). logship's built-in classification,",
    ' redaction and derived metrics stay on; redaction changes lines that carry secrets.',
  ].join('\n');
  return yamlDoc.toString({ lineWidth: 0 });
}

/** logship expands `${VAR}` and `${VAR:-default}` itself; Promtail's envsubst knows more forms. */
function envReferences(text: string, log: IssueLog): void {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (/^\s*#/.test(line)) return;
    for (const m of line.matchAll(/(?<!\$)\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/g)) {
      const ref = m[1];
      if (/^\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/.test(ref)) continue;
      log.at(`line ${i + 1}`).left(`environment reference $${ref}: logship expands only \${VAR} and \${VAR:-default}; rewrite it`);
    }
  });
}

function stringMap(v: Raw, log: IssueLog): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    const s = str(x);
    if (s === undefined) log.at(k).left('expected a string value');
    else out[k] = s;
  }
  return out;
}

function convertServer(v: unknown, log: IssueLog): Raw | null {
  if (v === undefined || v === null) return null;
  if (!isMap(v)) {
    log.left('expected a mapping');
    return null;
  }
  log.unknownKeys(v, ['http_listen_port', 'http_listen_address', 'grpc_listen_port', 'disable', 'log_level', 'grpc_listen_address'], 'no logship equivalent');
  if (v.grpc_listen_port !== undefined && String(v.grpc_listen_port) !== '0') log.at('grpc_listen_port').left('logship serves no gRPC');
  if (v.log_level !== undefined) log.at('log_level').left(`not a config key in logship: run with --log-level ${String(v.log_level)}`);
  if (v.disable === true) {
    log.at('disable').left('logship always serves /metrics, /ready and /api/status; kept on its loopback default 127.0.0.1:9711');
    return null;
  }
  if (v.http_listen_port === undefined && v.http_listen_address === undefined) return null;
  // Promtail listens on every interface unless told otherwise; Prometheus scrapes it there.
  const addr = str(v.http_listen_address) || '0.0.0.0';
  const port = str(v.http_listen_port) ?? '9080';
  return { listen: `${addr}:${port}` };
}

function convertPositions(v: unknown, log: IssueLog): Raw {
  const p = isMap(v) ? v : {};
  if (v !== undefined && !isMap(v)) log.left('expected a mapping');
  log.unknownKeys(p, ['filename', 'sync_period', 'ignore_invalid_yaml']);
  // Promtail's default positions file.
  const file = str(p.filename) ?? '/var/log/positions.yaml';
  const out: Raw = { path: posix.join(posix.dirname(file), 'logship-positions.json'), import_promtail: file };
  if (p.sync_period !== undefined) out.sync_interval = str(p.sync_period);
  // ignore_invalid_yaml: logship never stops on a corrupt positions file (it falls back and counts it).
  return out;
}

function convertClient(v: unknown, log: IssueLog, lists: { labels: string[]; structured_metadata: string[] }): Raw | null {
  if (!isMap(v)) {
    log.left('expected a mapping');
    return null;
  }
  log.unknownKeys(v, ['url', 'tenant_id', 'basic_auth', 'bearer_token', 'bearer_token_file', 'external_labels', 'batchwait', 'batchsize', 'backoff_config', 'timeout', 'tls_config', 'headers']);
  const url = str(v.url);
  if (url === undefined) {
    log.at('url').left('missing');
    return null;
  }
  let base = url;
  if (url.endsWith(PUSH_PATH)) base = url.slice(0, -PUSH_PATH.length);
  else log.at('url').left(`does not end in ${PUSH_PATH}; logship appends that path to the url`);
  const sink: Raw = { type: 'loki', url: base };
  if (v.tenant_id !== undefined) sink.tenant_id = str(v.tenant_id);
  sink.labels = lists.labels;
  sink.structured_metadata = lists.structured_metadata;
  sink.line_format = 'message';
  const batch: Raw = {};
  if (v.batchwait !== undefined) batch.max_wait = str(v.batchwait);
  if (v.batchsize !== undefined) batch.max_bytes = v.batchsize;
  if (Object.keys(batch).length > 0) sink.batch = batch;
  if (v.timeout !== undefined) sink.timeout = str(v.timeout);
  if (isMap(v.backoff_config)) {
    const retry = convertBackoff(v.backoff_config, log.at('backoff_config'));
    if (retry !== undefined) sink.retry = retry;
  }
  // Promtail has no cardinality guard: caps high enough to keep every stream it would create.
  sink.cardinality = { max_values_per_label: 10000, max_streams: 10000 };
  Object.assign(sink, clientCredentials(v, log));
  return sink;
}

/** backoff_config as the sink's retry (undefined: nothing to set); max_retries has no counterpart. */
function convertBackoff(b: Raw, log: IssueLog): Raw | undefined {
  log.unknownKeys(b, ['min_period', 'max_period', 'max_retries']);
  const retry: Raw = {};
  if (b.min_period !== undefined) retry.min_backoff = str(b.min_period);
  if (b.max_period !== undefined) retry.max_backoff = str(b.max_period);
  if (b.max_retries !== undefined) log.at('max_retries').left('logship retries without a count limit and never drops a batch (the files wait); bound it with retry.max_retry_duration and dead_letter_path');
  return Object.keys(retry).length > 0 ? retry : undefined;
}

/** How a client authenticates: basic_auth, bearer token, headers, TLS (in the sink's key order). */
function clientCredentials(v: Raw, log: IssueLog): Raw {
  const out: Raw = {};
  if (isMap(v.basic_auth)) {
    const a = v.basic_auth;
    log.at('basic_auth').unknownKeys(a, ['username', 'password', 'password_file']);
    out.basic_auth = Object.fromEntries(['username', 'password', 'password_file'].filter((k) => a[k] !== undefined).map((k) => [k, str(a[k])]));
  }
  if (v.bearer_token !== undefined) out.bearer_token = str(v.bearer_token);
  if (v.bearer_token_file !== undefined) out.bearer_token_file = str(v.bearer_token_file);
  if (isMap(v.headers)) out.headers = stringMap(v.headers, log.at('headers'));
  if (isMap(v.tls_config)) {
    const t = v.tls_config;
    log.at('tls_config').unknownKeys(t, ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify']);
    out.tls = Object.fromEntries(['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify'].filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
  }
  return out;
}

interface ScrapeContext extends StreamNames {
  usedNames: Set<string>;
  external: Record<string, string>;
  rescan: string | undefined;
}

/** The keys in the order the README documents them. */
function orderedSource(s: SourceOut): Raw {
  const keys: Array<keyof SourceOut> = ['name', 'type', 'paths', 'exclude', 'parser', 'start_at', 'labels', 'multiline', 'rescan_interval'];
  return Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
}

function sourceName(job: string, used: Set<string>): string {
  const base = job.trim() || 'job';
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}

function convertScrape(sc: Raw, log: IssueLog, ctx: ScrapeContext): { sources: SourceOut[]; stages: StageOut[] } | null {
  log.unknownKeys(sc, ['job_name', 'static_configs', 'relabel_configs', 'pipeline_stages'], 'logship sources are files found by globs (static_configs with __path__): this discovery or option is not converted');
  const job = str(sc.job_name) ?? 'job';
  const statics = Array.isArray(sc.static_configs) ? sc.static_configs : [];
  if (statics.length === 0) {
    // A job with another kind of target (journal, syslog, kubernetes_sd_configs) was reported above.
    if (sc.static_configs !== undefined || Object.keys(sc).every((k) => ['job_name', 'relabel_configs', 'pipeline_stages'].includes(k))) log.at('static_configs').left('missing: this job has no files logship can tail');
    return null;
  }
  const rawStages = Array.isArray(sc.pipeline_stages) ? sc.pipeline_stages : [];
  const stagesLog = log.at('pipeline_stages');
  const { containerType, multiline, head } = sourceStages(rawStages, stagesLog);
  const statics2 = statics.map((s, i) => convertStatic(s, log.at('static_configs').at(i), job, ctx)).filter((s): s is SourceOut => s !== null);
  if (statics2.length === 0) return null;
  const relabel = Array.isArray(sc.relabel_configs) ? sc.relabel_configs : [];
  for (const s of statics2) applyRelabel(s, relabel, log.at('relabel_configs'));
  const staticLabels = new Set<string>(statics2.flatMap((s) => Object.keys(s.labels)));
  for (const s of statics2) {
    if (containerType) s.type = containerType;
    if (multiline) s.multiline = multiline;
    if (ctx.rescan) s.rescan_interval = ctx.rescan;
    for (const k of Object.keys(s.labels)) ctx.labelNames.add(k);
  }
  const scope = new StageScope({ labelNames: ctx.labelNames, metadataNames: ctx.metadataNames, metricNames: ctx.metricNames, staticLabels });
  const stages: StageOut[] = [];
  if (containerType) {
    scope.containerFields(containerType);
    // Promtail's docker and cri stages label every line with its stream.
    stages.push({ type: 'labels', from: { stream: 'source.stream' } });
    scope.label('stream');
  }
  stages.push(...convertStages(rawStages.slice(head), scope, stagesLog, head));
  return { sources: statics2, stages };
}

/** The docker / cri / multiline stages at the head of a pipeline, which the source does; `head`: how many. */
function sourceStages(rawStages: unknown[], log: IssueLog): { containerType?: 'docker' | 'cri'; multiline?: Raw; head: number } {
  let containerType: 'docker' | 'cri' | undefined;
  let multiline: Raw | undefined;
  let head = 0;
  for (; head < rawStages.length; head++) {
    const entry = stageEntry(rawStages[head]);
    if (entry === undefined) break;
    const [kind, body] = entry;
    const at = log.at(head).at(kind);
    if ((kind === 'docker' || kind === 'cri') && containerType === undefined && multiline === undefined) {
      containerType = kind;
      if (kind === 'cri') at.unknownKeys(body, ['max_partial_lines', 'max_partial_line_size', 'max_partial_line_size_truncate'], 'not converted: logship caps a joined record with max_partial_bytes (1MiB)');
      else at.unknownKeys(body, []);
    } else if (kind === 'multiline' && multiline === undefined) {
      multiline = convertMultiline(body, at);
    } else break;
  }
  return { containerType, multiline, head };
}

function convertMultiline(body: Raw, log: IssueLog): Raw | undefined {
  log.unknownKeys(body, ['firstline', 'max_wait_time', 'max_lines']);
  const first = str(body.firstline);
  if (first === undefined) {
    log.at('firstline').left('missing');
    return undefined;
  }
  const pattern = goRegex(first);
  const c = compileUserRegex(pattern);
  if (!c.ok) {
    log.at('firstline').left(c.error);
    return undefined;
  }
  // Promtail's defaults: 3s, 128 lines.
  return { start: pattern, timeout: str(body.max_wait_time) ?? '3s', max_lines: typeof body.max_lines === 'number' ? body.max_lines : 128 };
}

function convertStatic(v: unknown, log: IssueLog, job: string, ctx: ScrapeContext): SourceOut | null {
  if (!isMap(v)) {
    log.left('expected a mapping');
    return null;
  }
  log.unknownKeys(v, ['targets', 'labels']);
  const labels = isMap(v.labels) ? v.labels : {};
  const path = str(labels.__path__);
  if (path === undefined) {
    log.at('labels').at('__path__').left('missing: nothing to tail');
    return null;
  }
  const out: SourceOut = { name: sourceName(job, ctx.usedNames), paths: [path], parser: 'raw', start_at: 'beginning', labels: { ...ctx.external } };
  const exclude = str(labels.__path_exclude__);
  if (exclude !== undefined) out.exclude = [exclude];
  for (const [k, val] of Object.entries(labels)) {
    if (k === '__path__' || k === '__path_exclude__') continue;
    if (k.startsWith('__')) {
      log.at('labels').at(k).left('internal label (dropped by Promtail before shipping) with no logship meaning');
      continue;
    }
    const s = str(val);
    if (s === undefined) log.at('labels').at(k).left('expected a string value');
    else out.labels[k] = s;
  }
  return out;
}

/** relabel_configs that only set or drop labels apply to the static labels; anything else is reported. */
function applyRelabel(s: SourceOut, rules: unknown[], log: IssueLog): void {
  rules.forEach((r, i) => {
    const at = log.at(i);
    if (!isMap(r)) {
      at.left('expected a mapping');
      return;
    }
    const action = str(r.action) ?? 'replace';
    const sources = Array.isArray(r.source_labels) ? r.source_labels : [];
    if (action === 'replace' && sources.length === 0 && str(r.target_label) !== undefined) {
      at.unknownKeys(r, ['action', 'target_label', 'replacement', 'regex']);
      const target = str(r.target_label)!;
      const value = str(r.replacement) ?? '$1';
      if (value.includes('$')) {
        at.at('replacement').left('refers to a capture group with no source labels: not converted');
        return;
      }
      if (target.startsWith('__')) {
        at.at('target_label').left('internal label: not converted');
        return;
      }
      if (value === '') delete s.labels[target];
      else s.labels[target] = value;
      return;
    }
    if (action === 'labeldrop' || action === 'labelkeep') {
      at.unknownKeys(r, ['action', 'regex']);
      const re = compileUserRegex(`^(?:${goRegex(str(r.regex) ?? '(.*)')})$`);
      if (!re.ok) {
        at.at('regex').left(re.error);
        return;
      }
      for (const k of Object.keys(s.labels)) {
        const hit = re.regex.test(k);
        if ((action === 'labeldrop' && hit) || (action === 'labelkeep' && !hit)) delete s.labels[k];
      }
      return;
    }
    at.left(`relabel action ${action}${sources.length > 0 ? ` from source_labels [${sources.join(', ')}]` : ''} is not converted: only setting a label to a fixed value and labeldrop/labelkeep on the job's labels convert`);
  });
}
