import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { DaemonStatus } from '../../src/core/status.ts';
import { renderStatusPage } from '../../src/server/status-page.ts';
import { DaemonProcess, ROOT, freePort, tempDir, waitFor, writeConfig } from '../support/daemon.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = join(ROOT, '.tap', 'screenshots');

function sampleStatus(over: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    version: '9.9.9', node: '24.0.0', host: 'web-1', startedAt: '2024-01-15T10:00:00.000Z', uptimeSeconds: 3725,
    ready: { ready: false, reasons: ['sink loki failing for 400s: HTTP 503'] },
    buffer: { usedBytes: 3 * 1024 * 1024, limitBytes: 64 * 1024 * 1024, backpressureSeconds: 12 },
    sources: [
      { name: 'app', type: 'file', paths: ['/var/log/app/*.log'], files: [{ path: '/var/log/app/</td><script>alert(1)</script>.log', key: '1:2', offset: 2048, committed: 1024, size: 4096, state: 'paused', lag: 3072 }] },
      { name: 'docker', type: 'docker', paths: ['/var/lib/docker/containers/*/*-json.log'], files: [] },
    ],
    sinks: [{ name: 'loki', type: 'loki', state: 'retrying', lastSuccess: Date.now() - 400_000, lastError: 'HTTP 503 <html>', failingSince: Date.now() - 400_000, retries: 7, queued: 120, inflight: 1, sent: 5000, dropped: 2 }],
    ...over,
  };
}

