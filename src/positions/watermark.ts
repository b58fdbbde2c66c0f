import type { Ack } from '../core/record.ts';
import type { ByteBudget } from '../core/budget.ts';

/**
 * The claim of one read's records (or of one line, or a joined record) on a file's byte range
 * [start, end). Each record holds a reference; the token settles when the last one is released.
 * Tokens of a file form a FIFO in read order; see FileWatermark.
 */
export class AckToken implements Ack {
  refs = 1;
  done = false;
  next: AckToken | null = null;
  readonly owner: FileWatermark;
  readonly start: number;
  end: number;
  bytes: number;

  constructor(owner: FileWatermark, start: number, end: number, bytes: number) {
    this.owner = owner;
    this.start = start;
    this.end = end;
    this.bytes = bytes;
  }

  retain(n: number): void {
    this.refs += n;
  }

  release(): void {
    if (this.refs <= 0) return; // defensive: a double release must never move a position twice
    if (--this.refs === 0) this.owner.settle(this);
  }

  /** The file's identity key (dev:ino); with a record's start offset it names the record's bytes. */
  get identity(): string | undefined {
    return this.owner.identity;
  }

  absorb(other: Ack): void {
    if (other !== this && other instanceof AckToken && other.owner === this.owner) {
      if (other.end > this.end) this.end = other.end;
      // A token of one line moves its budget share here; a read's token shared with other
      // records keeps its own until they settle too.
      if (other.refs === 1) {
        this.bytes += other.bytes;
        other.bytes = 0;
      }
    }
    other.release();
  }
}

/**
 * The contiguous acknowledged offset of one file generation (one identity).
 *
 * Why a FIFO and not "offset of the last acked line": records complete out of order (two sinks,
 * retries, Docker/CRI pieces of one stream waiting while the other stream's lines flow). The safe
 * restart point is the start of the oldest record that is not yet final; once every record is
 * final it is the end of the last one. A token that absorbed later pieces keeps its FIFO place
 * (its start), so a half-joined record pins the watermark before its first piece.
 */
export class FileWatermark {
  private head: AckToken | null = null;
  private tail: AckToken | null = null;
  private maxEnd: number;
  private outstanding = 0;
  /** Highest offset such that every byte before it belongs to a final record. */
  committed: number;
  /** The end offset of the last token issued (the read position as far as records go). */
  issuedEnd: number;
  private readonly budget: ByteBudget | null;
  private readonly onAdvance: (offset: number) => void;
  /** The file identity key (dev:ino), when known; see AckToken.id. */
  readonly identity: string | undefined;

  constructor(initialOffset: number, budget: ByteBudget | null, onAdvance: (offset: number) => void, identity?: string) {
    this.identity = identity;
    this.committed = initialOffset;
    this.maxEnd = initialOffset;
    this.issuedEnd = initialOffset;
    this.budget = budget;
    this.onAdvance = onAdvance;
  }

  get pending(): number {
    return this.outstanding;
  }

  issue(start: number, end: number, bytes: number): AckToken {
    const t = new AckToken(this, start, end, bytes);
    if (this.tail) this.tail.next = t;
    else this.head = t;
    this.tail = t;
    this.outstanding++;
    if (end > this.issuedEnd) this.issuedEnd = end;
    if (bytes > 0) this.budget?.acquire(bytes);
    return t;
  }

  /**
   * One more record on `token`, the token of the read it came from: its bytes, ending at `end`,
   * join the token's range and budget share. False when the token already settled (every record
   * before was dropped): the caller issues a new one.
   */
  extend(token: AckToken, end: number, bytes: number): boolean {
    if (token.done || token.owner !== this) return false;
    token.refs++;
    if (end > token.end) token.end = end;
    token.bytes += bytes;
    if (end > this.issuedEnd) this.issuedEnd = end;
    if (bytes > 0) this.budget?.acquire(bytes);
    return true;
  }

  /** Called by AckToken when its last reference is released. */
  settle(token: AckToken): void {
    token.done = true;
    this.outstanding--;
    if (token.bytes > 0) {
      this.budget?.release(token.bytes);
      token.bytes = 0;
    }
    if (token !== this.head) return;
    let t: AckToken | null = this.head;
    while (t !== null && t.done) {
      if (t.end > this.maxEnd) this.maxEnd = t.end;
      t = t.next;
    }
    this.head = t;
    if (t === null) this.tail = null;
    const next = t === null ? this.maxEnd : t.start;
    if (next > this.committed) {
      this.committed = next;
      this.onAdvance(next);
    }
  }

  /** Bytes held by unsettled tokens go back to the budget (file dropped for good). */
  abandon(): void {
    for (let t = this.head; t !== null; t = t.next) {
      if (!t.done && t.bytes > 0) {
        this.budget?.release(t.bytes);
        t.bytes = 0;
      }
    }
  }
}
