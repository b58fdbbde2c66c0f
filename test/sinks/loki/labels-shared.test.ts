import t from 'tap';
import fc from 'fast-check';
import { StreamLabeler } from '../../../src/sinks/loki/labels.ts';
import { NO_ACK, type Level, type LogEvent, type SourceInfo } from '../../../src/core/record.ts';

// Events whose labels (and source) are shared frozen objects, as LineProcessor and the container
// decoders hand them out, must resolve to the same streams, with the same overflow counts, as
// events carrying fresh unfrozen copies (the labeler's per-object cache must never change a result).

const LABEL_SETS: Array<Record<string, string>> = [
  { job: 'app' },
  { job: 'app', env: 'prod' },
  { job: 'web', level: 'debug' },
  { job: 'web', host: 'override', 'http.method': 'PUT' },
  { job: 'x', http_method: 'DELETE', service: '' },
  {},
];
const SOURCES: SourceInfo[] = [
  { type: 'file', name: 'app', host: 'node-1', file: '/var/log/a.log' },
  { type: 'cri', name: 'pods', host: 'n', namespace: 'prod', pod: 'api-7f', container: 'api', stream: 'stderr' },
  { type: 'cri', name: 'pods', host: 'n', namespace: 'prod', pod: 'api-7f', container: 'api', stream: 'stdout' },
  { type: 'docker', name: 'd', host: 'n2', container_name: 'c', stream: 'stdout' },
];
const sharedLabels = LABEL_SETS.map((l) => Object.freeze({ ...l }));
const sharedSources = SOURCES.map((s) => Object.freeze({ ...s }));

const eventArb = fc.record({
  labels: fc.nat(LABEL_SETS.length - 1),
  source: fc.nat(SOURCES.length - 1),
  frozenSource: fc.boolean(),
  level: fc.constantFrom<Level>('INFO', 'WARN', 'ERROR'),
  service: fc.constantFrom('api', 'auth', 'web', 's4', 's5', 's6'),
  method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
  metaService: fc.option(fc.constantFrom('m1', 'm2'), { nil: undefined }),
  noService: fc.boolean(),
  tick: fc.nat(40_000),
});
type EventSpec = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function build(e: EventSpec, shared: boolean): LogEvent {
  const source = shared && e.frozenSource ? sharedSources[e.source] : { ...SOURCES[e.source] };
  const record: LogEvent['record'] = { timestamp: '2024-01-15T10:00:00.000Z', level: e.level, service: e.service, message: 'm', source };
  if (e.noService) delete (record as Partial<typeof record>).service;
  if (e.method) record.http = { method: e.method };
  if (e.metaService) record.metadata = { service: e.metaService, level: 'meta' };
  return { record, labels: shared ? sharedLabels[e.labels] : { ...LABEL_SETS[e.labels] }, ack: NO_ACK, size: 1 };
}

function labeler(fields: string[], over: string[], clock: { now: number }, caps: { values: number; streams: number }): StreamLabeler {
  return new StreamLabeler({ labels: fields, maxValuesPerLabel: caps.values, maxStreams: caps.streams, idleTtlMs: 60_000, onOverflow: (l) => over.push(l), now: () => clock.now });
}

t.test('shared frozen labels and sources resolve exactly like fresh copies (property)', async (t) => {
  const fieldSets = [
    ['job', 'service', 'level', 'host', 'namespace', 'pod', 'container', 'stream'],
    ['job', 'level'],
    ['env', 'http.method', 'container_name', 'service'],
    ['host'],
  ];
  fc.assert(fc.property(fc.constantFrom(...fieldSets), fc.record({ values: fc.integer({ min: 1, max: 4 }), streams: fc.integer({ min: 1, max: 8 }) }), fc.array(eventArb, { maxLength: 120 }), (fields, caps, events) => {
    const clockA = { now: 0 };
    const clockB = { now: 0 };
    const overA: string[] = [];
    const overB: string[] = [];
    const shared = labeler(fields, overA, clockA, caps);
    const fresh = labeler(fields, overB, clockB, caps);
    for (const e of events) {
      clockA.now += e.tick;
      clockB.now += e.tick;
      const a = shared.resolve(build(e, true));
      const b = fresh.resolve(build(e, false));
      if (a.labels !== b.labels) return false;
    }
    return overA.join() === overB.join() && shared.activeStreams === fresh.activeStreams;
  }), { numRuns: 400 });
  t.pass();
});

t.test('shared frozen labels: results and overflow counts stay the same across memo resets and idle expiry', async (t) => {
  // memoMax is max(1000, 4 × streams): 2000 tuples force several resets of every memo.
  const caps = { values: 5000, streams: 250 };
  const clockA = { now: 0 };
  const clockB = { now: 0 };
  const overA: string[] = [];
  const overB: string[] = [];
  const shared = labeler(['job', 'service', 'level', 'host'], overA, clockA, caps);
  const fresh = labeler(['job', 'service', 'level', 'host'], overB, clockB, caps);
  const mismatches: string[] = [];
  let resolved = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 2000; i++) {
      clockA.now = clockB.now = round * 100_000 + i * 20;
      const labelsIdx = i % 3;
      const sourceIdx = i % 2;
      const service = `s${(i * 7) % 1500}`;
      const mk = (sharedObjects: boolean): LogEvent => ({
        record: { timestamp: '', level: 'INFO', service, message: '', source: sharedObjects ? sharedSources[sourceIdx] : { ...SOURCES[sourceIdx] } },
        labels: sharedObjects ? sharedLabels[labelsIdx] : { ...LABEL_SETS[labelsIdx] }, ack: NO_ACK, size: 1,
      });
      const a = shared.resolve(mk(true)).labels;
      const b = fresh.resolve(mk(false)).labels;
      resolved++;
      if (a !== b) mismatches.push(`${round}/${i}: ${a} != ${b}`);
    }
  }
  t.equal(resolved, 6000);
  t.same(mismatches.slice(0, 5), []);
  t.ok(overB.length > 0, 'the stream cap was reached');
  t.equal(overA.length, overB.length, 'same overflow count');
  t.equal(shared.activeStreams, fresh.activeStreams);
});
