import t from 'tap';
import fc from 'fast-check';
import { lokiSinkSchema } from '../../../src/sinks/loki/config.ts';
import { formatLabels, OVERFLOW_VALUE, quoteLabelValue, sanitizeLabelName, StreamLabeler, StructuredMetadataPicker } from '../../../src/sinks/loki/labels.ts';
import { countRejections } from '../../../src/sinks/loki/rejections.ts';
import { NO_ACK, type LogEvent, type LogRecord } from '../../../src/core/record.ts';
import { canonicalLabels, parseLabelString } from '../../servers/loki-labels.ts';

function ev(record: Partial<LogRecord>, labels: Record<string, string> = { job: 'app' }): LogEvent {
  return {
    record: { timestamp: '2024-01-15T10:00:00.000Z', level: 'INFO', service: 'api', message: 'm', source: { type: 'file', name: 'app', host: 'node-1' }, ...record },
    labels, ack: NO_ACK, size: 10,
  };
}

function labeler(labels: string[], over: string[] = [], caps = { values: 100, streams: 1000 }, now = () => 0): StreamLabeler {
  return new StreamLabeler({ labels, maxValuesPerLabel: caps.values, maxStreams: caps.streams, idleTtlMs: 60_000, onOverflow: (l) => over.push(l), now });
}

t.test('label names are sanitized to Prometheus syntax', async (t) => {
  t.equal(sanitizeLabelName('level'), 'level');
  t.equal(sanitizeLabelName('http.method'), 'http_method');
  t.equal(sanitizeLabelName('k8s-app'), 'k8s_app');
  t.equal(sanitizeLabelName('1st'), '_1st');
  t.equal(sanitizeLabelName('ünï'), '_n_');
});

t.test('label strings are formatted the way Loki parses them (property)', async (t) => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/), fc.string({ unit: 'binary', minLength: 1, maxLength: 40 })), { selector: (p) => p[0], maxLength: 15 }),
    (pairs) => {
      const sorted = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const text = formatLabels(sorted);
      const parsed = parseLabelString(text);
      const wellFormed = sorted.map(([k, v]) => [k, (v as string & { toWellFormed(): string }).toWellFormed()] as [string, string]);
      t.same(parsed, wellFormed.filter((p) => p[1] !== ''));
      return true;
    },
  ), { numRuns: 300 });
  t.equal(formatLabels([['a', 'x'], ['b', 'y "q" \\ \n\t\x01\x7f\u2028']]), '{a="x", b="y \\"q\\" \\\\ \\n\\t\\x01\\x7f\\u2028"}');
  t.equal(quoteLabelValue('plain'), '"plain"');
  t.equal(canonicalLabels(parseLabelString('{b="2",a="1",}')), '{a="1", b="2"}', 'server side: Loki sorts and tolerates a trailing comma');
  t.throws(() => parseLabelString('{a="1", a-b="2"}'), /parse error/);
  t.throws(() => parseLabelString('{a=~"1"}'), /parse error/);
});

t.test('streams: allowlist only, event labels first, then record fields; sorted; missing omitted', async (t) => {
  const l = labeler(['job', 'service', 'level', 'host', 'namespace', 'pod', 'container', 'stream', 'http.method']);
  const s = l.resolve(ev({ trace_id: 'abc', user_id: 'u1', http: { method: 'GET' } }, { job: 'cf1-backend', env: 'prod' }));
  t.equal(s.labels, '{host="node-1", http_method="GET", job="cf1-backend", level="INFO", service="api"}');
  const c = l.resolve(ev({ level: 'ERROR', source: { type: 'cri', name: 'pods', host: 'n', namespace: 'prod', pod: 'api-7f', container: 'api', stream: 'stderr' } }, { job: 'containerlogs' }));
  t.equal(c.labels, '{container="api", host="n", job="containerlogs", level="ERROR", namespace="prod", pod="api-7f", service="api", stream="stderr"}');
  const staged = l.resolve(ev({}, { job: 'app', level: 'debug' }));
  t.match(staged.labels, /level="debug"/, 'a stage-set label wins over the record field');
  t.equal(l.resolve(ev({ trace_id: 'other' }, { job: 'cf1-backend', env: 'prod' })).labels, '{host="node-1", job="cf1-backend", level="INFO", service="api"}', 'trace_id never becomes a label');
  const empty = labeler(['pod']);
  t.equal(empty.resolve(ev({})).labels, '{pod="unknown"}', 'a stream is never sent without labels');
  const long = labeler(['service']).resolve(ev({ service: 'x'.repeat(5000) }));
  t.equal(long.pairs[0][1].length, 2048, 'values cut at Loki\'s max_label_value_length');
});

