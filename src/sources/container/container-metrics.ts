import type { LocalCounter, MetricsRegistry } from '../../self-metrics/registry.ts';

/**
 * Self-metrics of the Docker/CRI decoders of one source. Counted locally (MetricsRegistry.count):
 * a prom-client child's inc() builds and hashes its label object on every line.
 */
export class ContainerMetrics {
  readonly joined: LocalCounter;
  readonly truncated: LocalCounter;
  readonly partialFlushed: LocalCounter;
  readonly decodeErrors: LocalCounter;

  constructor(metrics: MetricsRegistry, source: string, format: 'docker' | 'cri') {
    metrics.counter('logship_container_lines_joined_total', 'Container log records rejoined from several runtime pieces.', ['source', 'format']);
    this.joined = metrics.count('logship_container_lines_joined_total', [source, format]);
    metrics.counter('logship_container_lines_truncated_total', 'Rejoined container records cut at max_partial_bytes.', ['source', 'format']);
    this.truncated = metrics.count('logship_container_lines_truncated_total', [source, format]);
    metrics.counter('logship_container_partial_flushed_total', 'Container records emitted without their final piece (timeout or shutdown).', ['source', 'format']);
    this.partialFlushed = metrics.count('logship_container_partial_flushed_total', [source, format]);
    metrics.counter('logship_container_decode_errors_total', 'Lines that were not valid Docker json-file / CRI lines (shipped as plain text).', ['source', 'format']);
    this.decodeErrors = metrics.count('logship_container_decode_errors_total', [source, format]);
  }
}
