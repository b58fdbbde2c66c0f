import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, tempDir, waitFor } from './daemon.ts';

/** Where the shared peers live (../shared/peers from the repo root). */
export const PEERS_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'peers');

/**
 * A real Grafana Loki process (the binary from LOKI_BIN) on free ports with its own data dir,
 * configured from one of the shared configs (`loki.yaml` or `loki-seedlimits.yaml`).
 */
export interface LokiStream { stream: Record<string, string>; values: Array<[string, string]> }

export class LokiProcess {
  readonly bin: string;
  readonly dataDir: string;
  readonly configFile: string;
  httpPort = 0;
  grpcPort = 0;
  child: ChildProcess | null = null;
  output = '';

  constructor(bin: string, opts: { config?: 'loki.yaml' | 'loki-seedlimits.yaml'; dataDir?: string } = {}) {
    this.bin = bin;
    this.dataDir = opts.dataDir ?? tempDir('logship-loki-');
    this.configFile = join(this.dataDir, 'loki-config.yaml');
    const src = join(PEERS_DIR, opts.config ?? 'loki.yaml');
    if (!existsSync(src)) throw new Error(`Loki config not found: ${src}`);
    this.template = readFileSync(src, 'utf8');
  }

  private readonly template: string;

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Starts Loki (same ports and data dir on a restart) and waits for /ready. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.httpPort === 0) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
      const cfg = this.template
        .replace(/http_listen_port: \d+/, `http_listen_port: ${this.httpPort}`)
        .replace(/grpc_listen_port: \d+/, `grpc_listen_port: ${this.grpcPort}`)
        .replaceAll('${LOKI_DATA:-/var/tmp/loki}', this.dataDir);
      writeFileSync(this.configFile, cfg);
    }
    this.output = '';
    const child = spawn(this.bin, [`-config.file=${this.configFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-20_000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-20_000)));
    await waitFor(`Loki ready on ${this.httpPort} (${this.output.slice(-300)})`, async () => {
      if (child.exitCode !== null) throw new Error(`Loki exited ${child.exitCode}: ${this.output.slice(-1000)}`);
      const r = await fetch(`${this.url}/ready`).catch(() => null);
      return r?.status === 200;
    }, timeoutMs, 250);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }

  /** query_range over the last `sinceMs` (default 8 days), all pages, in forward order. */
  async queryRange(query: string, opts: { sinceMs?: number; limit?: number } = {}): Promise<LokiStream[]> {
    const out: LokiStream[] = [];
    for await (const page of this.rangePages(query, opts)) out.push(...page);
    return out;
  }

  /**
   * Entries and distinct entry timestamps of a query_range, page by page without keeping the
   * lines (for a 100 MiB backlog). With one timestamp per line written, `distinctTimestamps`
   * counts the lines stored at least once, `entries` counts them with every duplicate.
   */
  async countEntries(query: string, opts: { sinceMs?: number } = {}): Promise<{ entries: number; distinctTimestamps: number }> {
    const seen = new Set<string>();
    let entries = 0;
    for await (const page of this.rangePages(query, opts)) {
      for (const s of page) {
        entries += s.values.length;
        for (const [ts] of s.values) seen.add(ts);
      }
    }
    return { entries, distinctTimestamps: seen.size };
  }

  private async *rangePages(query: string, opts: { sinceMs?: number; limit?: number }): AsyncGenerator<LokiStream[]> {
    const end = BigInt(Date.now() + 60_000) * 1_000_000n;
    let start = BigInt(Date.now() - (opts.sinceMs ?? 8 * 86_400_000)) * 1_000_000n;
    const limit = opts.limit ?? 5000;
    for (;;) {
      const u = new URL(`${this.url}/loki/api/v1/query_range`);
      u.searchParams.set('query', query);
      u.searchParams.set('start', start.toString());
      u.searchParams.set('end', end.toString());
      u.searchParams.set('limit', String(limit));
      u.searchParams.set('direction', 'forward');
      const r = await fetch(u);
      if (r.status !== 200) throw new Error(`query_range ${r.status}: ${await r.text()}`);
      const body = (await r.json()) as { data: { result: LokiStream[] } };
      let n = 0;
      let maxTs = start;
      for (const s of body.data.result) {
        n += s.values.length;
        for (const [ts] of s.values) if (BigInt(ts) > maxTs) maxTs = BigInt(ts);
      }
      yield body.data.result;
      if (n < limit) return;
      // next page strictly after the newest timestamp seen (entries sharing it could be cut: callers use distinct timestamps)
      start = maxTs + 1n;
    }
  }

  /** Instant query (metric queries such as count_over_time). */
  async query(query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const u = new URL(`${this.url}/loki/api/v1/query`);
    u.searchParams.set('query', query);
    const r = await fetch(u);
    if (r.status !== 200) throw new Error(`query ${r.status}: ${await r.text()}`);
    return ((await r.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  }
}
