import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, parseConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createLogger } from './core/log.ts';
import { createParser, PARSER_NAMES } from '../parsers/index.ts';
import { DEFAULT_PARSER_OPTIONS } from './parse/options.ts';
import type { ParseContext, Parser } from './parse/types.ts';
import { MetricsRegistry } from './self-metrics/registry.ts';
import { applyTransportFields } from './pipeline/processor.ts';
import { createBuiltinStages } from './pipeline/registry.ts';
import { NO_ACK, type LogEvent, type LogRecord, type SourceInfo } from './core/record.ts';
import type { LineReceiver, SourceLine } from './core/line.ts';
import { containerFields } from './sources/container/metadata.ts';
import { createLineChain } from './sources/line-chain.ts';
import { JournalEntryDecoder, type JournalEntry } from './sources/journald/entry.ts';
import { RecordJson } from './sinks/record-json.ts';

/** Exit code of an invalid config or usage (README "Command line"). */
const EXIT_USAGE = 2;

/**
 * `logship parse`: stdin lines → normalized records as NDJSON on stdout, through a source's
 * parser, chain and the built-in stages (README "Command line"). Its own module, loaded by the
 * CLI for this command only, so `logship run` does not load the preview's wiring.
 */
export async function parseCommand(flags: ReadonlyMap<string, string | true>): Promise<number> {
  const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  // With --config, the named source's parser, parser_options and service, and the config's
  // built-in stages: exactly what the daemon would ship. Flags override.
  let cfg: Config | undefined;
  let source: Config['sources'][number] | undefined;
  if (str('config') !== undefined) {
    try {
      cfg = loadConfig(str('config')!);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`${e.message}\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
    source = str('source') !== undefined ? cfg.sources.find((s) => s.name === str('source')) : cfg.sources[0];
    if (!source) {
      process.stderr.write(`logship: no source named "${str('source')}" in ${str('config')}\n`);
      return EXIT_USAGE;
    }
  }
  const name = str('parser') ?? source?.parser ?? 'auto';
  if (!PARSER_NAMES.includes(name)) {
    process.stderr.write(`logship: unknown parser "${name}" (known: ${PARSER_NAMES.join(', ')})\n`);
    return EXIT_USAGE;
  }
  const options = { ...DEFAULT_PARSER_OPTIONS, ...(name === source?.parser ? source.parser_options : {}) };
  if (str('pattern') !== undefined) options.pattern = str('pattern');
  if (str('timezone') !== undefined) options.timezone = str('timezone')!;
  let parser: Parser;
  try {
    parser = createParser(name, options);
  } catch (e) {
    process.stderr.write(`logship: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = flags.has('no-stages') ? [] : createBuiltinStages(cfg ?? parseConfig('sources: [{name: stdin, paths: [/dev/null]}]\nsinks: [{type: stdout}]', '<defaults>'), { log: createLogger('warn'), metrics });
  const errors = new Map<string, number>();
  const fallbacks = new Map<string, number>();
  const ctx: ParseContext = {
    source: { type: 'stdin', name: source?.name ?? 'stdin' },
    service: str('service') ?? source?.service ?? source?.name ?? 'stdin',
    readTime: Date.now(),
    runtimeTimestamp: undefined,
    parseError: (p, reason) => errors.set(`${p}:${reason}`, (errors.get(`${p}:${reason}`) ?? 0) + 1),
    parseFallback: (p, reason) => fallbacks.set(`${p}:${reason}`, (fallbacks.get(`${p}:${reason}`) ?? 0) + 1),
  };
  // A journal source reads `journalctl -o json` lines: each is mapped like the daemon maps it.
  const journal = source?.type === 'journald' ? new JournalEntryDecoder(source.max_message_bytes) : undefined;
  const defaultService = ctx.service;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const json = new RecordJson();
  const fileSource = source !== undefined && source.type !== 'journald' && source.type !== 'syslog' && 'paths' in source ? source : undefined;
  if (fileSource !== undefined) {
    // The daemon's per-file chain (container decoding, partial rejoin, multiline) in front of the parser.
    const out: string[] = [];
    const file = str('file') ?? fileSource.paths[0];
    const info: SourceInfo = { type: fileSource.type, name: fileSource.name, file, host: cfg?.host ?? hostname() };
    if (fileSource.type !== 'file') Object.assign(info, containerFields(fileSource.type, file));
    const printer: LineReceiver = {
      receive(sl: SourceLine): void {
        ctx.readTime = sl.readTime;
        ctx.runtimeTimestamp = sl.runtimeTimestamp;
        ctx.source = sl.source;
        const record = parser(sl.text, ctx);
        if (sl.truncated) (record.metadata ??= {}).truncated = true;
        let event: LogEvent | null = { record, labels: {}, ack: NO_ACK, size: sl.text.length };
        for (let i = 0; i < stages.length && event !== null; i++) event = stages[i].process(event);
        if (event !== null) out.push(json.string(event));
      },
      flush(): void {},
    };
    const chain = createLineChain(fileSource, printer, { metrics, log: createLogger('warn') });
    const drainOut = async () => {
      if (out.length === 0) return;
      const text = out.join('\n') + '\n';
      out.length = 0;
      if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
    };
    for await (const line of rl) {
      chain.receive({ text: line, ack: NO_ACK, truncated: false, source: info, readTime: Date.now() });
      chain.flush(false);
      await drainOut();
    }
    chain.flush(true);
    await drainOut();
  }
  for await (const line of fileSource !== undefined ? [] : rl) {
    ctx.readTime = Date.now();
    let record: LogRecord;
    if (journal !== undefined) {
      let entry: JournalEntry;
      try {
        entry = journal.decode(line);
      } catch (e) {
        errors.set(`journald:${(e as Error).message}`, (errors.get(`journald:${(e as Error).message}`) ?? 0) + 1);
        continue;
      }
      ctx.service = entry.transport.service ?? defaultService;
      ctx.runtimeTimestamp = entry.timestamp;
      ctx.source = { type: 'journald', name: source!.name, host: entry.hostname ?? cfg?.host ?? hostname() };
      record = parser(entry.text, ctx);
      applyTransportFields(record, entry.transport);
    } else record = parser(line, ctx);
    let event: LogEvent | null = { record, labels: {}, ack: NO_ACK, size: line.length };
    for (let i = 0; i < stages.length && event !== null; i++) event = stages[i].process(event);
    if (event === null) continue;
    if (!process.stdout.write(json.string(event) + '\n')) await new Promise((r) => process.stdout.once('drain', r));
  }
  for (const [k, n] of errors) process.stderr.write(`parse errors ${k}: ${n}\n`);
  for (const [k, n] of fallbacks) process.stderr.write(`shipped as raw text ${k}: ${n}\n`);
  return 0;
}
