import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DeadLetterFile } from '../../src/sinks/dead-letter.ts';
import { tempDir } from '../support/daemon.ts';

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('with an id field: letters already in the file (read back at open) are not written again', async (t) => {
  const path = join(tempDir('logship-dl-'), 'sub', 'dead.ndjson');
  const a = new DeadLetterFile<{ _id?: string; n: number }>({ path, idField: '_id' });
  await a.open();
  t.same(await a.write([{ _id: 'x', n: 1 }, { n: 2 }]), [{ _id: 'x', n: 1 }, { n: 2 }], 'both new');
  t.same(await a.write([{ _id: 'x', n: 3 }]), [], 'x was written already');
  await a.close();
  // a restart: the ids come back from the file's tail
  const b = new DeadLetterFile<{ _id?: string; n: number }>({ path, idField: '_id' });
  await b.open();
  t.same(await b.write([{ _id: 'x', n: 4 }, { _id: 'y', n: 5 }, { n: 6 }]), [{ _id: 'y', n: 5 }, { n: 6 }]);
  await b.close();
  t.same(lines(path).map((l) => l.n), [1, 2, 5, 6]);
});

t.test('without an id field every letter is written, the file opened on first write; a write that cannot reach the disk rejects (the caller keeps the batch)', async (t) => {
  const dir = tempDir('logship-dl-');
  const path = join(dir, 'dead.ndjson');
  const f = new DeadLetterFile<{ line: string }>({ path });
  await f.write([{ line: 'a' }, { line: 'a' }]);
  t.same(lines(path), [{ line: 'a' }, { line: 'a' }]);
  await f.close();
  const blocked = join(dir, 'file-not-dir');
  writeFileSync(blocked, '');
  const bad = new DeadLetterFile<{ line: string }>({ path: join(blocked, 'dead.ndjson') });
  await t.rejects(bad.write([{ line: 'b' }]), 'the caller learns it is not on disk');
  await t.rejects(bad.write([{ line: 'c' }]), 'still not writable');
  await bad.close();
});
