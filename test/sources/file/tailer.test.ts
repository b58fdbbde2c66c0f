import t from 'tap';
import { appendFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteBudget } from '../../../src/core/budget.ts';
import { identityKey } from '../../../src/sources/file/identity.ts';
import { Tailer } from '../../../src/sources/file/tailer.ts';
import { graceForLateEvents, tempDir, waitFor } from '../../support/daemon.ts';
import { CollectingReceiver, silentLog, tailMetrics } from '../support.ts';

function tailer(path: string, opts: { maxLineBytes?: number; partialLineTimeout?: number; budget?: ByteBudget; start?: number; pollInterval?: number; receiver?: CollectingReceiver } = {}) {
  const receiver = opts.receiver ?? new CollectingReceiver();
  const { metrics, tm } = tailMetrics();
  const commits: number[] = [];
  const caughtUp: number[] = [];
  const fingerprints: number[] = [];
  const tl = new Tailer({
    path, key: identityKey(statSync(path)), startOffset: opts.start ?? 0, fingerprint: { value: '', len: 0 },
    maxLineBytes: opts.maxLineBytes ?? 256 * 1024, partialLineTimeout: opts.partialLineTimeout ?? 200, rotateWait: 200,
    readChunkBytes: 64 * 1024, pollInterval: opts.pollInterval ?? 20, maxPollInterval: Math.max(100, opts.pollInterval ?? 20),
    source: { type: 'file', name: 'test', file: path }, receiver, budget: opts.budget ?? new ByteBudget(1 << 30), metrics: tm, log: silentLog,
    onCommit: (o) => commits.push(o), onFingerprint: (_value, len) => void fingerprints.push(len), onClose: () => {},
    onCaughtUp: () => caughtUp.push(receiver.lines.length),
  });
  return { tl, receiver, metrics, commits, caughtUp, fingerprints };
}

t.test('splits lines, strips \\r, holds a final partial line until the file is idle', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  writeFileSync(p, 'one\r\ntwo\n\nthree');
  const { tl, receiver, commits } = tailer(p, { partialLineTimeout: 300 });
  const started = Date.now(); // the file's last data is read after this
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('3 lines', () => receiver.lines.length >= 3);
  t.same(receiver.texts, ['one', 'two', '']);
  await waitFor('partial line', () => receiver.lines.length === 4, 10_000);
  t.ok(receiver.lines[3].readTime - started >= 300, 'the partial line waited for the idle timeout');
  t.equal(receiver.texts[3], 'three');
  await waitFor('committed to EOF', () => commits.at(-1) === statSync(p).size);
  appendFileSync(p, ' more\nfour\n');
  await waitFor('rest', () => receiver.lines.length === 6);
  t.same(receiver.texts.slice(4), [' more', 'four'], 'bytes after a flushed partial line start a new line');
});

t.test('max_line_bytes cuts on a character boundary, flags, counts, and the offset passes the whole line', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  const big = 'é'.repeat(600_000); // 1.2 MB of 2-byte characters, spans many read chunks
  writeFileSync(p, `short\n${'x'.repeat(99)}é\n${big}\nafter\n`);
  const { tl, receiver, metrics, commits } = tailer(p, { maxLineBytes: 100 });
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('4 lines', () => receiver.lines.length >= 4);
  t.same(receiver.lines.map((l) => l.truncated), [false, true, true, false]);
  t.equal(receiver.texts[1], 'x'.repeat(99), 'a 2-byte character straddling the limit is dropped, not mangled');
  t.equal(receiver.texts[2], 'é'.repeat(50));
  t.equal(receiver.texts[3], 'after');
  t.notOk(receiver.texts.join('').includes('\ufffd'));
  await waitFor('committed to EOF', () => commits.at(-1) === statSync(p).size);
  t.match(await metrics.metrics(), /logship_lines_truncated_total\{source="test"\} 2/);
});

t.test('1 MiB lines pass whole under the default limit', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  const line = 'y'.repeat(1024 * 1024);
  writeFileSync(p, `${line}\n${line}\n`);
  const { tl, receiver } = tailer(p, { maxLineBytes: 2 * 1024 * 1024 });
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('2 lines', () => receiver.lines.length >= 2);
  t.equal(receiver.texts[0].length, 1024 * 1024);
  t.equal(receiver.texts[1], line);
});

