import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, graceForLateEvents, readNdjson, runCli, tempDir, waitFor, writeConfig, type ShippedRecord } from '../../support/daemon.ts';
import type { DaemonStatus, JournaldStatus } from '../../../src/core/status.ts';
import { exitUnlessJournalTools, seqEntries, writeJournal } from './support.ts';

// Journal files written by the real systemd-journal-remote from export-format input, read by
// the real daemon through the real journalctl.
exitUnlessJournalTools();

type Shipped = ShippedRecord<Record<string, unknown> & { journal?: Record<string, unknown> }>;

function config(dir: string, port: number, sources: string | string[], budget = '16MiB'): string {
  return `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
memory: { max_buffer_bytes: ${budget} }
sources:
  - ${[sources].flat().join('\n  - ')}
sinks:
  - { type: file, path: "${dir}/data/shipped.ndjson", fsync: false }
`;
}

/** entry numbers of shipped records, with how often each was shipped. */
function shippedEntries(path: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of readNdjson<Shipped>(path)) {
    const m = /^entry (\d+) /.exec(r.message);
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

/** The committed cursor's seqnum: one writer, one file, so entry N has seqnum N + 1. */
function committedEntries(dir: string): number {
  const pos = JSON.parse(readFileSync(join(dir, 'data', 'positions.json'), 'utf8')) as { files: Record<string, { cursor?: string }> };
  const c = Object.values(pos.files)[0]?.cursor;
  return c === undefined ? 0 : parseInt(/;i=([0-9a-f]+)/.exec(c)![1], 16);
}

/** The journald part of each source on /api/status, by source name. */
async function journaldStatus(port: number): Promise<Record<string, JournaldStatus | undefined>> {
  const st = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as DaemonStatus;
  return Object.fromEntries(st.sources.map((s) => [s.name, s.journald]));
}

async function metric(port: number, re: RegExp): Promise<number> {
  const m = re.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

t.test('journal fields map into records; sshd entries drive the security metrics; parse maps the same', async (t) => {
  const dir = tempDir();
  const jdir = join(dir, 'journal');
  mkdirSync(jdir);
  const port = await freePort();
  const base = 1_767_225_600_000_000;
  const ssh = { PRIORITY: '4', SYSLOG_IDENTIFIER: 'sshd', SYSLOG_FACILITY: '10', _SYSTEMD_UNIT: 'ssh.service', _HOSTNAME: 'bastion', _PID: '812', _TRANSPORT: 'syslog', _COMM: 'sshd' };
  await writeJournal(join(jdir, 'system.journal'), [
    { message: 'Failed password for invalid user admin from 203.0.113.7 port 5555 ssh2', realtime: base + 1, fields: ssh },
    { message: 'Failed password for root from 203.0.113.7 port 5556 ssh2', realtime: base + 2, fields: ssh },
    { message: '{"level":"error","msg":"payment failed","order":17}', realtime: base + 3, fields: { PRIORITY: '6', _SYSTEMD_UNIT: 'shop.service', _COMM: 'node', _TRANSPORT: 'stdout' } },
    { message: 'chatter', realtime: base + 4, fields: { _SYSTEMD_UNIT: 'noisy.service' } },
    { message: Buffer.concat([Buffer.from('raw '), Buffer.from([0xff, 0x00]), Buffer.from(' tail')]), realtime: base + 5, fields: { PRIORITY: '2', SYSLOG_IDENTIFIER: 'kernel', _TRANSPORT: 'kernel' } },
  ]);
  const source = `{ name: journal, type: journald, directory: "${jdir}", start_at: beginning, exclude_units: [noisy.service] }`;
  const cfg = await writeConfig(dir, config(dir, port, source));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const out = join(dir, 'data', 'shipped.ndjson');
  const recs = await waitFor('4 records', () => {
    const r = readNdjson<Shipped>(out);
    return r.length >= 4 ? r : null;
  });
  t.equal(recs.length, 4, 'the excluded unit is skipped');
  t.match(recs[0], {
    timestamp: '2026-01-01T00:00:00.000001Z', level: 'WARN', service: 'sshd', event_type: 'security', action: 'failed_login',
    source: { type: 'journald', name: 'journal', host: 'bastion' },
    metadata: { journal: { unit: 'ssh.service', pid: 812, boot_id: '0123456789abcdef0123456789abcdef', transport: 'syslog', facility: 10, comm: 'sshd' } },
  });
  t.match(recs[1], { action: 'failed_login', ip_address: '203.0.113.7' });
  t.match(recs[2], { level: 'ERROR', service: 'shop', message: 'payment failed', metadata: { order: 17, journal: { unit: 'shop.service' } } }, 'a JSON message keeps its own level and fields; the unit names the service');
  t.match(recs[3], { level: 'FATAL', service: 'kernel', message: 'raw \\xff\u0000 tail' }, 'binary MESSAGE: invalid bytes escaped');
  t.equal(await metric(port, /^auth_failures_total\{service="sshd"\} (\d+)/m), 2, 'auth_failures_total{service="sshd"}');
  t.equal(await metric(port, /^logship_journald_entries_skipped_total\{source="journal"\} (\d+)/m), 1);
  // /api/status: 5 entries read (one skipped), all 5 final once the sink acknowledged; the cursor is the last one's.
  const st = await waitFor('all 5 entries acknowledged', async () => {
    const j = (await journaldStatus(port)).journal;
    return j?.entriesAcked === 5 ? j : null;
  });
  t.match(st, { state: 'running', reason: null, restartAt: null, journal: [jdir], entriesRead: 5, entriesAcked: 5, entriesSkipped: 1, restarts: 0, committedCursor: /;i=5;/ }, 'the journal source on /api/status');
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, /<tr data-source="journal" data-state="running" data-read="5" data-acked="5" data-restarts="0" data-cursor="[^"]*;i=5;[^"]*">/, 'the status page lists the journal source');
  t.equal((await d.kill('SIGTERM')).code, 0);

  // `logship parse` with the same source maps journalctl's JSON output the same way.
  const json = execFileSync('journalctl', [`--directory=${jdir}`, '-o', 'json', '--all', '--no-pager'], { encoding: 'utf8' });
  const parsed = await runCli(['parse', '--config', cfg, '--source', 'journal'], { input: json });
  t.equal(parsed.code, 0, parsed.stderr);
  const lines = parsed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Shipped);
  t.same(lines.filter((l) => l.message !== 'chatter'), recs, 'parse prints what the daemon shipped');
});

