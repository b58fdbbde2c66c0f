import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../core/version.ts';
import { expandEnv } from './env.ts';

/**
 * The embedded default config (config/logship.yaml), parsed at build time so that a start with it
 * needs no YAML parse: the yaml library's first parse costs ~20 ms of interpreted, cold code
 * (the biggest single step of reading the default config; bench/RESULTS.md, "Start-up").
 *
 * `npm run build` (scripts/bundle.ts, with template-build.ts) writes CONFIG_TEMPLATE_FILE from
 * the file's text with each `${VAR}` expression replaced by a token (`__LOGSHIP_ENV_0__`, …),
 * parsed by the same YAML parser; every string value holding a token is a marker `{ "__logship_env__": "<text with tokens>", "plain":
 * <true for a plain (unquoted) scalar> }`. fromTemplate fills in what expandEnv gives each
 * expression, and answers only when the result is provably what parsing the expanded text gives:
 * the text is the template's own, byte for byte; every value is made of characters that mean
 * nothing to YAML inside a scalar; and a plain scalar still reads as a string (not a number,
 * boolean or null, which the YAML 1.2 core schema would make of `9711`, `true` or `~`). Anything
 * else (another file, an edited default, `LOGSHIP_LISTEN=[::]:9711`) goes through the YAML parser
 * as before. test/config/preparsed.test.ts compares both ways for a range of environments.
 */
export const CONFIG_TEMPLATE_FILE = join(PACKAGE_ROOT, 'dist', 'bundle', 'default-config.json');

export interface ConfigTemplate {
  version: 1;
  /** The YAML text the template was built from. */
  source: string;
  /** The `${…}` expressions, in token order. */
  vars: string[];
  /** The parsed document, with markers where a token is. */
  value: unknown;
}

export const ENV_MARK = '__logship_env__';
export const TOKEN_PREFIX = '__LOGSHIP_ENV_';
const TOKEN = /__LOGSHIP_ENV_(\d+)__/g;

/** Characters that mean nothing to YAML inside a plain, single- or double-quoted scalar of one line. */
const INERT = /^[A-Za-z0-9_./:-]*$/;
/** What a plain scalar may start with and still be a plain string (no indicator: `-`, `:`, `[`, `&`, …). */
const PLAIN_START = /^[A-Za-z0-9_./]/;
/** The YAML 1.2 core schema's non-string scalars (the yaml library's own tests): null, bool, int, float. */
const NOT_A_STRING = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

/** The parsed config for `text` from the template, or undefined when only the YAML parser can say. */
export function fromTemplate(template: ConfigTemplate, text: string, env: NodeJS.ProcessEnv): unknown {
  if (template.version !== 1 || template.source !== text) return undefined;
  const values: string[] = [];
  for (const expr of template.vars) {
    let v: string;
    try {
      v = expandEnv(expr, env);
    } catch {
      return undefined; // the YAML path reports it, with its line
    }
    if (!INERT.test(v)) return undefined;
    values.push(v);
  }
  return fill(template.value, values);
}

/** The template's value with its markers filled in (in place: the template is a fresh JSON.parse), or undefined. */
function fill(node: unknown, values: string[]): unknown {
  if (node === null || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (typeof o[ENV_MARK] === 'string') {
    const s = (o[ENV_MARK] as string).replace(TOKEN, (_, i: string) => values[Number(i)]);
    if (o.plain === true && (!PLAIN_START.test(s) || NOT_A_STRING.some((re) => re.test(s)))) return undefined;
    return s;
  }
  for (const key of Object.keys(o)) {
    const v = fill(o[key], values);
    if (v === undefined) return undefined;
    o[key] = v;
  }
  return o;
}

/** The build's template, if there is one (a checkout run from its sources before `npm run build` has none). */
export function readConfigTemplate(file = CONFIG_TEMPLATE_FILE): ConfigTemplate | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigTemplate;
  } catch {
    return undefined;
  }
}
