import type { LogEvent } from '../record.ts';

/**
 * A pipeline stage: synchronous, returns the (possibly modified) event, or null to drop it.
 * A dropped event is counted by the pipeline under the stage's name and its ack released,
 * so its bytes count as handled.
 */
export interface Stage {
  readonly name: string;
  process(event: LogEvent): LogEvent | null;
}
