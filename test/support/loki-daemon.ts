import { DaemonProcess, writeConfig } from './daemon.ts';

/**
 * Shared by the real-Loki suites (test/integration/loki*.real.test.ts): the daemon's config for one
 * file source and a Loki sink, its start, and a /metrics reader. Opt-in: each suite reads LOKI_BIN,
 * the Loki binary (.ci/run sets it to ../shared/peers/bin/loki when that exists).
 */
export const LOKI_SKIP_REASON = 'LOKI_BIN is not set: skipping the real-Loki integration tests (set LOKI_BIN=../shared/peers/bin/loki)';

export function daemonConfig(dir: string, port: number, lokiUrl: string, opts: { sink?: string; source?: string } = {}): string {
  return `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/positions.json", sync_interval: 200ms }
sources:
  - name: app
    paths: ["${dir}/logs/*.log"]
    start_at: beginning
    parser: auto${opts.source ?? ''}
sinks:
  - type: loki
    url: ${lokiUrl}
    batch: { max_wait: 200ms }
    retry: { min_backoff: 200ms, max_backoff: 2s }${opts.sink ?? ''}
`;
}

export async function metric(port: number, re: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (re.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function startDaemon(t: { teardown(fn: () => unknown): void }, dir: string, yaml: string): Promise<{ d: DaemonProcess; port: number }> {
  const port = Number(/listen: "127\.0\.0\.1:(\d+)"/.exec(yaml)![1]);
  const d = new DaemonProcess(['run', '--config', await writeConfig(dir, yaml)]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  return { d, port };
}
