import { setFlagsFromString } from 'node:v8';
import { LogshipError } from '../core/errors.ts';

/**
 * User regexes (regex parser, classification rules, redaction patterns) must never hang the
 * daemon. JavaScript's backtracking engine can take exponential time on patterns like `(a+)+$`
 * and polynomial time on innocent-looking ones like `^(.*) (.*) (.*)$` over a long line, so a
 * static "looks dangerous" check alone cannot make them safe.
 *
 * V8 ships a second, linear-time (automaton) regex engine. We use it two ways:
 * 1. At config time every user pattern must compile for the linear engine (flag `l`); patterns
 *    it cannot run in linear time (backreferences, lookarounds it cannot handle, huge counted
 *    repetitions) are rejected with the reason, so `logship validate` reports them.
 * 2. At run time the pattern runs on the normal (fast) engine with V8's
 *    `--enable-experimental-regexp-engine-on-excessive-backtracks`: after a bounded number of
 *    backtracks (V8's `--regexp-backtracks-before-fallback`, 50,000 by default) the match is
 *    re-run on the linear engine. Common patterns keep full speed; a catastrophic one costs
 *    a bounded amount of backtracking and then linear time — it cannot hang.
 *
 * Both are process-wide V8 flags. They are set only where needed, by enableLinearRegexEngine()
 * below, which compileUserRegex calls before compiling a user pattern (config load, `validate`,
 * the stages and the regex parser): importing this module changes nothing, and a process that
 * never compiles a user regex never sets them. They only change behaviour for regexes that would
 * otherwise backtrack excessively, so once set they protect every regex in the process.
 */

/**
 * Turns on V8's linear-time regex engine (flag `l`) and the fallback to it after excessive
 * backtracking. Idempotent and stateless: it asks V8 whether `l` is accepted already.
 */
export function enableLinearRegexEngine(): void {
  try {
    new RegExp('', 'l');
    return;
  } catch {
    // not enabled yet
  }
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}

export type CompiledRegex = { ok: true; regex: RegExp } | { ok: false; error: string };

/**
 * Compiles a user pattern for safe use, or explains why it is refused. The linear engine has
 * no `i` flag (and V8 cannot fall back for `i` regexes), so an `i` in `flags` is implemented by
 * rewriting ASCII letters into both-case classes (`a` → `[aA]`) instead.
 */
export function compileUserRegex(pattern: string, flags = ''): CompiledRegex {
  enableLinearRegexEngine();
  if (flags.includes('i')) {
    try {
      // validate the original first so error messages quote what the user wrote
      new RegExp(pattern, flags.replace('i', ''));
    } catch (e) {
      return { ok: false, error: `invalid regular expression: ${(e as Error).message}` };
    }
  }
  ({ pattern, flags } = linearForm(pattern, flags));
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (e) {
    return { ok: false, error: `invalid regular expression: ${(e as Error).message}` };
  }
  try {
    new RegExp(pattern, flags.replace(/[gy]/g, '') + 'l');
  } catch (e) {
    const why = (e as Error).message.includes('linear time') ? 'it cannot be matched in linear time (backreferences, some lookarounds, or very large {n,m} counts); rewrite it without them' : (e as Error).message;
    return { ok: false, error: `unsafe regular expression ${JSON.stringify(pattern)}: ${why}` };
  }
  return { ok: true, regex };
}

/**
 * compileUserRegex's regex for one of logship's own constant patterns (the built-in
 * classification rules): the same case folding and count expansion, without the two extra
 * compiles that check a user's pattern (as written, and for the linear engine). Only for patterns
 * a test runs through compileUserRegex (test/pipeline/classify.test.ts); the linear engine is
 * still turned on, which the run-time fallback needs.
 */
export function builtinRegex(pattern: string, flags = ''): RegExp {
  enableLinearRegexEngine();
  const form = linearForm(pattern, flags);
  return new RegExp(form.pattern, form.flags);
}

