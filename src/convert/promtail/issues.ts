import { LogshipError } from '../../core/errors.ts';

/** A Promtail key the conversion left out or could only approximate, with its key path and why. */
export interface ConversionIssue {
  /** Key path in the Promtail file, like `scrape_configs[0].pipeline_stages[2].drop.older_than`. */
  path: string;
  reason: string;
}

/** The input is not a Promtail config at all (unreadable, not YAML, not a mapping): exit 2. */
export class PromtailInputError extends LogshipError {}

/** Collects issues under a key path; `at` derives the collector of a child key. */
export class IssueLog {
  readonly issues: ConversionIssue[];
  private readonly prefix: string;

  constructor(prefix = '', issues: ConversionIssue[] = []) {
    this.prefix = prefix;
    this.issues = issues;
  }

  at(key: string | number): IssueLog {
    const p = typeof key === 'number' ? `${this.prefix}[${key}]` : this.prefix ? `${this.prefix}.${key}` : key;
    return new IssueLog(p, this.issues);
  }

  get path(): string {
    return this.prefix;
  }

  /** This key was not converted (or only approximately): why. */
  left(reason: string): void {
    this.issues.push({ path: this.prefix || '(top level)', reason });
  }

  /** Reports every key of `obj` not in `known`. */
  unknownKeys(obj: Record<string, unknown>, known: readonly string[], reason = 'no logship equivalent'): void {
    for (const k of Object.keys(obj)) if (!known.includes(k)) this.at(k).left(reason);
  }
}
