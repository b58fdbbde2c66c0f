import { z } from 'zod';
import { duration } from '../core/config-fields.ts';
import { PERFORMANCE_ACTIONS, SECURITY_ACTIONS } from '../core/events.ts';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { builtinRegex, compileUserRegex } from '../parse/safe-regex.ts';
import { ipLiteral } from '../parse/ip-literal.ts';
import type { LogEvent, LogRecord } from '../core/record.ts';
import { getField, splitPath } from './field.ts';
import type { Stage } from '../core/stage.ts';
import { TextVerdicts, TRUE, UNKNOWN } from './text-verdicts.ts';
import { lookupTable } from '../core/lookup-table.ts';

/**
 * Event classification: marks records `event_type` + `action` (and `metadata.threat`) with the
 * names of src/core/events.ts, which the derived metrics count. Rules are data: a rule holds when
 * every condition in `when` holds for its field, and then `set` applies. User rules
 * (`classification.rules`) run before the built-in ones (BUILTIN_RULES below, same format);
 * the first rule that holds wins. A record that already carries both `event_type` and `action`
 * (the app classified it) is kept as is, except that well-known action spellings are
 * normalized (`login_failed` → `failed_login`). A rule never replaces an existing different
 * `event_type`.
 */

const safeRegex = z.string().transform((v, ctx) => {
  const r = compileUserRegex(v, 'i');
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  return r.regex;
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const conditionSchema = z.strictObject({
  equals: scalar.optional(),
  in: z.array(scalar).min(1).optional(),
  /** Case-insensitive substring; with a list, any of them. */
  contains: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Case-insensitive regex (checked for linear-time safety). */
  matches: safeRegex.optional(),
  not_matches: safeRegex.optional(),
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
  /** true: the field is present; false: absent. */
  exists: z.boolean().optional(),
  /** `url`: percent-decode the value (and `+` → space) before contains/matches. */
  decode: z.literal('url').optional(),
}).refine((c) => Object.keys(c).some((k) => k !== 'decode'), { message: 'a condition needs at least one test (equals, in, contains, matches, not_matches, gt, gte, lt, lte, exists)' });

export const ruleSchema = z.strictObject({
  name: z.string().min(1),
  /** field path (`message`, `http.status_code`, `metadata.appname`) → condition; all must hold. */
  when: z.record(z.string().min(1), conditionSchema).refine((w) => Object.keys(w).length > 0, { message: 'a rule needs at least one condition' }),
  set: z.strictObject({
    event_type: z.string().min(1),
    action: z.string().min(1).optional(),
    /** `metadata.threat` (suspicious requests). */
    threat: z.string().min(1).optional(),
  }),
  /**
   * Fill `user_id` / `ip_address` (and metadata for other names) from named groups, when the
   * record lacks them. `ip_address` and `rhost` groups fill `ip_address` only with an IPv4/IPv6
   * literal; a host name goes to `metadata.remote_host`. Empty groups fill nothing. `repeat`: the
   * pattern is applied to every match in the text (key=value pairs in any order), each field
   * taken from its first match.
   */
  extract: z.strictObject({ field: z.string().default('message'), pattern: safeRegex, repeat: z.boolean().default(false) })
    .transform((e) => (e.repeat && !e.pattern.global ? { ...e, pattern: new RegExp(e.pattern.source, e.pattern.flags + 'g') } : e)).optional(),
});
export type ClassifyRule = z.infer<typeof ruleSchema>;

const classificationOptions = {
  /** Operations slower than this become `event_type: performance`, `action: slow_operation`. */
  slow_threshold: duration().default(5000),
  /** Paths of authentication endpoints: 401/403 there are failed logins. Case-insensitive, linear-time checked. */
  auth_routes: safeRegex.prefault('(^|/)(login|logon|signin|sign-in|sign_in|auth|authenticate|oauth2?|token|sessions?|sso|saml|mfa|2fa|otp)(/|\\?|\\.|$)'),
  /** Your rules, tried before the built-in ones. */
  rules: z.array(ruleSchema).default([]),
  /** false: only your rules (and the slow-operation threshold). */
  builtin_rules: z.boolean().default(true),
};

/** Top-level `classification:` (the built-in stage, on by default). */
export const classificationConfigSchema = z.strictObject({ enabled: z.boolean().default(true), ...classificationOptions }).prefault({});
export type ClassificationConfig = z.infer<typeof classificationConfigSchema>;

/** `{ type: classify, ... }` in `pipeline:` — another classification pass with its own rules. */
export const classifyStageSchema = z.strictObject({ type: z.literal('classify'), name: z.string().optional(), ...classificationOptions });
export type ClassifyStageConfig = z.infer<typeof classifyStageSchema>;

const S = SECURITY_ACTIONS;
const URL_PATH = 'http.path';

/** The built-in rules, in the user-rule format, in order. */
export const BUILTIN_RULES: z.input<typeof ruleSchema>[] = [
  // Authentication. One failed attempt is one failed_login: the verdict line of the program that
  // decided it. Lines about the same attempt (sshd's "Invalid user", its PAM line, the summaries)
  // are auth_context, never counted. README "Derived metrics" › "What counts as a failed
  // authentication" is the one place that lists these; keep the two in step. Order matters: a
  // verdict line also holds context words ("Failed password for invalid user"), so verdicts first.
  // sshd (OpenSSH auth.c auth_log(): "%s %s%s%s for %s%.100s from %.200s port %d ssh2", with
  // "Failed"/"Accepted"/"Postponed" and "invalid user " when the account does not exist).
  { name: 'sshd_failed_login', when: { message: { contains: ['Failed password for', 'Failed publickey for', 'Failed keyboard-interactive', 'Failed hostbased for', 'Failed gssapi-with-mic for'] } }, set: { event_type: 'security', action: S.failedLogin },
    extract: { field: 'message', pattern: 'for (?:invalid user )?(?<user_id>\\S*) from (?<ip_address>\\S+) port \\d' } },
  // The "none" method carries no credential: sshd probes with it first and does not count it as a
  // failure (auth2.c userauth_finish: failures++ only when attempt > 1 or method != "none").
  { name: 'sshd_none_method', when: { message: { contains: 'Failed none for' } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: 'for (?:invalid user )?(?<user_id>\\S*) from (?<ip_address>\\S+) port \\d' } },
  // auth.c getpwnamallow(): "Invalid user %.100s from %.100s port %d"; OpenSSH < 7.5 auth2.c:
  // "input_userauth_request: invalid user %s [preauth]". The verdict follows as "Failed ... for invalid user".
  { name: 'sshd_invalid_user', when: { message: { contains: ['Invalid user ', 'input_userauth_request: invalid user'] } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: 'nvalid user (?<user_id>\\S*)(?: from (?<ip_address>\\S+))?' } },
  // auth.c allowed_user(): "User %.100s from %.100s not allowed because ..." (AllowUsers, DenyUsers,
  // a locked account); the attempt itself follows as "Failed ... for invalid user".
  { name: 'sshd_user_not_allowed', when: { message: { contains: ' not allowed because ' } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: 'User (?<user_id>\\S+) from (?<ip_address>\\S+) not allowed' } },
  // auth.c auth_maxtries_exceeded(), sshd's PAM conversation error, a postponed (not yet decided) attempt.
  { name: 'sshd_attempt_summary', when: { message: { contains: ['maximum authentication attempts exceeded', 'Postponed keyboard-interactive', 'PAM: Authentication failure for'] } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: 'for (?:invalid user |illegal user )?(?<user_id>\\S*) from (?<ip_address>\\S+)' } },
  // OpenSSH >= 7.5 packet.c: "Connection closed by authenticating user %s %s port %d [preauth]".
  { name: 'sshd_authenticating_user', when: { message: { contains: 'authenticating user ' } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: 'authenticating user (?<user_id>\\S+) (?<ip_address>\\S+) port' } },
  // Summaries of attempts already counted: sshd's "Disconnecting: Too many authentication failures",
  // pam_unix's "N more authentication failures" (sshd prefixes it with "PAM "), "check pass; user
  // unknown" (the "authentication failure;" line follows), sudo's "N incorrect password attempts",
  // su's "FAILED SU (to root) alice on pts/0", login's "FAILED LOGIN (1) on '/dev/tty1' FOR ..." (each
  // beside the PAM module's own "authentication failure;" line, which counts).
  { name: 'auth_failure_summary', when: { message: { contains: ['Too many authentication failures', 'more authentication failures', 'check pass; user unknown', 'incorrect password attempt', 'FAILED SU', 'FAILED LOGIN'] } }, set: { event_type: 'security', action: S.authContext },
    // user= / rhost= in any order; OpenSSH < 7.4 "Too many authentication failures for root"; sudo's "bob : 3 incorrect password attempts"
    extract: { field: 'message', pattern: '\\b(?:user=(?<user_id>[^\\s;]+)|rhost=(?<rhost>[^\\s;]+)|failures for (?:invalid user )?(?<user_id>[^\\s\\[]+))|^\\s*(?<user_id>[^\\s:]+) : \\d+ incorrect password', repeat: true } },
  // PAM under sshd: sshd writes its own verdict ("Failed password for ...") for the same attempt.
  // Linux-PAM pam_unix: "authentication failure; logname=%s uid=%d euid=%d tty=%s ruser=%s rhost=%s  user=%s".
  { name: 'sshd_pam_context', when: { message: { contains: '(sshd:auth): authentication failure' } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: '\\b(?:user=(?<user_id>[^\\s;]+)|rhost=(?<rhost>[^\\s;]+))', repeat: true } },
  // pam_unix before 0.99 logged under its own tag: "sshd(pam_unix)[19939]: authentication failure; ..."
  { name: 'sshd_legacy_pam_context', when: { service: { matches: '^sshd\\(' }, message: { contains: 'authentication failure;' } }, set: { event_type: 'security', action: S.authContext },
    extract: { field: 'message', pattern: '\\b(?:user=(?<user_id>[^\\s;]+)|rhost=(?<rhost>[^\\s;]+))', repeat: true } },
  // PAM for su, sudo, login, cron, vsftpd, ...: the module's line is the verdict, one per attempt.
  { name: 'pam_failed_login', when: { message: { contains: 'authentication failure;' } }, set: { event_type: 'security', action: S.failedLogin },
    extract: { field: 'message', pattern: '\\b(?:user=(?<user_id>[^\\s;]+)|rhost=(?<rhost>[^\\s;]+))', repeat: true } },
  // klogind/ftpd-style daemons: "Authentication failed from 163.27.187.39 (163.27.187.39): Permission denied ..."
  { name: 'remote_auth_failed', when: { message: { contains: 'Authentication failed from ' } }, set: { event_type: 'security', action: S.failedLogin },
    extract: { field: 'message', pattern: 'failed from (?<rhost>[^\\s(]+)' } },
  // vsftpd: "[pid 1234] [alice] FAIL LOGIN: Client \"::ffff:203.0.113.5\""
  { name: 'ftp_failed_login', when: { message: { contains: 'FAIL LOGIN: Client ' } }, set: { event_type: 'security', action: S.failedLogin },
    extract: { field: 'message', pattern: '(?:\\[(?<user_id>[^\\]\\s]+)\\] )?FAIL LOGIN: Client "(?<rhost>[^"]+)"' } },
  { name: 'sshd_successful_login', when: { message: { contains: ['Accepted password for', 'Accepted publickey for', 'Accepted keyboard-interactive', 'Accepted hostbased for', 'Accepted gssapi-with-mic for'] } }, set: { event_type: 'security', action: S.successfulLogin },
    extract: { field: 'message', pattern: 'for (?<user_id>\\S+) from (?<ip_address>\\S+) port \\d' } },
  // suspicious requests (before the status rules: a blocked injection attempt is an attack first)
  { name: 'scanner_user_agent', when: { user_agent: { matches: 'sqlmap|nikto|nmap|masscan|zgrab|nuclei|dirbuster|gobuster|wpscan|acunetix|nessus|openvas|w3af|zmeu|whatweb|wfuzz|fuzz faster u fool|hydra' } }, set: { event_type: 'security', action: S.suspiciousRequest, threat: 'scanner' } },
  { name: 'sql_injection', when: { [URL_PATH]: { decode: 'url', matches: "union(?:\\s|\\+|/\\*\\*/)+(?:all(?:\\s|\\+)+)?select|'\\s*(?:or|and)\\s+'?\\w+'?\\s*=\\s*'?\\w|\\bor\\s+1\\s*=\\s*1\\b|;\\s*(?:drop|delete|insert|update|shutdown)\\s|\\bsleep\\s*\\(\\s*\\d|\\bbenchmark\\s*\\(|information_schema|waitfor\\s+delay|'\\s*(?:--|#)|xp_cmdshell|\\bselect\\s.{0,64}\\sfrom\\s" } }, set: { event_type: 'security', action: S.suspiciousRequest, threat: 'sqli' } },
  { name: 'path_traversal', when: { [URL_PATH]: { decode: 'url', matches: '\\.\\.[\\\\/]|[\\\\/]\\.\\.(?:$|[?#])|/etc/(?:passwd|shadow|hosts)\\b|win\\.ini|boot\\.ini|/proc/self/|%2e%2e|\\.\\.%2f|%252e' } }, set: { event_type: 'security', action: S.suspiciousRequest, threat: 'traversal' } },
  { name: 'xss', when: { [URL_PATH]: { decode: 'url', matches: '<script|javascript:|\\bon(?:error|load|mouseover)\\s*=|document\\.cookie|<svg[^>]{0,64}onload|<iframe' } }, set: { event_type: 'security', action: S.suspiciousRequest, threat: 'xss' } },
  { name: 'command_injection', when: { [URL_PATH]: { decode: 'url', matches: '(?:;|\\||&&|`|\\$\\()\\s*(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|bash|sh|powershell|ping)\\b|/bin/(?:ba)?sh\\b|cmd\\.exe' } }, set: { event_type: 'security', action: S.suspiciousRequest, threat: 'command_injection' } },
  // app messages
  { name: 'app_failed_login', when: { message: { matches: '\\b(?:login|log-in|logon|sign-in|signin|authentication|auth) (?:failed|failure|unsuccessful|denied|rejected)\\b|\\bfailed (?:login|log-in|logon|sign-in|authentication)\\b|\\binvalid (?:credentials|password|username or password|login)\\b|\\bbad credentials\\b|\\bincorrect (?:password|credentials)\\b|\\bwrong password\\b' } }, set: { event_type: 'security', action: S.failedLogin } },
  { name: 'app_successful_login', when: { message: { matches: '\\b(?:logged in|login successful|login succeeded|successful login|successfully logged in|signed in|authentication succeeded|authenticated successfully)\\b', not_matches: "\\bnot (?:logged|signed) in\\b|\\b(?:isn't|wasn't) logged in\\b" } }, set: { event_type: 'security', action: S.successfulLogin } },
  { name: 'app_rate_limited', when: { message: { matches: '\\brate[ _-]?limit(?:ed|ing)?\\b.{0,32}\\b(?:exceeded|hit|reached|triggered|applied)\\b|\\btoo many requests\\b|\\brate[ _-]?limited\\b|\\bthrottled\\b' } }, set: { event_type: 'security', action: S.rateLimited } },
  { name: 'app_upload_rejected', when: { message: { matches: '\\b(?:upload|file) (?:rejected|blocked|refused|denied)\\b|\\brejected (?:file )?upload\\b' } }, set: { event_type: 'security', action: S.uploadRejected } },
  { name: 'app_access_denied', when: { message: { matches: '\\baccess denied\\b|\\bpermission denied\\b|\\bunauthorized access\\b|\\bnot authorized\\b|\\binsufficient (?:permissions|privileges)\\b' } }, set: { event_type: 'security', action: S.accessDenied } },
  // HTTP status (auth_routes rules are inserted here from the config)
  { name: 'http_401', when: { 'http.status_code': { equals: 401 } }, set: { event_type: 'security', action: S.unauthorized } },
  { name: 'http_403', when: { 'http.status_code': { equals: 403 } }, set: { event_type: 'security', action: S.accessDenied } },
  { name: 'http_429', when: { 'http.status_code': { equals: 429 } }, set: { event_type: 'security', action: S.rateLimited } },
];

/**
 * Words that every `contains` needle of the built-in rules holds (case-insensitively): the gates
 * look for these few words instead of every needle (most needles are variations of them), which
 * is a cheaper pass over every message. gateNeedles fails at load when a needle holds none.
 */
const GATE_WORDS = ['failed', 'fail login', 'accepted', 'invalid user', 'authenticat', 'postponed', 'incorrect password', 'check pass', ' not allowed because '];

function gateNeedles(needles: string[]): string[] {
  for (const n of needles) {
    const l = n.toLowerCase();
    if (!GATE_WORDS.some((w) => l.includes(w))) throw new Error(`classification gate: the needle ${JSON.stringify(n)} holds none of GATE_WORDS`);
  }
  return GATE_WORDS;
}

/**
 * One case-insensitive regex of every `contains` needle and `matches` pattern the built-in rules
 * test `message` with. Most messages hold none of them: one pass of this regex then rules out
 * all those rules, instead of one pass per rule (their regexes, case-folded into `[aA]` classes
 * for the linear-time check, are slower than V8's native `i`). For these ASCII-only patterns,
 * `i` matches exactly what the folded classes match, so the gate finds every message a rule
 * could match; the rules themselves still decide. The patterns are ours and bounded, so the `i`
 * regex (which V8 cannot hand to the linear engine) cannot backtrack excessively.
 */
const CONTAINS_NEEDLES = gateNeedles(BUILTIN_RULES.flatMap((r) => {
  const c = r.when.message?.contains;
  return c === undefined ? [] : Array.isArray(c) ? c : [c];
})).map(escapeRegex);
const MESSAGE_GATE = new RegExp([
  ...CONTAINS_NEEDLES,
  ...BUILTIN_RULES.flatMap((r) => (typeof r.when.message?.matches === 'string' ? [`(?:${r.when.message.matches})`] : [])),
  // and LOWERS_TO_ASCII's characters (without `u`, `i` matches them only as themselves): one pass for both
  '[\u0130\u212a]',
].join('|'), 'i');
/**
 * The second gate, for the built-in rules that test `message` only with `contains` (the
 * authentication rules): a message that passed MESSAGE_GATE through an app rule's words
 * ("User logged in") skips all of them at once instead of testing each rule's needles.
 */
const CONTAINS_GATE = new RegExp([...CONTAINS_NEEDLES, '[\u0130\u212a]'].join('|'), 'i');
const CONTAINS_GATED = new Set(BUILTIN_RULES.filter((r) => r.when.message !== undefined && r.when.message.matches === undefined && r.when.message.contains !== undefined).map((r) => r.name));
const MESSAGE_GATED = new Set(BUILTIN_RULES.filter((r) => r.when.message !== undefined).map((r) => r.name));
/** The built-in attack rules: one condition, a url-decoded `matches` on `http.path`. */
const PATH_RULES = BUILTIN_RULES.filter((r) => Object.keys(r.when).length === 1 && typeof r.when[URL_PATH]?.matches === 'string' && r.when[URL_PATH].decode === 'url');
const PATH_GATED = new Set(PATH_RULES.map((r) => r.name));
/**
 * One case-insensitive regex of the attack rules' patterns, tested on the url-decoded path: a
 * path it finds nothing in skips all of them at once (most request paths; the rules' folded
 * regexes, one pass each, cost about a quarter of the stage on request lines). As for
 * MESSAGE_GATE, native `i` finds every text the ASCII-folded classes find.
 */
const PATH_GATE = new RegExp(PATH_RULES.map((r) => `(?:${r.when[URL_PATH]!.matches as string})`).join('|'), 'i');
const PATH_FIELD = splitPath(URL_PATH);
const STATUS_CODE = 'http.status_code';
const STATUS_FIELD = splitPath(STATUS_CODE);

/** App spellings of the contract's action names, normalized on security records. */
export const ACTION_ALIASES: Record<string, string> = lookupTable({
  login_failed: S.failedLogin, login_failure: S.failedLogin, failed_login: S.failedLogin, auth_failed: S.failedLogin, auth_failure: S.failedLogin,
  authentication_failed: S.failedLogin, authentication_failure: S.failedLogin, invalid_credentials: S.failedLogin, failed_authentication: S.failedLogin,
  login: S.successfulLogin, login_success: S.successfulLogin, login_succeeded: S.successfulLogin, logged_in: S.successfulLogin, successful_login: S.successfulLogin, authentication_succeeded: S.successfulLogin,
  rate_limit: S.rateLimited, rate_limited: S.rateLimited, rate_limit_exceeded: S.rateLimited, throttled: S.rateLimited,
  access_denied: S.accessDenied, forbidden: S.accessDenied, permission_denied: S.accessDenied,
  unauthorized: S.unauthorized,
  upload_rejected: S.uploadRejected, file_upload_rejected: S.uploadRejected,
  suspicious_request: S.suspiciousRequest, suspicious_activity: S.suspiciousRequest,
});
const SECURITY_ACTION_NAMES = new Set<string>(Object.values(S));

type Test = (v: unknown) => boolean;

interface CompiledRule {
  name: string;
  /** A built-in rule with a condition on `message`: it cannot hold when MESSAGE_GATE finds nothing. */
  messageGated: boolean;
  /** A built-in rule whose `message` condition is `contains` only: it cannot hold when CONTAINS_GATE finds nothing. */
  containsGated: boolean;
  /** A built-in attack rule (PATH_GATED): it cannot hold when PATH_GATE finds nothing in the decoded path. */
  pathGated: boolean;
  /**
   * The numbers its `http.status_code` condition accepts, when that condition is one `equals`
   * or `in` (a numeric status outside them fails it); null otherwise.
   */
  statusCodes: Set<number> | null;
  /**
   * Bits (ClassifyStage.presenceFields) of the top-level fields this rule needs: a condition
   * that fails on an absent value (`test(undefined)` is false) cannot hold when its field's
   * first segment is absent, so the rule is skipped without evaluating anything.
   */
  needs: number;
  conditions: Array<{ path: string[]; test: Test }>;
  set: ClassifyRule['set'];
  extract?: RuleExtract;
}

/** A compiled `extract`: `regex` is global when `repeat` is set. */
export interface RuleExtract {
  path: string[];
  regex: RegExp;
  repeat: boolean;
}

function compileCondition(c: z.infer<typeof conditionSchema>): Test {
  const tests: Test[] = [];
  const decode = c.decode === 'url';
  const text = (v: unknown): string | undefined => {
    const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    return s !== undefined && decode ? urlDecode(s) : s;
  };
  if (c.exists !== undefined) {
    const want = c.exists;
    tests.push((v) => (v !== undefined && v !== null) === want);
  }
  if (c.equals !== undefined) {
    const e = c.equals;
    const text = String(e);
    // numbers compare as numbers (the same verdict as their texts) without making the texts
    const num = typeof e === 'number' ? e : Number(text);
    const numeric = String(num) === text;
    tests.push((v) => {
      if (typeof v === 'number') return numeric && (v === num || (v !== v && num !== num));
      return v === e || (typeof v !== 'object' && v !== undefined && String(v) === text);
    });
  }
  if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    // the numbers whose text is in the set (status codes): a number is looked up as itself
    const numbers = new Set(c.in.map(Number).filter((n) => set.has(String(n))));
    tests.push((v) => (typeof v === 'number' ? numbers.has(v) : v !== undefined && v !== null && typeof v !== 'object' && set.has(String(v))));
  }
  if (c.contains !== undefined) {
    const needles = (Array.isArray(c.contains) ? c.contains : [c.contains]);
    const lower = needles.map((n) => n.toLowerCase());
    const exact = needles;
    const containsAny = (s: string): boolean => {
      for (const n of exact) if (s.includes(n)) return true;
      const ls = s.toLowerCase();
      for (const n of lower) if (ls.includes(n)) return true;
      return false;
    };
    if (needles.every(isAscii)) {
      // One case-insensitive regex instead of lower-casing every value: for ASCII needles it
      // finds the same values, unless the value holds one of the two characters whose lower
      // case is ASCII (then the lower-casing test decides).
      const any = new RegExp(needles.map(escapeRegex).join('|'), 'i');
      tests.push((v) => {
        const s = text(v);
        return s !== undefined && (any.test(s) || (LOWERS_TO_ASCII.test(s) && containsAny(s)));
      });
    } else {
      tests.push((v) => {
        const s = text(v);
        return s !== undefined && containsAny(s);
      });
    }
  }
  if (c.matches !== undefined) {
    const re = c.matches;
    tests.push((v) => {
      const s = text(v);
      return s !== undefined && re.test(s);
    });
  }
  if (c.not_matches !== undefined) {
    const re = c.not_matches;
    tests.push((v) => {
      const s = text(v);
      return s === undefined || !re.test(s);
    });
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN);
  if (c.gt !== undefined) { const b = c.gt; tests.push((v) => num(v) > b); }
  if (c.gte !== undefined) { const b = c.gte; tests.push((v) => num(v) >= b); }
  if (c.lt !== undefined) { const b = c.lt; tests.push((v) => num(v) < b); }
  if (c.lte !== undefined) { const b = c.lte; tests.push((v) => num(v) <= b); }
  if (tests.length === 1) return tests[0];
  return (v) => {
    for (const t of tests) if (!t(v)) return false;
    return true;
  };
}

/** The non-ASCII characters whose toLowerCase() holds an ASCII letter: İ (→ i̇) and the Kelvin sign (→ k). */
const LOWERS_TO_ASCII = /[\u0130\u212a]/;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|\/-]/g, '\\$&');
}

