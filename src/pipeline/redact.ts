import { TextVerdicts, TRUE } from './text-verdicts.ts';
import { z } from 'zod';
import type { Counter } from 'prom-client';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { compileUserRegex } from '../parse/safe-regex.ts';
import type { LogEvent, LogRecord } from '../core/record.ts';
import type { Stage } from '../core/stage.ts';

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

const extraPatternSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, { message: 'use a lower_snake_case name (it becomes the metric label)' }),
  pattern: z.string().transform((v, ctx) => {
    const r = compileUserRegex(v, 'g');
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.regex;
  }),
  replacement: z.string().default('[REDACTED]'),
});

export const BUILTIN_REDACTION_RULES = ['secret_field', 'private_key', 'url_credentials', 'bearer_token', 'basic_auth', 'jwt', 'aws_access_key', 'secret_key_value', 'credit_card'] as const;

const redactionOptions = {
  /** More patterns (regex, replacement); matched in text after the built-in rules. */
  extra_patterns: z.array(extraPatternSchema).default([]),
  /** More key names whose values are always replaced (compared lower-case without `-`, `_`, `.`). */
  keys: z.array(z.string().min(1)).default([]),
  /** Built-in rules to switch off, by name. */
  disable: z.array(z.enum(BUILTIN_REDACTION_RULES)).default([]),
  replacement: z.string().default('[REDACTED]'),
};

/** Top-level `redaction:` (the built-in stage, on by default). */
export const redactionConfigSchema = z.strictObject({ enabled: z.boolean().default(true), ...redactionOptions }).prefault({});
export type RedactionConfig = z.infer<typeof redactionConfigSchema>;

/** `{ type: redact, ... }` in `pipeline:`. */
export const redactStageSchema = z.strictObject({ type: z.literal('redact'), name: z.string().optional(), ...redactionOptions });
export type RedactStageConfig = z.infer<typeof redactStageSchema>;

/** Key names (normalized) that are secrets wherever they appear as a suffix. */
export const SECRET_SUFFIXES = ['password', 'passwd', 'passphrase', 'pwd', 'secret', 'token', 'apikey', 'accesskey', 'secretkey', 'privatekey', 'signingkey', 'encryptionkey', 'masterkey', 'sshkey', 'authorization', 'credential', 'credentials', 'cookie', 'sessionid', 'sessionkey'];
export const SECRET_EXACT = new Set(['pass', 'auth', 'cvv', 'cvc', 'cvv2', 'pin', 'otp', 'mfacode', 'totp']);
/**
 * Cheap pre-check: a string without any of these cannot hold anything the text rules replace.
 * It is `/pass|…|otp|:\/\/|(?:\d[ -]?){12}\d/i` taken apart (an unanchored alternation matches
 * when one of its parts does): `://` by indexOf, the words, the digits (hasCardDigits) — V8 scans
 * each part faster than the whole alternation.
 */
const PREFILTER_WORDS = /pass|pwd|secret|token|key|auth|credential|cookie|session|cvv|cvc|bearer|basic|eyj|akia|asia|agpa|aida|aroa|aipa|anpa|anva|apka|abia|acca|begin|\bpin\b|otp/i;

/**
 * The built-in text rules' regexes, made once: a regex literal inside a function is a new
 * RegExp object on every call (per line here). `replace` resets a global regex's lastIndex.
 */
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|$)/g;
const URL_CREDENTIALS = /\b([a-zA-Z][a-zA-Z0-9+.-]{0,20}:\/\/)([^\s:@/]{0,256}):([^\s@/]{1,256})@/g;
const BEARER_TOKEN = /\b(bearer)(\s+|%20)([A-Za-z0-9\-._~+/]{8,}=*)/gi;
const BASIC_AUTH = /\bBasic(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const AWS_ACCESS_KEY = /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z2-7]{16}\b/g;
const CARD_NUMBER = /\b(?:\d[ -]?){12,18}\d\b/g;
/**
 * A word one of the private_key, bearer_token, basic_auth, jwt and aws_access_key rules needs;
 * bearer in any ASCII case like its rule (as classes: `(?i:)` groups need V8 12.5, newer than
 * Node 22's).
 */
