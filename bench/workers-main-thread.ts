/**
 * The main thread's CPU per line with pipeline workers and without, in one process (no files, no
 * network): what the option can save where it matters, since the main thread (reading, sinks,
 * acks, derived metrics) is what bounds a pipeline. Off: the default pipeline (parse,
 * classification, redaction, derived metrics) and the default Loki sink's write(). On: the same
 * lines through a real PipelinePool with one worker thread; the main thread posts them, takes the
 * records back, runs the derived metrics and the same sink write(). Main-thread CPU from
 * process.threadCpuUsage(), lowest of alternating passes; the sink's sends go to a closed port.
 *
 *   node --expose-gc bench/workers-main-thread.ts [seed,json,nginx] [passes]
 */
import pino from 'pino';
import { lineGenerator, type CorpusKind } from './corpus.ts';
import { MetricsRegistry } from '../src/self-metrics/registry.ts';
import { RecordFaults } from '../src/self-metrics/faults.ts';
import { createParser } from '../parsers/index.ts';
import { classificationConfigSchema } from '../src/pipeline/classify.ts';
import { redactionConfigSchema } from '../src/pipeline/redact.ts';
import { createBuiltinStages } from '../src/pipeline/registry.ts';
import { LineProcessor } from '../src/pipeline/processor.ts';
import { FanOutRouter } from '../src/pipeline/router.ts';
import { DerivedMetricsStage } from '../src/derived-metrics/stage.ts';
import { DERIVED_METRICS_DEFAULTS } from '../src/derived-metrics/config.ts';
import { NO_ACK, type LogEvent } from '../src/core/record.ts';
import { LokiSink } from '../src/sinks/loki/sink.ts';
import { lokiSinkSchema } from '../src/sinks/loki/config.ts';
import { PipelinePool } from '../src/workers/pool.ts';
import { slimRecordFields } from '../src/daemon.ts';
import { configSchema } from '../src/config/schema.ts';

const KINDS = (process.argv[2] ?? 'seed,json').split(',') as CorpusKind[];
const PASSES = Number(process.argv[3] ?? 5);
const LINES = 30_000;
/** Lines per read (a 256 KiB read of ~430-byte lines is ~600). */
const READ = 600;
const gc = (globalThis as { gc?: () => void }).gc;
const log = pino({ level: 'silent' });
const cpuUs = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};

/** What the daemon sends the main thread of each record with the default config and a Loki sink (WorkerInit.slimFields). */
const SLIM = slimRecordFields(configSchema.parse({ sources: [{ name: 'app', paths: ['/var/log/app.log'] }], sinks: [{ type: 'loki', url: 'http://127.0.0.1:9' }] }), 2);

async function setup(kind: CorpusKind, threads: number, slim = false) {
  const parser = kind === 'nginx' ? 'nginx' : 'json';
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const faults = new RecordFaults({ metrics, log });
  const classification = classificationConfigSchema.parse({});
  const redaction = redactionConfigSchema.parse({});
  const stages = [...createBuiltinStages({ classification, redaction }, { log, metrics }), new DerivedMetricsStage(DERIVED_METRICS_DEFAULTS, { metrics, knownServices: ['app'] })];
  const sink = new LokiSink('loki', lokiSinkSchema.parse({ type: 'loki', url: 'http://127.0.0.1:9' }), log, metrics);
  await sink.start();
  let routed = 0;
  const fan = new FanOutRouter([sink], faults);
  const router = { route: (e: LogEvent) => {
    routed++;
    fan.route(e);
  } };
  const processor = new LineProcessor({ sourceName: 'app', service: 'app', parserName: parser, parser: createParser(parser, { timezone: 'UTC', client_error_level: 'WARN' }), stages, router, labels: { job: 'app' }, metrics, log, faults });
  const pool = threads > 0 ? new PipelinePool({
    threads,
    init: { sources: [{ name: 'app', service: 'app', parser, parserOptions: { timezone: 'UTC', client_error_level: 'WARN' }, labels: {} }], classification, redaction, stages: [], logLevel: 'silent', slimFields: slim ? SLIM : null },
    metrics, log, faults, onFatal: (err) => { throw err; },
  }) : null;
  await pool?.start();
  const receiver = pool === null ? processor : pool.feed({ source: 0, target: processor, resumeAt: 2, labels: { job: 'app' } });
  const source = Object.freeze({ type: 'file' as const, name: 'app', file: '/var/log/app.log', host: 'h' });
  return {
    pool,
    /** Main-thread CPU µs for `lines`, until every record reached the sink. */
    async run(lines: readonly string[]): Promise<number> {
      routed = 0;
      const t = cpuUs();
      for (let i = 0; i < lines.length; i += READ) {
        const read = lines.slice(i, i + READ);
        receiver.upcoming?.(read);
        const readTime = Date.now();
        for (const text of read) receiver.receive({ text, ack: NO_ACK, truncated: false, source, readTime, offset: i });
        // a reader yields between reads (the worker's answers come in meanwhile)
        await new Promise((r) => setImmediate(r));
      }
      while (routed < lines.length) await new Promise((r) => setTimeout(r, 1));
      return cpuUs() - t;
    },
  };
}

for (const kind of KINDS) {
  const gen = lineGenerator(kind);
  const lines = Array.from({ length: LINES }, (_, i) => gen(i));
  const sides = [{ name: 'off', s: await setup(kind, 0) }, { name: 'workers 1', s: await setup(kind, 1) }, { name: 'workers 1 slim', s: await setup(kind, 1, true) }];
  const best = sides.map(() => Infinity);
  for (let pass = 0; pass <= PASSES; pass++) {
    for (const k of pass % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) {
      gc?.();
      const us = await sides[k].s.run(lines);
      if (pass > 0) best[k] = Math.min(best[k], (us * 1000) / LINES);
    }
  }
  console.log(`${kind}: main-thread CPU per line, lowest of ${PASSES} alternating passes over ${LINES} lines: off ${Math.round(best[0])} ns, workers 1 (whole records) ${Math.round(best[1])} ns (${(best[1] / best[0]).toFixed(2)} of off), workers 1 slim ${Math.round(best[2])} ns (${(best[2] / best[0]).toFixed(2)} of off)`);
  for (const side of sides) await side.s.pool?.stop();
}
// The Loki sinks' sends (to a closed port) would retry forever.
process.exit(0);
