import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ByteBudget } from './core/budget.ts';
import { sinkName, type Config } from './config/schema.ts';
import { DERIVED_METRICS_RECORD_FIELDS, DerivedMetricsStage } from './derived-metrics/stage.ts';
import { MetricsRegistry } from './self-metrics/registry.ts';
import { createParser } from '../parsers/index.ts';
import type { LineReceiver } from './core/line.ts';
import { checkpointPath, DerivedMetricsCheckpoint } from './derived-metrics/checkpoint.ts';
import { LineProcessor } from './pipeline/processor.ts';
import { builtinStageCount, createBuiltinStages, createStage } from './pipeline/registry.ts';
import { RecordFaults } from './self-metrics/faults.ts';
import { FanOutRouter } from './pipeline/router.ts';
import type { Stage } from './core/stage.ts';
import type { PromtailPositionsImport } from './positions/promtail-import.ts';
import { PositionStore } from './positions/store.ts';
import type { SourceInfo } from './core/record.ts';
import type { DaemonStatus } from './core/status.ts';
import { HttpServer, type StatusProvider } from './server/http.ts';
import { lokiStreamFields } from './sinks/loki/stream-labels.ts';
import { createSink } from './sinks/registry.ts';
import type { Sink } from './core/sink.ts';
import { FileSource } from './sources/file/file-source.ts';
import { createLineChain } from './sources/line-chain.ts';
import { findJournalctl, journalExists } from './sources/journald/journalctl.ts';
import { JournaldSource } from './sources/journald/journald-source.ts';
import type { JournaldSourceConfig } from './sources/journald/config.ts';
import type { SyslogSource } from './sources/syslog/syslog-source.ts';
import { VERSION } from './core/version.ts';
import type { LokiSinkConfig } from './sinks/loki/config.ts';
import { PipelinePool } from './workers/pool.ts';
import { portableStage, workerStageCount } from './workers/stage-split.ts';

type SourceConfig = Config['sources'][number];

/** What every source of one pipeline is wired to. */
interface SourceWiring {
  positions: PositionStore;
  positionsExpireAfter: number;
  stages: Stage[];
  router: FanOutRouter;
  /** Promtail's positions, at logship's first start with `positions.import_promtail`. */
  promtail: PromtailPositionsImport | null;
  /** The pipeline workers (`workers.threads` > 0), which run `stages` before `resumeAt`. */
  pool: PipelinePool | null;
  resumeAt: number;
}

export interface DaemonOptions {
  log: Logger;
  /** Replace the configured sinks with stdout (`run --dry-run`). */
  dryRun?: boolean;
}

/**
 * Wires sources → line chain → parser → stages → sinks, and the positions store and HTTP
 * server around them. A reload is a graceful stop of the pipeline followed by a start with the
 * new config; the metrics registry and the HTTP server survive it.
 */
export class Daemon implements StatusProvider {
  private cfg: Config;
  private readonly log: Logger;
  readonly metrics = new MetricsRegistry();
  private budget!: ByteBudget;
  private positions: PositionStore | null = null;
  private sinks: Sink[] = [];
  private sources: Array<FileSource | JournaldSource | SyslogSource> = [];
  /** Journal sources left off at start (enabled: false, or auto without journalctl or a journal): /api/status says why. */
  private journalsNotStarted: Array<{ cfg: JournaldSourceConfig; why: string }> = [];
  private derived: DerivedMetricsStage | null = null;
  /** Survives reloads: what the derived metrics counted, and their totals across restarts. */
  private checkpoint: DerivedMetricsCheckpoint | null = null;
  private receivers: LineReceiver[] = [];
  private pool: PipelinePool | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private server: HttpServer | null = null;
  private startedAt = Date.now();
  /** Survives reloads, like the metrics it counts into. */
  private readonly faults: RecordFaults;
  private running = false;
  private readonly dryRun: boolean;
  /** The syslog receiver's class, loaded by startPipeline with the first syslog source. */
  private syslogSource: typeof SyslogSource | null = null;

