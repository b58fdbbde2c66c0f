import { readFileSync } from 'node:fs';
import { convertPromtail } from './promtail/convert.ts';
import { PromtailInputError } from './promtail/issues.ts';

/** Exit codes of `logship convert`: everything converted, something left out, unreadable input or usage. */
export const CONVERT_EXIT = { converted: 0, partial: 1, unreadable: 2 } as const;

const FORMATS = ['promtail'];

/**
 * `logship convert --from promtail FILE`: the logship config on stdout; on stderr every key that
 * was left out or only approximated, with its key path and why.
 */
export function convertCommand(opts: { from: string | undefined; file: string | undefined }, io: { stdout: (s: string) => void; stderr: (s: string) => void }): number {
  if (opts.from === undefined || !FORMATS.includes(opts.from)) {
    io.stderr(`logship convert: --from must be one of ${FORMATS.join(', ')}${opts.from === undefined ? '' : ` (got "${opts.from}")`}\n`);
    return CONVERT_EXIT.unreadable;
  }
  if (opts.file === undefined) {
    io.stderr('logship convert: name the Promtail config file: logship convert --from promtail FILE\n');
    return CONVERT_EXIT.unreadable;
  }
  let text: string;
  try {
    text = readFileSync(opts.file, 'utf8');
  } catch (e) {
    io.stderr(`logship convert: cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return CONVERT_EXIT.unreadable;
  }
  let result;
  try {
    result = convertPromtail(text, opts.file);
  } catch (e) {
    if (e instanceof PromtailInputError) {
      io.stderr(`logship convert: ${e.message}\n`);
      return CONVERT_EXIT.unreadable;
    }
    throw e;
  }
  io.stdout(result.yaml);
  for (const i of result.issues) io.stderr(`not converted: ${i.path}: ${i.reason}\n`);
  if (result.issues.length === 0) return CONVERT_EXIT.converted;
  io.stderr(`logship convert: ${result.issues.length} Promtail key(s) not converted or converted differently (listed above)\n`);
  return CONVERT_EXIT.partial;
}
