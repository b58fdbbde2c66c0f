import type { LogEvent } from '../core/record.ts';
import type { Sink } from '../core/sink.ts';
import { fallbackEvent } from '../core/fallback-record.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';
import type { EventRouter } from './processor.ts';

/** Fans every event out to all sinks: one ack reference per sink, then drops the pipeline's own. */
export class FanOutRouter implements EventRouter {
  private sinks: Sink[];
  private readonly faults: RecordFaults | undefined;
  constructor(sinks: Sink[], faults?: RecordFaults) {
    this.sinks = sinks;
    this.faults = faults;
  }
  /** A source read to the end of a backlog: sinks send their open batches now. */
  caughtUp(): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i].flush();
  }

  route(event: LogEvent): void {
    const sinks = this.sinks;
    // the stages are done with the record: its line is compared once, for every sink
    event.verbatim?.seal(event.record);
    event.ack.retain(sinks.length);
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i].write(event);
      } catch (err) {
        this.writeFailed(sinks[i], event, err);
      }
    }
    event.ack.release();
  }

  /**
   * The last line of defence for "one bad record affects that record only": a sink's write threw
   * (an encoder overflowed its stack, say) before taking the ack, which would otherwise unwind
   * into the tailer and stop the file. The sink gets the record's fallback (message kept, the rest
   * rendered boundedly); if even that throws, the record is dropped there, counted and logged.
   */
  private writeFailed(sink: Sink, event: LogEvent, err: unknown): void {
    const reason = err instanceof Error ? err.name : 'exception';
    const where = { kind: 'encode' as const, where: sink.name, reason, file: event.record.source?.file, offset: event.offset };
    try {
      sink.write(fallbackEvent(event, err));
      this.faults?.note({ ...where, outcome: 'shipped_fallback' }, err);
    } catch (again) {
      this.faults?.note({ ...where, outcome: 'dropped' }, again);
      event.ack.release();
    }
  }
}
