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

export class SyslogFramer {
  private state: State = State.Start;
  /** Unconsumed bytes of an incomplete frame, from its start. */
  private rest: Buffer = EMPTY;
  /** Octets still to read (Octets) or to discard (Skip). */
  private remaining = 0;
  /** In Line state with `rest`: how much of `rest` was already searched for LF. */
  private scanned = 0;
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
    let scanFrom = 0;
    if (this.rest.length > 0) {
      data = Buffer.concat([this.rest, chunk]);
      scanFrom = this.scanned;
      this.rest = EMPTY;
    }
    let p = 0;
    const n = data.length;
    while (p < n) {
      switch (this.state) {
        case State.Start: {
          const c = data[p];
          if (c === 10 || c === 13 || c === 0) {
            p++; // blank lines (and NUL trailers some senders add) between frames
            break;
          }
          if (c >= 49 && c <= 57) {
            const len = this.octetCount(data, p);
            if (len === undefined) {
              this.rest = data.subarray(p); // digits up to the end of the chunk: undecided
              this.scanned = 0;
              return;
            }
            if (len >= 0) {
              p = this.countEnd;
              if (len > this.maxBytes) {
                this.sink.oversize(len);
                this.state = State.Skip;
              } else this.state = State.Octets;
              this.remaining = len;
              break;
            }
          }
          this.state = State.Line;
          scanFrom = p;
          break;
        }
        case State.Octets: {
          if (n - p < this.remaining) {
            this.rest = data.subarray(p);
            this.scanned = 0;
            return;
          }
          const end = p + this.remaining;
          this.sink.message(data, p, end, false);
          p = end;
          this.state = State.Start;
          break;
        }
        case State.Skip: {
          const take = Math.min(this.remaining, n - p);
          p += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.Start;
          break;
        }
        case State.Line: {
          // The message starts at p; scanFrom (>= p) is where LF may first be.
          const lf = data.indexOf(10, scanFrom);
          if (lf < 0) {
            if (n - p > this.maxBytes) {
              this.sink.message(data, p, p + this.maxBytes, true);
              this.state = State.DiscardLine;
            } else {
              this.rest = data.subarray(p);
              this.scanned = n - p;
            }
            return;
          }
          let end = lf;
          if (end > p && data[end - 1] === 13) end--;
          if (end - p > this.maxBytes) this.sink.message(data, p, p + this.maxBytes, true);
          else this.sink.message(data, p, end, false);
          p = lf + 1;
          this.state = State.Start;
          break;
        }
        case State.DiscardLine: {
          const lf = data.indexOf(10, p);
          if (lf < 0) return;
          p = lf + 1;
          this.state = State.Start;
          break;
        }
      }
    }
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
