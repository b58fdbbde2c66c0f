/**
 * What the syslog parser reads besides the header: the severity sshd and other daemons write
 * as a message prefix (OpenSSH log.c: "error: ", "fatal: ", "warning: ", "debug1: "), the printk
 * level of kernel lines that carry only `<N>` (Linux Documentation/ABI/testing/dev-kmsg; `dmesg -r`),
 * and rsyslog's "message repeated N times: [ msg]" (rsyslog's RepeatedMsgReduction), which stands
 * for N lines.
 */
import t from 'tap';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';

const errors: string[] = [];
const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2024-03-01T12:00:00Z'), runtimeTimestamp: undefined, parseError: (p, r) => errors.push(`${p}:${r}`) };
const syslog = createParser('syslog', { timezone: 'UTC', client_error_level: 'WARN' });
const auto = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });

t.test('levels from message prefixes when there is no PRI', async (t) => {
  for (const parse of [syslog, auto]) {
    t.equal(parse('Dec 10 09:32:20 LabSZ sshd[24680]: error: maximum authentication attempts exceeded for root from 5.36.59.76 port 42393 ssh2 [preauth]', ctx).level, 'ERROR');
    t.equal(parse('Jan 15 10:00:00 h sshd[1]: fatal: Unable to negotiate with 198.51.100.1 port 22: no matching key exchange method found.', ctx).level, 'FATAL');
    t.equal(parse('Jan 15 10:00:00 h sshd[1]: warning: /etc/hosts.allow, line 3: host name/address mismatch', ctx).level, 'WARN');
    t.equal(parse('Jan 15 10:00:00 h sshd[1]: debug1: PAM: setting PAM_RHOST', ctx).level, 'DEBUG');
    t.equal(parse('Jan 15 10:00:00 h sshd[1]: Server listening on 0.0.0.0 port 22.', ctx).level, 'INFO');
    t.equal(parse('Jan 15 10:00:00 h app[1]: errors: none', ctx).level, 'INFO', 'only the exact prefix');
    // a PRI says it all: the prefix does not override it
    t.equal(parse('<38>Jan 15 10:00:00 h sshd[1]: error: x', ctx).level, 'INFO');
    t.equal(parse('<35>Jan 15 10:00:00 h sshd[1]: Failed password for root from 198.51.100.1 port 22 ssh2', ctx).level, 'ERROR');
  }
});

t.test('kernel lines with only a printk level', async (t) => {
  errors.length = 0;
  const r = auto('<3>[   12.345678] usb 1-1: device descriptor read/64, error -71', ctx);
  t.match(r, { level: 'ERROR', message: '[   12.345678] usb 1-1: device descriptor read/64, error -71', metadata: { facility: 'kern', severity: 3 } });
  t.equal(auto('<4>[    0.000000] ACPI: x', ctx).level, 'WARN');
  t.equal(auto('<6>Linux version 6.1.0', ctx).level, 'INFO');
  t.same(errors, [], 'not a parse failure');
  t.match(auto('<13>garbage', ctx), { message: '<13>garbage' }, 'a PRI above 7 is not a kernel level: the line stays whole');
});

t.test('"message repeated N times" stands for N lines; the message stays as written', async (t) => {
  const line = 'Dec 10 07:08:30 LabSZ sshd[24208]: message repeated 5 times: [ Failed password for root from 112.95.230.3 port 45378 ssh2]';
  const r = syslog(line, ctx);
  t.equal(r.metadata?.repeat_count, 5);
  t.equal(r.message, 'message repeated 5 times: [ Failed password for root from 112.95.230.3 port 45378 ssh2]');
  t.equal(syslog('<38>1 2024-01-15T10:00:00Z h sshd 1 - - message repeated 12 times: [ x]', ctx).metadata?.repeat_count, 12, 'RFC 5424');
  for (const m of ['message repeated  times: [ x]', 'message repeated 1 times: [ x]', 'message repeated 5 times', 'message repeated x times: [ y]']) {
    t.equal(syslog(`Jan 15 10:00:00 h app[1]: ${m}`, ctx).metadata?.repeat_count, undefined, m);
  }
});
