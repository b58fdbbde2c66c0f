import { lokiStreamFields, type LabelWarning } from '../sinks/loki/stream-labels.ts';
import { sinkName, type Config } from './schema.ts';

/**
 * What a valid config asks for that will not happen as written (printed by `validate`, logged at
 * start): today, source labels a Loki sink drops or renames.
 */
export function configWarnings(cfg: Config): LabelWarning[] {
  const out: LabelWarning[] = [];
  cfg.sinks.forEach((s, i) => {
    if (s.type === 'loki') out.push(...lokiStreamFields(s, `sinks[${i}] (${sinkName(cfg, i)})`, cfg.sources).warnings);
  });
  return out;
}
