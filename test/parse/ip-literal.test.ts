/**
 * `ip_address` only ever holds an IPv4/IPv6 literal (README "What counts as a failed
 * authentication" › "Sources are IPs"): what ipLiteral admits, and what the parsers do with a
 * host name where an address was expected (apache `%h` with HostnameLookups On, as in the public
 * `lj1025.inktomisearch.com - - [07/Mar/2004:...]` access-log sample; a JSON app's `ip` field).
 */
import t from 'tap';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { ipLiteral } from '../../src/parse/ip-literal.ts';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';

t.test('ipLiteral: IPv4 and IPv6 literals only; IPv4-mapped IPv6 as IPv4', async (t) => {
  for (const ip of ['203.0.113.5', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::1', 'fe80::1:2:3:4']) t.equal(ipLiteral(ip), ip, ip);
  t.equal(ipLiteral('::ffff:203.0.113.50'), '203.0.113.50');
  t.equal(ipLiteral('::FFFF:198.51.100.9'), '198.51.100.9');
  for (const no of ['', '-', 'localhost', 'scanner.example.net', '220-135-151-1.hinet-ip.hinet.net', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.1234', '1..2.3', '1.2.3.4 ', '[2001:db8::1]', 'unknown']) t.equal(ipLiteral(no), undefined, JSON.stringify(no));
  fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }), fc.domain()), (s) => {
    const got = ipLiteral(s);
    if (got !== undefined && isIP(got) === 0) throw new Error(`${s} → ${got}`);
    if (isIP(s) !== 0 && got === undefined) throw new Error(`${s} refused`);
  }), { numRuns: 20_000 });
});

t.test('a host name where the address goes is kept, but never as ip_address', async (t) => {
  const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'web', readTime: Date.parse('2024-01-01T00:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
  const opts = { timezone: 'UTC', client_error_level: 'WARN' as const };
  const a = createParser('apache', opts)('lj1025.inktomisearch.com - - [07/Mar/2004:17:18:36 -0800] "GET /twiki/bin/oops/Know/WinterSessionID?template=oopsmore HTTP/1.0" 200 2765', ctx);
  t.equal(a.ip_address, undefined);
  t.equal(a.metadata?.remote_host, 'lj1025.inktomisearch.com');
  t.equal(a.http?.status_code, 200);
  t.equal(createParser('nginx', opts)('64.242.88.10 - - [07/Mar/2004:16:05:49 -0800] "GET / HTTP/1.1" 401 12846', ctx).ip_address, '64.242.88.10');
  const j = createParser('json', opts)('{"message":"login","ip":"gw.example.org"}', ctx);
  t.equal(j.ip_address, undefined);
  t.equal(j.metadata?.ip, 'gw.example.org', 'stays under its own key');
  t.equal(createParser('json', opts)('{"message":"login","client_ip":"::ffff:192.0.2.7"}', ctx).ip_address, '192.0.2.7');
});
