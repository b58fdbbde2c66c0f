#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=4 --heap-growing-percent=25 --no-maglev --no-opt --no-sparkplug
// The V8 flags: V8 sizes the young generation from physical memory, so on a big host a shipper
// that allocates per line keeps tens of MiB of young garbage resident. 8 MiB semi-spaces cost no
// measurable CPU and cut peak RSS by ~100 MiB (JSON -> Loki, 24 GiB host); 4 MiB another ~8 MiB
// (200k seed lines into countsink, 4 interleaved pairs: peak 129-130 vs 135-139 MiB, CPU 4.88
// vs 4.81 s mean, within the noise; ~3 MiB less RSS at ready); 2 MiB cost 2-16% CPU, and V8's
// --memory-saver-mode / --optimize-for-size 17-27% (bench/RESULTS.md "Memory"). And after each full GC
// V8 lets the old generation grow up to ~4x what survived; 1.25x (heap-growing-percent) cut the
// 1M-line JSON -> Loki peak from 224 to 161 MiB at no measurable CPU cost. MALLOC_ARENA_MAX=1:
// glibc gives each thread that mallocs (V8's platform workers, libuv's pool running snappy, zlib,
// fs) its own arena, and their free pages stay resident; two arenas cut the same peak by ~10 MiB
// at no measurable CPU cost (2 x 2 runs each way, 1M lines). One: the second arena (V8's GC and
// compiler threads) held 3-11 MiB at the peaks with 0.2 MiB of it in use (malloc_stats at a
// draining peak); with one arena that memory is the main thread's to reuse: peaks 3-7 MiB lower,
// CPU within the noise (bench/RESULTS.md, "Memory: malloc's free pages"). --no-maglev: V8's mid-tier compiler
// keeps each finished job's zone (100-900 KiB) until the busy main thread installs it, ~12 MiB
// in the first second of a backlog, when the heap also grows; without it, functions go from
// baseline code to TurboFan, and peak RSS is ~10 MiB lower at the same CPU (nginx -> countsink,
// 4 interleaved runs each way: 142-149 vs 151-156 MiB, CPU 7.17 vs 7.16 s). --no-opt and
// --no-sparkplug: TurboFan and the baseline compiler off until the daemon has started
// (enableCompilers below turns them on): the start's own hot code (module evaluation, zod, yaml)
// otherwise gets compiled again once and never runs again, and the compilers' code pages of the
// node binary stay resident: 7 MiB less RSS at /ready and idle (74 -> 67 MiB, 66 -> 59 MiB 2 s
// later; TurboFan 6 of them), no more CPU to /ready (bench/RESULTS.md, "Start-up"). Every
// way logship is launched passes the same flags and environment: this shebang (npm bin, systemd), the `start`
// script, the Dockerfile ENTRYPOINT (and so the Kubernetes examples); test/deploy checks they agree.
import { basename, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { IdleWatch } from './idle-watch.ts';
import { overrideConfig, type OverrideTarget } from './config/env-override.ts';
import { ConfigError, loadConfig, parseConfig, validateConfig } from './config/load.ts';
import { sinkName, type Config } from './config/schema.ts';
import { configWarnings } from './config/warnings.ts';
import { Daemon } from './daemon.ts';
import { createLogger, LOG_LEVELS } from './core/log.ts';
import { PARSER_NAMES } from '../parsers/index.ts';
import { PACKAGE_ROOT, VERSION } from './core/version.ts';
import { enableLinearRegexEngine } from './parse/safe-regex.ts';
import { assertSupportedNode, UnsupportedNodeError } from './node-version.ts';

const EXIT_CONFIG = 2;
/** The Node.js running the bin is older than logship supports (sysexits EX_SOFTWARE would mislead: it is the environment). */
const EXIT_UNSUPPORTED_NODE = 3;
export const DEFAULT_CONFIG = join(PACKAGE_ROOT, 'config', 'logship.yaml');

const HELP = `logship ${VERSION} — tail, parse and ship logs to Loki and Elasticsearch

Usage:
  logship run [--config FILE] [--dry-run] [--log-level LEVEL]
      Run the daemon. Without --config: the embedded default (${'config/logship.yaml'}),
      shipping to LOKI_URL or ELASTICSEARCH_URL when set, else to ./data/shipped.ndjson.
      --dry-run prints the records that would be shipped as NDJSON on stdout instead.
  logship validate [--config FILE] [--print-config]
      Check a config file; prints every problem with its key path. Exit 0 valid, 2 invalid.
      --print-config prints the effective config instead (after \${VAR} expansion, defaults and
      environment overrides) as YAML on stdout, credentials as <secret>; notes go to stderr.
  logship parse [--parser NAME] [--service NAME] [--pattern RE] [--timezone TZ] [--config FILE [--source NAME] [--file PATH]] [--no-stages]
      Read lines on stdin, print normalized records as NDJSON (parsers: ${PARSER_NAMES.join(', ')}),
      after the built-in classification and redaction unless --no-stages. With --config, the
      source's parser, parser_options and service and the config's classification/redaction;
      for a journald source the input is \`journalctl -o json\` output, mapped like the daemon does;
      for a file source its whole chain: Docker/CRI decoding (partial lines rejoined) and multiline,
      with container metadata from --file (default: the source's first path).
  logship es-template [--config FILE] [--sink NAME] [--format json|console]
      Print the Elasticsearch component + index template for the (first) elasticsearch sink:
      JSON (default) or Kibana Dev Tools requests. manage_template: true installs it on start.
  logship convert --from promtail FILE
      Print the logship config equivalent to a Promtail config on stdout; every key not
      converted on stderr with its key path and why. Exit 0 all converted, 1 something left out,
      2 unreadable input.
  logship --version | --help

Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config (an invalid one is refused).
`;

interface Args {
  command: string;
  flags: Map<string, string | true>;
}

/** Flags every command takes. */
const GLOBAL_FLAGS = ['help', 'version', 'log-level'];
/** Each command's own flags; a flag listed here with a value is in VALUE_FLAGS too. */
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  run: ['config', 'dry-run'],
  validate: ['config', 'print-config'],
  parse: ['parser', 'service', 'pattern', 'timezone', 'config', 'source', 'file', 'no-stages'],
  'es-template': ['config', 'sink', 'format'],
  convert: ['from'],
  help: [],
};
const VALUE_FLAGS = new Set(['config', 'log-level', 'parser', 'service', 'sink', 'format', 'pattern', 'timezone', 'source', 'from', 'file']);
const SHORT_FLAGS: Record<string, string> = { '-c': 'config', '-h': 'help', '-v': 'version' };

