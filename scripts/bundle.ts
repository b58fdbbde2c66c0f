/**
 * The shipped CLI (issue 26 item 5): esbuild bundles the sources from their entry points into ESM
 * under dist/bundle/, so `logship` loads ~20 files instead of ~390 modules (bin, `npm start`, the
 * image and the systemd unit run dist/bundle/cli.js). `npm run build` runs it after tsc, and so
 * does `pretest`: the bundle is never older than the sources it was built from.
 *
 *   node scripts/bundle.ts [--metafile]    (--metafile: also dist/bundle/meta.json, what went where)
 *
 * It also writes dist/bundle/default-config.json, the embedded default config parsed at build time
 * (src/config/preparsed.ts says when a start uses it).
 *
 * Dynamic imports (the status page, syslog, the Promtail positions import and converter, `parse`,
 * `validate --print-config`, `es-template`, the Loki and Elasticsearch sinks) stay
 * separate chunks, loaded when used (code splitting). The yaml library is a file of its own,
 * dist/bundle/yaml.cjs (yamlOwnFile). Left out and resolved from node_modules at run time: snappy,
 * a native addon whose binary npm picks per platform.
 */
import type { Plugin } from 'esbuild';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE_DIR = join(ROOT, 'dist', 'bundle');
const TARGET = 'node22.18';

/**
 * Every file Node starts on, a process or a thread: each becomes dist/bundle/<name>.js. Chunks go
 * in the same directory (no subdirectory), so code that finds a worker's entry as
 * `new URL('./<name>.js', import.meta.url)` (src/workers/pool.ts) finds it from whichever chunk
 * that code lands in, as it does beside its own module in dist/src/.
 */
const ENTRY_POINTS: Record<string, string> = {
  // src/launch.ts, which imports src/cli.ts (a chunk) once it has set a V8 flag for the start.
  cli: 'src/launch.ts',
  'pipeline-worker': 'src/workers/pipeline-worker.ts',
};

/** Packages left out of the bundle: native addons. */
const EXTERNAL = ['snappy'];

/**
 * `import { z } from 'zod'` read as `import * as z from 'zod'` (the same exports): esbuild leaves
 * out the members of a namespace import that are never read, but keeps every member of the `z`
 * object zod exports, among them its 40 locales: 260 KB of 1.2 MB parsed at every start.
 */
const zodNamespaceImports: Plugin = {
  name: 'zod-namespace-imports',
  setup(b) {
    const ours = new RegExp(`^${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(src|parsers)/.*\\.ts$`);
    b.onLoad({ filter: ours }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/^import \{ z \} from 'zod';$/m, "import * as z from 'zod';"), loader: 'ts' };
    });
  },
};

/**
 * pino's file destination (sonic-boom) and transport (thread-stream) left out: logship's logger
 * writes to fd 2 itself (src/core/log.ts) and starts no transport, but pino requires both when it
 * loads, and with them Node's assert and worker_threads: 25 KB of code and two built-ins at every
 * start. What is bundled instead throws, naming why, if anything ever calls them.
 */
const pinoUnusedStreams: Plugin = {
  name: 'pino-unused-streams',
  setup(b) {
    b.onResolve({ filter: /^(sonic-boom|thread-stream)$/ }, (args) => ({ path: args.path, namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      contents: `module.exports = function () { throw new Error('${args.path} is left out of the logship bundle (scripts/bundle.ts): log through src/core/log.ts'); };`,
      loader: 'js',
    }));
  },
};

/** The yaml library's own file in dist/bundle/, beside the chunks (yamlOwnFile). */
const YAML_FILE = 'yaml.cjs';

/**
 * The yaml library built on its own as dist/bundle/yaml.cjs, outside the chunks: a start with the
 * embedded default config parses no YAML (src/config/preparsed.ts), but bundled into a shared
 * chunk the library's 160 KB were in cli.js's static imports (load.ts reaches it) and so read and
 * compiled at every start (bench/RESULTS.md, "Start-up"). `import ... from 'yaml'` (print-config,
 * convert, the Promtail positions import, all loaded lazily) becomes an import of ./yaml.cjs,
 * whose named exports Node reads from esbuild's export annotation; src/config/yaml.ts's loadYaml
 * becomes a require() of it at its first call. Every chunk is in the same directory, so
 * './yaml.cjs' resolves from whichever chunk holds the import.
 */
