/**
 * The dashboard: one static page, served by `agentmem serve` at `/`. It asks
 * for an admin key (kept in this tab's sessionStorage only), then polls
 * /v1/admin/overview and draws providers, replication lag (an SVG line),
 * SLA and recent router events; the memory browser searches the key's
 * tenant through the same /v1 API any client uses. No build step, no
 * third-party script: every value is inserted as text, never as HTML.
 */
import { ROUTES } from './routes.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentmem</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: 1fr 1fr; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceef2; }
  tr[data-state="up"] td.state { color: #137333; font-weight: 600; }
  tr[data-state="down"] td.state { color: #c5221f; font-weight: 600; }
  .muted { color: #6b7280; }
  input, select, button { font: inherit; padding: 4px 8px; }
  #login { padding: 40px; }
  ul { margin: 0; padding-left: 18px; }
  pre { white-space: pre-wrap; margin: 0; }
</style>
</head>
<body>
<header><h1>agentmem</h1><span id="tenant" class="muted"></span><span id="updated" class="muted"></span></header>
<div id="login">
  <p>An admin API key (<code>agentmem keys create --scope admin</code>):</p>
  <input id="key" type="password" size="60" autocomplete="off"> <button id="connect">Connect</button>
  <p id="login-error" class="muted"></p>
</div>
<main id="app" hidden>
  <section><h2>Providers</h2><table><thead><tr><th>provider</th><th>state</th><th>breaker</th><th>latency</th><th>role</th></tr></thead><tbody id="providers"></tbody></table></section>
  <section><h2>SLA (30 days)</h2><div id="sla"></div></section>
  <section><h2>Replication lag</h2><svg id="lag" width="100%" height="120" viewBox="0 0 600 120" preserveAspectRatio="none"></svg><div id="lag-now" class="muted"></div></section>
  <section><h2>Recent router events</h2><ul id="events"></ul></section>
  <section class="wide"><h2>Memory browser</h2>
    <input id="query" placeholder="search sessions, memories and knowledge" size="50"> <button id="search">Search</button>
    <div style="display:grid;grid-template-columns:1fr 1fr 1fr;gap:12px;margin-top:8px">
      <div><h2>Sessions</h2><ul id="sessions"></ul></div>
      <div><h2>Memories</h2><ul id="memories"></ul></div>
      <div><h2>Knowledge</h2><ul id="atoms"></ul></div>
    </div>
    <div id="transcript"></div>
  </section>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem('agentmem-key') || '';
  const api = async (path, body) => {
    const response = await fetch(path, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: 'Bearer ' + key, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  };
  const el = (tag, text, attrs) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };
  const row = (cells, attrs) => {
    const tr = el('tr', undefined, attrs);
    for (const [text, cls] of cells) tr.append(el('td', text, cls ? { class: cls } : {}));
    return tr;
  };
  function draw(overview) {
    $('updated').textContent = 'updated ' + new Date(overview.at).toLocaleTimeString();
    $('providers').replaceChildren(...overview.providers.map((p) => row([
      [p.name], [p.up ? 'up' : 'down', 'state'], [p.breaker], [p.latencyMs === null ? '-' : p.latencyMs.toFixed(1) + ' ms'],
      [(p.writer ? 'writer' : '') + (p.fenced ? ' fenced' : '') + (p.drift ? ' drift: ' + p.drift : '')],
    ], { 'data-provider': p.name, 'data-state': p.up ? 'up' : 'down' })));
    const s = overview.sla.system;
    const pct = (x) => x === null || x === undefined ? 'n/a' : (x * 100).toFixed(3) + '%';
    $('sla').replaceChildren(
      el('div', 'availability ' + pct(s.availability) + ' (objective ' + pct(overview.sla.slo) + ')', { id: 'sla-availability' }),
      el('div', 'error budget left ' + pct(s.budgetLeftFraction) + ', burn rate (1 h) ' + (s.burnRate1h === null ? 'n/a' : s.burnRate1h.toFixed(2))),
      el('div', overview.sla.samples + ' samples', { class: 'muted' }),
    );
    const points = overview.lag;
    const max = Math.max(1, ...points.map((p) => p.maxLagSeconds));
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', '#1a73e8');
    line.setAttribute('stroke-width', '2');
    line.setAttribute('points', points.map((p, i) => (i * 600 / Math.max(1, points.length - 1)).toFixed(1) + ',' + (115 - p.maxLagSeconds / max * 105).toFixed(1)).join(' '));
    $('lag').replaceChildren(line);
    $('lag-now').textContent = 'now ' + (points.length ? points[points.length - 1].maxLagSeconds : 0) + ' s (max ' + max + ' s shown)';
    $('events').replaceChildren(...(overview.events.length ? overview.events.slice(0, 20).map((e) =>
      el('li', new Date(e.at).toLocaleTimeString() + ' ' + e.type + ' ' + (e.provider || (e.from + ' → ' + e.to)) + (e.state ? ' ' + e.state : '')))
      : [el('li', 'none yet', { class: 'muted' })]));
  }
  async function poll() {
    try { draw(await api('${ROUTES.overview.path}')); } catch (error) { $('updated').textContent = 'error: ' + error.message; }
  }
  async function search() {
    const q = $('query').value.trim();
    const [sessions, memories, atoms] = await Promise.all([
      api('${ROUTES.listSessions.path}?limit=20'),
      api('${ROUTES.recall.path}', q ? { text: q, limit: 20 } : { limit: 20 }),
      q ? api('${ROUTES.searchAtoms.path}', { query: q, limit: 10 }) : Promise.resolve({ results: [] }),
    ]);
    const matching = sessions.items.filter((s) => !q || JSON.stringify(s).toLowerCase().includes(q.toLowerCase()));
    $('sessions').replaceChildren(...matching.map((s) => {
      const li = el('li');
      const link = el('a', (s.title || s.id) + ' ' + s.startedAt.slice(0, 16), { href: '#', 'data-session': s.id });
      link.addEventListener('click', (event) => { event.preventDefault(); open(s.id); });
      li.append(link);
      return li;
    }));
    $('memories').replaceChildren(...memories.items.map((m) => el('li', m.type + ': ' + JSON.stringify(m.content))));
    $('atoms').replaceChildren(...atoms.results.map((h) => el('li', h.atom.atomId + ' — ' + h.atom.title)));
  }
  async function open(id) {
    const messages = await api('${ROUTES.getMessages.path}'.replace('{id}', encodeURIComponent(id)));
    $('transcript').replaceChildren(el('h2', 'Transcript ' + id), ...messages.items.map((m) =>
      el('pre', '[' + m.seq + '] ' + m.role + (m.name ? ' (' + m.name + ')' : '') + ': ' + (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))
        + (m.toolCalls ? ' → ' + m.toolCalls.map((c) => c.name).join(', ') : ''))));
  }
  async function connect() {
    key = $('key').value.trim() || key;
    try {
      const overview = await api('${ROUTES.overview.path}');
      sessionStorage.setItem('agentmem-key', key);
      $('login').hidden = true;
      $('app').hidden = false;
      $('tenant').textContent = 'tenant ' + overview.tenant;
      draw(overview);
      setInterval(poll, 1000);
    } catch (error) {
      $('login-error').textContent = error.message;
    }
  }
  $('connect').addEventListener('click', connect);
  $('search').addEventListener('click', () => search().catch((error) => { $('transcript').textContent = error.message; }));
  if (key) connect();
})();
</script>
</body>
</html>
`;
