import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, basename, join } from 'node:path';
import picomatch from 'picomatch';
import type { JournaldSourceConfig } from './config.ts';
import { JOURNAL_FIELDS } from './entry.ts';

/** The local journal's places: volatile, then persistent (systemd-journald.service(8)). */
const LOCAL_JOURNALS = ['/run/log/journal', '/var/log/journal'];

/** `--directory`/`--file` arguments: which journal to read. */
export function locationArgs(cfg: JournaldSourceConfig): string[] {
  if (cfg.directory !== undefined) return [`--directory=${cfg.directory}`];
  if (cfg.files !== undefined) return cfg.files.map((f) => `--file=${f}`);
  return [];
}

/** Which entries: `--unit` per unit, then the raw matches. */
export function filterArgs(cfg: JournaldSourceConfig): string[] {
  return [...cfg.units.map((u) => `--unit=${u}`), ...cfg.matches];
}

/**
 * The reading child: JSON, one entry per line, every field in full (`--all`: without it long or
 * unprintable fields come out as null), following, from just after `resume.cursor` (or at it,
 * when that entry is gone: `--after-cursor` skips one entry unconditionally), else from the
 * journal's beginning. `--no-tail` always: `--follow` otherwise implies `--lines=10`, which
 * systemd 252 also applies from a cursor whose entry is gone (10 entries, then only new ones).
 */
export function followArgs(cfg: JournaldSourceConfig, resume: { cursor: string | undefined; entryGone: boolean }): string[] {
  const from = resume.cursor === undefined ? [] : [resume.entryGone ? `--cursor=${resume.cursor}` : `--after-cursor=${resume.cursor}`];
  return [
    ...locationArgs(cfg),
    '--output=json', '--all', '--no-pager', '--follow', '--no-tail', `--output-fields=${JOURNAL_FIELDS.join(',')}`,
    ...from,
    ...filterArgs(cfg),
  ];
}

/**
 * Runs journalctl to completion-or-first-lines and returns up to `max` JSON lines of stdout
 * (the child is killed once they are in), with stderr for errors.
 */
export function journalctlLines(bin: string, args: string[], max: number, timeoutMs = 10_000): Promise<{ lines: string[]; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    const lines: string[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl: number;
      while (lines.length < max && (nl = out.indexOf('\n')) >= 0) {
        lines.push(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
      if (lines.length >= max) child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, stderr: stderr.trim(), code });
    });
  });
}

/** The journalctl binary when it is found (a path, or a name on $PATH). */
export function findJournalctl(bin: string): string | undefined {
  const candidates = bin.includes('/') ? [bin] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, bin));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * `enabled: auto`: is there a journal to read? A journal directory counts when it (or a
 * machine-id subdirectory, as journald lays them out) holds a `*.journal` file; `files` count
 * when a pattern matches an existing file.
 */
export function journalExists(cfg: JournaldSourceConfig): boolean {
  if (cfg.files !== undefined) return cfg.files.some((f) => globHasFile(f));
  const dirs = cfg.directory !== undefined ? [cfg.directory] : LOCAL_JOURNALS;
  return dirs.some((d) => hasJournalFile(d, 1));
}

function hasJournalFile(dir: string, depth: number): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  for (const n of names) {
    if (n.endsWith('.journal') || n.endsWith('.journal~')) return true;
    if (depth > 0 && isDir(join(dir, n)) && hasJournalFile(join(dir, n), depth - 1)) return true;
  }
  return false;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function globHasFile(pattern: string): boolean {
  const scan = picomatch.scan(pattern);
  if (!scan.isGlob) return existsSync(pattern);
  const dir = dirname(pattern);
  const match = picomatch(basename(pattern));
  try {
    return readdirSync(dir).some((n) => match(n));
  } catch {
    return false;
  }
}
