import type { SourceLine } from '../../core/line.ts';
import { ContainerDecoder } from './container-decoder.ts';

interface DockerJsonLine {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

/**
 * Decodes Docker's json-file driver lines (`{"log":"...\n","stream":"stdout","time":"..."}`).
 * Docker splits lines longer than 16 KiB into pieces whose `log` has no trailing `\n`; those are
 * joined per stream (Promtail and Alloy ship them as separate lines: loki#2920). `time` becomes
 * the record's runtime timestamp. A line that is not Docker JSON is passed on as plain text and
 * counted, never dropped.
 */
export class DockerDecoder extends ContainerDecoder {
  protected readonly format = 'Docker json-file';

  receive(line: SourceLine): void {
    let obj: DockerJsonLine;
    try {
      obj = JSON.parse(line.text) as DockerJsonLine;
    } catch {
      this.invalid(line, 'not JSON');
      return;
    }
    if (obj === null || typeof obj !== 'object' || typeof obj.log !== 'string') {
      this.invalid(line, 'no "log" string');
      return;
    }
    let text = obj.log;
    const final = text.length > 0 && text.charCodeAt(text.length - 1) === 10;
    if (final) {
      let end = text.length - 1;
      if (end > 0 && text.charCodeAt(end - 1) === 13) end--;
      text = text.slice(0, end);
    }
    const stream = obj.stream === 'stderr' ? 'stderr' : 'stdout';
    // A truncated raw line (max_line_bytes) cannot be valid JSON, so pieces here are whole.
    this.joiner.piece(line, stream, text, final, typeof obj.time === 'string' ? obj.time : undefined);
  }
}
