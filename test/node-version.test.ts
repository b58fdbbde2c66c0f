import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { assertSupportedNode, MIN_NODE_MAJOR, UnsupportedNodeError } from '../src/node-version.ts';
import { builtBundle } from './support/daemon.ts';

t.test('Node majors below the minimum are refused by name, the minimum and later pass', async (t) => {
  t.throws(() => assertSupportedNode('20.20.2', '/usr/bin/node'), UnsupportedNodeError);
  t.throws(() => assertSupportedNode('22.18.0', '/usr/bin/node'), UnsupportedNodeError);
  t.throws(() => assertSupportedNode('', '/usr/bin/node'), UnsupportedNodeError);
  t.doesNotThrow(() => assertSupportedNode(`${MIN_NODE_MAJOR}.0.0`, '/x/node'));
  t.doesNotThrow(() => assertSupportedNode('25.1.0', '/x/node'));
  const err = t.throws(() => assertSupportedNode('22.18.0', '/opt/node22/bin/node')) as UnsupportedNodeError;
  t.equal(err.code, 'unsupported_node');
  t.match(err.message, /^needs Node\.js 24 or later; this is Node\.js 22\.18\.0 \(\/opt\/node22\/bin\/node\)/);
});

interface Exit {
  code: number | null;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

// The shipped bundle started by a real older `node`: it must say why and exit 3 before reading any
// config, not stop later on a regex the old V8 cannot compile (what `run` did under Node 20).
// Runs where the machine has such a node (Debian's own nodejs package is 20).
const oldNode = ['/usr/bin/node', '/bin/node'].find((p) => existsSync(p));
const oldVersion = oldNode === undefined ? '' : execFileSync(oldNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
const skip =
  oldNode === undefined ? 'no system node at /usr/bin/node' : Number.parseInt(oldVersion, 10) >= MIN_NODE_MAJOR ? `the system node is ${oldVersion}` : false;

t.test('the bundle under an older system node exits 3 naming both versions', { skip }, async (t) => {
  for (const args of [['run'], ['validate', '--config', 'config/logship.yaml']]) {
    const exit = await run(oldNode!, [builtBundle(), ...args]);
    t.equal(exit.code, 3, `${args[0]}: ${exit.stderr}`);
    t.match(exit.stderr, `logship: needs Node.js ${MIN_NODE_MAJOR} or later; this is Node.js ${oldVersion} (${oldNode})`);
  }
});
