import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createServer } from 'node:net';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/**
 * The CLI the tests run: its sources, through Node's type stripping, so a test never runs a build
 * older than the code it checks. Launched as its shebang launches it (see cliLaunch).
 */
export const CLI_SOURCE = join(ROOT, 'src', 'cli.ts');
/** tsc's output of the CLI (the package's `main` side); a test gets it from builtCli(). */
const CLI_BUILT = join(ROOT, 'dist', 'src', 'cli.js');
/** The bundle the npm bin, `npm start`, the image and the unit run (scripts/bundle.ts); see builtBundle(). */
const CLI_BUNDLE = join(ROOT, 'dist', 'bundle', 'cli.js');

/**
 * The node arguments and environment src/cli.ts's shebang gives the CLI (V8 flags, malloc arena
 * limit), so tests run the daemon the way an installed bin runs it.
 */
export function cliLaunch(): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
  const m = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)*)\n/.exec(readFileSync(CLI_SOURCE, 'utf8'));
  if (m === null) throw new Error(`${CLI_SOURCE} does not start with an \`#!/usr/bin/env -S ... node\` shebang`);
  // Node's compile cache (keyed by source content, so never stale) spares every spawned CLI
  // stripping and compiling the sources again: half its start-up CPU on this 2-core machine.
  const env: NodeJS.ProcessEnv = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(ROOT, 'node_modules', '.cache', 'logship-test-compile') };
  for (const assignment of m[1].split(' ').filter(Boolean)) {
    const eq = assignment.indexOf('=');
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { nodeArgs: m[2].split(' ').filter(Boolean), env };
}

/** dist/ is missing a compiled file or older than its source. */
export class StaleBuildError extends Error {
  readonly stale: string[];

  constructor(stale: string[]) {
    super(`dist/ is older than the sources (${stale.slice(0, 3).join('; ')}${stale.length > 3 ? `; ${stale.length - 3} more` : ''}): run \`npm run build\` first (npm test's pretest does)`);
    this.name = 'StaleBuildError';
    this.stale = stale;
  }
}

/**
 * The built CLI, for the tests of what the package ships (bin, unit, image). Fails with
 * StaleBuildError when any .ts under src/ or parsers/ is newer than its compiled .js, so such a
 * test never checks an old build.
 */
export function builtCli(): string {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const rel = relative(ROOT, path);
        const built = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(built)) stale.push(`${rel} has no ${relative(ROOT, built)}`);
        else if (statSync(built).mtimeMs < statSync(path).mtimeMs) stale.push(`${rel} is newer than ${relative(ROOT, built)}`);
      }
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'parsers'));
  if (stale.length > 0) throw new StaleBuildError(stale);
  return CLI_BUILT;
}

/**
 * The bundled CLI, for the tests of what is shipped and run (bin, unit, image, bundle.test.ts).
 * Fails with StaleBuildError when any .ts under src/ or parsers/, or the bundler script, is newer
 * than the bundle, so such a test never runs an old build.
 */
export function builtBundle(): string {
  if (!existsSync(CLI_BUNDLE)) throw new StaleBuildError([`${relative(ROOT, CLI_BUNDLE)} is missing`]);
  const built = statSync(CLI_BUNDLE).mtimeMs;
  const stale: string[] = [];
  const check = (path: string): void => {
    if (statSync(path).mtimeMs > built) stale.push(`${relative(ROOT, path)} is newer than ${relative(ROOT, CLI_BUNDLE)}`);
  };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) check(path);
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'parsers'));
  check(join(ROOT, 'scripts', 'bundle.ts'));
  if (stale.length > 0) throw new StaleBuildError(stale);
  return CLI_BUNDLE;
}

/** A record as the file sink wrote it: the fields the source tests check, with the source's metadata shape. */
export interface ShippedRecord<Metadata = Record<string, unknown>> {
  timestamp: string;
  level: string;
  service: string;
  message: string;
  event_type?: string;
  action?: string;
  metadata?: Metadata;
  source: { type: string; name: string; host?: string; peer?: string };
}

/**
 * A fresh directory under the system temp dir, removed when the test process exits (set
 * LOGSHIP_KEEP_TEST_DIRS=1 to keep them for a look). Left behind, every run added a few hundred
 * directories to /tmp, and a file source watching a path there lists them all.
 */
export function tempDir(prefix = 'logship-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.env.LOGSHIP_KEEP_TEST_DIRS !== '1') {
    if (TEMP_DIRS.size === 0) process.once('exit', removeTempDirs);
    TEMP_DIRS.add(dir);
  }
  return dir;
}

/** This test process's temp dirs (see tempDir). */
const TEMP_DIRS = new Set<string>();

function removeTempDirs(): void {
  // at exit the test's teardowns have run (children killed); a file a straggler still writes
  // is not worth failing the run for
  for (const dir of TEMP_DIRS) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // left for the system's temp cleaning
    }
  }
}

