/**
 * The `plain` parser's scan of an app line's head (parsers/plain.ts: time, then the tokens around
 * the level, then the message). Lines in the documented default layouts of each logger; expected
 * values read off the layout: Go's `log` (`2009/11/10 23:00:00 message`: all after the time is the
 * message), Python logging's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`, Spring Boot's
 * `%d %5p %pid --- [%t] %c : %m`, Monolog's `[%datetime%] %channel%.%level_name%: %message%`, Ruby
 * Logger's `%c, [%s #%d] %5s -- %s: %s`, logback with an MDC bracket before the thread.
 */
import t from 'tap';
import { createPlainParser } from '../../parsers/plain.ts';
import type { ParseContext } from '../../src/parse/types.ts';

const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2026-12-04T12:00:00Z'), runtimeTimestamp: undefined, parseError: () => {}, parseFallback: () => {} };

t.test('the head scan: level, logger, thread, pid and where the message starts', async (t) => {
  const parse = createPlainParser({ timezone: 'UTC' });
  const cases: Array<[string, Record<string, unknown>]> = [
    // Go log: a level word later in the message is message text, not the level
    ['2024/01/15 10:00:00 worker 3 saw ERROR in reply', { level: 'INFO', message: 'worker 3 saw ERROR in reply' }],
    ['2024-01-15 10:00:00,123 - app.db - ERROR - connection refused', { level: 'ERROR', message: 'connection refused', metadata: { logger: 'app.db' } }],
    ['2024-01-15 10:00:00.123  WARN 4242 --- [           main] o.s.b.StartupInfoLogger : Started', { level: 'WARN', message: 'Started', metadata: { pid: 4242, thread: 'main', logger: 'o.s.b.StartupInfoLogger' } }],
    ['[2024-01-15 10:00:00] production.ERROR: Undefined index: id', { level: 'ERROR', message: 'Undefined index: id', metadata: { channel: 'production' } }],
    ['E, [2024-01-15T10:00:00.123456 #1234] ERROR -- billing: card declined', { level: 'ERROR', message: 'card declined', metadata: { pid: 1234, logger: 'billing' } }],
    // two brackets after the level: the first is context (an MDC value), the second the thread
    ['2024-01-15 10:00:00,123 INFO [req-7f3a] [worker-3] c.e.Jobs - done', { level: 'INFO', message: 'done', metadata: { context: 'req-7f3a', thread: 'worker-3', logger: 'c.e.Jobs' } }],
    // a key=value token is not a logger: the message starts there
    ['2024-01-15 10:00:00,123 INFO user=42 - logged in', { level: 'INFO', message: 'user=42 - logged in' }],
  ];
  for (const [line, want] of cases) {
    const rec = parse(line, ctx);
    t.equal(rec.level, want.level, `level of ${line}`);
    t.equal(rec.message, want.message, `message of ${line}`);
    t.same(rec.metadata ?? {}, want.metadata ?? {}, `metadata of ${line}`);
  }
});
