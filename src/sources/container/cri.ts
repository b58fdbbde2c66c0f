import type { SourceLine } from '../../core/line.ts';
import { ContainerDecoder } from './container-decoder.ts';

/**
 * Decodes CRI (containerd, CRI-O) log lines: `<RFC3339Nano time> <stdout|stderr> <tag> <message>`
 * where the tag's first `:`-separated field is `P` (partial piece) or `F` (full/final). `P`
 * pieces are joined per stream until the `F` piece. Parsed by index, no regex, no split().
 */
export class CriDecoder extends ContainerDecoder {
  protected readonly format = 'CRI log';

  receive(line: SourceLine): void {
    const text = line.text;
    const s1 = text.indexOf(' ');
    const s2 = s1 > 0 ? text.indexOf(' ', s1 + 1) : -1;
    if (s2 === -1) {
      this.invalid(line);
      return;
    }
    let stream: 'stdout' | 'stderr';
    if (s2 - s1 === 7 && text.startsWith('stdout', s1 + 1)) stream = 'stdout';
    else if (s2 - s1 === 7 && text.startsWith('stderr', s1 + 1)) stream = 'stderr';
    else {
      this.invalid(line);
      return;
    }
    let s3 = text.indexOf(' ', s2 + 1);
    if (s3 === -1) s3 = text.length;
    const tag = text.charCodeAt(s2 + 1);
    const tagEnd = s2 + 2;
    // The tag is P or F, optionally followed by ":"-separated fields.
    if ((tag !== 80 /* P */ && tag !== 70 /* F */) || (tagEnd < s3 && text.charCodeAt(tagEnd) !== 58 /* : */)) {
      this.invalid(line);
      return;
    }
    const message = s3 < text.length ? text.slice(s3 + 1) : '';
    this.joiner.piece(line, stream, message, tag === 70, text.slice(0, s1));
  }
}
