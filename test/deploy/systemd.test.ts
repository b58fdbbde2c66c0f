import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, appForUser, builtBundle, freePort, readNdjson, tempDir, waitFor } from '../support/daemon.ts';

// What a global npm install links as the bin; fails here, naming the file, when dist/ is older than src/.
const CLI = builtBundle();

const UNIT = join(ROOT, 'systemd', 'logship.service');
const DOCKER_DROPIN = join(ROOT, 'systemd', 'logship-docker.conf');
const EXAMPLE_CONFIG = join(ROOT, 'systemd', 'logship.yaml');
const INSTALLED_BIN = '/usr/local/bin/logship';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const hasAnalyze = existsSync(SYSTEMD_ANALYZE);
const noAnalyze = hasAnalyze ? false : `${SYSTEMD_ANALYZE} not found (Debian package "systemd"; .ci/run installs it)`;

/** `[Service]` key → every value in file order (systemd keys may repeat; an empty value resets). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = new Map();
      sections.set(sec[1], cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (!cur || eq < 0) throw new Error(`unparsable unit line: ${raw}`);
    const key = line.slice(0, eq);
    cur.set(key, [...(cur.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/**
 * `systemd-analyze verify` refuses a unit whose ExecStart binary does not exist, and logship is
 * not installed at /usr/local/bin here. So the unit is verified as a byte-identical copy in which
 * only that path points at a shim that runs this checkout's CLI, the way the npm global install's
 * bin link would. The copy lives in its own directory so drop-ins next to it are picked up.
 */
function installCopy(withDropIn: boolean): { dir: string; unit: string; shim: string } {
  const dir = tempDir('logship-unit-');
  const shim = join(dir, 'logship');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(shim, 0o755);
  const unit = join(dir, 'logship.service');
  writeFileSync(unit, readFileSync(UNIT, 'utf8').replaceAll(INSTALLED_BIN, shim));
  if (withDropIn) {
    mkdirSync(join(dir, 'logship.service.d'));
    copyFileSync(DOCKER_DROPIN, join(dir, 'logship.service.d', 'docker.conf'));
  }
  return { dir, unit, shim };
}

t.test('the unit has the hardening and lifecycle the issue asks for', async (t) => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const svc = unit.get('Service')!;
  const one = (k: string) => {
    const v = svc.get(k);
    t.ok(v, `${k}= is set`);
    return v ? v[v.length - 1] : undefined;
  };
  t.equal(one('ExecStart'), `${INSTALLED_BIN} run --config /etc/logship/logship.yaml`);
  t.equal(svc.get('ExecStartPre')?.[0], `${INSTALLED_BIN} validate --config /etc/logship/logship.yaml`);
  t.same(svc.get('ExecReload'), [`${INSTALLED_BIN} validate --config /etc/logship/logship.yaml`, '/bin/kill -HUP $MAINPID']);
  t.equal(one('Restart'), 'on-failure');
  t.equal(one('RestartPreventExitStatus'), '2', 'an invalid config (exit 2) is not restarted in a loop');
  t.equal(one('StateDirectory'), 'logship');
  t.equal(one('User'), 'logship');
  t.same(one('SupplementaryGroups')?.split(/\s+/).sort(), ['adm', 'systemd-journal']);
  for (const [k, v] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', ReadOnlyPaths: '/var/log', CapabilityBoundingSet: '', AmbientCapabilities: '' })) {
    t.equal(one(k), v, `${k}=${v}`);
  }
  t.match(one('MemoryMax'), /^\d+[KMG]$/);
  t.match(one('LimitNOFILE'), /^\d+$/);
  t.notOk(svc.has('MemoryDenyWriteExecute'), 'MemoryDenyWriteExecute stays off: V8 needs W+X memory');
  t.notOk(svc.has('PrivateUsers'), 'PrivateUsers stays off: it would void CAP_DAC_READ_SEARCH of the Docker drop-in');

  const dropIn = parseUnit(readFileSync(DOCKER_DROPIN, 'utf8')).get('Service')!;
  t.same(dropIn.get('CapabilityBoundingSet'), ['CAP_DAC_READ_SEARCH']);
  t.same(dropIn.get('AmbientCapabilities'), ['CAP_DAC_READ_SEARCH']);
});

