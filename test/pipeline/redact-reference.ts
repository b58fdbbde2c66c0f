/**
 * The redaction stage as it was before its rules were gated by cheap checks (commit 4f7b1ec),
 * kept as an oracle (with the rules' later semantics: isDelimitedCard, isNumericSessionId): redact-equivalence.test.ts checks that the optimized stage
 * replaces and counts exactly what this one does. Not used by the daemon.
 */
import type { Counter } from 'prom-client';
import type { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import type { LogEvent, LogRecord } from '../../src/core/record.ts';
import type { Stage } from '../../src/core/stage.ts';
import { isCardNumber, isDelimitedCard, isKeyChar, isNumericSessionId, isObjectDescription, isValueEnd, SECRET_EXACT, SECRET_SUFFIXES, type RedactStageConfig } from '../../src/pipeline/redact.ts';

/**
 * Redaction: secrets are replaced before a record leaves the host (it runs ahead of the user's
 * pipeline and every sink, `run --dry-run` included). What it covers:
 * - `secret_field`: values of structured fields whose key names a secret (`password`,
 *   `db_password`, `apiKey`, `client_secret`, `Authorization`, `set-cookie`, ...), at any depth of
 *   `metadata`;
 * - in text (message, string values in metadata, http.path / referrer):
 *   `private_key` PEM blocks, `url_credentials` (`https://user:pw@host`), `bearer_token`,
 *   `basic_auth`, `jwt`, `aws_access_key` (AKIA…/ASIA…), `secret_key_value` (`password=x`,
 *   `"token": "x"`, `?api_key=x`), `credit_card` (13–19 digits with a card prefix and a valid
 *   Luhn checksum);
 * - `extra_patterns` from the config (linear-time checked regexes).
 * Each replacement counts `logship_redactions_total{rule}`.
 */

// Schemas and key lists are the stage's own (imported); only the matching algorithm is the old one.
/** Cheap pre-check: a string without any of these cannot hold anything the text rules replace. */
const PREFILTER = /pass|pwd|secret|token|key|auth|credential|cookie|session|cvv|cvc|bearer|basic|eyj|akia|asia|agpa|aida|aroa|aipa|anpa|anva|apka|abia|acca|begin|:\/\/|(?:\d[ -]?){12}\d|\bpin\b|otp/i;

export function normalizeKey(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 45 || c === 95 || c === 46 || c === 32) continue;
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : key[i];
  }
  return out;
}

export class RedactStage implements Stage {
  readonly name: string;
  private readonly counters = new Map<string, { inc(n?: number): void }>();
  private readonly off: Set<string>;
  private readonly extraKeys: Set<string>;
  private readonly extra: Array<{ name: string; regex: RegExp; replacement: string }>;
  private readonly replacement: string;
  private readonly keyCache = new Map<string, boolean>();
  private readonly family: Counter<'rule'> | undefined;

  constructor(cfg: Omit<RedactStageConfig, 'type' | 'name'> & { name?: string }, ctx: { metrics?: MetricsRegistry } = {}) {
    this.name = cfg.name ?? 'redact';
    this.off = new Set(cfg.disable);
    this.extraKeys = new Set(cfg.keys.map(normalizeKey));
    this.extra = cfg.extra_patterns.map((p) => ({ name: p.name, regex: p.pattern, replacement: p.replacement }));
    this.replacement = cfg.replacement;
    this.family = ctx.metrics?.counter('logship_redactions_total', 'Secrets replaced by the redaction stage, by rule.', ['rule']);
  }

  private count(rule: string, n = 1): void {
    let c = this.counters.get(rule);
    if (c === undefined) {
      c = this.family ? this.family.labels(rule) : { inc() {} };
      this.counters.set(rule, c);
    }
    c.inc(n);
  }

  process(event: LogEvent): LogEvent {
    this.record(event.record);
    return event;
  }

  /** Redacts one record in place. */
  record(r: LogRecord): void {
    r.message = this.text(r.message);
    if (r.metadata !== undefined) this.object(r.metadata, 0);
    const h = r.http;
    if (h !== undefined) {
      if (h.path !== undefined) h.path = this.text(h.path);
      if (h.referrer !== undefined) h.referrer = this.text(h.referrer);
    }
  }

  /** True when a key names a secret (cached: key names repeat). */
  isSecretKey(key: string): boolean {
    let hit = this.keyCache.get(key);
    if (hit !== undefined) return hit;
    const k = normalizeKey(key);
    hit = SECRET_EXACT.has(k) || this.extraKeys.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
    // "token_count", "tokens", "passed", "keyboard" are not secrets; suffix matching already excludes them
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    this.keyCache.set(key, hit);
    return hit;
  }