t.test('invalid UTF-8 is replaced and binary garbage is read as lines, never a crash', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  const garbage = Buffer.alloc(200_000);
  let x = 12345;
  for (let i = 0; i < garbage.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = x & 0xff;
  }
  writeFileSync(p, Buffer.concat([Buffer.from('ok \xff\xfe bad\n', 'latin1'), Buffer.from([0xe2, 0x82, 0x0a]), garbage, Buffer.from('\nend\n')]));
  const expectedLines = Buffer.concat([Buffer.from([0x0a, 0x0a]), garbage, Buffer.from('\n\n')]).filter((b) => b === 10).length;
  const { tl, receiver } = tailer(p);
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('end line', () => receiver.texts.at(-1) === 'end');
  t.equal(receiver.texts[0], 'ok \ufffd\ufffd bad');
  t.equal(receiver.texts[1], '\ufffd');
  t.equal(receiver.lines.length, expectedLines, 'every newline in the garbage ends a line');
});

t.test('copytruncate: size below the offset or a changed head restarts from 0 and commits from there', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  writeFileSync(p, 'a1\na2\na3\n');
  const { tl, receiver, metrics, commits, fingerprints } = tailer(p);
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('3 lines', () => receiver.lines.length === 3);
  await waitFor('fingerprint of the 9 bytes read', () => fingerprints.at(-1) === 9);
  truncateSync(p, 0);
  appendFileSync(p, 'b1\n');
  await waitFor('b1', () => receiver.texts.includes('b1'));
  t.same(receiver.texts, ['a1', 'a2', 'a3', 'b1']);
  // Truncated and regrown past the old offset before we look: the head changed.
  await waitFor('fingerprint of the new generation', () => fingerprints.at(-1) === 3);
  truncateSync(p, 0);
  appendFileSync(p, 'c1 is much longer than before\nc2\n');
  await waitFor('c2', () => receiver.texts.includes('c2'), 5000);
  t.same(receiver.texts.slice(4), ['c1 is much longer than before', 'c2']);
  t.match(await metrics.metrics(), /logship_truncations_total\{source="test"\} 2/);
  await waitFor('committed', () => commits.at(-1) === statSync(p).size);
});

t.test('copytruncate regrown to exactly the old offset between two looks: the changed head is noticed', async (t) => {
  // Seen under CPU load: the tailer slept through a copytruncate and found the file back at the
  // very size it had read to (same line count, same line lengths) — "at EOF", so nothing was read
  // and the new generation was lost. The modification time says the file changed: check the head.
  const dir = tempDir();
  const p = join(dir, 'a.log');
  const gen = (tag: string) => Array.from({ length: 200 }, (_, i) => `${tag}-${String(i).padStart(4, '0')}`).join('\n') + '\n';
  writeFileSync(p, gen('a'));
  // An hour old: the regrow below gets a later mtime even within one tick of the kernel's coarse
  // file clock (what "modified" compares), without sleeping for the clock to move.
  const anHourAgo = new Date(Date.now() - 3600_000);
  utimesSync(p, anHourAgo, anHourAgo);
  const { tl, receiver, metrics, commits } = tailer(p, { pollInterval: 400 });
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('first generation', () => receiver.lines.length === 200);
  await waitFor('committed and idle', () => commits.at(-1) === statSync(p).size && tl.state === 'idle');
  // One synchronous step (the tailer cannot look in between): truncate, regrow to the same size.
  truncateSync(p, 0);
  appendFileSync(p, gen('b'));
  t.equal(statSync(p).size, tl.offset, 'regrown to exactly the offset read');
  await waitFor('second generation', () => receiver.lines.length === 400, 5000);
  t.equal(receiver.texts[200], 'b-0000');
  t.equal(receiver.texts[399], 'b-0199');
  t.match(await metrics.metrics(), /logship_truncations_total\{source="test"\} 1/);
});

