/**
 * The code-shape figures of issue #20: the largest files (lines) and every function, method,
 * constructor, accessor and arrow function of at least `--min` lines (default 50), longest first.
 * Usage: `node_modules/.bin/node bench/code-shape.ts [--min N] [--top N] [dir ...]` (default dirs: src parsers), run
 * from any checkout's root (it reads the files below the current directory).
 *
 * It parses with swc (the parser dependency-cruiser uses here): TypeScript 7 has no JavaScript
 * compiler API. A function's length is its lines from its first token (a method's name, an
 * arrow's parameters) to its closing brace, blank and comment lines included; a nested function
 * counts in its parent too, and also on its own.
 */
import { parseSync } from '@swc/core';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
}

interface Span {
  start: number;
  end: number;
}

type AstNode = { type?: string; span?: Span } & Record<string, unknown>;

const FUNCTION_TYPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassMethod',
  'PrivateMethod',
  'Constructor',
  'MethodProperty',
  'GetterProperty',
  'SetterProperty',
]);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Maps swc's 1-based UTF-8 byte offsets of one file to 1-based line numbers. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(bytes: Buffer) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) this.starts.push(i + 1);
  }

  lineOf(offset: number): number {
    const byte = offset - 1;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= byte) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

function keyName(key: unknown): string {
  const k = key as AstNode | undefined;
  if (!k) return '?';
  if (typeof k['value'] === 'string' || typeof k['value'] === 'number') return String(k['value']);
  if (k.type === 'PrivateName') return '#' + keyName(k['id']);
  return '[computed]';
}

/** The name a function node is known by, given the name its context proposes. */
function functionName(node: AstNode, proposed: string | undefined, owner: string | undefined): string {
  const prefix = owner ? owner + '.' : '';
  switch (node.type) {
    case 'FunctionDeclaration':
    case 'FunctionExpression':
      return prefix + (keyName(node['identifier']) !== '?' ? keyName(node['identifier']) : proposed ?? '<anonymous>');
    case 'Constructor':
      return prefix + 'constructor';
    case 'ClassMethod':
    case 'PrivateMethod': {
      const kind = node['kind'] === 'getter' ? 'get ' : node['kind'] === 'setter' ? 'set ' : '';
      return prefix + kind + keyName(node['key']);
    }
    case 'MethodProperty':
    case 'GetterProperty':
    case 'SetterProperty':
      return prefix + keyName(node['key']);
    default:
      return prefix + (proposed ?? '<arrow>');
  }
}

function collectFunctions(file: string, source: Buffer): FunctionLength[] {
  const module = parseSync(source.toString('utf8'), { syntax: 'typescript', target: 'es2024' }) as unknown as AstNode;
  const lines = new LineIndex(source);
  const found: FunctionLength[] = [];
  const visit = (value: unknown, proposed: string | undefined, owner: string | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, proposed, owner);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as AstNode;
    let nextOwner = owner;
    let nextProposed: string | undefined;
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') {
      nextOwner = keyName(node['identifier']) !== '?' ? keyName(node['identifier']) : proposed ?? '<class>';
    } else if (node.type === 'VariableDeclarator') {
      nextProposed = keyName(node['id']);
    } else if (node.type === 'KeyValueProperty' || node.type === 'ClassProperty' || node.type === 'PrivateProperty') {
      nextProposed = keyName(node['key']);
    }
    if (node.type && FUNCTION_TYPES.has(node.type) && node.span) {
      const start = lines.lineOf(node.span.start);
      const end = lines.lineOf(node.span.end - 1);
      found.push({ file, name: functionName(node, proposed, owner), line: start, lines: end - start + 1 });
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === 'span' || key === 'type') continue;
      visit(child, nextProposed, nextOwner);
    }
  };
  visit(module, undefined, undefined);
  return found;
}

function main(argv: string[]): void {
  let min = 50;
  let top = 10;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--min') min = Number(argv[++i]);
    else if (argv[i] === '--top') top = Number(argv[++i]);
    else dirs.push(argv[i]!);
  }
  if (dirs.length === 0) dirs.push('src', 'parsers');
  const files = dirs.flatMap((d) => (statSync(d).isDirectory() ? tsFiles(d) : [d]));
  const sizes: Array<{ file: string; lines: number }> = [];
  const functions: FunctionLength[] = [];
  for (const path of files) {
    const source = readFileSync(path);
    const file = relative(process.cwd(), path);
    sizes.push({ file, lines: source.toString('utf8').split('\n').length - (source.at(-1) === 0x0a ? 1 : 0) });
    functions.push(...collectFunctions(file, source));
  }
  sizes.sort((a, b) => b.lines - a.lines);
  const long = functions.filter((f) => f.lines >= min).sort((a, b) => b.lines - a.lines);
  const total = sizes.reduce((n, s) => n + s.lines, 0);
  console.log(`${files.length} files, ${total} lines, ${functions.length} functions; largest ${top} files:`);
  for (const s of sizes.slice(0, top)) console.log(`  ${String(s.lines).padStart(5)}  ${s.file}`);
  console.log(`${long.length} functions of ${min} lines or more:`);
  for (const f of long) console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.file}:${f.line}`);
}

main(process.argv.slice(2));
