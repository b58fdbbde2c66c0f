/**
 * The classification stage as it was before its `contains` conditions became one
 * case-insensitive regex (commit 4f7b1ec), kept verbatim as an oracle:
 * classify-equivalence.test.ts checks that the optimized stage classifies exactly like this
 * one. Not used by the daemon.
 */
import type { z } from 'zod';
import { PERFORMANCE_ACTIONS, SECURITY_ACTIONS } from '../../src/core/events.ts';
import type { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import type { LogEvent, LogRecord } from '../../src/core/record.ts';
import { getField, splitPath } from '../../src/pipeline/field.ts';
import { ACTION_ALIASES, applyRule, BUILTIN_RULES, conditionSchema, operationOf, ruleSchema, type ClassifyRule, type ClassifyStageConfig, type RuleExtract } from '../../src/pipeline/classify.ts';
import type { Stage } from '../../src/core/stage.ts';

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

// The rule data and schemas are the stage's own (imported); only the matching algorithm is the old one.
const SECURITY_ACTION_NAMES = new Set<string>(Object.values(SECURITY_ACTIONS));

type Test = (v: unknown) => boolean;

interface CompiledRule {
  name: string;
  conditions: Array<{ path: string[]; test: Test }>;
  set: ClassifyRule['set'];
  extract?: RuleExtract;
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
    tests.push((v) => v === e || (typeof v !== 'object' && v !== undefined && String(v) === String(e)));
  }
  if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    tests.push((v) => v !== undefined && v !== null && typeof v !== 'object' && set.has(String(v)));
  }
  if (c.contains !== undefined) {
    const needles = (Array.isArray(c.contains) ? c.contains : [c.contains]);
    const lower = needles.map((n) => n.toLowerCase());
    const exact = needles;
    tests.push((v) => {
      const s = text(v);
      if (s === undefined) return false;
      for (const n of exact) if (s.includes(n)) return true;
      const ls = s.toLowerCase();
      for (const n of lower) if (ls.includes(n)) return true;
      return false;
    });
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

function compileRule(r: ClassifyRule): CompiledRule {
  return {
    name: r.name,
    conditions: Object.entries(r.when).map(([path, c]) => ({ path: splitPath(path), test: compileCondition(c) })),
    set: r.set,
    extract: r.extract ? { path: splitPath(r.extract.field), regex: r.extract.pattern, repeat: r.extract.repeat } : undefined,
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

  constructor(cfg: Omit<ClassifyStageConfig, 'type' | 'name'> & { name?: string }, _ctx: ClassifyContext = {}) {
    this.name = cfg.name ?? 'classify';
    this.slowSeconds = cfg.slow_threshold / 1000;
    const builtin = cfg.builtin_rules ? BUILTIN_RULES.map((r) => ruleSchema.parse(r)) : [];
    if (cfg.builtin_rules) {
      // 401/403 on authentication endpoints are failed logins: ahead of the generic status rules
      const at = builtin.findIndex((r) => r.name === 'http_401');
      const authRoutes: ClassifyRule[] = ['http.path', 'http.route'].map((field) => ({
        name: `http_auth_failure_${field.slice(5)}`,
        when: { 'http.status_code': { in: [401, 403] }, [field]: { matches: cfg.auth_routes } } as ClassifyRule['when'],
        set: { event_type: 'security', action: SECURITY_ACTIONS.failedLogin },
      }));
      builtin.splice(at, 0, ...authRoutes);
    }
    this.rules = [...cfg.rules, ...builtin].map(compileRule);
  }

  process(event: LogEvent): LogEvent {
    const r = event.record;
    if (r.event_type !== undefined && r.action !== undefined) {
      if (r.event_type === 'security' && !SECURITY_ACTION_NAMES.has(r.action)) {
        const a = ACTION_ALIASES[r.action.toLowerCase()];
        if (a !== undefined) r.action = a;
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
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (r.event_type !== undefined && r.event_type !== rule.set.event_type) continue;
      if (r.action !== undefined && rule.set.action !== undefined) continue;
      if (!holds(rule, r)) continue;
      applyRule(rule, r);
      return event;
    }
    this.performance(r);
    return event;
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

function holds(rule: CompiledRule, r: LogRecord): boolean {
  for (let c = 0; c < rule.conditions.length; c++) {
    const cond = rule.conditions[c];
    if (!cond.test(getField(r, cond.path))) return false;
  }
  return true;
}