  private object(o: Record<string, unknown> | unknown[], depth: number): void {
    if (depth > 32) return;
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        const v = o[i];
        if (typeof v === 'string') o[i] = this.text(v);
        else if (v !== null && typeof v === 'object') this.object(v as Record<string, unknown>, depth + 1);
      }
      return;
    }
    for (const k in o) {
      const v = o[k];
      if (v === null || v === undefined || typeof v === 'boolean') continue;
      if (!this.off.has('secret_field') && this.isSecretKey(k) && v !== this.replacement && v !== '' && !isNumericSessionId(k, v)) {
        o[k] = this.replacement;
        this.count('secret_field');
        continue;
      }
      if (typeof v === 'string') o[k] = this.text(v);
      else if (typeof v === 'object') this.object(v as Record<string, unknown>, depth + 1);
    }
  }

  /** Redacts secrets in free text. */
  text(s: string): string {
    if (s.length >= 8 && PREFILTER.test(s)) s = this.builtinText(s);
    for (const x of this.extra) {
      x.regex.lastIndex = 0;
      if (!x.regex.test(s)) continue;
      let n = 0;
      x.regex.lastIndex = 0;
      s = s.replace(x.regex, () => {
        n++;
        return x.replacement;
      });
      this.count(x.name, n);
    }
    return s;
  }

  private builtinText(s: string): string {
    const R = this.replacement;
    const off = this.off;
    if (!off.has('private_key') && s.includes('PRIVATE KEY-----')) {
      s = s.replace(/-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|$)/g, () => {
        this.count('private_key');
        return `-----BEGIN PRIVATE KEY-----${R}-----END PRIVATE KEY-----`;
      });
    }
    if (!off.has('url_credentials') && s.includes('://')) {
      s = s.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]{0,20}:\/\/)([^\s:@/]{0,256}):([^\s@/]{1,256})@/g, (_m, scheme: string, user: string, pw: string) => {
        if (pw === R) return _m;
        this.count('url_credentials');
        return `${scheme}${user}:${R}@`;
      });
    }
    if (!off.has('bearer_token')) {
      s = s.replace(/\b(bearer)(\s+|%20)([A-Za-z0-9\-._~+/]{8,}=*)/gi, (_m, word: string, sp: string) => {
        this.count('bearer_token');
        return `${word}${sp}${R}`;
      });
    }
    if (!off.has('basic_auth') && s.includes('Basic')) {
      s = s.replace(/\bBasic(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g, (m, sp: string, cred: string) => {
        // base64 of user:password has digits, padding or mixed case; plain words ("Basic authentication") do not
        if (!/[0-9+/=]/.test(cred) && !(/[a-z]/.test(cred) && /[A-Z]/.test(cred.slice(1)))) return m;
        this.count('basic_auth');
        return `Basic${sp}${R}`;
      });
    }
    if (!off.has('jwt') && s.includes('eyJ')) {
      s = s.replace(/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, () => {
        this.count('jwt');
        return R;
      });
    }
    if (!off.has('aws_access_key')) {
      s = s.replace(/\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z2-7]{16}\b/g, () => {
        this.count('aws_access_key');
        return R;
      });
    }
    if (!off.has('secret_key_value')) s = this.keyValues(s);
    if (!off.has('credit_card')) {
      s = s.replace(/\b(?:\d[ -]?){12,18}\d\b/g, (m, at: number, whole: string) => {
        if (!isCardNumber(m) || !isDelimitedCard(whole, at, at + m.length)) return m;
        this.count('credit_card');
        return R;
      });
    }
    return s;
  }

  /**
   * `key=value`, `key: value`, `"key": "value"`, `?key=value&` where the key names a secret: a
   * scan over `=`/`:` (no regex, so long tokens cannot make it backtrack).
   */
  private keyValues(s: string): string {
    const R = this.replacement;
    let out: string | undefined;
    let copied = 0;
    const n = s.length;
    for (let i = 1; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c !== 61 && c !== 58) continue;
      // the key ends right before the separator (maybe after a closing quote)
      let ke = i;
      if (s.charCodeAt(ke - 1) === 34 || s.charCodeAt(ke - 1) === 39) ke--;
      let ks = ke;
      while (ks > 0 && ke - ks < 64 && isKeyChar(s.charCodeAt(ks - 1))) ks--;
      if (ks === ke || !this.isSecretKey(s.slice(ks, ke))) continue;
      // the value
      let vs = i + 1;
      if (c === 58 && s.charCodeAt(vs) === 47 && s.charCodeAt(vs + 1) === 47) continue; // a URL scheme
      while (vs < n && s.charCodeAt(vs) === 32) vs++;
      let ve: number;
      const q = s.charCodeAt(vs);
      if (q === 34 || q === 39) {
        vs++;
        ve = vs;
        while (ve < n && s.charCodeAt(ve) !== q) ve += s.charCodeAt(ve) === 92 ? 2 : 1;
        if (ve > n) ve = n;
      } else {
        ve = vs;
        while (ve < n && !isValueEnd(s.charCodeAt(ve))) ve++;
        // an auth scheme word: the credential is the next token
        const word = s.slice(vs, ve).toLowerCase();
        if (word === 'bearer' || word === 'basic' || word === 'token' || word === 'digest' || word === 'negotiate') {
          let ts = ve;
          while (ts < n && s.charCodeAt(ts) === 32) ts++;
          if (s.startsWith(R, ts)) continue;
          vs = ts;
          ve = ts;
          while (ve < n && !isValueEnd(s.charCodeAt(ve))) ve++;
        }
      }
      if (ve <= vs || s.startsWith(R, vs) || isNumericSessionId(s.slice(ks, ke), s.slice(vs, ve)) || isObjectDescription(s, vs, ve)) continue;
      out = (out ?? '') + s.slice(copied, vs) + R;
      copied = ve;
      i = ve;
      this.count('secret_key_value');
    }
    return out === undefined ? s : out + s.slice(copied);
  }
}

