/** Path segments kept in a templated route; deeper paths end in `/...`. */
const MAX_SEGMENTS = 8;

/**
 * A metric-safe route from a request path: query and fragment dropped, identifier segments
 * replaced by `:id` (`/users/123/orders/9f1c...` → `/users/:id/orders/:id`). An identifier is a
 * segment of digits, a UUID, a hex string of 8+ characters with a digit, or a 20+ character
 * token with a digit. Readable segments (`v2`, `health`, `user-settings`) stay. Returns the input
 * itself when nothing changes, so common paths cost no allocation beyond the scan.
 */
export function templateRoute(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  if (end === 0) return '/';
  let out: string | null = null;
  let segStart = 0;
  let segments = 0;
  let copied = 0; // chars of `path` already reflected in `out`
  while (segStart <= end) {
    let segEnd = path.indexOf('/', segStart);
    if (segEnd < 0 || segEnd > end) segEnd = end;
    if (segEnd > segStart) {
      segments++;
      if (segments > MAX_SEGMENTS) {
        out = (out ?? '') + path.slice(copied, segStart) + '...';
        return out;
      }
      if (isIdentifier(path, segStart, segEnd)) {
        out = (out ?? '') + path.slice(copied, segStart) + ':id';
        copied = segEnd;
      }
    }
    segStart = segEnd + 1;
  }
  if (out === null) return end === path.length ? path : path.slice(0, end);
  return out + path.slice(copied, end);
}

function isIdentifier(s: string, start: number, end: number): boolean {
  const len = end - start;
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  let tokenChars = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) { digits++; hex++; tokenChars++; }
    else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) { hex++; tokenChars++; }
    else if ((c >= 103 && c <= 122) || (c >= 71 && c <= 90) || c === 95) tokenChars++;
    else if (c === 45) { dashes++; tokenChars++; }
    else return false;
  }
  if (digits === len) return true;
  if (digits === 0) return false;
  // UUID 8-4-4-4-12
  if (len === 36 && dashes === 4 && hex === 32) return true;
  if (hex === len && len >= 8) return true;
  return len >= 20 && tokenChars === len;
}
