import type { Test } from 'tap';
import { EsServer } from './es-server.ts';
import { LokiTestServer } from './loki-server.ts';

/**
 * A Loki and an Elasticsearch test server (ES keeping each document's _source, so a test can
 * read back what was indexed), both started and stopped when `t` ends.
 */
export async function startLokiAndEs(t: Test): Promise<{ loki: LokiTestServer; es: EsServer }> {
  const loki = new LokiTestServer();
  await loki.start();
  t.teardown(() => loki.stop());
  const es = new EsServer({ storeSource: true });
  await es.start();
  t.teardown(() => es.stop());
  return { loki, es };
}
