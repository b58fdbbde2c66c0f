import type { LogEvent } from '../../src/core/record.ts';
import { NO_ACK } from '../../src/core/record.ts';

/** An event for a raw line as a file source hands it over (parser raw: the line is the message); its labels are its own, as the processor gives them. */
export function rawEvent(message: string, labels: Record<string, string> = {}, source = 'app'): LogEvent {
  return {
    record: { timestamp: '2024-01-15T12:00:00.000Z', level: 'INFO', service: source, message, source: { type: 'file', name: source, file: `/var/log/${source}.log` }, metadata: { timestamp_source: 'read_time' } },
    labels: { job: source, ...labels },
    ack: NO_ACK,
    size: message.length,
  };
}
