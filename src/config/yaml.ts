import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * The yaml library, loaded at its first use: a start with the embedded default config (parsed
 * at build time, preparsed.ts) parses no YAML, and evaluating the library costs ~8-10 ms of CPU
 * and 1-3 MiB at every start (its bundle chunk imported alone; bench/RESULTS.md, "Start-up").
 * Run from the sources this is Node's require of the package; in the bundle (scripts/bundle.ts)
 * a require of dist/bundle/yaml.cjs, the library built on its own, outside the chunks a start
 * imports.
 */
export function loadYaml(): typeof Yaml {
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
}