t.test('systemd-analyze verify passes, with and without the Docker drop-in', { skip: noAnalyze }, async (t) => {
  for (const withDropIn of [false, true]) {
    const { unit, dir } = installCopy(withDropIn);
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', unit], { encoding: 'utf8', cwd: dir });
    t.equal(r.status, 0, `verify exit code${withDropIn ? ' (with drop-in)' : ''}: ${r.stderr}`);
    // verify exits 0 on unknown keys and bad values too and only warns: any line about our
    // unit or drop-in is a failure (other units on the machine may warn about themselves).
    const ours = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('logship'));
    t.same(ours, [], 'no warnings about logship.service');
  }
  // The check has teeth: a typo in the unit is reported.
  const { unit, dir } = installCopy(false);
  writeFileSync(unit, readFileSync(unit, 'utf8').replace('ProtectHome=yes', 'ProtectHome=yes\nProtectHomes=yes'));
  const bad = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', unit], { encoding: 'utf8', cwd: dir });
  t.match(bad.stderr, /Unknown key 'ProtectHomes'/);
});

t.test('systemd-analyze security: exposure below 3.0 and recorded in README', { skip: noAnalyze }, async (t) => {
  const score = (dir: string) => {
    const r = spawnSync(SYSTEMD_ANALYZE, ['security', '--offline=true', '--no-pager', 'logship.service'], { encoding: 'utf8', cwd: dir, env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
    const m = /Overall exposure level for logship\.service: (\d+\.\d)/.exec(r.stdout + r.stderr);
    if (!m) throw new Error(`no exposure level in: ${r.stdout}${r.stderr}`);
    return Number(m[1]);
  };
  const plain = score(installCopy(false).dir);
  const docker = score(installCopy(true).dir);
  t.comment(`exposure: ${plain} (with the Docker drop-in: ${docker})`);
  t.ok(plain < 3.0, `exposure ${plain} < 3.0`);
  t.ok(docker < 3.0, `exposure with CAP_DAC_READ_SEARCH ${docker} < 3.0`);
  t.ok(docker > plain, 'the drop-in is applied (the capability raises the exposure)');

  // The README records the number measured with this systemd; weights differ between versions.
  const version = /systemd (\d+)/.exec(spawnSync(SYSTEMD_ANALYZE, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const recorded = /exposure level \*\*(\d+\.\d)\*\* \(with the Docker drop-in \*\*(\d+\.\d)\*\*\) with systemd (\d+)/.exec(readme);
  t.ok(recorded, 'README records the exposure level');
  if (recorded && recorded[3] === version) {
    t.equal(Number(recorded[1]), plain, 'README exposure matches the unit');
    t.equal(Number(recorded[2]), docker, 'README exposure with the drop-in matches');
  }
});

t.test('the ExecStartPre command accepts the example config; a bad one fails the start', async (t) => {
  const { shim } = installCopy(false);
  const ok = spawnSync(shim, ['validate', '--config', EXAMPLE_CONFIG], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, readFileSync(EXAMPLE_CONFIG, 'utf8').replace('sync_interval: 1s', 'sync_interval: often'));
  const r = spawnSync(shim, ['validate', '--config', bad], { encoding: 'utf8' });
  t.equal(r.status, 2, 'exit 2, which RestartPreventExitStatus does not restart');
  t.match(r.stderr, /positions\.sync_interval/);
  const cfg = readFileSync(EXAMPLE_CONFIG, 'utf8');
  t.match(cfg, /path: \/var\/lib\/logship\/positions\.json/, 'positions under the StateDirectory');
});

t.test('the npm package (README install: npm pack, npm install -g) ships the unit files and the CLI', async (t) => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  for (const f of ['systemd/logship.service', 'systemd/logship-docker.conf', 'systemd/logship.yaml', 'dist/bundle/cli.js', 'config/logship.yaml']) t.ok(files.includes(f), `package contains ${f}`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  t.equal(pkg.bin.logship, 'dist/bundle/cli.js', 'bin logship → /usr/local/bin/logship on a global install');
  const shebang = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)+)\n/.exec(readFileSync(CLI, 'utf8'));
  t.ok(shebang, 'the bin runs on the node of the PATH systemd gives, with its V8 flags (env -S splits them)');
  t.match(shebang?.[1] ?? '', /^MALLOC_ARENA_MAX=\d+ $/, 'few malloc arenas (lower RSS)');
  t.match(shebang?.[2] ?? '', /--max-semi-space-size=\d+/, 'a bounded young generation (lower RSS)');
  t.match(shebang?.[2] ?? '', /--heap-growing-percent=\d+/, 'a bounded old-generation growth (lower RSS)');
  t.match(shebang?.[2] ?? '', /--no-maglev\b/, 'no mid-tier compiler, whose finished jobs wait in memory (lower peak RSS)');
  // What the kernel runs for the shebang (a global install makes the bin executable).
  const run = spawnSync('/usr/bin/env', ['-S', `${shebang?.[1] ?? ''}node${shebang?.[2] ?? ''}`, CLI, '--version'], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
  t.equal(run.status, 0, `node accepts the shebang's flags: ${run.stderr}`);
  // env -S sets the variable for node itself (glibc reads it at start).
  const envProbe = spawnSync('/usr/bin/env', ['-S', `${shebang?.[1] ?? ''}node -p process.env.MALLOC_ARENA_MAX`], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
  t.equal(envProbe.stdout.trim(), /MALLOC_ARENA_MAX=(\d+)/.exec(shebang?.[1] ?? '')?.[1], 'node starts with the arena limit in its environment');
});

/**
 * Runs the daemon under the unit's sandbox as far as it can be rebuilt without systemd as PID 1:
 * the SystemCallFilter allow list (expanded by systemd-analyze itself, with the same
 * SystemCallErrorNumber), RestrictAddressFamilies, ProtectProc/ProcSubset (/proc remounted in a
 * new mount+pid namespace), an unprivileged user with no capabilities and no_new_privs. This is
 * what catches a filter that kills Node (io_uring, V8 memory protection keys, /proc reads).
 */
const sandboxMissing = [
  process.getuid?.() !== 0 && 'root (to create namespaces)',
  !hasAnalyze && SYSTEMD_ANALYZE,
  spawnSync('/usr/bin/python3', ['-c', 'import seccomp'], { stdio: 'ignore' }).status !== 0 && 'python3-seccomp',
  spawnSync('unshare', ['-m', '-p', '-f', 'true'], { stdio: 'ignore' }).status !== 0 && 'unshare of mount+pid namespaces',
  spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status !== 0 && 'setpriv',
].filter(Boolean);

t.test('the daemon runs and ships under the unit sandbox', { skip: sandboxMissing.length > 0 ? `rebuilding the sandbox needs: ${sandboxMissing.join(', ')}` : false }, async (t) => {
  const svc = parseUnit(readFileSync(UNIT, 'utf8')).get('Service')!;
  const filter = syscallAllowList(svc.get('SystemCallFilter') ?? []);
  t.ok(filter.includes('epoll_wait') && filter.includes('read') && !filter.includes('reboot') && !filter.includes('setrlimit'), 'filter expanded');
  const families = (svc.get('RestrictAddressFamilies') ?? []).join(' ').split(/\s+/);
  const errno = svc.get('SystemCallErrorNumber')?.at(-1) ?? 'EPERM';
  const proc = `hidepid=${svc.get('ProtectProc')?.at(-1)},subset=${svc.get('ProcSubset')?.at(-1)}`;
  t.equal(proc, 'hidepid=invisible,subset=pid');

  const dir = tempDir('logship-sandbox-');
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'state'));
  chownSync(join(dir, 'state'), 65534, 65534); // the StateDirectory, owned by the service user
  const lines = 5000;
  let text = '';
  for (let i = 0; i < lines; i++) text += `{"time":"2024-01-15T10:00:00Z","level":"info","msg":"request ${i}","request_id":"r${i}"}\n`;
  writeFileSync(join(dir, 'logs', 'app.log'), text);
  const port = await freePort();
  writeFileSync(join(dir, 'logship.yaml'), `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/state/positions.json", sync_interval: 200ms }
sources: [ { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning } ]
sinks: [ { type: file, path: "${dir}/state/shipped.ndjson" } ]
`);
  writeFileSync(join(dir, 'filter.json'), JSON.stringify({ allow: filter, families, errno }));
  writeFileSync(join(dir, 'seccomp-exec.py'), SECCOMP_EXEC);
  const app = appForUser({ uid: 65534, gid: 65534 }, dir, CLI);
  const inner = [
    `mount -t proc -o ${proc} proc /proc`,
    // A clean environment, as systemd gives (tap's NODE_OPTIONS hooks would write to .tap/ as nobody).
    `exec env -i PATH=/usr/bin:/bin NODE_ENV=production setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs /usr/bin/python3 ${dir}/seccomp-exec.py ${dir}/filter.json ${app.node} ${app.cli} run --config ${dir}/logship.yaml`,
  ].join(' && ');
  const child = spawn('unshare', ['-m', '-p', '-f', '--kill-child', 'sh', '-c', inner], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });

  const shipped = await waitFor(`${lines} lines shipped under the sandbox`, () => {
    const recs = readNdjson(join(dir, 'state', 'shipped.ndjson'));
    return recs.length >= lines ? recs : null;
  }, 30_000).catch((err: Error) => {
    throw new Error(`${err.message} (stderr: ${stderr.slice(-800)})`);
  });
  t.equal(shipped.length, lines);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /^process_open_fds \d+/m, '/proc/self/fd readable under ProcSubset=pid');
  t.match(metrics, /^process_max_fds \d+/m);
  t.match(metrics, /^logship_read_lines_total\{source="app"\} 5000/m);
  t.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);

  // The daemon is PID 1 of the new pid namespace, a child of unshare; SIGTERM it directly.
  const daemonPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  t.ok(daemonPid > 0, 'found the sandboxed daemon');
  process.kill(daemonPid, 'SIGTERM');
  const code = await exited;
  t.equal(code, 0, 'clean exit under the sandbox');
  if (code !== 0) t.comment(stderr.slice(-2000));
  t.notMatch(stderr, /"level":(50|60)/, 'no errors logged');
});

