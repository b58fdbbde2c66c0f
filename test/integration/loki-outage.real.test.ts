import t from 'tap';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, sleep, tempDir, waitFor } from '../support/daemon.ts';
import { LOKI_SKIP_REASON, daemonConfig, metric, startDaemon } from '../support/loki-daemon.ts';
import { LokiProcess, type LokiStream } from '../support/loki-process.ts';

/** logship while a real Loki is killed for 20 s mid-stream: zero loss, positions never pass what Loki acknowledged. */

const LOKI_BIN = process.env.LOKI_BIN;

if (!LOKI_BIN) {
  t.plan(0, LOKI_SKIP_REASON);
} else {
  t.test('Loki killed for 20 s mid-stream: zero loss, positions never pass what Loki acknowledged', async (t) => {
    const loki = new LokiProcess(LOKI_BIN);
    await loki.start();
    t.teardown(() => loki.stop('SIGKILL'));
    const dir = tempDir();
    mkdirSync(join(dir, 'logs'));
    const file = join(dir, 'logs', 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const { d } = await startDaemon(t, dir, daemonConfig(dir, port, loki.url, { source: '\n    labels: { job: outage }' }));
    const t0 = Date.now() - 600_000;
    let n = 0;
    const write = (k: number) => {
      let chunk = '';
      for (let i = 0; i < k; i++, n++) chunk += JSON.stringify({ timestamp: new Date(t0 + n).toISOString(), level: 'INFO', service: 'api', message: `outage ${n}`, metadata: { seq: n } }) + '\n';
      appendFileSync(file, chunk);
    };
    const committed = () => {
      const pos = JSON.parse(readFileSync(join(dir, 'positions.json'), 'utf8')) as { files: Record<string, { offset: number }> };
      return Object.values(pos.files)[0]?.offset ?? 0;
    };
    for (let i = 0; i < 10; i++) {
      write(1000);
      await sleep(100);
    }
    await waitFor('first lines delivered', () => committed() > 0, 20_000, 100);
    await loki.stop('SIGKILL');
    // The sink only learns Loki is gone when it has something to push: everything written so far may
    // already be acknowledged, so log more before waiting for it to report retrying.
    write(1000);
    const sizeAtKill = statSync(file).size;
    // Once the sink saw Loki gone, no ack can come; then the positions file holds every
    // acknowledged offset once it equals what the tailer committed in memory. Waited for as
    // events: a fixed wait could end before a late positions write on a loaded machine.
    const apiStatus = async () => (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { sinks: Array<{ state: string }>; sources: Array<{ files: Array<{ committed: number }> }> };
    await waitFor('the sink retrying', async () => (await apiStatus()).sinks.every((s) => s.state === 'retrying'), 60_000, 100);
    await waitFor('the acknowledged offset persisted', async () => committed() === (await apiStatus()).sources[0].files[0]?.committed, 60_000, 100);
    const atOutageStart = committed();
    t.ok(atOutageStart <= sizeAtKill, 'positions within the file');
    const observed: number[] = [];
    for (let i = 0; i < 17; i++) {
      write(1000); // keep logging during the outage
      await sleep(1000); // paces the writer over the outage; nothing asserted waits on it
      observed.push(committed());
    }
    t.ok(observed.every((o) => o === atOutageStart), `positions did not move while Loki was down (${atOutageStart}; saw ${[...new Set(observed)].join(',')})`);
    await loki.start();
    for (let i = 0; i < 5; i++) {
      write(1000);
      await sleep(100);
    }
    const total = n;
    const streams: LokiStream[] = await waitFor(`all ${total} lines after the outage`, async () => {
      const s = await loki.queryRange('{job="outage"}');
      return s.reduce((k, x) => k + x.values.length, 0) >= total ? s : null;
    }, 120_000, 1000);
    const seen = new Set<number>();
    for (const s of streams) for (const [, line] of s.values) seen.add((JSON.parse(line) as { metadata: { seq: number } }).metadata.seq);
    t.equal(seen.size, total, `zero loss: ${total} distinct lines in Loki`);
    t.ok((await metric(port, /^logship_sink_retries_total\{.*status="network"/)) > 0, 'connection errors were retried');
    await waitFor('positions at EOF', () => committed() === statSync(file).size, 20_000, 200);
    t.equal((await d.kill('SIGTERM')).code, 0);
  });
}