  constructor(cfg: Config, opts: DaemonOptions) {
    this.cfg = cfg;
    this.log = opts.log;
    this.dryRun = opts.dryRun ?? false;
    this.faults = new RecordFaults({ metrics: this.metrics, log: this.log });
    this.metrics.gauge('logship_build_info', 'Build information (always 1).', ['version', 'node']).set({ version: VERSION, node: process.versions.node }, 1);
    const self = this;
    this.metrics.gauge('logship_buffer_bytes', 'Bytes read and not yet acknowledged by every sink (the global budget in use).', [], function () {
      this.set(self.budget ? self.budget.inUse : 0);
    });
    this.metrics.gauge('logship_buffer_limit_bytes', 'The global buffer budget.', [], function () {
      this.set(self.cfg.memory.max_buffer_bytes);
    });
    this.metrics.gauge('logship_sink_failing', '1 while the sink is failing (retrying or rejecting credentials).', ['sink'], function () {
      this.reset();
      for (const s of self.sinks) {
        const st = s.status();
        this.set({ sink: s.name }, st.state === 'ok' ? 0 : 1);
      }
    });
  }

  get config(): Config {
    return this.cfg;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    this.server ??= new HttpServer(cfg.server.listen, { metrics: this.metrics, status: this, log: this.log, page: loadStatusPage, afterMetricsRender: () => this.checkpoint?.save() });
    await this.startPipeline(cfg);
    await this.server.start();
  }

  private async startPipeline(cfg: Config): Promise<void> {
    const { log, metrics } = this;
    this.budget = new ByteBudget(cfg.memory.max_buffer_bytes);
    this.startFlushTimer(this.budget);
    // The built-in stages and the configured ones up to the first that must stay here run in the
    // workers, which load their modules meanwhile (awaited before the sources start).
    const resumeAt = builtinStageCount(cfg) + workerStageCount(cfg.pipeline);
    this.pool = cfg.workers.threads > 0 ? this.createPool(cfg, resumeAt) : null;
    const poolStarted = this.pool?.start().then(() => null, (err: Error) => err);
    this.positions = await PositionStore.open(cfg.positions.path, log, metrics, { onLost: cfg.positions.on_lost, persist: !this.dryRun });
    this.positions.startSync(cfg.positions.sync_interval);
    await this.startSinks(cfg);
    const router = new FanOutRouter(this.sinks, this.faults);
    const stages = this.createStages(cfg, this.positions);
    const poolError = await poolStarted;
    if (poolError) throw poolError;
    // Moving off Promtail: only at logship's first start, when no file has a position of its own.
    const promtail = cfg.positions.import_promtail !== undefined && this.positions.firstStart
      ? await (await import('./positions/promtail-import.ts')).PromtailPositionsImport.load(cfg.positions.import_promtail, log, metrics)
      : null;
    // Loaded with the first syslog source: the receiver brings net, tls and dgram.
    if (cfg.sources.some((s) => s.type === 'syslog')) this.syslogSource ??= (await import('./sources/syslog/syslog-source.ts')).SyslogSource;
    this.createSources(cfg, { positions: this.positions, positionsExpireAfter: cfg.positions.expire_after, stages, router, promtail, pool: this.pool, resumeAt });
    for (const s of this.sources) await s.start();
    this.running = true;
    log.info({ sources: this.sources.map((s) => s.name), sinks: this.sinks.map((s) => s.name), version: VERSION }, 'logship started');
  }

  /** `workers.threads` pipeline workers running the stages before `resumeAt` (not started yet). */
  private createPool(cfg: Config, resumeAt: number): PipelinePool {
    return new PipelinePool({
      threads: cfg.workers.threads,
      init: {
        sources: cfg.sources.map((s) => ({ name: s.name, service: s.service ?? s.name, parser: s.parser, parserOptions: s.parser_options, labels: s.labels })),
        classification: cfg.classification,
        redaction: cfg.redaction,
        stages: cfg.pipeline.slice(0, resumeAt - builtinStageCount(cfg)).map(portableStage),
        logLevel: this.log.level,
        slimFields: this.dryRun ? null : slimRecordFields(cfg, resumeAt),
      },
      metrics: this.metrics,
      log: this.log,
      faults: this.faults,
      // The pool logged why; the positions hold every line not yet acknowledged.
      onFatal: () => process.exit(1),
    });
  }

