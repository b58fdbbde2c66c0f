import t from 'tap';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { startLokiAndEs } from '../servers/sink-servers.ts';

/**
 * Issue 22, item 1: hostile lines between normal ones, through the real daemon into every sink
 * type at once (file, Loki, Elasticsearch, stdout). Each hostile line may ship as text, ship as
 * a fallback record, be refused by the receiver or dead-lettered; what must hold is that every
 * normal line around them arrives exactly once in every sink, the file is read to its end by one
 * reader (no restart loop), and the status page counts the isolated records.
 */

/** A seeded PRNG (a 31-bit LCG) so a failure replays. */
function prng(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

function hostileLines(seed: number): Buffer[] {
  const rnd = prng(seed);
  const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);
  const lines: Array<string | Buffer> = [
    // the line: ~240 KB, 40,000 levels
    deep(40_000, '{"a":', '}'),
    deep(40_000, '[', ']'),
    // deep inside a line that otherwise is the shared schema (the verbatim fast path)
    `{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","service":"app","message":"m","d":${deep(20_000, '{"a":', '}')}}`,
    // deep just past and just within the depth limit
    deep(1001, '{"a":', '}'),
    deep(999, '{"a":', '}'),
    '{"n":1e400,"big":123456789012345678901234567890123456789,"neg":-1e-400,"nan":"NaN"}',
    `{"msg":"${'s'.repeat(200_000)}"}`,
    // over max_line_bytes: cut, flagged truncated
    `{"msg":"${'x'.repeat(2 * 1024 * 1024)}"}`,
    // 10 MB line of one character
    'A'.repeat(10 * 1024 * 1024),
    // invalid UTF-8 (0xff, 0xfe, an overlong, a truncated sequence) inside JSON and alone
    Buffer.concat([Buffer.from('{"msg":"bad '), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xe2, 0x82]), Buffer.from('"}')]),
    Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0x28]),
    // lone surrogates: escaped in JSON (JSON.parse makes them) and CESU-8 bytes of one (U+FFFD on read)
    '{"msg":"lone \\ud800 high","x":"\\udc00 low","k\\ud83d":"key"}',
    Buffer.from([0x7b, 0x22, 0x6d, 0x73, 0x67, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
    // NUL raw and escaped
    'nul \u0000 inside \u0000',
    '{"msg":"nul \\u0000","\\u0000":"k"}',
    // CR-only line endings: one line for us
    'one\rtwo\rthree\r',
    '\r',
    '',
    '   ',
    // own keys named like Object.prototype members (the ES test server once mapped them through the prototype)
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"msg":"proto"}',
    '{"timestamp":{"a":1},"level":["x"],"message":{"m":1},"service":5,"trace_id":[1,2]}',
    '{"timestamp":"99999-99-99T99:99:99Z","level":"\u001b[31mred","msg":"ansi"}',
    `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    '{"msg":"label \\"}\\n{injection=\\"x\\"}","service":"a\\nb=\\"c\\"","level":"info\\"}"}',
    '{"a":1,"a":2,"a":{"b":3}}',
    '{"unterminated":"',
    '}}}}]]]]',
  ];
  // generated: random bytes without newlines, and random JSON-ish fragments
  const tokens = ['{', '}', '[', ']', '"', ':', ',', '\\', '\\u', 'd800', '1e999', '-0', 'null', 'true', '"k"', '\u0000', '\r', '\u2028', '💥'];
  for (let i = 0; i < 40; i++) {
    if (i % 2 === 0) {
      const b = Buffer.alloc(1 + Math.floor(rnd() * 300));
      for (let j = 0; j < b.length; j++) {
        let v = Math.floor(rnd() * 256);
        if (v === 10) v = 11;
        b[j] = v;
      }
      lines.push(b);
    } else {
      let s = '{"msg":"gen",';
      const n = 1 + Math.floor(rnd() * 60);
      for (let j = 0; j < n; j++) s += tokens[Math.floor(rnd() * tokens.length)];
      lines.push(s);
    }
  }
  return lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l));
}

const normal = (i: number) => `{"level":"info","msg":"between ${i}","seq":${i}}\n`;
const NORMAL = /"message":"between (\d+)"/;

function counts(messages: Iterable<string>): Map<number, number> {
  const m = new Map<number, number>();
  for (const s of messages) {
    const hit = NORMAL.exec(s);
    if (hit) m.set(Number(hit[1]), (m.get(Number(hit[1])) ?? 0) + 1);
  }
  return m;
}

t.test('hostile lines between normal ones: every normal line exactly once in file, Loki, ES and stdout; one reader; faults counted', { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const { loki, es } = await startLokiAndEs(t);
  const dir = tempDir('logship-poison-');
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  const port = await freePort();
  const hostile = hostileLines(22);
  let n = 0;
  const chunks: Buffer[] = [];
  for (const h of hostile) {
    for (let k = 0; k < 3; k++) chunks.push(Buffer.from(normal(n++)));
    chunks.push(h, Buffer.from('\n'));
  }
  for (let k = 0; k < 3; k++) chunks.push(Buffer.from(normal(n++)));
  writeFileSync(log, Buffer.concat(chunks.slice(0, chunks.length / 2)));
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: json }
sinks:
  - { type: file, path: "${dir}/data/shipped.ndjson", fsync: false }
  - { type: stdout }
  - { type: loki, url: "${loki.url}", batch: { max_wait: 100ms } }
  - type: elasticsearch
    url: "${es.url}"
    dead_letter_path: "${dir}/data/dead.ndjson"
    batch: { max_wait: 100ms }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  // the second half while it runs (a live tail, not only a backlog)
  appendFileSync(log, Buffer.concat(chunks.slice(chunks.length / 2)));
  const total = n;
  const exactlyOnce = (m: Map<number, number>) => {
    for (let i = 0; i < total; i++) if (m.get(i) !== 1) return false;
    return m.size === total;
  };
  const sinks = {
    file: () => counts(readNdjson<{ message: string }>(join(dir, 'data', 'shipped.ndjson')).map((r) => `"message":${JSON.stringify(r.message)}`)),
    stdout: () => counts(d.stdout.split('\n').filter((l) => l.startsWith('{"timestamp"'))),
    loki: () => counts(loki.allEntries().map((e) => e.line)),
    elasticsearch: () => counts(es.docs('*').map((doc) => `"message":${JSON.stringify(doc._source.message)}`)),
  };
  for (const [name, got] of Object.entries(sinks)) {
    await waitFor(`every normal line in ${name}`, () => exactlyOnce(got()), 60_000, 200).catch(() => {});
    const m = got();
    const missing = [...Array(total).keys()].filter((i) => !m.has(i));
    const dup = [...m].filter(([, c]) => c > 1).map(([i]) => i);
    t.same({ missing, dup }, { missing: [], dup: [] }, `${name}: all ${total} normal lines exactly once`);
  }
  const size = readFileSync(log).length;
  const st = await waitFor('the file committed to its end', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as {
      ready: { ready: boolean };
      sources: Array<{ files: Array<{ committed: number; size: number }> }>;
      faults: { total: number; counts: Array<{ kind: string; reason: string; outcome: string; count: number }> };
      sinks: Array<{ name: string; state: string; queued: number; dropped: number }>;
    };
    return s.sources[0].files[0]?.committed === size ? s : null;
  });
  t.ok(st.ready.ready, 'ready');
  const esSink = st.sinks.find((s) => s.name === 'elasticsearch');
  const dead = readNdjson<{ reason: string; document: unknown }>(join(dir, 'data', 'dead.ndjson'));
  t.match(esSink, { state: 'ok', queued: 0 }, 'the ES sink is healthy and holds nothing');
  t.ok(dead.length > 0 && dead.every((l) => l.reason && l.document !== undefined), `ES refused some hostile documents; each is in the dead-letter file with its reason (${dead.map((l) => l.reason).join(', ')})`);
  t.equal(esSink?.dropped, dead.length, 'and counted as dropped, once each');
  t.ok(st.faults.counts.some((c) => c.kind === 'parse' && c.reason === 'too_deep' && c.outcome === 'shipped_as_text' && c.count >= 3), 'the deep lines are counted as too_deep, shipped as text');
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, 'id="faults"', 'the status page lists the record faults');
  t.equal(d.stderr.split('\n').filter((l) => l.includes('"msg":"tailing file"')).length, 1, 'one reader for the file: no restart loop');
  t.notMatch(d.stderr, /tailer failed|send failed unexpectedly/, 'no reader or sink failure');
  const deep = readNdjson<{ message: string; metadata?: Record<string, unknown> }>(join(dir, 'data', 'shipped.ndjson')).find((r) => r.message.startsWith('{"a":{"a":{"a"'));
  t.equal(deep?.message.length, 40_000 * 6 + 1, 'the 240 KB line ships whole, as text');
  t.ok(Date.now() - started < 60_000, `bounded in time (${Date.now() - started} ms)`);
  t.equal((await d.kill('SIGTERM')).code, 0);
});
