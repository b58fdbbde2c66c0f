import t from 'tap';
import { parseDuration, parseSize } from '../../src/core/units.ts';

t.test('parseSize', async (t) => {
  t.equal(parseSize('1MiB'), 1048576);
  t.equal(parseSize('64KB'), 64000);
  t.equal(parseSize('256 KiB'), 262144);
  t.equal(parseSize('1.5GiB'), 1610612736);
  t.equal(parseSize(1024), 1024);
  t.equal(parseSize('10'), 10);
  t.equal(parseSize('lots'), undefined);
  t.equal(parseSize('1XB'), undefined);
  t.equal(parseSize(-1), undefined);
});

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('1s'), 1000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('168h'), 604_800_000);
  t.equal(parseDuration('7d'), 604_800_000);
  t.equal(parseDuration(250), 250);
  t.equal(parseDuration('0'), 0);
  t.equal(parseDuration('soon'), undefined);
  t.equal(parseDuration('1s junk'), undefined);
  t.equal(parseDuration(''), undefined);
});
