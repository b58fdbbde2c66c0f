import { isIP } from 'node:net';

/**
 * `s` as an IP literal, or undefined for anything else (a host name, `-`, garbage): what
 * `ip_address` may hold. IPv4 dotted quads are checked by hand (every access-log line has one);
 * IPv6 by node:net. An IPv4-mapped `::ffff:a.b.c.d` comes out as the IPv4 address, so one client
 * is one brute-force source whichever socket family logged it.
 */
export function ipLiteral(s: string): string | undefined {
  const n = s.length;
  if (n >= 7 && n <= 15 && isDottedQuad(s)) return s;
  if (n < 2 || n > 64 || s.indexOf(':') < 0 || isIP(s) !== 6) return undefined;
  if (n > 7 && (s.charCodeAt(2) === 102 || s.charCodeAt(2) === 70) && /^::ffff:/i.test(s) && isDottedQuad(s.slice(7))) return s.slice(7);
  return s;
}

/** `a.b.c.d` with each part 0..255 in 1–3 digits. */
function isDottedQuad(s: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3) return false;
    } else if (c === 46) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else return false;
  }
  return parts === 4;
}
