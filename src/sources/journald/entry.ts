import { syslogSeverityLevel } from '../../parse/normalize.ts';
import type { TransportFields } from '../../core/line.ts';
import type { Level, SourceInfo } from '../../core/record.ts';

/**
 * The fields journalctl is asked for (`--output-fields`; it always adds __CURSOR,
 * __REALTIME_TIMESTAMP, __MONOTONIC_TIMESTAMP and _BOOT_ID): only what the record uses, which
 * also keeps journalctl's own JSON work small.
 */
export const JOURNAL_FIELDS = ['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER', 'SYSLOG_FACILITY', '_SYSTEMD_UNIT', '_SYSTEMD_USER_UNIT', '_HOSTNAME', '_PID', '_COMM', '_TRANSPORT'] as const;

/** A journal field in `journalctl -o json`: text, bytes (not printable or not UTF-8), null (too large without --all), or a list when the field repeats. */
type JsonField = string | number[] | null | Array<string | number[] | null>;

/** One entry of `journalctl -o json` decoded into what a SourceLine carries. */
export interface JournalEntry {
  cursor: string;
  /** MESSAGE as text (bytes not valid UTF-8 escaped as `\xNN`), cut at the limit. */
  text: string;
  truncated: boolean;
  /** _SYSTEMD_UNIT (or _SYSTEMD_USER_UNIT), for exclude_units. */
  unit: string | undefined;
  hostname: string | undefined;
  /** __REALTIME_TIMESTAMP as RFC 3339 UTC with microseconds. */
  timestamp: string | undefined;
  transport: TransportFields;
}

export class JournalEntryError extends Error {}

/**
 * Turns `journalctl -o json` lines into entries: MESSAGE→text, PRIORITY→level,
 * SYSLOG_IDENTIFIER (else the unit without `.service`, else _COMM)→service, _HOSTNAME→host,
 * __REALTIME_TIMESTAMP→timestamp, and `metadata.journal` = {unit, pid, boot_id, transport,
 * facility, comm} (metadata, not labels: pid and boot id are unbounded).
 */
export class JournalEntryDecoder {
  private readonly maxMessageBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Throws JournalEntryError for a line that is no journal entry (no JSON object, no __CURSOR). */
  decode(line: string): JournalEntry {
    let e: Record<string, JsonField>;
    try {
      e = JSON.parse(line) as Record<string, JsonField>;
    } catch {
      throw new JournalEntryError('not JSON');
    }
    if (e === null || typeof e !== 'object' || typeof e.__CURSOR !== 'string') throw new JournalEntryError('no __CURSOR');
    let text = this.text(e.MESSAGE) ?? '';
    let truncated = false;
    if (text.length > this.maxMessageBytes) {
      text = text.slice(0, this.maxMessageBytes);
      truncated = true;
    }
    const unit = this.text(e._SYSTEMD_UNIT) ?? this.text(e._SYSTEMD_USER_UNIT);
    const comm = this.text(e._COMM);
    const identifier = this.text(e.SYSLOG_IDENTIFIER);
    const journal: Record<string, unknown> = {};
    if (unit !== undefined) journal.unit = unit;
    const pid = this.text(e._PID);
    if (pid !== undefined) journal.pid = /^\d+$/.test(pid) ? Number(pid) : pid;
    const boot = this.text(e._BOOT_ID);
    if (boot !== undefined) journal.boot_id = boot;
    const transport = this.text(e._TRANSPORT);
    if (transport !== undefined) journal.transport = transport;
    const facility = this.text(e.SYSLOG_FACILITY);
    if (facility !== undefined) journal.facility = /^\d+$/.test(facility) ? Number(facility) : facility;
    if (comm !== undefined) journal.comm = comm;
    const fields: TransportFields = { service: identifier ?? unitService(unit) ?? comm, metadata: { journal } };
    const level = priorityLevel(this.text(e.PRIORITY));
    if (level !== undefined) fields.level = level;
    return { cursor: e.__CURSOR, text, truncated, unit, hostname: this.text(e._HOSTNAME), timestamp: realtimeIso(this.text(e.__REALTIME_TIMESTAMP)), transport: fields };
  }

  /** A field as text: the first value of a repeated field; bytes decoded as UTF-8 with invalid bytes as `\xNN`. */
  private text(v: JsonField | undefined): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (v.length === 0) return '';
    if (typeof v[0] === 'number') return this.bytesText(v as number[]);
    return this.text(v[0] as JsonField);
  }

  private bytesText(bytes: number[]): string {
    const buf = Uint8Array.from(bytes);
    try {
      return this.decoder.decode(buf);
    } catch {
      return escapeInvalidUtf8(buf);
    }
  }
}

/** Decodes UTF-8, writing each byte that is not part of a valid sequence as `\xNN`. */
export function escapeInvalidUtf8(buf: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= n && validSequence(buf, i, len)) {
      out += Buffer.from(buf.buffer, buf.byteOffset + i, len).toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** RFC 3629 well-formed sequences (no overlongs, no surrogates, nothing above U+10FFFF). */
function validSequence(buf: Uint8Array, i: number, len: number): boolean {
  if (len === 1) return true;
  const b0 = buf[i];
  for (let k = 1; k < len; k++) if ((buf[i + k] & 0xc0) !== 0x80) return false;
  const b1 = buf[i + 1];
  if (b0 === 0xe0 && b1 < 0xa0) return false;
  if (b0 === 0xed && b1 > 0x9f) return false;
  if (b0 === 0xf0 && b1 < 0x90) return false;
  if (b0 === 0xf4 && b1 > 0x8f) return false;
  return true;
}

function priorityLevel(p: string | undefined): Level | undefined {
  if (p === undefined || p.length !== 1) return undefined;
  const n = p.charCodeAt(0) - 48;
  return n >= 0 && n <= 7 ? syslogSeverityLevel(n) : undefined;
}

function unitService(unit: string | undefined): string | undefined {
  if (unit === undefined) return undefined;
  return unit.endsWith('.service') ? unit.slice(0, -8) : unit;
}

/** Microseconds since the epoch (decimal text) → `2026-01-01T00:00:00.123456Z`. */
function realtimeIso(us: string | undefined): string | undefined {
  if (us === undefined || !/^\d{1,17}$/.test(us)) return undefined;
  const n = Number(us);
  const ms = Math.floor(n / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(n % 1000).padStart(3, '0')}Z`;
}

/** The SourceInfo of the entries of one host (shared: one per host name seen). */
export function journalSourceInfo(cache: Map<string, SourceInfo>, name: string, host: string): SourceInfo {
  let info = cache.get(host);
  if (info === undefined) {
    if (cache.size >= 1024) cache.clear();
    info = Object.freeze({ type: 'journald', name, host });
    cache.set(host, info);
  }
  return info;
}
