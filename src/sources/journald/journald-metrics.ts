import type { LocalCounter, MetricsRegistry } from '../../self-metrics/registry.ts';

/** Self-metrics of one journal source (series of the shared families, bound to its name). */
export class JournaldMetrics {
  readonly entries: LocalCounter;
  readonly skipped: LocalCounter;
  readonly malformed: LocalCounter;
  readonly truncated: LocalCounter;
  readonly restarts: LocalCounter;
  readonly cursorLost: LocalCounter;

  constructor(metrics: MetricsRegistry, source: string) {
    this.entries = metrics.sourceCount('logship_journald_entries_total', 'Journal entries read, by source.', source);
    this.skipped = metrics.sourceCount('logship_journald_entries_skipped_total', 'Journal entries skipped by exclude_units.', source);
    this.malformed = metrics.sourceCount('logship_journald_malformed_total', 'Lines from journalctl that were no journal entry (logged, skipped).', source);
    this.truncated = metrics.sourceCount('logship_journald_truncated_total', 'MESSAGE fields cut at max_message_bytes.', source);
    this.restarts = metrics.sourceCount('logship_journald_restarts_total', 'journalctl child processes that exited or failed to start and were restarted.', source);
    this.cursorLost = metrics.sourceCount('logship_journald_cursor_lost_total', 'Resumes whose stored cursor was no longer in the journal (rotated/vacuumed away): reading went on at the nearest entry.', source);
  }
}