const hasMdwe = spawnSync('/usr/bin/python3', ['-c', 'import ctypes; exit(0 if ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) == 0 else 1)']).status === 0;

t.test('MemoryDenyWriteExecute would kill Node (why the unit leaves it off)', { skip: hasMdwe ? false : 'needs python3 and prctl(PR_SET_MDWE) (Linux >= 6.3)' }, async (t) => {
  // PR_SET_MDWE(PR_MDWE_REFUSE_EXEC_GAIN) is the kernel's built-in form of the same policy.
  const r = spawnSync('/usr/bin/python3', ['-c', `import ctypes, os, sys; ctypes.CDLL(None).prctl(65, 1, 0, 0, 0); os.execv(sys.argv[1], sys.argv[1:])`, process.execPath, '-e', 'console.log("alive")'], { encoding: 'utf8' });
  t.not(r.status, 0, 'node does not survive');
  t.notMatch(r.stdout, /alive/);
  t.match(r.stderr, /Fatal error|Check failed/);
});

/** The SystemCallFilter= lines as one allow list: the union of the allow lines minus every `~` line. */
function syscallAllowList(lines: string[]): string[] {
  const groups = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of spawnSync(SYSTEMD_ANALYZE, ['syscall-filter', '--no-pager'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (line.startsWith('@')) groups.set(line.trim(), (cur = []));
    else if (cur && /^\s+[@a-z0-9_-]+$/.test(line)) cur.push(line.trim());
  }
  const expand = (name: string, seen = new Set<string>()): string[] => {
    if (!name.startsWith('@')) return [name];
    if (seen.has(name)) return [];
    seen.add(name);
    const g = groups.get(name);
    if (!g) throw new Error(`unknown syscall group ${name}`);
    return g.flatMap((n) => expand(n, seen));
  };
  const allow = new Set<string>();
  const deny = new Set<string>();
  for (const l of lines) {
    const neg = l.startsWith('~');
    for (const name of (neg ? l.slice(1) : l).trim().split(/\s+/)) for (const s of expand(name)) (neg ? deny : allow).add(s);
  }
  return [...allow].filter((s) => !deny.has(s)).sort();
}

/** Applies a seccomp allow list (everything else fails with the unit's errno) and execs argv. */
const SECCOMP_EXEC = `
import errno, json, os, socket, sys, seccomp
spec = json.load(open(sys.argv[1]))
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(getattr(errno, spec["errno"])))
for name in spec["allow"]:
    if name == "socket":
        continue
    try:
        f.add_rule(seccomp.ALLOW, name)
    except Exception:
        pass  # a name this architecture does not have (e.g. the *_time64 calls on x86-64)
for fam in spec["families"]:
    f.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.EQ, getattr(socket, fam)))
f.load()
os.execv(sys.argv[2], sys.argv[2:])
`;
