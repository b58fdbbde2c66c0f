import type { LogEvent } from './record.ts';

export type SinkState =
  /** Sending normally (or nothing to send yet). */
  | 'ok'
  /** Transient failures, retrying with backoff. */
  | 'retrying'
  /** Rejected our credentials (401/403): needs an operator. */
  | 'auth_error';

export interface SinkStatus {
  name: string;
  type: string;
  state: SinkState;
  /** Epoch ms of the last accepted request, null before the first. */
  lastSuccess: number | null;
  lastError: string | null;
  /** Epoch ms since when the sink has been failing, null when healthy. */
  failingSince: number | null;
  retries: number;
  /** Events accepted by write() and not yet final. */
  queued: number;
  inflight: number;
  sent: number;
  dropped: number;
}

/**
 * A destination. `write` takes ownership of one reference of the event's ack and must release
 * it exactly once, when the event reached a final state there: delivered, a duplicate of
 * something already delivered, or rejected for good (counted, logged, dead-lettered). Never
 * before. Until then the bytes stay charged to the global budget, which is what pauses the
 * tailers when a sink falls behind.
 */
export interface Sink {
  readonly name: string;
  readonly type: string;
  start(): Promise<void>;
  write(event: LogEvent): void;
  /**
   * Closes the open batch now rather than at its max_wait: a source just caught up with a
   * backlog, so no more lines are coming right away and waiting would only delay them.
   */
  flush(): void;
  /** Flush what is queued and wait until it is final or `deadline` (epoch ms) passes; then close. */
  stop(deadline: number): Promise<void>;
  status(): SinkStatus;
}
