/**
 * The small config an environment override (LOGSHIP_LISTEN, LOKI_URL, ELASTICSEARCH_URL) is
 * validated as, by the same schema as a file: `text` is the YAML parsed with parseConfig, and
 * `raw`, when the value is printable ASCII without `$`, is exactly what that parse gives (a JSON
 * string of such characters is a YAML double-quoted scalar of the same text, and expandEnv leaves
 * text without `$` alone), so validateConfig(raw) answers the same without starting the YAML
 * parser, whose first run costs ~10 ms of cold code at every start with LOGSHIP_LISTEN set
 * (the image sets it; bench/RESULTS.md, "Start-up"). test/config/env-override.test.ts compares both.
 */
export type OverrideTarget = { server: 'listen' } | { sink: 'loki' | 'elasticsearch' };

const PLAIN_VALUE = /^[\x20-\x7e]*$/;
const FILLER_SOURCES = () => [{ name: 'x', paths: ['/x'] }];

export function overrideConfig(target: OverrideTarget, value: string): { text: string; raw: Record<string, unknown> | undefined } {
  const quoted = JSON.stringify(value);
  const plain = PLAIN_VALUE.test(value) && !value.includes('$');
  if ('server' in target) {
    return {
      text: `sinks: [{type: stdout}]\nsources: [{name: x, paths: [/x]}]\nserver: {listen: ${quoted}}`,
      raw: plain ? { sinks: [{ type: 'stdout' }], sources: FILLER_SOURCES(), server: { listen: value } } : undefined,
    };
  }
  return {
    text: `sources: [{name: x, paths: [/x]}]\nsinks: [{type: ${target.sink}, url: ${quoted}}]`,
    raw: plain ? { sources: FILLER_SOURCES(), sinks: [{ type: target.sink, url: value }] } : undefined,
  };
}
