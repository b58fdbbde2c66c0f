/**
 * The ES test server as its own process (benchmarks, manual runs):
 *   node test/servers/es-server-main.ts [--port N] [--max-content-length BYTES] [--no-source] [--authorization VALUE]
 * Prints {"port":N} on stdout once listening; SIGTERM/SIGINT stop it. Control and inspection over
 * HTTP: GET /_logship_test/stats, POST /_logship_test/faults, GET /_logship_test/ids, GET /_count.
 */
import { EsServer } from './es-server.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

const server = new EsServer({
  port: Number(opt('port') ?? 0),
  ...(opt('max-content-length') ? { maxContentLength: Number(opt('max-content-length')) } : {}),
  ...(opt('authorization') ? { authorization: opt('authorization') } : {}),
  storeSource: !args.includes('--no-source'),
});
const port = await server.start();
process.stdout.write(JSON.stringify({ port }) + '\n');
const stop = () => {
  void server.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
