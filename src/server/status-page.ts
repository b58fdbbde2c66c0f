import type { DaemonStatus } from '../daemon.ts';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The status page: plain HTML, no external assets, refreshes itself. */
export function renderStatusPage(st: DaemonStatus): string {
  const files = st.sources.flatMap((s) => s.files.map((f) => `<tr><td>${esc(s.name)}</td><td>${esc(f.path)}</td><td>${f.committed}</td><td>${f.size}</td><td class="lag">${f.lag}</td><td>${esc(f.state)}</td></tr>`)).join('');
  const sinks = st.sinks.map((k) => `<tr><td>${esc(k.name)}</td><td>${esc(k.type)}</td><td>${esc(k.state)}</td><td>${k.lastSuccess ? esc(new Date(k.lastSuccess).toISOString()) : 'never'}</td><td>${k.retries}</td><td>${k.queued}</td><td>${k.sent}</td><td>${k.dropped}</td></tr>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>logship ${esc(st.version)}</title><meta http-equiv="refresh" content="2">
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head>
<body><h1>logship ${esc(st.version)}</h1><p>host ${esc(st.host)} · node ${esc(st.node)} · up ${st.uptimeSeconds}s · ${st.ready.ready ? 'ready' : 'not ready: ' + esc(st.ready.reasons.join('; '))}</p>
<h2>Files</h2><table id="files"><tr><th>source</th><th>path</th><th>offset</th><th>size</th><th>lag</th><th>state</th></tr>${files}</table>
<h2>Sinks</h2><table id="sinks"><tr><th>name</th><th>type</th><th>state</th><th>last success</th><th>retries</th><th>queued</th><th>sent</th><th>dropped</th></tr>${sinks}</table>
</body></html>`;
}
