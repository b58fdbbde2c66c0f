/**
 * Timestamps everywhere: the Java/log4j/logback layouts `auto` and `plain` recognise, the
 * `time_format` option of the text parsers, and the fallback count of lines nobody understood.
 * Lines are in the shapes of Loghub's samples (github.com/logpai/loghub: HDFS/HDFS_2k.log,
 * Hadoop/Hadoop_2k.log, Zookeeper/Zookeeper_2k.log, Spark/Spark_2k.log) and of log4j's
 * documented layouts (PatternLayout `%d{ISO8601}` with a comma before the millis, `%d{DATE}` =
 * `dd MMM yyyy HH:mm:ss,SSS`); expected values read off the lines themselves.
 */
import t from 'tap';
import { createParser } from '../../parsers/index.ts';
import { parserOptionIssues, parserOptionsSchema } from '../../src/parse/options.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { compileTimeFormat, TimeFormatError } from '../../src/parse/time-format.ts';
import { TimeZone } from '../../src/parse/time.ts';

function context() {
  const fallbacks: string[] = [];
  const errors: string[] = [];
  const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2026-12-04T12:00:00Z'), runtimeTimestamp: undefined, parseError: (p, r) => errors.push(`${p}:${r}`), parseFallback: (p, r) => fallbacks.push(`${p}:${r}`) };
  return { ctx, fallbacks, errors };
}
const opts = { timezone: 'UTC', client_error_level: 'WARN' as const };

t.test('auto and plain read the Java layouts: time, level, logger, thread', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    // HDFS: %d{yyMMdd HHmmss} %pid %p %c: %m (Loghub column names: Date Time Pid Level Component Content)
    ['081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating',
      { timestamp: '2008-11-09T20:36:15.000Z', level: 'INFO', message: 'PacketResponder 1 for block blk_38865049064139660 terminating', metadata: { pid: 148, logger: 'dfs.DataNode$PacketResponder' } }],
    ['151203 091522 2211 WARN fs.BlockSender: slow read of block blk_-1608999687919862906',
      { timestamp: '2015-12-03T09:15:22.000Z', level: 'WARN', message: 'slow read of block blk_-1608999687919862906', metadata: { pid: 2211, logger: 'fs.BlockSender' } }],
    // Hadoop MapReduce: %d{ISO8601} %p [%t] %c: %m
    ['2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001',
      { timestamp: '2015-10-18T18:01:47.978Z', level: 'INFO', message: 'Created MRAppMaster for application appattempt_1445144423722_0020_000001', metadata: { thread: 'main', logger: 'org.apache.hadoop.mapreduce.v2.app.MRAppMaster' } }],
    // ZooKeeper: %d{ISO8601} - %-5p [%t:%C{1}@%L] - %m (the thread name itself holds brackets)
    ['2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200',
      { timestamp: '2015-07-29T17:41:44.747Z', level: 'INFO', message: 'Notification time out: 3200', metadata: { thread: 'QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181', logger: 'FastLeaderElection@774' } }],
    ['2015-08-10 17:52:39,698 - INFO  [main:QuorumPeer$QuorumServer@149] - Resolved hostname: 10.10.34.13 to address: /10.10.34.13',
      { timestamp: '2015-08-10T17:52:39.698Z', level: 'INFO', message: 'Resolved hostname: 10.10.34.13 to address: /10.10.34.13', metadata: { thread: 'main', logger: 'QuorumPeer$QuorumServer@149' } }],
    // Spark: %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m
    ['17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]',
      { timestamp: '2017-06-09T20:10:40.000Z', level: 'INFO', message: 'Registered signal handlers for [TERM, HUP, INT]', metadata: { logger: 'executor.CoarseGrainedExecutorBackend' } }],
    // ISO 8601 with comma millis; log4j DATE
    ['2024-01-15T10:00:00,123 ERROR [pool-1-thread-3] com.example.Foo - boom', { timestamp: '2024-01-15T10:00:00.123Z', level: 'ERROR', message: 'boom', metadata: { thread: 'pool-1-thread-3', logger: 'com.example.Foo' } }],
    ['15 Jan 2024 10:00:00,123 WARN  [main] com.example.Bar: slow', { timestamp: '2024-01-15T10:00:00.123Z', level: 'WARN', message: 'slow', metadata: { thread: 'main', logger: 'com.example.Bar' } }],
  ];
  for (const name of ['auto', 'plain']) {
    const parse = createParser(name, opts);
    for (const [line, want] of cases) {
      const { ctx, fallbacks, errors } = context();
      const r = parse(line, ctx);
      t.match(r, want, `${name}: ${line.slice(0, 40)}`);
      t.equal(r.metadata?.timestamp_source, undefined, 'its own time, not the read time');
      t.same([fallbacks, errors], [[], []]);
    }
  }
  // shapes that only look alike stay text
  const { ctx } = context();
  for (const line of ['081309 203615 not a date', '17/13/09 20:10:40 INFO x: y', '31 Foo 2024 10:00:00 x']) t.equal(createParser('auto', opts)(line, ctx).metadata?.timestamp_source, 'read_time', line);
});

