/**
 * A place lines come from (files, container logs, a syslog socket). A source hands its lines to
 * a LineReceiver chain (core/line.ts), charges what it holds to the ByteBudget (core/budget.ts)
 * and pauses while the budget is spent; it commits a position only when every sink acknowledged
 * what precedes it (the Ack of core/record.ts).
 */
export interface Source {
  /** The configured source name. */
  readonly name: string;
  start(): Promise<void>;
  /** Stops reading; until `deadline` (epoch ms, 0 = now) it first reads what is already there. */
  stop(deadline: number): Promise<void>;
}
