import t from 'tap';
import { createParser } from '../../src/parse/registry.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { ClassifyStage, classificationConfigSchema, classifyStageSchema } from '../../src/pipeline/classify.ts';
import { NO_ACK, type LogRecord } from '../../src/record.ts';
import { SECURITY_ACTIONS as S, THREAT_KINDS } from '../../src/events.ts';

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
  t.same(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: Invalid user oracle from 203.0.113.9 port 4242')), { event_type: 'security', action: S.failedLogin, threat: undefined, user_id: 'oracle', ip_address: '203.0.113.9' });
  t.match(pick(classify('Jan 15 10:00:00 web-1 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=root')), { action: S.failedLogin, ip_address: '198.51.100.23' });
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