const yamlOwnFile: Plugin = {
  name: 'yaml-own-file',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: `./${YAML_FILE}`, external: true }));
    b.onLoad({ filter: /[\\/]src[\\/]config[\\/]yaml\.ts$/ }, () => ({ contents: "export function loadYaml() { return require('yaml'); }", loader: 'js' }));
  },
};

// A checkout installed before esbuild became a devDependency: say what to do, not just ERR_MODULE_NOT_FOUND.
const { build } = await import('esbuild').catch((err: unknown) => {
  throw new Error(`scripts/bundle.ts: esbuild cannot be loaded (${(err as Error).message}); run \`npm install\` (or \`npm ci\`) first`);
});
rmSync(BUNDLE_DIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ENTRY_POINTS,
  outdir: BUNDLE_DIR,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: TARGET,
  // Whitespace and syntax only: identifiers keep their names, so stack traces and logged error
  // types stay readable (full minification: ~1 MiB less RSS at ready, not worth unreadable traces).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  external: EXTERNAL,
  // CommonJS packages inside an ESM bundle still require() Node's built-ins.
  banner: { js: "import{createRequire as __logshipRequire}from'node:module';const require=__logshipRequire(import.meta.url);" },
  plugins: [yamlOwnFile, zodNamespaceImports, pinoUnusedStreams],
  metafile: process.argv.includes('--metafile'),
  logLevel: 'warning',
});
// Every runtime export of the package, named: Node finds a CommonJS file's exports for an ESM
// import only when they are spelled out (esbuild's annotation), which `export *` would not do.
// (Node's namespace of a CommonJS module also has `default` and `module.exports`.)
const yamlExports = Object.keys(await import('yaml')).filter((name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name));
await build({
  absWorkingDir: ROOT,
  stdin: { contents: `export { ${yamlExports.join(', ')} } from 'yaml';`, resolveDir: ROOT, loader: 'js', sourcefile: 'yaml-exports.js' },
  outfile: join(BUNDLE_DIR, YAML_FILE),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: TARGET,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
// The bin's shebang (the V8 flags and the malloc arena limit every launch path passes) is
// src/cli.ts's, the one place it is written and what a run from the sources uses; the entry,
// src/launch.ts, has none of its own.
const shebang = /^#!.*\n/.exec(readFileSync(join(ROOT, 'src', 'cli.ts'), 'utf8'))?.[0];
if (shebang === undefined) throw new Error('scripts/bundle.ts: src/cli.ts does not start with a shebang line');
const cliFile = join(BUNDLE_DIR, 'cli.js');
writeFileSync(cliFile, shebang + readFileSync(cliFile, 'utf8'));
chmodSync(cliFile, 0o755);
if (result.metafile) writeFileSync(join(BUNDLE_DIR, 'meta.json'), JSON.stringify(result.metafile));

// The embedded default config, parsed now instead of at every start (src/config/preparsed.ts).
const { buildConfigTemplate } = await import('../src/config/template-build.ts');
const { CONFIG_TEMPLATE_FILE } = await import('../src/config/preparsed.ts');
const defaultConfig = join(ROOT, 'config', 'logship.yaml');
const template = existsSync(defaultConfig) ? buildConfigTemplate(readFileSync(defaultConfig, 'utf8')) : { refused: `${defaultConfig} not found` };
if ('refused' in template) {
  rmSync(CONFIG_TEMPLATE_FILE, { force: true });
  process.stderr.write(`scripts/bundle.ts: config/logship.yaml is parsed at every start (no template: ${template.refused})\n`);
} else writeFileSync(CONFIG_TEMPLATE_FILE, JSON.stringify(template));