t.test('kill -9 during a journal ingest: nothing lost, duplicates only from the unacknowledged window', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'app.journal');
  const port = await freePort();
  const cfg = await writeConfig(dir, config(dir, port, `{ name: journal, type: journald, files: ["${file}"], start_at: beginning }`, '256KiB'));
  const out = join(dir, 'data', 'shipped.ndjson');
  const batch = 5000;
  const batches = 10;
  await writeJournal(file, seqEntries(0, batch));
  let d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const windows: number[] = [];
  for (let b = 1; b < batches; b++) {
    const before = existsSync(out) ? statSync(out).size : 0;
    await writeJournal(file, seqEntries(b * batch, batch));
    if (b % 3 === 2) {
      // Kill as soon as the batch starts arriving in the sink: mid-stream.
      await waitFor('the batch arriving', () => existsSync(out) && statSync(out).size > before, 20_000, 5);
      await d.kill('SIGKILL');
      let upTo = 0;
      for (const k of shippedEntries(out).keys()) upTo = Math.max(upTo, k + 1);
      const committed = committedEntries(dir);
      windows.push(upTo - committed);
      t.comment(`kill after batch ${b}: shipped up to ${upTo}, committed ${committed}`);
      d = new DaemonProcess(['run', '--config', cfg]);
      await d.waitHttp(port);
    }
  }
  const total = batch * batches;
  await waitFor('every entry shipped', () => shippedEntries(out).size >= total, 60_000, 200);
  await graceForLateEvents(500); // duplicates would show up
  const counts = shippedEntries(out);
  const lost = Array.from({ length: total }, (_, k) => k).filter((k) => !counts.has(k));
  t.same(lost.slice(0, 10), [], `missing ${lost.length}`);
  const duplicates = [...counts.values()].reduce((a, n) => a + n - 1, 0);
  const windowSum = windows.reduce((a, b) => a + b, 0);
  t.ok(duplicates <= windowSum, `every duplicate lies in a kill window: ${duplicates} ≤ ${windowSum} (windows ${windows.join(', ')})`);
  // The window: entries shipped but not committed when killed: the unacknowledged ones (at most
  // the 256 KiB budget at ≥ 300 B each) and those acknowledged since the last positions write.
  t.ok(windows.every((w) => w <= 256 * 1024 / 300 + batch), `each window within the budget plus one batch (${windows.join(', ')})`);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('a killed journalctl is restarted (counted) after the last entry read; a vacuumed cursor is detected', async (t) => {
  const dir = tempDir();
  const jdir = join(dir, 'journal');
  mkdirSync(jdir);
  const port = await freePort();
  const cfg = await writeConfig(dir, config(dir, port, `{ name: journal, type: journald, directory: "${jdir}", start_at: beginning, restart_delay: 100ms }`));
  const out = join(dir, 'data', 'shipped.ndjson');
  await writeJournal(join(jdir, 'a.journal'), seqEntries(0, 500));
  let d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  await waitFor('first 500', () => shippedEntries(out).size >= 500);
  const child = spawnSync('pgrep', ['-P', String(d.child.pid), 'journalctl'], { encoding: 'utf8' }).stdout.trim();
  t.match(child, /^\d+$/, 'journalctl runs as the daemon\'s child');
  process.kill(Number(child), 'SIGKILL');
  await waitFor('restart counted', async () => (await metric(port, /^logship_journald_restarts_total\{source="journal"\} (\d+)/m)) === 1);
  const restarted = await waitFor('running again', async () => {
    const j = (await journaldStatus(port)).journal;
    return j?.state === 'running' ? j : null;
  });
  t.match(restarted, { restarts: 1, reason: null, entriesRead: 500 }, '/api/status counts the restart');
  await writeJournal(join(jdir, 'a.journal'), seqEntries(500, 500));
  await waitFor('next 500', () => shippedEntries(out).size >= 1000);
  await graceForLateEvents(300); // duplicates would show up
  t.ok([...shippedEntries(out).values()].every((n) => n === 1), 'the restarted child continued after the last entry read: no duplicates');
  t.equal((await d.kill('SIGTERM')).code, 0);

  // Vacuum while stopped: the file holding the stored cursor is gone, a new one (another
  // seqnum id, later entries) is there.
  rmSync(join(jdir, 'a.journal'));
  await writeJournal(join(jdir, 'b.journal'), seqEntries(1000, 100));
  d = new DaemonProcess(['run', '--config', cfg]);
  await d.waitHttp(port);
  await waitFor('the new file read', () => shippedEntries(out).size >= 1100);
  await graceForLateEvents(300); // duplicates would show up
  t.ok([...shippedEntries(out).values()].every((n) => n === 1), 'all of the new file, its first entry included, once');
  t.equal(await metric(port, /^logship_journald_cursor_lost_total\{source="journal"\} (\d+)/m), 1, 'logship_journald_cursor_lost_total');
  t.match(d.stdout + d.stderr, /stored journal cursor is no longer in the journal/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('/api/status says why a journal source is not running: left off at start, or journalctl cannot be spawned (retried with backoff)', async (t) => {
  const dir = tempDir();
  const port = await freePort();
  const missingBinary = join(dir, 'no-journalctl');
  const cfg = await writeConfig(dir, config(dir, port, [
    '{ name: off, type: journald, enabled: false }',
    `{ name: broken, type: journald, enabled: true, journalctl: "${missingBinary}", directory: "${dir}", restart_delay: 30s }`,
  ]));
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const broken = await waitFor('the spawn failure reported', async () => {
    const j = (await journaldStatus(port)).broken;
    return j?.reason?.startsWith('cannot run journalctl') ? j : null;
  });
  t.match(broken, { state: 'not_started', reason: /ENOENT/, backoffMs: 30_000, restarts: 1, entriesRead: 0, committedCursor: null, journal: [dir] }, 'a child that never spawned: not_started, why, and the retry');
  t.ok(broken.restartAt !== null && broken.restartAt > Date.now(), 'the next attempt is ahead');
  t.match((await journaldStatus(port)).off, { state: 'not_started', reason: 'enabled: false', restartAt: null, journal: ['local journal'] }, 'a source left off at start is listed with why');
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, /<tr data-source="broken" data-state="not_started"[^>]*>.*cannot run journalctl: [^<]*ENOENT.*retry in \d+s \(backoff 30s\)/, 'the page shows why and when it retries');
  t.match(page, /<tr data-source="off" data-state="not_started"[^>]*>.*enabled: false/);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
