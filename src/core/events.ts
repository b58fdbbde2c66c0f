/**
 * The classification contract between the parsers/classify stage (which marks records) and the
 * derived metrics (which count them). Names follow the platform's own event records
 * (`{"event_type":"security","action":"failed_login",...}`, see shared/notes/seed-log-formats.md).
 */

/** The `event_type` values (documentation: records carry them as plain strings). */
const EVENT_TYPES = ['security', 'performance', 'business', 'audit'] as const;

/** `action` values of `event_type: security` records. */
export const SECURITY_ACTIONS = {
  /**
   * One failed authentication attempt: the verdict line of the program that decided it (sshd's
   * "Failed <method> for", a PAM module's "authentication failure;" for su/login/sudo/..., "Authentication
   * failed from" of klogind/ftpd-style daemons), an app's failed-login event, a 401/403 on an auth
   * route. README "Derived metrics" lists what counts; a record counts `metadata.repeat_count` times.
   */
  failedLogin: 'failed_login',
  /**
   * A line about an authentication attempt whose verdict another line counts: sshd's "Invalid user",
   * `input_userauth_request`, its PAM "authentication failure" line, the "Too many authentication
   * failures" / "PAM N more authentication failures" summaries. Never counted as a failure.
   */
  authContext: 'auth_context',
  successfulLogin: 'successful_login',
  /** 401 outside auth routes. */
  unauthorized: 'unauthorized',
  /** 403. */
  accessDenied: 'access_denied',
  /** 429 or an app's rate-limit event. */
  rateLimited: 'rate_limited',
  /** SQL injection, path traversal, scanner user agents, ...; the kind is in `metadata.threat`. */
  suspiciousRequest: 'suspicious_request',
  /** A rejected upload (the platform's file_upload_rejected_total). */
  uploadRejected: 'upload_rejected',
  /** Emitted by logship's brute-force detector (one record per detection). */
  bruteForceDetected: 'brute_force_detected',
} as const;

/** `metadata.threat` values for `suspicious_request`. */
export const THREAT_KINDS = ['sqli', 'traversal', 'scanner', 'xss', 'command_injection'] as const;

/**
 * `event_type: performance` records: `metadata.operation` names the operation, `duration` is in
 * seconds, `metadata.threshold` (seconds) the limit it exceeded.
 */
export const PERFORMANCE_ACTIONS = { slowOperation: 'slow_operation' } as const;
