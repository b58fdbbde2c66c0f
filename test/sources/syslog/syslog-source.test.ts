import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connect, type Socket } from 'node:net';
import { ByteBudget } from '../../../src/core/budget.ts';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { syslogSourceSchema } from '../../../src/sources/syslog/config.ts';
import { SyslogListenError, SyslogSource } from '../../../src/sources/syslog/syslog-source.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';
import { CollectingReceiver, silentLog } from '../support.ts';

async function receiver(t: Test, extra: Record<string, unknown>, budgetBytes = 1 << 30) {
  const cfg = syslogSourceSchema.parse({ name: 'net', type: 'syslog', listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0'], ...extra });
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const budget = new ByteBudget(budgetBytes);
  const rx = new CollectingReceiver();
  const src = new SyslogSource(cfg, { host: 'h', receiver: rx, budget, metrics, log: silentLog });
  await src.start();
  t.teardown(() => src.stop(Date.now()));
  const port = (transport: string) => Number(src.bound.find((b) => b.startsWith(transport))!.split(':').pop());
  const metric = async (name: string) => {
    const text = await metrics.metrics();
    return [...text.matchAll(new RegExp(`^${name} (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  };
  return { src, rx, budget, udp: port('udp'), tcp: port('tcp'), metric };
}

function tcpClient(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1', () => res(s));
    s.once('error', rej);
  });
}

t.test('TCP: a spent budget stops reading the socket; releasing it delivers the rest, nothing lost', async (t) => {
  const { rx, budget, tcp } = await receiver(t, {}, 64 * 1024);
  rx.hold = true;
  const sock = await tcpClient(tcp);
  const total = 200_000; // ~20 MB: more than the loopback socket buffers hold
  const msg = (i: number) => `<13>1 2026-01-01T00:00:00Z h app - - - message ${i} ${'p'.repeat(60)}\n`;
  let i = 0;
  // Write until the kernel buffers are full too (the receiver no longer reads).
  const writeAll = () => {
    while (i < total) if (!sock.write(msg(i++))) return sock.once('drain', writeAll);
    sock.end();
  };
  writeAll();
  await waitFor('budget spent', () => !budget.hasRoom());
  const heldAt = rx.lines.length;
  // The socket is paused: what arrives past the limit is at most one read chunk (64 KiB) of
  // messages, each charged its text (the frame without its newline) plus 128 B.
  await waitFor('sender blocked', () => i < total && sock.writableLength > 0, 10_000);
  const oneReadCharged = (65_536 / msg(0).length) * (msg(0).length - 1 + 128);
  t.ok(budget.inUse <= 64 * 1024 + oneReadCharged, `held bytes ${budget.inUse} within the budget plus one read`);
  t.ok(rx.lines.length - heldAt < 1000, 'reading stopped');
  // Drain: release as the receiver goes.
  const drain = setInterval(() => rx.releaseHeld(), 5);
  t.teardown(() => clearInterval(drain));
  await waitFor('all messages', () => rx.lines.length >= total, 30_000);
  t.equal(rx.lines.length, total);
  t.same(rx.lines.map((l) => Number(/message (\d+)/.exec(l.text)![1])), Array.from({ length: total }, (_, k) => k), 'in order, each once');
});

t.test('a port already in use fails the start with LISTEN_FAILED naming the listener, UDP and TCP alike', async (t) => {
  const { udp, tcp } = await receiver(t, {});
  for (const url of [`udp://127.0.0.1:${udp}`, `tcp://127.0.0.1:${tcp}`]) {
    const cfg = syslogSourceSchema.parse({ name: 'second', type: 'syslog', listen: [url] });
    const src = new SyslogSource(cfg, { host: 'h', receiver: new CollectingReceiver(), budget: new ByteBudget(1 << 20), metrics: new MetricsRegistry({ defaultMetrics: false }), log: silentLog });
    t.teardown(() => src.stop(Date.now()));
    const err = await src.start().then(() => null, (e: unknown) => e);
    t.ok(err instanceof SyslogListenError, `${url}: a SyslogListenError`);
    t.match(err, { code: 'LISTEN_FAILED', message: `source second: cannot listen on ${url}: `, context: { source: 'second', listen: url } }, `${url}: named`);
    t.match((err as Error).message, /EADDRINUSE/, `${url}: the cause`);
  }
});

t.test('UDP: datagrams arriving while the budget is spent are dropped and counted', async (t) => {
  const { rx, udp, metric } = await receiver(t, {}, 100);
  rx.hold = true;
  const client = createSocket('udp4');
  t.teardown(() => client.close());
  const send = (m: string) => new Promise<void>((res) => client.send(m, udp, '127.0.0.1', () => res()));
  await send('<13>Jan  1 00:00:00 h app: first fills the budget ' + 'x'.repeat(200));
  await waitFor('first', () => rx.lines.length === 1);
  for (let k = 0; k < 10; k++) await send(`<13>Jan  1 00:00:00 h app: dropped ${k}`);
  await waitFor('10 drops counted', async () => (await metric('logship_syslog_dropped_total\\{source="net",reason="overload"\\}')) === 10);
  rx.releaseHeld();
  await send('<13>Jan  1 00:00:00 h app: after room');
  await waitFor('accepted again', () => rx.lines.length === 2);
  t.match(rx.lines[1].text, /after room$/);
  t.equal(rx.lines[0].source.peer, `127.0.0.1:${client.address().port}`);
});

t.test('limits: connections over max_connections are refused, oversize messages cut or skipped, all counted', async (t) => {
  const { rx, tcp, udp, metric } = await receiver(t, { max_connections: 2, max_message_bytes: 100 });
  const a = await tcpClient(tcp);
  const b = await tcpClient(tcp);
  await waitFor('two open', async () => (await metric('logship_syslog_connections\\{source="net"\\}')) === 2);
  const c = connect(tcp, '127.0.0.1');
  c.on('error', () => {});
  await new Promise((res) => c.once('close', res));
  t.equal(await metric('logship_syslog_connections_refused_total\\{source="net",reason="max_connections"\\}'), 1);
  a.write(`150 ${'o'.repeat(150)}11 <13>h a: ok` + 'n'.repeat(300) + '\n<13>h a: after\n');
  await waitFor('3 messages', () => rx.lines.length >= 3);
  t.same(rx.lines.map((l) => [l.text.length, l.truncated]), [[11, false], [100, true], [14, false]]);
  t.equal(await metric('logship_syslog_dropped_total\\{source="net",reason="too_large"\\}'), 1, 'the octet-counted frame over the limit is skipped whole');
  const client = createSocket('udp4');
  await new Promise<void>((res) => client.send('u'.repeat(300), udp, '127.0.0.1', () => res()));
  client.close();
  await waitFor('udp', () => rx.lines.length >= 4);
  t.equal(rx.lines[3].text.length, 100);
  t.ok(rx.lines[3].truncated);
  t.equal(await metric('logship_syslog_truncated_total\\{source="net"\\}'), 2);
  a.destroy();
  b.destroy();
});

const opensslMissing = spawnSync('sh', ['-c', 'command -v openssl']).status !== 0;

t.test('TLS with ca: a client without a certificate is refused and counted; one with a certificate the CA signed is read', { skip: opensslMissing ? 'openssl not installed (Debian package openssl)' : false }, async (t) => {
  const dir = tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // One self-signed certificate: the server's, the CA, and the client's (it signed itself).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cfg = syslogSourceSchema.parse({ name: 'tls', type: 'syslog', listen: 'tcp://127.0.0.1:0', tls: { cert, key, ca: cert } });
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const rx = new CollectingReceiver();
  const src = new SyslogSource(cfg, { host: 'h', receiver: rx, budget: new ByteBudget(1 << 20), metrics, log: silentLog });
  await src.start();
  t.teardown(() => src.stop(Date.now()));
  const port = Number(src.bound[0].split(':').pop());
  const anonymous = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(cert) });
  await new Promise((res) => {
    anonymous.once('error', res);
    anonymous.once('close', res);
    anonymous.write('<13>h a: should not arrive\n');
  });
  await waitFor('tls refusal counted', async () => /logship_syslog_connections_refused_total\{source="tls",reason="tls"\} 1/.test(await metrics.metrics()));
  const client = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(cert), cert: readFileSync(cert), key: readFileSync(key) });
  await new Promise<void>((res, rej) => client.once('secureConnect', res).once('error', rej));
  client.end('<13>h a: mutual\n');
  await waitFor('message', () => rx.lines.length === 1);
  t.equal(rx.lines[0].text, '<13>h a: mutual');
});
