import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import picomatch from 'picomatch';

/** A path the globs name that cannot be looked into or read (see GlobMatcher.scan). */
export interface PathProblem {
  path: string;
  /** errno code (EACCES, ENOENT, EISDIR, ELOOP, …). */
  code: string;
  message: string;
}

/** One include glob: its static base, whole-path matcher, and what lies below the base segment by segment. */
interface Include {
  base: string;
  isMatch: (p: string) => boolean;
  maxDepth: number;
  literal: string | null;
  /**
   * Matchers for the directory segments between the base and the file name; null when the glob
   * cannot be split at its slashes (a brace or extglob spanning one), so any directory under the
   * base may lead to a match.
   */
  dirSegments: Array<(name: string) => boolean> | null;
  /** Index of the first segment holding `**` (anything below it may match), else Infinity. */
  globstarAt: number;
}

/** The glob's segments below its base, or null when a slash sits inside braces, parentheses or brackets. */
function segmentsOf(rest: string): string[] | null {
  let nest = 0;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') i++;
    else if (c === '{' || c === '(' || c === '[') nest++;
    else if ((c === '}' || c === ')' || c === ']') && nest > 0) nest--;
    else if (c === '/' && nest > 0) return null;
  }
  return rest.split('/');
}

function includeOf(p: string): Include {
  const abs = resolve(p);
  const scan = picomatch.scan(abs);
  const base = scan.isGlob ? scan.base || '/' : abs.slice(0, abs.lastIndexOf('/')) || '/';
  // Without `**` a glob cannot match deeper than its own number of segments below the base.
  const maxDepth = abs.includes('**') ? 32 : abs.split('/').length - base.split('/').length - 1;
  const segments = segmentsOf(abs.slice(base === '/' ? 1 : base.length + 1));
  const globstar = segments?.findIndex((s) => s.includes('**')) ?? -1;
  return {
    base,
    isMatch: picomatch(abs, { dot: true }),
    maxDepth,
    literal: scan.isGlob ? null : abs,
    dirSegments: segments === null ? null : segments.slice(0, -1).map((s) => picomatch(s, { dot: true })),
    globstarAt: globstar < 0 ? Infinity : globstar,
  };
}

/** True when `dir` is the base, above it, or a directory below it that the glob could still match under. */
function leadsTo(inc: Include, dir: string): boolean {
  if (dir === inc.base || dir === '/' || inc.base.startsWith(dir + '/')) return true;
  const prefix = inc.base === '/' ? '/' : inc.base + '/';
  if (!dir.startsWith(prefix)) return false;
  const rel = dir.slice(prefix.length).split('/');
  if (inc.dirSegments === null) return rel.length <= inc.maxDepth;
  for (let i = 0; i < rel.length; i++) {
    if (i >= inc.globstarAt) return true;
    if (i >= inc.dirSegments.length || !inc.dirSegments[i](rel[i])) return false;
  }
  return true;
}

function problemOf(path: string, err: unknown): PathProblem {
  const e = err as NodeJS.ErrnoException;
  return { path, code: e.code ?? 'EUNKNOWN', message: e.message ?? String(err) };
}

/**
 * Expands include globs (with `**`) minus excludes into real file paths. Walks only below each
 * glob's static base directory. Symlinked directories are followed once (by real device+inode),
 * so a link loop cannot recurse forever.
 */
export class GlobMatcher {
  /** The static base directories of the include globs (exact paths not among them). */
  readonly globBases: string[];
  /** The include paths without glob characters (one exact file each). */
  readonly literals: string[];
  /** Deepest directory level below a base that any include glob can match. */
  readonly maxDepth: number;
  private readonly include: Include[];
  private readonly exclude: (p: string) => boolean;

