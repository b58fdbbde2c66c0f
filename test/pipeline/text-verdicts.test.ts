import t from 'tap';
import { FALSE, TextVerdicts, TRUE, UNKNOWN } from '../../src/pipeline/text-verdicts.ts';

t.test('a text finds the verdict set for it, by content, until another text takes its slot', async (t) => {
  const v = new TextVerdicts();
  t.equal(v.get('Request completed'), UNKNOWN);
  v.set('Request completed', false);
  v.set('User logged in', true);
  t.equal(v.get('Request completed'), FALSE);
  t.equal(v.get(['User', 'logged', 'in'].join(' ')), TRUE, 'an equal text built elsewhere');
  t.equal(v.get('User logged in!'), UNKNOWN);
  t.equal(v.get(''), UNKNOWN);
  v.set('', true);
  t.equal(v.get(''), UNKNOWN, 'the empty text is not kept');
  const long = 'x'.repeat(257);
  v.set(long, true);
  t.equal(v.get(long), UNKNOWN, 'texts over 256 characters are not kept');
  // 300 distinct texts through 256 slots: some were taken over, none answers for another
  const texts = Array.from({ length: 300 }, (_, i) => `message ${i}`);
  texts.forEach((s, i) => v.set(s, i % 2 === 0));
  let kept = 0;
  texts.forEach((s, i) => {
    const got = v.get(s);
    if (got !== UNKNOWN) {
      kept++;
      t.equal(got, i % 2 === 0 ? TRUE : FALSE, s);
    }
  });
  t.ok(kept > 100 && kept < 300, `${kept} of 300 kept`);
});

t.test('texts that do not repeat switch lookups off for a while, then they are tried again', async (t) => {
  const v = new TextVerdicts();
  v.set('same', true);
  for (let i = 0; i < 4096; i++) {
    const s = `unique request line ${i}`;
    v.get(s);
    v.set(s, false);
  }
  t.equal(v.get('same'), UNKNOWN, 'skipping: nothing is looked up');
  v.set('same', true);
  for (let i = 0; i < 65536; i++) v.get('same');
  v.set('same', true);
  t.equal(v.get('same'), TRUE, 'looked up again after the pause');
});
