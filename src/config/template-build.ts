import { isDeepStrictEqual } from 'node:util';
import { parseDocument, visit, type Scalar } from 'yaml';
import { expandEnv } from './env.ts';
import { ENV_MARK, fromTemplate, TOKEN_PREFIX, type ConfigTemplate } from './preparsed.ts';

/** The `${VAR}` and `${VAR:-default}` expressions expandEnv expands (a `$${` escape is refused below). */
const ENV_EXPR = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/g;
const HAS_TOKEN = new RegExp(`${TOKEN_PREFIX}\\d+__`);

/**
 * The template src/config/preparsed.ts fills in at run time (`npm run build` writes it for
 * config/logship.yaml), or why there is none: the text uses something the template does not
 * stand for (an escaped `$${`, a token inside a key, a block scalar, a backslash before an
 * expression), or filling it in without any variable set does not give what the YAML parser
 * gives. Then the default config is parsed as YAML at every start, as any other file is.
 */
export function buildConfigTemplate(source: string): ConfigTemplate | { refused: string } {
  if (source.includes(TOKEN_PREFIX) || source.includes(ENV_MARK)) return { refused: `the text holds ${TOKEN_PREFIX} or ${ENV_MARK}` };
  if (source.includes('$${')) return { refused: 'an escaped $${' };
  if (/\\\$\{/.test(source)) return { refused: 'a backslash before ${' };
  const vars: string[] = [];
  const tokenized = source.replace(ENV_EXPR, (expr) => `${TOKEN_PREFIX}${vars.push(expr) - 1}__`);
  const doc = parseDocument(tokenized, { prettyErrors: true });
  if (doc.errors.length > 0) return { refused: `YAML: ${doc.errors[0].message}` };
  let refused = '';
  const plainness = new Map<string, boolean>();
  visit(doc, {
    Scalar(key, node: Scalar) {
      if (typeof node.value !== 'string' || !HAS_TOKEN.test(node.value)) return;
      if (key === 'key') refused ||= `an expression in the key ${JSON.stringify(node.value)}`;
      const plain = node.type === 'PLAIN';
      if (!plain && node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE') refused ||= `an expression in a ${String(node.type)} scalar`;
      if (plainness.get(node.value) === !plain) refused ||= `${JSON.stringify(node.value)} both plain and quoted`;
      plainness.set(node.value, plain);
    },
  });
  if (refused) return { refused };
  const value = mark(doc.toJS() ?? {}, plainness);
  const template: ConfigTemplate = { version: 1, source, vars, value };
  // Filled in with no variable set, it must give exactly what the YAML parser gives.
  const filled = fromTemplate(JSON.parse(JSON.stringify(template)) as ConfigTemplate, source, {});
  let expanded: string;
  try {
    expanded = expandEnv(source, {});
  } catch (e) {
    return { refused: (e as Error).message };
  }
  const parsed = parseDocument(expanded, { prettyErrors: true }).toJS() ?? {};
  if (!isDeepStrictEqual(filled, parsed) || JSON.stringify(filled) !== JSON.stringify(parsed)) {
    return { refused: 'filled in without variables, it differs from the YAML parse' };
  }
  return template;
}

/** The parsed value with every string holding a token turned into a marker. */
function mark(node: unknown, plainness: Map<string, boolean>): unknown {
  if (typeof node === 'string') return HAS_TOKEN.test(node) ? { [ENV_MARK]: node, plain: plainness.get(node) ?? true } : node;
  if (Array.isArray(node)) return node.map((v) => mark(v, plainness));
  if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mark(v, plainness)]));
  return node;
}
