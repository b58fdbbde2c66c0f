import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readProcStats } from './proc.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const PEERS_BIN = resolve(ROOT, '..', 'shared', 'peers', 'bin');
export const NODE24 = resolve(ROOT, 'node_modules', '.bin', 'node');

// Shared with the tests: a free loopback port, and a sleep.
import { freePort, sleep } from '../test/support/daemon.ts';
export { freePort, sleep };

/** A receiving server in its own process: counts what it accepted. */
export interface Receiver {
  readonly name: string;
  readonly url: string;
  /** Entries (Loki) or documents (ES) accepted so far. */
  count(): Promise<number>;
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** The receiver process's CPU seconds so far (user + system): it shares the machine's cores with the shipper. */
  cpuSeconds(): number;
  /** Its process id (to pin it to a core). */
  readonly pid: number | undefined;
}

function cpuOf(child: ChildProcess): () => number {
  return () => (child.pid === undefined ? 0 : (readProcStats(child.pid)?.cpuSeconds ?? 0));
}

async function waitHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(url).then((r) => r.status < 500, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await sleep(100);
  }
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** ../shared/peers/bin/countsink: decodes Loki pushes with Loki's own parser, answers ES _bulk per item. */
export async function startCountsink(kind: 'loki' | 'elasticsearch'): Promise<Receiver> {
  const bin = process.env.COUNTSINK_BIN ?? resolve(PEERS_BIN, 'countsink');
  if (!existsSync(bin)) throw new Error(`countsink not found at ${bin}`);
  const port = await freePort();
  const child = spawn(bin, ['-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/count`, child, 'countsink');
  const counts = async () => (await (await fetch(`${url}/count`)).json()) as { entries: number; docs: number; rejected: number };
  return {
    name: 'countsink',
    url,
    count: async () => {
      const c = await counts();
      return kind === 'loki' ? c.entries : c.docs;
    },
    reset: async () => {
      await fetch(`${url}/reset`, { method: 'POST' });
    },
    stop: () => kill(child),
    cpuSeconds: cpuOf(child),
    pid: child.pid,
  };
}

/** Spawns one of our protocol-faithful test servers (test/servers/*-main.ts) in its own process. */
async function spawnTestServer(script: string, args: string[], parsePort: (line: string) => number | null): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(NODE24, [resolve(ROOT, 'test', 'servers', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`${script} did not start`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (const line of buf.split('\n')) {
        const p = parsePort(line);
        if (p) {
          clearTimeout(t);
          res(p);
        }
      }
    });
    child.once('exit', (code) => rej(new Error(`${script} exited ${code}`)));
  });
  return { child, port };
}

/** The Loki test server (decodes snappy + protobuf with protobufjs, enforces Loki's validation), summary store. */
export async function startLokiTestServer(): Promise<Receiver & { fail(forMs: number): Promise<void> }> {
  const { child, port } = await spawnTestServer('loki-server-main.ts', ['--port', '0', '--summary'], (l) => (/^listening (\d+)/.exec(l) ? Number(/^listening (\d+)/.exec(l)![1]) : null));
  const url = `http://127.0.0.1:${port}`;
  let base = 0;
  const raw = async () => ((await (await fetch(`${url}/test/count`)).json()) as { entries: number }).entries;
  return {
    name: 'loki-test-server',
    url,
    count: async () => (await raw()) - base,
    reset: async () => {
      base = await raw();
    },
    fail: async (forMs: number) => {
      await fetch(`${url}/test/fail`, { method: 'POST', body: JSON.stringify({ mode: 'status', status: 503, forMs }) });
    },
    stop: () => kill(child),
    cpuSeconds: cpuOf(child),
    pid: child.pid,
  };
}

/** The Elasticsearch test server (parses every NDJSON line, applies create semantics and mappings). */
export async function startEsTestServer(): Promise<Receiver> {
  const { child, port } = await spawnTestServer('es-server-main.ts', ['--port', '0', '--no-source'], (l) => {
    try {
      return (JSON.parse(l) as { port?: number }).port ?? null;
    } catch {
      return null;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  let base = 0;
  const raw = async () => ((await (await fetch(`${url}/_logship_test/stats`)).json()) as { created: number }).created;
  return {
    name: 'es-test-server',
    url,
    count: async () => (await raw()) - base,
    reset: async () => {
      base = await raw();
    },
    stop: () => kill(child),
    cpuSeconds: cpuOf(child),
    pid: child.pid,
  };
}