  constructor(paths: string[], exclude: string[]) {
    this.include = paths.map(includeOf);
    const globs = this.include.filter((i) => i.literal === null);
    this.globBases = [...new Set(globs.map((i) => i.base))];
    this.literals = [...new Set(this.include.flatMap((i) => (i.literal === null ? [] : [i.literal])))];
    this.maxDepth = Math.max(0, ...globs.map((i) => i.maxDepth));
    // Excludes without a slash match the file name anywhere (`*.gz`), others the whole path.
    const byName = exclude.filter((e) => !e.includes('/'));
    const byPath = exclude.filter((e) => e.includes('/')).map((e) => resolve(e));
    const nameMatch = byName.length ? picomatch(byName, { dot: true }) : () => false;
    const pathMatch = byPath.length ? picomatch(byPath, { dot: true }) : () => false;
    this.exclude = (p) => nameMatch(p.slice(p.lastIndexOf('/') + 1)) || pathMatch(p);
  }

  /** True when an exclude pattern rejects the path. */
  excludes(path: string): boolean {
    return this.exclude(path);
  }

  matches(path: string): boolean {
    if (this.exclude(path)) return false;
    for (const inc of this.include) if (inc.isMatch(path)) return true;
    return false;
  }

  /**
   * True when `dir` is a directory some include glob could match files under (or a base, or above
   * one). Decided on the path alone, so the watcher and the walk skip every other entry without a
   * stat: /tmp with 3,000 unrelated directories next to the one log named costs nothing per entry.
   */
  mayContainMatches(dir: string): boolean {
    for (const inc of this.include) if (leadsTo(inc, dir)) return true;
    return false;
  }

  /**
   * Every regular file currently matching. `problems` hears of what the globs name but cannot be
   * read: a directory below a base that cannot be listed (EACCES), a matching directory (EISDIR)
   * or dangling link (ENOENT), a literal path that is missing or not a file. A glob's base that
   * does not exist is not a problem (no Docker on this host, say): the status page says that no
   * file matches.
   */
  async scan(problems?: (p: PathProblem) => void): Promise<string[]> {
    const found = new Set<string>();
    const report = problems ?? (() => {});
    for (const inc of this.include) {
      // An exact path is looked at alone: listing its directory (/tmp, /var/log) finds nothing more.
      if (inc.literal === null) await this.walk(inc.base, inc, new Set<string>(), found, 0, report);
      else if (!found.has(inc.literal) && !this.exclude(inc.literal)) {
        try {
          const st = await stat(inc.literal);
          if (st.isFile()) found.add(inc.literal);
          else if (st.isDirectory()) report({ path: inc.literal, code: 'EISDIR', message: `${inc.literal} is a directory; name its files (e.g. ${inc.literal}/*.log)` });
          else if (!st.isFile()) report({ path: inc.literal, code: 'ENOTFILE', message: `${inc.literal} is not a regular file` });
        } catch (err) {
          report(problemOf(inc.literal, err));
        }
      }
    }
    return [...found];
  }

  private async walk(dir: string, inc: { maxDepth: number }, visited: Set<string>, found: Set<string>, depth: number, report: (p: PathProblem) => void): Promise<void> {
    let st;
    try {
      st = await stat(dir);
    } catch (err) {
      if (depth > 0 && (err as NodeJS.ErrnoException).code !== 'ENOENT') report(problemOf(dir, err));
      return;
    }
    if (!st.isDirectory()) {
      if (st.isFile() && this.matches(dir)) found.add(dir);
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (visited.has(key) || depth > inc.maxDepth) return;
    visited.add(key);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(problemOf(dir, err));
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isFile()) {
        if (this.matches(p)) found.add(p);
      } else if ((e.isDirectory() || e.isSymbolicLink()) && (this.matches(p) || this.mayContainMatches(p))) {
        let isDir = e.isDirectory();
        if (e.isSymbolicLink()) {
          let t;
          try {
            t = await stat(p);
          } catch (err) {
            if (this.matches(p)) report(problemOf(p, err)); // a dangling link where a log should be
            continue;
          }
          if (t.isFile()) {
            if (this.matches(p)) found.add(p);
            continue;
          }
          if (!t.isDirectory()) continue;
          isDir = true;
        }
        if (isDir && this.matches(p)) report({ path: p, code: 'EISDIR', message: `${p} matches the globs but is a directory` });
        if (depth < inc.maxDepth) await this.walk(p, inc, visited, found, depth + 1, report);
      }
    }
  }
}
