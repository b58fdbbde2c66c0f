import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface IdleWatchOptions {
  /** Runs once: at the end of the first interval in which the event loop was busy less than `maxBusy` of the time. */
  onIdle(): void;
  /** How often the loop's busy share is looked at (and over how long it is measured). */
  intervalMs: number;
  /** Busy share (0–1) at or under which an interval counts as idle. */
  maxBusy: number;
  /**
   * The loop's busy share since the previous call (the first call: since the watch started).
   * Default: perf_hooks' event loop utilization.
   */
  busyShare?: () => number;
}

/**
 * Waits for the process's first idle moment. The daemon gives its start-up garbage back with a
 * full, compacting collection (src/cli.ts); run at a fixed second after the start, that
 * collection landed in the middle of a backlog being read (150 ms of three full collections at
 * 1.7 s, and a young generation shrunk back to 1 MiB that then took twice the scavenges), where
 * it costs most and frees least. Run at the first quiet interval instead, it still comes one
 * second after the start on a host with nothing to catch up on, and after the catch-up otherwise.
 * The timer never keeps the process alive.
 */
export class IdleWatch {
  private readonly o: IdleWatchOptions;
  private readonly busyShare: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(o: IdleWatchOptions) {
    this.o = o;
    this.busyShare = o.busyShare ?? eventLoopBusyShare();
  }

  start(): void {
    if (this.timer !== null) return;
    this.busyShare(); // the first interval counts from now
    this.timer = setInterval(this.check, this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private readonly check = (): void => {
    if (this.busyShare() > this.o.maxBusy) return;
    this.stop();
    this.o.onIdle();
  };
}

/** A reader of the event loop's busy share since its previous call. */
function eventLoopBusyShare(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return share;
  };
}