  /** Every 500 ms: counts the budget's backpressure seconds and flushes lines the receivers hold. */
  private startFlushTimer(budget: ByteBudget): void {
    const bp = this.metrics.counter('logship_backpressure_seconds_total', 'Seconds the tailers spent paused because the buffer budget was spent.');
    let lastBp = 0;
    this.flushTimer = setInterval(() => {
      const now = budget.backpressureSeconds();
      if (now > lastBp) bp.inc(now - lastBp);
      lastBp = now;
      for (const r of this.receivers) r.flush(false);
    }, 500);
    this.flushTimer.unref();
  }

  /** Starts the configured sinks (stdout alone with --dry-run), each listed once started. */
  private async startSinks(cfg: Config): Promise<void> {
    const sinkConfigs = this.dryRun ? [{ type: 'stdout' as const, pretty: false }] : cfg.sinks;
    this.sinks = [];
    for (let i = 0; i < sinkConfigs.length; i++) {
      const name = this.dryRun ? 'stdout' : sinkName(cfg, i);
      const sinkCfg = sinkConfigs[i];
      const effective = sinkCfg.type === 'loki' ? this.withSourceLabels(cfg, sinkCfg, `sinks[${i}] (${name})`) : sinkCfg;
      const sink = await createSink(name, effective, { log: this.log, metrics: this.metrics, faults: this.faults });
      await sink.start();
      this.sinks.push(sink);
    }
  }

  /** A Loki sink also sends the sources' static labels and `filename` (README "Loki sink"). */
  private withSourceLabels(cfg: Config, sinkCfg: LokiSinkConfig, where: string): LokiSinkConfig {
    const fields = lokiStreamFields(sinkCfg, where, cfg.sources);
    for (const w of fields.warnings) this.log.warn({ key: w.path }, w.message);
    return { ...sinkCfg, labels: fields.labels, structured_metadata: fields.structuredMetadata };
  }

  /** Built-in stages, the configured pipeline, then the derived metrics (with their checkpoint). */
  private createStages(cfg: Config, positions: PositionStore): Stage[] {
    const { log, metrics } = this;
    const stages: Stage[] = [...createBuiltinStages(cfg, { log, metrics }), ...cfg.pipeline.map((s) => createStage(s, { log, metrics }))];
    const ckptPath = checkpointPath(cfg.positions.path);
    if (!cfg.derived_metrics.enabled || this.dryRun) this.checkpoint = null;
    else if (this.checkpoint?.path !== ckptPath) this.checkpoint = new DerivedMetricsCheckpoint({ path: ckptPath, metrics, log });
    const checkpoint = this.checkpoint;
    this.derived = cfg.derived_metrics.enabled ? new DerivedMetricsStage(cfg.derived_metrics, { metrics, knownServices: cfg.sources.map((s) => s.service ?? s.name), ...(checkpoint ? { checkpoint } : {}) }) : null;
    // Last, so the built-in metrics see records after classification (and after user drops).
    if (this.derived !== null) stages.push(this.derived);
    if (checkpoint !== null) {
      checkpoint.restore(); // once per process, now that the stage registered the families
      checkpoint.arm({ committed: (id) => positions.get(id)?.offset, firstStart: positions.firstStart });
      positions.onSnapshot(() => checkpoint.save());
    }
    return stages;
  }

  /** One line processor per source and the source feeding it; journal sources that stay off are noted for /api/status. */
  private createSources(cfg: Config, wiring: SourceWiring): void {
    this.sources = [];
    this.journalsNotStarted = [];
    this.receivers = [];
    const host = cfg.host ?? hostname();
    for (const [index, src] of cfg.sources.entries()) {
      const why = src.type === 'journald' ? journalNotStartedReason(src) : null;
      if (src.type === 'journald' && why !== null) {
        this.log.info({ source: src.name, why }, 'journal source not started');
        this.journalsNotStarted.push({ cfg: src, why });
        continue;
      }
      const processor = this.createProcessor(src, wiring);
      this.receivers.push(processor);
      this.sources.push(this.createSource(src, { ...wiring, host, processor, index }));
    }
  }

