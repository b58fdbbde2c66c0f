/**
 * A/B of the per-line CPU of each part of the default JSON pipeline: parse (json parser through
 * the LineProcessor), each built-in stage (classification, redaction, derived metrics), the
 * Loki line's JSON (RecordJson.ofWithoutSource) and the default Loki sink's whole write() (which
 * includes that JSON; the total counts it once), in this checkout and another one (e.g. `git
 * archive main` unpacked with a node_modules link), on the bench corpora.
 *
 * Why per part and in one process: on this shared 2-core VM two runs of the whole daemon on the
 * same build differ by ±15% (other sessions' tests, kernel time), which hides a 5% change; a
 * part measured alone over 20,000 lines, as the lowest user CPU of several passes that take turns
 * between the two checkouts, settles to a few percent. User CPU only: system time here is mostly
 * other processes' memory pressure. The daemon's own figures are bench/run.ts's.
 *
 * Usage: `node_modules/.bin/node --expose-gc bench/stages-ab.ts <other checkout> [seed,json,pino,python] [passes]`
 * (--expose-gc: each pass starts from a collected heap; without it the parse figures, which
 * allocate most, also carry the other checkout's garbage and vary by 2x).
 */
import pino from 'pino';
import { lineGenerator, type CorpusKind } from './corpus.ts';
import { ROOT } from './receivers.ts';

const OTHER = process.argv[2];
if (OTHER === undefined) throw new Error('usage: node bench/stages-ab.ts <other checkout> [kinds] [passes]');
const KINDS = (process.argv[3] ?? 'seed,json,pino,python').split(',') as CorpusKind[];
const PASSES = Number(process.argv[4] ?? 7);
const LINES = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;
const CHUNK = 1_000;

interface Pipeline {
  phases: string[];
  /** Runs every phase over `lines`, adding each one's user CPU (µs) to `cpu`. */
  run(lines: readonly string[], cpu: number[]): void;
}

async function pipeline(root: string): Promise<Pipeline> {
  const { MetricsRegistry } = await import(`${root}/src/self-metrics/registry.ts`);
  const { createParser } = await import(`${root}/parsers/index.ts`);
  const { classificationConfigSchema } = await import(`${root}/src/pipeline/classify.ts`);
  const { LineProcessor } = await import(`${root}/src/pipeline/processor.ts`);
  const { redactionConfigSchema } = await import(`${root}/src/pipeline/redact.ts`);
  const { createBuiltinStages } = await import(`${root}/src/pipeline/registry.ts`);
  const { DerivedMetricsStage } = await import(`${root}/src/derived-metrics/stage.ts`);
  const { DERIVED_METRICS_DEFAULTS } = await import(`${root}/src/derived-metrics/config.ts`);
  const { NO_ACK } = await import(`${root}/src/core/record.ts`);
  const { RecordJson } = await import(`${root}/src/sinks/record-json.ts`);
  const { LokiSink } = await import(`${root}/src/sinks/loki/sink.ts`);
  const { lokiSinkSchema } = await import(`${root}/src/sinks/loki/config.ts`);
  const log = pino({ level: 'silent' });
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = [
    ...createBuiltinStages({ classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}) }, { log, metrics }),
    new DerivedMetricsStage(DERIVED_METRICS_DEFAULTS, { metrics, knownServices: ['app'] }),
  ];
  let parsed: unknown[] = [];
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json', { timezone: 'UTC', client_error_level: 'WARN' }),
    stages: [], router: { route: (e: unknown) => parsed.push(e) }, labels: { job: 'app' }, metrics, log,
  });
  const source = Object.freeze({ type: 'file' as const, name: 'app', file: '/var/log/app.log', host: 'h' });
  const json = new RecordJson();
  // The default Loki sink's whole write(): timestamp, line JSON, stream labels, structured
  // metadata, the entry's protobuf bytes, and (per 1 MiB batch) the request body and its snappy
  // block. Port 9 refuses: the sends started when a batch closes never complete during the run
  // (it is synchronous), so only the encoding is measured; max_inflight bounds those sends.
  const sink = new LokiSink('loki', lokiSinkSchema.parse({ type: 'loki', url: 'http://127.0.0.1:9' }), log, metrics);
  await sink.start();
  const user = () => process.cpuUsage().user;
  let keep = 0;
  return {
    phases: ['parse', ...stages.map((s: { name: string }) => s.name), 'Loki line JSON', 'Loki sink write (all)'],
    run(lines, cpu) {
      for (let from = 0; from < lines.length; from += CHUNK) {
        const chunk = lines.slice(from, from + CHUNK);
        parsed = [];
        let t = user();
        processor.upcoming(chunk);
        const readTime = Date.now();
        for (const text of chunk) processor.receive({ text, ack: NO_ACK, truncated: false, source, readTime });
        let now = user();
        cpu[0] += now - t;
        for (let s = 0; s < stages.length; s++) {
          t = now;
          for (const e of parsed) stages[s].process(e, () => {});
          now = user();
          cpu[s + 1] += now - t;
        }
        t = now;
        for (const e of parsed) keep += json.ofWithoutSource(e).head.length;
        now = user();
        cpu[stages.length + 1] += now - t;
        t = now;
        for (const e of parsed) sink.write(e);
        cpu[stages.length + 2] += user() - t;
      }
      if (keep === -1) console.log(''); // keeps the results alive
    },
  };
}

const checkouts = [{ name: 'other', p: await pipeline(OTHER) }, { name: 'this', p: await pipeline(ROOT) }];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
for (const kind of KINDS) {
  const gen = lineGenerator(kind);
  const lines = Array.from({ length: LINES }, (_, i) => gen(i));
  const best = checkouts.map((c) => c.p.phases.map(() => Infinity));
  for (let pass = 0; pass <= PASSES; pass++) {
    const order = pass % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const cpu = checkouts[k].p.phases.map(() => 0);
      // each pass from a collected heap: the other checkout's garbage is not collected on this one's time
      gc?.();
      checkouts[k].p.run(lines, cpu);
      // pass 0 warms both up
      if (pass > 0) cpu.forEach((us, i) => (best[k][i] = Math.min(best[k][i], (us * 1000) / LINES)));
    }
  }
  console.log(`\n${kind}: ns per line, lowest user CPU of ${PASSES} alternating passes over ${fmt(LINES)} lines`);
  console.log('| part | other | this | this ÷ other |\n|---|---:|---:|---:|');
  const phases = checkouts[1].p.phases;
  // 'Loki sink write (all)' includes the Loki line JSON: the total counts it once.
  const total = best.map((b) => b.reduce((a, x) => a + x, 0) - b[b.length - 2]);
  phases.forEach((name, i) => console.log(`| ${name} | ${fmt(best[0][i])} | ${fmt(best[1][i])} | ${(best[1][i] / best[0][i]).toFixed(2)} |`));
  console.log(`| total | ${fmt(total[0])} | ${fmt(total[1])} | ${(total[1] / total[0]).toFixed(2)} |`);
}
// The Loki sinks' sends (to a closed port) would retry forever.
process.exit(0);