/**
 * The numbers a condition holds for, as compileCondition's tests compare a numeric value, when
 * it is one `equals` or one `in` and nothing else; null for any other condition.
 */
function acceptedNumbers(c: z.infer<typeof conditionSchema> | undefined): Set<number> | null {
  if (c === undefined) return null;
  const keys = Object.keys(c).filter((k) => (c as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) return null;
  if (c.equals !== undefined) {
    const num = typeof c.equals === 'number' ? c.equals : Number(String(c.equals));
    return new Set(String(num) === String(c.equals) ? [num] : []);
  }
  if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    return new Set(c.in.map(Number).filter((n) => set.has(String(n))));
  }
  return null;
}

function compileRule(r: ClassifyRule, gated: { message: boolean; contains: boolean; path: boolean } = { message: false, contains: false, path: false }): CompiledRule {
  return {
    name: r.name,
    messageGated: gated.message,
    containsGated: gated.contains,
    pathGated: gated.path,
    statusCodes: acceptedNumbers(r.when[STATUS_CODE]),
    needs: 0,
    conditions: Object.entries(r.when).map(([path, c]) => ({ path: splitPath(path), test: compileCondition(c) })),
    set: r.set,
    extract: r.extract ? { path: splitPath(r.extract.field), regex: r.extract.pattern, repeat: r.extract.repeat } : undefined,
  };
}

