/**
 * `logship convert --from promtail`: realistic Promtail configs (test/fixtures/promtail/*.yaml,
 * each saying where its keys come from) converted and compared with their golden logship config
 * (NAME.logship.yaml) and their report of unconverted keys (NAME.stderr). A missing golden file
 * fails; LOGSHIP_UPDATE_GOLDEN=1 rewrites them (review the diff). Every converted config must
 * load in logship itself.
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { convertCommand } from '../../src/convert/command.ts';
import { convertPromtail } from '../../src/convert/promtail/convert.ts';
import { runCli, tempDir } from '../support/daemon.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'promtail');
const update = process.env.LOGSHIP_UPDATE_GOLDEN === '1';
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.logship.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

function golden(t: Test, path: string, got: string): void {
  if (update) writeFileSync(path, got);
  t.ok(existsSync(path), `golden file ${path} exists (LOGSHIP_UPDATE_GOLDEN=1 writes it)`);
  if (!existsSync(path)) return;
  t.equal(got, readFileSync(path, 'utf8'), `${path} matches`);
}

/** The converted config as logship loads it: every ${VAR} set, secret files present. */
function loadConverted(yaml: string): ReturnType<typeof parseConfig> {
  const dir = tempDir('logship-convert-');
  const secret = join(dir, 'secret');
  writeFileSync(secret, 's3cret\n');
  const env: NodeJS.ProcessEnv = {};
  for (const m of yaml.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]] = m[1] === 'LOKI_URL' ? 'http://127.0.0.1:3100' : m[1].endsWith('PORT') ? '3199' : `/tmp/${m[1].toLowerCase()}`;
  const text = yaml.replace(/(password_file|bearer_token_file): .*/g, `$1: ${secret}`);
  return parseConfig(text, 'converted.yaml', env);
}

t.ok(FIXTURES.includes('platform'), 'the platform config is among the fixtures');
for (const name of FIXTURES) {
  t.test(name, async (t) => {
    const file = join(DIR, `${name}.yaml`);
    const res = convertPromtail(readFileSync(file, 'utf8'), `${name}.yaml`);
    golden(t, join(DIR, `${name}.logship.yaml`), res.yaml);
    golden(t, join(DIR, `${name}.stderr`), res.issues.map((i) => `${i.path}: ${i.reason}\n`).join(''));
    const cfg = loadConverted(res.yaml);
    t.ok(cfg.sources.length > 0 && cfg.sinks.length > 0, 'the converted config loads in logship');
    t.ok(cfg.positions.import_promtail, 'it imports the Promtail positions');
  });
}

t.test('the platform config: three jobs, three sources with their job labels, one Loki sink', async (t) => {
  const res = convertPromtail(readFileSync(join(DIR, 'platform.yaml'), 'utf8'));
  t.same(res.issues, [], 'everything converts');
  const cfg = loadConverted(res.yaml);
  t.same(cfg.sources.map((s) => [s.name, 'paths' in s ? s.paths : undefined, s.labels.job]), [
    ['cf1-frontend', ['/var/log/cf1-frontend/*.log'], 'cf1-frontend'],
    ['cf1-backend', ['/var/log/cf1-backend/*.log'], 'cf1-backend'],
    ['containers', ['/var/lib/docker/containers/*/*log'], 'containerlogs'],
  ]);
  t.same(cfg.positions.import_promtail, '/var/lib/promtail/positions.yaml');
  const sink = cfg.sinks[0];
  t.equal(sink.type, 'loki');
  if (sink.type === 'loki') {
    t.equal(sink.url, 'http://loki:3100');
    t.equal(sink.line_format, 'message');
  }
});

t.test('labels and structured_metadata: a value that names no extracted value is reported, the others convert', async (t) => {
  // Promtail's labels / structured_metadata stages map a key to the extracted value named by its
  // value (empty: the value named like the key); a mapping there names nothing.
  const res = convertPromtail(`
clients: [{ url: http://loki:3100/loki/api/v1/push }]
scrape_configs:
  - job_name: app
    static_configs: [{ labels: { __path__: /var/log/app.log } }]
    pipeline_stages:
      - logfmt: { mapping: { lvl: level, trace: } }
      - labels: { level: lvl, bad_label: { a: 1 } }
      - structured_metadata: { trace_id: trace, bad_meta: [x] }
`);
  t.same(res.issues.map((i) => `${i.path}: ${i.reason}`), [
    'scrape_configs[0].pipeline_stages[1].labels.bad_label: expected the name of an extracted value',
    'scrape_configs[0].pipeline_stages[2].structured_metadata.bad_meta: expected the name of an extracted value',
  ]);
  t.match(res.yaml, /from:\n\s+level: metadata\.lvl\n/, 'the good label converts');
  t.match(res.yaml, /trace_id: metadata\.trace\n/, 'the good structured metadata converts');
});

t.test('CLI: exit 0 all converted, 1 something left out (listed on stderr), 2 unreadable', async (t) => {
  const ok = await runCli(['convert', '--from', 'promtail', join(DIR, 'platform.yaml')]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stderr, '');
  t.match(ok.stdout, /import_promtail: \/var\/lib\/promtail\/positions.yaml/);

  const partial = await runCli(['convert', '--from', 'promtail', join(DIR, 'services.yaml')]);
  t.equal(partial.code, 1);
  t.match(partial.stderr, /not converted: scrape_configs\[0\]\.pipeline_stages\[6\]\.template\.template: /);
  t.match(partial.stderr, /not converted: scrape_configs\[2\]\.journal: /);
  t.match(partial.stdout, /\$\{LOKI_URL\}/, '${VAR} references are kept for logship to expand');

  const dir = tempDir('logship-convert-');
  writeFileSync(join(dir, 'bad.yaml'), 'scrape_configs: [unclosed\n');
  writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
  const viaCli = await runCli(['convert', '--from', 'promtail', join(dir, 'bad.yaml')]);
  t.equal(viaCli.code, 2, 'unreadable input: exit 2 through the CLI');
  t.match(viaCli.stderr, /not valid YAML/);
  // The other refusals in process (each CLI start costs seconds on a loaded machine).
  for (const [opts, why] of [
    [{ from: 'promtail', file: join(dir, 'missing.yaml') }, /cannot read .*ENOENT/],
    [{ from: 'promtail', file: join(dir, 'list.yaml') }, /expected a Promtail config/],
    [{ from: 'fluentd', file: join(dir, 'list.yaml') }, /--from must be one of promtail/],
    [{ from: 'promtail', file: undefined }, /name the Promtail config file/],
  ] as Array<[{ from: string; file: string | undefined }, RegExp]>) {
    let out = '';
    let err = '';
    const code = convertCommand(opts, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    t.equal(code, 2, JSON.stringify(opts));
    t.match(err, why);
    t.equal(out, '');
  }
});
