import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../support/daemon.ts';

/**
 * Real Prometheus and Alertmanager from Debian's packages (`prometheus`,
 * `prometheus-alertmanager`; .ci/run installs them) and a real webhook receiver, all on
 * 127.0.0.1 with their own temp configs and storage.
 */

/** The first of `names` that runs `--version`, or null. */
function binary(names: string[]): string | null {
  for (const n of names) {
    const r = spawnSync(n, ['--version'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return n;
  }
  return null;
}

export interface StackBinaries { prometheus: string; alertmanager: string }

/**
 * The binaries, or the reason they are missing. Under CI=true a missing binary is an error the
 * caller must fail on: CI installs them, so their absence is a broken CI, not a reason to skip.
 */
export function stackBinaries(): { found: StackBinaries } | { missing: string } {
  const prometheus = binary(['prometheus']);
  const alertmanager = binary(['prometheus-alertmanager', 'alertmanager']);
  if (prometheus && alertmanager) return { found: { prometheus, alertmanager } };
  const absent = [prometheus ? null : 'prometheus', alertmanager ? null : 'prometheus-alertmanager'].filter(Boolean).join(' and ');
  return { missing: `${absent} not found on PATH: apt-get update && apt-get install -y prometheus prometheus-alertmanager` };
}

/** A child process whose output is kept for failure messages. */
class Proc {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;
  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: string) => { this.output = (this.output + d).slice(-20_000); };
    this.child.stdout!.setEncoding('utf8').on('data', keep);
    this.child.stderr!.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export interface PromSample { metric: Record<string, string>; value: [number, string] }

export class PrometheusServer {
  readonly url: string;
  private readonly proc: Proc;

  private constructor(proc: Proc, url: string) {
    this.proc = proc;
    this.url = url;
  }

  /**
   * Prometheus scraping `targets` (job "logship") every second and evaluating `ruleFiles` every
   * second, sending alerts to `alertmanagerUrl`. `--rules.alert.resend-delay=1s` so that a
   * resolved alert reaches Alertmanager within a second, not the default minute.
   */
  static async start(opts: { bin: string; dir: string; targets: string[]; ruleFiles?: string[]; alertmanager?: string }): Promise<PrometheusServer> {
    const port = await freePort();
    const dir = join(opts.dir, 'prometheus');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: opts.ruleFiles ?? [],
      ...(opts.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] } } : {}),
      scrape_configs: [{ job_name: 'logship', static_configs: [{ targets: opts.targets }] }],
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const proc = new Proc(opts.bin, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
    ]);
    const p = new PrometheusServer(proc, `http://127.0.0.1:${port}`);
    await p.ready();
    return p;
  }

  private async ready(): Promise<void> {
    const early = this.proc.exited.then((code) => { throw new Error(`prometheus exited (${code}): ${this.proc.output.slice(-3000)}`); });
    early.catch(() => {});
    await Promise.race([early, waitFor(`prometheus ready (${this.proc.output.slice(-500)})`, async () => (await fetch(`${this.url}/-/ready`)).ok, 30_000, 100)]);
  }

  get output(): string { return this.proc.output; }

  /** An instant query; throws with Prometheus' error text when the query is rejected. */
  async query(expr: string, time?: number): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set('time', String(time));
    const res = await fetch(`${this.url}/api/v1/query?${params}`);
    const body = await res.json() as { status: string; error?: string; errorType?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
    if (body.status !== 'success') throw new PromQueryError(expr, `${body.errorType}: ${body.error}`);
    const d = body.data!;
    if (d.resultType === 'scalar') return [{ metric: {}, value: d.result as [number, string] }];
    return d.result as PromSample[];
  }

  /** Whether the scrape target is up (has been scraped at least once with success). */
  async targetUp(): Promise<boolean> {
    const r = await this.query('up{job="logship"}');
    return r.length > 0 && r.every((s) => s.value[1] === '1');
  }

  /** Loaded rule groups: their rules' names and health. */
  async rules(): Promise<Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }>> {
    const body = await (await fetch(`${this.url}/api/v1/rules`)).json() as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> } };
    return body.data.groups.flatMap((g) => g.rules);
  }

  stop(): Promise<void> { return this.proc.stop(); }
}

