import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { PrometheusServer, stackBinaries } from './prometheus-stack.ts';
import { append, sshdOneAttemptSession } from './traffic.ts';

/**
 * Counter semantics across logship restarts and reloads, as Prometheus sees them: a real
 * Prometheus scrapes a real logship every second while the test writes failed sshd logins,
 * reloads logship (SIGHUP), kills it (SIGKILL: the positions file lags what was counted, so the
 * restart re-reads lines), writes while it is down, and restarts it cleanly (SIGTERM). Every
 * attempt must be counted exactly once: Prometheus' increase() over the whole run equals the
 * attempts written, no counter reset is ever seen, and the sink did get the re-read lines again
 * (proof that the restart re-read from a position behind what was counted).
 */

const bins = stackBinaries();
if ('missing' in bins && process.env.CI === 'true') t.fail(`CI=true but ${bins.missing}`);
const skip = 'missing' in bins ? bins.missing : false;
if (skip) t.comment(`SKIPPING restart counter test: ${skip}`);

t.test('derived counters count each line once across SIGHUP, SIGKILL and restarts (Prometheus increase() is exact)', { skip, timeout: 180_000 }, async (t) => {
  if ('missing' in bins) return;
  const dir = tempDir('logship-restart-');
  mkdirSync(join(dir, 'logs'));
  const auth = join(dir, 'logs', 'auth.log');
  writeFileSync(auth, '');
  const port = await freePort();
  const shipped = join(dir, 'data', 'shipped.ndjson');
  // Positions are written only at reload/shutdown (sync_interval 1h): a SIGKILL always leaves
  // them behind what was read and counted.
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 1h }
sources:
  - { name: auth, paths: ["${auth}"], parser: syslog, service: sshd, start_at: beginning }
sinks:
  - { type: file, path: "${shipped}" }
`);
  let daemon: DaemonProcess | null = null;
  const start = async () => {
    const d = new DaemonProcess(['run', '--config', cfg]);
    daemon = d;
    await d.waitHttp(port, '/healthz', 60_000); // a loaded CI machine starts node slowly
    return d;
  };
  t.teardown(() => daemon?.kill('SIGKILL'));
  await start();

  const prom = await PrometheusServer.start({ bin: bins.found.prometheus, dir, targets: [`127.0.0.1:${port}`] });
  t.teardown(() => prom.stop());
  await waitFor('Prometheus scraped logship', () => prom.targetUp(), 30_000, 200);

  let written = 0;
  let seq = 0;
  /** `n` failed logins (one attempt per connection), 10 per write. */
  const attempts = (n: number) => {
    for (let done = 0; done < n; done += 10) {
      const lines: string[] = [];
      for (let i = 0; i < Math.min(10, n - done); i++, seq++) lines.push(...sshdOneAttemptSession({ ms: Date.now(), host: 'web1', pid: 7000 + seq, ip: `198.51.100.${seq % 200}`, port: 30_000 + seq }));
      append(auth, lines);
    }
    written += n;
  };
  const QUERY = 'auth_failures_total{job="logship",service="sshd"}';
  /** Waits until Prometheus has scraped the counter at `value`; returns that sample's own timestamp. */
  const scraped = (value: number) => waitFor(`Prometheus sees ${QUERY} = ${value}`, async () => {
    // the newest raw sample, with its own timestamp
    const r = await prom.query(`${QUERY}[10s]`) as unknown as Array<{ values: Array<[number, string]> }>;
    const newest = r[0]?.values.at(-1);
    return newest !== undefined && Number(newest[1]) === value ? newest[0] : null;
  }, 30_000, 200);

  const firstSample = Date.now() / 1000;
  // the series exists at 0 before the first attempt (a configured service)
  await scraped(0);
  attempts(40);
  await scraped(40);

  // SIGHUP: the pipeline restarts from the positions written at the reload; counters go on.
  daemon!.child.kill('SIGHUP');
  await waitFor('reloaded', () => /reloading configuration/.test(daemon!.stderr) && /logship started[\s\S]*logship started/.test(daemon!.stderr), 15_000, 100);
  attempts(30);
  await scraped(70);

  // SIGKILL: positions on disk are from the reload (after attempt 40); attempts 41-70 were
  // counted and shipped but will be read again.
  const shippedBeforeKill = readNdjson(shipped).length;
  await daemon!.kill('SIGKILL');
  attempts(20); // written while logship is down
  await start();
  await scraped(90);
  const reshipped = await waitFor('the re-read lines shipped again', () => {
    const n = readNdjson(shipped).length;
    return n >= shippedBeforeKill + 2 * 20 + 2 * 30 ? n : null;
  }, 20_000, 100);
  t.ok(reshipped >= shippedBeforeKill + 2 * 50, `the restart re-read from the old position: ${reshipped - shippedBeforeKill} lines shipped after the kill for 20 new attempts (at-least-once), yet counted once`);

  // Clean restart: SIGTERM persists positions and the checkpoint; nothing is read twice.
  const stopped = await daemon!.kill('SIGTERM');
  t.equal(stopped.code, 0, 'SIGTERM exits 0');
  await start();
  attempts(10);
  const last = await scraped(100);
  t.equal(written, 100);

  // Over the whole run, evaluated at the last sample's own time (no extrapolation past it):
  // exact, because the series began at 0 and never reset.
  const range = `${Math.ceil(last - firstSample) + 5}s`;
  const [inc] = await prom.query(`increase(${QUERY}[${range}])`, last);
  const [ups] = await prom.query(`count_over_time(up[${range}])`, last);
  const [upOk] = await prom.query(`sum_over_time(up[${range}])`, last);
  t.comment(`${ups?.value[1]} scrapes, ${upOk?.value[1]} while logship was up`);
  t.equal(Number(inc.value[1]), written, `increase() over the run = ${inc.value[1]}: every attempt counted exactly once`);
  const [resets] = await prom.query(`resets(${QUERY}[${range}])`, last);
  t.equal(Number(resets.value[1]), 0, 'Prometheus never saw a counter reset across reload, kill and restart');
  const [max] = await prom.query(`max_over_time(${QUERY}[${range}])`, last);
  t.equal(Number(max.value[1]), written, 'never more than the attempts written');
  await daemon!.kill('SIGTERM');
});
