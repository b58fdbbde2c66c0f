import t from 'tap';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appForUser, DaemonProcess, waitFor, worldReadableDir, writeConfig } from '../../support/daemon.ts';
import { config, emptyAppLog, seqLine, shippedSeqs } from '../cli-support.ts';

// Tests run as root, which chmod 000 does not stop. The daemon runs as `nobody` (uid/gid 65534
// on Debian), so the kernel really refuses it: the same EACCES a shipper without the adm group
// gets on /var/log/syslog.
const NOBODY = { uid: 65534, gid: 65534 };

interface Status {
  sources: Array<{ name: string; files: Array<{ path: string }>; errors: Array<{ path: string; code: string; attempts: number }> }>;
}

t.test('an unreadable file and directory are logged once with path and errno, counted, listed, and a fixed permission starts the file', { skip: process.getuid?.() !== 0 ? 'needs root to run the daemon as another user' : false }, async (t) => {
  const { dir, log, port } = await emptyAppLog();
  const locked = join(dir, 'logs', 'locked');
  mkdirSync(locked);
  writeFileSync(join(locked, 'hidden.log'), seqLine(100));
  writeFileSync(log, seqLine(0) + seqLine(1));
  mkdirSync(join(dir, 'data'));
  // nobody owns the data dir (positions, output) but not the logs
  chownSync(dir, NOBODY.uid, NOBODY.gid);
  chownSync(join(dir, 'data'), NOBODY.uid, NOBODY.gid);
  chmodSync(log, 0o600);
  chmodSync(locked, 0o700);
  const cfg = await writeConfig(dir, config(dir, port, { paths: [`${dir}/logs/**/*.log`, `${dir}/logs/missing.log`], source: ', rescan_interval: 200ms' }));
  chownSync(cfg, NOBODY.uid, NOBODY.gid);
  const app = appForUser(NOBODY, worldReadableDir());
  const d = new DaemonProcess(['run', '--config', cfg], { user: NOBODY, node: app.node, cli: app.cli });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port, '/healthz', 60_000); // a loaded machine (2 cores, 8 helpers) can take long
  const status = async () => (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Status;
  const errs = await waitFor('three file errors on the status page', async () => {
    const e = (await status()).sources[0].errors;
    return e.length === 3 && e.every((x) => x.attempts >= 3) ? e : null; // ≥ 3 rescans: logged once though
  });
  const by = new Map(errs.map((e) => [e.path, e.code]));
  t.equal(by.get(log), 'EACCES', 'the unreadable file');
  t.equal(by.get(locked), 'EACCES', 'the unlistable directory');
  t.equal(by.get(join(dir, 'logs', 'missing.log')), 'ENOENT', 'a literal path that does not exist');
  const lines = d.stderr.split('\n').filter((l) => l.includes('"code":"EACCES"') && l.includes('cannot read'));
  t.equal(lines.filter((l) => l.includes(`"file":"${log}"`)).length, 1, 'the file is logged once, with path and errno');
  t.equal(lines.filter((l) => l.includes(`"file":"${locked}"`)).length, 1, 'the directory is logged once');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /logship_file_errors_total\{source="app",reason="EACCES"\} 2\b/);
  t.match(metrics, /logship_file_errors_total\{source="app",reason="ENOENT"\} 1\b/);
  t.match(metrics, /logship_files_unreadable\{source="app",reason="EACCES"\} 2\b/);
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, 'id="file-errors"', 'the status page lists them');
  t.match(page, `data-path="${log}" data-code="EACCES"`);

  // The operator fixes the permission: the file starts without a restart.
  chmodSync(log, 0o644);
  const out = join(dir, 'data', 'shipped.ndjson');
  await waitFor('the lines of the fixed file', () => shippedSeqs(out).counts.size === 2);
  const after = await waitFor('the error is gone', async () => {
    const s = (await status()).sources[0];
    return s.errors.every((e) => e.path !== log) ? s : null;
  });
  t.ok(after.files.some((f) => f.path === log), 'now tailed');
  t.equal(after.errors.length, 2, 'the others are still listed');
  t.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /logship_files_unreadable\{source="app",reason="EACCES"\} 1\b/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
