import pino, { type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** logship's own operational log: JSON lines on stderr (stdout is kept for `--dry-run` and `parse`). */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { name: 'logship' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
