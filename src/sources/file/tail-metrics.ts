import type { MetricsRegistry } from '../../self-metrics/registry.ts';

/**
 * Tailing self-metrics of one source (series of the shared families, bound to the source label);
 * the per-chunk and per-line ones are counted locally and published at scrape time.
 */
export class TailMetrics {
  readonly readBytes;
  readonly readLines;
  readonly rotations;
  readonly truncations;
  readonly linesTruncated;

  constructor(metrics: MetricsRegistry, source: string) {
    metrics.counter('logship_read_bytes_total', 'Bytes read from files.', ['source']);
    metrics.counter('logship_read_lines_total', 'Lines read from files.', ['source']);
    metrics.counter('logship_lines_truncated_total', 'Lines cut at max_line_bytes.', ['source']);
    this.readBytes = metrics.count('logship_read_bytes_total', [source]);
    this.readLines = metrics.count('logship_read_lines_total', [source]);
    this.linesTruncated = metrics.count('logship_lines_truncated_total', [source]);
    this.rotations = metrics.counter('logship_rotations_total', 'File rotations (rename or delete) seen.', ['source']).labels(source);
    this.truncations = metrics.counter('logship_truncations_total', 'File truncations (copytruncate) seen.', ['source']).labels(source);
  }
}