/**
 * The command and its flags. A command or flag it does not know, a flag the command does not
 * take, a missing value or a stray argument is a UsageError naming it (with the nearest known
 * name): a typo (`--confg x.yaml`) must not start the daemon on the default config.
 */
function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  let command = '';
  const seen: string[] = [];
  const stray: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-') && a !== '-') {
      let name: string;
      let value: string | undefined;
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        name = eq > 0 ? a.slice(2, eq) : a.slice(2);
        value = eq > 0 ? a.slice(eq + 1) : undefined;
      } else if (SHORT_FLAGS[a] !== undefined) name = SHORT_FLAGS[a];
      else throw new UsageError(`unknown flag "${a}"${suggest(a, Object.keys(SHORT_FLAGS))}`);
      if (VALUE_FLAGS.has(name)) {
        if (value === undefined) {
          if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`${a} needs a value`);
          value = argv[++i];
        }
        flags.set(name, value);
      } else {
        if (value !== undefined) throw new UsageError(`--${name} takes no value (got "${a}")`);
        flags.set(name, true);
      }
      seen.push(name);
    } else if (!command) command = a;
    else if (command === 'convert' && !flags.has('file')) flags.set('file', a);
    else stray.push(a);
  }
  // Unknown flags first: `--confg x.yaml` is a misspelled flag, not the command "x.yaml".
  const known = [...GLOBAL_FLAGS, ...new Set(Object.values(COMMAND_FLAGS).flat())];
  for (const name of seen) if (!known.includes(name)) throw new UsageError(`unknown flag "--${name}"${suggest(name, known, '--')}`);
  if (stray.length > 0) throw new UsageError(`unexpected argument "${stray[0]}"`);
  if (flags.has('help') || flags.has('version')) return { command, flags };
  const cmd = command || 'run';
  const own = COMMAND_FLAGS[cmd];
  if (own === undefined) throw new UsageError(`unknown command "${command}"${suggest(command, Object.keys(COMMAND_FLAGS))}`);
  for (const name of seen) {
    if (!GLOBAL_FLAGS.includes(name) && !own.includes(name)) throw new UsageError(`${cmd} does not take --${name} (it takes ${[...own, ...GLOBAL_FLAGS].map((f) => `--${f}`).join(', ')})`);
  }
  return { command, flags };
}

