/** logfmt tokenizing, shared by the logfmt parser and the pipeline's extract stage. */

/**
 * Splits a logfmt line (`ts=... level=info msg="a \"quoted\" text" took=12ms flag`) into an
 * object: values are strings (quotes and `\"` `\\` `\n` `\t` escapes resolved), a bare key is
 * `true`. Returns undefined when the line holds no `key=value` pair at all.
 */
export function splitLogfmt(line: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let pairs = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    if (i >= n) break;
    const ks = i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c <= 32 || c === 61 /* = */ || c === 34 /* " */) break;
      i++;
    }
    if (i === ks) {
      // a stray quote or '=' where a key should start: not logfmt
      return undefined;
    }
    const key = line.slice(ks, i);
    if (line.charCodeAt(i) !== 61) {
      if (line.charCodeAt(i) === 34) return undefined;
      out[key] = true;
      continue;
    }
    i++; // '='
    if (line.charCodeAt(i) === 34) {
      i++;
      let s = i;
      let val = '';
      let closed = false;
      while (i < n) {
        const c = line.charCodeAt(i);
        if (c === 92 /* \ */ && i + 1 < n) {
          val += line.slice(s, i);
          const e = line[i + 1];
          val += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
          s = i;
          continue;
        }
        if (c === 34) {
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) return undefined;
      out[key] = val + line.slice(s, i);
      i++;
    } else {
      const vs = i;
      while (i < n && line.charCodeAt(i) > 32) i++;
      out[key] = line.slice(vs, i);
    }
    pairs++;
  }
  return pairs > 0 ? out : undefined;
}
