import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig, type ShippedRecord } from '../../support/daemon.ts';

// The real producers: util-linux logger (RFC 5424 / 3164, UDP / TCP, octet counting) and a
// TLS client with a throwaway certificate made by openssl.
const missing = ['logger', 'openssl'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
if (missing.length > 0) {
  // Reported as skipped (not as a pass) so a CI without the producers does not look green here.
  t.plan(0, `${missing.join(', ')} not installed (Debian packages bsdutils / openssl)`);
  process.exit(0);
}

type Shipped = ShippedRecord<{ hostname?: string; structured_data?: Record<string, Record<string, string>>; facility?: string; pid?: number }>;

function logger(args: string[], message: string): void {
  execFileSync('logger', [...args, message], { stdio: ['ignore', 'inherit', 'inherit'] });
}

t.test('logger over UDP and TCP in both RFC formats, octet counting, and TLS', async (t) => {
  const dir = tempDir();
  const [http, udp, tcp, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const out = join(dir, 'shipped.ndjson');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${http}" }
positions: { path: "${dir}/positions.json" }
sources:
  - { name: net, type: syslog, listen: ["udp://127.0.0.1:${udp}", "tcp://127.0.0.1:${tcp}"] }
  - { name: secure, type: syslog, listen: "tcp://127.0.0.1:${tlsPort}", tls: { cert: "${cert}", key: "${key}" } }
sinks:
  - { type: file, path: "${out}", fsync: false }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(http);

  logger(['--udp', '-n', '127.0.0.1', '-P', String(udp), '--rfc5424', '-t', 'sshd', '--sd-id', 'origin@32473', '--sd-param', 'ip="203.0.113.9"', '-p', 'auth.warning'], 'Failed password for root from 203.0.113.9 port 4711 ssh2');
  logger(['--udp', '-n', '127.0.0.1', '-P', String(udp), '--rfc3164', '-t', 'cron', '-p', 'cron.err'], 'udp 3164');
  logger(['--tcp', '-n', '127.0.0.1', '-P', String(tcp), '--rfc5424', '-t', 'app'], 'tcp 5424 newline');
  logger(['--tcp', '-n', '127.0.0.1', '-P', String(tcp), '--rfc3164', '-t', 'app'], 'tcp 3164 newline');
  logger(['--tcp', '-n', '127.0.0.1', '-P', String(tcp), '--octet-count', '--rfc5424', '-t', 'app'], 'tcp 5424 octet\nwith a newline inside');
  logger(['--tcp', '-n', '127.0.0.1', '-P', String(tcp), '--octet-count', '--rfc3164', '-t', 'app'], 'tcp 3164 octet');
  // TLS: two octet-counted frames and one newline-framed message in one write.
  const frames = ['<86>1 2026-01-02T03:04:05.678Z gw sudo 99 - - tls one', '<86>Jan  2 03:04:05 gw sudo[99]: tls two'];
  const socket = connect({ host: '127.0.0.1', port: tlsPort, ca: readFileSync(cert) });
  await new Promise<void>((res, rej) => socket.once('secureConnect', res).once('error', rej));
  const localPort = socket.localPort;
  socket.end(frames.map((f) => `${Buffer.byteLength(f)} ${f}`).join('') + '<86>1 - gw sudo - - - tls three\n');

  const recs = await waitFor('9 records', () => {
    const r = readNdjson<Shipped>(out);
    return r.length >= 9 ? r : null;
  });
  const by = (m: string) => recs.find((r) => r.message === m);
  const ssh = by('Failed password for root from 203.0.113.9 port 4711 ssh2');
  t.ok(ssh, 'RFC 5424 over UDP');
  t.equal(ssh?.service, 'sshd');
  t.equal(ssh?.level, 'WARN', 'severity 4 (warning) → WARN');
  t.equal(ssh?.metadata?.facility, 'auth');
  t.same(ssh?.metadata?.structured_data?.['origin@32473'], { ip: '203.0.113.9' }, 'structured data kept as metadata');
  t.equal(ssh?.event_type, 'security', 'classified like a file line');
  t.equal(ssh?.action, 'failed_login');
  t.match(ssh?.source, { type: 'syslog', name: 'net', peer: /^127\.0\.0\.1:\d+$/ }, 'peer address recorded');
  t.match(by('udp 3164'), { service: 'cron', level: 'ERROR', metadata: { facility: 'cron' } }, 'RFC 3164 over UDP');
  t.match(by('tcp 5424 newline'), { service: 'app', source: { name: 'net' } }, 'RFC 5424, TCP newline framing');
  t.ok(by('tcp 3164 newline'), 'RFC 3164, TCP newline framing');
  t.ok(by('tcp 5424 octet\nwith a newline inside'), 'octet counting keeps a newline inside the message');
  t.ok(by('tcp 3164 octet'), 'RFC 3164, octet counting');
  t.match(by('tls one'), { service: 'sudo', timestamp: '2026-01-02T03:04:05.678Z', source: { name: 'secure', peer: `127.0.0.1:${localPort}` } }, 'TLS, octet counted');
  t.match(by('tls two'), { service: 'sudo', metadata: { pid: 99, hostname: 'gw' } });
  t.ok(by('tls three'), 'TLS, newline framing');
  t.equal(recs.length, 9, 'nothing twice');

  const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  t.match(metrics, /auth_failures_total\{service="sshd"\} 1/, 'the sshd failure drives the security metrics');
  t.match(metrics, /logship_syslog_messages_total\{source="net",transport="udp"\} 2/);
  t.match(metrics, /logship_syslog_messages_total\{source="net",transport="tcp"\} 4/);
  t.match(metrics, /logship_syslog_messages_total\{source="secure",transport="tcp"\} 3/);

  // /api/status and the status page show each receiver: listeners, connections, counts, drops.
  const status = (await (await fetch(`http://127.0.0.1:${http}/api/status`)).json()) as { sources: Array<{ name: string; type: string; syslog?: unknown }> };
  t.same(status.sources.find((s) => s.name === 'net')?.syslog, {
    listeners: [{ address: `udp://127.0.0.1:${udp}`, protocol: 'udp', tls: false }, { address: `tcp://127.0.0.1:${tcp}`, protocol: 'tcp', tls: false }],
    connections: 0,
    maxConnections: 256, // the max_connections default
    messagesReceived: { udp: 2, tcp: 4 },
    dropped: { overload: 0, too_large: 0 },
    refusedConnections: { max_connections: 0, tls: 0 },
    truncated: 0,
  }, 'the UDP+TCP receiver on /api/status');
  t.match(status.sources.find((s) => s.name === 'secure')?.syslog, { listeners: [{ address: `tcp://127.0.0.1:${tlsPort}`, protocol: 'tcp', tls: true }], messagesReceived: { udp: 0, tcp: 3 } }, 'the TLS receiver on /api/status');
  const page = await (await fetch(`http://127.0.0.1:${http}/`)).text();
  t.match(page, /<table id="syslog">/, 'the status page has a syslog receivers table');
  t.match(page, new RegExp(`<tr data-source="net" data-connections="0" data-udp="2" data-tcp="4" data-dropped-overload="0" data-dropped-too-large="0">.*<code>udp://127\\.0\\.0\\.1:${udp}</code>`));
  t.match(page, new RegExp(`<tr data-source="secure"[^>]*>.*<code>tcp://127\\.0\\.0\\.1:${tlsPort}</code> <span class="badge">TLS</span>`));
  t.notMatch(page, /<tr class="nofiles" data-source="(net|secure)"/, 'a receiver is not listed as a file source without files');
  t.equal((await d.kill('SIGTERM')).code, 0);
});

t.test('validate names a bad listen address and an unreadable TLS key', async (t) => {
  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources:
  - { name: a, type: syslog, listen: ["udp://127.0.0.1:514", "http://127.0.0.1:1"] }
  - { name: b, type: syslog, listen: "tcp://127.0.0.1:6514", tls: { cert: "${dir}/nope.pem", key: "${dir}/nope.key" } }
sinks: [{ type: stdout }]
`);
  const { runCli } = await import('../../support/daemon.ts');
  const r = await runCli(['validate', '--config', cfg]);
  t.equal(r.code, 2);
  t.match(r.stderr, /sources\[0\]\.listen\[1\]: expected udp:\/\/HOST:PORT/);
  t.match(r.stderr, /sources\[1\]\.tls\.cert: cannot read .*ENOENT/);
  t.match(r.stderr, /sources\[1\]\.tls\.key: cannot read .*ENOENT/);
});