t.test('reading ahead while behind: a file of many chunks arrives whole, in order, and stopping mid-file is clean', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  // ~1.2 MiB: 19 full 64 KiB chunks, each read while the one before is split
  const lines = Array.from({ length: 40_000 }, (_, i) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(i % 37)}`);
  writeFileSync(p, lines.join('\n') + '\n');
  const { tl, receiver, commits, caughtUp } = tailer(p);
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('all lines', () => receiver.lines.length >= lines.length, 10_000);
  t.equal(receiver.lines.length, lines.length, 'each line once');
  t.same(receiver.texts, lines, 'in order, none mangled at a chunk boundary');
  await waitFor('committed to EOF', () => commits.at(-1) === statSync(p).size);
  t.same(caughtUp, [lines.length], 'caught up once, after the last line of the backlog was handed on');
  appendFileSync(p, 'tail 1\ntail 2\n');
  await waitFor('appended lines', () => receiver.lines.length === lines.length + 2);
  t.same(receiver.texts.slice(-2), ['tail 1', 'tail 2']);
  // onCaughtUp would have run in the same step that handed these lines on: no wait needed.
  t.same(caughtUp, [lines.length], 'a small append is no backlog: batches keep their max_wait');

  // Stopped while a read ahead is in flight: it settles before the fd is closed.
  const q = join(dir, 'b.log');
  writeFileSync(q, lines.join('\n') + '\n');
  const second = tailer(q);
  await second.tl.start();
  await waitFor('reading', () => second.receiver.lines.length > 0);
  await second.tl.stop();
  await second.tl.done;
  t.equal(second.tl.state, 'closed', 'stopped and closed without error');
  t.same(second.receiver.texts, lines.slice(0, second.receiver.lines.length), 'what was read before the stop is in order');
});

t.test('the lines of one read share one ack: the position moves once all of them settled, each line keeps its own offset', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  const lines = ['alpha', 'beta', 'gamma', 'alpha', 'delta'];
  writeFileSync(p, lines.map((l) => l + '\n').join(''));
  const { tl, receiver, commits } = tailer(p);
  receiver.hold = true;
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('5 lines', () => receiver.lines.length === 5);
  const acks = receiver.held;
  t.ok(acks.every((a) => a === acks[0]), 'one token for the read');
  t.same(receiver.lines.map((l) => l.offset), [0, 6, 11, 17, 23], 'each line starts where its bytes do');
  t.equal(acks[0].identity, identityKey(statSync(p)), 'the token names the file; with the offset, each line (ES _id)');
  for (let i = 0; i < 4; i++) acks[i].release();
  await graceForLateEvents(100); // a wrong commit would show up
  t.ok(commits.every((c) => c <= 23), 'never past the unsettled line');
  t.same(commits.filter((c) => c > 0), [], 'four of five settled: the read commits when its last line does');
  acks[4].release();
  await waitFor('committed to EOF', () => commits.at(-1) === statSync(p).size);

  // A read whose first lines are dropped (released at once) gives the rest a new token.
  receiver.hold = false;
  const dropThenHold = receiver.receive.bind(receiver);
  let seen = 0;
  const kept: Array<{ ack: import('../../../src/core/record.ts').Ack; text: string }> = [];
  receiver.receive = (line) => {
    seen++;
    if (seen <= 2) return dropThenHold(line);
    kept.push({ ack: line.ack, text: line.text });
  };
  appendFileSync(p, 'x1\nx2\nx3\nx4\n');
  await waitFor('4 more lines', () => seen === 4);
  t.equal(kept.length, 2);
  t.equal(kept[0].ack, kept[1].ack, 'the lines after the dropped ones share their own token');
  const before = statSync(p).size - 'x3\nx4\n'.length;
  await waitFor('the dropped lines committed', () => commits.at(-1) === before);
  kept[0].ack.release();
  kept[1].ack.release();
  await waitFor('committed to EOF again', () => commits.at(-1) === statSync(p).size);
});

t.test('a spent budget pauses reading; released acks resume it', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'a.log');
  let text = '';
  for (let i = 0; i < 1000; i++) text += `line ${i} ${'z'.repeat(90)}\n`;
  writeFileSync(p, text);
  const budget = new ByteBudget(10_000);
  const { tl, receiver } = tailer(p, { budget });
  receiver.hold = true;
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('paused', () => tl.state === 'paused');
  const n = receiver.lines.length;
  t.ok(n > 0 && n < 1000, `paused after ${n} lines`);
  await waitFor('all lines', () => receiver.lines.length === 1000 ? true : (receiver.releaseHeld(), false));
  receiver.releaseHeld();
  t.equal(budget.inUse, 0, 'every released line returned its bytes');
});

t.test('a paused tailer waits on the budget once per pause, however often it wakes (no reaction per wake-up left on the shared promise)', async (t) => {
  // Counts the calls a real budget gets: each loop turn asks hasRoom(); each subscription is an onRoom().
  class CountingBudget extends ByteBudget {
    roomChecks = 0;
    roomWaits = 0;
    override hasRoom(): boolean {
      this.roomChecks++;
      return super.hasRoom();
    }
    override onRoom(wake: () => void): void {
      this.roomWaits++;
      super.onRoom(wake);
    }
  }
  const dir = tempDir();
  const p = join(dir, 'a.log');
  let text = '';
  for (let i = 0; i < 1000; i++) text += `line ${i} ${'z'.repeat(90)}\n`;
  writeFileSync(p, text);
  const budget = new CountingBudget(10_000);
  const { tl, receiver } = tailer(p, { budget });
  receiver.hold = true;
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('paused', () => tl.state === 'paused');
  await waitFor('subscribed', () => budget.roomWaits > 0);
  const waits = budget.roomWaits;
  // change events while paused: each ends the tailer's sleep and makes it look at the budget again
  for (let i = 0; i < 100; i++) {
    const checks = budget.roomChecks;
    tl.wake();
    await waitFor('the loop turned', () => budget.roomChecks > checks);
  }
  t.equal(budget.roomWaits, waits, `100 wake-ups while paused added no budget subscription (${budget.roomWaits})`);
  t.equal(tl.state, 'paused');
  await waitFor('all lines', () => receiver.lines.length === 1000 ? true : (receiver.releaseHeld(), false));
  receiver.releaseHeld();
  t.equal(budget.inUse, 0, 'every released line returned its bytes');
});

t.test('room freed behind many paused files wakes a few of them, oldest first, not every one', async (t) => {
  class CountingBudget extends ByteBudget {
    roomChecks = 0;
    override hasRoom(): boolean {
      this.roomChecks++;
      return super.hasRoom();
    }
  }
  const dir = tempDir();
  let text = '';
  for (let i = 0; i < 2560; i++) text += `line ${i} ${'y'.repeat(90)}\n`;
  const budget = new CountingBudget(100_000);
  budget.acquire(100_000); // spent before any file is read
  const receiver = new CollectingReceiver();
  receiver.hold = true;
  const tailers: Tailer[] = [];
  t.teardown(async () => {
    await Promise.all(tailers.map((tl) => tl.stop()));
  });
  for (let f = 0; f < 50; f++) {
    const p = join(dir, `f${f}.log`);
    writeFileSync(p, text);
    tailers.push(tailer(p, { budget, receiver }).tl);
  }
  for (const tl of tailers) await tl.start();
  await waitFor('every file paused', () => tailers.every((tl) => tl.state === 'paused'));
  const checks = budget.roomChecks;
  budget.release(1); // one byte of room: one file's turn
  await waitFor('a file read', () => receiver.lines.length > 0);
  await waitFor('paused again', () => !budget.hasRoom() && tailers.every((tl) => tl.state === 'paused'));
  await graceForLateEvents(300);
  t.same([...new Set(receiver.lines.map((l) => l.source.file))], [join(dir, 'f0.log')], 'the file queued first read, no other');
  // Every paused file woken by every release looked at the budget: 50 checks and more.
  t.ok(budget.roomChecks - checks < 10, `${budget.roomChecks - checks} room checks after the release`);
  budget.release(100_000);
  receiver.hold = false;
  receiver.releaseHeld();
  await waitFor('all lines', () => receiver.lines.length === 50 * 2560 ? true : (receiver.releaseHeld(), false), 120_000);
});

t.test('many files behind a spent budget: read buffers are charged, so only as many files read as the budget allows, and paused files hold none', async (t) => {
  // 200 files of 256 KiB each (4 chunks of the 64 KiB the helper reads) behind a 1 MiB budget,
  // with no line ever acknowledged. Uncharged buffers let every tailer pass the room check
  // and read (200 x 64 KiB and as much read ahead; 521 MiB RSS over 1,000 real files).
  const dir = tempDir();
  let text = '';
  for (let i = 0; i < 2560; i++) text += `line ${i} ${'y'.repeat(90)}\n`;
  const budget = new ByteBudget(1024 * 1024);
  const receiver = new CollectingReceiver();
  receiver.hold = true;
  const tailers: Tailer[] = [];
  t.teardown(async () => {
    await Promise.all(tailers.map((tl) => tl.stop()));
  });
  for (let f = 0; f < 200; f++) {
    const p = join(dir, `f${f}.log`);
    writeFileSync(p, text);
    const { tl } = tailer(p, { budget, receiver });
    tailers.push(tl);
  }
  await Promise.all(tailers.map((tl) => tl.start()));
  await waitFor('every file paused or idle', () => tailers.every((tl) => tl.state === 'paused' || tl.state === 'idle'));
  await graceForLateEvents(300);
  const read = receiver.lines.reduce((n, l) => n + Buffer.byteLength(l.text) + 1, 0);
  // Each file that passed the check read at most its chunk and one read ahead past the limit.
  t.ok(read <= 1024 * 1024 + 32 * 64 * 1024, `${read} bytes read with a 1 MiB budget`);
  t.ok(tailers.filter((tl) => tl.offset > 0).length <= 17, 'only as many files read as 64 KiB charges fit in 1 MiB');
  const heldByBuffers = budget.inUse - read - receiver.lines.length * 128;
  t.ok(heldByBuffers <= 1024 * 1024 / 8, `paused files hold no read buffer (${heldByBuffers} B charged for buffers: the kept ones only)`);
  receiver.hold = false;
  receiver.releaseHeld();
  await waitFor('all lines', () => receiver.lines.length === 200 * 2560 ? true : (receiver.releaseHeld(), false), 120_000);
});

t.test('a held line is charged its bytes plus 128, twice its bytes when its chunk is not ASCII (V8 keeps it as a two-byte string)', async (t) => {
  const dir = tempDir();
  // Budgets too small to keep a 64 KiB read buffer for reuse (limit / 8): what stays charged at rest is the lines.
  const charged = async (text: string) => {
    const p = join(dir, `${Buffer.byteLength(text)}-${text.length}.log`);
    writeFileSync(p, text);
    const budget = new ByteBudget(100 * 1024);
    const { tl, receiver } = tailer(p, { budget });
    receiver.hold = true;
    await tl.start();
    await waitFor('idle with the line held', () => tl.state === 'idle' && receiver.lines.length === 1);
    const inUse = budget.inUse;
    receiver.releaseHeld();
    await tl.stop();
    return inUse;
  };
  // "abc\n": 4 bytes; "h\u00e9llo w\u00f6rld\n": 14 bytes in UTF-8 (é and ö take two each, RFC 3629; 9 ASCII characters + 2 x 2 + the newline).
  t.equal(await charged('abc\n'), 4 + 128);
  t.equal(await charged('h\u00e9llo w\u00f6rld\n'), 2 * 14 + 128);
});

t.test('a file appended a line at a time reads into a 16 KiB buffer; one that grew by more reads full chunks', async (t) => {
  const dir = tempDir();
  const p = join(dir, 'live.log');
  writeFileSync(p, '');
  const budget = new ByteBudget(1 << 30); // large: given-back buffers are kept (and charged) at rest
  const { tl, receiver } = tailer(p, { budget });
  receiver.hold = true;
  await tl.start();
  t.teardown(() => tl.stop());
  await waitFor('idle on the empty file', () => tl.state === 'idle');
  appendFileSync(p, 'x\n');
  tl.wake();
  await waitFor('the line, then idle', () => receiver.lines.length === 1 && tl.state === 'idle');
  // The held line (2 bytes + 128) and the one buffer kept for reuse: 16 KiB, not the 64 KiB chunk.
  t.equal(budget.inUse, 2 + 128 + 16 * 1024);
  let big = '';
  for (let i = 0; i < 5000; i++) big += `line ${i} ${'q'.repeat(90)}\n`; // ~500 KB: 8 chunks of 64 KiB
  appendFileSync(p, big);
  tl.wake();
  await waitFor('all lines', () => receiver.lines.length === 5001);
  t.same(receiver.texts.slice(-2), ['line 4998 ' + 'q'.repeat(90), 'line 4999 ' + 'q'.repeat(90)], 'read whole, in order');
  receiver.releaseHeld();
});
