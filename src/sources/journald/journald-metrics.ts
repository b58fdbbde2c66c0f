import type { MetricsRegistry } from '../../self-metrics/registry.ts';

/** Self-metrics of one journal source (series of the shared families, bound to its name). */
export class JournaldMetrics {
  readonly entries;
  readonly skipped;
  readonly malformed;
  readonly truncated;
  readonly restarts;
  readonly cursorLost;

  constructor(metrics: MetricsRegistry, source: string) {
    metrics.counter('logship_journald_entries_total', 'Journal entries read, by source.', ['source']);
    this.entries = metrics.count('logship_journald_entries_total', [source]);
    metrics.counter('logship_journald_entries_skipped_total', 'Journal entries skipped by exclude_units.', ['source']);
    this.skipped = metrics.count('logship_journald_entries_skipped_total', [source]);
    this.malformed = metrics.counter('logship_journald_malformed_total', 'Lines from journalctl that were no journal entry (logged, skipped).', ['source']).labels(source);
    this.truncated = metrics.counter('logship_journald_truncated_total', 'MESSAGE fields cut at max_message_bytes.', ['source']).labels(source);
    this.restarts = metrics.counter('logship_journald_restarts_total', 'journalctl child processes that exited or failed to start and were restarted.', ['source']).labels(source);
    this.cursorLost = metrics.counter('logship_journald_cursor_lost_total', 'Resumes whose stored cursor was no longer in the journal (rotated/vacuumed away): reading went on at the nearest entry.', ['source']).labels(source);
  }
}