/**
 * The pattern as logship compiles it: `i` spelled out as character classes and large counts
 * expanded (caseFold and expandCounts say why), so the linear engine accepts it.
 */
function linearForm(pattern: string, flags: string): { pattern: string; flags: string } {
  if (flags.includes('i')) {
    flags = flags.replace('i', '');
    pattern = caseFold(pattern);
  }
  return { pattern: expandCounts(pattern), flags };
}

/** compileUserRegex that throws (for code paths where the pattern was validated at config load). */
export function userRegex(pattern: string, flags = ''): RegExp {
  const r = compileUserRegex(pattern, flags);
  if (!r.ok) throw new UnsafeRegexError('UNSAFE_REGEX', r.error, { pattern });
  return r.regex;
}

export class UnsafeRegexError extends LogshipError {}

const isUpper = (c: string) => c >= 'A' && c <= 'Z';
const isLower = (c: string) => c >= 'a' && c <= 'z';
const swap = (c: string) => (isUpper(c) ? c.toLowerCase() : c.toUpperCase());

/**
 * Rewrites a pattern to match ASCII letters in either case without the `i` flag: literal
 * letters become `[aA]`, letters and letter ranges inside classes gain their other case.
 * Escapes (`\b`, `\x41`, `\p{L}`, `\k<name>`), group syntax (`(?<name>`, `(?:`) and
 * quantifiers are copied verbatim.
 */
export function caseFold(p: string): string {
  let out = '';
  let i = 0;
  const n = p.length;
  const escape = (): string => {
    // p[i] === '\\'
    const c = p[i + 1] ?? '';
    let len = 2;
    if (c === 'x') len = 4;
    else if (c === 'u') len = p[i + 2] === '{' ? p.indexOf('}', i) - i + 1 : 6;
    else if ((c === 'p' || c === 'P') && p[i + 2] === '{') len = p.indexOf('}', i) - i + 1;
    else if (c === 'k' && p[i + 2] === '<') len = p.indexOf('>', i) - i + 1;
    else if (c === 'c') len = 3;
    if (len <= 0) len = 2;
    const e = p.slice(i, i + len);
    i += len;
    return e;
  };
  while (i < n) {
    const c = p[i];
    if (c === '\\') {
      out += escape();
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      // (?: (?= (?! (?<= (?<! (?<name>
      let e = i + 2;
      if (p[e] === '<' && p[e + 1] !== '=' && p[e + 1] !== '!') e = p.indexOf('>', e) + 1;
      else e += p[e] === '<' ? 2 : 1;
      out += p.slice(i, e);
      i = e;
      continue;
    }
    if (c === '{') {
      const e = p.indexOf('}', i);
      if (e > i && /^\{\d*,?\d*\}$/.test(p.slice(i, e + 1))) {
        out += p.slice(i, e + 1);
        i = e + 1;
        continue;
      }
    }
    if (c === '[') {
      let cls = '[';
      let extra = '';
      i++;
      if (p[i] === '^') {
        cls += '^';
        i++;
      }
      if (p[i] === ']') {
        cls += '\\]';
        i++;
      }
      while (i < n && p[i] !== ']') {
        if (p[i] === '\\') {
          cls += escape();
          continue;
        }
        const a = p[i];
        if (p[i + 1] === '-' && p[i + 2] !== undefined && p[i + 2] !== ']' && p[i + 2] !== '\\') {
          const b = p[i + 2];
          cls += `${a}-${b}`;
          if ((isLower(a) && isLower(b)) || (isUpper(a) && isUpper(b))) extra += `${swap(a)}-${swap(b)}`;
          i += 3;
          continue;
        }
        cls += a;
        if (isLower(a) || isUpper(a)) extra += swap(a);
        i++;
      }
      out += `${cls}${extra}]`;
      i++;
      continue;
    }
    if (isLower(c) || isUpper(c)) out += `[${c}${swap(c)}]`;
    else out += c;
    i++;
  }
  return out;
}

/** V8's linear engine replicates counted repetitions at most 16 times per atom. */
const MAX_COUNT = 16;