/**
 * A built-in rule as ruleSchema parses it, built directly: the rules are constants of ours, so
 * validating them at every start bought nothing (zod's parse and two of the three compiles of
 * each regex: ClassifyStage's constructor at start 9.4 -> 5.3 ms; bench/RESULTS.md, "Start-up").
 * test/pipeline/classify.test.ts checks that ruleSchema parses each one to the same rule; user
 * rules still go through it.
 */
export function builtinRule(r: z.input<typeof ruleSchema>): ClassifyRule {
  const when: ClassifyRule['when'] = {};
  for (const [path, c] of Object.entries(r.when)) {
    const { matches, not_matches: notMatches, ...tests } = c;
    when[path] = {
      ...tests,
      ...(matches !== undefined && { matches: builtinRegex(matches, 'i') }),
      ...(notMatches !== undefined && { not_matches: builtinRegex(notMatches, 'i') }),
    };
  }
  const e = r.extract;
  const repeat = e?.repeat ?? false;
  return {
    name: r.name,
    when,
    set: { ...r.set },
    ...(e !== undefined && { extract: { field: e.field ?? 'message', pattern: builtinRegex(e.pattern, repeat ? 'ig' : 'i'), repeat } }),
  };
}

/** Percent-decoding that never throws (`%zz` stays), `+` as space; skipped when there is nothing to decode. */
export function urlDecode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

