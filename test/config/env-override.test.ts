import t from 'tap';
import { overrideConfig, type OverrideTarget } from '../../src/config/env-override.ts';
import { ConfigError, parseConfig, validateConfig } from '../../src/config/load.ts';

/** The overrides' config without the YAML parser is exactly the YAML parse of their text (src/config/env-override.ts). */
const values = [
  '127.0.0.1:9711', '0.0.0.0:1', '[::1]:9711', 'localhost', '9711', 'no-port', ' spaced ', 'a "quoted" b', 'back\\slash', '#hash', "it's",
  'http://loki:3100', 'https://user:pw@es.example:9200/prefix?x=1#frag', 'not a url', '', 'naïve', 'tab\there', 'line\nbreak', '${HOME}', '$$x', '\u007f',
];
const targets: OverrideTarget[] = [{ server: 'listen' }, { sink: 'loki' }, { sink: 'elasticsearch' }];

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: e instanceof ConfigError ? e.message : String(e) };
  }
}

t.test('raw, when given, validates to what parsing the text gives; printable ASCII without $ always has raw', async (t) => {
  let fast = 0;
  for (const target of targets) {
    for (const v of values) {
      const { text, raw } = overrideConfig(target, v);
      if (/^[\x20-\x7e]*$/.test(v) && !v.includes('$')) t.not(raw, undefined, `raw for ${JSON.stringify(v)}`);
      if (raw === undefined) continue;
      fast++;
      t.same(outcome(() => validateConfig(raw, '(env)')), outcome(() => parseConfig(text, '(env)', {})), `${JSON.stringify(target)} ${JSON.stringify(v)}`);
    }
  }
  t.ok(fast > 40);
});
