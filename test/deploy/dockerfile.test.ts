import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { DaemonProcess, ROOT, builtBundle, builtCli, freePort, tempDir, writeConfig } from '../support/daemon.ts';

// No container engine runs here, so the image's invariants are checked on the Dockerfile itself
// (parsed into stages and instructions), and the parts that can run outside a container do run:
// the HEALTHCHECK command against the real daemon, the config the image's ENV selects.

interface Instruction { op: string; args: string; line: number }
interface Stage { from: string; name: string | null; instructions: Instruction[] }

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) {
      l = l.slice(0, -1);
      do i++; while (i < lines.length && /^\s*#/.test(lines[i])); // comments inside continuations
      l += ' ' + lines[i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(l)}`);
    const ins = { op: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 };
    if (ins.op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: f[1], name: f[2] ?? null, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile line ${start + 1}: ${ins.op} before FROM`);
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages[stages.length - 1];
const stageNamed = (name: string) => stages.find((s) => s.name === name);
/** The image a stage is ultimately built on, following `FROM <stage>`. */
const baseImage = (s: Stage): string => (stageNamed(s.from) ? baseImage(stageNamed(s.from)!) : s.from);
/** Instructions of a stage including those it inherits from its parent stages. */
const lineage = (s: Stage): Instruction[] => [...(stageNamed(s.from) ? lineage(stageNamed(s.from)!) : []), ...s.instructions];
const ops = (s: Stage, op: string) => lineage(s).filter((i) => i.op === op);
const jsonArgs = (i: Instruction) => JSON.parse(i.args.replace(/^CMD\s+/, '')) as string[];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; files: string[] };

t.test('multi-stage, every stage on an exactly pinned Node 24 slim base', async (t) => {
  t.ok(stages.length >= 3, `${stages.length} stages`);
  for (const s of stages) {
    const image = baseImage(s);
    t.match(image, /^node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$|^gcr\.io\/distroless\/nodejs24-debian\d+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/, `stage ${s.name}: ${image} is pinned`);
    t.notMatch(image, /:latest|:lts|:current/);
  }
  // The Node in the image is the one the dev toolchain and the tests run on.
  const nodeDev = pkg.devDependencies.node.replace(/^\^/, '');
  t.equal(/^node:(\d+)/.exec(baseImage(final))?.[1], nodeDev.split('.')[0], 'same Node major as the node devDependency');
});

