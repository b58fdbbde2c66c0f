import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createTcpServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { heldStringBytes, type ByteBudget } from '../../core/budget.ts';
import { LogshipError } from '../../core/errors.ts';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import type { LineReceiver } from '../../core/line.ts';
import type { SourceInfo } from '../../core/record.ts';
import type { SyslogStatus } from '../../core/status.ts';
import { BudgetAck } from '../budget-ack.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { ListenAddress, SyslogSourceConfig } from './config.ts';
import { SyslogFramer } from './framing.ts';
import { SyslogMetrics } from './syslog-metrics.ts';
import type { Source } from '../../core/source.ts';

/** Budget bytes a message holds besides its text (its record, ack and share of a batch), as a file line's 128. */
const MESSAGE_OVERHEAD = 128;

export class SyslogListenError extends LogshipError {}

export interface SyslogSourceDeps {
  /** This host's name (source.host). */
  host: string;
  /** The source's processor: every message goes there as one line. */
  receiver: LineReceiver;
  budget: ByteBudget;
  metrics: MetricsRegistry;
  log: Logger;
}

/** Peers remembered per UDP socket (their frozen SourceInfo); the map is reset when full. */
const UDP_PEER_CACHE = 4096;

/**
 * A syslog receiver: UDP datagrams (one message each) and TCP/TLS streams (RFC 6587 framing,
 * see SyslogFramer). Each message is one line for the source's parser (syslog by default:
 * RFC 5424 and 3164 auto-detected). There is no position to commit: a message's bytes count
 * against the global budget until every sink acknowledged it (BudgetAck). When the budget is
 * spent, TCP sockets stop being read (the senders' kernel buffers, then the senders, wait) and
 * UDP datagrams are dropped and counted: UDP has no way to slow a sender down.
 */
export class SyslogSource implements Source {
  readonly name: string;
  private readonly cfg: SyslogSourceConfig;
  private readonly deps: SyslogSourceDeps;
  private readonly metrics: SyslogMetrics;
  private readonly throttle: LogThrottle;
  private readonly servers: Server[] = [];
  private readonly udpSockets: UdpSocket[] = [];
  private readonly sockets = new Set<Socket>();
  /** The addresses actually bound (a port 0 in the config becomes the kernel's choice). */
  readonly bound: string[] = [];
  private stopped = false;

  constructor(cfg: SyslogSourceConfig, deps: SyslogSourceDeps) {
    this.name = cfg.name;
    this.cfg = cfg;
    this.deps = deps;
    this.metrics = new SyslogMetrics(deps.metrics, cfg.name);
    this.throttle = new LogThrottle(deps.log);
  }

  async start(): Promise<void> {
    for (const addr of this.cfg.listen) {
      if (addr.transport === 'udp') await this.listenUdp(addr);
      else await this.listenTcp(addr);
    }
    this.deps.log.info({ source: this.name, listen: this.bound, tls: this.cfg.tls !== undefined }, 'syslog receiver listening');
  }

  /** Stops accepting and reading; messages already handed on are the sinks' to finish. */
  async stop(_readDeadline: number): Promise<void> {
    this.stopped = true;
    for (const s of this.udpSockets) s.close();
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.metrics.connections.set(0);
    await Promise.all(closing);
  }

  /** For /api/status: what it listens on, how many TCP peers are connected, what it received and dropped. */
  status(): SyslogStatus {
    const m = this.metrics;
    const tls = this.cfg.tls !== undefined;
    return {
      listeners: this.bound.map((address) => {
        const protocol = address.startsWith('udp:') ? 'udp' : 'tcp';
        return { address, protocol, tls: protocol === 'tcp' && tls };
      }),
      connections: this.sockets.size,
      maxConnections: this.cfg.max_connections,
      messagesReceived: { udp: m.udpMessages.total, tcp: m.tcpMessages.total },
      dropped: { overload: m.droppedOverload.total, too_large: m.droppedTooLarge.total },
      refusedConnections: { max_connections: m.refusedMaxConnections.total, tls: m.refusedTls.total },
      truncated: m.truncated.total,
    };
  }

  private emit(text: string, truncated: boolean, source: SourceInfo): void {
    if (truncated) {
      this.metrics.truncated.inc();
      this.throttle.warn('truncated', { source: this.name, peer: source.peer, limit: this.cfg.max_message_bytes }, 'syslog message longer than max_message_bytes: cut');
    }
    this.deps.receiver.receive({ text, ack: new BudgetAck(this.deps.budget, heldStringBytes(text) + MESSAGE_OVERHEAD), truncated, source, readTime: Date.now() });
  }

  private sourceInfo(address: string | undefined, port: number | undefined): SourceInfo {
    const peer = address === undefined ? 'unknown' : isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
    return Object.freeze({ type: 'syslog', name: this.name, host: this.deps.host, peer });
  }

