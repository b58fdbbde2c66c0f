import { stringify } from 'yaml';
import type { Config } from './schema.ts';

/** What a secret value prints as. */
const SECRET_MASK = '<secret>';

/**
 * Keys whose values are credentials: the inline ones and the `*_file` ones, which the schema has
 * already replaced by the file's contents (secretFile), so they are masked the same way.
 */
const SECRET_KEYS = new Set(['password', 'password_file', 'bearer_token', 'bearer_token_file', 'api_key', 'api_key_file']);
/** Header names that carry credentials (`headers: {Authorization: ...}` on an HTTP sink). */
const SECRET_HEADER = /auth|token|key|secret|cookie|password/i;

/**
 * The config the daemon would run, as YAML: after `${VAR}` expansion, with every default filled
 * in and the environment overrides applied. Durations print in milliseconds and sizes in bytes
 * (both accepted back as plain numbers), patterns as their source. Credentials print as
 * `<secret>`: the output is meant to be pasted into tickets.
 */
export function renderEffectiveConfig(cfg: Config): string {
  return stringify(printable(cfg, ''), { lineWidth: 0 });
}

function printable(value: unknown, key: string): unknown {
  if (value instanceof RegExp) return value.source;
  // A match stage's parsed selector (its tests are functions, which YAML cannot print): its text.
  if (key === 'selector' && value !== null && typeof value === 'object' && typeof (value as { text?: unknown }).text === 'string') return (value as { text: string }).text;
  if (Array.isArray(value)) return value.map((v) => printable(v, ''));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (SECRET_KEYS.has(k)) out[k] = SECRET_MASK;
    else if (key === 'headers' && SECRET_HEADER.test(k)) out[k] = SECRET_MASK;
    else out[k] = printable(v, k);
  }
  return out;
}