t.test('the final stage runs as a numeric non-root user', async (t) => {
  const users = final.instructions.filter((i) => i.op === 'USER');
  t.ok(users.length > 0, 'final stage sets USER');
  const user = users[users.length - 1].args;
  t.match(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot can verify it');
  t.not(user.split(':')[0], '0');
  // Nothing runs as root after the switch: USER is set after every RUN of the final stage.
  const lastRun = Math.max(...final.instructions.filter((i) => i.op === 'RUN').map((i) => i.line));
  t.ok(users[users.length - 1].line > lastRun, 'USER comes after the last RUN');
});

t.test('no dev dependencies reach the final stage', async (t) => {
  t.notOk(final.instructions.some((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)), 'the final stage installs nothing itself');
  const copies = final.instructions.filter((i) => i.op === 'COPY' && /--from=/.test(i.args));
  const nodeModules = copies.filter((i) => /node_modules/.test(i.args));
  t.equal(nodeModules.length, 1, 'node_modules comes from exactly one stage');
  const from = /--from=(\S+)/.exec(nodeModules[0].args)![1];
  const depsStage = stageNamed(from)!;
  t.ok(depsStage, `stage ${from} exists`);
  const installs = ops(depsStage, 'RUN').filter((i) => /\bnpm (ci|install|i)\b/.test(i.args));
  t.equal(installs.length, 1, `stage ${from} installs once`);
  t.match(installs[0].args, /\bnpm ci\b.*--omit=dev/, 'from the lockfile, production only');
  t.notMatch(installs[0].args, /--include=dev/);
  // The build stage (with dev deps) contributes only compiled output, never node_modules.
  for (const c of copies.filter((i) => !/node_modules/.test(i.args))) t.match(c.args, /\/dist\//, `build output only: ${c.args}`);
  t.match(ops(stageNamed('build')!, 'RUN').map((i) => i.args).join('\n'), /npm ci(?![^\n]*--omit=dev)/, 'the build stage has the dev dependencies (the compiler)');
});

t.test('the production code imports production dependencies only', async (t) => {
  // What --omit=dev leaves out must never be imported at run time: scan the compiled output.
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      // Only the output of a current source: tsc leaves the .js of a moved or deleted file behind.
      else if (p.endsWith('.js') && existsSync(join(ROOT, relative(join(ROOT, 'dist'), p)).replace(/\.js$/, '.ts'))) files.push(p);
    }
  };
  builtCli(); // the compiled output must be of these sources (throws StaleBuildError, naming a file, when not)
  for (const d of ['dist/src', 'dist/parsers']) walk(join(ROOT, d));
  t.ok(files.length > 10, `${files.length} compiled files`);
  const offenders: string[] = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    // Statements at the start of a line (tsc's output), so prose in comments ("failed from" of
    // ...) is not read as an import; and dynamic import() calls.
    for (const m of src.matchAll(/(?:^(?:import|export)\b[^;]*?\bfrom\s*|^import\s*|\bimport\(\s*)['"]([^'"./][^'"]*)['"]/gm)) {
      const spec = m[1];
      if (builtins.has(spec) || spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!(name in pkg.dependencies)) offenders.push(`${relative(ROOT, f)} imports ${spec}`);
    }
  }
  t.same(offenders, [], 'every bare import is in "dependencies"');
});

t.test('the bundle (what the image runs) leaves out only built-ins and dependencies', async (t) => {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const dir = dirname(builtBundle()); // throws StaleBuildError, naming a file, when older than the sources
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => join(dir, f));
  t.ok(files.length > 5, `${files.length} files: the entries and their chunks`);
  const external = new Set<string>();
  for (const f of files) {
    // esbuild's output, whitespace minified: import statements, import() and require() anywhere.
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\(\s*)"([@a-z][\w@/.-]*)"/g)) {
      if (!builtins.has(m[1])) external.add(m[1]);
    }
  }
  t.same([...external].filter((spec) => !(spec in pkg.dependencies)), [], 'every module loaded from node_modules is in "dependencies"');
  t.same([...external], ['snappy'], 'only the native addon is left out');
});

t.test('what the runtime stage copies is what npm pack ships', async (t) => {
  const copied = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args.replace(/--\S+\s+/g, '').split(/\s+/)[0].replace(/^\/opt\/logship\//, ''));
  for (const f of pkg.files.filter((f) => f !== 'systemd' && f !== 'README.md')) t.ok(copied.includes(f), `runtime copies ${f}`);
  t.ok(copied.includes('package.json'), 'package.json (the version, the package root)');
});

t.test('positions live on a VOLUME owned by the service user', async (t) => {
  const volumes = final.instructions.filter((i) => i.op === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)));
  t.ok(volumes.includes('/var/lib/logship'), 'VOLUME /var/lib/logship');
  const env = Object.fromEntries(ops(final, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
  t.equal(env.LOGSHIP_DATA_DIR, '/var/lib/logship');
  t.equal(env.NODE_ENV, 'production');
  // The image's default CMD runs the embedded default config: resolve it with the image's ENV.
  t.same(jsonArgs(final.instructions.findLast((i) => i.op === 'CMD')!), ['run']);
  const cfg = loadConfig(join(ROOT, 'config', 'logship.yaml'), { ...env });
  t.equal(cfg.positions.path, '/var/lib/logship/positions.json', 'positions on the volume');
  t.equal(cfg.server.listen, '0.0.0.0:9711', 'metrics reachable from outside the container');
  const chown = final.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  const uid = final.instructions.findLast((i) => i.op === 'USER')!.args.split(':')[0];
  t.match(chown, new RegExp(`chown ${uid}(:\\d+)? /var/lib/logship`), 'the volume directory belongs to the USER');
  t.ok(final.instructions.findIndex((i) => i.op === 'VOLUME') > final.instructions.findIndex((i) => i.op === 'RUN' && /chown/.test(i.args)), 'chown before VOLUME (later changes to a volume path are discarded)');
});

t.test('ENTRYPOINT runs the CLI with the same V8 flags as its shebang (bounded young generation)', async (t) => {
  const ep = final.instructions.filter((i) => i.op === 'ENTRYPOINT');
  t.equal(ep.length, 1);
  const argv = JSON.parse(ep[0].args) as string[];
  t.equal(argv[0], 'node');
  t.equal(argv[argv.length - 1], '/opt/logship/dist/bundle/cli.js', 'the bundle, like the npm bin');
  const shebang = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)*)\n/.exec(readFileSync(join(ROOT, 'src', 'cli.ts'), 'utf8'));
  t.ok(shebang, 'the CLI has an env -S node shebang');
  t.same(argv.slice(1, -1), shebang![2].trim().split(/\s+/).filter(Boolean), 'flags match the shebang');
  t.match(argv.join(' '), /--max-semi-space-size=\d+/);
  const shebangEnv = shebang![1].trim().split(/\s+/).filter(Boolean);
  t.ok(shebangEnv.length > 0, 'the shebang sets the malloc arena limit');
  const dockerEnv = final.instructions.filter((i) => i.op === 'ENV').flatMap((i) => i.args.split(/\s+/));
  for (const assignment of shebangEnv) t.ok(dockerEnv.includes(assignment), `the image sets ${assignment} like the shebang`);
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
  t.equal(start, `${shebang![1]}node ${argv.slice(1, -1).join(' ')} dist/bundle/cli.js run`, 'npm start passes them too');
});

