import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** How long a write to a full non-blocking stderr waits before trying again. */
const EAGAIN_WAIT_MS = 1;

/**
 * A synchronous stderr destination: each line goes to fd 2 with writeSync before the log call
 * returns (what `pino.destination({ dest: 2, sync: true })` did), without pino's SonicBoom and
 * thread-stream, which the bundle leaves out (scripts/bundle.ts: with them, every start loaded
 * assert and worker_threads for a transport logship never uses). It writes from worker threads
 * too, straight to the fd, as the main thread does. A partial write continues with the rest; a
 * full non-blocking pipe (EAGAIN) is waited on, as SonicBoom did.
 */
function stderrDestination(): { write(line: string): void } {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return {
    write(line: string): void {
      let buf = Buffer.from(line);
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(2, buf));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          Atomics.wait(pause, 0, 0, EAGAIN_WAIT_MS);
        }
      }
    },
  };
}

/** logship's own operational log: JSON lines on stderr (stdout is kept for `--dry-run` and `parse`). */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { name: 'logship' }, timestamp: pino.stdTimeFunctions.isoTime }, stderrDestination());
}
