import { appendFileSync } from 'node:fs';

/**
 * Log lines the alerting tests write, in the formats of the platform's sources:
 * - sshd in auth.log (RFC 3164 syslog as rsyslog writes it: `Mmm dd HH:MM:SS host prog[pid]: msg`),
 *   the sessions' lines as OpenSSH 9 and pam_unix write them (sshd(8), auth2.c/auth.c messages;
 *   pam_unix "authentication failure; logname= uid= euid= tty= ruser= rhost=");
 * - nginx's `combined` format plus `$request_time` (seconds), as the nginx parser reads it;
 * - the seed's JSON request lines (shared/notes/seed-log-formats.md 1d: method/route/status in
 *   `metadata`, `duration` in seconds) and its performance event (1c).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Dec  4 14:00:01` in UTC (the syslog parser's default zone). */
export function syslogStamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `04/Dec/2026:14:00:00 +0000` */
function clfStamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * One sshd connection from `ip` trying a non-existent user `attempts` times with passwords,
 * then dropped (MaxAuthTries): the "Invalid user" line, pam_unix's lines, one "Failed password"
 * verdict per attempt, the close and PAM's summary. `attempts` failed authentication attempts.
 */
export function sshdInvalidUserSession(opts: { ms: number; host: string; pid: number; ip: string; port: number; user: string; attempts: number }): string[] {
  const { host, pid, ip, port, user } = opts;
  const at = (dt: number, msg: string) => `${syslogStamp(opts.ms + dt)} ${host} sshd[${pid}]: ${msg}`;
  const lines = [
    at(0, `Invalid user ${user} from ${ip} port ${port}`),
    at(0, `pam_unix(sshd:auth): check pass; user unknown`),
    at(0, `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}`),
  ];
  for (let i = 0; i < opts.attempts; i++) lines.push(at(0, `Failed password for invalid user ${user} from ${ip} port ${port} ssh2`));
  lines.push(at(0, `Connection closed by invalid user ${user} ${ip} port ${port} [preauth]`));
  if (opts.attempts > 1) lines.push(at(0, `PAM ${opts.attempts - 1} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}`));
  return lines;
}

/** One sshd connection with a single wrong root password, then closed by the client: one attempt. */
export function sshdOneAttemptSession(opts: { ms: number; host: string; pid: number; ip: string; port: number }): string[] {
  const { host, pid, ip, port } = opts;
  return [
    `${syslogStamp(opts.ms)} ${host} sshd[${pid}]: Failed password for root from ${ip} port ${port} ssh2`,
    `${syslogStamp(opts.ms)} ${host} sshd[${pid}]: Connection closed by authenticating user root ${ip} port ${port} [preauth]`,
  ];
}

/** A successful key login and its session: the healthy background of an auth.log. */
export function sshdAcceptedSession(opts: { ms: number; host: string; pid: number; ip: string; port: number; user: string }): string[] {
  const { host, pid, ip, port, user } = opts;
  const at = (msg: string) => `${syslogStamp(opts.ms)} ${host} sshd[${pid}]: ${msg}`;
  return [
    at(`Accepted publickey for ${user} from ${ip} port ${port} ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4`),
    at(`pam_unix(sshd:session): session opened for user ${user}(uid=1001) by (uid=0)`),
  ];
}

/** An nginx access-log line: combined format + `$request_time` in seconds. */
export function nginxLine(opts: { ms: number; ip: string; method?: string; path: string; status: number; seconds: number; ua?: string }): string {
  return `${opts.ip} - - [${clfStamp(opts.ms)}] "${opts.method ?? 'GET'} ${opts.path} HTTP/1.1" ${opts.status} 512 "-" "${opts.ua ?? 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'}" ${opts.seconds.toFixed(3)}`;
}

let requestSeq = 0;

/** A seed-format (1d) request line of a Python-style service: request details in `metadata`, `duration` in seconds. */
export function appRequestLine(opts: { ms: number; service: string; method: string; route: string; path: string; status: number; seconds: number }): string {
  const failed = opts.status >= 500;
  return JSON.stringify({
    timestamp: new Date(opts.ms).toISOString(),
    level: failed ? 'ERROR' : 'INFO',
    service: opts.service,
    message: failed ? 'Request failed' : 'Request completed',
    trace_id: `t${(++requestSeq).toString(16)}`,
    request_id: `req-${requestSeq.toString(16)}`,
    duration: opts.seconds,
    metadata: { method: opts.method, route: opts.route, path: opts.path, status_code: opts.status, ...(failed ? { error: 'upstream timeout' } : {}) },
  });
}

/** The seed's performance event (1c): an operation over its threshold (seconds). */
export function slowOperationEvent(opts: { ms: number; service: string; operation: string; seconds: number; threshold: number }): string {
  return JSON.stringify({ timestamp: new Date(opts.ms).toISOString(), level: 'WARN', service: opts.service, message: `${opts.operation} took ${opts.seconds}s`, event_type: 'performance', operation: opts.operation, duration: opts.seconds, threshold: opts.threshold });
}

/** Appends lines to a file in one write (what a logger's buffered write does). */
export function append(path: string, lines: string[]): void {
  if (lines.length > 0) appendFileSync(path, lines.join('\n') + '\n');
}
