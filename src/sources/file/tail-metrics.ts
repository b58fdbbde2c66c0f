import type { LocalCounter, MetricsRegistry } from '../../self-metrics/registry.ts';

/**
 * Tailing self-metrics of one source (series of the shared families, bound to the source label);
 * the per-chunk and per-line ones are counted locally and published at scrape time.
 */
export class TailMetrics {
  readonly readBytes: LocalCounter;
  readonly readLines: LocalCounter;
  readonly rotations: LocalCounter;
  readonly truncations: LocalCounter;
  readonly linesTruncated: LocalCounter;

  constructor(metrics: MetricsRegistry, source: string) {
    this.readBytes = metrics.sourceCount('logship_read_bytes_total', 'Bytes read from files.', source);
    this.readLines = metrics.sourceCount('logship_read_lines_total', 'Lines read from files.', source);
    this.linesTruncated = metrics.sourceCount('logship_lines_truncated_total', 'Lines cut at max_line_bytes.', source);
    this.rotations = metrics.sourceCount('logship_rotations_total', 'File rotations (rename or delete) seen.', source);
    this.truncations = metrics.sourceCount('logship_truncations_total', 'File truncations (copytruncate) seen.', source);
  }
}
