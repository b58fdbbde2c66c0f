import t from 'tap';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { multilineSchema } from '../../src/sources/config.ts';
import { MultilineJoiner } from '../../src/sources/multiline.ts';
import type { SourceInfo } from '../../src/core/record.ts';
import { CollectingReceiver, LineFeeder } from './support.ts';

function joiner(cfg: Record<string, unknown>) {
  const out = new CollectingReceiver();
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const j = new MultilineJoiner(multilineSchema.parse(cfg), out, metrics, 'test');
  return { out, j, metrics };
}

t.test('stack traces of Java, Python, Node and Go join under their first line', async (t) => {
  const { out, j } = joiner({ start: '^\\d{4}-\\d{2}-\\d{2}' });
  const f = new LineFeeder();
  const java = ['2024-01-15 10:00:00 ERROR boom', 'java.lang.IllegalStateException: bad', '\tat com.x.A.run(A.java:10)', '\tat java.base/java.lang.Thread.run(Thread.java:833)', 'Caused by: java.io.IOException: disk', '\t... 3 more'];
  const py = ['2024-01-15 10:00:01 ERROR oops', 'Traceback (most recent call last):', '  File "app.py", line 3, in <module>', '    main()', 'ZeroDivisionError: division by zero'];
  const node = ['2024-01-15 10:00:02 TypeError: x is undefined', '    at Object.<anonymous> (/app/index.js:1:1)', '    at Module._compile (node:internal/modules/cjs/loader:1256:14)'];
  const go = ['2024-01-15 10:00:03 panic: runtime error', '', 'goroutine 1 [running]:', 'main.main()', '\t/app/main.go:5 +0x1d'];
  for (const l of [...java, ...py, ...node, ...go]) f.feed(j, l);
  t.same(out.texts, [java.join('\n'), py.join('\n'), node.join('\n')], 'each record is emitted when the next one starts');
  j.flush(true);
  t.same(out.texts[3], go.join('\n'));
  t.equal(f.watermark.committed, f.end, 'all lines committed after the records settled');
});

t.test('state per stream: interleaved stdout/stderr records do not mix', async (t) => {
  const { out, j } = joiner({ start: '^START' });
  const f = new LineFeeder();
  const info: SourceInfo = { type: 'cri', name: 'x' };
  const line = (text: string, stream: 'stdout' | 'stderr') => {
    j.receive({ text, stream, ack: f.watermark.issue(0, 0, 0), truncated: false, source: info, readTime: Date.now() });
  };
  line('START out', 'stdout');
  line('START err', 'stderr');
  line(' out cont', 'stdout');
  line(' err cont', 'stderr');
  line('START out2', 'stdout');
  t.same(out.texts, ['START out\n out cont']);
  j.flush(true);
  t.same(out.texts.slice(1).sort(), ['START err\n err cont', 'START out2']);
});

t.test('max_lines and max_bytes cut a record with the truncated flag; the rest is still committed', async (t) => {
  const { out, j, metrics } = joiner({ start: '^S', max_lines: 3, max_bytes: '1KiB' });
  const f = new LineFeeder();
  for (const l of ['S1', 'a', 'b', 'c', 'd', 'S2', 'x'.repeat(600), 'y'.repeat(600), 'S3']) f.feed(j, l);
  t.same(out.texts, ['S1\na\nb', `S2\n${'x'.repeat(600)}`]);
  t.same(out.lines.map((l) => l.truncated), [true, true]);
  j.flush(true);
  t.equal(f.watermark.committed, f.end);
  t.match(await metrics.metrics(), /logship_multiline_truncated_total\{source="test"\} 2/);
});

t.test('the flush timeout counts from the last appended line', async (t) => {
  const { out, j } = joiner({ start: '^S', timeout: '1s' });
  const f = new LineFeeder();
  const now = Date.now();
  f.feed(j, 'S1', now - 5000);
  f.feed(j, ' cont', now - 500); // appended 0.5 s ago: not yet due although the record started 5 s ago
  j.flush(false);
  t.equal(out.lines.length, 0);
  f.feed(j, 'S2', now - 2000);
  t.equal(out.lines.length, 1);
  j.flush(false);
  t.same(out.texts, ['S1\n cont', 'S2'], 'S2 idle for 2 s: flushed');
});
