import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';

/** Debian's systemd-journal-remote (package systemd-journal-remote): writes journal files from export-format input. */
export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';

/** Why the journal tests cannot run here, or null when journalctl and systemd-journal-remote are installed. */
function journalToolsMissing(): string | null {
  const missing: string[] = [];
  if (spawnSync('sh', ['-c', 'command -v journalctl']).status !== 0) missing.push('journalctl (Debian package systemd)');
  if (!existsSync(JOURNAL_REMOTE)) missing.push(`${JOURNAL_REMOTE} (Debian package systemd-journal-remote)`);
  return missing.length > 0 ? `missing ${missing.join(', ')}` : null;
}

/**
 * Ends the test file at once when the journal tools are missing, reported as skipped (a plan of
 * 0 with the reason), not as a pass: a CI without them does not look green here.
 */
export function exitUnlessJournalTools(): void {
  const missing = journalToolsMissing();
  if (missing === null) return;
  t.plan(0, missing);
  process.exit(0);
}

export interface ExportEntry {
  message: string | Buffer;
  /** µs since the epoch. */
  realtime: number;
  fields?: Record<string, string>;
}

/**
 * Journal export format (systemd "Journal Export Format"): one `FIELD=value` line per field, a
 * blank line after each entry; a value with a newline or non-UTF-8 bytes is written as the field
 * name, a newline, its length as little-endian 64-bit, the bytes and a newline.
 */
export function exportFormat(entries: ExportEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(Buffer.from(`__REALTIME_TIMESTAMP=${e.realtime}\n__MONOTONIC_TIMESTAMP=${e.realtime - 1_767_225_000_000_000}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n`));
    for (const [k, v] of Object.entries(e.fields ?? {})) parts.push(Buffer.from(`${k}=${v}\n`));
    const m = typeof e.message === 'string' ? Buffer.from(e.message) : e.message;
    if (typeof e.message === 'string' && !e.message.includes('\n')) parts.push(Buffer.from(`MESSAGE=${e.message}\n`));
    else {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(m.length));
      parts.push(Buffer.from('MESSAGE\n'), len, m, Buffer.from('\n'));
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Appends `entries` to the journal file `path` (created when missing) with systemd-journal-remote. */
export function writeJournal(path: string, entries: ExportEntry[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(JOURNAL_REMOTE, [`--output=${path}`, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-journal-remote exited ${code}: ${err}`))));
    child.stdin.end(exportFormat(entries));
  });
}

/** `count` sshd-like entries numbered from `from` (MESSAGE `entry N ppp…`). */
export function seqEntries(from: number, count: number, fields: Record<string, string> = {}): ExportEntry[] {
  const base = 1_767_225_600_000_000;
  return Array.from({ length: count }, (_, k) => ({
    message: `entry ${from + k} ${"p".repeat(40)}`,
    realtime: base + (from + k) * 1000,
    fields: { PRIORITY: '6', SYSLOG_IDENTIFIER: 'app', _SYSTEMD_UNIT: 'app.service', _HOSTNAME: 'web1', _PID: '7', _TRANSPORT: 'stdout', ...fields },
  }));
}
