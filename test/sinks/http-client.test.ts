import t, { type Test } from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { HttpClient, HttpTimeoutError } from '../../src/sinks/http-client.ts';

const log = pino({ level: 'silent' });

/** A raw TCP server on 127.0.0.1 that answers each request with `answer(socket)`: HTTP written by hand. */
async function rawServer(t: Test, answer: (s: Socket, request: string) => void): Promise<string> {
  const srv: Server = createServer((s) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? 0);
      if (head >= 0 && got.length >= head + 4 + length) {
        answer(s, got);
        got = '';
      }
    });
    s.on('error', () => {});
  }).listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  return `http://127.0.0.1:${port}`;
}

const client = (origin: string, timeout = 5_000) => new HttpClient(origin, { tls: { insecure_skip_verify: false }, connections: 2, timeout, log, sink: 'test' });

t.test('a request: method, path, headers and body as sent; status, headers and body as answered; the connection reused', async (t) => {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const origin = await rawServer(t, (s, request) => {
    seen.push(request);
    sockets.add(s);
    s.write('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 5\r\n\r\nslow!');
  });
  const c = client(origin);
  t.teardown(() => c.destroy());
  for (let i = 0; i < 3; i++) {
    const res = await c.request({ method: 'POST', path: '/loki/api/v1/push?x=1', headers: { 'x-scope-orgid': 'team-a' }, body: Buffer.from('héllo') });
    t.equal(res.statusCode, 429);
    t.equal(res.headers['retry-after'], '7');
    t.equal(await res.text(), 'slow!');
  }
  t.match(seen[0], /^POST \/loki\/api\/v1\/push\?x=1 HTTP\/1\.1\r\n/);
  t.match(seen[0], /\r\nx-scope-orgid: team-a\r\n/i);
  t.match(seen[0], /\r\ncontent-length: 6\r\n/i, 'UTF-8 byte length');
  t.ok(Buffer.from(seen[0], 'latin1').subarray(-6).equals(Buffer.from('héllo')), 'the body bytes');
  t.equal(sockets.size, 1, 'three requests, one keep-alive connection');
});

t.test('the connection closing in the middle of the answer rejects reading it (no hang)', async (t) => {
  const origin = await rawServer(t, (s) => {
    s.write('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000\r\n\r\n0123456789');
    setImmediate(() => s.destroy());
  });
  const c = client(origin);
  t.teardown(() => c.destroy());
  const res = await c.request({ method: 'POST', path: '/', headers: {}, body: 'x' });
  t.equal(res.statusCode, 500);
  await t.rejects(res.text(), /closed before the whole answer|aborted|socket hang up/);
});

t.test('no byte for `timeout` ms: HttpTimeoutError, waiting for the answer and while reading it', async (t) => {
  const silent = await rawServer(t, () => {});
  const c1 = client(silent, 200);
  t.teardown(() => c1.destroy());
  await t.rejects(c1.request({ method: 'GET', path: '/', headers: {} }), HttpTimeoutError);
  const stalled = await rawServer(t, (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n01'));
  const c2 = client(stalled, 200);
  t.teardown(() => c2.destroy());
  const res = await c2.request({ method: 'POST', path: '/', headers: {}, body: 'x' });
  await t.rejects(res.dump(), HttpTimeoutError);
});

t.test('a connection refused and an abort reject the request', async (t) => {
  const gone = await rawServer(t, () => {});
  const port = new URL(gone).port;
  const refused = client(`http://127.0.0.1:1`);
  t.teardown(() => refused.destroy());
  await t.rejects(refused.request({ method: 'GET', path: '/', headers: {} }), { code: 'ECONNREFUSED' });
  const c = client(`http://127.0.0.1:${port}`);
  t.teardown(() => c.destroy());
  const abort = new AbortController();
  const pending = c.request({ method: 'GET', path: '/', headers: {}, signal: abort.signal });
  abort.abort();
  await t.rejects(pending, { name: 'AbortError' });
});
