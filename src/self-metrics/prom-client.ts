/**
 * The parts of prom-client logship uses, imported one file at a time. prom-client's index loads
 * every part eagerly: the Pushgateway (node:http/https), the cluster aggregator (node:cluster),
 * Summary (tdigest) and, through its process CPU metric, @opentelemetry/api (51 modules) for
 * exemplars. Measured on Node 24 (a script requiring only prom-client): the index costs ~100 ms
 * and +19 MiB RSS, the four classes below 5 ms and +1 MiB (bench/RESULTS.md, "Startup").
 * The package has no `exports` map, so its files are part of what npm installs and resolve as is.
 * Static imports (not createRequire) so that the bundle (scripts/bundle.ts) holds them: required
 * at run time they were 23 CommonJS modules looked up and compiled one by one at every start.
 */
import type * as Prom from 'prom-client';
import RegistryModule from 'prom-client/lib/registry.js';
import CounterModule from 'prom-client/lib/counter.js';
import GaugeModule from 'prom-client/lib/gauge.js';
import HistogramModule from 'prom-client/lib/histogram.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import version from 'prom-client/lib/metrics/version.js';
import gc from 'prom-client/lib/metrics/gc.js';

export const Registry = RegistryModule as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = CounterModule as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = GaugeModule as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = HistogramModule as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

/** One of prom-client's default metric modules: registers its families on `registry`. */
type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision?: number }) => void;

/**
 * prom-client's default metrics (collectDefaultMetrics' list) except `processCpuTotal`, whose
 * only extra is exemplars and which loads @opentelemetry/api for them; registerProcessCpu
 * exports the same three counters.
 */
const DEFAULT_METRICS = [
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
  gc,
] as DefaultMetric[];

export function registerDefaultMetrics(registry: Registry, config: { eventLoopMonitoringPrecision: number }): void {
  for (const register of DEFAULT_METRICS) register(registry, config);
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
