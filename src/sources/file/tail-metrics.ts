import type { MetricsRegistry } from '../../metrics/registry.ts';

/** Tailing self-metrics of one source (children of the shared families, bound to the source label). */
export class TailMetrics {
  readonly readBytes;
  readonly readLines;
  readonly rotations;
  readonly truncations;
  readonly linesTruncated;

  constructor(metrics: MetricsRegistry, source: string) {
    this.readBytes = metrics.counter('logship_read_bytes_total', 'Bytes read from files.', ['source']).labels(source);
    this.readLines = metrics.counter('logship_read_lines_total', 'Lines read from files.', ['source']).labels(source);
    this.rotations = metrics.counter('logship_rotations_total', 'File rotations (rename or delete) seen.', ['source']).labels(source);
    this.truncations = metrics.counter('logship_truncations_total', 'File truncations (copytruncate) seen.', ['source']).labels(source);
    this.linesTruncated = metrics.counter('logship_lines_truncated_total', 'Lines cut at max_line_bytes.', ['source']).labels(source);
  }
}
