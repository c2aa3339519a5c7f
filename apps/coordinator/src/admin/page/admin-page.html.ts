/**
 * The admin page's document: one self-contained HTML file (inline CSS and vanilla JS, no build)
 * driving the admin REST API from the browser. Kept as a TypeScript string so the bundled app
 * ships it. Everything from the API is rendered with text nodes, never parsed as HTML.
 *
 * Stable hooks for tests: ids on the controls and data-testid on repeated rows (tx-row with
 * data-gid, branch-row with data-branch-id, failure-row, audit-row).
 *
 * The script avoids backticks, "${" and backslashes so the TypeScript template stays literal.
 */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TCC coordinator admin</title>
<style>
:root {
  --bg: #f4f5f7; --fg: #1b2230; --muted: #5f6b7c; --line: #d8dde4; --card: #fff; --head: #1b2230;
  --accent: #2456c7; --danger: #b42318; --danger-bg: #fef3f2; --ok: #067647; --ok-bg: #ecfdf3; --warn: #b54708;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: center; padding: 10px 16px; background: var(--head); color: #fff; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
header label { color: #cdd3dc; font-size: 13px; }
header a { color: #a9c1ff; font-size: 13px; }
header .spacer { flex: 1; }
main { padding: 12px 16px 40px; max-width: 1700px; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin-bottom: 14px; }
.card h2 { font-size: 15px; margin: 0 0 10px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.card h3 { font-size: 13px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
input, select, button { font: inherit; }
input[type=text], input[type=password], input[type=datetime-local], select { padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--fg); }
header input { border-color: #3b4658; }
button { padding: 4px 10px; border-radius: 4px; border: 1px solid var(--line); background: #fff; cursor: pointer; color: var(--fg); }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
button.link { border: none; background: none; padding: 0; color: var(--accent); text-decoration: underline; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; text-align: left; word-break: break-all; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: flex-end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 10px 0 6px; color: var(--muted); font-size: 13px; }
.toolbar .spacer { flex: 1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; white-space: nowrap; }
tr.selected td { background: #eef3ff; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
td.error-text { color: var(--danger); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; white-space: pre-wrap; word-break: break-word; max-width: 520px; }
td.error-text.done { color: var(--muted); }
td.empty { color: var(--muted); font-style: italic; text-align: center; padding: 14px; }
.nowrap { white-space: nowrap; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.s-TRYING { background: #eef4ff; color: #3538cd; border-color: #c7d7fe; }
.s-COMMITTING { background: #fffaeb; color: var(--warn); border-color: #fedf89; }
.s-ROLLING_BACK { background: #fff4ed; color: #c4320a; border-color: #f9dbaf; }
.s-COMMITTED { background: var(--ok-bg); color: var(--ok); border-color: #abefc6; }
.s-ROLLED_BACK { background: #f2f4f7; color: #475467; border-color: #d0d5dd; }
.s-REGISTERED { background: #fffaeb; color: var(--warn); border-color: #fedf89; }
.s-CONFIRMED { background: var(--ok-bg); color: var(--ok); border-color: #abefc6; }
.s-CANCELLED { background: #f2f4f7; color: #475467; border-color: #d0d5dd; }
.attention { color: var(--danger); font-weight: 600; white-space: nowrap; }
.banner { padding: 8px 12px; border-radius: 4px; margin: 8px 0; white-space: pre-wrap; word-break: break-word; }
.banner.error { background: var(--danger-bg); color: var(--danger); border: 1px solid #fecdca; }
.banner.notice { background: var(--ok-bg); color: var(--ok); border: 1px solid #abefc6; }
dl.summary { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 4px 14px; margin: 0; }
dl.summary dt { color: var(--muted); font-size: 12.5px; }
dl.summary dd { margin: 0; word-break: break-word; }
pre.metadata { margin: 0; font-size: 12px; background: #fafbfc; border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; max-height: 160px; overflow: auto; white-space: pre-wrap; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px; border: 1px dashed var(--line); border-radius: 6px; margin-top: 12px; background: #fcfcfd; }
.actions input[type=text] { min-width: 260px; }
.resolve { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.resolve input[type=text] { min-width: 200px; }
.hint { font-size: 12px; color: var(--muted); }
@media (max-width: 900px) { dl.summary { grid-template-columns: max-content 1fr; } }
</style>
</head>
<body>
<header>
  <h1>TCC coordinator</h1>
  <form id="auth-form" autocomplete="off">
    <label for="token">Admin token</label>
    <input id="token" type="password" size="28" autocomplete="off" spellcheck="false" placeholder="TCC_ADMIN_TOKEN">
    <label for="actor">Your name</label>
    <input id="actor" type="text" size="14" maxlength="128" autocomplete="off" spellcheck="false" placeholder="admin" title="Recorded as the actor of every action (header x-tcc-actor)">
    <button id="save-token" type="submit" class="primary">Connect</button>
    <button id="forget-token" type="button" title="Remove the token from this tab">Forget</button>
  </form>
  <span class="spacer"></span>
  <a href="/metrics" target="_blank" rel="noopener">metrics</a>
  <a href="/docs" target="_blank" rel="noopener">API docs</a>
</header>
<main>
  <section class="card" id="list-section">
    <h2>Transactions</h2>
    <form id="filters" class="filters">
      <label>Status
        <select id="filter-status">
          <option value="">any</option>
          <option>TRYING</option>
          <option>COMMITTING</option>
          <option>ROLLING_BACK</option>
          <option>COMMITTED</option>
          <option>ROLLED_BACK</option>
        </select>
      </label>
      <label>Participant <input id="filter-participant" type="text" size="18" maxlength="128" spellcheck="false"></label>
      <label>Attention
        <select id="filter-attention">
          <option value="">any</option>
          <option value="true">flagged</option>
          <option value="false">not flagged</option>
        </select>
      </label>
      <label>Created from (local time) <input id="filter-created-from" type="datetime-local" step="1"></label>
      <label>Created before (local time) <input id="filter-created-to" type="datetime-local" step="1"></label>
      <label>Per page
        <select id="filter-limit">
          <option>10</option>
          <option selected>25</option>
          <option>50</option>
          <option>100</option>
          <option>500</option>
        </select>
      </label>
      <button id="apply-filters" type="submit" class="primary">Apply</button>
      <button id="reset-filters" type="button">Reset</button>
    </form>
    <div class="toolbar">
      <button id="prev-page" type="button" disabled>&larr; Previous</button>
      <span id="page-info" data-testid="page-info">not loaded</span>
      <button id="next-page" type="button" disabled>Next &rarr;</button>
      <span class="spacer"></span>
      <label><input id="auto-refresh" type="checkbox"> Auto-refresh every 5 s</label>
      <button id="refresh" type="button">Refresh</button>
      <span id="refreshed" class="muted"></span>
    </div>
    <div id="list-error" data-testid="list-error" class="banner error" role="alert" hidden></div>
    <table>
      <thead><tr>
        <th>gid</th><th>status</th><th>created (UTC)</th><th>updated (UTC)</th><th>rounds</th><th>next attempt</th><th>owner</th><th>attention</th><th>reason</th>
      </tr></thead>
      <tbody id="tx-body"><tr><td colspan="9" class="empty">Enter the admin token and press Connect.</td></tr></tbody>
    </table>
  </section>

  <section class="card" id="detail" hidden>
    <h2><span>Transaction</span> <span id="detail-gid" class="mono"></span> <span id="detail-status"></span>
      <span class="spacer"></span>
      <button id="detail-reload" type="button">Reload</button>
      <button id="detail-close" type="button">Close</button>
    </h2>
    <div id="detail-error" data-testid="detail-error" class="banner error" role="alert" hidden></div>
    <div id="detail-notice" data-testid="detail-notice" class="banner notice" role="status" hidden></div>
    <div id="detail-body"></div>
  </section>
</main>
<script>
(function () {
  'use strict';
  var TOKEN_KEY = 'tcc.admin.token';
  var ACTOR_KEY = 'tcc.admin.actor';
  var AUTO_KEY = 'tcc.admin.autoRefresh';
  var REFRESH_MS = 5000;
  var PHASE_TWO = ['COMMITTING', 'ROLLING_BACK'];

  var state = {
    cursors: [null],
    nextCursor: null,
    query: {},
    selected: null,
    detail: null,
    timer: null,
    listSeq: 0,
    detailSeq: 0,
    busy: false
  };

  function $(id) { return document.getElementById(id); }

  /** Builds an element; children are nodes or plain values, which become text nodes. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var a = attrs || {};
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') node.className = v;
      else if (k === 'testid') node.setAttribute('data-testid', v);
      else if (k === 'value') node.value = v;
      else if (k === 'disabled') node.disabled = !!v;
      else if (k.indexOf('on') === 0) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, kid) {
    if (kid === undefined || kid === null || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(node, k); }); return; }
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  function fmtTime(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace('T', ' ').replace(/[.][0-9]+Z$/, 'Z');
  }
  function ago(iso) {
    if (!iso) return '';
    var s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var text = s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 172800 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d';
    return future ? 'in ' + text : text + ' ago';
  }
  function timeCell(iso) {
    return el('td', { class: 'nowrap mono', title: iso ? ago(iso) : '' }, fmtTime(iso));
  }
  function badge(status) {
    return el('span', { class: 'badge s-' + String(status).replace(/[^A-Z_]/g, ''), testid: 'status' }, status);
  }

  // ---- errors and notices --------------------------------------------------------------------

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }
  function show(id, text) {
    var box = $(id);
    box.textContent = text || '';
    box.hidden = !text;
  }
  function describe(err) {
    return err instanceof ApiError ? err.message : 'unexpected error: ' + (err && err.message ? err.message : String(err));
  }

  // ---- the API -------------------------------------------------------------------------------

  async function api(method, path, body) {
    var token = $('token').value.trim();
    if (!token) throw new ApiError(0, 'Enter the admin token (TCC_ADMIN_TOKEN) first.');
    var headers = { authorization: 'Bearer ' + token, accept: 'application/json' };
    var actor = $('actor').value.trim();
    if (actor) headers['x-tcc-actor'] = actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'Network error: ' + (e && e.message ? e.message : e) + ' (is the coordinator up?)');
    }
    var text = await res.text();
    var json;
    try { json = text ? JSON.parse(text) : undefined; } catch (e) { json = undefined; }
    if (!res.ok) {
      var message = json && json.message !== undefined ? (Array.isArray(json.message) ? json.message.join('; ') : String(json.message)) : (text || res.statusText);
      var fields = json && Array.isArray(json.fields) && json.fields.length ? ' (fields: ' + json.fields.join(', ') + ')' : '';
      var hint = res.status === 401 ? ' Check the admin token.' : '';
      throw new ApiError(res.status, 'HTTP ' + res.status + ' ' + ((json && json.error) || res.statusText) + ': ' + message + fields + hint);
    }
    return json;
  }
  function txPath(gid) { return '/admin/v1/transactions/' + encodeURIComponent(gid); }

  // ---- the list ------------------------------------------------------------------------------

  function readFilters() {
    var q = {};
    var status = $('filter-status').value;
    var participant = $('filter-participant').value.trim();
    var attention = $('filter-attention').value;
    var from = $('filter-created-from').value;
    var to = $('filter-created-to').value;
    if (status) q.status = status;
    if (participant) q.participant = participant;
    if (attention) q.attention = attention;
    if (from) q.createdFrom = localToIso(from, 'Created from');
    if (to) q.createdTo = localToIso(to, 'Created before');
    q.limit = $('filter-limit').value;
    return q;
  }
  function localToIso(value, label) {
    var d = new Date(value);
    if (isNaN(d.getTime())) throw new ApiError(0, label + ' is not a valid date and time.');
    return d.toISOString();
  }

  async function loadList(quiet) {
    var seq = ++state.listSeq;
    var q = Object.assign({}, state.query);
    var cursor = state.cursors[state.cursors.length - 1];
    if (cursor) q.cursor = cursor;
    var params = new URLSearchParams(q).toString();
    if (!quiet) $('page-info').textContent = 'loading...';
    try {
      var page = await api('GET', '/admin/v1/transactions' + (params ? '?' + params : ''));
      if (seq !== state.listSeq) return;
      state.nextCursor = page.nextCursor;
      renderList(page.items);
      show('list-error', '');
      $('refreshed').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (err) {
      if (seq !== state.listSeq) return;
      show('list-error', 'Listing failed. ' + describe(err));
      $('page-info').textContent = 'page ' + state.cursors.length + ': not loaded';
      if (!quiet) {
        $('tx-body').replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'Nothing loaded.')));
        state.nextCursor = null;
      }
    }
    updatePager();
  }

  function renderList(items) {
    var rows = items.map(function (t) {
      return el('tr', { testid: 'tx-row', 'data-gid': t.gid, 'data-status': t.status, class: t.gid === state.selected ? 'selected' : '' },
        el('td', {}, el('button', { type: 'button', class: 'link', testid: 'open-tx', title: 'Open ' + t.gid, onclick: function () { openDetail(t.gid); } }, t.gid)),
        el('td', {}, badge(t.status)),
        timeCell(t.createdAt),
        timeCell(t.updatedAt),
        el('td', { class: 'mono' }, t.rounds),
        el('td', { class: 'nowrap', title: fmtTime(t.nextAttemptAt) }, t.nextAttemptAt ? (t.status === 'TRYING' ? 'times out ' : '') + ago(t.nextAttemptAt) : ''),
        el('td', { class: 'mono' }, t.owner || ''),
        el('td', {}, attentionOf(t)),
        el('td', {}, t.reason || ''));
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No transaction matches these filters.'))];
    $('tx-body').replaceChildren.apply($('tx-body'), rows);
    $('page-info').textContent = 'page ' + state.cursors.length + ' · ' + items.length + ' shown' + (state.nextCursor ? ', more after' : '');
  }

  /** The attention flag matters only while phase two is still failing; a finished one keeps its time. */
  function attentionOf(t) {
    if (!t.attentionAt) return '';
    if (PHASE_TWO.indexOf(t.status) >= 0) return el('span', { class: 'attention', title: fmtTime(t.attentionAt), testid: 'attention' }, 'flagged ' + ago(t.attentionAt));
    return el('span', { class: 'muted', title: 'flagged at ' + fmtTime(t.attentionAt) + ', finished since' }, 'was flagged');
  }

  function updatePager() {
    $('prev-page').disabled = state.cursors.length <= 1;
    $('next-page').disabled = !state.nextCursor;
  }

  function applyFilters() {
    try {
      state.query = readFilters();
    } catch (err) {
      show('list-error', describe(err));
      return;
    }
    state.cursors = [null];
    state.nextCursor = null;
    loadList(false);
  }

  // ---- one transaction -----------------------------------------------------------------------

  async function openDetail(gid) {
    state.selected = gid;
    state.detail = null;
    history.replaceState(null, '', '#tx=' + encodeURIComponent(gid));
    $('detail').hidden = false;
    $('detail-gid').textContent = gid;
    $('detail-status').replaceChildren();
    $('detail-body').replaceChildren(el('p', { class: 'muted' }, 'loading...'));
    show('detail-error', '');
    show('detail-notice', '');
    document.querySelectorAll('#tx-body tr').forEach(function (row) {
      row.classList.toggle('selected', row.getAttribute('data-gid') === gid);
    });
    await loadDetail(false);
    $('detail').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function closeDetail() {
    state.selected = null;
    state.detail = null;
    state.detailSeq++;
    $('detail').hidden = true;
    history.replaceState(null, '', location.pathname + location.search);
    document.querySelectorAll('#tx-body tr.selected').forEach(function (row) { row.classList.remove('selected'); });
  }

  async function loadDetail(quiet) {
    var gid = state.selected;
    if (!gid) return;
    var seq = ++state.detailSeq;
    try {
      var tx = await api('GET', txPath(gid));
      if (seq !== state.detailSeq || gid !== state.selected) return;
      state.detail = tx;
      renderDetail(tx);
      if (!quiet) show('detail-error', '');
    } catch (err) {
      if (seq !== state.detailSeq || gid !== state.selected) return;
      show('detail-error', 'Could not load ' + gid + '. ' + describe(err));
      if (!state.detail) $('detail-body').replaceChildren();
    }
  }

  /** Re-rendering keeps what the user typed in the reason fields (auto-refresh runs meanwhile). */
  function renderDetail(tx) {
    var body = $('detail-body');
    var kept = {};
    var focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.id : null;
    body.querySelectorAll('input[data-keep]').forEach(function (input) { kept[input.id] = input.value; });

    $('detail-status').replaceChildren(badge(tx.status));
    var summary = el('dl', { class: 'summary', id: 'detail-summary' },
      field('Status', tx.status, 'detail-field-status'),
      field('Rounds of phase two', tx.rounds),
      field('Created', fmtTime(tx.createdAt) + '  (' + ago(tx.createdAt) + ')'),
      field('Updated', fmtTime(tx.updatedAt)),
      field('Expires', fmtTime(tx.expiresAt)),
      field('Decided', tx.decidedAt ? fmtTime(tx.decidedAt) + '  (' + ago(tx.decidedAt) + ')' : 'not yet'),
      field('Next attempt', tx.nextAttemptAt ? fmtTime(tx.nextAttemptAt) + '  (' + ago(tx.nextAttemptAt) + ')' : 'none'),
      field('Client', tx.client || 'not recorded', 'detail-field-client'),
      field('Lease owner', tx.owner || 'none'),
      field('Attention', !tx.attentionAt ? 'no' : PHASE_TWO.indexOf(tx.status) >= 0 ? el('span', { class: 'attention' }, 'flagged at ' + fmtTime(tx.attentionAt)) : 'was flagged at ' + fmtTime(tx.attentionAt) + ', finished since', 'detail-field-attention'),
      tx.attentionReason ? field('Attention reason', tx.attentionReason, 'detail-field-attention-reason') : null,
      field('Reason', tx.reason || ''),
      tx.metadata ? field('Metadata', el('pre', { class: 'metadata' }, JSON.stringify(tx.metadata, null, 2))) : null);

    body.replaceChildren(
      summary,
      renderActions(tx),
      el('h3', {}, 'Branches (' + tx.branches.length + ')'),
      renderBranches(tx),
      el('h3', {}, 'Failed attempts, newest first (' + tx.failures.length + ')'),
      renderFailures(tx.failures),
      el('h3', {}, 'Audit trail (' + tx.audit.length + ')'),
      renderAudit(tx.audit));

    Object.keys(kept).forEach(function (id) {
      var input = document.getElementById(id);
      if (input && body.contains(input)) input.value = kept[id];
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  function field(label, value, testid) {
    return [el('dt', {}, label), el('dd', { testid: testid }, value)];
  }

  function renderActions(tx) {
    var box = el('div', { class: 'actions', id: 'actions' });
    if (PHASE_TWO.indexOf(tx.status) >= 0) {
      var reason = el('input', { type: 'text', id: 'retry-reason', 'data-keep': '1', maxlength: 1024, placeholder: 'reason (optional)' });
      var button = el('button', { type: 'button', id: 'retry', class: 'primary', title: 'Run a round of ' + (tx.status === 'COMMITTING' ? 'confirms' : 'cancels') + ' now instead of waiting for the next retry' }, 'Retry now');
      button.addEventListener('click', function () {
        var body = reason.value.trim() ? { reason: reason.value.trim() } : {};
        act(button, 'Retry', tx.gid, txPath(tx.gid) + '/retry', body, function () { reason.value = ''; });
      });
      append(box, [button, reason, el('span', { class: 'hint' }, 'Calls every pending participant now; the scheduler keeps retrying anyway.')]);
    } else if (tx.status === 'TRYING') {
      var rbReason = el('input', { type: 'text', id: 'force-rollback-reason', 'data-keep': '1', maxlength: 1024, required: 'required', placeholder: 'reason (required)' });
      var rb = el('button', { type: 'button', id: 'force-rollback', class: 'danger', title: 'Decide rollback now and cancel every branch' }, 'Force rollback');
      rb.addEventListener('click', function () {
        var why = rbReason.value.trim();
        if (!why) {
          show('detail-error', 'Force rollback needs a reason: say why this transaction is being rolled back.');
          rbReason.focus();
          return;
        }
        act(rb, 'Force rollback', tx.gid, txPath(tx.gid) + '/force-rollback', { reason: why }, function () { rbReason.value = ''; });
      });
      append(box, [rb, rbReason, el('span', { class: 'hint' }, 'Still TRYING: rolling back cancels every registered branch.')]);
    } else {
      append(box, el('span', { class: 'muted', id: 'no-actions' }, 'This transaction is finished (' + tx.status + '): nothing to do.'));
    }
    return box;
  }

  function renderBranches(tx) {
    var resolvable = PHASE_TWO.indexOf(tx.status) >= 0;
    var verb = tx.status === 'COMMITTING' ? 'confirmed' : 'cancelled';
    var rows = tx.branches.map(function (b, index) {
      var cell = el('td', {});
      if (resolvable && b.status === 'REGISTERED') {
        var input = el('input', { type: 'text', id: 'resolve-reason-' + index, 'data-keep': '1', testid: 'resolve-reason', maxlength: 1024, required: 'required', placeholder: 'reason (required)' });
        var button = el('button', { type: 'button', testid: 'resolve-branch', title: 'Count this branch as ' + verb + ' without calling its participant: only after checking by hand that it really is' }, 'Mark ' + verb);
        button.addEventListener('click', function () {
          var why = input.value.trim();
          if (!why) {
            show('detail-error', 'Resolving branch ' + b.branchId + ' needs a reason: say how you checked it.');
            input.focus();
            return;
          }
          act(button, 'Resolve ' + b.branchId, tx.gid, txPath(tx.gid) + '/branches/' + encodeURIComponent(b.branchId) + '/resolve', { reason: why }, function () { input.value = ''; });
        });
        append(cell, el('div', { class: 'resolve' }, input, button));
      }
      return el('tr', { testid: 'branch-row', 'data-branch-id': b.branchId, 'data-status': b.status },
        el('td', { class: 'mono' }, b.branchId),
        el('td', {}, b.participant || ''),
        el('td', {}, b.protocol),
        el('td', {}, badge(b.status)),
        el('td', { class: 'mono', testid: 'attempts' }, b.attempts),
        el('td', { class: b.status === 'REGISTERED' ? 'error-text' : 'error-text done', testid: 'last-error', title: b.status === 'REGISTERED' ? '' : 'from an earlier attempt; the branch is ' + b.status }, b.lastError || ''),
        cell);
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No branch registered.'))];
    return table(['branch', 'participant', 'protocol', 'status', 'attempts', 'last error', resolvable ? 'resolve by hand' : ''], rows, 'branches');
  }

  function renderFailures(failures) {
    var rows = failures.map(function (f) {
      return el('tr', { testid: 'failure-row' },
        timeCell(f.createdAt),
        el('td', { class: 'mono' }, f.branchId),
        el('td', {}, f.phase),
        el('td', { class: 'mono' }, f.attempt),
        el('td', { class: 'error-text' }, f.error));
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No failed attempt.'))];
    return table(['when (UTC)', 'branch', 'phase', 'attempt', 'error'], rows, 'failures');
  }

  function renderAudit(audit) {
    var rows = audit.map(function (a) {
      return el('tr', { testid: 'audit-row', 'data-action': a.action },
        timeCell(a.createdAt),
        el('td', { class: 'mono' }, a.action),
        el('td', {}, a.actor),
        el('td', { class: 'mono' }, a.branchId || ''),
        el('td', {}, a.reason || ''));
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No manual action yet.'))];
    return table(['when (UTC)', 'action', 'actor', 'branch', 'reason'], rows, 'audit');
  }

  function table(headings, rows, id) {
    return el('table', { id: id },
      el('thead', {}, el('tr', {}, headings.map(function (h) { return el('th', {}, h); }))),
      el('tbody', {}, rows));
  }

  /** Runs one admin action, then shows its answer (or error) and reloads the detail and list. */
  async function act(button, label, gid, path, body, done) {
    if (state.busy) return;
    state.busy = true;
    button.disabled = true;
    show('detail-error', '');
    show('detail-notice', label + ': sending...');
    try {
      var result = await api('POST', path, body);
      done();
      show('detail-notice', label + ' done: ' + gid + ' is now ' + result.status + '.');
    } catch (err) {
      show('detail-notice', '');
      show('detail-error', label + ' failed. ' + describe(err));
    } finally {
      state.busy = false;
      button.disabled = false;
    }
    await Promise.all([loadDetail(true), loadList(true)]);
  }

  // ---- token, refresh, start-up --------------------------------------------------------------

  function connect() {
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    sessionStorage.setItem(ACTOR_KEY, $('actor').value.trim());
    applyFilters();
    if (state.selected) loadDetail(false);
  }

  function setAutoRefresh(on) {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    sessionStorage.setItem(AUTO_KEY, on ? '1' : '');
    if (on) {
      state.timer = setInterval(function () {
        if (document.hidden || !$('token').value.trim()) return;
        loadList(true);
        if (state.selected && !state.busy) loadDetail(true);
      }, REFRESH_MS);
    }
  }

  $('auth-form').addEventListener('submit', function (e) { e.preventDefault(); connect(); });
  $('forget-token').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    $('tx-body').replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'Token forgotten. Enter it again to continue.')));
    closeDetail();
    state.nextCursor = null;
    state.cursors = [null];
    updatePager();
    $('page-info').textContent = 'not loaded';
  });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); applyFilters(); });
  $('reset-filters').addEventListener('click', function () { $('filters').reset(); applyFilters(); });
  $('next-page').addEventListener('click', function () {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
    loadList(false);
  });
  $('prev-page').addEventListener('click', function () {
    if (state.cursors.length <= 1) return;
    state.cursors.pop();
    loadList(false);
  });
  $('refresh').addEventListener('click', function () {
    loadList(false);
    if (state.selected) loadDetail(false);
  });
  $('auto-refresh').addEventListener('change', function (e) { setAutoRefresh(e.target.checked); });
  $('detail-close').addEventListener('click', closeDetail);
  $('detail-reload').addEventListener('click', function () { loadDetail(false); });

  $('token').value = sessionStorage.getItem(TOKEN_KEY) || '';
  $('actor').value = sessionStorage.getItem(ACTOR_KEY) || '';
  if (sessionStorage.getItem(AUTO_KEY)) {
    $('auto-refresh').checked = true;
    setAutoRefresh(true);
  }
  var linked = /^#tx=(.+)$/.exec(location.hash);
  if ($('token').value) {
    applyFilters();
    if (linked) openDetail(decodeURIComponent(linked[1]));
  }
})();
</script>
</body>
</html>
`;