t.test('cardinality guard: values per label and stream count capped, overflow replaced and counted, idle values age out', async (t) => {
  const over: string[] = [];
  let now = 1_000_000;
  const l = labeler(['job', 'pod'], over, { values: 3, streams: 1000 }, () => now);
  const pods = ['a', 'b', 'c', 'd', 'e'].map((p) => l.resolve(ev({ source: { type: 'cri', name: 'x', pod: p } })).labels);
  t.same(pods, ['{job="app", pod="a"}', '{job="app", pod="b"}', '{job="app", pod="c"}', `{job="app", pod="${OVERFLOW_VALUE}"}`, `{job="app", pod="${OVERFLOW_VALUE}"}`]);
  t.same(over, ['pod', 'pod']);
  t.equal(l.resolve(ev({ source: { type: 'cri', name: 'x', pod: 'a' } })).labels, '{job="app", pod="a"}', 'admitted values keep working');
  t.equal(l.activeStreams, 4);
  now += 120_000; // a, b, c idle past the TTL: room for new pods
  t.equal(l.resolve(ev({ source: { type: 'cri', name: 'x', pod: 'f' } })).labels, '{job="app", pod="f"}');

  const over2: string[] = [];
  const s = labeler(['job', 'level', 'request_path'], over2, { values: 100, streams: 2 });
  const paths = ['/a', '/b', '/c'].map((p) => s.resolve(ev({ metadata: { request_path: p } })).labels);
  t.same(paths, ['{job="app", level="INFO", request_path="/a"}', '{job="app", level="INFO", request_path="/b"}', `{job="app", level="INFO", request_path="${OVERFLOW_VALUE}"}`], 'the stream over the cap folds into its job/level overflow stream');
  t.same(over2, ['__stream__']);
});

t.test('structured metadata picks the configured fields, sanitized names, skips missing', async (t) => {
  let oversize = 0;
  const p = new StructuredMetadataPicker(['trace_id', 'span_id', 'user_id', 'request_id', 'ip_address', 'http.status_code'], () => oversize++);
  t.same(p.pick(ev({ trace_id: 'abc', user_id: 'u1', http: { status_code: 502 } })), [['trace_id', 'abc'], ['user_id', 'u1'], ['http_status_code', '502']]);
  t.equal(p.pick(ev({})), null);
  const big = new StructuredMetadataPicker(['a', 'b'], () => oversize++);
  t.same(big.pick(ev({ metadata: { a: 'x'.repeat(40_000), b: 'y'.repeat(40_000) } }))?.map((x) => x[0]), ['a'], 'pairs beyond Loki\'s 64 KB are left out');
  t.equal(oversize, 1);
});

t.test('400 bodies are counted per Loki reason', async (t) => {
  const body = `3 errors: Max entry size '262144' bytes exceeded for stream '{job="a"}' while adding an entry with length '300000' bytes; entry for stream '{job="a"}' has timestamp too old: 2020-01-01 00:00:00 +0000 UTC, oldest acceptable timestamp is: 2024-01-08 10:00:00 +0000 UTC; entry for stream '{job="b", a="1", c="2"}' has 16 label names; limit 15\n`;
  const r = countRejections(body, 10, (l) => (l === '{job="b", a="1", c="2"}' ? 4 : undefined));
  t.same(Object.fromEntries(r.byReason), { line_too_long: 1, greater_than_max_sample_age: 1, max_label_names_per_series: 4 });
  t.equal(r.total, 6);
  const behind = countRejections("entry with timestamp 2024-01-15 10:00:00 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2024-01-15T10:00:00Z, oldest acceptable timestamp is: 2024-01-15T11:00:00Z',\nuser 'fake', total ignored: 7 out of 9 for stream: {job=\"a\"}", 9, () => undefined);
  t.same(Object.fromEntries(behind.byReason), { too_far_behind: 7 });
  t.same(Object.fromEntries(countRejections('something new', 5, () => undefined).byReason), { bad_request: 5 });
});

t.test('config: label names validated at load with their key path', async (t) => {
  const base = { type: 'loki', url: 'http://127.0.0.1:3100' };
  const ok = lokiSinkSchema.parse(base);
  t.same(ok.labels, ['job', 'service', 'level', 'host', 'namespace', 'pod', 'container', 'stream']);
  t.same(ok.structured_metadata, ['trace_id', 'span_id', 'user_id', 'request_id', 'ip_address']);
  t.equal(ok.batch.max_bytes, 1024 * 1024);
  t.equal(ok.batch.max_wait, 1000);
  const issues = (v: object) => lokiSinkSchema.safeParse({ ...base, ...v }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  t.match(issues({ labels: Array.from({ length: 16 }, (_, i) => `l${i}`) }), [/^labels: Loki accepts at most 15/]);
  t.match(issues({ labels: ['job', '__name__'] }), [/^labels.1: label name "__name__" is reserved/]);
  t.match(issues({ labels: ['http.method', 'http_method'] }), [/^labels.1: label "http_method" becomes "http_method", the same label name as labels\[0\]/]);
  t.match(issues({ retry: { max_retry_duration: '10m' } }), [/^dead_letter_path: required when retry.max_retry_duration is set/]);
});
