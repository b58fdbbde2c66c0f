import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { expandEnv } from '../../src/config/env.ts';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';
import { fromTemplate, readConfigTemplate, type ConfigTemplate } from '../../src/config/preparsed.ts';
import { buildConfigTemplate } from '../../src/config/template-build.ts';
import { ROOT } from '../support/daemon.ts';

/**
 * The embedded default config parsed at build time (src/config/preparsed.ts): whenever the
 * template answers, it answers exactly what the YAML parser gives for the expanded text.
 */
const DEFAULT_CONFIG = join(ROOT, 'config', 'logship.yaml');
const source = readFileSync(DEFAULT_CONFIG, 'utf8');

function template(text = source): ConfigTemplate {
  const built = buildConfigTemplate(text);
  if ('refused' in built) throw new Error(`refused: ${built.refused}`);
  return JSON.parse(JSON.stringify(built)) as ConfigTemplate; // fresh, as read from the file
}
const yamlOf = (text: string, env: NodeJS.ProcessEnv): unknown => parseDocument(expandEnv(text, env), { prettyErrors: true }).toJS() ?? {};

const ordinary: NodeJS.ProcessEnv[] = [
  {},
  { LOGSHIP_LISTEN: '0.0.0.0:9711', LOGSHIP_DATA_DIR: '/var/lib/logship' }, // the image's ENV
  { LOGSHIP_LISTEN: '127.0.0.1:45678', LOGSHIP_DATA_DIR: '/tmp/bench-startup-x/data', LOGSHIP_HOST_ROOT: '/host' },
  { LOGSHIP_LISTEN: 'localhost:9711', LOGSHIP_DATA_DIR: './state', LOGSHIP_HOST_ROOT: '' },
];
const tricky: NodeJS.ProcessEnv[] = [
  { LOGSHIP_LISTEN: '9711' }, { LOGSHIP_LISTEN: 'true' }, { LOGSHIP_LISTEN: '~' }, { LOGSHIP_LISTEN: 'null' },
  { LOGSHIP_LISTEN: '0x1F' }, { LOGSHIP_LISTEN: '0o17' }, { LOGSHIP_LISTEN: '.inf' }, { LOGSHIP_LISTEN: '1e3' }, { LOGSHIP_LISTEN: '1.5' },
  { LOGSHIP_LISTEN: '-1' }, { LOGSHIP_LISTEN: '[::]:9711' }, { LOGSHIP_LISTEN: 'a b' }, { LOGSHIP_LISTEN: 'x #y' }, { LOGSHIP_LISTEN: ':9711' },
  { LOGSHIP_LISTEN: '-x' }, { LOGSHIP_LISTEN: '{a: 1}' }, { LOGSHIP_LISTEN: '"q"' }, { LOGSHIP_LISTEN: "it's" },
  { LOGSHIP_DATA_DIR: '12' }, { LOGSHIP_DATA_DIR: 'a\\b' }, { LOGSHIP_DATA_DIR: 'two\nlines' }, { LOGSHIP_DATA_DIR: '*x' },
  { LOGSHIP_HOST_ROOT: '"' }, { LOGSHIP_HOST_ROOT: '\\n' }, { LOGSHIP_HOST_ROOT: "'" }, { LOGSHIP_HOST_ROOT: 'a,b' }, { LOGSHIP_HOST_ROOT: '/höst' },
];

t.test('the default config has a template, and it answers for the ordinary environments', async (t) => {
  for (const env of ordinary) {
    const got = fromTemplate(template(), source, env);
    t.not(got, undefined, `answers for ${JSON.stringify(env)}`);
    t.equal(JSON.stringify(got), JSON.stringify(yamlOf(source, env)), `same value, same key order, for ${JSON.stringify(env)}`);
  }
});

t.test('for values YAML would read differently, the template declines or agrees', async (t) => {
  let declined = 0;
  for (const env of tricky) {
    const got = fromTemplate(template(), source, env);
    if (got === undefined) declined++;
    else t.equal(JSON.stringify(got), JSON.stringify(yamlOf(source, env)), `agrees for ${JSON.stringify(env)}`);
  }
  t.ok(declined >= tricky.length - 2, `declined ${declined} of ${tricky.length}`);
  // Read as YAML, `listen: 9711` is a number: the template must not make it the string "9711".
  t.equal(fromTemplate(template(), source, { LOGSHIP_LISTEN: '9711' }), undefined);
});

t.test('another text, a variable without default, or an escaped expression: no answer from the template', async (t) => {
  t.equal(fromTemplate(template(), `${source}\n# edited\n`, {}), undefined, 'the text must be the template\'s own');
  const needsVar = 'server: { listen: "${LISTEN}" }\n';
  t.match(buildConfigTemplate(needsVar), { refused: /LISTEN/ }, 'no template for a text that needs a variable');
  const byHand: ConfigTemplate = { version: 1, source: needsVar, vars: ['${LISTEN}'], value: { server: { listen: { __logship_env__: '__LOGSHIP_ENV_0__', plain: false } } } };
  t.equal(fromTemplate(structuredClone(byHand), needsVar, {}), undefined, 'expandEnv throws: the YAML path reports it with its line');
  t.same(fromTemplate(structuredClone(byHand), needsVar, { LISTEN: 'h:1' }), { server: { listen: 'h:1' } });
  t.match(buildConfigTemplate('a: $${X}\n'), { refused: /escaped/ });
  t.match(buildConfigTemplate('${K}: 1\n'), { refused: /key/ });
  t.match(buildConfigTemplate('a: |\n  ${X:-y}\n'), { refused: /BLOCK_LITERAL/ });
  t.match(buildConfigTemplate('a: "\\${X:-y}"\n'), { refused: /backslash/ });
});

t.test('loadConfig with the built template gives what parsing the file gives', async (t) => {
  t.not(readConfigTemplate(), undefined, 'npm run build wrote dist/bundle/default-config.json');
  for (const env of [...ordinary, ...tricky]) {
    let viaLoad: unknown;
    let viaParse: unknown;
    try {
      viaLoad = loadConfig(DEFAULT_CONFIG, env);
    } catch (e) {
      viaLoad = e instanceof ConfigError ? e.message : e;
    }
    try {
      viaParse = parseConfig(source, DEFAULT_CONFIG, env);
    } catch (e) {
      viaParse = e instanceof ConfigError ? e.message : e;
    }
    t.same(viaLoad, viaParse, JSON.stringify(env));
  }
});
