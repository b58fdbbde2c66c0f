import t from 'tap';
import { SyslogFramer } from '../../../src/sources/syslog/framing.ts';

/** Frames `chunks` and returns the messages (`!` suffix: truncated) and the oversize reports. */
function frame(chunks: Array<string | Buffer>, max = 1024): { messages: string[]; oversize: number[] } {
  const messages: string[] = [];
  const oversize: number[] = [];
  const f = new SyslogFramer(max, {
    message: (d, s, e, truncated) => messages.push(d.toString('utf8', s, e) + (truncated ? '!' : '')),
    oversize: (n) => oversize.push(n),
  });
  for (const c of chunks) f.push(typeof c === 'string' ? Buffer.from(c) : c);
  f.end();
  return { messages, oversize };
}

// Frames as RFC 6587 describes them: 3.4.1 octet counting "MSG-LEN SP SYSLOG-MSG",
// 3.4.2 non-transparent framing with LF as the trailer (CR LF tolerated).
const A = '<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - a';
const B = '<13>Oct 11 22:14:15 host app: b c';

t.test('octet counting and newline framing, detected per frame', async (t) => {
  t.same(frame([`${A.length} ${A}${B.length} ${B}`]).messages, [A, B]);
  t.same(frame([`${A}\n${B}\r\n`]).messages, [A, B]);
  t.same(frame([`${A.length} ${A}${B}\n`]).messages, [A, B], 'a sender may switch methods between frames');
  t.same(frame([`\n\n${A}\n`]).messages, [A], 'blank lines between frames are skipped');
});

t.test('any split point of the stream gives the same messages', async (t) => {
  const stream = `${A.length} ${A}${B}\n${B.length} ${B}2024-01-01 digits first, not a count\n${A}`;
  const whole = frame([stream]).messages;
  t.same(whole, [A, B, B, '2024-01-01 digits first, not a count', A], 'a message without final LF is emitted at end()');
  for (let i = 1; i < stream.length; i++) {
    t.same(frame([stream.slice(0, i), stream.slice(i)]).messages, whole, `split at ${i}`);
  }
  const bytes = Buffer.from(stream);
  t.same(frame([...bytes].map((b) => Buffer.from([b]))).messages, whole, 'one byte at a time');
});

t.test('limits: a long newline-framed message is cut, an octet-counted one over the limit skipped', async (t) => {
  const long = 'x'.repeat(50);
  const r = frame([`${long}\n${B}\n`], 20);
  t.same(r.messages, ['x'.repeat(20) + '!', B.slice(0, 20) + '!']);
  const r2 = frame([`${long.length} ${long}`, `8 <13>ok!\n`], 20);
  t.same(r2.messages, ['<13>ok!\n'.slice(0, 8)]);
  t.same(r2.oversize, [50], 'the skipped frame is reported with its length');
  const r3 = frame([`${'y'.repeat(15)}`, `${'y'.repeat(15)}`, `tail\n${B.slice(0, 10)}\n`], 20);
  t.same(r3.messages, ['y'.repeat(20) + '!', B.slice(0, 10)], 'the rest of a cut message up to its LF is discarded across chunks');
});