export class PromQueryError extends Error {
  readonly expr: string;
  constructor(expr: string, reason: string) {
    super(`query rejected: ${reason}\n  ${expr}`);
    this.expr = expr;
  }
}

export class AlertmanagerServer {
  readonly address: string;
  private readonly proc: Proc;

  private constructor(proc: Proc, address: string) {
    this.proc = proc;
    this.address = address;
  }

  /**
   * Alertmanager with one route to `webhookUrl`: every alert its own group (`group_by: ['...']`),
   * so each notification carries exactly one alert; 1 s group_wait/group_interval so firing and
   * resolved notifications go out within a second; no clustering (`--cluster.listen-address=`).
   */
  static async start(opts: { bin: string; dir: string; webhookUrl: string }): Promise<AlertmanagerServer> {
    const port = await freePort();
    const dir = join(opts.dir, 'alertmanager');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const config = {
      route: { receiver: 'webhook', group_by: ['...'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'webhook', webhook_configs: [{ url: opts.webhookUrl, send_resolved: true }] }],
    };
    writeFileSync(join(dir, 'alertmanager.yml'), JSON.stringify(config, null, 2));
    const proc = new Proc(opts.bin, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    const am = new AlertmanagerServer(proc, `127.0.0.1:${port}`);
    const early = proc.exited.then((code) => { throw new Error(`alertmanager exited (${code}): ${proc.output.slice(-3000)}`); });
    early.catch(() => {});
    await Promise.race([early, waitFor(`alertmanager ready (${proc.output.slice(-500)})`, async () => (await fetch(`http://${am.address}/-/ready`)).ok, 30_000, 100)]);
    return am;
  }

  get output(): string { return this.proc.output; }

  stop(): Promise<void> { return this.proc.stop(); }
}

/** One alert as Alertmanager's webhook payload carries it (version 4). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** An alert as the receiver got it, with the local time it arrived. */
export interface ReceivedAlert extends WebhookAlert { receivedAt: number }

/** A real HTTP server on 127.0.0.1 that Alertmanager posts its notifications to. */
export class WebhookReceiver {
  readonly received: ReceivedAlert[] = [];
  private readonly server: Server;
  private readonly waiters = new Set<() => void>();
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<WebhookReceiver> {
    let self: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        const now = Date.now();
        try {
          const payload = JSON.parse(body) as { version: string; alerts: WebhookAlert[] };
          for (const a of payload.alerts) self!.received.push({ ...a, receivedAt: now });
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
        for (const w of self!.waiters) w();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    self = new WebhookReceiver(server, `http://127.0.0.1:${port}/alerts`);
    return self;
  }

  /** The alerts received so far that match `labels` (every given label equal) and `status`. */
  matching(labels: Record<string, string>, status?: 'firing' | 'resolved', after = 0): ReceivedAlert[] {
    return this.received.filter((a) => a.receivedAt >= after && (status === undefined || a.status === status) && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
  }

  /** The first notification matching, received at or after `after`, waiting up to `timeoutMs`. */
  waitFor(what: string, labels: Record<string, string>, status: 'firing' | 'resolved', opts: { after?: number; timeoutMs: number }): Promise<ReceivedAlert> {
    const after = opts.after ?? 0;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.matching(labels, status, after)[0];
        if (hit === undefined) return false;
        done();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${opts.timeoutMs} ms waiting for ${status} ${what} ${JSON.stringify(labels)}; received: ${JSON.stringify(this.received.map((a) => [a.status, a.labels.alertname, a.labels.service ?? '', new Date(a.receivedAt).toISOString()]))}`));
      }, opts.timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      if (!check()) this.waiters.add(check);
    });
  }

  close(): Promise<void> {
    return new Promise((r) => { this.server.closeAllConnections(); this.server.close(() => r()); });
  }
}
