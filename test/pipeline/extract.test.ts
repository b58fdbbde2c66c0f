import t from 'tap';
import { ExtractStage, extractStageSchema, parseJsonPath } from '../../src/pipeline/extract.ts';
import { rawEvent } from './stage-helpers.ts';

const stage = (cfg: unknown) => new ExtractStage(extractStageSchema.parse(cfg));

t.test('json: field paths into metadata, the message untouched (Promtail json stage)', async (t) => {
  const line = '{"level":"info","ts":"2024-01-15T10:00:00Z","attrs":{"tag":"nginx|web|sha|id"},"tags":["a","b"],"n":3,"obj":{"x":1},"dotted.key":"d"}';
  const e = stage({ type: 'extract', format: 'json', fields: { level: null, tag: 'attrs.tag', first: 'tags[0]', n: '', obj: 'obj', d: '"dotted.key"', missing: 'nope.no' } }).process(rawEvent(line));
  t.equal(e.record.message, line);
  t.same(e.record.metadata, { timestamp_source: 'read_time', level: 'info', tag: 'nginx|web|sha|id', first: 'a', n: 3, obj: '{"x":1}', d: 'd' });
  const bad = stage({ type: 'extract', format: 'json', fields: { level: null } }).process(rawEvent('not json {'));
  t.same(bad.record.metadata, { timestamp_source: 'read_time' }, 'a line that is not JSON adds nothing');
});

t.test('json from another field (Promtail json source)', async (t) => {
  const e = rawEvent('x');
  e.record.metadata = { inner: '{"a":{"b":"c"}}' };
  stage({ type: 'extract', format: 'json', from: 'metadata.inner', fields: { b: 'a.b' } }).process(e);
  t.equal(e.record.metadata.b, 'c');
});

t.test('logfmt: mapped keys, or every key without fields', async (t) => {
  const line = 'ts=2024-01-15T10:00:00Z lvl=warn msg="disk almost full" traceID=abc';
  const e = stage({ type: 'extract', format: 'logfmt', fields: { lvl: 'lvl', trace_id: 'traceID', msg: null } }).process(rawEvent(line));
  t.same(e.record.metadata, { timestamp_source: 'read_time', lvl: 'warn', trace_id: 'abc', msg: 'disk almost full' });
  const all = stage({ type: 'extract', format: 'logfmt' }).process(rawEvent('a=1 b="two"'));
  t.same(all.record.metadata, { timestamp_source: 'read_time', a: '1', b: 'two' });
});

t.test('regex: named groups; no match adds nothing', async (t) => {
  const s = stage({ type: 'extract', format: 'regex', pattern: '^(?<ip>\\S+) - (?<user>\\S+) \\[(?<time>[^\\]]+)\\](?: (?<opt>x))?' });
  const e = s.process(rawEvent('10.0.0.1 - bob [15/Jan/2024:10:00:00 +0000] "GET / HTTP/1.1"'));
  t.same(e.record.metadata, { timestamp_source: 'read_time', ip: '10.0.0.1', user: 'bob', time: '15/Jan/2024:10:00:00 +0000' }, 'an unmatched optional group adds nothing');
  t.same(s.process(rawEvent('garbage')).record.metadata, { timestamp_source: 'read_time' });
});

t.test('config errors name the problem', async (t) => {
  const issues = (cfg: unknown) => extractStageSchema.safeParse(cfg).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  t.match(issues({ type: 'extract', format: 'regex' }), ['pattern: format regex needs pattern']);
  t.match(issues({ type: 'extract', format: 'regex', pattern: '(a)\\1' }), [/pattern: .*linear time/]);
  t.match(issues({ type: 'extract', format: 'regex', pattern: 'abc' }), [/named group/]);
  t.match(issues({ type: 'extract', format: 'json', fields: { a: 'length(x)' } }), [/fields.a: expected a field path/]);
  t.match(issues({ type: 'extract', format: 'json' }), [/fields: format json needs fields/]);
});

t.test('parseJsonPath', async (t) => {
  t.same(parseJsonPath('a.b'), ['a', 'b']);
  t.same(parseJsonPath('a[2].b'), ['a', 2, 'b']);
  t.same(parseJsonPath('"x.y".z'), ['x.y', 'z']);
  t.equal(parseJsonPath('a..b'), undefined);
  t.equal(parseJsonPath('length(a)'), undefined);
  t.equal(parseJsonPath('a[*]'), undefined);
});