export interface ClassifyContext {
  metrics?: MetricsRegistry;
}

export class ClassifyStage implements Stage {
  readonly name: string;
  private readonly rules: CompiledRule[];
  private readonly slowSeconds: number;
  /** Top-level record fields some rule needs present (at most 30: the bits of CompiledRule.needs). */
  private readonly presenceFields: string[] = [];
  /**
   * The rules that can hold for a record with these presence bits, by bits; records of one
   * source mostly share theirs, so the last list is kept at hand.
   */
  private readonly candidates = new Map<number, Candidates>();
  private lastPresent = -1;
  private lastCandidates: Candidates = { rules: [], runEnd: new Int32Array(0) };
  private readonly gateVerdicts = new TextVerdicts();
  private readonly containsVerdicts = new TextVerdicts();
  private readonly pathVerdicts = new TextVerdicts();
  /** Every status the rules with `statusCodes` accept: a numeric status outside it fails them all. */
  private readonly statusUnion = new Set<number>();

  constructor(cfg: Omit<ClassifyStageConfig, 'type' | 'name'> & { name?: string }, _ctx: ClassifyContext = {}) {
    this.name = cfg.name ?? 'classify';
    this.slowSeconds = cfg.slow_threshold / 1000;
    const builtin = cfg.builtin_rules ? BUILTIN_RULES.map(builtinRule) : [];
    if (cfg.builtin_rules) {
      // 401/403 on authentication endpoints are failed logins: ahead of the generic status rules
      const at = builtin.findIndex((r) => r.name === 'http_401');
      const authRoutes: ClassifyRule[] = ['http.path', 'http.route'].map((field) => ({
        name: `http_auth_failure_${field.slice(5)}`,
        when: { 'http.status_code': { in: [401, 403] }, [field]: { matches: cfg.auth_routes } } as ClassifyRule['when'],
        set: { event_type: 'security', action: S.failedLogin },
      }));
      builtin.splice(at, 0, ...authRoutes);
    }
    this.rules = [...cfg.rules.map((r) => compileRule(r)), ...builtin.map((r) => compileRule(r, { message: MESSAGE_GATED.has(r.name), contains: CONTAINS_GATED.has(r.name), path: PATH_GATED.has(r.name) }))];
    for (const rule of this.rules) {
      if (rule.statusCodes !== null) for (const code of rule.statusCodes) this.statusUnion.add(code);
      for (const c of rule.conditions) {
        if (c.test(undefined)) continue;
        let bit = this.presenceFields.indexOf(c.path[0]);
        if (bit < 0 && this.presenceFields.length < 30) bit = this.presenceFields.push(c.path[0]) - 1;
        if (bit >= 0) rule.needs |= 1 << bit;
      }
    }
  }

