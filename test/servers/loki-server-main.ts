/**
 * The Loki test server in its own process (benchmarks, kill-and-restart tests):
 *   node test/servers/loki-server-main.ts --port 3199 [--summary] [--journal FILE]
 *     [--track-seq REGEX] [--rate BYTES_PER_S] [--burst BYTES] [--max-age MS]
 * Prints `listening <port>` when ready; control and queries under /test/ (see loki-server.ts).
 */
import { parseArgs } from 'node:util';
import { LokiTestServer, type LokiLimits } from './loki-server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    summary: { type: 'boolean', default: false },
    journal: { type: 'string' },
    'track-seq': { type: 'string' },
    rate: { type: 'string' },
    burst: { type: 'string' },
    'max-age': { type: 'string' },
  },
});

const limits: Partial<LokiLimits> = {};
if (values.rate) limits.ingestionRateBytes = Number(values.rate);
if (values.burst) limits.ingestionBurstBytes = Number(values.burst);
if (values['max-age']) limits.rejectOldSamplesMaxAgeMs = Number(values['max-age']);

const server = new LokiTestServer({
  port: Number(values.port),
  store: values.summary ? 'summary' : 'full',
  limits,
  ...(values.journal ? { journalPath: values.journal } : {}),
  ...(values['track-seq'] ? { trackSeq: new RegExp(values['track-seq']) } : {}),
});
await server.start();
process.stdout.write(`listening ${server.port}\n`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
