import t from 'tap';
import fc from 'fast-check';
import { secondsValue } from '../../src/parse/clf.ts';

t.test('secondsValue is Number() on digits.digits and NaN on anything else', async (t) => {
  const seconds = fc.tuple(fc.stringMatching(/^\d{1,12}$/), fc.stringMatching(/^\d{1,12}$/)).map(([a, b]) => `${a}.${b}`);
  const other = fc.oneof(fc.stringMatching(/^[0-9.]{0,8}$/), fc.string({ maxLength: 6 }), fc.constantFrom('', '-', '.', '1.', '.5', '1..2', '1.2.3', '-1.5', '1e3', '1.5 ', ' 1.5', '0.000', '00.10'));
  fc.assert(fc.property(fc.oneof(seconds, other), (s) => {
    const shaped = /^\d+\.\d+$/.test(s);
    const got = secondsValue(s);
    if (!Object.is(got, shaped ? Number(s) : NaN)) throw new Error(`${JSON.stringify(s)}: got ${got}, want ${shaped ? Number(s) : NaN}`);
  }), { numRuns: 50_000 });
  t.pass('50,000 strings');
});
