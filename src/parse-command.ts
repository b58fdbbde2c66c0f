import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, parseConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createLogger } from './core/log.ts';
import { createParser, PARSER_NAMES } from '../parsers/index.ts';
import { DEFAULT_PARSER_OPTIONS } from './parse/options.ts';
import type { ParseContext, Parser } from './parse/types.ts';
import type { Stage } from './core/stage.ts';
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

type SourceConfig = Config['sources'][number];
type FileSourceConfig = Extract<SourceConfig, { paths: string[] }>;

/**
 * `logship parse`: stdin lines → normalized records as NDJSON on stdout, through a source's
 * parser, chain and the built-in stages (README "Command line"). Its own module, loaded by the
 * CLI for this command only, so `logship run` does not load the preview's wiring.
 */
export async function parseCommand(flags: ReadonlyMap<string, string | true>): Promise<number> {
  const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  const setup = previewSetup(str);
  if (typeof setup === 'number') return setup;
  const preview = new ParsePreview(setup, { service: str('service'), noStages: flags.has('no-stages') });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const { source } = setup;
  if (source !== undefined && source.type !== 'journald' && source.type !== 'syslog' && 'paths' in source) await preview.throughFileChain(rl, source, str('file') ?? source.paths[0]);
  else await preview.lineByLine(rl);
  preview.report();
  return 0;
}

/** What the flags select: with --config, the named source (or the first) and the config. */
interface PreviewSetup {
  cfg: Config | undefined;
  source: SourceConfig | undefined;
  /** --parser, else the source's, else auto; with the source's parser_options when it is the source's. */
  parser: Parser;
}

/**
 * With --config, the named source's parser, parser_options and service, and the config's
 * built-in stages: exactly what the daemon would ship. Flags override. A usage error is written
 * to stderr and returned as the exit code.
 */
function previewSetup(str: (k: string) => string | undefined): PreviewSetup | number {
  let cfg: Config | undefined;
  let source: SourceConfig | undefined;
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
  try {
    return { cfg, source, parser: createParser(name, options) };
  } catch (e) {
    process.stderr.write(`logship: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
}

/** One preview run: parse, the built-in stages, NDJSON on stdout; parse errors and fallbacks counted for the summary on stderr. */
class ParsePreview {
  private readonly setup: PreviewSetup;
  private readonly metrics = new MetricsRegistry({ defaultMetrics: false });
  private readonly stages: Stage[];
  private readonly ctx: ParseContext;
  private readonly errors = new Map<string, number>();
  private readonly fallbacks = new Map<string, number>();
  private readonly json = new RecordJson();

  constructor(setup: PreviewSetup, opts: { service: string | undefined; noStages: boolean }) {
    this.setup = setup;
    const { cfg, source } = setup;
    this.stages = opts.noStages ? [] : createBuiltinStages(cfg ?? parseConfig('sources: [{name: stdin, paths: [/dev/null]}]\nsinks: [{type: stdout}]', '<defaults>'), { log: createLogger('warn'), metrics: this.metrics });
    this.ctx = {
      source: { type: 'stdin', name: source?.name ?? 'stdin' },
      service: opts.service ?? source?.service ?? source?.name ?? 'stdin',
      readTime: Date.now(),
      runtimeTimestamp: undefined,
      parseError: (p, reason) => count(this.errors, `${p}:${reason}`),
      parseFallback: (p, reason) => count(this.fallbacks, `${p}:${reason}`),
    };
  }

  /** The daemon's per-file chain (container decoding, partial rejoin, multiline) in front of the parser. */
  async throughFileChain(lines: AsyncIterable<string>, source: FileSourceConfig, file: string): Promise<void> {
    const out: string[] = [];
    const info: SourceInfo = { type: source.type, name: source.name, file, host: this.setup.cfg?.host ?? hostname() };
    if (source.type !== 'file') Object.assign(info, containerFields(source.type, file));
    const ctx = this.ctx;
    const printer: LineReceiver = {
      receive: (sl: SourceLine): void => {
        ctx.readTime = sl.readTime;
        ctx.runtimeTimestamp = sl.runtimeTimestamp;
        ctx.source = sl.source;
        const record = this.setup.parser(sl.text, ctx);
        if (sl.truncated) (record.metadata ??= {}).truncated = true;
        const text = this.afterStages(record, sl.text.length);
        if (text !== null) out.push(text);
      },
      flush(): void {},
    };
    const chain = createLineChain(source, printer, { metrics: this.metrics, log: createLogger('warn') });
    const drainOut = async () => {
      if (out.length === 0) return;
      const text = out.join('\n') + '\n';
      out.length = 0;
      await writeOut(text);
    };
    for await (const line of lines) {
      chain.receive({ text: line, ack: NO_ACK, truncated: false, source: info, readTime: Date.now() });
      chain.flush(false);
      await drainOut();
    }
    chain.flush(true);
    await drainOut();
  }

  /** Each line parsed alone; a journal source's lines are `journalctl -o json` entries, mapped like the daemon maps them. */
  async lineByLine(lines: AsyncIterable<string>): Promise<void> {
    const { source, parser } = this.setup;
    const ctx = this.ctx;
    const journal = source?.type === 'journald' ? new JournalEntryDecoder(source.max_message_bytes) : undefined;
    const defaultService = ctx.service;
    for await (const line of lines) {
      ctx.readTime = Date.now();
      let record: LogRecord;
      if (journal !== undefined) {
        let entry: JournalEntry;
        try {
          entry = journal.decode(line);
        } catch (e) {
          count(this.errors, `journald:${(e as Error).message}`);
          continue;
        }
        ctx.service = entry.transport.service ?? defaultService;
        ctx.runtimeTimestamp = entry.timestamp;
        ctx.source = { type: 'journald', name: source!.name, host: entry.hostname ?? this.setup.cfg?.host ?? hostname() };
        record = parser(entry.text, ctx);
        applyTransportFields(record, entry.transport);
      } else record = parser(line, ctx);
      const text = this.afterStages(record, line.length);
      if (text !== null) await writeOut(text + '\n');
    }
  }

  /** The summary on stderr: parse errors and raw-text fallbacks by parser and reason. */
  report(): void {
    for (const [k, n] of this.errors) process.stderr.write(`parse errors ${k}: ${n}\n`);
    for (const [k, n] of this.fallbacks) process.stderr.write(`shipped as raw text ${k}: ${n}\n`);
  }

  /** The record as NDJSON after the stages, or null when a stage dropped it. */
  private afterStages(record: LogRecord, size: number): string | null {
    let event: LogEvent | null = { record, labels: {}, ack: NO_ACK, size };
    for (let i = 0; i < this.stages.length && event !== null; i++) event = this.stages[i].process(event);
    return event === null ? null : this.json.string(event);
  }
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Writes to stdout, waiting for it to drain when its buffer is full. */
async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}