t.test('a line no parser understood ships as raw text and counts as a fallback, by parser and reason', async (t) => {
  const cases: Array<[string, string, string[], string[]]> = [
    ['auto', 'just some text without a time', ['auto:unrecognized'], []],
    ['plain', 'just some text without a time', ['plain:no_time_or_level'], []],
    ['json', '{"unterminated": ', ['json:malformed'], ['json:malformed']],
    ['syslog', 'not syslog at all', ['syslog:malformed'], ['syslog:malformed']],
    ['auto', '<34>garbage after a PRI', ['syslog:malformed'], ['syslog:malformed']],
    ['auto', 'ERROR: a level is something', [], []],
    ['raw', 'raw is what was asked for', [], []],
  ];
  for (const [parser, line, wantFallbacks, wantErrors] of cases) {
    const { ctx, fallbacks, errors } = context();
    const r = createParser(parser, opts)(line, ctx);
    t.same(fallbacks, wantFallbacks, `${parser}: ${line} fallback`);
    t.same(errors, wantErrors, `${parser}: ${line} errors`);
    if (wantFallbacks.length > 0) t.match(r, { message: line, metadata: { timestamp_source: 'read_time' } });
  }
  const re = createParser('regex', { ...opts, pattern: '^(?<level>[A-Z]+) (?<message>.*)$' });
  const { ctx, fallbacks } = context();
  re('lower case line', ctx);
  t.same(fallbacks, ['regex:no_match']);
});

t.test('time_format: regex groups, json/logfmt fields, plain line starts', async (t) => {
  const { ctx } = context();
  const re = createParser('regex', { ...opts, pattern: '^(?<ts>\\S+ \\S+) (?<level>\\w+) (?<message>.*)$', time_format: 'dd/MM/yyyy HH:mm:ss.SSS' });
  t.match(re('04/12/2026 10:00:01.250 WARN disk slow', ctx), { timestamp: '2026-12-04T10:00:01.250Z', level: 'WARN', message: 'disk slow' });
  const json = createParser('json', { ...opts, time_format: 'yyyyMMdd-HH:mm:ss:SSS' });
  t.match(json('{"time":"20171223-22:15:29:606","msg":"x"}', ctx), { timestamp: '2017-12-23T22:15:29.606Z' });
  t.match(json('{"time":"2024-01-15T10:00:00Z","msg":"y"}', ctx), { timestamp: '2024-01-15T10:00:00.000Z' }, 'a value that does not fit is read as without time_format');
  // HealthApp (Loghub): "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579"
  const plain = createParser('plain', { ...opts, time_format: 'yyyyMMdd-HH:mm:ss:SSS' });
  t.match(plain('20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579', ctx), { timestamp: '2017-12-23T22:15:29.606Z', message: '|Step_LSC|30002312|onStandStepChanged 3579' });
  const berlin = createParser('regex', { pattern: '^(?<ts>[^|]+)\\|(?<message>.*)$', timezone: 'Europe/Berlin', client_error_level: 'WARN', time_format: 'yyyy-MM-dd HH:mm:ss' });
  t.match(berlin('2024-07-01 12:00:00|summer', ctx), { timestamp: '2024-07-01T10:00:00.000Z' }, 'the source zone applies when the layout has none');
  const zoned = createParser('regex', { ...opts, pattern: '^(?<ts>\\S+) (?<message>.*)$', time_format: "yyyy-MM-dd'T'HH:mm:ssXXX" });
  t.match(zoned('2024-07-01T12:00:00+02:00 x', ctx), { timestamp: '2024-07-01T10:00:00.000Z' });
  const epoch = createParser('regex', { ...opts, pattern: '^(?<ts>\\S+) (?<message>.*)$', time_format: 'epoch_ms' });
  t.match(epoch('1705312800123 x', ctx), { timestamp: '2024-01-15T10:00:00.123Z' });
  const yearless = createParser('regex', { ...opts, pattern: '^(?<ts>\\S+ \\S+) (?<message>.*)$', time_format: 'MMM-dd HH:mm:ss' });
  t.match(yearless('Feb-29 10:00:00 leap', ctx), { timestamp: '2024-02-29T10:00:00.000Z' }, 'no year: inferred like syslog, leap days included');
});

t.test('time_format is validated at config time, naming the key', async (t) => {
  const issues = (parser: string, time_format: string) => parserOptionIssues(parser, parserOptionsSchema.parse({ time_format, ...(parser === 'regex' ? { pattern: '(?<message>.*)' } : {}) }));
  t.same(issues('regex', 'dd/MM/yyyy HH:mm:ss'), []);
  t.match(issues('regex', 'dd/MM/yyyy HH:mm:ss Q'), [{ path: ['parser_options', 'time_format'], message: /unknown letter "Q"/ }]);
  t.match(issues('plain', 'HH:mm:ss'), [{ path: ['parser_options', 'time_format'], message: /needs a month and a day/ }]);
  t.match(issues('plain', "yyyy-MM-dd'T"), [{ message: /unclosed quote/ }]);
  t.match(issues('nginx', 'dd/MM/yyyy HH:mm:ss'), [{ message: /used by the plain, auto, json, logfmt and regex parsers/ }]);
  t.throws(() => compileTimeFormat('yyyy yyyy MM dd HH'), TimeFormatError);
  const end = { at: 0 };
  t.equal(compileTimeFormat('yyyy-MM-dd HH:mm:ss').parse('2023-02-29 10:00:00', 0, TimeZone.UTC, Date.now(), end), undefined, 'Feb 29 of a common year is no date');
});
