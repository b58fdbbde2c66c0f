/**
 * Splits a syslog TCP byte stream into messages, RFC 6587: octet counting (`MSG-LEN SP MSG`,
 * section 3.4.1) or non-transparent framing (a message ends at LF, section 3.4.2). The method is
 * detected per frame, the way rsyslog does: a frame that starts with a nonzero digit followed by
 * digits and a space is octet-counted, anything else (a syslog message starts with `<`) runs to
 * the next LF. A sender therefore may even switch methods mid-connection.
 *
 * Messages over `maxBytes` never grow the buffer past it: a newline-framed one is cut (its head
 * emitted as truncated, the rest up to LF discarded), an octet-counted one is skipped whole
 * (its length is known, so the stream stays in sync) and reported.
 */
export interface FrameSink {
  /** One message: `data[start, end)`, without its framing (length prefix, LF, trailing CR). */
  message(data: Buffer, start: number, end: number, truncated: boolean): void;
  /** An octet-counted frame of `bytes` over the limit was skipped. */
  oversize(bytes: number): void;
}

/** Framer states: between frames, in an octet-counted message, skipping one, in a newline-framed one, discarding the rest of a cut one. */
const State = { Start: 0, Octets: 1, Skip: 2, Line: 3, DiscardLine: 4 } as const;
type State = (typeof State)[keyof typeof State];

/** Octet counts longer than this many digits are no octet count (10 digits > any sane limit). */
const MAX_DIGITS = 10;
const EMPTY = Buffer.alloc(0);
/** What a framer step returns when nothing more of the data is to be consumed now. */
const STOP = -1;

export class SyslogFramer {
  private state: State = State.Start;
  /** Unconsumed bytes of an incomplete frame, from its start. */
  private rest: Buffer = EMPTY;
  /** Octets still to read (Octets) or to discard (Skip). */
  private remaining = 0;
  /** In Line state with `rest`: how much of `rest` was already searched for LF. */
  private scanned = 0;
  /** In Line state: where in the current push's data LF may first be. */
  private scanFrom = 0;
  /** Where the octet count parsed by the last octetCount() call ended (after its space). */
  private countEnd = 0;
  private readonly maxBytes: number;
  private readonly sink: FrameSink;

  constructor(maxBytes: number, sink: FrameSink) {
    this.maxBytes = maxBytes;
    this.sink = sink;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    this.scanFrom = 0;
    if (this.rest.length > 0) {
      data = Buffer.concat([this.rest, chunk]);
      this.scanFrom = this.scanned;
      this.rest = EMPTY;
    }
    for (let p = 0; p !== STOP && p < data.length; ) p = this.step(data, p);
  }

  /** Consumes `data` from `p` in the current state; returns where the next step starts, or STOP when the rest waits for more data (kept in `rest`) or is discarded. */
  private step(data: Buffer, p: number): number {
    switch (this.state) {
      case State.Start:
        return this.frameStart(data, p);
      case State.Octets:
        return this.octets(data, p);
      case State.Skip:
        return this.skip(data, p);
      case State.Line:
        return this.line(data, p);
      case State.DiscardLine:
        return this.discardLine(data, p);
    }
  }

  /** Between frames: skips blank lines, decides octet counting or newline framing. */
  private frameStart(data: Buffer, p: number): number {
    const c = data[p];
    if (c === 10 || c === 13 || c === 0) return p + 1; // blank lines (and NUL trailers some senders add) between frames
    if (c >= 49 && c <= 57) {
      const len = this.octetCount(data, p);
      if (len === undefined) return this.keep(data, p, 0); // digits up to the end of the chunk: undecided
      if (len >= 0) {
        if (len > this.maxBytes) {
          this.sink.oversize(len);
          this.state = State.Skip;
        } else this.state = State.Octets;
        this.remaining = len;
        return this.countEnd;
      }
    }
    this.state = State.Line;
    this.scanFrom = p;
    return p;
  }

  private octets(data: Buffer, p: number): number {
    if (data.length - p < this.remaining) return this.keep(data, p, 0);
    const end = p + this.remaining;
    this.sink.message(data, p, end, false);
    this.state = State.Start;
    return end;
  }

  private skip(data: Buffer, p: number): number {
    const take = Math.min(this.remaining, data.length - p);
    this.remaining -= take;
    if (this.remaining === 0) this.state = State.Start;
    return p + take;
  }

  /** A newline-framed message from `p`; `scanFrom` (>= p) is where its LF may first be. */
  private line(data: Buffer, p: number): number {
    const n = data.length;
    const lf = data.indexOf(10, this.scanFrom);
    if (lf < 0) {
      if (n - p <= this.maxBytes) return this.keep(data, p, n - p);
      this.sink.message(data, p, p + this.maxBytes, true);
      this.state = State.DiscardLine;
      return STOP;
    }
    let end = lf;
    if (end > p && data[end - 1] === 13) end--;
    if (end - p > this.maxBytes) this.sink.message(data, p, p + this.maxBytes, true);
    else this.sink.message(data, p, end, false);
    this.state = State.Start;
    return lf + 1;
  }

  private discardLine(data: Buffer, p: number): number {
    const lf = data.indexOf(10, p);
    if (lf < 0) return STOP;
    this.state = State.Start;
    return lf + 1;
  }

  /** Keeps `data` from `p` for the next push (`scanned` bytes of it already searched for LF). */
  private keep(data: Buffer, p: number, scanned: number): number {
    this.rest = data.subarray(p);
    this.scanned = scanned;
    return STOP;
  }

  /** The peer closed: a newline-framed message without its final LF still counts. */
  end(): void {
    if (this.state === State.Line && this.rest.length > 0) {
      let end = this.rest.length;
      if (this.rest[end - 1] === 13) end--;
      if (end > 0) this.sink.message(this.rest, 0, end, false);
    }
    this.rest = EMPTY;
    this.state = State.Start;
  }

  /**
   * The MSG-LEN at `p`: its value (countEnd after the space), -1 when the bytes are no octet
   * count (a non-digit before the space, too many digits), undefined when the data ends first.
   */
  private octetCount(data: Buffer, p: number): number | undefined {
    let v = 0;
    const n = data.length;
    for (let i = p; i < n; i++) {
      const c = data[i];
      if (c === 32) {
        this.countEnd = i + 1;
        return v;
      }
      if (c < 48 || c > 57 || i - p >= MAX_DIGITS) return -1;
      v = v * 10 + (c - 48);
    }
    return n - p > MAX_DIGITS ? -1 : undefined;
  }
}
