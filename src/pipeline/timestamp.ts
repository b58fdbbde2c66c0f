import { z } from 'zod';
import { TimeZone } from '../parse/time.ts';
import type { LocalCounter, MetricsRegistry } from '../self-metrics/registry.ts';
import type { LogEvent } from '../core/record.ts';
import { fieldText, getField, splitPath } from './field.ts';
import { EPOCH_FORMATS, GoTimeLayout, parseEpoch, TimeLayoutError } from './go-time-layout.ts';
import type { Stage } from '../core/stage.ts';

const formatSchema = () => z.string().min(1).superRefine((f, ctx) => {
  if ((EPOCH_FORMATS as readonly string[]).includes(f)) return;
  try {
    new GoTimeLayout(f);
  } catch (e) {
    if (e instanceof TimeLayoutError) ctx.addIssue({ code: 'custom', message: e.message });
    else throw e;
  }
});

/**
 * Built at its first use (z.lazy; registry.ts gives the union its `type` with typed()): a config
 * without this stage never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const timestampStageSchema = z.lazy(() => z.strictObject({
  type: z.literal('timestamp'),
  name: z.string().optional(),
  /** The record field holding the time (e.g. `metadata.ts` filled by an extract stage). */
  from: z.string().min(1),
  /** A Go layout (`2006-01-02 15:04:05.000`), a Go layout name (`RFC3339Nano`), or Unix, UnixMs, UnixUs, UnixNs. */
  format: formatSchema(),
  /** Tried in order when `format` does not fit. */
  fallback_formats: z.array(formatSchema()).default([]),
  /** Zone for times that carry none (IANA name, `UTC`, `+02:00`). */
  location: z.string().default('UTC').refine((z) => TimeZone.parse(z) !== undefined, { error: (iss) => `unknown time zone ${JSON.stringify(iss.input)}` }),
}));
export type TimestampStageConfig = z.infer<typeof timestampStageSchema>;

type TimeReader = (text: string, nowMs: number) => string | undefined;

/**
 * Sets the record's timestamp from a field, in the formats Promtail's timestamp stage reads.
 * A field that is missing or in none of the formats leaves the timestamp as it was (the
 * parser's, else the read time) and is counted (logship_timestamp_stage_failures_total).
 */
export class TimestampStage implements Stage {
  readonly name: string;
  private readonly from: string[];
  private readonly readers: TimeReader[];
  /** logship_timestamp_stage_failures_total{stage}: the field was there but in none of the formats. */
  private readonly failures: LocalCounter;

  constructor(cfg: TimestampStageConfig, metrics: MetricsRegistry) {
    this.name = cfg.name ?? 'timestamp';
    metrics.counter('logship_timestamp_stage_failures_total', 'Records whose timestamp field a timestamp stage could not read in any of its formats (the timestamp was left as it was), by stage.', ['stage']);
    this.failures = metrics.count('logship_timestamp_stage_failures_total', [this.name]);
    this.from = splitPath(cfg.from);
    const zone = TimeZone.parse(cfg.location) ?? TimeZone.UTC;
    this.readers = [cfg.format, ...cfg.fallback_formats].map((f) => reader(f, zone));
  }

  process(event: LogEvent): LogEvent {
    const text = fieldText(getField(event.record, this.from));
    if (text === undefined) return event;
    const now = Date.now();
    for (const read of this.readers) {
      const iso = read(text, now);
      if (iso !== undefined) {
        if (iso !== event.record.timestamp) {
          event.record.timestamp = iso;
          if (event.record.metadata?.timestamp_source !== undefined) delete event.record.metadata.timestamp_source;
        }
        return event;
      }
    }
    this.failures.inc();
    return event;
  }
}

function reader(format: string, zone: TimeZone): TimeReader {
  if ((EPOCH_FORMATS as readonly string[]).includes(format)) {
    const f = format as (typeof EPOCH_FORMATS)[number];
    return (text) => parseEpoch(text, f);
  }
  const layout = new GoTimeLayout(format, zone);
  return (text, now) => layout.parse(text, now);
}
