import type { DaemonStatus } from '../core/status.ts';

/**
 * The status page at `/`: one self-contained HTML document (inline CSS and script, no external
 * assets; the server's CSP forbids any). It is rendered complete on the server, so it works
 * without JavaScript and in `curl`, and then refreshes itself from `/api/status` every second.
 *
 * One renderer serves both: `renderStatusBody` and its helpers (BODY_PARTS) are plain code over
 * plain data, and the page embeds their source text (Function.prototype.toString) for the
 * browser, so the first paint and every refresh cannot drift apart. They must therefore stay
 * self-contained: no imports, no references to anything outside their bodies but each other.
 */
export function renderStatusPage(st: DaemonStatus): string {
  const title = `logship ${esc(st.version)} · ${esc(st.host)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>logship <span class="ver">${esc(st.version)}</span></h1>
  <span id="conn" class="conn" data-state="static" title="auto-refresh from /api/status">snapshot</span>
</header>
<main id="root">${renderStatusBody(st, Date.now())}</main>
<footer>JSON: <a href="api/status">/api/status</a> · Prometheus: <a href="metrics">/metrics</a> · <a href="ready">/ready</a>
<noscript> · JavaScript is off: reload to update.</noscript></footer>
<script>
"use strict";
${BODY_PARTS.map((part) => part.toString()).join('\n')}
const renderStatusBody = ${renderStatusBody.toString()};
(${clientLoop.toString()})(renderStatusBody, 1000);
</script>
</body>
</html>
`;
}

// The few DOM members the client loop uses (the project's lib is ES + Node, not DOM).
interface PageElement { textContent: string | null; innerHTML: string; dataset: Record<string, string | undefined> }
declare const document: { hidden: boolean; getElementById(id: string): PageElement | null };

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The browser side: poll /api/status (relative, so the page also works behind a path prefix),
 * re-render, and show whether the data is live. Polling pauses while the tab is hidden and backs
 * off while the daemon does not answer.
 */