  process(event: LogEvent): LogEvent {
    const r = event.record;
    if (r.event_type !== undefined && r.action !== undefined) {
      if (r.event_type === 'security' && !SECURITY_ACTION_NAMES.has(r.action)) {
        const a = ACTION_ALIASES[r.action.toLowerCase()];
        if (a !== undefined && a !== r.action) r.action = a;
      }
      return event;
    }
    if (r.action !== undefined && (r.event_type === undefined || r.event_type === 'security')) {
      // an app event with an action but no type: `{"action":"login_failed",...}`
      const a = ACTION_ALIASES[r.action.toLowerCase()];
      if (a !== undefined) {
        r.event_type = 'security';
        r.action = a;
        return event;
      }
    }
    /** MESSAGE_GATE on this record: 0 not tested yet, 1 found something, 2 found nothing. */
    let gate = 0;
    /** CONTAINS_GATE, likewise. */
    let containsGate = 0;
    /** PATH_GATE, likewise. */
    let pathGate = 0;
    /** The status code against statusUnion, likewise. */
    let statusGate = 0;
    let present = 0;
    const fields = this.presenceFields;
    for (let b = 0; b < fields.length; b++) if ((r as unknown as Record<string, unknown>)[fields[b]] !== undefined) present |= 1 << b;
    const { rules, runEnd } = present === this.lastPresent ? this.lastCandidates : this.candidatesFor(present);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (r.event_type !== undefined && r.event_type !== rule.set.event_type) continue;
      if (r.action !== undefined && rule.set.action !== undefined) continue;
      // A gate that found nothing rules out every rule it gates: the run of such rules that
      // starts here is passed over at once (the built-in rules come in such runs).
      if (rule.messageGated) {
        if (gate === 0) gate = this.messageGate(r.message) ? 1 : 2;
        if (gate === 2) {
          i = runEnd[i] - 1;
          continue;
        }
        if (rule.containsGated) {
          if (containsGate === 0) containsGate = this.containsGate(r.message) ? 1 : 2;
          if (containsGate === 2) {
            i = runEnd[i] - 1;
            continue;
          }
        }
      } else if (rule.pathGated) {
        if (pathGate === 0) pathGate = this.pathGate(r) ? 1 : 2;
        if (pathGate === 2) {
          i = runEnd[i] - 1;
          continue;
        }
      } else if (rule.statusCodes !== null) {
        if (statusGate === 0) statusGate = this.statusGate(r) ? 1 : 2;
        if (statusGate === 2) {
          i = runEnd[i] - 1;
          continue;
        }
      }
      if (!holds(rule, r)) continue;
      applyRule(rule, r);
      return event;
    }
    this.performance(r);
    return event;
  }

  /** messageMayMatch, remembered per message text (messages repeat). */
  private messageGate(message: unknown): boolean {
    if (typeof message !== 'string') return messageMayMatch(message);
    const known = this.gateVerdicts.get(message);
    if (known !== UNKNOWN) return known === TRUE;
    const may = messageMayMatch(message);
    this.gateVerdicts.set(message, may);
    return may;
  }

  /** CONTAINS_GATE on a message, remembered per message text. */
  private containsGate(message: unknown): boolean {
    if (typeof message !== 'string') return messageMayMatch(message, CONTAINS_GATE);
    const known = this.containsVerdicts.get(message);
    if (known !== UNKNOWN) return known === TRUE;
    const may = messageMayMatch(message, CONTAINS_GATE);
    this.containsVerdicts.set(message, may);
    return may;
  }

  /** PATH_GATE on the record's decoded path, remembered per path text (routes without ids repeat). */
  private pathGate(r: LogRecord): boolean {
    const path = getField(r, PATH_FIELD);
    // not a string: the rules themselves decide
    if (typeof path !== 'string') return true;
    const known = this.pathVerdicts.get(path);
    if (known !== UNKNOWN) return known === TRUE;
    const may = PATH_GATE.test(urlDecode(path));
    this.pathVerdicts.set(path, may);
    return may;
  }

  /** False when the record's status is a number no rule with `statusCodes` accepts (most requests: 2xx). */
  private statusGate(r: LogRecord): boolean {
    const status = getField(r, STATUS_FIELD);
    return typeof status !== 'number' || this.statusUnion.has(status);
  }

  private candidatesFor(present: number): Candidates {
    let list = this.candidates.get(present);
    if (list === undefined) {
      list = candidatesOf(this.rules.filter((rule) => (rule.needs & ~present) === 0));
      // bounded: at most 2^30 combinations in theory, a handful in practice
      if (this.candidates.size >= 4096) this.candidates.clear();
      this.candidates.set(present, list);
    }
    this.lastPresent = present;
    this.lastCandidates = list;
    return list;
  }

  /** Slow operations: `duration` (s) or `http.response_time` (ms) over the threshold; app performance events without an action. */
  private performance(r: LogRecord): void {
    if (r.event_type !== undefined && r.event_type !== 'performance') return;
    if (r.action !== undefined) return;
    const seconds = r.duration ?? (r.http?.response_time !== undefined ? r.http.response_time / 1000 : undefined);
    const appEvent = r.event_type === 'performance';
    if (!appEvent && (seconds === undefined || !(seconds > this.slowSeconds))) return;
    r.event_type = 'performance';
    r.action = PERFORMANCE_ACTIONS.slowOperation;
    if (r.duration === undefined && seconds !== undefined) r.duration = seconds;
    const m = (r.metadata ??= {});
    if (m.threshold === undefined) m.threshold = this.slowSeconds;
    if (m.operation === undefined) m.operation = operationOf(r);
  }
}

