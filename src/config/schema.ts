import { z } from 'zod';
import { DERIVED_METRICS_DEFAULTS, derivedMetricsSchema } from '../metrics/derived/config.ts';
import { duplicateMetricRuleNames } from '../pipeline/metrics.ts';
import { stageSchema } from '../pipeline/registry.ts';
import { classificationConfigSchema } from '../pipeline/classify.ts';
import { redactionConfigSchema } from '../pipeline/redact.ts';
import { parserOptionIssues } from '../parse/options.ts';
import { elasticsearchSinkSchema } from '../sinks/elasticsearch/config.ts';
import { fileSinkSchema, stdoutSinkSchema } from '../sinks/file-config.ts';
import { lokiSinkSchema } from '../sinks/loki/config.ts';
import { fileSourceSchema } from '../sources/config.ts';
import { journaldSourceSchema } from '../sources/journald/config.ts';
import { syslogSourceSchema } from '../sources/syslog/config.ts';
import { duration, size } from './types.ts';

export const sinkSchema = z.discriminatedUnion('type', [fileSinkSchema, stdoutSinkSchema, lokiSinkSchema, elasticsearchSinkSchema]);
export type SinkConfig = z.infer<typeof sinkSchema>;

/** A source: files (the default `type`), the systemd journal, or a syslog receiver. */
export const sourceSchema = z.discriminatedUnion('type', [fileSourceSchema, journaldSourceSchema, syslogSourceSchema]);
export type SourceConfig = z.infer<typeof sourceSchema>;

const listenSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, { message: 'expected host:port, e.g. "127.0.0.1:9711"' });

export const configSchema = z.strictObject({
  server: z.strictObject({
    listen: listenSchema.default('127.0.0.1:9711'),
    /** /ready fails when a sink has been failing for longer than this. */
    ready_max_failing: duration().default(5 * 60_000),
  }).default({ listen: '127.0.0.1:9711', ready_max_failing: 300_000 }),
  positions: z.strictObject({
    path: z.string().default('./data/positions.json'),
    sync_interval: duration().default(1000),
    /** Entries of files gone (not tailed) for longer than this are forgotten. */
    expire_after: duration().default(3_600_000),
    /**
     * Where files start when positions existed but none can be trusted (the file and its .tmp and
     * .bak generations all corrupt or unreadable): `beginning` re-reads them (at-least-once:
     * duplicates, never a gap), `end` skips what was written meanwhile. Not start_at: that is for
     * files logship never saw.
     */
    on_lost: z.enum(['beginning', 'end']).default('beginning'),
  }).default({ path: './data/positions.json', sync_interval: 1000, expire_after: 3_600_000, on_lost: 'beginning' }),
  memory: z.strictObject({
    /**
     * Global budget over read-but-unacknowledged bytes; tailers pause when it is spent. 16 MiB
     * is ~50k lines in flight, several times what the sinks' open and in-flight batches hold at
     * full speed (2 × 1 MiB Loki, 2 × 2 MiB Elasticsearch): a 200 MiB backlog with the sink down
     * for its first 20 s peaked at 185 MiB RSS with 64 MiB, 160–196 with 32 and 148–154 with 16,
     * same drain time; 1M lines at full speed, same rate and CPU with 16 as with 32.
     */
    max_buffer_bytes: size().default(16 * 1024 * 1024),
  }).default({ max_buffer_bytes: 16 * 1024 * 1024 }),
  shutdown: z.strictObject({
    grace_period: duration().default(10_000),
  }).default({ grace_period: 10_000 }),
  /** Host name recorded in source.host (defaults to os.hostname()). */
  host: z.string().optional(),
  sources: z.array(sourceSchema).min(1, { message: 'at least one source is required' }),
  pipeline: z.array(stageSchema).default([]),
  /** Built-in event classification ahead of `pipeline` (README "Event classification"). */
  classification: classificationConfigSchema,
  /** Built-in secret redaction ahead of `pipeline`, on by default (README "Redaction"). */
  redaction: redactionConfigSchema,
  /** Built-in security and performance metrics on /metrics (see README "Derived metrics"). */
  derived_metrics: derivedMetricsSchema.default(DERIVED_METRICS_DEFAULTS),
  sinks: z.array(sinkSchema).min(1, { message: 'at least one sink is required' }),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.sources.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name "${s.name}"` });
    seen.add(s.name);
    for (const iss of parserOptionIssues(s.parser, s.parser_options)) ctx.addIssue({ code: 'custom', path: ['sources', i, ...iss.path], message: iss.message });
  });
  const sinkNames = new Set<string>();
  cfg.sinks.forEach((s, i) => {
    const name = s.name ?? `${s.type}${cfg.sinks.filter((x) => x.type === s.type).length > 1 ? `_${i}` : ''}`;
    if (sinkNames.has(name)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink name "${name}"` });
    sinkNames.add(name);
  });
  for (const iss of duplicateMetricRuleNames(cfg.pipeline)) ctx.addIssue({ code: 'custom', ...iss });
});
export type Config = z.infer<typeof configSchema>;

/** The name a sink is known by in metrics and /api/status. */
export function sinkName(cfg: Config, index: number): string {
  const s = cfg.sinks[index];
  if (s.name) return s.name;
  return cfg.sinks.filter((x) => x.type === s.type).length > 1 ? `${s.type}_${index}` : s.type;
}
