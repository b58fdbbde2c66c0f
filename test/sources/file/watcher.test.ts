import t from 'tap';
import { appendFileSync, mkdirSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GlobMatcher } from '../../../src/sources/file/discovery.ts';
import type { WatchEvents } from '../../../src/sources/file/watch-events.ts';
import { FileWatcher } from '../../../src/sources/file/watcher.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';
import { silentLog } from '../support.ts';

/** Records the watcher's events so a test can wait for one (no sleeps). */
function recorder(): { events: WatchEvents; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    events: {
      added: (p) => seen.push(`added ${p}`),
      changed: (p) => seen.push(`changed ${p}`),
      removed: (p) => seen.push(`removed ${p}`),
    },
  };
}

function unrelated(dirs: string[], names: string[]): string[] {
  return dirs.filter((d) => names.some((n) => d.includes(`/${n}`)));
}

t.test('an exact path: the unrelated directories beside it are not watched; rename + create still seen', async (t) => {
  const dir = tempDir();
  for (let i = 0; i < 200; i++) mkdirSync(join(dir, `other-${i}`, 'sub'), { recursive: true });
  for (let i = 0; i < 100; i++) writeFileSync(join(dir, `other-${i}.txt`), '');
  const log = join(dir, 'app.log');
  writeFileSync(log, 'a\n');
  const w = new FileWatcher(new GlobMatcher([log], []), silentLog);
  const r = recorder();
  await w.start(r.events);
  t.teardown(() => w.close());
  const watched = w.watchedDirectories();
  t.same(unrelated(watched, ['other-']), [], `no sibling directory holds watcher state (${watched.length} directories watched)`);
  appendFileSync(log, 'b\n');
  await waitFor('change event', () => r.seen.includes(`changed ${log}`));
  renameSync(log, `${log}.1`);
  writeFileSync(log, 'new\n');
  // chokidar drops a file's events within 5 ms of the last one: write on until the new file is seen.
  await waitFor('the new file seen', () => {
    appendFileSync(log, 'more\n');
    return r.seen.filter((e) => e === `changed ${log}`).length > 1 || r.seen.includes(`added ${log}`);
  });
  t.notOk(r.seen.some((e) => e.includes('other-') || e.endsWith('.log.1')), 'no event for a path the glob cannot match');
});

t.test('a pods glob: directories created later that could hold matches are watched, the rest never', async (t) => {
  const dir = tempDir();
  const pods = join(dir, 'pods');
  for (let i = 0; i < 100; i++) mkdirSync(join(pods, `junk-${i}`, 'app'), { recursive: true }); // no `_`: cannot match
  mkdirSync(join(pods, 'ns_old_1', 'app'), { recursive: true });
  mkdirSync(join(pods, 'ns_old_1', 'app', 'deeper'), { recursive: true }); // below the glob's depth
  const m = new GlobMatcher([`${pods}/*_*/*/*.log`], ['*.gz']);
  t.ok(m.mayContainMatches(pods) && m.mayContainMatches(dir) && m.mayContainMatches(`${pods}/ns_old_1/app`));
  t.notOk(m.mayContainMatches(`${pods}/junk-1`) || m.mayContainMatches(`${pods}/ns_old_1/app/deeper`) || m.mayContainMatches(join(dir, 'elsewhere')));
  const w = new FileWatcher(m, silentLog);
  const r = recorder();
  await w.start(r.events);
  t.teardown(() => w.close());
  t.same(unrelated(w.watchedDirectories(), ['junk-', 'deeper']), [], 'directories the glob cannot match under are not watched');
  t.ok(w.watchedDirectories().includes(join(pods, 'ns_old_1', 'app')), 'a pod container directory is');
  // An unrelated directory first, then a pod: once the pod's log is seen, the other was passed over.
  mkdirSync(join(pods, 'junk-new', 'app'), { recursive: true });
  writeFileSync(join(pods, 'junk-new', 'app', '0.log'), 'x\n');
  const podLog = join(pods, 'ns_new_2', 'app', '0.log');
  mkdirSync(join(pods, 'ns_new_2', 'app'), { recursive: true });
  writeFileSync(podLog, 'y\n');
  writeFileSync(join(pods, 'ns_new_2', 'app', '0.log.gz'), '');
  await waitFor('the new pod log added', () => r.seen.includes(`added ${podLog}`));
  t.same(unrelated(w.watchedDirectories(), ['junk-']), [], 'the new unrelated directory is not watched');
  t.notOk(r.seen.some((e) => e.includes('junk-') || e.endsWith('.gz')), 'no event for unrelated or excluded paths');
});

t.test('globs the watcher cannot split at slashes still watch everything below the base', async (t) => {
  const dir = tempDir();
  const m = new GlobMatcher([`${dir}/{a/b,c}/*.log`, `${dir}/x/**/*.log`], []);
  t.ok(m.mayContainMatches(`${dir}/a`) && m.mayContainMatches(`${dir}/zz`), 'brace with a slash: any directory within depth');
  t.notOk(m.mayContainMatches(`${dir}/a/b/c`), 'but not deeper than the glob reaches');
  t.ok(m.mayContainMatches(`${dir}/x/1/2/3/4`), '** reaches any depth');
  t.notOk(m.mayContainMatches('/nowhere/else'));
});

t.test('exact paths: one created after the start is added, a deleted one removed; a symlink follows its target', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'elsewhere'));
  const later = join(dir, 'later.log');
  const target = join(dir, 'elsewhere', 'real.log');
  const link = join(dir, 'link.log');
  writeFileSync(target, 'a\n');
  symlinkSync(target, link);
  const w = new FileWatcher(new GlobMatcher([later, link], []), silentLog);
  const r = recorder();
  await w.start(r.events);
  t.teardown(() => w.close());
  writeFileSync(later, 'x\n');
  await waitFor('added', () => r.seen.includes(`added ${later}`));
  unlinkSync(later);
  await waitFor('removed', () => r.seen.includes(`removed ${later}`));
  await waitFor('a write to the link target seen', () => {
    appendFileSync(target, 'more\n');
    return r.seen.includes(`changed ${link}`);
  });
  t.pass('events for a later file, its removal and a symlink target');
});