/** ` (did you mean X?)` for the nearest candidate within edit distance 2 (or a prefix), else ''. */
function suggest(typed: string, candidates: readonly string[], prefix = ''): string {
  let best = '';
  let bestDistance = 3;
  for (const c of candidates) {
    const d = c.startsWith(typed) || typed.startsWith(c) ? 1 : editDistance(typed, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${prefix}${best}?)` : '';
}

/** Levenshtein distance with adjacent transpositions counting one (`--confg`, `--cnofig`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

class UsageError extends Error {}

/**
 * The documented environment overrides, applied on top of any config (the embedded default or
 * --config), the environment winning over the file (each applied one is listed in `applied`):
 * - LOGSHIP_LISTEN: server.listen;
 * - LOGSHIP_DATA_DIR: the directory of positions.path (its file name kept);
 * - LOKI_URL / ELASTICSEARCH_URL: the url of every sink of that type; a config without one gets
 *   one added, except that the embedded default's fallback file sink is replaced instead.
 * `${VAR}` references inside the file are expanded before all this (src/config/env.ts).
 */
export function applyEnvOverrides(cfg: Config, env: NodeJS.ProcessEnv, opts: { embeddedDefault: boolean }): { cfg: Config; applied: string[] } {
  const applied: string[] = [];
  const set = (v: string | undefined) => (v !== undefined && v !== '' ? v : undefined);
  let out: Config = cfg;
  const listen = set(env.LOGSHIP_LISTEN);
  if (listen !== undefined) {
    out = { ...out, server: { ...out.server, listen: parseOverride({ server: 'listen' }, listen, 'LOGSHIP_LISTEN').server.listen } };
    applied.push('server.listen from LOGSHIP_LISTEN');
  }
  const dataDir = set(env.LOGSHIP_DATA_DIR);
  if (dataDir !== undefined) {
    out = { ...out, positions: { ...out.positions, path: join(dataDir, basename(out.positions.path)) } };
    applied.push('positions.path from LOGSHIP_DATA_DIR');
  }
  const urls = [['loki', set(env.LOKI_URL), 'LOKI_URL'], ['elasticsearch', set(env.ELASTICSEARCH_URL), 'ELASTICSEARCH_URL']] as const;
  let sinks = out.sinks;
  const added: Config['sinks'] = [];
  for (const [type, url, variable] of urls) {
    if (url === undefined) continue;
    const fresh = parseOverride({ sink: type }, url, variable).sinks[0];
    if (sinks.some((s) => s.type === type)) {
      sinks = sinks.map((s, i) => {
        if (s.type !== type) return s;
        applied.push(`sinks[${i}].url from ${variable}`);
        return { ...s, url: (fresh as { url: string }).url } as Config['sinks'][number];
      });
    } else {
      added.push(fresh);
      applied.push(`a ${type} sink from ${variable}`);
    }
  }
  if (added.length > 0) {
    // The embedded default's file sink is only the fallback for "no sink given".
    if (opts.embeddedDefault) {
      sinks = sinks.filter((s) => s.type !== 'file');
      applied.push('the default file sink dropped');
    }
    sinks = [...sinks, ...added];
  }
  if (sinks !== out.sinks) out = { ...out, sinks };
  return { cfg: out, applied };

  /** Validated by the config schema itself; an invalid value fails naming the variable. */
  function parseOverride(target: OverrideTarget, value: string, variable: string): Config {
    const file = `(environment variable ${variable})`;
    const { text, raw } = overrideConfig(target, value);
    return raw === undefined ? parseConfig(text, file, {}) : validateConfig(raw, file);
  }
}

/** The config to run and the environment overrides applied to it. */
function readConfig(flags: Args['flags']): { cfg: Config; applied: string[] } {
  const file = typeof flags.get('config') === 'string' ? (flags.get('config') as string) : DEFAULT_CONFIG;
  return applyEnvOverrides(loadConfig(file), process.env, { embeddedDefault: file === DEFAULT_CONFIG });
}

async function main(argv: string[]): Promise<number> {
  try {
    assertSupportedNode(process.versions.node, process.execPath);
  } catch (e) {
    if (!(e instanceof UnsupportedNodeError)) throw e;
    process.stderr.write(`logship: ${e.message}\n`);
    return EXIT_UNSUPPORTED_NODE;
  }
  // Before any config is read: every regex compiled from here on (user patterns, multiline starts)
  // gets V8's linear-engine fallback (src/parse/safe-regex.ts says why).
  enableLinearRegexEngine();
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`logship: ${e.message}\nRun "logship --help" for the commands and their flags.\n`);
    return EXIT_CONFIG;
  }
  const { command, flags } = args;
  if (flags.has('version')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (flags.has('help') || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const level = typeof flags.get('log-level') === 'string' ? (flags.get('log-level') as string) : process.env.LOGSHIP_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(`logship: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return EXIT_CONFIG;
  }
  // Every command but `run` gets the compilers now (`parse` may read a large input); `run` once started.
  if ((command || 'run') !== 'run') enableCompilers();
  switch (command || 'run') {
    case 'validate':
      return await validate(flags);
    case 'run':
      return run(flags, level);
    case 'parse': {
      // Loaded for this command only: the daemon never needs the preview's readline and chain wiring.
      const { parseCommand } = await import('./parse-command.ts');
      return parseCommand(flags);
    }
    case 'es-template':
      return esTemplate(flags);
    case 'convert': {
      const { convertCommand } = await import('./convert/command.ts');
      const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
      return convertCommand({ from: str('from'), file: str('file') }, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
    }
    default:
      process.stderr.write(`logship: unknown command "${command}"\n\n${HELP}`);
      return EXIT_CONFIG;
  }
}

async function validate(flags: Args['flags']): Promise<number> {
  const read = readConfigOrReport(flags);
  if (read === null) return EXIT_CONFIG;
  const { cfg, applied } = read;
  if (flags.has('print-config')) {
    // stdout is the YAML alone (redirectable into a file); the notes go to stderr.
    for (const a of applied) process.stderr.write(`environment override: ${a}\n`);
    for (const w of configWarnings(cfg)) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
    const { renderEffectiveConfig } = await import('./config/effective-config.ts');
    process.stdout.write(renderEffectiveConfig(cfg));
    return 0;
  }
  for (const a of applied) process.stdout.write(`environment override: ${a}\n`);
  for (const w of configWarnings(cfg)) process.stdout.write(`warning: ${w.path}: ${w.message}\n`);
  process.stdout.write(`config ok: ${cfg.sources.length} source(s), ${cfg.pipeline.length} stage(s), ${cfg.sinks.length} sink(s)\n`);
  return 0;
}

/**
 * One memory-reducing full collection once the daemon runs. Start-up allocates ~10 MiB that
 * survives (code, config schemas, the pipeline), so V8 grows the young generation to its cap
 * (2 x --max-semi-space-size) and keeps it; nothing shrinks it while logship is idle (RSS the same
 * 30 s after /ready). This gives back ~8 MiB of RSS for 60-90 ms of CPU, once (bench/RESULTS.md,
 * "Start-up"); a busy daemon grows the young generation again as it needs it. V8's gc() with
 * `flavor: 'last-resort'` is the collection it runs itself under memory pressure; it is reached
 * through a context created after --expose-gc is set, so the flag need not be on every launch path.
 */
function releaseStartupMemory(): void {
  setFlagsFromString('--expose-gc');
  // node:vm only now: a process that never gets here (validate, parse) does not load it.
  process.getBuiltinModule('node:vm').runInNewContext("gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })");
  setFlagsFromString('--no-expose-gc');
}

/**
 * TurboFan and Sparkplug back on, and the young generation free to grow. The launch flags (shebang, `npm start`, the image, the systemd
 * unit) start logship with --no-opt --no-sparkplug so that the start-up's code, which runs once,
 * is only interpreted (see the top of this file); V8 reads the flags whenever a function gets
 * warm or hot, so from here on the per-line code is compiled as usual, on this thread and the
 * pipeline workers' (flags are per process). A launch without the two flags is unchanged.
 */
function enableCompilers(): void {
  setFlagsFromString('--opt');
  setFlagsFromString('--sparkplug');
  // The young generation may grow again (held at its initial size by src/launch.ts, the bundle's
  // entry; V8's default factor).
  setFlagsFromString('--semi-space-growth-factor=2');
}

/**
 * The HTTP server's `listen(port, host)` looks the host up and skips IPv6 link-local answers with
 * `net.isIPv6`, whose regex (~2 KB of alternatives) V8 compiles with its regexp optimizations at
 * that first use: ~10 ms of the start, for one address. Compiled beforehand with them off it
 * takes ~1 ms; the flag is back on before any other code runs, so the optimized native code is
 * still what V8 tiers the regex up to at its next use (~2-3 ms), and every other regex is compiled
 * as before. In process, the two calls: 9.7-12.0 ms as is, 2.9-4.7 ms this way.
 */
function precompileListenRegex(): void {
  setFlagsFromString('--no-regexp-optimization');
  try {
    process.getBuiltinModule('node:net').isIPv6('::');
  } finally {
    setFlagsFromString('--regexp-optimization');
  }
}

/** The config and the overrides applied, or null after printing every problem with its key path (the caller exits 2). */
function readConfigOrReport(flags: Args['flags']): { cfg: Config; applied: string[] } | null {
  try {
    return readConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return null;
    }
    throw e;
  }
}

