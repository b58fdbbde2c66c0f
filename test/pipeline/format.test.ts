import t from 'tap';
import { FormatStage, formatStageSchema } from '../../src/pipeline/format.ts';
import { rawEvent } from './stage-helpers.ts';

const stage = (cfg: unknown) => new FormatStage(formatStageSchema.parse(cfg));

t.test('interpolates fields, cases and trims the result, writes metadata or the message', async (t) => {
  const e = rawEvent('line');
  e.record.metadata = { app: 'api', env: 'prod', lvl: ' warn ' };
  stage({ type: 'format', into: 'metadata.where', text: '{metadata.app}@{metadata.env} ({source.file}){metadata.none}' }).process(e);
  t.equal(e.record.metadata.where, 'api@prod (/var/log/app.log)', 'a missing field is empty');
  stage({ type: 'format', into: 'metadata.lvl', text: '{metadata.lvl}', case: 'upper', trim: true }).process(e);
  t.equal(e.record.metadata.lvl, 'WARN');
  stage({ type: 'format', into: 'message', text: '[{metadata.lvl}] {message}' }).process(e);
  t.equal(e.record.message, '[WARN] line');
  t.match(formatStageSchema.safeParse({ type: 'format', into: 'level', text: 'x' }).error?.issues[0].message, /message or metadata/);
});
