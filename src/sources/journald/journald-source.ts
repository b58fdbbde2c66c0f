import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { heldStringBytes, type ByteBudget } from '../../core/budget.ts';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import type { LineReceiver } from '../../core/line.ts';
import type { PositionStore } from '../../positions/store.ts';
import { FileWatermark } from '../../positions/watermark.ts';
import type { SourceInfo } from '../../core/record.ts';
import type { JournaldStatus } from '../../core/status.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { JournaldSourceConfig } from './config.ts';
import { JournalEntryDecoder, JournalEntryError, journalSourceInfo } from './entry.ts';
import { filterArgs, followArgs, journalctlLines, locationArgs } from './journalctl.ts';
import { JournaldMetrics } from './journald-metrics.ts';

export interface JournaldSourceDeps {
  /** This host's name: source.host of entries without _HOSTNAME. */
  host: string;
  /** The source's processor: each entry's MESSAGE goes there as one line. */
  receiver: LineReceiver;
  budget: ByteBudget;
  positions: PositionStore;
  metrics: MetricsRegistry;
  log: Logger;
}

/** Budget bytes an entry holds besides its MESSAGE (the JSON fields around it, the record). */
const ENTRY_OVERHEAD = 256;
/** A child that ran this long before exiting is restarted after restart_delay again, not the doubled delay. */
const HEALTHY_RUN_MS = 30_000;

/**
 * Reads the systemd journal through a `journalctl --follow -o json` child. Entries are numbered in
 * read order and tracked by a watermark over those numbers, exactly like the lines of a file:
 * the stored cursor is the one of the last entry such that it and every entry before it reached
 * a final state in every sink. A restart (or kill -9) resumes `--after-cursor` that entry.
 *
 * journalctl itself follows rotation (new files in the directory) and vacuuming; a stored cursor
 * whose entry was vacuumed away while logship was stopped is detected at resume, logged and
 * counted (journalctl then starts at the nearest entry it finds). When the budget is spent the
 * child's stdout is no longer read: journalctl blocks on the full pipe, the journal is the buffer.
 */
export class JournaldSource {
  readonly name: string;
  private readonly cfg: JournaldSourceConfig;
  private readonly deps: JournaldSourceDeps;
  private readonly metrics: JournaldMetrics;
  private readonly throttle: LogThrottle;
  private readonly decoder: JournalEntryDecoder;
  private readonly key: string;
  private readonly excluded: ReadonlySet<string>;
  private readonly watermark: FileWatermark;
  /** Cursors of entries read but not yet committed, by entry number. */
  private readonly cursors = new Map<number, string>();
  private readonly hosts = new Map<string, SourceInfo>();
  private nextSeq = 0;
  private committedSeq = 0;
  /** Cursor of the last entry handed on: where a restarted child continues. */
  private lastReadCursor: string | undefined;
  private child: ChildProcessByStdio<null, Readable, Readable> | null = null;
  private childStartedAt = 0;
  private stderrTail = '';
  private partial = '';
  private waitingForRoom = false;
  private restartDelay: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** What /api/status shows: the child's state, why it is not running, when it is retried. */
  private state: JournaldStatus['state'] = 'not_started';
  private notRunningReason: string | null = 'start pending';
  private restartAt: number | null = null;
  private backoffMs: number | null = null;
  private restarts = 0;

  constructor(cfg: JournaldSourceConfig, deps: JournaldSourceDeps) {
    this.name = cfg.name;
    this.cfg = cfg;
    this.deps = deps;
    this.key = `journald:${cfg.name}`;
    this.metrics = new JournaldMetrics(deps.metrics, cfg.name);
    this.throttle = new LogThrottle(deps.log);
    this.decoder = new JournalEntryDecoder(cfg.max_message_bytes);
    this.excluded = new Set(cfg.exclude_units);
    this.restartDelay = cfg.restart_delay;
    this.watermark = new FileWatermark(0, deps.budget, (n) => this.commit(n));
  }

  async start(): Promise<void> {
    const stored = this.deps.positions.cursor(this.key);
    let cursor = stored;
    if (cursor === undefined && this.cfg.start_at === 'end') {
      // Remember where "now" is before following, so entries written before the first one
      // shipped are not skipped by a restart in between.
      cursor = await this.tailCursor();
      if (cursor !== undefined) this.deps.positions.setCursor(this.key, this.name, cursor);
    }
    this.lastReadCursor = cursor;
    this.deps.log.info({ source: this.name, journal: this.describe(), resume: stored !== undefined ? 'after stored cursor' : this.cfg.start_at }, 'journal source starting');
    await this.spawnChild();
  }

