import { z } from 'zod';
import { duration } from '../core/config-fields.ts';

/** The platform's buckets (0.1, 0.5, 1, 2, 5, 10) plus finer ones below 100 ms. */
export const DEFAULT_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];

/** The defaults below are parsed once, at import: without zod's JIT fast path, compiled per schema and never reused. */
const ONCE = { jitless: true } as const;

const increasingBuckets = z.array(z.number().positive().finite()).min(1)
  .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]), { message: 'buckets must be strictly increasing' });

const bruteForceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** This many failed logins from one source IP ... */
  threshold: z.number().int().min(2).max(10_000).default(10),
  /** ... within this sliding window is a detection. */
  window: duration().default(5 * 60_000).refine((v) => v > 0, { message: 'window must be positive' }),
  /** Source IPs remembered (lru-cache): the least recently failing one is forgotten first. */
  max_sources: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Exports brute_force_source_failed_logins{source_ip} for at most this many sources over the threshold (0: none): bounded cardinality. */
  expose_top_sources: z.number().int().min(0).max(1000).default(10),
});

const securitySchema = z.strictObject({
  enabled: z.boolean().default(true),
  brute_force: bruteForceSchema.default(bruteForceSchema.parse({}, ONCE)),
});
export type SecurityMetricsConfig = z.infer<typeof securitySchema>;

const performanceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** http_request_duration_seconds buckets, seconds. */
  duration_buckets: increasingBuckets.default(DEFAULT_DURATION_BUCKETS),
  /** Label HTTP series with the templated route (`/users/:id`). */
  route_label: z.boolean().default(true),
  /** Distinct routes labelled; later ones count as route="other". */
  max_routes: z.number().int().min(1).max(100_000).default(200),
  /** `code`: status="403" (what the platform's alerts select); `class`: status="4xx". */
  status_label: z.enum(['code', 'class']).default('code'),
  /** Distinct operation names of slow operations; later ones count as operation="other". */
  max_operations: z.number().int().min(1).max(100_000).default(100),
});
export type PerformanceMetricsConfig = z.infer<typeof performanceSchema>;

/** The top-level `derived_metrics:` section: built-in security and performance metrics. */
export const derivedMetricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Distinct `service` label values; later ones count as service="other". */
  max_services: z.number().int().min(1).max(100_000).default(100),
  security: securitySchema.default(securitySchema.parse({}, ONCE)),
  performance: performanceSchema.default(performanceSchema.parse({}, ONCE)),
});
export type DerivedMetricsConfig = z.infer<typeof derivedMetricsSchema>;

export const DERIVED_METRICS_DEFAULTS: DerivedMetricsConfig = derivedMetricsSchema.parse({}, ONCE);
