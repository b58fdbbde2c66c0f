import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, ROOT, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'metrics');

/** The fixture files, the source that reads each, and its line count. */
export const FIXTURE_SOURCES = [
  { source: 'auth', file: 'auth.log', service: 'sshd' },
  { source: 'nginx', file: 'access.log', service: 'nginx' },
  { source: 'app', file: 'app.ndjson', service: 'app' },
] as const;
export type FixtureSource = (typeof FIXTURE_SOURCES)[number]['source'];

export function fixtureLines(file: string): number {
  return readFileSync(join(FIXTURES, file), 'utf8').split('\n').filter((l) => l.length > 0).length;
}

/** The user-defined rules every fixture daemon runs (so their families are on /metrics too). */
const METRICS_STAGE = `
  - type: metrics
    rules:
      - name: payment_failures_total
        type: counter
        help: Failed payments by service and reason.
        match: [{ field: message, matches: "^payment failed" }]
        labels: { service: service, reason: metadata.reason }
      - name: uploaded_document_size_bytes
        type: histogram
        help: Sizes of uploaded documents.
        value: metadata.file_size
        buckets: [1000, 1000000, 10000000]
        labels: { service: service }
`;

export interface FixtureDaemon {
  daemon: DaemonProcess;
  port: number;
  dir: string;
  /** The /metrics text once every fixture line went through the pipeline. */
  metrics: string;
  shippedPath: string;
}

/**
 * The real CLI (its sources) tailing copies of the fixtures from the beginning, one source per file
 * with the given parsers, brute-force detection at 5 failures per minute with the top sources
 * exposed, a metrics stage, and a file sink. Resolves once logship_records_total shows every
 * fixture line parsed; the caller kills the daemon (registered on `teardown`).
 */
export async function startFixtureDaemon(parsers: Record<FixtureSource, string>, teardown: (fn: () => unknown) => void): Promise<FixtureDaemon> {
  const dir = tempDir('logship-metrics-');
  mkdirSync(join(dir, 'logs'));
  for (const s of FIXTURE_SOURCES) copyFileSync(join(FIXTURES, s.file), join(dir, 'logs', s.file));
  const port = await freePort();
  const shippedPath = join(dir, 'data', 'shipped.ndjson');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
sources:
${FIXTURE_SOURCES.map((s) => `  - { name: ${s.source}, paths: ["${dir}/logs/${s.file}"], parser: ${parsers[s.source]}, service: ${s.service}, start_at: beginning }`).join('\n')}
pipeline:${METRICS_STAGE}
derived_metrics:
  security: { brute_force: { threshold: 5, window: 1m, expose_top_sources: 5 } }
sinks:
  - { type: file, path: "${shippedPath}" }
`);
  const daemon = new DaemonProcess(['run', '--config', cfg]);
  teardown(() => daemon.kill('SIGKILL'));
  const exitedEarly = daemon.exited.then((e) => { throw new Error(`logship exited early (${e.code ?? e.signal}): ${daemon.stderr.slice(-2000)}`); });
  exitedEarly.catch(() => {});
  await Promise.race([daemon.waitHttp(port), exitedEarly]);
  const metrics = await waitFor(`every fixture line parsed (stderr: ${daemon.stderr.slice(-800)})`, async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const s of FIXTURE_SOURCES) {
      const m = new RegExp(`^logship_records_total\\{source="${s.source}"\\} (\\d+)`, 'm').exec(text);
      if (!m || Number(m[1]) < fixtureLines(s.file)) return null;
    }
    return text;
  }, 30_000, 100);
  return { daemon, port, dir, metrics, shippedPath };
}