  private createProcessor(src: SourceConfig, wiring: SourceWiring): LineProcessor {
    return new LineProcessor({
      sourceName: src.name,
      service: src.service ?? src.name,
      parserName: src.parser,
      parser: createParser(src.parser, src.parser_options),
      stages: wiring.stages,
      router: wiring.router,
      labels: { job: src.name, ...src.labels },
      metrics: this.metrics,
      log: this.log,
      faults: this.faults,
    });
  }

  private createSource(src: SourceConfig, wiring: SourceWiring & { host: string; processor: LineProcessor; index: number }): FileSource | JournaldSource | SyslogSource {
    const { metrics, log, budget } = this;
    const { host, processor, positions, router, promtail, pool } = wiring;
    // With workers: each file (each journal or syslog source) feeds one worker, whose records continue here.
    const last = (): LineReceiver => pool === null ? processor : pool.feed({ source: wiring.index, target: processor, resumeAt: wiring.resumeAt, labels: { job: src.name, ...src.labels } });
    if (src.type === 'journald') return new JournaldSource(src, { host, receiver: last(), budget, positions, metrics, log });
    if (src.type === 'syslog') return new this.syslogSource!(src, { host, receiver: last(), budget, metrics, log });
    return new FileSource(src, {
      host,
      // Per file: container decode/rejoin → multiline → the source's shared processor.
      receiverFor: (_info: SourceInfo) => createLineChain(src, last(), { metrics, log }),
      budget,
      // A drained backlog ships now instead of after the sinks' max_wait.
      // With workers, once the lines read so far are back from them.
      onCaughtUp: () => (pool === null ? router.caughtUp() : pool.whenAnswered(() => router.caughtUp())),
      positions,
      positionsExpireAfter: wiring.positionsExpireAfter,
      importOffset: promtail ? (path, size, fd) => promtail.offsetFor(path, size, fd) : undefined,
      metrics,
      log,
    });
  }

  /** Stop reading, flush held lines, drain sinks within the grace period, persist positions. */
  private async stopPipeline(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const deadline = Date.now() + this.cfg.shutdown.grace_period;
    if (this.flushTimer) clearInterval(this.flushTimer);
    // Half the grace period for reading what was written before the signal, the rest for delivery.
    const readDeadline = Date.now() + this.cfg.shutdown.grace_period / 2;
    await Promise.all(this.sources.map((s) => s.stop(readDeadline)));
    for (const r of this.receivers) r.flush(true);
    // Lines still in the workers come back (and go to the sinks) before the sinks drain.
    await this.pool?.drain(readDeadline + (deadline - readDeadline) / 2);
    await Promise.all(this.sinks.map((s) => s.stop(deadline).catch((err: Error) => this.log.error({ err: err.message, sink: s.name }, 'sink stop failed'))));
    await this.pool?.stop();
    this.pool = null;
    await this.positions?.close();
    this.log.info('pipeline stopped; positions saved');
  }

  async stop(): Promise<void> {
    await this.stopPipeline();
    // (workers started by a start that failed before the pipeline ran)
    await this.pool?.stop();
    await this.server?.stop();
  }

  async reload(next: Config): Promise<void> {
    this.log.info('reloading configuration');
    await this.stopPipeline();
    this.cfg = next;
    await this.startPipeline(next);
  }

