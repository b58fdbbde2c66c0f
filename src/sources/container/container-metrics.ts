import type { MetricsRegistry } from '../../metrics/registry.ts';

/** Self-metrics of the Docker/CRI decoders of one source. */
export class ContainerMetrics {
  readonly joined;
  readonly truncated;
  readonly partialFlushed;
  readonly decodeErrors;

  constructor(metrics: MetricsRegistry, source: string, format: 'docker' | 'cri') {
    this.joined = metrics.counter('logship_container_lines_joined_total', 'Container log records rejoined from several runtime pieces.', ['source', 'format']).labels(source, format);
    this.truncated = metrics.counter('logship_container_lines_truncated_total', 'Rejoined container records cut at max_partial_bytes.', ['source', 'format']).labels(source, format);
    this.partialFlushed = metrics.counter('logship_container_partial_flushed_total', 'Container records emitted without their final piece (timeout or shutdown).', ['source', 'format']).labels(source, format);
    this.decodeErrors = metrics.counter('logship_container_decode_errors_total', 'Lines that were not valid Docker json-file / CRI lines (shipped as plain text).', ['source', 'format']).labels(source, format);
  }
}
