import type { Logger } from 'pino';

/**
 * Logs a recurring warning at most once per interval per kind, with how many were suppressed
 * since: a flood of bad input is visible in the log without becoming the log. The counters on
 * /metrics carry the exact numbers.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly log: Logger;
  private readonly intervalMs: number;

  constructor(log: Logger, intervalMs = 10_000) {
    this.log = log;
    this.intervalMs = intervalMs;
  }

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const seen = this.last.get(kind);
    if (seen !== undefined && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.last.set(kind, { at: now, suppressed: 0 });
    this.log.warn(seen !== undefined && seen.suppressed > 0 ? { ...fields, suppressed: seen.suppressed } : fields, message);
  }
}