  /** Stops the child; entries already handed on are the sinks' to finish (their acks still commit). */
  async stop(_readDeadline: number): Promise<void> {
    this.stopping = true;
    this.state = 'stopped';
    this.notRunningReason = 'source stopped';
    this.restartAt = null;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  }

  /** For /api/status. */
  status(): JournaldStatus {
    return {
      state: this.state,
      reason: this.state === 'running' ? null : this.notRunningReason,
      restartAt: this.restartAt,
      backoffMs: this.restartAt === null ? null : this.backoffMs,
      journal: this.describe(),
      committedCursor: this.deps.positions.cursor(this.key) ?? null,
      entriesRead: this.nextSeq,
      entriesAcked: this.committedSeq,
      entriesSkipped: this.metrics.skipped.total,
      restarts: this.restarts,
    };
  }

  /** For /api/status, a source the daemon did not start (enabled: false, or auto without a journal): why, and where it would resume. */
  static notStartedStatus(cfg: JournaldSourceConfig, why: string, positions: PositionStore): JournaldStatus {
    const committedCursor = positions.cursor(`journald:${cfg.name}`) ?? null;
    return { state: 'not_started', reason: why, restartAt: null, backoffMs: null, journal: describeJournal(cfg), committedCursor, entriesRead: 0, entriesAcked: 0, entriesSkipped: 0, restarts: 0 };
  }

  private describe(): string[] {
    return describeJournal(this.cfg);
  }

  /** Every entry before `n` is final: store the cursor of entry n - 1. */
  private commit(n: number): void {
    const cursor = this.cursors.get(n - 1);
    for (let k = this.committedSeq; k < n; k++) this.cursors.delete(k);
    this.committedSeq = n;
    if (cursor !== undefined) this.deps.positions.setCursor(this.key, this.name, cursor);
  }

  private async tailCursor(): Promise<string | undefined> {
    const args = [...locationArgs(this.cfg), '--output=json', '--output-fields=PRIORITY', '--no-pager', '--lines=1', ...filterArgs(this.cfg)];
    const r = await journalctlLines(this.cfg.journalctl, args, 1).catch((err: Error) => ({ lines: [], stderr: err.message, code: -1 }));
    if (r.lines.length === 0) return undefined;
    try {
      return this.decoder.decode(r.lines[0]).cursor;
    } catch {
      return undefined;
    }
  }

  /**
   * Is the entry `cursor` names gone from the journal (logged and counted)? journalctl --cursor
   * shows it first while it is there; after vacuuming it starts at another entry (or shows none).
   */
  private async cursorEntryGone(cursor: string): Promise<boolean> {
    const args = [...locationArgs(this.cfg), '--output=json', '--output-fields=PRIORITY', '--no-pager', `--cursor=${cursor}`];
    let r: { lines: string[]; stderr: string };
    try {
      r = await journalctlLines(this.cfg.journalctl, args, 1);
    } catch {
      return false; // spawning fails the same way for the follower, which reports it
    }
    let found: string | undefined;
    try {
      found = r.lines.length > 0 ? this.decoder.decode(r.lines[0]).cursor : undefined;
    } catch {
      found = undefined;
    }
    if (found !== undefined && sameEntry(found, cursor)) return false;
    this.metrics.cursorLost.inc();
    this.deps.log.warn({ source: this.name, cursor, first: found ?? null, stderr: r.stderr || undefined }, 'stored journal cursor is no longer in the journal (rotated or vacuumed away, or another journal): continuing at the nearest entry; entries in between are lost');
    return true;
  }

