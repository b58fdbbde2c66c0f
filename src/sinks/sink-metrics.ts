import type { MetricsRegistry } from '../self-metrics/registry.ts';

/** The self-metrics every sink reports, one family each, labelled by sink name. */
export class SinkMetrics {
  readonly sent;
  readonly sentBytes;
  readonly sentBytesCompressed;
  readonly dropped;
  readonly retries;
  readonly duration;
  readonly inflight;
  readonly batchEntries;
  readonly lastSuccess;
  readonly streamsActive;

  constructor(metrics: MetricsRegistry) {
    this.sent = metrics.counter('logship_sink_sent_entries_total', 'Entries accepted by the destination.', ['sink']);
    this.sentBytes = metrics.counter('logship_sink_sent_bytes_total', 'Uncompressed request body bytes accepted by the destination.', ['sink']);
    this.sentBytesCompressed = metrics.counter('logship_sink_sent_compressed_bytes_total', 'Request body bytes on the wire (after compression) accepted by the destination.', ['sink']);
    this.dropped = metrics.counter('logship_sink_dropped_entries_total', 'Entries the destination rejected for good or logship dropped before sending, by reason.', ['sink', 'reason']);
    this.retries = metrics.counter('logship_sink_retries_total', 'Requests retried, by the status that caused the retry (or "network").', ['sink', 'status']);
    this.duration = metrics.histogram('logship_sink_request_duration_seconds', 'Duration of requests to the destination.', ['sink', 'status_code'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.inflight = metrics.gauge('logship_sink_inflight_requests', 'Requests in flight to the destination.', ['sink']);
    this.batchEntries = metrics.histogram('logship_sink_batch_entries', 'Entries per request.', ['sink'], [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 50000]);
    this.lastSuccess = metrics.gauge('logship_sink_last_success_timestamp_seconds', 'Unix time of the last accepted request.', ['sink']);
    this.streamsActive = metrics.gauge('logship_streams_active', 'Distinct streams (label sets) a sink sent to recently (Loki).', ['sink']);
  }
}