t.test('server-side render: complete without JavaScript, escaped, one embedded renderer', async (t) => {
  const html = renderStatusPage(sampleStatus());
  t.notMatch(html, /<script>alert/, 'file names are escaped');
  t.match(html, /&#60;\/td&#62;&#60;script&#62;alert\(1\)&#60;\/script&#62;\.log/);
  t.match(html, /HTTP 503 &#60;html&#62;/, 'errors are escaped');
  t.match(html, /data-lag="3072"/);
  t.match(html, /data-state="paused"/);
  t.match(html, /no file matches <code>\/var\/lib\/docker\/containers\/\*\/\*-json\.log<\/code>/, 'a source without files says what it looks for');
  t.match(html, /data-retries="7" data-queued="120" data-dropped="2"/);
  t.match(html, /not ready/);
  t.match(html, /sink loki failing for 400s/);
  t.match(html, /logship <b>9\.9\.9<\/b> · Node 24\.0\.0/);
  t.notMatch(html, /http-equiv="refresh"/, 'no meta refresh: the script updates in place');
  t.notMatch(html, /\b(src|href)="(https?:)?\/\//, 'no external assets');
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  t.equal(scripts.length, 1);
  t.doesNotThrow(() => new Function(scripts[0]), 'the embedded script parses');
  t.match(scripts[0], /const renderStatusBody = function renderStatusBody\(/, 'the same renderer the server used');
});

t.test('journal sources and syslog receivers get their own tables: state and why, retry, cursor; listeners, drops by reason', async (t) => {
  const now = Date.now();
  const html = renderStatusPage(sampleStatus({
    sources: [
      {
        name: 'journal', type: 'journald', paths: ['/var/log/journal'], files: [],
        journald: { state: 'restarting', reason: 'journalctl exited with code 1: Failed to open <journal>', restartAt: now + 4000, backoffMs: 4000, journal: ['/var/log/journal'], committedCursor: 's=ab;i=2a;b=cd', entriesRead: 1200, entriesAcked: 1100, entriesSkipped: 3, restarts: 3 },
      },
      {
        name: 'net', type: 'syslog', paths: ['udp://0.0.0.0:514', 'tcp://0.0.0.0:6514'], files: [],
        syslog: { listeners: [{ address: 'udp://0.0.0.0:514', protocol: 'udp', tls: false }, { address: 'tcp://0.0.0.0:6514', protocol: 'tcp', tls: true }], connections: 2, maxConnections: 256, messagesReceived: { udp: 10, tcp: 20 }, dropped: { overload: 4, too_large: 1 }, refusedConnections: { max_connections: 0, tls: 2 }, truncated: 1 },
      },
    ],
  }));
  const journal = /<tr data-source="journal"[^]*?<\/tr>/.exec(html)?.[0] ?? '';
  t.match(journal, /data-state="restarting" data-read="1200" data-acked="1100" data-restarts="3" data-cursor="s=ab;i=2a;b=cd"/);
  t.match(journal, /Failed to open &#60;journal&#62;/, 'why it is not running, escaped');
  t.match(journal, /retry in [45]s \(backoff 4s\)/, 'when it retries and the backoff');
  t.match(journal, /3 skipped/);
  const net = /<tr data-source="net"[^]*?<\/tr>/.exec(html)?.[0] ?? '';
  t.match(net, /data-connections="2" data-udp="10" data-tcp="20" data-dropped-overload="4" data-dropped-too-large="1"/);
  t.match(net, /<code>tcp:\/\/0\.0\.0\.0:6514<\/code> <span class="badge">TLS<\/span>/, 'the TLS listener is marked');
  t.notMatch(net, /<code>udp:\/\/0\.0\.0\.0:514<\/code> <span class="badge">TLS/, 'the UDP one is not');
  t.match(net, /2 \/ 256/, 'connections against max_connections');
  t.match(net, /overload 4 · too large 1/, 'drops by reason');
  t.match(net, /max_connections 0 · tls 2/, 'refusals by reason');
  t.notMatch(html, /<tr class="nofiles" data-source="(journal|net)"/, 'neither is listed as a file source without files');
});

const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; .ci/run does)`;

/**
 * The real CLI tails a 4 MiB file into a file sink whose path is a FIFO this test reads. While
 * the test does not read, the sink's write blocks, the 256 KiB buffer budget fills and the
 * tailer pauses: the page must show the file paused with lag > 0. When the test drains the
 * FIFO, the page (never reloaded) must show the lag reach 0.
 */
t.test('the page in a real browser: a tailed file lags, then catches up to 0', { skip: noChromium }, async (t) => {
  const dir = tempDir('logship-status-page-');
  mkdirSync(join(dir, 'logs'));
  const logFile = join(dir, 'logs', 'big.log');
  const lines = 40_000;
  let text = '';
  for (let i = 0; i < lines; i++) text += `{"time":"2024-01-15T10:00:00.000Z","level":"info","msg":"GET /api/orders/${i} 200","request_id":"req-${i}","duration_ms":${i % 97}}\n`;
  writeFileSync(logFile, text);
  const size = Buffer.byteLength(text);
  const fifo = join(dir, 'shipped.fifo');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');

  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/positions.json", sync_interval: 200ms }
memory: { max_buffer_bytes: 256KiB }
sources:
  - { name: app, paths: ["${dir}/logs/*.log"], start_at: beginning }
  - { name: nginx, type: file, paths: ["${dir}/nginx/*.log"] }
sinks:
  - { type: file, name: fifo, path: "${fifo}", fsync: false }
`);
  // The reader opens the FIFO now (the sink's open blocks until it does) but does not read yet.
  const reader = createReadStream(fifo, { highWaterMark: 64 * 1024 });
  reader.pause();
  let received = 0;
  const d = new DaemonProcess(['run', '--config', cfg]);
  let ctx: BrowserContext | undefined;
  t.teardown(async () => {
    await ctx?.close().catch(() => {});
    reader.destroy();
    await d.kill('SIGKILL');
  });
  await d.waitHttp(port, '/healthz', 30_000);

  ctx = await chromium.launchPersistentContext(tempDir('logship-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1360, height: 820 } });
  const page: Page = ctx.pages()[0] ?? (await ctx.newPage());
  const foreign: string[] = [];
  const consoleErrors: string[] = [];
  let navigations = 0;
  page.on('request', (r) => {
    if (!r.url().startsWith(`http://127.0.0.1:${port}/`)) foreign.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.goto(`http://127.0.0.1:${port}/`);

  const row = page.locator(`#files tr[data-path="${logFile}"]`);
  const attr = async (name: string) => (await row.getAttribute(name, { timeout: 1000 })) ?? '';
  const lagsSeen: number[] = [];
  const sample = async () => {
    const lag = Number(await attr('data-lag'));
    if (lagsSeen.at(-1) !== lag) lagsSeen.push(lag);
    return lag;
  };

  // 1. Backpressure: the sink is blocked, the tailer paused, the page says so.
  await waitFor('the page to show the file paused with lag', async () => (await attr('data-state')) === 'paused' && (await sample()) > 0, 30_000, 100);
  await waitFor('the page to refresh itself from /api/status', async () => (await page.locator('#conn').getAttribute('data-state')) === 'live', 10_000, 100);
  t.equal(Number(await attr('data-size')), size, 'size is the file size');
  t.ok(Number(await attr('data-offset')) < size, 'offset (acknowledged) is behind');
  t.equal(await row.locator('.badge').textContent(), 'paused');
  t.match(await row.locator('td.lag').textContent(), /^\d+(\.\d)? (KiB|MiB)$/, 'lag shown human-readable');
  t.match(await page.locator('#files tr[data-source="nginx"]').textContent(), /no file matches/, 'a source with no files is listed');
  t.equal(await page.locator('#sinks tr[data-sink="fifo"] .badge').textContent(), 'ok');
  t.match(await page.locator('#build').textContent(), /logship \S+ · Node 24\./, 'build and version');
  mkdirSync(SHOTS, { recursive: true });
  const shot1 = join(SHOTS, 'status-page-backpressure.png');
  await page.screenshot({ path: shot1, fullPage: true });
  t.comment(`screenshot: ${shot1}`);

  // 2. Drain the FIFO: everything is delivered, the lag shown goes to 0 without a reload.
  reader.on('data', (chunk: Buffer | string) => {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) received++;
  });
  reader.resume();
  await waitFor(`lag 0 on the page (lags seen: ${lagsSeen.join(' → ')})`, async () => (await sample()) === 0 && (await attr('data-state')) === 'idle', 60_000, 100);
  t.equal(await row.locator('td.lag').textContent(), '0 B');
  t.equal(Number(await attr('data-offset')), size, 'offset reached the end of the file');
  t.ok(lagsSeen[0] > 0 && lagsSeen.at(-1) === 0, `lag went ${lagsSeen.join(' → ')}`);
  t.equal(received, lines, 'every line went through the sink');
  await waitFor('the sink row to count every line', async () => Number((await page.locator('#sinks tr[data-sink="fifo"] .sent').textContent())?.replace(/,/g, '')) === lines, 10_000, 100);
  t.match(await page.locator('#sinks tr[data-sink="fifo"] .last').textContent(), /^\d+s ago$/, 'last success');
  t.equal(await page.locator('#total-lag').getAttribute('data-bytes'), '0');
  const shot2 = join(SHOTS, 'status-page-caught-up.png');
  await page.screenshot({ path: shot2, fullPage: true });
  t.comment(`screenshot: ${shot2}`);

  // 3. The daemon goes away: the page says so instead of showing stale numbers as live.
  await d.kill('SIGTERM');
  await waitFor('the page to notice the daemon is gone', async () => (await page.locator('#conn').getAttribute('data-state')) === 'down', 15_000, 100);

  t.equal(navigations, 1, 'updated in place, never reloaded');
  t.same(foreign, [], 'no request leaves the daemon origin');
  t.same(consoleErrors.filter((m) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(m)), [], 'no console errors (CSP violations would show here)');
});
