/**
 * Parses a stream's label string the way Loki's distributor does (syntax.ParseLabels →
 * Prometheus' metric parser): `{name="value", ...}` with Go string literals ("…", '…' or `…`),
 * optional whitespace and trailing comma; then sorted by name, with empty values removed
 * (Loki normalizes early: an empty value means an absent label). Written independently of the
 * sink's label formatting so the tests check one against the other.
 */
export class LabelParseError extends Error {}

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;

export function parseLabelString(input: string): Array<[string, string]> {
  let i = 0;
  const n = input.length;
  const fail = (msg: string): never => {
    throw new LabelParseError(`1:${i + 1}: parse error: ${msg}`);
  };
  const ws = () => {
    while (i < n && (input[i] === ' ' || input[i] === '\t' || input[i] === '\n' || input[i] === '\r')) i++;
  };
  ws();
  if (input[i] !== '{') fail(`unexpected ${i < n ? JSON.stringify(input[i]) : 'end of input'}, expected "{"`);
  i++;
  const pairs: Array<[string, string]> = [];
  for (;;) {
    ws();
    if (input[i] === '}') {
      i++;
      break;
    }
    if (i >= n) fail('unexpected end of input inside braces');
    if (!NAME_START.test(input[i])) fail(`unexpected character inside braces: ${JSON.stringify(input[i])}`);
    const start = i;
    while (i < n && NAME_CHAR.test(input[i])) i++;
    const name = input.slice(start, i);
    ws();
    if (input[i] !== '=') fail(`unexpected ${i < n ? JSON.stringify(input[i]) : 'end of input'} in label matching, expected "="`);
    i++;
    if (input[i] === '~' || input[i] === '!') fail('only equality matchers are allowed in a stream\'s labels');
    ws();
    const q = input[i];
    if (q !== '"' && q !== "'" && q !== '`') fail(`unexpected ${i < n ? JSON.stringify(input[i]) : 'end of input'} in label matching, expected string`);
    i++;
    let value = '';
    if (q === '`') {
      const end = input.indexOf('`', i);
      if (end < 0) fail('unterminated raw string');
      value = input.slice(i, end);
      i = end + 1;
    } else {
      for (;;) {
        if (i >= n) fail('unterminated quoted string');
        const c = input[i];
        if (c === q) {
          i++;
          break;
        }
        if (c === '\n') fail('newline in string');
        if (c !== '\\') {
          value += c;
          i++;
          continue;
        }
        i++;
        const e = input[i++];
        switch (e) {
          case 'a': value += '\x07'; break;
          case 'b': value += '\b'; break;
          case 'f': value += '\f'; break;
          case 'n': value += '\n'; break;
          case 'r': value += '\r'; break;
          case 't': value += '\t'; break;
          case 'v': value += '\v'; break;
          case '\\': value += '\\'; break;
          case '"': if (q !== '"') fail('invalid escape \\"'); value += '"'; break;
          case "'": if (q !== "'") fail("invalid escape \\'"); value += "'"; break;
          case 'x': value += String.fromCharCode(hex(input.slice(i, i + 2), 2, fail)); i += 2; break;
          case 'u': value += String.fromCodePoint(unicode(input.slice(i, i + 4), 4, fail)); i += 4; break;
          case 'U': value += String.fromCodePoint(unicode(input.slice(i, i + 8), 8, fail)); i += 8; break;
          default:
            if (e !== undefined && e >= '0' && e <= '7') {
              const oct = input.slice(i - 1, i + 2);
              if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) fail('invalid octal escape');
              value += String.fromCharCode(parseInt(oct, 8));
              i += 2;
            } else fail(`unknown escape sequence \\${e ?? ''}`);
        }
      }
    }
    pairs.push([name, value]);
    ws();
    if (input[i] === ',') {
      i++;
      continue;
    }
    ws();
    if (input[i] === '}') {
      i++;
      break;
    }
    fail(`unexpected ${i < n ? JSON.stringify(input[i]) : 'end of input'} in label set, expected "," or "}"`);
  }
  ws();
  if (i !== n) fail(`unexpected ${JSON.stringify(input[i])} after the label set`);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.filter((p) => p[1] !== '');
}

function hex(s: string, len: number, fail: (m: string) => never): number {
  if (s.length !== len || !/^[0-9a-fA-F]+$/.test(s)) fail('invalid hex escape');
  return parseInt(s, 16);
}

function unicode(s: string, len: number, fail: (m: string) => never): number {
  const cp = hex(s, len, fail);
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('invalid Unicode code point in escape');
  return cp;
}

/** Prometheus' `labels.String()`: the canonical form Loki stores a stream under. */
export function canonicalLabels(pairs: Array<[string, string]>): string {
  return `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}