  private async listenUdp(addr: ListenAddress): Promise<void> {
    const sock = createSocket({ type: isIPv6(addr.host) ? 'udp6' : 'udp4' });
    const peers = new Map<string, SourceInfo>();
    const max = this.cfg.max_message_bytes;
    const { budget } = this.deps;
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      if (this.stopped) return;
      if (!budget.hasRoom()) {
        this.metrics.droppedOverload.inc();
        this.throttle.warn('overload', { source: this.name, limit: budget.limit }, 'buffer budget spent: dropping UDP syslog messages (sinks are behind)');
        return;
      }
      const key = `${rinfo.address}:${rinfo.port}`;
      let info = peers.get(key);
      if (info === undefined) {
        if (peers.size >= UDP_PEER_CACHE) peers.clear();
        info = this.sourceInfo(rinfo.address, rinfo.port);
        peers.set(key, info);
      }
      // A datagram is one message; some senders end it with LF (or NUL, or CR LF) anyway.
      let end = msg.length;
      while (end > 0 && (msg[end - 1] === 10 || msg[end - 1] === 13 || msg[end - 1] === 0)) end--;
      if (end === 0) return;
      this.metrics.udpMessages.inc();
      const truncated = end > max;
      this.emit(msg.toString('utf8', 0, truncated ? max : end), truncated, info);
    });
    sock.on('error', (err) => this.deps.log.error({ source: this.name, err: err.message }, 'syslog UDP socket error'));
    await this.listening(sock, `udp://${addr.host}:${addr.port}`, (ready) => sock.bind(addr.port, addr.host, ready));
    const a = sock.address();
    this.bound.push(`udp://${formatHost(a.address)}:${a.port}`);
    this.udpSockets.push(sock);
  }

  private async listenTcp(addr: ListenAddress): Promise<void> {
    const tls = this.cfg.tls;
    let server: Server;
    if (tls !== undefined) {
      const [cert, key, ca] = await Promise.all([readFile(tls.cert), readFile(tls.key), tls.ca === undefined ? undefined : readFile(tls.ca)]);
      server = createTlsServer({ cert, key, ca, requestCert: ca !== undefined, rejectUnauthorized: ca !== undefined }, (s) => this.accept(s));
      server.on('tlsClientError', (err: Error, s: Socket) => {
        this.metrics.refusedTls.inc();
        this.throttle.warn('tls', { source: this.name, peer: s.remoteAddress, err: err.message }, 'syslog TLS handshake failed');
      });
    } else server = createTcpServer((s) => this.accept(s));
    server.maxConnections = this.cfg.max_connections;
    server.on('drop', (d) => {
      this.metrics.refusedMaxConnections.inc();
      this.throttle.warn('max_connections', { source: this.name, peer: d?.remoteAddress, max_connections: this.cfg.max_connections }, 'syslog connection refused: max_connections reached');
    });
    await this.listening(server, `tcp://${addr.host}:${addr.port}`, (ready) => server.listen(addr.port, addr.host, ready));
    server.on('error', (err) => this.deps.log.error({ source: this.name, err: err.message }, 'syslog TCP server error'));
    const a = server.address();
    if (a !== null && typeof a === 'object') this.bound.push(`tcp://${formatHost(a.address)}:${a.port}`);
    this.servers.push(server);
  }

  /** Calls `listen` and resolves when it is ready; an 'error' before that rejects with LISTEN_FAILED naming `url`. */
  private listening(target: EventEmitter, url: string, listen: (ready: () => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new SyslogListenError('LISTEN_FAILED', `source ${this.name}: cannot listen on ${url}: ${err.message}`, { source: this.name, listen: url }, { cause: err }));
      target.once('error', onError);
      listen(() => {
        target.off('error', onError);
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.metrics.connections.inc();
    const info = this.sourceInfo(socket.remoteAddress, socket.remotePort);
    const { budget } = this.deps;
    const framer = new SyslogFramer(this.cfg.max_message_bytes, {
      message: (data, start, end, truncated) => {
        this.metrics.tcpMessages.inc();
        this.emit(data.toString('utf8', start, end), truncated, info);
      },
      oversize: (bytes) => {
        this.metrics.droppedTooLarge.inc();
        this.throttle.warn('too_large', { source: this.name, peer: info.peer, bytes, limit: this.cfg.max_message_bytes }, 'octet-counted syslog message over max_message_bytes: skipped');
      },
    });
    let waiting = false;
    const resume = () => {
      waiting = false;
      if (!socket.destroyed) socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      // Backpressure: stop reading this peer until the sinks made room (TCP flow control
      // then holds the sender).
      if (!waiting && !budget.hasRoom()) {
        waiting = true;
        socket.pause();
        void budget.waitForRoom().then(resume);
      }
    });
    socket.on('end', () => {
      framer.end();
      socket.end();
    });
    socket.on('error', (err) => {
      this.metrics.connectionErrors.inc();
      this.throttle.warn('socket', { source: this.name, peer: info.peer, err: err.message }, 'syslog connection error');
    });
    socket.on('close', () => {
      if (this.sockets.delete(socket)) this.metrics.connections.dec();
    });
  }
}

function formatHost(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}
