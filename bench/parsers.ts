/**
 * Parser throughput, one core: `node_modules/.bin/node bench/parsers.ts [seconds-per-case]`.
 * Each case cycles a set of realistic lines (distinct values, so no memo hides work) through
 * the parser for a fixed time after a warm-up, and prints lines/s and MB/s. Results go to
 * bench/RESULTS.md ("Parsers").
 */
import { cpus } from 'node:os';
import { createParser } from '../parsers/index.ts';
import type { Parser } from '../src/parse/types.ts';
import type { LogEvent, LogRecord } from '../src/core/record.ts';
import { NO_ACK } from '../src/core/record.ts';
import { ClassifyStage, classifyStageSchema } from '../src/pipeline/classify.ts';
import { RedactStage, redactStageSchema } from '../src/pipeline/redact.ts';
import { MetricsRegistry } from '../src/self-metrics/registry.ts';
import { CASES, ctx } from './parser-lines.ts';

const SECONDS = Number(process.argv[2] ?? 2);

/** Wall-clock rate, and the rate per CPU-second of this thread (what one core does, even when other processes share the machine). */
function run(parse: (line: string) => unknown, lines: string[]): { rate: number; mbps: number; cpuRate: number } {
  let sink = 0;
  const t0 = performance.now();
  let i = 0;
  let bytes = 0;
  while (performance.now() - t0 < 300) sink ^= parse(lines[i++ % lines.length]) ? 1 : 0; // warm-up
  i = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < SECONDS * 1000) {
    for (let k = 0; k < 1024; k++) {
      const line = lines[i++ % lines.length];
      bytes += line.length;
      sink ^= parse(line) ? 1 : 0;
    }
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 2) console.log('');
  return { rate: i / (elapsed / 1000), mbps: bytes / 1e6 / (elapsed / 1000), cpuRate: i / ((cpu.user + cpu.system) / 1e6) };
}

const rows: string[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.versions.node}, ${cpus()[0]?.model ?? 'cpu'}, ${SECONDS}s per case, one thread`);
for (const [name, c] of Object.entries(CASES)) {
  const p: Parser = createParser(c.parser, { timezone: 'UTC', client_error_level: 'WARN', ...(c.parser === 'regex' ? { pattern: '^(?<timestamp>\\S+) \\[(?<level>\\w+)\\] (?<thread>[\\w-]+): (?<message>.*)$' } : {}) });
  const r = run((l) => p(l, ctx), c.lines);
  rows.push(`| ${name} | ${c.parser} | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | ${r.mbps.toFixed(1)} |`);
  console.log(rows.at(-1));
}
// auto over a mix of every format
{
  const mix = Object.values(CASES).flatMap((c) => c.lines.slice(0, 512));
  const p = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });
  const r = run((l) => p(l, ctx), mix);
  rows.push(`| auto (mix of all above) | auto | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | ${r.mbps.toFixed(1)} |`);
  console.log(rows.at(-1));
}
// the built-in stages on parsed records
{
  const json = createParser('json', { timezone: 'UTC', client_error_level: 'WARN' });
  const nginx = createParser('nginx', { timezone: 'UTC', client_error_level: 'WARN' });
  const records: LogRecord[] = [...CASES.json.lines.map((l) => json(l, ctx)), ...CASES.nginx.lines.map((l) => nginx(l, ctx))];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = {
    'classify stage': new ClassifyStage(classifyStageSchema.parse({ type: 'classify' }), { metrics }),
    'redact stage': new RedactStage(redactStageSchema.parse({ type: 'redact' }), { metrics }),
  };
  for (const [name, stage] of Object.entries(stages)) {
    let k = 0;
    // fresh shallow copies so a stage's edits do not short-circuit the next pass
    const r = run(() => {
      const rec = records[k++ % records.length];
      const ev: LogEvent = { record: { ...rec, metadata: rec.metadata ? { ...rec.metadata } : undefined }, labels: {}, ack: NO_ACK, size: 200 };
      return stage.process(ev);
    }, CASES.json.lines);
    rows.push(`| ${name} (json + nginx records) | - | ${fmt(r.rate)} | ${fmt(r.cpuRate)} | - |`);
    console.log(rows.at(-1));
  }
}
console.log('\n| case | parser | lines/s (wall) | lines per CPU-second | MB/s (wall) |\n|---|---|---:|---:|---:|\n' + rows.join('\n'));
