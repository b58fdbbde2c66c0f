import type { LogEvent } from './record.ts';

/**
 * A pipeline stage: synchronous, returns the (possibly modified) event, or null to drop it.
 * A dropped event is counted by the pipeline under the stage's name and its ack released,
 * so its bytes count as handled.
 *
 * A stage may also `emit` extra events (e.g. a brute-force detection record): they run through
 * the stages after the emitting one, then go to the sinks. Their ack is their own (usually
 * NO_ACK: they cover no file bytes).
 */
export interface Stage {
  readonly name: string;
  process(event: LogEvent, emit?: EmitEvent): LogEvent | null;
}

/** Hands an extra event to the stages after the emitting one, then to the sinks. */
export type EmitEvent = (event: LogEvent) => void;