async function run(flags: Args['flags'], level: string): Promise<number> {
  const log = createLogger(level);
  const read = readConfigOrReport(flags);
  if (read === null) return EXIT_CONFIG;
  const { cfg, applied } = read;
  if (applied.length > 0) log.info({ overrides: applied }, 'environment overrides applied to the config');
  const daemon = new Daemon(cfg, { log, dryRun: flags.has('dry-run') });
  precompileListenRegex();
  try {
    await daemon.start();
  } catch (e) {
    log.fatal({ err: e }, 'failed to start');
    await daemon.stop().catch(() => {});
    return 1;
  }
  enableCompilers();
  // Off the path to /ready, at the first second the event loop is mostly idle: the sources'
  // first scan and reads leave garbage too, and a backlog being caught up is the worst time for
  // a full collection (src/idle-watch.ts).
  const idle = new IdleWatch({ onIdle: releaseStartupMemory, intervalMs: 1000, maxBusy: 0.1 });
  idle.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      idle.stop();
      log.info({ signal }, 'shutting down');
      daemon.stop().then(() => resolve(0), (err: Error) => {
        log.error({ err }, 'error during shutdown');
        resolve(1);
      });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      if (stopping) return;
      let next: Config;
      try {
        next = readConfig(flags).cfg;
      } catch (e) {
        log.error({ err: e instanceof ConfigError ? e.issues : (e as Error).message }, 'reload refused: new config is invalid; keeping the running one');
        return;
      }
      daemon.reload(next).then(() => log.info('reload complete'), (err: Error) => log.error({ err }, 'reload failed'));
    });
  });
}

