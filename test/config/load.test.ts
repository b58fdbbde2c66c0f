import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { expandEnv } from '../../src/config/env.ts';
import type { FileSourceConfig } from '../../src/sources/config.ts';
import { tempDir } from '../support/daemon.ts';

const minimal = `
sources:
  - { name: app, paths: ["/var/log/app/*.log"] }
sinks:
  - { type: file, path: /tmp/out.ndjson }
`;

t.test('a minimal config gets the documented defaults', async (t) => {
  const cfg = parseConfig(minimal);
  t.equal(cfg.server.listen, '127.0.0.1:9711');
  t.equal(cfg.positions.sync_interval, 1000);
  t.equal(cfg.memory.max_buffer_bytes, 16 * 1024 * 1024);
  t.equal(cfg.sources[0].parser, 'auto');
  t.equal(cfg.sources[0].type, 'file');
  const file = cfg.sources[0] as FileSourceConfig;
  t.equal(file.start_at, 'end');
  t.equal(file.max_line_bytes, 256 * 1024);
});

t.test('every bad key is reported with its path', async (t) => {
  const text = `
server: { listen: "nowhere" }
sources:
  - { name: app, paths: ["/x/*.log"], parser: yaml }
sinks:
  - type: loki
    url: http://127.0.0.1:3100
    batch: { max_bytes: lots }
  - { type: file, pth: /tmp/x }
`;
  const err = t.throws(() => parseConfig(text)) as ConfigError;
  t.type(err, ConfigError);
  const paths = err.issues.map((i) => i.path).sort();
  t.same(paths, ['server.listen', 'sinks[0].batch.max_bytes', 'sinks[1].pth', 'sources[0].parser'].sort());
  const size = err.issues.find((i) => i.path === 'sinks[0].batch.max_bytes');
  t.equal(size?.message, 'expected a size like "1MiB", got "lots"');
  t.match(err.message, /sinks\[0\]\.batch\.max_bytes: expected a size like "1MiB", got "lots"/);
});

t.test('missing required sections', async (t) => {
  const err = t.throws(() => parseConfig('server: {}')) as ConfigError;
  t.same(err.issues.map((i) => i.path).sort(), ['sinks', 'sources']);
});

t.test('YAML syntax errors are config errors', async (t) => {
  const err = t.throws(() => parseConfig('sources: [\n  {name: x')) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.issues[0].message, /YAML syntax/);
});

t.test('${ENV} and ${ENV:-default} substitution', async (t) => {
  t.equal(expandEnv('a ${X} b', { X: '1' }), 'a 1 b');
  t.equal(expandEnv('${Y:-fallback}', {}), 'fallback');
  t.equal(expandEnv('${Y:-fallback}', { Y: 'set' }), 'set');
  t.equal(expandEnv('$${X}', { X: '1' }), '${X}');
  const cfg = parseConfig(minimal.replace('/tmp/out.ndjson', '${OUT_DIR:-/var/tmp}/out.ndjson'), 'x', { });
  t.equal((cfg.sinks[0] as { path: string }).path, '/var/tmp/out.ndjson');
  const err = t.throws(() => parseConfig(minimal.replace('/tmp/out.ndjson', '${NOPE_NOT_SET}'), 'x', {})) as ConfigError;
  t.match(err.message, /\$\{NOPE_NOT_SET\} is not set/);
});

t.test('secrets are read from files; a missing file is a config error at its key', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'token'), 's3cret\n');
  const cfg = parseConfig(`${minimal}\n  - { type: loki, url: "http://127.0.0.1:3100", bearer_token_file: "${join(dir, 'token')}" }\n`);
  t.equal((cfg.sinks[1] as { bearer_token_file?: string }).bearer_token_file, 's3cret');
  const err = t.throws(() => parseConfig(`${minimal}\n  - { type: loki, url: "http://127.0.0.1:3100", bearer_token_file: "${join(dir, 'missing')}" }\n`)) as ConfigError;
  t.equal(err.issues[0].path, 'sinks[1].bearer_token_file');
  t.match(err.issues[0].message, /ENOENT/);
});

t.test('duplicate names are rejected', async (t) => {
  const err = t.throws(() => parseConfig(`
sources:
  - { name: app, paths: ["/a"] }
  - { name: app, paths: ["/b"] }
sinks: [{ type: stdout }]
`)) as ConfigError;
  t.same(err.issues.map((i) => i.path), ['sources[1].name']);
});