  ready(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.running || !this.positions) reasons.push('pipeline not running');
    // Without persisted positions a restart re-sends everything since the last good write.
    const pos = this.positions;
    if (pos !== null && pos.writeFailingSince !== null) reasons.push(`positions cannot be persisted to ${pos.path} for ${Math.round((Date.now() - pos.writeFailingSince) / 1000)}s: ${pos.lastWriteError ?? 'write failed'}`);
    const now = Date.now();
    for (const s of this.sinks) {
      const st = s.status();
      if (st.state === 'auth_error') reasons.push(`sink ${s.name}: credentials rejected (${st.lastError ?? 'unauthorized'})`);
      else if (st.failingSince !== null && now - st.failingSince > this.cfg.server.ready_max_failing) reasons.push(`sink ${s.name} failing for ${Math.round((now - st.failingSince) / 1000)}s: ${st.lastError ?? ''}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  private isSyslog(s: FileSource | JournaldSource | SyslogSource): s is SyslogSource {
    return this.syslogSource !== null && s instanceof this.syslogSource;
  }

  status(): DaemonStatus {
    return {
      version: VERSION,
      node: process.versions.node,
      host: this.cfg.host ?? hostname(),
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      ready: this.ready(),
      buffer: { usedBytes: this.budget?.inUse ?? 0, limitBytes: this.cfg.memory.max_buffer_bytes, backpressureSeconds: this.budget?.backpressureSeconds() ?? 0 },
      sources: this.sources.map((s) => {
        if (this.isSyslog(s)) {
          const syslog = s.status();
          return { name: s.name, type: 'syslog', paths: syslog.listeners.map((l) => l.address), files: [], syslog };
        }
        if (s instanceof JournaldSource) {
          const journald = s.status();
          return { name: s.name, type: 'journald', paths: journald.journal, files: [], journald };
        }
        const sc = this.cfg.sources.find((c) => c.name === s.name);
        return { name: s.name, type: sc?.type ?? 'file', paths: sc !== undefined && 'paths' in sc ? sc.paths : [], files: s.files().map((f) => ({ ...f, lag: Math.max(0, f.size - f.committed) })), errors: s.fileErrors() };
      }).concat(this.positions === null ? [] : this.journalsNotStarted.map(({ cfg, why }) => {
        const journald = JournaldSource.notStartedStatus(cfg, why, this.positions!);
        return { name: cfg.name, type: 'journald', paths: journald.journal, files: [], journald };
      })),
      sinks: this.sinks.map((s) => s.status()),
      bruteForce: this.derived?.bruteForceStatus() ?? null,
      faults: this.faults.snapshot(),
      positions: {
        path: this.cfg.positions.path,
        lost: this.positions?.lost ?? null,
        writeFailingSince: this.positions?.writeFailingSince ?? null,
        lastWriteError: this.positions?.lastWriteError ?? null,
      },
    };
  }
}

/** Why a journal source with `enabled: false` or `auto` stays off, or null when it starts. */
function journalNotStartedReason(src: JournaldSourceConfig): string | null {
  if (src.enabled === true) return null;
  if (src.enabled === false) return 'enabled: false';
  if (findJournalctl(src.journalctl) === undefined) return `enabled: auto and ${src.journalctl} not found`;
  if (!journalExists(src)) return 'enabled: auto and no journal files found';
  return null;
}

async function loadStatusPage(): Promise<(status: unknown) => string> {
  const mod = await import('./server/status-page.ts');
  return (status: unknown) => mod.renderStatusPage(status as DaemonStatus);
}

/**
 * What the main thread reads of a record the workers rendered (WorkerInit.slimFields), or null
 * when it needs whole records: a configured stage runs there, or a sink other than Loki (which
 * ships the worker's JSON as the line and reads only labels and structured metadata) needs them.
 */
export function slimRecordFields(cfg: Config, resumeAt: number): string[] | null {
  if (resumeAt < builtinStageCount(cfg) + cfg.pipeline.length) return null;
  const fields = ['timestamp', 'level', 'service', ...(cfg.derived_metrics.enabled ? DERIVED_METRICS_RECORD_FIELDS : [])];
  for (const sink of cfg.sinks) {
    if (sink.type !== 'loki') return null;
    const f = lokiStreamFields(sink, 'sinks', cfg.sources);
    for (const name of [...f.labels, ...f.structuredMetadata]) fields.push(name, `metadata.${name}`);
    if (sink.line_format === 'message') fields.push('message');
  }
  return fields;
}
