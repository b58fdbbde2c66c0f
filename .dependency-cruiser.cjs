/**
 * logship's import rules, checked by test/architecture.test.ts (`npx depcruise src parsers test bench
 * --config .dependency-cruiser.cjs`). ARCHITECTURE.md explains the boxes; this file is the law.
 *
 * Data flows one way: source → decode → parse → normalize → stages → batch → sink → ack → positions.
 * Every box may import `src/core/` (the shared contracts) and `src/self-metrics/` (logship's own
 * /metrics registry); beyond that each box lists the boxes it may import, and those lists form a
 * DAG, so there is no cycle between folders either. Type-only imports count like any other.
 */

/** A box may import only the folders in `allowed` (besides its own, core and self-metrics). */
function box(name, from, allowed) {
  const ok = ['src/core/', 'src/self-metrics/', from, ...allowed].map((p) => '^' + p.replace(/[.]/g, '\\.')).join('|');
  return {
    name,
    severity: 'error',
    comment: `${from} may import only ${['src/core/', 'src/self-metrics/', ...allowed].join(', ')} (see ARCHITECTURE.md)`,
    from: { path: '^' + from },
    to: { path: '^(src|parsers|test|bench)/', pathNot: ok },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle, type-only imports included: split the contract out (usually into src/core/).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file.',
      from: {},
      to: { couldNotResolve: true },
    },
    box('core-imports-nothing', 'src/core/', []),
    box('self-metrics', 'src/self-metrics/', []),
    box('parse-toolkit', 'src/parse/', []),
    box('parsers', 'parsers/', ['src/parse/']),
    box('positions', 'src/positions/', []),
    box('sources', 'src/sources/', ['src/positions/', 'src/parse/', 'parsers/']),
    box('derived-metrics', 'src/derived-metrics/', []),
    box('pipeline', 'src/pipeline/', ['src/parse/', 'src/derived-metrics/']),
    box('sinks', 'src/sinks/', []),
    box('workers', 'src/workers/', ['src/parse/', 'parsers/', 'src/pipeline/']),
    box('server', 'src/server/', []),
    box('config', 'src/config/', ['src/parse/', 'parsers/', 'src/positions/', 'src/sources/', 'src/pipeline/', 'src/derived-metrics/', 'src/sinks/', 'src/server/', 'src/workers/']),
    box('convert', 'src/convert/', ['src/config/', 'src/parse/', 'parsers/', 'src/positions/', 'src/sources/', 'src/pipeline/', 'src/derived-metrics/', 'src/sinks/', 'src/server/', 'src/workers/']),
    box('daemon', 'src/daemon.ts', ['src/config/', 'src/parse/', 'parsers/', 'src/positions/', 'src/sources/', 'src/pipeline/', 'src/derived-metrics/', 'src/sinks/', 'src/server/', 'src/workers/']),
    {
      name: 'src-not-to-tests-or-bench',
      severity: 'error',
      comment: 'Shipped code never imports tests or benchmarks.',
      from: { path: '^(src|parsers)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'tests-not-to-bench',
      severity: 'error',
      comment: 'bench/ builds on test support (servers, seeded lines), never the other way round.',
      from: { path: '^test/' },
      to: { path: '^bench/' },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser to use: swc parses the sources, and
    // it keeps `import type` (a type-only import is an arrow like any other).
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^test/fixtures/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