function clientLoop(render: (st: unknown, now: number) => string, everyMs: number): void {
  const root = document.getElementById('root')!;
  const conn = document.getElementById('conn')!;
  let last = '';
  let failures = 0;
  const setConn = (state: string, text: string) => {
    conn.dataset.state = state;
    conn.textContent = text;
  };
  const tick = async () => {
    if (!document.hidden) {
      try {
        const r = await fetch('api/status', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const html = render(await r.json(), Date.now());
        if (html !== last) root.innerHTML = last = html;
        failures = 0;
        setConn('live', `live · ${new Date().toLocaleTimeString()}`);
      } catch (e) {
        failures++;
        setConn('down', `daemon not answering (${(e as Error).message}) · retrying`);
      }
    }
    setTimeout(tick, failures === 0 ? everyMs : Math.min(30_000, everyMs * 2 ** failures));
  };
  // The badge says "snapshot" (the server's render) until the first refresh succeeded.
  setTimeout(tick, everyMs);
}

/**
 * The page body for one status snapshot. Self-contained (see renderStatusPage): it calls only the
 * functions of BODY_PARTS, which the page embeds beside it. Machine-readable values ride along as
 * data-* attributes (exact bytes, epoch ms) next to the human-readable text.
 */
export function renderStatusBody(st: DaemonStatus, now: number): string {
  const f = statusFormat(now);
  return summaryCards(st, f) + filesTable(st, f) + journalTable(st, f) + syslogTable(st, f) + sinksTable(st, f)
    + bruteForceTable(st, f) + fileErrorsTable(st, f) + faultsTable(st, f) + buildLine(st, f);
}

/** How the body writes values: escaped text, numbers, sizes, ages, bars and state badges. */
type StatusFormat = ReturnType<typeof statusFormat>;

function statusFormat(now: number) {
  const e = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const num = (n: number) => Math.round(n).toLocaleString('en-US');
  const bytes = (n: number) => {
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  };
  const ago = (ms: number | null) => {
    if (ms === null) return 'never';
    const s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
    if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
    return `${Math.floor(s / 86_400)}d ago`;
  };
  const duration = (s: number) => (s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172_800 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 86_400)}d`);
  const pct = (part: number, whole: number) => (whole <= 0 ? 100 : Math.min(100, Math.max(0, (part / whole) * 100)));
  const bar = (p: number, cls: string) => `<span class="bar ${cls}"><span style="width:${p.toFixed(1)}%"></span></span>`;
  const badge = (state: string) => `<span class="badge s-${e(state)}">${e(state)}</span>`;
  const STATE_HELP: Record<string, string> = {
    active: 'reading',
    idle: 'at end of file, waiting for new lines',
    paused: 'waiting: the buffer budget is spent until sinks acknowledge',
    rotated: 'renamed or deleted; read to the end, then closed',
    closed: 'done',
    ok: 'delivering',
    retrying: 'failing, retrying with backoff; files are held',
    auth_error: 'credentials rejected: needs an operator',
    running: 'journalctl is running',
    restarting: 'journalctl exited; restarted after the backoff',
    not_started: 'journalctl has not run yet (see why)',
  };
  /** A state badge with what the state means as its cell's title. */
  const stateCell = (state: string, extra = '') => `<td title="${e(STATE_HELP[state] ?? '')}">${badge(state)}${extra}</td>`;
  return { now, e, num, bytes, ago, duration, pct, bar, badge, stateCell };
}

function summaryCards(st: DaemonStatus, { e, bytes, duration, pct, bar }: StatusFormat): string {
  const files = st.sources.flatMap((s) => s.files);
  const totalLag = files.reduce((a, f) => a + f.lag, 0);
  const failing = st.sinks.filter((k) => k.state !== 'ok');
  const buf = st.buffer;
  const bufPct = pct(buf.usedBytes, buf.limitBytes);
  return `<section class="summary">
<div class="card ${st.ready.ready ? 'good' : 'bad'}" id="ready" data-ready="${st.ready.ready}"><div class="k">Status</div><div class="v">${st.ready.ready ? 'ready' : 'not ready'}</div>${st.ready.reasons.map((r) => `<div class="why">${e(r)}</div>`).join('')}</div>
<div class="card"><div class="k">Files</div><div class="v">${files.length}</div><div class="sub">${st.sources.length} source${st.sources.length === 1 ? '' : 's'}</div></div>
<div class="card ${totalLag > 0 ? 'warn' : ''}" id="total-lag" data-bytes="${totalLag}"><div class="k">Lag</div><div class="v">${bytes(totalLag)}</div><div class="sub">written, not yet acknowledged</div></div>
<div class="card ${bufPct >= 95 ? 'warn' : ''}"><div class="k">Buffer</div><div class="v">${bytes(buf.usedBytes)}</div><div class="sub">${bar(bufPct, bufPct >= 95 ? 'hot' : '')} of ${bytes(buf.limitBytes)}${buf.backpressureSeconds > 0 ? ` · paused ${duration(Math.round(buf.backpressureSeconds))} in total` : ''}</div></div>
<div class="card ${failing.length > 0 ? 'bad' : 'good'}"><div class="k">Sinks</div><div class="v">${st.sinks.length - failing.length}/${st.sinks.length} ok</div><div class="sub">${failing.map((k) => e(k.name)).join(', ') || '&nbsp;'}</div></div>
</section>`;
}

function filesTable(st: DaemonStatus, { e, num, bytes, pct, bar, stateCell }: StatusFormat): string {
  let html = `<h2>Sources and files</h2>
<table id="files"><thead><tr><th>Source</th><th>File</th><th>State</th><th class="n" title="acknowledged by every sink; the restart position">Offset</th><th class="n" title="read so far">Read</th><th class="n">Size</th><th class="n" title="size − offset: bytes not yet delivered">Lag</th><th>Delivered</th></tr></thead><tbody>`;
  for (const s of st.sources) {
    if (s.journald || s.syslog) continue; // their own tables below
    const src = `<td class="src" rowspan="${Math.max(1, s.files.length)}"><b>${e(s.name)}</b>${s.type ? `<div class="sub">${e(s.type)}</div>` : ''}</td>`;
    if (s.files.length === 0) {
      html += `<tr class="nofiles" data-source="${e(s.name)}">${src}<td colspan="7" class="muted">no file matches ${(s.paths ?? []).map((p) => `<code>${e(p)}</code>`).join(', ') || 'the configured paths'}</td></tr>`;
      continue;
    }
    s.files.forEach((f, i) => {
      const done = pct(f.committed, f.size);
      html += `<tr data-source="${e(s.name)}" data-path="${e(f.path)}" data-state="${e(f.state)}" data-offset="${f.committed}" data-size="${f.size}" data-lag="${f.lag}">${i === 0 ? src : ''}<td class="path" title="${e(f.path)}">${e(f.path)}</td>${stateCell(f.state)}<td class="n offset">${num(f.committed)}</td><td class="n read">${num(f.offset)}</td><td class="n size" title="${num(f.size)} bytes">${bytes(f.size)}</td><td class="n lag${f.lag > 0 ? ' behind' : ''}" title="${num(f.lag)} bytes">${bytes(f.lag)}</td><td>${bar(done, f.lag > 0 ? 'behind' : 'done')}</td></tr>`;
    });
  }
  return html + `</tbody></table>`;
}

function journalTable(st: DaemonStatus, { now, e, num, stateCell }: StatusFormat): string {
  const journals = st.sources.filter((s) => s.journald);
  if (journals.length === 0) return '';
  let html = `<h2>Journal sources</h2>
<table id="journald"><thead><tr><th>Source</th><th>Journal</th><th>State</th><th class="n">Read</th><th class="n" title="final in every sink (or skipped by exclude_units)">Acked</th><th class="n" title="journalctl children restarted">Restarts</th><th title="stored with the positions: a restart resumes after this entry">Committed cursor</th></tr></thead><tbody>`;
  for (const s of journals) {
    const j = s.journald!;
    const retry = j.restartAt !== null ? ` · retry in ${Math.max(0, Math.ceil((j.restartAt - now) / 1000))}s (backoff ${j.backoffMs === null ? '?' : Math.round(j.backoffMs / 100) / 10}s)` : '';
    const why = `${j.reason !== null ? `<div class="err why" title="${e(j.reason)}">${e(j.reason)}</div>` : ''}${retry ? `<div class="sub">${e(retry.slice(3))}</div>` : ''}`;
    html += `<tr data-source="${e(s.name)}" data-state="${e(j.state)}" data-read="${j.entriesRead}" data-acked="${j.entriesAcked}" data-restarts="${j.restarts}" data-cursor="${e(j.committedCursor ?? '')}"><td><b>${e(s.name)}</b></td><td class="path">${j.journal.map((p) => e(p)).join('<br>')}</td>${stateCell(j.state, why)}<td class="n">${num(j.entriesRead)}</td><td class="n">${num(j.entriesAcked)}${j.entriesSkipped > 0 ? `<div class="sub">${num(j.entriesSkipped)} skipped</div>` : ''}</td><td class="n${j.restarts > 0 ? ' behind' : ''}">${num(j.restarts)}</td><td class="path cursor">${j.committedCursor === null ? '<span class="muted">none yet</span>' : e(j.committedCursor)}</td></tr>`;
  }
  return html + `</tbody></table>`;
}

function syslogTable(st: DaemonStatus, { e, num }: StatusFormat): string {
  const receivers = st.sources.filter((s) => s.syslog);
  if (receivers.length === 0) return '';
  let html = `<h2>Syslog receivers</h2>
<table id="syslog"><thead><tr><th>Source</th><th>Listeners</th><th class="n" title="open TCP/TLS connections / max_connections">Connections</th><th class="n">Received</th><th class="n" title="overload: UDP while the buffer was full; too_large: octet-counted frame over max_message_bytes">Dropped</th><th class="n" title="max_connections reached, or TLS handshake failed">Refused</th><th class="n" title="cut at max_message_bytes, shipped">Truncated</th></tr></thead><tbody>`;
  for (const s of receivers) {
    const y = s.syslog!;
    const dropped = y.dropped.overload + y.dropped.too_large;
    const refused = y.refusedConnections.max_connections + y.refusedConnections.tls;
    const listeners = y.listeners.map((l) => `<code>${e(l.address)}</code>${l.tls ? ' <span class="badge">TLS</span>' : ''}`).join('<br>');
    html += `<tr data-source="${e(s.name)}" data-connections="${y.connections}" data-udp="${y.messagesReceived.udp}" data-tcp="${y.messagesReceived.tcp}" data-dropped-overload="${y.dropped.overload}" data-dropped-too-large="${y.dropped.too_large}"><td><b>${e(s.name)}</b></td><td>${listeners}</td><td class="n">${num(y.connections)} / ${num(y.maxConnections)}</td><td class="n">${num(y.messagesReceived.udp + y.messagesReceived.tcp)}<div class="sub">udp ${num(y.messagesReceived.udp)} · tcp ${num(y.messagesReceived.tcp)}</div></td><td class="n${dropped > 0 ? ' dropped behind' : ''}">${num(dropped)}<div class="sub">overload ${num(y.dropped.overload)} · too large ${num(y.dropped.too_large)}</div></td><td class="n${refused > 0 ? ' behind' : ''}">${num(refused)}<div class="sub">max_connections ${num(y.refusedConnections.max_connections)} · tls ${num(y.refusedConnections.tls)}</div></td><td class="n">${num(y.truncated)}</td></tr>`;
  }
  return html + `</tbody></table>`;
}

function sinksTable(st: DaemonStatus, { e, num, ago, stateCell }: StatusFormat): string {
  let html = `<h2>Sinks</h2>
<table id="sinks"><thead><tr><th>Sink</th><th>Type</th><th>State</th><th>Last success</th><th class="n">Retries</th><th class="n" title="accepted, not yet final">Queued</th><th class="n" title="requests in flight">In flight</th><th class="n">Sent</th><th class="n" title="rejected for good: counted, logged, dead-lettered">Dropped</th><th>Last error</th></tr></thead><tbody>`;
  for (const k of st.sinks) {
    const failingFor = k.failingSince !== null ? ` · failing for ${ago(k.failingSince).replace(' ago', '')}` : '';
    html += `<tr data-sink="${e(k.name)}" data-state="${e(k.state)}" data-last-success="${k.lastSuccess ?? ''}" data-retries="${k.retries}" data-queued="${k.queued}" data-dropped="${k.dropped}"><td><b>${e(k.name)}</b></td><td>${e(k.type)}</td>${stateCell(k.state)}<td class="last" title="${k.lastSuccess === null ? '' : e(new Date(k.lastSuccess).toISOString())}">${ago(k.lastSuccess)}${e(failingFor)}</td><td class="n retries">${num(k.retries)}</td><td class="n queued">${num(k.queued)}</td><td class="n">${num(k.inflight)}</td><td class="n sent">${num(k.sent)}</td><td class="n dropped${k.dropped > 0 ? ' behind' : ''}">${num(k.dropped)}</td><td class="err" title="${e(k.lastError)}">${e(k.lastError ?? '')}</td></tr>`;
  }
  if (st.sinks.length === 0) html += `<tr><td colspan="10" class="muted">no sinks running</td></tr>`;
  return html + `</tbody></table>`;
}

function bruteForceTable(st: DaemonStatus, { e, num, duration, badge }: StatusFormat): string {
  const bf = st.bruteForce;
  if (!bf) return '';
  let html = `<h2>Brute force</h2>
<p class="sub" id="brute-force" data-over="${bf.sources_over_threshold}" data-tracked="${bf.tracked_sources}">${num(bf.sources_over_threshold)} source IP${bf.sources_over_threshold === 1 ? '' : 's'} over ${num(bf.threshold)} failed logins in ${duration(bf.window_seconds)} · ${num(bf.tracked_sources)} remembered · at ${e(bf.clock.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} (the records' time)</p>
<table id="brute-force-sources"><thead><tr><th>Source IP</th><th class="n" title="over the threshold: failed logins since it crossed it (counting the ones that crossed it); else failed logins within the window">Failed logins</th><th>Over the threshold</th></tr></thead><tbody>`;
  for (const s of bf.top_sources) html += `<tr data-source-ip="${e(s.source_ip)}" data-failed-logins="${s.failed_logins}" data-over="${s.over_threshold}"><td class="path">${e(s.source_ip)}</td><td class="n">${num(s.failed_logins)}</td><td>${s.over_threshold ? badge('over') : ''}</td></tr>`;
  if (bf.top_sources.length === 0) html += `<tr><td colspan="3" class="muted">no failed logins within the window</td></tr>`;
  return html + `</tbody></table>`;
}

function fileErrorsTable(st: DaemonStatus, { e, num, ago }: StatusFormat): string {
  const fileErrors = st.sources.flatMap((s) => (s.errors ?? []).map((f) => ({ source: s.name, ...f })));
  if (fileErrors.length === 0) return '';
  let html = `<h2>Files that cannot be read</h2>
<table id="file-errors"><thead><tr><th>Source</th><th>File</th><th>Error</th><th>Since</th><th class="n" title="tried again at every rescan">Attempts</th><th>Message</th></tr></thead><tbody>`;
  for (const f of fileErrors) html += `<tr data-source="${e(f.source)}" data-path="${e(f.path)}" data-code="${e(f.code)}"><td>${e(f.source)}</td><td class="path">${e(f.path)}</td><td class="err">${e(f.code)}</td><td>${ago(f.since)}</td><td class="n">${num(f.attempts)}</td><td class="err" title="${e(f.message)}">${e(f.message)}</td></tr>`;
  return html + `</tbody></table>`;
}

function faultsTable(st: DaemonStatus, { e, num }: StatusFormat): string {
  const faults = st.faults;
  if (faults === undefined || faults.total === 0) return '';
  let html = `<h2>Record faults</h2>
<p class="sub">Records a parser, stage or encoder failed on; each was isolated (shipped as text, shipped without the stage, shipped as a fallback record, dead-lettered or dropped) and the lines around it shipped normally.</p>
<table id="faults" data-total="${faults.total}"><thead><tr><th>Kind</th><th>Where</th><th>Reason</th><th>Outcome</th><th class="n">Records</th></tr></thead><tbody>`;
  for (const c of faults.counts) html += `<tr data-kind="${e(c.kind)}" data-reason="${e(c.reason)}" data-outcome="${e(c.outcome)}" data-count="${c.count}"><td>${e(c.kind)}</td><td>${e(c.where)}</td><td>${e(c.reason)}</td><td>${e(c.outcome.replace(/_/g, ' '))}</td><td class="n">${num(c.count)}</td></tr>`;
  html += `</tbody></table>`;
  const last = faults.recent[faults.recent.length - 1];
  if (last !== undefined) html += `<p class="sub" id="last-fault">last: ${e(last.at)} ${e(last.kind)} in ${e(last.where)} (${e(last.reason)}) ${last.file ? `at <code>${e(last.file)}</code>${last.offset !== undefined ? ` offset ${num(last.offset)}` : ''}` : ''}${last.error ? ` — ${e(last.error)}` : ''}</p>`;
  return html;
}

function buildLine(st: DaemonStatus, { e, duration }: StatusFormat): string {
  return `<p class="build" id="build">logship <b>${e(st.version)}</b> · Node ${e(st.node)} · host <b>${e(st.host)}</b> · started ${e(st.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} · up ${duration(st.uptimeSeconds)}</p>`;
}

/** renderStatusBody's helpers: self-contained like it, embedded beside it in the page's script. */
const BODY_PARTS = [statusFormat, summaryCards, filesTable, journalTable, syslogTable, sinksTable, bruteForceTable, fileErrorsTable, faultsTable, buildLine];

const CSS = `
:root{--bg:#f7f8fa;--fg:#1d2330;--muted:#6b7385;--card:#fff;--line:#e2e5eb;--good:#1a7f4b;--good-bg:#e3f5ea;--warn:#9a6200;--warn-bg:#fff3d6;--bad:#b42318;--bad-bg:#fde8e6;--idle:#55607a;--idle-bg:#eceef3;--accent:#3056d3}
@media (prefers-color-scheme:dark){:root{--bg:#14171d;--fg:#e4e7ee;--muted:#8e97a9;--card:#1c2028;--line:#2c323d;--good:#5fd394;--good-bg:#143222;--warn:#f2c04f;--warn-bg:#3a2e10;--bad:#ff8a7f;--bad-bg:#3d1a17;--idle:#a5adbf;--idle-bg:#262b35;--accent:#8aa4ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;justify-content:space-between;gap:1em;padding:.8em 1.5em;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:1.25em;margin:0}.ver{color:var(--muted);font-weight:400}
h2{font-size:1em;margin:1.6em 0 .5em;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
main{padding:1em 1.5em;max-width:1500px}
footer{padding:1em 1.5em 2em;color:var(--muted)}a{color:var(--accent)}
.conn{font-size:.85em;padding:.2em .7em;border-radius:999px;background:var(--idle-bg);color:var(--idle)}
.conn[data-state=live]{background:var(--good-bg);color:var(--good)}.conn[data-state=down]{background:var(--bad-bg);color:var(--bad)}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:.8em}
.card{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--line);border-radius:8px;padding:.7em 1em}
.card.good{border-left-color:var(--good)}.card.warn{border-left-color:var(--warn)}.card.bad{border-left-color:var(--bad)}
.card .k{color:var(--muted);font-size:.8em;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}
.card .why{color:var(--bad);font-size:.85em}.sub{color:var(--muted);font-size:.85em}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:.45em .75em;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8em;color:var(--muted);font-weight:600;background:var(--bg)}
tbody tr:last-child td{border-bottom:0}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.src{border-right:1px solid var(--line);white-space:nowrap}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.err{color:var(--bad);max-width:28em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.behind{color:var(--warn);font-weight:600}.dropped.behind{color:var(--bad)}
.muted{color:var(--muted)}code{font-size:.9em}
.badge{display:inline-block;padding:.05em .6em;border-radius:999px;font-size:.85em;font-weight:600;background:var(--idle-bg);color:var(--idle)}
.s-active,.s-ok,.s-running{background:var(--good-bg);color:var(--good)}
.s-paused,.s-rotated,.s-retrying,.s-restarting{background:var(--warn-bg);color:var(--warn)}
.s-auth_error,.s-over,.s-not_started{background:var(--bad-bg);color:var(--bad)}
.bar{display:inline-block;width:110px;height:8px;border-radius:4px;background:var(--idle-bg);vertical-align:middle;overflow:hidden}
.bar>span{display:block;height:100%;background:var(--good)}.bar.behind>span,.bar.hot>span{background:var(--warn)}
.build{color:var(--muted);margin-top:2em}
`;
