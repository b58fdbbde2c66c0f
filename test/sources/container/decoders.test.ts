import t from 'tap';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { ContainerMetrics } from '../../../src/sources/container/container-metrics.ts';
import { CriDecoder } from '../../../src/sources/container/cri.ts';
import { DockerDecoder } from '../../../src/sources/container/docker.ts';
import type { LineReceiver } from '../../../src/core/line.ts';
import { CollectingReceiver, LineFeeder, silentLog } from '../support.ts';
import { CRI_LOG, DOCKER_LOG, expected, fixtureLines } from './support.ts';

function decoder(format: 'docker' | 'cri', next: LineReceiver, maxPartialBytes = 1024 * 1024, partialTimeout = 5000) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const opts = { maxPartialBytes, partialTimeout, metrics: new ContainerMetrics(metrics, 'test', format), log: silentLog };
  return { metrics, d: format === 'docker' ? new DockerDecoder(next, opts) : new CriDecoder(next, opts) };
}

for (const format of ['docker', 'cri'] as const) {
  t.test(`${format}: 40 KiB records split in pieces, stdout/stderr interleaved, are rejoined exactly`, async (t) => {
    const out = new CollectingReceiver();
    const { d, metrics } = decoder(format, out);
    const feeder = new LineFeeder();
    for (const l of fixtureLines(format === 'docker' ? DOCKER_LOG : CRI_LOG)) feeder.feed(d, l);
    const want = expected(format);
    t.equal(out.lines.length, want.length);
    for (let i = 0; i < want.length; i++) {
      t.equal(out.lines[i].text, want[i].text, `record ${i} text (${want[i].text.length} chars)`);
      t.equal(out.lines[i].stream, want[i].stream);
      t.equal(out.lines[i].source.stream, want[i].stream);
      t.equal(out.lines[i].runtimeTimestamp, want[i].time, 'the first piece\'s runtime time');
      t.equal(out.lines[i].truncated, false);
    }
    t.equal(feeder.watermark.committed, feeder.end, 'every piece settled: committed to the end');
    t.equal(feeder.watermark.pending, 0);
    t.match(await metrics.metrics(), new RegExp(`logship_container_lines_joined_total\\{source="test",format="${format}"\\} 5`));
  });

  t.test(`${format}: the committed offset of a joined record is the end of its last piece, never inside it`, async (t) => {
    const out = new CollectingReceiver();
    out.hold = true;
    const { d } = decoder(format, out);
    const feeder = new LineFeeder();
    const line = (stream: string, text: string, final: boolean) => format === 'docker'
      ? JSON.stringify({ log: final ? `${text}\n` : text, stream, time: '2024-01-15T10:00:00.000000001Z' })
      : `2024-01-15T10:00:00.000000001Z ${stream} ${final ? 'F' : 'P'} ${text}`;
    const p1 = feeder.feed(d, line('stdout', 'aaa', false));
    feeder.feed(d, line('stderr', 'err', true));
    t.equal(out.lines.length, 1, 'stderr line passes while stdout is pending');
    out.releaseHeld();
    t.equal(feeder.watermark.committed, p1.start, 'the pending stdout record pins the position before its first piece');
    const p2 = feeder.feed(d, line('stdout', 'bbb', true));
    t.equal(out.lines[1].text, 'aaabbb');
    t.equal(feeder.watermark.committed, p1.start, 'still unacknowledged');
    out.releaseHeld();
    t.equal(feeder.watermark.committed, p2.end, 'acked: committed to the end of the last piece');
  });

  t.test(`${format}: max_partial_bytes caps a joined record (truncated) and a lone partial is flushed on timeout`, async (t) => {
    const out = new CollectingReceiver();
    const { d, metrics } = decoder(format, out, 10, 100);
    const feeder = new LineFeeder();
    const line = (text: string, final: boolean) => format === 'docker'
      ? JSON.stringify({ log: final ? `${text}\n` : text, stream: 'stdout', time: 't' })
      : `t stdout ${final ? 'F' : 'P'} ${text}`;
    feeder.feed(d, line('123456', false));
    feeder.feed(d, line('789abc', false));
    feeder.feed(d, line('def', true));
    t.same(out.texts, ['123456789a']);
    t.equal(out.lines[0].truncated, true);
    feeder.feed(d, line('tail', false), Date.now() - 200);
    d.flush(false);
    t.same(out.texts, ['123456789a', 'tail'], 'flushed after the timeout');
    t.equal(feeder.watermark.committed, feeder.end);
    const m = await metrics.metrics();
    t.match(m, /logship_container_lines_truncated_total\{[^}]*\} 1/);
    t.match(m, /logship_container_partial_flushed_total\{[^}]*\} 1/);
  });

  t.test(`${format}: a line that is not in the runtime format ships as plain text and is counted`, async (t) => {
    const out = new CollectingReceiver();
    const { d, metrics } = decoder(format, out);
    const feeder = new LineFeeder();
    feeder.feed(d, 'garbage line');
    feeder.feed(d, format === 'docker' ? '{"log":5}' : '2024-01-15T10:00:00Z stdin F x');
    t.same(out.texts, ['garbage line', format === 'docker' ? '{"log":5}' : '2024-01-15T10:00:00Z stdin F x']);
    t.match(await metrics.metrics(), /logship_container_decode_errors_total\{[^}]*\} 2/);
    t.equal(feeder.watermark.committed, feeder.end);
  });
}

t.test('cri: tags with extra fields and empty messages', async (t) => {
  const out = new CollectingReceiver();
  const { d } = decoder('cri', out);
  const feeder = new LineFeeder();
  feeder.feed(d, '2024-01-15T10:00:00.1Z stdout P:x part');
  feeder.feed(d, '2024-01-15T10:00:00.2Z stdout F:x  two spaces');
  feeder.feed(d, '2024-01-15T10:00:00.3Z stderr F');
  feeder.feed(d, '2024-01-15T10:00:00.4Z stderr F ');
  t.same(out.texts, ['part two spaces', '', '']);
});
