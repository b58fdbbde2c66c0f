import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import picomatch from 'picomatch';

/**
 * Expands include globs (with `**`) minus excludes into real file paths. Walks only below each
 * glob's static base directory. Symlinked directories are followed once (by real device+inode),
 * so a link loop cannot recurse forever.
 */
export class GlobMatcher {
  readonly bases: string[];
  /** Deepest directory level below a base that any include glob can match. */
  readonly maxDepth: number;
  private readonly include: Array<{ base: string; isMatch: (p: string) => boolean; maxDepth: number }>;
  private readonly exclude: (p: string) => boolean;

  constructor(paths: string[], exclude: string[]) {
    this.include = paths.map((p) => {
      const abs = resolve(p);
      const scan = picomatch.scan(abs);
      const base = scan.isGlob ? scan.base || '/' : abs.slice(0, abs.lastIndexOf('/')) || '/';
      // Without `**` a glob cannot match deeper than its own number of segments below the base.
      const maxDepth = abs.includes('**') ? 32 : abs.split('/').length - base.split('/').length - 1;
      return { base, isMatch: picomatch(abs, { dot: true }), maxDepth };
    });
    this.bases = [...new Set(this.include.map((i) => i.base))];
    this.maxDepth = Math.max(0, ...this.include.map((i) => i.maxDepth));
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

  /** Every regular file currently matching. */
  async scan(): Promise<string[]> {
    const found = new Set<string>();
    for (const inc of this.include) {
      const visited = new Set<string>();
      await this.walk(inc.base, inc, visited, found, 0);
    }
    return [...found];
  }

  private async walk(dir: string, inc: { maxDepth: number }, visited: Set<string>, found: Set<string>, depth: number): Promise<void> {
    let st;
    try {
      st = await stat(dir);
    } catch {
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
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isFile()) {
        if (this.matches(p)) found.add(p);
      } else if (e.isDirectory() || e.isSymbolicLink()) {
        if (e.isSymbolicLink()) {
          const t = await stat(p).catch(() => null);
          if (t?.isFile()) {
            if (this.matches(p)) found.add(p);
            continue;
          }
          if (!t?.isDirectory()) continue;
        }
        if (depth < inc.maxDepth) await this.walk(p, inc, visited, found, depth + 1);
      }
    }
  }
}
