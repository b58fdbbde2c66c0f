import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { size } from '../../core/config-fields.ts';
import { parsedSourceFields } from '../receiver-config.ts';

/** `udp://HOST:PORT` or `tcp://HOST:PORT`; an IPv6 host in brackets (`tcp://[::1]:5514`). */
const LISTEN = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/;

export interface ListenAddress {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
}

export const listenAddress = () =>
  z.string().transform((s, ctx): ListenAddress => {
    const m = LISTEN.exec(s);
    const port = m ? Number(m[3]) : -1;
    if (m === null || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected udp://HOST:PORT or tcp://HOST:PORT (e.g. "tcp://127.0.0.1:5514"), got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
    return { transport: m[1] as 'udp' | 'tcp', host, port };
  });

/** A PEM file that must be readable when the config loads, so `validate` names the key. */
const pemFile = () =>
  z.string().min(1).superRefine((path, ctx) => {
    try {
      accessSync(path, constants.R_OK);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
  });

const syslogTlsSchema = () => z.strictObject({
  cert: pemFile(),
  key: pemFile(),
  /** Clients must present a certificate signed by this CA (mutual TLS). */
  ca: pemFile().optional(),
});

/**
 * The `type: syslog` source, built at its first use (z.lazy): a config without a syslog source
 * never constructs its zod objects (bench/RESULTS.md, "Start-up").
 */
export const syslogSourceSchema = z.lazy(() => z.strictObject({
  ...parsedSourceFields('syslog'),
  type: z.literal('syslog'),
  /** One address or a list. */
  listen: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(listenAddress()).min(1)),
  /** TLS on every tcp:// listener. */
  tls: syslogTlsSchema().optional(),
  /** Longer messages are cut (newline framing, UDP) or skipped (an octet count above it), and counted. */
  max_message_bytes: size().default(64 * 1024),
  /** Concurrent TCP connections per listener; more are refused, counted and logged. */
  max_connections: z.number().int().min(1).default(256),
}));
export type SyslogSourceConfig = z.infer<typeof syslogSourceSchema>;
