import t from 'tap';
import { createHash } from 'node:crypto';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteBudget } from '../../../src/core/budget.ts';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { PositionStore } from '../../../src/positions/store.ts';
import { FileSource } from '../../../src/sources/file/file-source.ts';
import { fingerprint, fingerprintMatches, identityKey, murmur3x2 } from '../../../src/sources/file/identity.ts';
import { fileSourceSchema } from '../../../src/sources/config.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';
import { CollectingReceiver, silentLog } from '../support.ts';

const bytes = (s: string) => Buffer.from(s, 'utf8');

t.test('murmur3x2 is MurmurHash3_x86_32: the published vectors, each seed on its own', async (t) => {
  // Vectors from the reference implementation's users (SMHasher's MurmurHash3_x86_32; the same
  // in Guava's murmur3_32_fixed and in the online calculators): '' and 'hello' with seed 0,
  // 'Hello, world!' and the quick brown fox with seed 0x9747b28c.
  const vectors: Array<[string, number, number]> = [
    ['', 0, 0x00000000],
    ['hello', 0, 0x248bfa47],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ];
  for (const [text, seed, want] of vectors) {
    const b = bytes(text);
    t.equal(murmur3x2(b, b.length, seed, 1)[0], want, `${JSON.stringify(text)} seed ${seed.toString(16)} (lane A)`);
    t.equal(murmur3x2(b, b.length, 1, seed)[1], want, `${JSON.stringify(text)} seed ${seed.toString(16)} (lane B)`);
  }
});

t.test('fingerprints: h64 and 16 hex digits, a change in any byte or in the length changes them', async (t) => {
  const dir = tempDir();
  const fpOf = async (content: Buffer, len = content.length) => {
    const p = join(dir, 'f');
    writeFileSync(p, content);
    const fd = openSync(p, 'r');
    try {
      return await fingerprint(fd, len);
    } finally {
      closeSync(fd);
    }
  };
  const base = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 131 + 7) & 0xff));
  const fp = await fpOf(base);
  t.match(fp, /^h64:[0-9a-f]{16}$/);
  t.equal(await fpOf(base), fp, 'the same bytes, the same fingerprint');
  const seen = new Set([fp]);
  for (let i = 0; i < base.length; i += 37) {
    const changed = Buffer.from(base);
    changed[i] ^= 1;
    seen.add(await fpOf(changed));
  }
  t.equal(seen.size, 1 + Math.ceil(base.length / 37), 'one flipped bit anywhere: a new fingerprint every time');
  const prefixes = new Set<string>();
  for (let len = 1; len <= 9; len++) prefixes.add(await fpOf(base, len));
  t.equal(prefixes.size, 9, 'each length of the same head is its own fingerprint (tail bytes and length mixed in)');
  t.equal(await fpOf(Buffer.alloc(0), 0), '', 'an empty file has none');
});

t.test('positions written before (SHA-256 fingerprints) still match: an upgrade resumes where it was', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'app.log');
  const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const head = Buffer.from(lines.join('\n') + '\n');
  // What logship before this change stored: the first 32 hex digits of SHA-256 over the head.
  const legacy = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 32);
  const fd = openSync(file, 'r');
  t.teardown(() => closeSync(fd));
  t.ok(await fingerprintMatches(fd, head.length, legacy(head)), 'a legacy fingerprint of the same bytes matches');
  t.notOk(await fingerprintMatches(fd, head.length, legacy(Buffer.from('other content\n'))), 'one of other bytes does not');
  t.ok(await fingerprintMatches(fd, head.length, await fingerprint(fd, head.length)), 'a current one matches');

  for (const [name, stored, expectFirst] of [
    ['legacy fingerprint of this content', legacy(head), 'line 5'],
    ['legacy fingerprint of other content', legacy(Buffer.from('x'.repeat(head.length))), 'line 0'],
  ] as const) {
    await t.test(name, async (t) => {
      const positionsPath = join(dir, `${name.replace(/\W+/g, '-')}.json`);
      const metrics = new MetricsRegistry({ defaultMetrics: false });
      const before = await PositionStore.open(positionsPath, silentLog, metrics);
      const st = statSync(file);
      const offset = Buffer.byteLength(lines.slice(0, 5).join('\n') + '\n');
      before.set(identityKey(st), { path: file, offset, dev: st.dev, ino: st.ino, fingerprint: stored, fp_len: head.length, source: 'app', updated: Date.now() });
      await before.close();
      const positions = await PositionStore.open(positionsPath, silentLog, new MetricsRegistry({ defaultMetrics: false }));
      const receiver = new CollectingReceiver();
      const cfg = fileSourceSchema.parse({ name: 'app', paths: [file], start_at: 'beginning' });
      const source = new FileSource(cfg, { host: 'h', receiverFor: () => receiver, budget: new ByteBudget(1 << 20), positions, metrics: new MetricsRegistry({ defaultMetrics: false }), log: silentLog });
      await source.start();
      t.teardown(() => source.stop());
      await waitFor('line 9', () => receiver.texts.includes('line 9'));
      t.equal(receiver.texts[0], expectFirst);
      t.equal(receiver.texts.length, expectFirst === 'line 5' ? 5 : 10);
    });
  }
});
