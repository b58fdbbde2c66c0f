import t from 'tap';
import { escapeInvalidUtf8, JournalEntryDecoder, JournalEntryError } from '../../../src/sources/journald/entry.ts';

// Entries as `journalctl -o json --all` prints them (systemd 252; journalctl(1) "json": fields
// that are not valid UTF-8 or contain unprintable bytes are arrays of byte values, a field that
// occurs more than once is an array of its values).
const CURSOR = 's=69de4d8855494dba9270f27d95551f43;i=4;b=0123456789abcdef0123456789abcdef;m=f4243;t=6474846204bb8;x=a0f9d35cbb5fd173';

t.test('fields map into the record schema', async (t) => {
  const d = new JournalEntryDecoder(1024);
  const e = d.decode(JSON.stringify({ __CURSOR: CURSOR, __REALTIME_TIMESTAMP: '1767225600003042', MESSAGE: 'Failed password for root', PRIORITY: '3', SYSLOG_IDENTIFIER: 'sshd', _SYSTEMD_UNIT: 'ssh.service', _HOSTNAME: 'web1', _PID: '42', _BOOT_ID: 'b00t', _TRANSPORT: 'syslog', SYSLOG_FACILITY: '10', _COMM: 'sshd' }));
  t.equal(e.cursor, CURSOR);
  t.equal(e.text, 'Failed password for root');
  t.equal(e.timestamp, '2026-01-01T00:00:00.003042Z', '__REALTIME_TIMESTAMP is µs since the epoch');
  t.equal(e.hostname, 'web1');
  t.equal(e.unit, 'ssh.service');
  t.same(e.transport, { service: 'sshd', level: 'ERROR', metadata: { journal: { unit: 'ssh.service', pid: 42, boot_id: 'b00t', transport: 'syslog', facility: 10, comm: 'sshd' } } });
});

t.test('service falls back to the unit, then _COMM; PRIORITY maps like syslog severity', async (t) => {
  const d = new JournalEntryDecoder(1024);
  const svc = (o: Record<string, unknown>) => d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: 'm', ...o })).transport;
  t.equal(svc({ _SYSTEMD_UNIT: 'nginx.service', _COMM: 'nginx' }).service, 'nginx');
  t.equal(svc({ _SYSTEMD_UNIT: 'session-3.scope' }).service, 'session-3.scope');
  t.equal(svc({ _COMM: 'kworker' }).service, 'kworker');
  t.equal(svc({}).service, undefined, 'none: the source service applies');
  // RFC 5424 severities 0..7 (PRIORITY is the syslog severity, systemd.journal-fields(7)).
  t.same(['0', '2', '3', '4', '5', '6', '7'].map((p) => svc({ PRIORITY: p }).level), ['FATAL', 'FATAL', 'ERROR', 'WARN', 'INFO', 'INFO', 'DEBUG']);
  t.equal(svc({ PRIORITY: '9' }).level, undefined);
});

t.test('binary MESSAGE becomes text with invalid bytes escaped; repeated fields take the first value', async (t) => {
  const d = new JournalEntryDecoder(1024);
  const bytes = [...Buffer.from('bin '), 0xff, 0xfe, ...Buffer.from(' é \x1b[31m')];
  t.equal(d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: bytes })).text, 'bin \\xff\\xfe é \x1b[31m');
  t.equal(d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: [...Buffer.from('ok \x07')] })).text, 'ok \x07', 'valid UTF-8 with a control byte decodes as is');
  t.equal(d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: ['first', 'second'] })).text, 'first');
  t.equal(d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: null })).text, '');
  const long = d.decode(JSON.stringify({ __CURSOR: CURSOR, MESSAGE: 'x'.repeat(2000) }));
  t.equal(long.text.length, 1024);
  t.ok(long.truncated);
  for (const bad of ['Hint: you are not seeing messages', '{"MESSAGE":"no cursor"}', 'null']) {
    let err: unknown;
    try {
      d.decode(bad);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof JournalEntryError, `${bad}: JournalEntryError`);
  }
});

t.test('escapeInvalidUtf8 keeps every well-formed sequence (RFC 3629) and escapes the rest', async (t) => {
  const esc = (...b: number[]) => escapeInvalidUtf8(Uint8Array.from(b));
  t.equal(esc(0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80), 'Aé€😀');
  t.equal(esc(0xc0, 0xaf), '\\xc0\\xaf', 'overlong');
  t.equal(esc(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80', 'surrogate');
  t.equal(esc(0xe2, 0x82), '\\xe2\\x82', 'cut sequence');
  t.equal(esc(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80', 'above U+10FFFF');
});
