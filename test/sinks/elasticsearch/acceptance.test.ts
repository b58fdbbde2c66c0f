import t from 'tap';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';
import { EsServer } from '../../servers/es-server.ts';

/**
 * Issue 6 acceptance: LOGSHIP_ES_ACCEPTANCE_LINES (default 500,000) lines through the real CLI
 * while ES answers 429 for 10% of items for 30 s, fails whole requests with 503 twice, and the
 * daemon is SIGKILLed 3 times: every line indexed exactly once (count and ids); the dead-letter
 * file holds exactly the deliberately unmappable lines, with reasons.
 */
const TOTAL = Number(process.env.LOGSHIP_ES_ACCEPTANCE_LINES ?? 500_000);
const CHUNKS = 5;
const UNMAPPABLE_EVERY = 5000;
const T0 = Date.parse('2024-05-02T00:00:00.000Z') - Math.floor(TOTAL / 2); // 1 ms per line, crossing midnight: two daily indices

function line(i: number): { text: string; message: string; bad: boolean } {
  const bad = i % UNMAPPABLE_EVERY === 1234 % UNMAPPABLE_EVERY;
  const message = `line ${i}`;
  const text = JSON.stringify({ timestamp: new Date(T0 + i).toISOString(), level: i % 10 === 0 ? 'error' : 'info', service: 'pafar', message, user_id: bad ? `bad-${i}` : String(i), response_time: i % 7000 });
  return { text, message, bad };
}

/** The sink's `_id`: sha1("<dev:ino>@<offset>\n<message>"), 16 bytes, base64url. */
function expectedId(key: string, offset: number, message: string): string {
  return createHash('sha1').update(`${key}@${offset}\n${message}`).digest().subarray(0, 16).toString('base64url');
}

t.test(`${TOTAL} lines, per-item 429s, two 503 periods, 3 × SIGKILL → exactly once`, { timeout: 280_000 }, async (t) => {
  const started = Date.now();
  const es = new EsServer({ storeSource: false, seed: 3 });
  await es.start();
  t.teardown(() => es.stop());
  const put = async (path: string, body: unknown) => {
    const r = await fetch(es.url + path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.equal(r.status, 200, `PUT ${path}`);
  };
  // The cluster's own template: user_id is a long, so "bad-N" user ids are unmappable.
  await put('/_component_template/acceptance', { template: { mappings: { properties: { user_id: { type: 'long' }, level: { type: 'keyword' }, response_time: { type: 'double' }, metadata: { type: 'flattened' } } } } });
  await put('/_index_template/acceptance', { index_patterns: ['logstash-*'], priority: 300, composed_of: ['acceptance'] });

  const dir = tempDir('logship-es-acc-');
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  const key = (() => {
    const st = statSync(log);
    return `${st.dev}:${st.ino}`;
  })();
  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning }
sinks:
  - type: elasticsearch
    url: "${es.url}"
    dead_letter_path: "${dir}/data/dead.ndjson"
    batch: { max_bytes: 1MiB, max_wait: 200ms }
    retry: { min_backoff: 100ms, max_backoff: 2s }
`);

  const goodIds = new Set<string>();
  const badIds = new Set<string>();
  let offset = 0;
  let next = 0;
  const appendChunk = () => {
    const end = Math.min(TOTAL, next + Math.ceil(TOTAL / CHUNKS));
    let text = '';
    for (; next < end; next++) {
      const l = line(next);
      (l.bad ? badIds : goodIds).add(expectedId(key, offset, l.message));
      const s = l.text + '\n';
      offset += Buffer.byteLength(s);
      text += s;
    }
    appendFileSync(log, text);
  };

  const daemons: DaemonProcess[] = [];
  t.teardown(() => Promise.all(daemons.map((d) => d.kill('SIGKILL'))));
  const startDaemon = async () => {
    const d = new DaemonProcess(['run', '--config', cfg]);
    daemons.push(d);
    await d.waitHttp(port, '/healthz', 30_000);
    return d;
  };
  const kill9 = async (d: DaemonProcess) => {
    const r = await d.kill('SIGKILL');
    t.equal(r.signal, 'SIGKILL', 'killed with SIGKILL');
  };
  const atLeast = (n: number) => waitFor(`${n} documents (have ${es.count()})`, () => es.count() >= n, 120_000, 20);

  es.failItems(429, 0.1, 30_000);
  appendChunk();
  let d = await startDaemon();
  await atLeast(Math.floor(TOTAL * 0.12));
  await kill9(d); // 1

  appendChunk();
  d = await startDaemon();
  es.failRequests(503, { forMs: 2500 }); // 503 period 1
  await atLeast(Math.floor(TOTAL * 0.36));
  await kill9(d); // 2

  appendChunk();
  d = await startDaemon();
  await atLeast(Math.floor(TOTAL * 0.52));
  es.failRequests(503, { forMs: 2500 }); // 503 period 2: killed while retrying it
  await new Promise((r) => setTimeout(r, 1000));
  await kill9(d); // 3

  appendChunk();
  appendChunk();
  d = await startDaemon();
  const deadPath = join(dir, 'data', 'dead.ndjson');
  await waitFor(`all ${goodIds.size} documents (have ${es.count()}) and ${badIds.size} dead letters`, () => es.count() >= goodIds.size && readNdjson(deadPath).length >= badIds.size, 200_000, 200);
  const exit = await d.kill('SIGTERM');
  t.equal(exit.code, 0, 'clean shutdown after the run');

  t.equal(next, TOTAL, 'every line written');
  t.ok(es.stats.injectedItemFailures > 0, `per-item 429s injected: ${es.stats.injectedItemFailures}`);
  t.ok(es.stats.injectedRequestFailures > 0, `whole-request 503s injected: ${es.stats.injectedRequestFailures}`);
  const ids = es.ids();
  t.equal(es.count(), goodIds.size, `count: every mappable line indexed (${goodIds.size})`);
  t.equal(ids.length, new Set(ids).size, 'no id stored twice');
  let missing = 0;
  for (const id of ids) if (!goodIds.has(id)) missing++;
  t.equal(missing, 0, 'every stored id is the id of a line (file identity + offset)');
  t.ok(es.indices.has('logstash-pafar-2024.05.01') && es.indices.has('logstash-pafar-2024.05.02'), 'daily indices from the record timestamps');

  const dead = readNdjson<{ _id: string; reason: string; error: string; status: number; document: { user_id: string } }>(deadPath);
  t.equal(dead.length, badIds.size, `dead letters: exactly the ${badIds.size} unmappable lines`);
  t.ok(dead.every((l) => badIds.has(l._id)), 'only unmappable lines are dead-lettered');
  t.equal(new Set(dead.map((l) => l._id)).size, dead.length, 'none twice');
  t.ok(dead.every((l) => l.status === 400 && l.reason === 'mapper_parsing_exception' && /user_id/.test(l.error) && l.document.user_id.startsWith('bad-')), 'each with its reason');
  t.comment(`${TOTAL} lines in ${((Date.now() - started) / 1000).toFixed(1)} s; bulk requests ${es.stats.bulkRequests}, 409 duplicates ${es.stats.conflicts}, 429 items ${es.stats.injectedItemFailures}, 503 requests ${es.stats.injectedRequestFailures}, dead letters ${dead.length}`);
});
