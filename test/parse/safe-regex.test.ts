import t from 'tap';
import { compileUserRegex, caseFold, expandCounts } from '../../src/parse/safe-regex.ts';
import { createParser } from '../../parsers/index.ts';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import type { ParseContext } from '../../src/parse/types.ts';

const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 's', readTime: Date.parse('2024-01-15T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} };

t.test('patterns the linear engine cannot run are refused with the reason', async (t) => {
  for (const p of ['(a)\\1', '(?<x>a)\\k<x>', '(?<x>a){20}']) {
    const r = compileUserRegex(p);
    t.equal(r.ok, false, p);
    if (!r.ok) t.match(r.error, /linear time/);
  }
  const bad = compileUserRegex('(unclosed');
  t.equal(bad.ok, false);
  if (!bad.ok) t.match(bad.error, /invalid regular expression/);
});

t.test('catastrophic patterns that are accepted still finish quickly on hostile input', async (t) => {
  const hostile = 'a'.repeat(30_000) + '!';
  for (const p of ['^(a+)+$', '^(a|a)*$', '^(a|aa)+$', '^(.*a){12}$', '^(?<x>.*) (?<y>.*) (?<z>.*)=$', '(\\w+\\s?)*$']) {
    const r = compileUserRegex(p);
    t.ok(r.ok, p);
    if (!r.ok) continue;
    // CPU time, not wall time: a loaded machine stretches the latter, not the former.
    const start = process.cpuUsage();
    r.regex.exec(p.includes(' ') ? 'a '.repeat(15_000) : hostile);
    const { user, system } = process.cpuUsage(start);
    const ms = (user + system) / 1000;
    t.ok(ms < 2000, `${p} took ${ms.toFixed(0)} ms of CPU`);
  }
  const ci = compileUserRegex('^(A+)+$', 'i');
  t.ok(ci.ok);
  if (ci.ok) {
    const start = process.cpuUsage();
    t.equal(ci.regex.test(hostile), false);
    const { user, system } = process.cpuUsage(start);
    t.ok((user + system) / 1000 < 2000, 'case-insensitive too');
    t.ok(ci.regex.test('aAa'));
  }
});

t.test('case folding and large counts are rewritten, meaning kept', async (t) => {
  t.equal(caseFold('ab[c-e]\\d(?<Na>x)'), '[aA][bB][c-eC-E]\\d(?<Na>[xX])');
  t.equal(expandCounts('[0-9a-f]{32}'), '[0-9a-f]{16}[0-9a-f]{16}');
  t.equal(expandCounts('x{0,20}'), 'x{0,16}x{0,4}');
  const r = compileUserRegex('^(?<trace>[0-9a-f]{32})$');
  t.ok(r.ok && r.regex.test('0123456789abcdef0123456789abcdef'));
  t.ok(r.ok && !r.regex.test('0123456789abcdef0123456789abcde'));
});

t.test('the regex parser: named groups into fields, other groups into metadata, no match counted', async (t) => {
  const errors: string[] = [];
  const p = createParser('regex', { pattern: '^(?<ts>\\S+) \\[(?<lvl>\\w+)\\] (?<worker>[\\w-]+): (?<msg>.*?)(?: took (?<took>\\d+)ms)?$', timezone: 'UTC', client_error_level: 'WARN', fields: { level: 'lvl' } });
  const c = { ...ctx, parseError: (a: string, b: string) => errors.push(`${a}:${b}`) };
  const r = p('2024-01-15T10:00:00Z [ERROR] worker-3: job 7 failed took 1500ms', c);
  t.same(JSON.parse(JSON.stringify(r)), {
    timestamp: '2024-01-15T10:00:00.000Z', level: 'ERROR', service: 's', message: 'job 7 failed', duration: 1.5,
    source: { type: 'file', name: 't' }, metadata: { worker: 'worker-3' },
  });
  const miss = p('something else', c);
  t.equal(miss.message, 'something else');
  t.same(errors, ['regex:no_match']);
  const noMsg = createParser('regex', { pattern: '^(?<ip>\\S+) ', timezone: 'UTC', client_error_level: 'WARN' });
  const r2 = noMsg('10.0.0.1 hello', ctx);
  t.equal(r2.message, '10.0.0.1 hello', 'the whole line without a message group');
  t.equal(r2.ip_address, '10.0.0.1');
});

t.test('config: unsafe or missing patterns fail validation with the key path', async (t) => {
  const cfg = (src: string) => `sources:\n  - ${src}\nsinks: [{type: stdout}]\n`;
  const issues = (text: string) => {
    try {
      parseConfig(text, 'test.yaml');
      return '';
    } catch (e) {
      t.ok(e instanceof ConfigError);
      return (e as Error).message;
    }
  };
  t.match(issues(cfg('{name: a, paths: [/x], parser: regex}')), /sources\[0\]\.parser_options\.pattern: the regex parser needs/);
  t.match(issues(cfg('{name: a, paths: [/x], parser: regex, parser_options: {pattern: "(a)\\\\1"}}')), /sources\[0\]\.parser_options\.pattern: unsafe regular expression/);
  t.match(issues(cfg('{name: a, paths: [/x], parser: json, parser_options: {timezone: Mars/Olympus}}')), /sources\[0\]\.parser_options\.timezone: unknown time zone/);
  t.match(issues(cfg('{name: a, paths: [/x], parser: json, parser_options: {pattern: "x"}}')), /only used by the regex parser/);
  t.match(issues(cfg('{name: a, paths: [/x], parser: json, parser_options: {fields: {nope: x}}}')), /sources\[0\]\.parser_options\.fields/);
  t.equal(issues(cfg('{name: a, paths: [/x], parser: regex, parser_options: {pattern: "^(?<msg>.*)$", timezone: Europe/Berlin, fields: {level: [sev]}}}')), '');
  t.match(issues('sources: [{name: a, paths: [/x]}]\nsinks: [{type: stdout}]\nclassification: {rules: [{name: x, when: {message: {matches: "(a)\\\\1"}}, set: {event_type: security}}]}\n'), /classification\.rules\[0\]\.when\.message\.matches: unsafe/);
  t.match(issues('sources: [{name: a, paths: [/x]}]\nsinks: [{type: stdout}]\nredaction: {extra_patterns: [{name: ssn, pattern: "(\\\\d)\\\\1"}]}\n'), /redaction\.extra_patterns\[0\]\.pattern: unsafe/);
});