const WORD_RULE_TRIGGERS = /PRIVATE KEY-----|[bB][eE][aA][rR][eE][rR]|Basic|eyJ|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA/;

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
  /** The secret_field rule is on (looked up once: it is asked for every metadata key). */
  private readonly secretFields: boolean;
  private readonly extraKeys: Set<string>;
  private readonly extra: Array<{ name: string; regex: RegExp; replacement: string }>;
  private readonly replacement: string;
  private readonly keyCache = new Map<string, boolean>();
  /** Messages known to hold nothing to redact. */
  private readonly clean = new TextVerdicts();
  /** Likewise for the other texts (metadata values, http path and referrer): routes, methods, ids of a few kinds repeat. */
  private readonly cleanValues = new TextVerdicts();
  /** Replacements made so far (all rules). */
  private replaced = 0;
  /** By ASCII code: 1 when some secret key name (normalized) ends in that character. */
  private readonly secretLastChars = new Uint8Array(128);
  private readonly family: Counter<'rule'> | undefined;

  constructor(cfg: Omit<RedactStageConfig, 'type' | 'name'> & { name?: string }, ctx: { metrics?: MetricsRegistry } = {}) {
    this.name = cfg.name ?? 'redact';
    this.off = new Set(cfg.disable);
    this.secretFields = !this.off.has('secret_field');
    this.extraKeys = new Set(cfg.keys.map(normalizeKey));
    for (const name of [...SECRET_SUFFIXES, ...SECRET_EXACT, ...this.extraKeys]) {
      const last = name.charCodeAt(name.length - 1);
      if (last < 128) this.secretLastChars[last] = 1;
    }
    this.extra = cfg.extra_patterns.map((p) => ({ name: p.name, regex: p.pattern, replacement: p.replacement }));
    this.replacement = cfg.replacement;
    this.family = ctx.metrics?.counter('logship_redactions_total', 'Secrets replaced by the redaction stage, by rule.', ['rule']);
  }

  private count(rule: string, n = 1): void {
    this.replaced += n;
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
    // Written back only when redacted: a store into a record or metadata object (many shapes,
    // a key that varies) costs more than the check, and nearly every text comes back unchanged.
    const message = this.remembered(r.message, this.clean);
    if (message !== r.message) r.message = message;
    if (r.metadata !== undefined) this.object(r.metadata, 0);
    const h = r.http;
    if (h !== undefined) {
      if (h.path !== undefined) {
        const path = this.remembered(h.path, this.cleanValues);
        if (path !== h.path) h.path = path;
      }
      if (h.referrer !== undefined) {
        const referrer = this.remembered(h.referrer, this.cleanValues);
        if (referrer !== h.referrer) h.referrer = referrer;
      }
    }
  }

  /**
   * False when the key s[ks, ke) cannot name a secret: its normalized form does not end in the
   * last character of any secret name. Most `:` and `=` in text (times, URLs, query strings)
   * are ruled out here without slicing the key.
   */
  private mayBeSecretKey(s: string, ks: number, ke: number): boolean {
    let e = ke - 1;
    // normalizeKey drops these; keys here are ASCII key characters
    while (e >= ks) {
      const c = s.charCodeAt(e);
      if (c !== 45 && c !== 95 && c !== 46) break;
      e--;
    }
    if (e < ks) return true; // normalizes to "": let isSecretKey decide
    const c = s.charCodeAt(e);
    return this.secretLastChars[c >= 65 && c <= 90 ? c + 32 : c] === 1;
  }

  /** True when a key names a secret (cached: key names repeat). */
  isSecretKey(key: string): boolean {
    const hit = this.keyCache.get(key);
    return hit !== undefined ? hit : this.classifyKey(key);
  }

  /**
   * isSecretKey's miss, apart: its suffix test is a closure over the normalized key, and a
   * function holding a closure allocates its context on every call, hits included (~40 bytes a
   * key, ~200 a seed line).
   */
  private classifyKey(key: string): boolean {
    const k = normalizeKey(key);
    const hit = SECRET_EXACT.has(k) || this.extraKeys.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
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
        if (typeof v === 'string') {
          const out = this.remembered(v, this.cleanValues);
          if (out !== v) o[i] = out;
        } else if (v !== null && typeof v === 'object') this.object(v as Record<string, unknown>, depth + 1);
      }
      return;
    }
    for (const k in o) {
      const v = o[k];
      if (v === null || v === undefined || typeof v === 'boolean') continue;
      if (this.secretFields && this.isSecretKey(k) && v !== this.replacement && v !== '' && !isNumericSessionId(k, v)) {
        o[k] = this.replacement;
        this.count('secret_field');
        continue;
      }
      if (typeof v === 'string') {
        const out = this.remembered(v, this.cleanValues);
        if (out !== v) o[k] = out;
      } else if (typeof v === 'object') this.object(v as Record<string, unknown>, depth + 1);
    }
  }

  /** text(), remembering in `clean` the texts with nothing to redact (messages and many values repeat). */
  private remembered(s: string, clean: TextVerdicts): string {
    // text() skips these without a look
    if (s.length < 8 && this.extra.length === 0) return s;
    if (clean.get(s) === TRUE) return s;
    const before = this.replaced;
    const out = this.text(s);
    // Only "nothing to redact" is remembered: a replacement is counted each time it is made
    // (even one that gives the same text, as a user pattern may).
    if (this.replaced === before) clean.set(s, true);
    return out;
  }

  /** Redacts secrets in free text. */
  text(s: string): string {
    // `://` first: it is in most access-log lines (the referrer)
    if (s.length >= 8 && (s.includes('://') || PREFILTER_WORDS.test(s) || hasCardDigits(s))) s = this.builtinText(s);
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

  /**
   * The built-in text rules in order. A rule runs only when a cheap check of something its
   * match needs passes (`PRIVATE KEY-----`, an `@` after `://`, `Basic`, `eyJ`, a `=` or `:`, the
   * shortest length it can match): on access-log lines the url_credentials regex alone cost
   * more than the pre-check.
   */
  private builtinText(s: string): string {
    const R = this.replacement;
    const off = this.off;
    // No private key, bearer, basic, jwt or AWS match is possible without one of their words:
    // one regex finds that for all five (redone when url_credentials changed the text).
    let quiet = !WORD_RULE_TRIGGERS.test(s);
    if (!quiet && !off.has('private_key') && s.includes('PRIVATE KEY-----')) {
      s = s.replace(PRIVATE_KEY_BLOCK, () => {
        this.count('private_key');
        return `-----BEGIN PRIVATE KEY-----${R}-----END PRIVATE KEY-----`;
      });
    }
    if (!off.has('url_credentials') && hasAtAfterScheme(s)) {
      const before = s;
      s = s.replace(URL_CREDENTIALS, (_m, scheme: string, user: string, pw: string) => {
        if (pw === R) return _m;
        this.count('url_credentials');
        return `${scheme}${user}:${R}@`;
      });
      if (s !== before) quiet = !WORD_RULE_TRIGGERS.test(s);
    }
    if (!quiet) s = this.wordRules(s);
    if (!off.has('secret_key_value') && (s.indexOf('=') >= 0 || s.indexOf(':') >= 0)) s = this.keyValues(s);
    if (!off.has('credit_card') && s.length >= 13 && hasCardDigits(s)) {
      s = s.replace(CARD_NUMBER, (m, at: number, whole: string) => {
        if (!isCardNumber(m) || !isDelimitedCard(whole, at, at + m.length)) return m;
        this.count('credit_card');
        return R;
      });
    }
    return s;
  }

  /** The bearer_token, basic_auth, jwt and aws_access_key rules, in that order. */
  private wordRules(s: string): string {
    const R = this.replacement;
    const off = this.off;
    if (!off.has('bearer_token') && s.length >= 15 /* bearer, a space, 8 characters */) {
      s = s.replace(BEARER_TOKEN, (_m, word: string, sp: string) => {
        this.count('bearer_token');
        return `${word}${sp}${R}`;
      });
    }
    if (!off.has('basic_auth') && s.includes('Basic')) {
      s = s.replace(BASIC_AUTH, (m, sp: string, cred: string) => {
        // base64 of user:password has digits, padding or mixed case; plain words ("Basic authentication") do not
        if (!/[0-9+/=]/.test(cred) && !(/[a-z]/.test(cred) && /[A-Z]/.test(cred.slice(1)))) return m;
        this.count('basic_auth');
        return `Basic${sp}${R}`;
      });
    }
    if (!off.has('jwt') && s.includes('eyJ')) {
      s = s.replace(JWT, () => {
        this.count('jwt');
        return R;
      });
    }
    if (!off.has('aws_access_key') && s.length >= 20) {
      s = s.replace(AWS_ACCESS_KEY, () => {
        this.count('aws_access_key');
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
    // the next `=` and `:` at or after i (found with indexOf, not a loop over every character); -1: none left
    let eq = -2;
    let colon = -2;
    for (let i = 1; ; i++) {
      if (eq !== -1 && eq < i) eq = s.indexOf('=', i);
      if (colon !== -1 && colon < i) colon = s.indexOf(':', i);
      if (eq < 0 && colon < 0) break;
      i = eq < 0 ? colon : colon < 0 || eq < colon ? eq : colon;
      const c = s.charCodeAt(i);
      // the key ends right before the separator (maybe after a closing quote)
      let ke = i;
      if (s.charCodeAt(ke - 1) === 34 || s.charCodeAt(ke - 1) === 39) ke--;
      let ks = ke;
      while (ks > 0 && ke - ks < 64 && isKeyChar(s.charCodeAt(ks - 1))) ks--;
      if (ks === ke) continue;
      let vs = i + 1;
      if (c === 58 && s.charCodeAt(vs) === 47 && s.charCodeAt(vs + 1) === 47) continue; // a URL scheme
      if (!this.mayBeSecretKey(s, ks, ke) || !this.isSecretKey(s.slice(ks, ke))) continue;
      // the value
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

/**
 * True when `s` has 13 digits in a row with at most one space or dash between neighbours: what
 * every credit_card match (`(?:\d[ -]?){12,18}\d`) contains, in any grouping (4-4-4-4, Amex's
 * 4-6-5, Diners' 4-6-4, none). One pass over the characters, cheaper than the card regex, which
 * tries a word boundary and a digit at every position.
 */
export function hasCardDigits(s: string): boolean {
  let digits = 0;
  let separated = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits === 13) return true;
      separated = false;
    } else if ((c === 32 || c === 45) && digits > 0 && !separated) {
      separated = true;
    } else {
      digits = 0;
      separated = false;
    }
  }
  return false;
}

/** url_credentials needs `scheme://user:pw@`: an `@` somewhere after the first `://`. */
function hasAtAfterScheme(s: string): boolean {
  const scheme = s.indexOf('://');
  return scheme >= 0 && s.indexOf('@', scheme + 3) >= 0;
}

export function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

export function isValueEnd(c: number): boolean {
  return c <= 32 || c === 34 || c === 39 || c === 38 || c === 44 || c === 59 || c === 125 || c === 41 || c === 93;
}

/**
 * True when the digits s[start, end) stand alone as a card number rather than being part of a
 * larger token: what comes before is the text's start, a space, a quote or an opening bracket
 * (or `=`/`:` after a key naming a card: `card=`, `cc_number:`), and what follows is the end, a
 * space, a quote, closing punctuation or a full stop. So HDFS block ids (`blk_-1608999687919862906`),
 * `id=4111111111111111`, hex and dotted/slashed tokens are left alone.
 */
export function isDelimitedCard(s: string, start: number, end: number): boolean {
  if (start > 0) {
    const p = s.charCodeAt(start - 1);
    if (p === 61 /* = */ || p === 58 /* : */) {
      let ks = start - 1;
      while (ks > 0 && start - 1 - ks < 32 && isKeyChar(s.charCodeAt(ks - 1))) ks--;
      if (!isCardKey(normalizeKey(s.slice(ks, start - 1)))) return false;
    } else if (!(p <= 32 || p === 34 || p === 39 || p === 40 || p === 91 || p === 123 || p === 60 || p === 44 || p === 59 || p === 124)) return false;
  }
  if (end < s.length) {
    const n = s.charCodeAt(end);
    if (n === 46 /* . */ || n === 44 /* , */) {
      const after = s.charCodeAt(end + 1);
      if (end + 1 < s.length && after > 32) return false;
    } else if (!(n <= 32 || n === 34 || n === 39 || n === 41 || n === 93 || n === 125 || n === 62 || n === 59 || n === 38 || n === 124)) return false;
  }
  return true;
}

/** Normalized key names (normalizeKey) of card-number fields, as the key of `key=4111…`. */
function isCardKey(k: string): boolean {
  return k === 'cc' || k === 'pan' || k.endsWith('card') || k.endsWith('cardnumber') || k.endsWith('cardno') || k.endsWith('cardnum') || k.endsWith('ccnumber') || k.endsWith('ccnum') || k.endsWith('ccno');
}

/**
 * A session id key whose value is a number (`sessionid: 0x14f05578bf8` in ZooKeeper, a decimal
 * session counter): an identifier operators search for, not a credential. Web session ids
 * (`sessionid=k3j4h5...`, `JSESSIONID=...`) are random tokens and stay secrets.
 */
export function isNumericSessionId(key: string, value: unknown): boolean {
  if (typeof value === 'number') return normalizeKey(key).endsWith('sessionid');
  if (typeof value !== 'string' || value.length === 0 || value.length > 20) return false;
  const c = value.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  if (!/^(?:0x[0-9a-fA-F]+|\d+)$/.test(value)) return false;
  return normalizeKey(key).endsWith('sessionid');
}

/**
 * True when the unquoted value s[vs, ve) is an object's description, not a credential: Java's
 * `Object.toString()` (`Token@1b6d3586`) or Android's `Token{a64f992 ...` (`token=Token{a64f992
 * ActivityRecord{...}}` in WindowManager lines): a capitalized class name, then `@` or `{` and
 * hex digits up to the value's end.
 */
export function isObjectDescription(s: string, vs: number, ve: number): boolean {
  const c = s.charCodeAt(vs);
  if (c < 65 || c > 90) return false;
  let i = vs + 1;
  while (i < ve && isKeyChar(s.charCodeAt(i)) && s.charCodeAt(i) !== 45) i++;
  const sep = s.charCodeAt(i);
  if (i >= ve || (sep !== 64 && sep !== 123) || i + 1 >= ve) return false;
  for (let h = i + 1; h < ve; h++) {
    const d = s.charCodeAt(h);
    if (!((d >= 48 && d <= 57) || (d >= 97 && d <= 102))) return false;
  }
  return true;
}

/** 13–19 digits (spaces/dashes allowed) with a known card prefix and a valid Luhn checksum. */
export function isCardNumber(text: string): boolean {
  let digits = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += text[i];
  }
  const len = digits.length;
  if (len < 13 || len > 19) return false;
  const p2 = Number(digits.slice(0, 2));
  const p4 = Number(digits.slice(0, 4));
  const p3 = Number(digits.slice(0, 3));
  const known =
    (digits[0] === '4' && (len === 13 || len === 16 || len === 19)) || // Visa
    (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && len === 16) || // Mastercard
    ((p2 === 34 || p2 === 37) && len === 15) || // Amex
    ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) && len >= 16) || // Discover
    ((p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p4 === 3095) && len >= 14 && len <= 19) || // Diners
    (p4 >= 3528 && p4 <= 3589 && len >= 16) || // JCB
    (p2 === 62 && len >= 16) || // UnionPay
    ((p4 === 5018 || p4 === 5020 || p4 === 5038 || p4 === 5893 || p4 === 6304 || p4 === 6759 || p4 === 6761 || p4 === 6762 || p4 === 6763) && len >= 12); // Maestro
  if (!known) return false;
  let sum = 0;
  for (let i = 0; i < len; i++) {
    let d = digits.charCodeAt(len - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
