import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journaldSourceSchema } from '../../../src/sources/journald/config.ts';
import { followArgs, journalExists } from '../../../src/sources/journald/journalctl.ts';
import { runCli, tempDir, writeConfig } from '../../support/daemon.ts';

t.test('validate names bad journald keys', async (t) => {
  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources:
  - { name: j, type: journald, directory: /var/log/journal, files: [/x.journal], matches: ["unit=ssh"], start_at: now }
sinks: [{ type: stdout }]
`);
  const r = await runCli(['validate', '--config', cfg]);
  t.equal(r.code, 2);
  t.match(r.stderr, /sources\[0\]\.matches\[0\]: expected FIELD=value/);
  t.match(r.stderr, /sources\[0\]\.start_at/);
  const both = await writeConfig(dir, 'sources: [{ name: j, type: journald, directory: /var/log/journal, files: [/x.journal] }]\nsinks: [{ type: stdout }]\n');
  const r2 = await runCli(['validate', '--config', both]);
  t.equal(r2.code, 2);
  t.match(r2.stderr, /sources\[0\]\.files: give either directory or files, not both/);
  const ok = await writeConfig(dir, 'sources: [{ name: j, type: journald, enabled: auto, units: [ssh.service], matches: [_TRANSPORT=kernel, "+", PRIORITY=3] }]\nsinks: [{ type: stdout }]\n');
  t.equal((await runCli(['validate', '--config', ok])).code, 0);
});

t.test('enabled: auto looks for journal files where journald puts them', async (t) => {
  const dir = tempDir();
  const base = { name: 'j', type: 'journald' };
  t.notOk(journalExists(journaldSourceSchema.parse({ ...base, directory: dir })), 'an empty directory (the systemd package creates /var/log/journal empty) is no journal');
  mkdirSync(join(dir, 'machine-id'));
  writeFileSync(join(dir, 'machine-id', 'system.journal'), '');
  t.ok(journalExists(journaldSourceSchema.parse({ ...base, directory: dir })), 'one machine-id level deep, as journald lays them out');
  t.ok(journalExists(journaldSourceSchema.parse({ ...base, files: [join(dir, 'machine-id', '*.journal')] })), 'a files glob that matches');
  t.notOk(journalExists(journaldSourceSchema.parse({ ...base, files: [join(dir, 'none', '*.journal')] })));
});

t.test('journalctl arguments: --no-tail always, --after-cursor to resume, --cursor when the entry is gone', async (t) => {
  const cfg = journaldSourceSchema.parse({ name: 'j', type: 'journald', directory: '/d', units: ['a.service'], matches: ['PRIORITY=3'] });
  const args = followArgs(cfg, { cursor: 's=1;i=2', entryGone: false });
  t.ok(args.includes('--no-tail') && args.includes('--follow') && args.includes('--all'));
  t.ok(args.includes('--after-cursor=s=1;i=2'));
  t.same(args.slice(-2), ['--unit=a.service', 'PRIORITY=3'], 'matches last: positional');
  t.ok(followArgs(cfg, { cursor: 's=1;i=2', entryGone: true }).includes('--cursor=s=1;i=2'));
  t.notOk(followArgs(cfg, { cursor: undefined, entryGone: false }).some((a) => a.includes('cursor')));
});
