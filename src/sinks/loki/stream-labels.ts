import type { LokiSinkConfig } from './config.ts';
import { LOKI_MAX_LABEL_NAMES, sanitizeLabelName } from './labels.ts';

/** A source label a Loki sink cannot send as configured (a `validate` warning). */
export interface LabelWarning {
  /** Key path in the config, e.g. `sources[1].labels.team`. */
  path: string;
  message: string;
}

/** The event label that picks the tenant instead of becoming a stream label. */
const TENANT_LABEL = '__tenant_id__';

/**
 * What a Loki sink sends given the sources: its `labels` plus every static label of every source
 * (a source's `labels` are meant as stream labels; they used to reach Loki only when repeated in
 * the sink's list), plus `filename` as a label or structured metadata per the sink's `filename`.
 * A source label that cannot be sent (reserved name, past Loki's 15 labels) or that is renamed to
 * label syntax is a warning with its key path; the daemon and `validate` report the same ones.
 */
export function lokiStreamFields(
  sink: LokiSinkConfig,
  sinkPath: string,
  sources: ReadonlyArray<{ name: string; labels?: Record<string, string> }>,
): { labels: string[]; structuredMetadata: string[]; warnings: LabelWarning[] } {
  const labels = [...sink.labels];
  const names = new Set(labels.map(sanitizeLabelName));
  const structuredMetadata = [...sink.structured_metadata];
  const warnings: LabelWarning[] = [];
  if (sink.filename === 'label' && !names.has('filename')) {
    labels.push('filename');
    names.add('filename');
  } else if (sink.filename === 'structured_metadata' && !structuredMetadata.includes('filename') && !names.has('filename')) {
    structuredMetadata.push('filename');
  }
  sources.forEach((src, i) => {
    for (const key of Object.keys(src.labels ?? {})) {
      const path = `sources[${i}].labels.${key}`;
      if (key === TENANT_LABEL) continue;
      const name = sanitizeLabelName(key);
      if (names.has(name)) continue;
      if (name.startsWith('__')) {
        warnings.push({ path, message: `dropped by ${sinkPath}: "${name}" is reserved in Loki (names starting with "__")` });
        continue;
      }
      if (labels.length >= LOKI_MAX_LABEL_NAMES) {
        warnings.push({ path, message: `dropped by ${sinkPath}: it already sends ${LOKI_MAX_LABEL_NAMES} labels, Loki's limit per stream (${labels.map(sanitizeLabelName).join(', ')})` });
        continue;
      }
      if (name !== key) warnings.push({ path, message: `sent by ${sinkPath} as the label "${name}" (Loki label syntax)` });
      labels.push(key);
      names.add(name);
    }
  });
  return { labels, structuredMetadata, warnings };
}