/** The rules that can hold for some presence bits, in order, with where each one's gate run ends. */
interface Candidates {
  rules: CompiledRule[];
  /**
   * Per rule: the index after the run of consecutive rules gated like it (contains-gated,
   * message-gated, path-gated, status-gated: its narrowest gate), for the loop to pass over when
   * that gate found nothing; i + 1 for an ungated rule.
   */
  runEnd: Int32Array;
}

function gateKind(rule: CompiledRule): number {
  return rule.containsGated ? 1 : rule.messageGated ? 2 : rule.pathGated ? 3 : rule.statusCodes !== null ? 4 : 0;
}

function candidatesOf(rules: CompiledRule[]): Candidates {
  const runEnd = new Int32Array(rules.length);
  for (let i = rules.length - 1; i >= 0; i--) {
    const kind = gateKind(rules[i]);
    // A message-gated run also takes the contains-gated rules in it (MESSAGE_GATE finding
    // nothing rules out both); a contains-gated run only contains-gated ones.
    const sameRun = i + 1 < rules.length && kind !== 0 && (gateKind(rules[i + 1]) === kind || (kind === 2 && gateKind(rules[i + 1]) === 1));
    runEnd[i] = sameRun ? runEnd[i + 1] : i + 1;
  }
  return { rules, runEnd };
}

