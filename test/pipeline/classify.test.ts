import t from 'tap';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { BUILTIN_RULES, builtinRule, ClassifyStage, classificationConfigSchema, classifyStageSchema, ruleSchema } from '../../src/pipeline/classify.ts';
import { NO_ACK, type LogRecord } from '../../src/core/record.ts';
import { SECURITY_ACTIONS as S, THREAT_KINDS } from '../../src/core/events.ts';

const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2024-01-15T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
const auto = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });
const stage = new ClassifyStage(classificationConfigSchema.parse({}));

function classify(line: string, st = stage): LogRecord {
  return st.process({ record: auto(line, ctx), labels: {}, ack: NO_ACK, size: line.length }).record;
}
const pick = (r: LogRecord) => ({ event_type: r.event_type, action: r.action, threat: r.metadata?.threat, user_id: r.user_id, ip_address: r.ip_address });
const access = (path: string, status: number, ua = 'Mozilla/5.0') => `198.51.100.7 - - [15/Jan/2024:10:00:00 +0000] "GET ${path} HTTP/1.1" ${status} 10 "-" "${ua}"`;

t.test('logins: app events, sshd, PAM, HTTP on auth routes', async (t) => {
  t.match(pick(classify('{"level":"WARN","event_type":"security","action":"failed_login","user_id":"user123","ip_address":"192.168.1.100"}')), { event_type: 'security', action: S.failedLogin, user_id: 'user123' });
  t.match(pick(classify('{"level":"WARN","action":"login_failed","user_id":"u1"}')), { event_type: 'security', action: S.failedLogin }, 'alias normalized');
  t.match(pick(classify('{"level":"WARN","event_type":"security","action":"LOGIN_SUCCESS"}')), { action: S.successfulLogin });
  t.match(pick(classify('{"timestamp":"2024-01-15T10:00:00.000Z","level":"INFO","service":"cf1-frontend","message":"User logged in","userId":"user123"}')), { event_type: 'security', action: S.successfulLogin }, 'seed CF1 line');
  t.match(pick(classify('{"level":"WARN","message":"authentication failed for user bob"}')), { action: S.failedLogin });
  t.match(pick(classify('{"level":"INFO","message":"User not logged in, redirecting"}')), { event_type: undefined });
  t.same(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: Failed password for invalid user admin from 203.0.113.5 port 52214 ssh2')), { event_type: 'security', action: S.failedLogin, threat: undefined, user_id: 'admin', ip_address: '203.0.113.5' });
  t.same(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: Failed password for root from 2001:db8::1 port 22 ssh2')), { event_type: 'security', action: S.failedLogin, threat: undefined, user_id: 'root', ip_address: '2001:db8::1' });
  // context of an attempt whose verdict sshd writes separately (README "What counts as a failed authentication")
  t.same(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: Invalid user oracle from 203.0.113.9 port 4242')), { event_type: 'security', action: S.authContext, threat: undefined, user_id: 'oracle', ip_address: '203.0.113.9' });
  t.match(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=root')), { action: S.authContext, ip_address: '198.51.100.23', user_id: 'root' });
  t.same(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: Accepted publickey for deploy from 10.0.0.2 port 50000 ssh2')), { event_type: 'security', action: S.successfulLogin, threat: undefined, user_id: 'deploy', ip_address: '10.0.0.2' });
  t.match(pick(classify(access('/api/v1/auth/login', 401))), { event_type: 'security', action: S.failedLogin, ip_address: '198.51.100.7' });
  t.match(pick(classify(access('/login?next=/x', 403))), { action: S.failedLogin });
  t.match(pick(classify(access('/api/orders', 401))), { action: S.unauthorized });
  t.match(pick(classify(access('/api/orders', 403))), { action: S.accessDenied });
  t.match(pick(classify(access('/api/orders', 429))), { action: S.rateLimited });
  t.match(pick(classify(access('/api/orders', 200))), { event_type: undefined, action: undefined });
  t.match(pick(classify('{"level":"WARN","message":"Rate limit exceeded for client 1.2.3.4"}')), { action: S.rateLimited });
  t.match(pick(classify('{"level":"WARN","message":"Access denied to /admin"}')), { action: S.accessDenied });
  t.match(pick(classify('{"level":"WARN","message":"File upload rejected: bad mime type"}')), { action: S.uploadRejected });
});

t.test('suspicious requests carry metadata.threat from the contract', async (t) => {
  const cases: Array<[string, string]> = [
    [access('/api/search?q=1%27%20OR%201%3D1--', 200), 'sqli'],
    [access('/items?id=1+UNION+SELECT+username,password+FROM+users', 500), 'sqli'],
    [access("/p?id=1'%20and%20sleep(5)--", 200), 'sqli'],
    [access('/../../etc/passwd', 400), 'traversal'],
    [access('/static/..%2f..%2f..%2fetc/shadow', 404), 'traversal'],
    [access('/search?q=%3Cscript%3Ealert(1)%3C/script%3E', 200), 'xss'],
    [access('/ping?host=127.0.0.1;cat%20flag.txt', 200), 'command_injection'],
    [access('/', 404, 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)'), 'scanner'],
    [access('/wp-login.php', 404, 'sqlmap/1.7.2#stable (https://sqlmap.org)'), 'scanner'],
  ];
  for (const [line, threat] of cases) {
    const r = pick(classify(line));
    t.same([r.event_type, r.action, r.threat], ['security', S.suspiciousRequest, threat], line);
    t.ok((THREAT_KINDS as readonly string[]).includes(threat));
  }
  t.match(pick(classify(access('/api/users?name=O%27Brien&sort=asc', 200))), { event_type: undefined }, 'an apostrophe alone is not an injection');
  t.match(pick(classify(access('/docs/select-from-list', 200))), { event_type: undefined });
});

t.test('slow operations become performance events over the configurable threshold', async (t) => {
  const slow = classify('10.0.0.2 - - [15/Jan/2024:10:00:02 +0000] "GET /api/reports?year=2023 HTTP/2.0" 200 48213 "-" "Go" 6.214 6.210');
  t.same([slow.event_type, slow.action, slow.duration, slow.metadata?.threshold, slow.metadata?.operation], ['performance', 'slow_operation', 6.214, 5, 'GET /api/reports']);
  const fast = classify('10.0.0.2 - - [15/Jan/2024:10:00:02 +0000] "GET /api/reports HTTP/2.0" 200 48213 "-" "Go" 0.214 0.210');
  t.equal(fast.event_type, undefined);
  const seed = classify('{"level":"WARN","event_type":"performance","operation":"document_processing","duration":30.5,"threshold":10.0}');
  t.same([seed.event_type, seed.action, seed.metadata?.operation, seed.metadata?.threshold], ['performance', 'slow_operation', 'document_processing', 10], 'the app event keeps its own threshold');
  const ms = classify('{"level":"INFO","msg":"request completed","responseTime":2500,"req":{"method":"POST","url":"/api/pay"}}', new ClassifyStage(classificationConfigSchema.parse({ slow_threshold: '2s' })));
  t.same([ms.event_type, ms.duration, ms.metadata?.threshold, ms.metadata?.operation], ['performance', 2.5, 2, 'POST /api/pay']);
  const business = classify('{"level":"INFO","event_type":"business","action":"subscription_upgrade","duration":99}');
  t.same([business.event_type, business.action], ['business', 'subscription_upgrade'], 'another event type is never replaced');
});

t.test('rules are data: user rules from config run first, built-ins can be switched off', async (t) => {
  const cfg = classifyStageSchema.parse({
    type: 'classify',
    rules: [
      { name: 'admin_area', when: { 'http.path': { matches: '^/admin' }, 'http.status_code': { in: [200, 204] } }, set: { event_type: 'audit', action: 'admin_access' } },
      { name: 'payments_failed', when: { message: { contains: 'payment declined' } }, set: { event_type: 'business', action: 'payment_failed' }, extract: { pattern: 'user (?<user_id>\\w+)' } },
      { name: 'upload_guard', when: { 'metadata.mime': { in: ['application/x-msdownload'] } }, set: { event_type: 'security', action: 'upload_rejected' } },
    ],
  });
  const st = new ClassifyStage(cfg);
  t.match(pick(classify(access('/admin/users', 200), st)), { event_type: 'audit', action: 'admin_access' });
  t.match(pick(classify('{"level":"WARN","message":"Payment declined for user bob42"}', st)), { event_type: 'business', action: 'payment_failed', user_id: 'bob42' });
  t.match(pick(classify('{"level":"WARN","message":"upload","mime":"application/x-msdownload"}', st)), { event_type: 'security', action: 'upload_rejected' });
  t.match(pick(classify(access('/api', 429), st)), { action: S.rateLimited }, 'built-ins still apply');
  const only = new ClassifyStage(classifyStageSchema.parse({ type: 'classify', builtin_rules: false }));
  t.match(pick(classify(access('/api', 429), only)), { event_type: undefined });
  t.throws(() => classifyStageSchema.parse({ type: 'classify', rules: [{ name: 'x', when: {}, set: { event_type: 'security' } }] }));
  t.throws(() => classifyStageSchema.parse({ type: 'classify', rules: [{ name: 'x', when: { message: {} }, set: { event_type: 'security' } }] }));
});

/**
 * One test per built-in authentication rule (README "Derived metrics" › "What counts as a failed
 * authentication"). Line shapes: OpenSSH auth.c / auth2.c / packet.c log strings, Linux-PAM
 * pam_unix support.c, sudo, util-linux su, shadow login, vsftpd, and the Loghub samples
 * (logpai/loghub: OpenSSH/OpenSSH_2k.log "LabSZ" lines, Linux/Linux_2k.log "combo" lines).
 */
t.test('authentication rules: verdicts count, context does not; users and IPs', async (t) => {
  const cases: Array<[string, string, Partial<ReturnType<typeof pick>> & { remote_host?: string }]> = [
    // sshd_failed_login, every method auth_log() names
    ['Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2', 'sshd_failed_login', { action: S.failedLogin, user_id: 'webmaster', ip_address: '173.234.31.186' }],
    ['Jan 15 10:00:00 h sshd[1]: Failed publickey for git from 198.51.100.1 port 2 ssh2: RSA SHA256:abc', 'sshd_failed_login', { action: S.failedLogin, user_id: 'git', ip_address: '198.51.100.1' }],
    ['Jan 15 10:00:00 h sshd[1]: Failed keyboard-interactive/pam for invalid user pi from 198.51.100.2 port 3 ssh2', 'sshd_failed_login', { action: S.failedLogin, user_id: 'pi', ip_address: '198.51.100.2' }],
    ['Jan 15 10:00:00 h sshd[1]: Failed password for invalid user  from 198.51.100.3 port 4 ssh2', 'empty user name: user_id stays empty', { action: S.failedLogin, user_id: undefined, ip_address: '198.51.100.3' }],
    ['Jan 15 10:00:00 h sshd[1]: Failed password for invalid user user from 198.51.100.4 port 5 ssh2', 'a user called "user"', { action: S.failedLogin, user_id: 'user', ip_address: '198.51.100.4' }],
    // sshd context
    ['Jan 15 10:00:00 h sshd[1]: Failed none for invalid user test from 192.0.2.44 port 33000 ssh2', 'sshd_none_method', { action: S.authContext, user_id: 'test', ip_address: '192.0.2.44' }],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186', 'sshd_invalid_user (OpenSSH < 7.5: no port)', { action: S.authContext, user_id: 'webmaster', ip_address: '173.234.31.186' }],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]', 'sshd_invalid_user (input_userauth_request)', { action: S.authContext, user_id: 'webmaster', ip_address: undefined }],
    ['Jan 15 10:00:00 h sshd[1]: User root from 198.51.100.8 not allowed because not listed in AllowUsers', 'sshd_user_not_allowed', { action: S.authContext, user_id: 'root', ip_address: '198.51.100.8' }],
    ['Dec 10 09:32:20 LabSZ sshd[24680]: error: maximum authentication attempts exceeded for root from 5.36.59.76 port 42393 ssh2 [preauth]', 'sshd_attempt_summary', { action: S.authContext, user_id: 'root', ip_address: '5.36.59.76' }],
    ['Jan 15 10:00:00 h sshd[1]: Connection closed by authenticating user root 203.0.113.7 port 4242 [preauth]', 'sshd_authenticating_user', { action: S.authContext, user_id: 'root', ip_address: '203.0.113.7' }],
    ['Dec 10 09:32:20 LabSZ sshd[24680]: Disconnecting: Too many authentication failures [preauth]', 'auth_failure_summary (sshd)', { action: S.authContext, user_id: undefined, ip_address: undefined }],
    ['Jan 15 10:00:00 h sshd[1]: Disconnecting: Too many authentication failures for root [preauth]', 'auth_failure_summary (OpenSSH < 7.4 names the user)', { action: S.authContext, user_id: 'root', ip_address: undefined }],
    ['Dec 10 09:32:20 LabSZ sshd[24680]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76  user=root', 'auth_failure_summary (PAM)', { action: S.authContext, user_id: 'root', ip_address: '5.36.59.76' }],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): check pass; user unknown', 'auth_failure_summary (check pass)', { action: S.authContext }],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186 ', 'sshd_pam_context, no user=', { action: S.authContext, user_id: undefined, ip_address: '173.234.31.186' }],
    ['Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root', 'sshd_legacy_pam_context: a host name is no IP', { action: S.authContext, user_id: 'root', ip_address: undefined, remote_host: '220-135-151-1.hinet-ip.hinet.net' }],
    // PAM verdicts for other programs, key=value in any order, single or double spaces
    ['Jan 15 10:00:00 h su: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/1 ruser=alice rhost=  user=root', 'pam_failed_login (su; empty rhost)', { action: S.failedLogin, user_id: 'root', ip_address: undefined }],
    ['Jan 15 10:00:00 h vsftpd[9]: pam_sss(vsftpd:auth): authentication failure; user=dave logname= uid=0 euid=0 tty=ftp ruser=dave rhost=::ffff:203.0.113.50', 'pam_failed_login (user= before rhost=, IPv4-mapped)', { action: S.failedLogin, user_id: 'dave', ip_address: '203.0.113.50' }],
    ['Jan 15 10:00:00 h dovecot: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=eve rhost=2001:db8::7 user=eve', 'pam_failed_login (single space, IPv6)', { action: S.failedLogin, user_id: 'eve', ip_address: '2001:db8::7' }],
    ['Jan 15 10:00:00 h su: FAILED SU (to root) alice on pts/1', 'auth_failure_summary (su)', { action: S.authContext }],
    ['Jan 15 10:00:00 h login[812]: FAILED LOGIN (1) on \'/dev/tty1\' FOR \'carol\', Authentication failure', 'auth_failure_summary (login)', { action: S.authContext }],
    ['Jan 15 10:00:00 h sudo:      bob : 3 incorrect password attempts ; TTY=pts/2 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls', 'auth_failure_summary (sudo)', { action: S.authContext, user_id: 'bob' }],
    // other daemons
    ['Jun 17 19:43:13 combo klogind[2143]: Authentication failed from 163.27.187.39 (163.27.187.39): Permission denied in replay cache code', 'remote_auth_failed', { action: S.failedLogin, user_id: undefined, ip_address: '163.27.187.39' }],
    ['Mon Jan 15 10:00:00 2024 [pid 4242] [mallory] FAIL LOGIN: Client "::ffff:198.51.100.9"', 'ftp_failed_login (vsftpd log)', { action: S.failedLogin, user_id: 'mallory', ip_address: '198.51.100.9' }],
    ['Jan 15 10:00:00 h sshd[1]: Accepted password for deploy from 192.0.2.10 port 51000 ssh2', 'sshd_successful_login', { action: S.successfulLogin, user_id: 'deploy', ip_address: '192.0.2.10' }],
  ];
  for (const [line, rule, want] of cases) {
    const r = classify(line);
    const { remote_host, ...fields } = want;
    t.match({ ...pick(r), user_id: r.user_id, ip_address: r.ip_address }, fields, rule);
    t.equal(r.metadata?.remote_host, remote_host, `${rule}: remote_host`);
    if (!('user_id' in want)) continue;
    t.equal(r.user_id, want.user_id, `${rule}: user_id`);
    if ('ip_address' in want) t.equal(r.ip_address, want.ip_address, `${rule}: ip_address`);
  }
});

t.test('a user rule with extract: repeat finds key=value pairs in any order', async (t) => {
  const st = new ClassifyStage(classificationConfigSchema.parse({ builtin_rules: false, rules: [{ name: 'kv', when: { message: { contains: 'denied' } }, set: { event_type: 'security', action: 'access_denied' }, extract: { pattern: '\\b(?:who=(?<user_id>\\w+)|from=(?<ip_address>\\S+))', repeat: true } }] }));
  t.match(pick(classify('denied from=198.51.100.1 who=zoe', st)), { user_id: 'zoe', ip_address: '198.51.100.1' });
  t.match(pick(classify('denied who=zoe from=gw.example.org', st)), { user_id: 'zoe', ip_address: undefined });
});

t.test('the built-in rules, built without zod, are what ruleSchema parses them to', async (t) => {
  // Regexes compared by source and flags (compileUserRegex's case folding, `g` for repeat).
  const plain = (r: unknown) => JSON.parse(JSON.stringify(r, (_k, v: unknown) => (v instanceof RegExp ? `/${v.source}/${v.flags}` : v)));
  for (const r of BUILTIN_RULES) t.same(plain(builtinRule(r)), plain(ruleSchema.parse(r)), r.name);
  t.ok(BUILTIN_RULES.some((r) => r.extract?.repeat === true) && BUILTIN_RULES.some((r) => r.when['http.path']?.matches !== undefined), 'covers repeat extracts and matches');
});
