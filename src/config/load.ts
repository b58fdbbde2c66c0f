import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { LogshipError } from '../core/errors.ts';
import { expandEnv, EnvSubstitutionError } from './env.ts';
import { fromTemplate, readConfigTemplate } from './preparsed.ts';
import { loadYaml } from './yaml.ts';
import { configSchema, type Config } from './schema.ts';

export interface ConfigIssue {
  /** Key path like `sinks[0].batch.max_bytes` ('' for the whole file). */
  path: string;
  message: string;
}

export class ConfigError extends LogshipError {
  readonly issues: ConfigIssue[];
  readonly file: string;
  constructor(file: string, issues: ConfigIssue[]) {
    super('CONFIG_INVALID', `invalid config ${file}:\n${issues.map((i) => `  ${i.path || '(top level)'}: ${i.message}`).join('\n')}`, { file, issues });
    this.issues = issues;
    this.file = file;
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of error.issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: formatPath([...iss.path, key]), message: 'unknown key' });
    } else if (iss.code === 'invalid_union' && 'errors' in iss && iss.errors.length > 0 && iss.errors.every((e) => e.length > 0)) {
      // Report the branch that got furthest rather than "invalid input".
      const best = iss.errors.reduce((a, b) => (a.length <= b.length ? a : b));
      for (const sub of best) out.push({ path: formatPath([...iss.path, ...sub.path]), message: sub.message });
    } else {
      out.push({ path: formatPath(iss.path), message: iss.message });
    }
  }
  return out;
}

/** Parses and validates config text; throws ConfigError listing every problem with its key path. */
export function parseConfig(text: string, file = '<inline>', env: NodeJS.ProcessEnv = process.env): Config {
  let expanded: string;
  try {
    expanded = expandEnv(text, env);
  } catch (e) {
    if (e instanceof EnvSubstitutionError) throw new ConfigError(file, [{ path: '', message: e.message }]);
    throw e;
  }
  const doc = loadYaml().parseDocument(expanded, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message}` })));
  }
  return validateConfig(doc.toJS() ?? {}, file);
}

/**
 * Validates a config already parsed from YAML (what parseConfig does after the parse); throws
 * ConfigError listing every problem with its key path.
 */
export function validateConfig(raw: unknown, file: string): Config {
  // jitless: zod otherwise compiles a `new Function` fast path for every object schema on its
  // first parse, which a config parsed once (at start, at a reload) never earns back: -0.02 CPU-s
  // at start (bench/RESULTS.md, "Start-up").
  const result = configSchema.safeParse(raw, { jitless: true });
  if (!result.success) throw new ConfigError(file, zodIssues(result.error));
  return result.data;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  // The embedded default, parsed at build time, when that provably gives what parsing it would.
  const template = readConfigTemplate();
  const raw = template === undefined ? undefined : fromTemplate(template, text, env);
  return raw === undefined ? parseConfig(text, file, env) : validateConfig(raw, file);
}
