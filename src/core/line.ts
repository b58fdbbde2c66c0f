import type { Ack, Level, SourceInfo } from './record.ts';

/**
 * One line on its way from a source to the parser. Decoders (Docker, CRI) and multiline
 * joining are LineReceivers that forward (possibly joined) lines to the next receiver.
 */
export interface SourceLine {
  text: string;
  ack: Ack;
  /** Cut at max_line_bytes (or a join cap). */
  truncated: boolean;
  /** Stable per file: where the line came from (file, container and pod metadata). */
  source: SourceInfo;
  /** Epoch ms when it was read. */
  readTime: number;
  /** Set by container decoders. */
  stream?: 'stdout' | 'stderr';
  /** RFC 3339 time from the container runtime, set by container decoders. */
  runtimeTimestamp?: string;
  /** Where the line's bytes start in its file (file sources). */
  offset?: number;
  /**
   * What the transport itself says about the line (journal fields): the service when the line
   * names none, the level when the line's own is only the default (see applyTransportFields),
   * and metadata the line's own keys take precedence over.
   */
  transport?: TransportFields;
}

export interface TransportFields {
  service?: string;
  level?: Level;
  metadata?: Record<string, unknown>;
}

export interface LineReceiver {
  receive(line: SourceLine): void;
  /**
   * Optional: the texts of the lines about to arrive through receive(), in order (one read of a
   * file), so work for several can be done at once (the json parser parses them in groups).
   * Lines not announced still arrive and are handled as usual.
   */
  upcoming?(texts: readonly string[]): void;
  /** Emits anything held (partials, open multiline records) whose timeout passed; `force` emits all. */
  flush(force: boolean): void;
}
