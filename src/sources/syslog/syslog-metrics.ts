import type { MetricsRegistry } from '../../self-metrics/registry.ts';

/**
 * Self-metrics of one syslog receiver (series of the shared families, bound to its name). The
 * counts are local series (MetricsRegistry.count): /api/status reads their totals.
 */
export class SyslogMetrics {
  readonly udpMessages;
  readonly tcpMessages;
  readonly droppedOverload;
  readonly droppedTooLarge;
  readonly truncated;
  readonly refusedMaxConnections;
  readonly refusedTls;
  readonly connectionErrors;
  readonly connections;

  constructor(metrics: MetricsRegistry, source: string) {
    metrics.counter('logship_syslog_messages_total', 'Syslog messages received, by source and transport (udp, tcp).', ['source', 'transport']);
    this.udpMessages = metrics.count('logship_syslog_messages_total', [source, 'udp']);
    this.tcpMessages = metrics.count('logship_syslog_messages_total', [source, 'tcp']);
    metrics.counter('logship_syslog_dropped_total', 'Syslog messages dropped: overload (a UDP datagram while the buffer budget was spent), too_large (an octet-counted frame over max_message_bytes).', ['source', 'reason']);
    this.droppedOverload = metrics.count('logship_syslog_dropped_total', [source, 'overload']);
    this.droppedTooLarge = metrics.count('logship_syslog_dropped_total', [source, 'too_large']);
    this.truncated = metrics.sourceCount('logship_syslog_truncated_total', 'Syslog messages cut at max_message_bytes.', source);
    metrics.counter('logship_syslog_connections_refused_total', 'TCP connections refused (max_connections) or failed (tls: handshake error).', ['source', 'reason']);
    this.refusedMaxConnections = metrics.count('logship_syslog_connections_refused_total', [source, 'max_connections']);
    this.refusedTls = metrics.count('logship_syslog_connections_refused_total', [source, 'tls']);
    this.connectionErrors = metrics.counter('logship_syslog_connection_errors_total', 'TCP connections that ended with a socket error (reset, ...).', ['source']).labels(source);
    this.connections = metrics.gauge('logship_syslog_connections', 'Open TCP connections of each syslog source.', ['source']).labels(source);
  }
}