/**
 * A free TCP port on 127.0.0.1 (bound then released), picked at random below Linux's ephemeral
 * range (32768-60999 by default). A port from listen(0) comes from that range, and between its
 * release and the daemon's bind any outgoing connection on the machine (a sink to Loki, a
 * scrape) may take it as its local port: EADDRINUSE, seen in CI. Below the range only another
 * test's explicit bind can take it, and a random pick among 12,000 ports makes that unlikely.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
    if (attempt > 200) throw new Error('no free port in 20000-31999 after 200 tries');
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits before asserting that something did NOT happen (no re-read, no re-send, no late ack).
 * Unlike a sleep before asserting that work finished, a loaded machine can only make this miss a
 * late wrong event, never fail a correct run. Never use it before asserting that work was done:
 * wait for that with waitFor.
 */
export const graceForLateEvents = (ms: number) => sleep(ms);

/**
 * Polls `fn` until it returns something truthy; fails after `timeoutMs`. The deadline only bounds
 * a failing test, so defaults are generous: a loaded 2-core machine is slow, not wrong.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 60_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** The daemon exited while a test waited for it to come up. */
export class DaemonExitedError extends Error {
  constructor(code: number | null, signal: NodeJS.Signals | null, stderr: string) {
    super(`logship exited (code ${code}, signal ${signal}) before it came up; stderr: ${stderr.slice(-1000)}`);
    this.name = 'DaemonExitedError';
  }
}

/**
 * The node binary and `cli` (the sources' entry by default) where `user` can reach them: the
 * checkout itself, or, when a parent directory shuts others out (a clone inside `mktemp -d`, mode
 * 0700), a copy of what the CLI loads, hard-linked (same files, new world-readable directories)
 * into `dir`, which `user` must be able to enter.
 */
export function appForUser(user: { uid: number; gid: number }, dir: string, cli: string = CLI_SOURCE): { node: string; cli: string } {
  const canRead = (path: string) =>
    spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'test', '-r', path]).status === 0;
  if (canRead(cli) && canRead(process.execPath)) return { node: process.execPath, cli };
  const app = join(dir, 'app');
  mkdirSync(app);
  for (const part of ['package.json', 'dist', 'node_modules', 'config', 'src', 'parsers']) {
    if (!existsSync(join(ROOT, part))) continue;
    const r = spawnSync('cp', ['-al', join(ROOT, part), join(app, part)], { encoding: 'utf8' });
    if (r.status !== 0) spawnSync('cp', ['-a', join(ROOT, part), join(app, part)]);
  }
  const inApp = (path: string) => (path.startsWith(ROOT + '/') ? join(app, path.slice(ROOT.length + 1)) : path);
  return { node: inApp(process.execPath), cli: inApp(cli) };
}

/** A tempDir() other users can enter and read (for appForUser's copy). */
export function worldReadableDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  return dir;
}

/** The real logship CLI as a child process. */
export class DaemonProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `user`: run as that uid/gid (the test runs as root, which chmod cannot deny; libuv drops the
   * supplementary groups too), to exercise permission errors for real. `cli`: another entry than
   * the sources (builtBundle()), launched the same way. `node`: another node binary (appForUser()).
   * `noTapHook`: without tap's preload (NODE_OPTIONS), as the bin runs outside tests: for what the
   * process has allocated by the time the CLI starts (the young generation's size).
   */
  constructor(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; user?: { uid: number; gid: number }; cli?: string; node?: string; noTapHook?: boolean } = {}) {
    const launch = cliLaunch();
    const env: NodeJS.ProcessEnv = { ...process.env, ...launch.env, ...opts.env };
    const argv = [...launch.nodeArgs, opts.cli ?? CLI_SOURCE, ...args];
    // tap wraps spawn to preload its process-info hook (NODE_OPTIONS), which writes into the
    // root-owned .tap/ and so kills a child running as another user: env(1) drops it first.
    this.child = opts.user || opts.noTapHook
      ? spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', opts.node ?? process.execPath, ...argv], { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], ...opts.user })
      : spawn(process.execPath, argv, { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Waits until the daemon answers 200 on `path`; fails at once, with its stderr, if it exits. */
  async waitHttp(port: number, path = '/healthz', timeoutMs = 60_000): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const outcome = await waitFor(`logship http ${path}`, async () => {
      if (exited) return 'exited';
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return r.status === 200 ? 'up' : null;
    }, timeoutMs, 50).catch((err: Error) => {
      throw new Error(`${err.message} (stderr: ${this.stderr.slice(-500)})`);
    });
    if (outcome === 'exited') throw new DaemonExitedError(this.child.exitCode, this.child.signalCode, this.stderr);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * CPU time (user + system, all threads) a live process has used, in ms, from /proc: what a test
 * bounds instead of wall time, which a loaded machine stretches.
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), 1-based from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** Runs the CLI to completion (validate, parse, --version); `cli`: another entry than the sources (builtBundle()). */
export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; cli?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const launch = cliLaunch();
    const child = spawn(process.execPath, [...launch.nodeArgs, opts.cli ?? CLI_SOURCE, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...launch.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => res({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function readNdjson<T = Record<string, unknown>>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as T);
}

export async function writeConfig(dir: string, yaml: string): Promise<string> {
  const p = join(dir, 'logship.yaml');
  await writeFile(p, yaml);
  return p;
}
