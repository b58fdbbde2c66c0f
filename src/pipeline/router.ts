import type { LogEvent } from '../record.ts';
import type { Sink } from '../sinks/sink.ts';
import type { EventRouter } from './processor.ts';

/** Fans every event out to all sinks: one ack reference per sink, then drops the pipeline's own. */
export class FanOutRouter implements EventRouter {
  private sinks: Sink[];
  constructor(sinks: Sink[]) {
    this.sinks = sinks;
  }
  /** A source read to the end of a backlog: sinks send their open batches now. */
  caughtUp(): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i].flush();
  }

  route(event: LogEvent): void {
    const sinks = this.sinks;
    event.ack.retain(sinks.length);
    for (let i = 0; i < sinks.length; i++) sinks[i].write(event);
    event.ack.release();
  }
}
