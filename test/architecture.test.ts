import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * The import rules of ARCHITECTURE.md, as written in .dependency-cruiser.cjs: no cycle (type-only
 * imports included), no arrow against the flow, no box reaching into a box it may not import.
 */
const ROOT = resolve(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface CruiseResult {
  /** Violations of severity error. */
  errors: number;
  violations: Array<{ rule: { name: string }; from: string; to: string }>;
  modules: number;
  output: string;
}

function cruise(cwd: string, dirs: string[]): CruiseResult {
  const r = spawnSync(process.execPath, [DEPCRUISE, ...dirs, '--config', CONFIG, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  let parsed: { summary?: { violations: CruiseResult['violations']; totalCruised: number; error: number } } = {};
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    /* reported below through `output` */
  }
  if (r.status !== 0) throw new Error(`depcruise failed (exit ${r.status}): ${r.stderr}`);
  return { errors: parsed.summary?.error ?? -1, violations: parsed.summary?.violations ?? [], modules: parsed.summary?.totalCruised ?? 0, output: `${r.stderr}\n${r.stdout.slice(0, 2000)}` };
}

t.test('the tree follows the import rules', async (t) => {
  const r = cruise(ROOT, ['src', 'parsers', 'test', 'bench']);
  // A parser that silently reads nothing would pass every rule: make sure the tree was read.
  t.ok(r.modules > 150, `dependency-cruiser read the tree (${r.modules} modules)`, { output: r.output });
  t.same(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`), [], 'no violations');
  t.equal(r.errors, 0, 'no errors');
});

t.test('the rules reject a type-only cycle and an arrow against the flow', async (t) => {
  const r = cruise(join(ROOT, 'test', 'fixtures', 'architecture'), ['src']);
  const found = r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
  t.same(found, [
    'no-circular: src/core/contract.ts → src/core/detail.ts',
    'sinks: src/sinks/back-arrow.ts → src/parse/toolkit.ts',
  ], 'both fixture violations reported', { output: r.output });
  t.equal(r.errors, 2, 'two errors');
});