/** False when no built-in message rule can hold (a `contains` also holds when lower-casing makes the needle: the gate also finds LOWERS_TO_ASCII's characters). */
function messageMayMatch(v: unknown, gate = MESSAGE_GATE): boolean {
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  return s !== undefined && gate.test(s);
}

function holds(rule: CompiledRule, r: LogRecord): boolean {
  for (let c = 0; c < rule.conditions.length; c++) {
    const cond = rule.conditions[c];
    if (!cond.test(getField(r, cond.path))) return false;
  }
  return true;
}

/**
 * Marks `r` as `rule` says. It never changes a value `r` had: a rule only runs when `r`'s
 * event_type is absent or its own, and its action absent or not set by the rule; extracted ids
 * fill gaps only. (A JSON line marked with top-level keys alone still ships as read, the keys
 * appended: see VerbatimLine.)
 */
export function applyRule(rule: Pick<CompiledRule, 'set' | 'extract'>, r: LogRecord): void {
  r.event_type = rule.set.event_type;
  if (rule.set.action !== undefined) r.action = rule.set.action;
  if (rule.set.threat !== undefined) (r.metadata ??= {}).threat = rule.set.threat;
  if (rule.extract !== undefined) {
    const v = getField(r, rule.extract.path);
    if (typeof v === 'string') {
      const re = rule.extract.regex;
      if (rule.extract.repeat) {
        re.lastIndex = 0;
        for (let m = re.exec(v); m !== null; m = re.exec(v)) {
          if (m[0].length === 0) re.lastIndex++;
          fillFromGroups(m.groups, r);
        }
      } else fillFromGroups(re.exec(v)?.groups, r);
    }
  }
}

