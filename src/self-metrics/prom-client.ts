/**
 * The parts of prom-client logship uses, required one file at a time. prom-client's index loads
 * every part eagerly: the Pushgateway (node:http/https), the cluster aggregator (node:cluster),
 * Summary (tdigest) and, through its process CPU metric, @opentelemetry/api (51 modules) for
 * exemplars. Measured on Node 24 (a script requiring only prom-client): the index costs ~100 ms
 * and +19 MiB RSS, the four classes below 5 ms and +1 MiB (bench/RESULTS.md, "Startup").
 * The package has no `exports` map, so its files are part of what npm installs and resolve as is.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

/** One of prom-client's default metric modules: registers its families on `registry`. */
type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision?: number }) => void;

/**
 * prom-client's default metrics (collectDefaultMetrics' list) except `processCpuTotal`, whose
 * only extra is exemplars and which loads @opentelemetry/api for them; registerProcessCpu
 * exports the same three counters.
 */
const DEFAULT_METRIC_FILES = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

export function registerDefaultMetrics(registry: Registry, config: { eventLoopMonitoringPrecision: number }): void {
  for (const file of DEFAULT_METRIC_FILES) (require(`prom-client/lib/metrics/${file}`) as DefaultMetric)(registry, config);
  registerProcessCpu(registry);
}

/**
 * process_cpu_{user,system,}_seconds_total, named and described as prom-client's. Each read
 * exports the process's CPU since it started (process.cpuUsage()), where prom-client's counts
 * from the moment it was registered and so leaves out the start.
 */
function registerProcessCpu(registry: Registry): void {
  const families = [
    { name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.', seconds: (u: NodeJS.CpuUsage) => u.user / 1e6 },
    { name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', seconds: (u: NodeJS.CpuUsage) => u.system / 1e6 },
    { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', seconds: (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6 },
  ];
  for (const f of families) {
    new Counter({
      name: f.name,
      help: f.help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(f.seconds(process.cpuUsage()));
      },
    });
  }
}
