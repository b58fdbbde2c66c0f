import t from 'tap';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { parseSelector, selectorMatches } from '../../src/pipeline/match.ts';
import { createStage, stageSchema } from '../../src/pipeline/registry.ts';
import { createLogger } from '../../src/core/log.ts';
import { rawEvent } from './stage-helpers.ts';

const ctx = () => ({ log: createLogger('silent'), metrics: new MetricsRegistry({ defaultMetrics: false }) });

t.test('selectors: label matchers (regexes anchored, unset = empty) and line filters', async (t) => {
  const e = rawEvent('GET /healthz 200', { app: 'web', env: 'prod' });
  const yes = ['{app="web"}', '{app="web", env=~"prod|stage"}', '{app!="api"}', '{env!~"st.*"}', '{missing=""}', '{app="web"} |= "healthz"', '{app="web"} |~ "GET /(healthz|ready)" != "500"'];
  const no = ['{app="api"}', '{env=~"pro"}', '{app="web"} |= "metrics"', '{app="web"} !~ "health"', '{missing=~".+"}'];
  for (const s of yes) t.ok(selectorMatches(parseSelector(s), e), s);
  for (const s of no) t.notOk(selectorMatches(parseSelector(s), e), s);
  t.throws(() => parseSelector('app="web"'), /expected "\{"/);
  t.throws(() => parseSelector('{app=web}'), /expected a quoted string/);
  t.throws(() => parseSelector('{app="web"} | json'), /expected a line filter/);
});

t.test('match stage: per source and per selector, nested stages, drop action', async (t) => {
  const cfg = stageSchema.parse({
    type: 'match', sources: ['app'], stages: [
      { type: 'extract', format: 'logfmt' },
      { type: 'labels', from: { level: 'metadata.level' } },
      { type: 'match', selector: '{level="debug"}', action: 'drop' },
      { type: 'match', selector: '{level="error"}', stages: [{ type: 'labels', values: { page: 'yes' } }] },
    ],
  });
  const s = createStage(cfg, ctx());
  t.equal(s.process(rawEvent('level=debug x=1')), null, 'dropped by the nested drop');
  const err = s.process(rawEvent('level=error x=1'))!;
  t.same({ ...err.labels }, { job: 'app', level: 'error', page: 'yes' });
  const other = s.process(rawEvent('level=error', {}, 'other'))!;
  t.same({ ...other.labels }, { job: 'other' }, 'another source is left alone');
  t.match(stageSchema.safeParse({ type: 'match', stages: [{ type: 'labels', values: { a: 'b' } }] }).error?.issues[0].message, /needs sources or selector/);
  t.match(stageSchema.safeParse({ type: 'match', selector: '{a="b"}', stages: [{ type: 'bogus' }] }).error?.issues[0].path, ['stages', 0, 'type']);
  t.match(stageSchema.safeParse({ type: 'match', selector: '{a=b}', action: 'drop' }).error?.issues[0].message, /selector "\{a=b\}": expected a quoted string/);
});

t.test('labels stage drop / keep: removed labels are empty, not filled from the record', async (t) => {
  const drop = createStage(stageSchema.parse({ type: 'labels', drop: ['filename'] }), ctx());
  t.same({ ...drop.process(rawEvent('x', { filename: '/a.log', env: 'p' }))!.labels }, { job: 'app', filename: '', env: 'p' });
  const keep = createStage(stageSchema.parse({ type: 'labels', keep: ['job'] }), ctx());
  t.same({ ...keep.process(rawEvent('x', { filename: '/a.log', env: 'p' }))!.labels }, { job: 'app', filename: '', env: '' });
});

t.test('message stage replaces the message with a field (Promtail output)', async (t) => {
  const s = createStage(stageSchema.parse({ type: 'message', from: 'metadata.msg' }), ctx());
  const e = rawEvent('ts=1 msg=hello');
  e.record.metadata!.msg = 'hello';
  t.equal(s.process(e)!.record.message, 'hello');
  t.equal(s.process(rawEvent('kept'))!.record.message, 'kept', 'a missing field changes nothing');
});