/** Fills the record's gaps from an extract's named groups. */
function fillFromGroups(groups: Record<string, string | undefined> | undefined, r: LogRecord): void {
  if (groups === undefined) return;
  for (const k in groups) {
    const val = groups[k];
    if (val === undefined || val === '') continue;
    if (k === 'user_id') r.user_id ??= val;
    else if (k === 'ip_address' || k === 'rhost') {
      const ip = ipLiteral(val);
      if (ip !== undefined) r.ip_address ??= ip;
      // a host name (PAM rhost= after a reverse lookup, sshd with UseDNS): never a source IP
      else if ((r.metadata ??= {}).remote_host === undefined) r.metadata.remote_host = val;
    } else if ((r.metadata ??= {})[k] === undefined) r.metadata[k] = val;
  }
}

/** A name for the slow operation: the app's own, else the HTTP route (or path without query), else the message start. */
export function operationOf(r: LogRecord): string {
  const h = r.http;
  if (h?.route !== undefined) return h.method !== undefined ? `${h.method} ${h.route}` : h.route;
  if (h?.path !== undefined) {
    const q = h.path.indexOf('?');
    const path = q < 0 ? h.path : h.path.slice(0, q);
    return h.method !== undefined ? `${h.method} ${path}` : path;
  }
  return r.message.length > 100 ? r.message.slice(0, 100) : r.message;
}
