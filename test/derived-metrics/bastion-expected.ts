/**
 * The hand-counted expectations of test/fixtures/auth/bastion-auth.log (see auth-counting.test.ts
 * for the formats each line was written from), shared by the in-process and the live-daemon tests.
 */
import { join } from 'node:path';

export const BASTION_LOG = join(import.meta.dirname, '..', 'fixtures', 'auth', 'bastion-auth.log');
/** Hand-counted from bastion-auth.log (line numbers 1-based). */
export const BASTION_EXPECTED = {
  // lines 4, 5, 8, 25 and 26 (× 5, "message repeated 5 times")
  sshdFailures: 9,
  // 15 su, 17 + 18 sudo, 20 login, 22 vsftpd (PAM is the verdict there), 23 klogind
  otherFailures: { su: 1, sudo: 2, login: 1, vsftpd: 1, klogind: 1 },
  // 1, 2, 3, 6, 7, 9, 10, 11, 12, 24, 27, 28, 29 (sshd); 16 (su); 19 (sudo); 21 (login)
  context: { sshd: 13, su: 1, sudo: 1, login: 1 },
  // 203.0.113.50: 4, 5, 22 (::ffff:203.0.113.50), 23; 2001:db8::25: 8; 198.51.100.77: 25, 26 × 5
  sources: { '203.0.113.50': 4, '2001:db8::25': 1, '198.51.100.77': 6 },
  // su/sudo/login: local, no IP; klogind names no user
  users: { oracle: 2, admin: 1, root: 7, bob: 2, carol: 1, dave: 1, '': 1 },
} as const;

