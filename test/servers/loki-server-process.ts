import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Failure, LokiLimits } from './loki-server.ts';

const MAIN = join(import.meta.dirname, 'loki-server-main.ts');

export interface LokiServerProcessOptions {
  port: number;
  summary?: boolean;
  journal?: string;
  trackSeq?: string;
  rate?: number;
  burst?: number;
}

/**
 * The Loki test server as a separate process (so its CPU does not count against logship, and so
 * it can be killed with SIGKILL and restarted on the same port with its journal).
 */
export class LokiServerProcess {
  readonly opts: LokiServerProcessOptions;
  child: ChildProcess | null = null;
  output = '';

  constructor(opts: LokiServerProcessOptions) {
    this.opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const args = [MAIN, '--port', String(o.port)];
    if (o.summary) args.push('--summary');
    if (o.journal) args.push('--journal', o.journal);
    if (o.trackSeq) args.push('--track-seq', o.trackSeq);
    if (o.rate) args.push('--rate', String(o.rate));
    if (o.burst) args.push('--burst', String(o.burst));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (this.output.includes('listening ')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
      child.once('exit', (code) => reject(new Error(`loki test server exited with ${code}: ${this.output.slice(-2000)}`)));
    });
  }

  /** SIGKILL (default) or SIGTERM; resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await gone;
  }

  private async call<T>(path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.url}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return (await r.json()) as T;
  }

  fail(f: Failure): Promise<unknown> {
    return this.call('/test/fail', f);
  }

  clearFailure(): Promise<unknown> {
    return this.call('/test/clear-failure', {});
  }

  setLimits(l: Partial<LokiLimits>): Promise<unknown> {
    return this.call('/test/limits', l);
  }

  count(): Promise<{ entries: number; duplicates: number; requests: number }> {
    return this.call('/test/count');
  }

  seq(n: number): Promise<{ distinct: number; missing: number; missingSample: number[]; duplicated: number; extraCopies: number; max: number }> {
    return this.call(`/test/seq?n=${n}`);
  }

  summary(): Promise<{ entries: number; bytes: number; duplicates: number; requests: number; statuses: Record<string, number>; rejected: Record<string, number>; streams: Array<{ labels: string; pairs: Record<string, string>; count: number; metadataKeys: Record<string, number> }> }> {
    return this.call('/test/summary');
  }
}
