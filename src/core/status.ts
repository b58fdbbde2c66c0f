import type { SinkStatus } from './sink.ts';

/**
 * What /api/status returns and the status page renders: the daemon fills it from every box, the
 * server shows it. The boxes' own status shapes are here so the server needs no box but core.
 */
export interface DaemonStatus {
  version: string;
  node: string;
  host: string;
  startedAt: string;
  uptimeSeconds: number;
  ready: { ready: boolean; reasons: string[] };
  buffer: { usedBytes: number; limitBytes: number; backpressureSeconds: number };
  /** type and paths (the configured globs) say what a source with no files is looking for. */
  sources: Array<{
    name: string;
    type: string;
    paths: string[];
    files: Array<{ path: string; key: string; offset: number; committed: number; size: number; state: string; lag: number }>;
    /** Files that match the globs and cannot be opened or read (retried at every rescan). */
    errors?: FileErrorStatus[];
    /** A `type: journald` source's reader (absent for other types). */
    journald?: JournaldStatus;
    /** A `type: syslog` receiver's listeners and counts (absent for other types). */
    syslog?: SyslogStatus;
  }>;
  sinks: SinkStatus[];
  /** The brute-force detector (derived_metrics.security.brute_force); null when off. */
  bruteForce?: BruteForceStatus | null;
  /** Records a parser, stage or encoder failed on, each isolated from the lines around it. */
  faults?: FaultsSnapshot;
  /** The positions store: lost (every generation was corrupt at start), and whether writes fail now. */
  positions?: { path: string; lost: PositionsLost | null; writeFailingSince: number | null; lastWriteError: string | null };
}

/**
 * A journal source: its journalctl child and how far every sink acknowledged. not_started: no
 * child ran yet (start pending, or journalctl cannot be spawned: `reason` says why, and it is
 * retried with backoff); restarting: the child exited and is restarted after `restartInMs`.
 */
export interface JournaldStatus {
  state: 'not_started' | 'running' | 'restarting' | 'stopped';
  /** Why it is not running (the spawn error, or the child's exit code/signal and stderr); null while running. */
  reason: string | null;
  /** Epoch ms of the next start attempt while not_started/restarting with a retry pending; else null. */
  restartAt: number | null;
  /** The backoff before that attempt (doubles per quick exit up to max_restart_delay). */
  backoffMs: number | null;
  /** The journal read: the directory, files or the local journal. */
  journal: string[];
  /** The cursor stored with the positions: a restart resumes after this entry. */
  committedCursor: string | null;
  /** Entries read from journalctl (including skipped ones). */
  entriesRead: number;
  /** Entries final in every sink (acknowledged, or skipped by exclude_units): the cursor's entry and all before it. */
  entriesAcked: number;
  entriesSkipped: number;
  /** journalctl children that exited or failed to start and were restarted. */
  restarts: number;
}

/** A syslog receiver: where it listens and what it received and dropped. */
export interface SyslogStatus {
  listeners: Array<{ address: string; protocol: 'udp' | 'tcp'; tls: boolean }>;
  /** Open TCP/TLS connections, and the max_connections limit. */
  connections: number;
  maxConnections: number;
  messagesReceived: { udp: number; tcp: number };
  /** Messages dropped (overload: UDP while the budget was spent; too_large: an octet-counted frame over max_message_bytes). */
  dropped: { overload: number; too_large: number };
  /** Connections refused (max_connections) or failed in the TLS handshake. */
  refusedConnections: { max_connections: number; tls: number };
  /** Messages cut at max_message_bytes (shipped). */
  truncated: number;
}

/** Positions existed at start but none could be trusted: where files started instead, and where the corrupt generations were set aside. */
export interface PositionsLost {
  startAt: 'beginning' | 'end';
  keptAside: string[];
}

/** A file (or directory) a source's globs name that it cannot open or read, as the status page lists it. */
export interface FileErrorStatus {
  path: string;
  /** errno code: EACCES, ENOENT, EISDIR, ELOOP, EMFILE, … */
  code: string;
  message: string;
  /** Epoch ms of the first failure of this kind. */
  since: number;
  /** Times tried (each rescan tries again). */
  attempts: number;
}

/** Brute-force state as /api/status shows it. */
export interface BruteForceStatus {
  threshold: number;
  window_seconds: number;
  sources_over_threshold: number;
  tracked_sources: number;
  /**
   * The sources with the most failed logins, most first: a source over the threshold with its
   * current burst, any other with its failures within the window.
   */
  top_sources: Array<{ source_ip: string; failed_logins: number; over_threshold: boolean }>;
  /** The detector's clock (the records' time). */
  clock: string;
}

/** Where a record failed: the parser, a stage, a sink's encoder, or the line chain before parsing. */
export type FaultKind = 'parse' | 'stage' | 'encode' | 'line';

/** One record that failed somewhere and was isolated (shipped as text, dead-lettered or dropped). */
export interface RecordFault {
  kind: FaultKind;
  /** Why: too_deep, exception, RangeError, … (the metric's `reason`). */
  reason: string;
  /** The parser, stage or sink it failed in. */
  where: string;
  /** What happened to the record. */
  outcome: 'shipped_as_text' | 'shipped_without_stage' | 'shipped_fallback' | 'dead_lettered' | 'dropped';
  error?: string;
  file?: string;
  offset?: number;
  /** ISO time. */
  at: string;
}

/** Totals by kind/where/reason/outcome and the most recent faults (self-metrics/faults.ts). */
export interface FaultsSnapshot {
  total: number;
  counts: Array<{ kind: FaultKind; where: string; reason: string; outcome: RecordFault['outcome']; count: number }>;
  recent: RecordFault[];
}