  private async spawnChild(): Promise<void> {
    if (this.stopping) return;
    const cursor = this.lastReadCursor;
    const entryGone = cursor !== undefined && (await this.cursorEntryGone(cursor));
    if (this.stopping) return;
    const child = spawn(this.cfg.journalctl, followArgs(this.cfg, { cursor, entryGone }), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.childStartedAt = Date.now();
    this.stderrTail = '';
    this.partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onData(chunk, child.stdout));
    child.once('spawn', () => {
      if (this.child !== child) return;
      this.state = 'running';
      this.restartAt = null;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)));
    let ended = false;
    const onEnd = (why: Record<string, unknown>) => {
      if (ended) return;
      ended = true;
      if (this.child === child) this.child = null;
      if (this.stopping) return;
      this.scheduleRestart(why);
    };
    child.once('error', (err) => onEnd({ err: err.message }));
    child.once('close', (code, signal) => onEnd({ code, signal }));
  }

  private scheduleRestart(why: Record<string, unknown>): void {
    if (Date.now() - this.childStartedAt > HEALTHY_RUN_MS) this.restartDelay = this.cfg.restart_delay;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, this.cfg.max_restart_delay);
    this.metrics.restarts.inc();
    this.restarts++;
    // A child that never spawned (journalctl missing, not executable) means the source never ran.
    if (this.state !== 'running' && this.state !== 'restarting') this.state = 'not_started';
    else this.state = 'restarting';
    this.notRunningReason = describeExit(why, this.stderrTail.trim());
    this.restartAt = Date.now() + delay;
    this.backoffMs = delay;
    this.deps.log.warn({ source: this.name, ...why, stderr: this.stderrTail.trim() || undefined, restart_in_ms: delay }, 'journalctl exited; restarting it after the last entry read');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.spawnChild();
    }, delay);
  }

  private onData(chunk: string, stdout: Readable): void {
    const text = this.partial.length > 0 ? this.partial + chunk : chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (nl > start) this.entry(text.slice(start, nl));
      start = nl + 1;
    }
    this.partial = start < text.length ? text.slice(start) : '';
    if (!this.waitingForRoom && !this.deps.budget.hasRoom()) {
      // Backpressure: journalctl blocks on the full pipe until the sinks made room.
      this.waitingForRoom = true;
      stdout.pause();
      void this.deps.budget.waitForRoom().then(() => {
        this.waitingForRoom = false;
        if (!stdout.destroyed) stdout.resume();
      });
    }
  }

  private entry(line: string): void {
    let e;
    try {
      e = this.decoder.decode(line);
    } catch (err) {
      if (!(err instanceof JournalEntryError)) throw err;
      this.metrics.malformed.inc();
      this.throttle.warn('malformed', { source: this.name, err: err.message, line: line.slice(0, 200) }, 'journalctl printed a line that is no journal entry: skipped');
      return;
    }
    const seq = this.nextSeq++;
    this.cursors.set(seq, e.cursor);
    this.lastReadCursor = e.cursor;
    const ack = this.watermark.issue(seq, seq + 1, heldStringBytes(e.text) + ENTRY_OVERHEAD);
    if (e.unit !== undefined && this.excluded.has(e.unit)) {
      this.metrics.skipped.inc();
      ack.release();
      return;
    }
    this.metrics.entries.inc();
    if (e.truncated) this.metrics.truncated.inc();
    this.deps.receiver.receive({
      text: e.text,
      ack,
      truncated: e.truncated,
      source: journalSourceInfo(this.hosts, this.name, e.hostname ?? this.deps.host),
      readTime: Date.now(),
      runtimeTimestamp: e.timestamp,
      transport: e.transport,
    });
  }
}

/** The journal a source reads, as logs and /api/status name it. */
function describeJournal(cfg: JournaldSourceConfig): string[] {
  return cfg.directory !== undefined ? [cfg.directory] : cfg.files ?? ['local journal'];
}

/** Why the child is not running, for /api/status: the spawn error, or its exit code/signal and last stderr line. */
function describeExit(why: Record<string, unknown>, stderr: string): string {
  const what = typeof why.err === 'string' ? `cannot run journalctl: ${why.err}` : why.signal ? `journalctl killed by ${String(why.signal)}` : `journalctl exited with code ${String(why.code)}`;
  const lastLine = stderr.split('\n').pop() ?? '';
  return lastLine.length > 0 ? `${what}: ${lastLine}` : what;
}

/** Two cursors name the same entry: same seqnum id (`s=`) and seqnum (`i=`). */
function sameEntry(a: string, b: string): boolean {
  const id = (c: string) => {
    const s = /(?:^|;)s=([0-9a-f]+)/.exec(c)?.[1];
    const i = /(?:^|;)i=([0-9a-f]+)/.exec(c)?.[1];
    return s !== undefined && i !== undefined ? `${s};${i}` : c;
  };
  return id(a) === id(b);
}
