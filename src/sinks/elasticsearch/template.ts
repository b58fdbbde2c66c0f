import { createHash } from 'node:crypto';
import { VERSION } from '../../core/version.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { targetPattern } from './target.ts';

export interface EsTemplates {
  component: { name: string; body: Record<string, unknown> };
  index: { name: string; body: Record<string, unknown> };
}

const keyword = (ignoreAbove = 1024) => ({ type: 'keyword', ignore_above: ignoreAbove });

/** Unknown string fields become keywords (not text + keyword): cheaper, and exact-match as Kibana users expect. */
const DYNAMIC_TEMPLATES = [{ strings_as_keyword: { match_mapping_type: 'string', mapping: keyword() } }];

/**
 * Mappings of logship's own schema. What makes the runbook queries work: `level`/`service`
 * keyword (exact `level:ERROR`), `message` text (phrase `"authentication failed"`),
 * `response_time` and `duration` numeric (range `response_time:>5000`), `@timestamp` date;
 * `metadata` and `labels` are `flattened`, one field each however many keys records carry.
 */
function logshipMappings(): Record<string, unknown> {
  return {
    dynamic_templates: DYNAMIC_TEMPLATES,
    properties: {
      '@timestamp': { type: 'date' },
      level: { type: 'keyword' },
      service: { type: 'keyword' },
      message: { type: 'text' },
      trace_id: keyword(),
      span_id: keyword(),
      user_id: keyword(),
      request_id: keyword(),
      duration: { type: 'double' },
      response_time: { type: 'double' },
      event_type: { type: 'keyword' },
      action: { type: 'keyword' },
      ip_address: { type: 'ip', ignore_malformed: true },
      user_agent: { type: 'text', fields: { keyword: keyword(512) } },
      http: {
        properties: {
          method: { type: 'keyword' },
          route: keyword(),
          path: keyword(2048),
          status_code: { type: 'integer' },
          response_time: { type: 'double' },
          bytes: { type: 'long' },
          referrer: keyword(2048),
          protocol: { type: 'keyword' },
        },
      },
      metadata: { type: 'flattened', ignore_above: 1024 },
      labels: { type: 'flattened' },
      source: {
        properties: Object.fromEntries(['type', 'name', 'file', 'peer', 'stream', 'host', 'container_id', 'container_name', 'image', 'namespace', 'pod', 'pod_uid', 'container'].map((k) => [k, { type: 'keyword' }])),
      },
      truncated: { type: 'boolean' },
    },
  };
}

/** ECS 8.x field types for the fields logship writes in `schema: ecs`. */
function ecsMappings(): Record<string, unknown> {
  const kw = { type: 'keyword', ignore_above: 1024 };
  return {
    dynamic_templates: DYNAMIC_TEMPLATES,
    properties: {
      '@timestamp': { type: 'date' },
      message: { type: 'match_only_text' },
      ecs: { properties: { version: kw } },
      log: { properties: { level: kw, file: { properties: { path: kw } }, truncated: { type: 'boolean' } } },
      service: { properties: { name: kw } },
      trace: { properties: { id: kw } },
      span: { properties: { id: kw } },
      user: { properties: { id: kw } },
      event: { properties: { duration: { type: 'long' }, action: kw } },
      client: { properties: { ip: { type: 'ip', ignore_malformed: true } } },
      user_agent: { properties: { original: { type: 'keyword', ignore_above: 1024, fields: { text: { type: 'match_only_text' } } } } },
      http: {
        properties: {
          version: kw,
          request: { properties: { id: kw, method: kw, referrer: kw } },
          response: { properties: { status_code: { type: 'long' }, body: { properties: { bytes: { type: 'long' } } } } },
        },
      },
      url: { properties: { path: { type: 'wildcard' } } },
      host: { properties: { name: kw } },
      input: { properties: { type: kw } },
      container: { properties: { id: kw, name: kw, image: { properties: { name: kw } } } },
      kubernetes: { properties: { namespace: kw, pod: { properties: { name: kw, uid: kw } }, container: { properties: { name: kw } } } },
      labels: { type: 'flattened' },
      logship: {
        properties: {
          event_type: kw, source: kw, stream: kw, http_route: kw,
          response_time: { type: 'double' },
          metadata: { type: 'flattened', ignore_above: 1024 },
        },
      },
    },
  };
}

/**
 * The component template (mappings) and the composable index template that applies it to the
 * sink's indices (`logstash-*` for the default index name, `logs-*-default` for data streams,
 * which also need `data_stream: {}`). `_meta.logship_hash` lets installation skip identical ones.
 */
export function buildTemplates(cfg: Pick<ElasticsearchSinkConfig, 'mode' | 'index' | 'data_stream' | 'schema' | 'template_name' | 'template_priority'>): EsTemplates {
  const componentName = `${cfg.template_name}-mappings`;
  const mappings = cfg.schema === 'ecs' ? ecsMappings() : logshipMappings();
  const componentBody: Record<string, unknown> = {
    template: { mappings },
    _meta: { managed_by: 'logship', logship_version: VERSION, schema: cfg.schema },
  };
  const pattern = targetPattern(cfg);
  const indexBody: Record<string, unknown> = {
    index_patterns: [pattern],
    priority: cfg.template_priority,
    composed_of: [componentName],
    ...(cfg.mode === 'data_stream' ? { data_stream: {} } : {}),
    _meta: { managed_by: 'logship', logship_version: VERSION, description: `logship ${cfg.schema} schema for ${pattern}` },
  };
  (componentBody._meta as Record<string, unknown>).logship_hash = hash(componentBody);
  (indexBody._meta as Record<string, unknown>).logship_hash = hash(indexBody);
  return { component: { name: componentName, body: componentBody }, index: { name: cfg.template_name, body: indexBody } };
}

function hash(body: Record<string, unknown>): string {
  const { _meta, ...rest } = body;
  const meta = { ...(_meta as Record<string, unknown>) };
  delete meta.logship_version;
  return createHash('sha256').update(JSON.stringify({ ...rest, _meta: meta })).digest('hex').slice(0, 16);
}

/** Kibana Dev Tools console text: paste to install the templates by hand. */
export function templatesAsConsole(t: EsTemplates): string {
  return `PUT _component_template/${t.component.name}\n${JSON.stringify(t.component.body, null, 2)}\n\nPUT _index_template/${t.index.name}\n${JSON.stringify(t.index.body, null, 2)}\n`;
}
