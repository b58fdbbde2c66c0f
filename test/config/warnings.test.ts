import t from 'tap';
import { runCli, tempDir, writeConfig } from '../support/daemon.ts';

// Issue 22, item 7: a source label a Loki sink would not send as written is a validate warning with its key path.
t.test('validate warns, with the key path, about source labels a Loki sink drops or renames; none for those it sends', async (t) => {
  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources:
  - { name: a, paths: ["/tmp/a/*.log"], labels: { team: payments, "app.tier": web, __secret: x } }
  - { name: b, paths: ["/tmp/b/*.log"], labels: { l1: "1", l2: "2", l3: "3", l4: "4", l5: "5", l6: "6", l7: "7" } }
sinks:
  - { type: loki, url: "http://127.0.0.1:3100" }
`);
  const r = await runCli(['validate', '--config', cfg], { env: { LOKI_URL: '' } });
  t.equal(r.code, 0, 'warnings do not fail validation');
  const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: '));
  // 8 default labels + team, app_tier, l1..l5 = 15: l6 and l7 are over Loki's limit
  t.match(r.stdout, 'warning: sources[0].labels.app.tier: sent by sinks[0] (loki) as the label "app_tier"');
  t.match(r.stdout, 'warning: sources[0].labels.__secret: dropped by sinks[0] (loki): "__secret" is reserved');
  t.match(r.stdout, 'warning: sources[1].labels.l6: dropped by sinks[0] (loki): it already sends 15 labels');
  t.match(r.stdout, 'warning: sources[1].labels.l7: dropped');
  t.equal(warnings.length, 4, warnings.join('\n'));
  t.notMatch(r.stdout, /labels\.team|labels\.l5/, 'labels it sends are not warned about');
});