t.test('HEALTHCHECK probes /healthz with Node (slim has no curl) and works against the daemon', async (t) => {
  const hc = final.instructions.filter((i) => i.op === 'HEALTHCHECK');
  t.equal(hc.length, 1);
  const m = /^((?:--\S+\s+)*)CMD\s+(\[.*\])$/.exec(hc[0].args);
  t.ok(m, 'exec-form CMD');
  const argv = JSON.parse(m![2]) as string[];
  t.equal(argv[0], 'node');
  t.match(argv.join(' '), /\/healthz/);
  t.notMatch(argv.join(' '), /curl|wget/);
  t.match(m![1], /--interval=\S+/);
  t.match(m![1], /--timeout=\S+/);

  // Run the exact probe against the real daemon, with the image's way of choosing the port.
  const probe = (listen: string) => spawnSync(process.execPath, argv.slice(1), { encoding: 'utf8', env: { ...process.env, LOGSHIP_LISTEN: listen }, timeout: 10_000 });
  const dir = tempDir();
  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "\${LOGSHIP_LISTEN}" }
positions: { path: "${dir}/positions.json" }
sources: [ { name: app, paths: ["${dir}/*.log"] } ]
sinks: [ { type: file, path: "${dir}/out.ndjson" } ]
`);
  const d = new DaemonProcess(['run', '--config', cfg], { env: { LOGSHIP_LISTEN: `0.0.0.0:${port}` } });
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  t.equal(probe(`0.0.0.0:${port}`).status, 0, 'healthy while the daemon runs');
  await d.kill('SIGTERM');
  t.equal(probe(`0.0.0.0:${port}`).status, 1, 'unhealthy when nothing answers');
});

t.test('.dockerignore keeps local state out and lets every COPY source in', async (t) => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  // Docker's rule: the last matching pattern wins; `!` re-includes. Enough of it for top-level paths.
  const ignored = (path: string) => {
    let out = false;
    for (const p of patterns) {
      const neg = p.startsWith('!');
      const pat = (neg ? p.slice(1) : p).replace(/\/$/, '');
      const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
      if (re.test(path)) out = !neg;
    }
    return out;
  };
  for (const p of ['node_modules', 'node_modules/x/index.js', '.git', 'dist/src/cli.js', 'data/positions.json', '.tap/report', 'test/cli.test.ts']) t.ok(ignored(p), `${p} is not sent`);
  const sources = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args)).flatMap((i) => i.args.replace(/--\S+\s+/g, '').split(/\s+/).slice(0, -1)));
  t.ok(sources.length >= 5);
  for (const s of sources) {
    t.notOk(ignored(s.replace(/\/$/, '')), `${s} reaches the build`);
    t.ok(existsSync(join(ROOT, s)), `${s} exists`);
  }
});