/**
 * Rewrites counted repetitions above 16 of atoms without capture groups into equivalent
 * sequences the linear engine accepts: `x{32}` → `x{16}x{16}`, `x{0,40}` → `x{0,16}x{0,16}x{0,8}`,
 * `x{20,}` → `x{16}x{4}x*`. Common patterns like `[0-9a-f]{32}` or `.{0,100}` stay usable.
 * Repetitions of capturing groups are left alone (duplicating a group would change the captures).
 */
export function expandCounts(p: string): string {
  let out = '';
  const groupStarts: Array<{ at: number; capturing: boolean }> = [];
  let lastAtom = -1; // index in `out` where the last atom starts
  let lastCapturing = false;
  let i = 0;
  const n = p.length;
  while (i < n) {
    const c = p[i];
    if (c === '\\') {
      const start = out.length;
      const nx = p[i + 1] ?? '';
      let len = 2;
      if (nx === 'x') len = 4;
      else if (nx === 'u') len = p[i + 2] === '{' ? p.indexOf('}', i) - i + 1 : 6;
      else if ((nx === 'p' || nx === 'P') && p[i + 2] === '{') len = p.indexOf('}', i) - i + 1;
      else if (nx === 'k' && p[i + 2] === '<') len = p.indexOf('>', i) - i + 1;
      else if (nx === 'c') len = 3;
      if (len <= 0) len = 2;
      out += p.slice(i, i + len);
      i += len;
      lastAtom = start;
      lastCapturing = false;
      continue;
    }
    if (c === '[') {
      const start = out.length;
      let e = i + 1;
      if (p[e] === '^') e++;
      if (p[e] === ']') e++;
      while (e < n && p[e] !== ']') e += p[e] === '\\' ? 2 : 1;
      out += p.slice(i, e + 1);
      i = e + 1;
      lastAtom = start;
      lastCapturing = false;
      continue;
    }
    if (c === '(') {
      const capturing = p[i + 1] !== '?' || (p[i + 2] === '<' && p[i + 3] !== '=' && p[i + 3] !== '!');
      groupStarts.push({ at: out.length, capturing });
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      const g = groupStarts.pop();
      out += c;
      i++;
      if (g !== undefined) {
        lastAtom = g.at;
        // a group containing a capturing group is itself not duplicable
        lastCapturing = g.capturing || /\((?!\?)|\(\?<(?![=!])/.test(out.slice(g.at + 1));
      }
      continue;
    }
    if (c === '{' && lastAtom >= 0) {
      const e = p.indexOf('}', i);
      const m = e > i ? /^\{(\d+)(,(\d*))?\}$/.exec(p.slice(i, e + 1)) : null;
      if (m !== null) {
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        const lazy = p[e + 1] === '?';
        if ((min > MAX_COUNT || (max > MAX_COUNT && max !== Infinity)) && !lastCapturing && max >= min) {
          const atom = out.slice(lastAtom);
          let rep = '';
          let need = min;
          while (need > 0) {
            const k = Math.min(MAX_COUNT, need);
            rep += `${atom}{${k}}`;
            need -= k;
          }
          if (max === Infinity) rep += `${atom}*`;
          else {
            let opt = max - min;
            while (opt > 0) {
              const k = Math.min(MAX_COUNT, opt);
              rep += `${atom}{0,${k}}${lazy ? '?' : ''}`;
              opt -= k;
            }
          }
          out = out.slice(0, lastAtom) + rep;
          i = e + 1 + (lazy ? 1 : 0);
          lastAtom = -1;
          continue;
        }
        out += p.slice(i, e + 1);
        i = e + 1;
        lastAtom = -1;
        continue;
      }
    }
    if (c === '|' || c === '^' || c === '$') lastAtom = -1;
    else if (c !== '*' && c !== '+' && c !== '?') {
      lastAtom = out.length;
      lastCapturing = false;
    } else lastAtom = -1;
    out += c;
    i++;
  }
  return out;
}
