import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { LineReceiver } from '../core/line.ts';
import type { FileSourceConfig } from './config.ts';
import { ContainerMetrics } from './container/container-metrics.ts';
import { CriDecoder } from './container/cri.ts';
import { DockerDecoder } from './container/docker.ts';
import { MultilineJoiner } from './multiline.ts';

/**
 * The per-file line chain in front of a source's shared parser: container decode + rejoin
 * (docker / cri sources) → multiline (when configured) → `next`. One chain per file, because
 * the join state is per (file, stream); flushing the head flushes the whole chain.
 */
export function createLineChain(cfg: FileSourceConfig, next: LineReceiver, deps: { metrics: MetricsRegistry; log: Logger }): LineReceiver {
  let head = next;
  if (cfg.multiline) head = new MultilineJoiner(cfg.multiline, head, deps.metrics, cfg.name);
  if (cfg.type === 'docker' || cfg.type === 'cri') {
    const opts = { maxPartialBytes: cfg.max_partial_bytes, partialTimeout: cfg.partial_line_timeout, metrics: new ContainerMetrics(deps.metrics, cfg.name, cfg.type), log: deps.log };
    head = cfg.type === 'docker' ? new DockerDecoder(head, opts) : new CriDecoder(head, opts);
  }
  return head;
}