/** Prints the templates of the named (or first) elasticsearch sink, or of a default one. */
async function esTemplate(flags: Args['flags']): Promise<number> {
  const { buildTemplates, templatesAsConsole } = await import('./sinks/elasticsearch/template.ts');
  const cfg = readConfigOrReport(flags)?.cfg;
  if (cfg === undefined) return EXIT_CONFIG;
  const wanted = flags.get('sink');
  const candidates = cfg.sinks.map((s, i) => ({ s, name: sinkName(cfg, i) })).filter((c) => c.s.type === 'elasticsearch');
  const pick = typeof wanted === 'string' ? candidates.find((c) => c.name === wanted) : candidates[0];
  if (typeof wanted === 'string' && !pick) {
    process.stderr.write(`logship: no elasticsearch sink named "${wanted}" (have: ${candidates.map((c) => c.name).join(', ') || 'none'})\n`);
    return EXIT_CONFIG;
  }
  const es = pick?.s ?? parseConfig('sources: [{name: x, paths: [/x]}]\nsinks: [{type: elasticsearch, url: "http://127.0.0.1:9200"}]', '<default>').sinks[0];
  if (es.type !== 'elasticsearch') return EXIT_CONFIG;
  const t = buildTemplates(es);
  const format = flags.get('format') ?? 'json';
  if (format === 'console') process.stdout.write(templatesAsConsole(t));
  else if (format === 'json') process.stdout.write(JSON.stringify({ component_templates: { [t.component.name]: t.component.body }, index_templates: { [t.index.name]: t.index.body } }, null, 2) + '\n');
  else {
    process.stderr.write('logship: --format must be json or console\n');
    return EXIT_CONFIG;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The daemon's handles are closed on stop; do not wait for stray timers.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`logship: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
