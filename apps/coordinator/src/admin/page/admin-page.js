// @ts-check
/**
 * The admin page's script: drives the admin REST API from the browser (vanilla JS, no build; the
 * coordinator serves this file as it is). Type-checked against the DOM by tsconfig.json here
 * (`npm run lint`, test/unit/admin-page-script.spec.ts). Everything from the API is rendered with
 * text nodes, never parsed as HTML.
 *
 * Stable hooks for tests: ids on the controls and data-testid on repeated rows (tx-row with
 * data-gid and data-mode, branch-row with data-branch-id, failure-row, audit-row).
 *
 * One page for the three modes (docs/contract.md §2, §9, §10): a saga's or message's steps are its
 * branches, and the actions offered depend on mode and status (offerFor).
 */

/**
 * The admin API's answers, as far as the page reads them.
 * @typedef {{ gid: string, mode: string, status: string, createdAt: string, updatedAt: string, expiresAt: string,
 *   decidedAt: string | null, attentionAt: string | null, owner: string | null, nextAttemptAt: string | null,
 *   rounds: number, reason: string | null }} Summary
 * @typedef {{ items: Summary[], nextCursor: string | null }} Page
 * @typedef {{ retryFor: number | null, maxAttempts: number | null, failures: number, spentAt: string | null }} RetryBudget
 * @typedef {{ branchId: string, participant?: string | null, protocol: string, status: string, attempts: number,
 *   lastError?: string | null, retryBudget?: RetryBudget }} Branch
 * @typedef {{ branchId: string, phase: string, attempt: number, error: string, createdAt: string }} Failure
 * @typedef {{ action: string, actor: string, reason: string | null, branchId: string | null, createdAt: string }} AuditEntry
 * @typedef {{ target: string, protocol: string, state: string, attempts: number, lastError: string | null,
 *   nextAttemptAt: string | null, deliveredAt: string | null, owner: string | null }} Callback
 * @typedef {Summary & { client?: string | null, attentionReason?: string | null, metadata?: unknown,
 *   branches: Branch[], failures: Failure[], audit: AuditEntry[], callback?: Callback | null,
 *   retryBudget?: { retryFor: number | null, maxAttempts: number | null, spentAt: string | null } }} Detail
 * @typedef {{ status: string }} ActionResult
 * @typedef {{ label: string, title: string, hint: string }} RetryOffer
 * @typedef {{ id: string, label: string, title: string, hint: string, why: string }} ForceOffer
 * @typedef {{ statuses: string[], verb: string }} ResolveOffer
 * @typedef {{ retry: RetryOffer | null, force: ForceOffer | null, resolve: ResolveOffer | null }} Offer
 * @typedef {{ message?: unknown, error?: string, fields?: unknown }} ErrorBody
 */

/**
 * What el() accepts: attributes (class, testid and on<event> handled specially) and children.
 * @typedef {string | number | boolean | null | undefined | ((event: Event) => void)} AttrValue
 */
/**
 * A child: a node, a value shown as text, or a list of them (absent ones skipped).
 * @typedef {Node | string | number | boolean | null | undefined} Leaf
 * @typedef {Leaf | Leaf[]} Kid
 */

(function () {
  'use strict';
  var TOKEN_KEY = 'tcc.admin.token';
  var ACTOR_KEY = 'tcc.admin.actor';
  var AUTO_KEY = 'tcc.admin.autoRefresh';
  var REFRESH_MS = 5000;
  var PHASE_TWO = ['COMMITTING', 'ROLLING_BACK'];
  var LIST_COLUMNS = 10;
  /** @type {Record<string, string>} */
  var MODE_NAMES = { tcc: 'tcc (try, confirm, cancel)', saga: 'saga (actions, compensations)', message: 'message (prepared, then delivered)' };
  /**
   * What a transaction's expiry means in each mode: the try deadline, the saga's deadline, when a
   * prepared message is asked about.
   * @type {Record<string, string>}
   */
  var EXPIRES_LABELS = { tcc: 'Expires', saga: 'Actions retried until', message: 'Asked about from' };

  /**
   * @type {{ cursors: (string | null)[], nextCursor: string | null, query: Record<string, string>,
   *   selected: string | null, detail: Detail | null, timer: number | null, listSeq: number,
   *   detailSeq: number, busy: boolean }}
   */
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

  /**
   * An element of the page by id; a missing one is a bug in the page, so it throws.
   * @param {string} id
   * @returns {HTMLElement}
   */
  function $(id) {
    var node = document.getElementById(id);
    if (!node) throw new Error('admin page: no element #' + id);
    return node;
  }
  /**
   * An element of the page by id, of the kind the caller reads (an input's value, a button's state).
   * @template {HTMLElement} T
   * @param {string} id
   * @param {{ new (): T, prototype: T }} kind
   * @returns {T}
   */
  function typed(id, kind) {
    var node = $(id);
    if (!(node instanceof kind)) throw new Error('admin page: #' + id + ' is a ' + node.tagName);
    return node;
  }
  /** @param {string} id */
  function $input(id) { return typed(id, HTMLInputElement); }
  /** @param {string} id */
  function $select(id) { return typed(id, HTMLSelectElement); }
  /** @param {string} id */
  function $button(id) { return typed(id, HTMLButtonElement); }

  /**
   * Builds an element; children are nodes or plain values, which become text nodes.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, AttrValue>} attrs
   * @param {...Kid} kids
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, attrs, ...kids) {
    var node = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') node.className = String(v);
      else if (k === 'testid') node.setAttribute('data-testid', String(v));
      else if (k.indexOf('on') === 0 && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    });
    kids.forEach(function (k) { append(node, k); });
    return node;
  }
  /**
   * @param {Node & ParentNode} node
   * @param {Kid} kid
   */
  function append(node, kid) {
    if (kid === undefined || kid === null || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(node, k); }); return; }
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  /** @param {string | null | undefined} iso */
  function fmtTime(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace('T', ' ').replace(/[.][0-9]+Z$/, 'Z');
  }
  /** @param {string | null | undefined} iso */
  function ago(iso) {
    if (!iso) return '';
    var s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var text = s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 172800 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d';
    return future ? 'in ' + text : text + ' ago';
  }
  /** @param {string | null | undefined} iso */
  function timeCell(iso) {
    return el('td', { class: 'nowrap mono', title: iso ? ago(iso) : '' }, fmtTime(iso));
  }
  /** @param {string} status */
  function badge(status) {
    return el('span', { class: 'badge s-' + String(status).replace(/[^A-Z_]/g, ''), testid: 'status' }, status);
  }
  /** @param {string | undefined} mode */
  function modeTag(mode) {
    var m = mode || 'tcc';
    return el('span', { class: 'mode m-' + m.replace(/[^a-z]/g, '') }, m);
  }

  // ---- errors and notices --------------------------------------------------------------------

  /** A refusal or failure to show as it is: the message is written for the operator. */
  class ApiError {
    /**
     * @param {number} status
     * @param {string} message
     */
    constructor(status, message) {
      this.status = status;
      this.message = message;
    }
  }
  /** @param {unknown} err */
  function messageOf(err) {
    return err instanceof Error && err.message ? err.message : String(err);
  }
  /**
   * @param {string} id
   * @param {string} text
   */
  function show(id, text) {
    var box = $(id);
    box.textContent = text || '';
    box.hidden = !text;
  }
  /** @param {unknown} err */
  function describe(err) {
    return err instanceof ApiError ? err.message : 'unexpected error: ' + messageOf(err);
  }

  // ---- the API -------------------------------------------------------------------------------

  /**
   * One call of the admin API with the token (and actor); the answer's JSON, or an ApiError.
   * @param {string} method
   * @param {string} path
   * @param {object} [body]
   * @returns {Promise<unknown>}
   */
  async function api(method, path, body) {
    var token = $input('token').value.trim();
    if (!token) throw new ApiError(0, 'Enter the admin token (TCC_ADMIN_TOKEN) first.');
    /** @type {Record<string, string>} */
    var headers = { authorization: 'Bearer ' + token, accept: 'application/json' };
    var actor = $input('actor').value.trim();
    if (actor) headers['x-tcc-actor'] = actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'Network error: ' + messageOf(e) + ' (is the coordinator up?)');
    }
    var text = await res.text();
    /** @type {ErrorBody | undefined} */
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
  /** @param {string} gid */
  function txPath(gid) { return '/admin/v1/transactions/' + encodeURIComponent(gid); }

  // ---- the list ------------------------------------------------------------------------------

  /** @returns {Record<string, string>} */
  function readFilters() {
    /** @type {Record<string, string>} */
    var q = {};
    var mode = $select('filter-mode').value;
    var status = $select('filter-status').value;
    var participant = $input('filter-participant').value.trim();
    var attention = $select('filter-attention').value;
    var from = $input('filter-created-from').value;
    var to = $input('filter-created-to').value;
    if (mode) q.mode = mode;
    if (status) q.status = status;
    if (participant) q.participant = participant;
    if (attention) q.attention = attention;
    if (from) q.createdFrom = localToIso(from, 'Created from');
    if (to) q.createdTo = localToIso(to, 'Created before');
    q.limit = $select('filter-limit').value;
    return q;
  }
  /**
   * @param {string} value
   * @param {string} label
   */
  function localToIso(value, label) {
    var d = new Date(value);
    if (isNaN(d.getTime())) throw new ApiError(0, label + ' is not a valid date and time.');
    return d.toISOString();
  }

  /** @param {boolean} quiet */
  async function loadList(quiet) {
    var seq = ++state.listSeq;
    var q = Object.assign({}, state.query);
    var cursor = state.cursors[state.cursors.length - 1];
    if (cursor) q.cursor = cursor;
    var params = new URLSearchParams(q).toString();
    if (!quiet) $('page-info').textContent = 'loading...';
    try {
      var page = /** @type {Page} */ (await api('GET', '/admin/v1/transactions' + (params ? '?' + params : '')));
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
        $('tx-body').replaceChildren(el('tr', {}, el('td', { colspan: LIST_COLUMNS, class: 'empty' }, 'Nothing loaded.')));
        state.nextCursor = null;
      }
    }
    updatePager();
  }

  /** @param {Summary[]} items */
  function renderList(items) {
    var rows = items.map(function (t) {
      return el('tr', { testid: 'tx-row', 'data-gid': t.gid, 'data-mode': t.mode, 'data-status': t.status, class: t.gid === state.selected ? 'selected' : '' },
        el('td', {}, el('button', { type: 'button', class: 'link', testid: 'open-tx', title: 'Open ' + t.gid, onclick: function () { openDetail(t.gid); } }, t.gid)),
        el('td', { testid: 'mode' }, modeTag(t.mode)),
        el('td', {}, badge(t.status)),
        timeCell(t.createdAt),
        timeCell(t.updatedAt),
        el('td', { class: 'mono' }, t.rounds),
        el('td', { class: 'nowrap', title: fmtTime(t.nextAttemptAt) }, t.nextAttemptAt ? (t.status === 'TRYING' ? 'times out ' : t.status === 'PREPARED' ? 'asked ' : '') + ago(t.nextAttemptAt) : ''),
        el('td', { class: 'mono' }, t.owner || ''),
        el('td', {}, attentionOf(t)),
        el('td', {}, t.reason || ''));
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: LIST_COLUMNS, class: 'empty' }, 'No transaction matches these filters.'))];
    $('tx-body').replaceChildren.apply($('tx-body'), rows);
    $('page-info').textContent = 'page ' + state.cursors.length + ' · ' + items.length + ' shown' + (state.nextCursor ? ', more after' : '');
  }

  /** The attention flag matters only while phase two is still failing; a finished one keeps its time. */
  /** @param {Summary} t */
  function attentionOf(t) {
    if (!t.attentionAt) return '';
    if (PHASE_TWO.indexOf(t.status) >= 0) return el('span', { class: 'attention', title: fmtTime(t.attentionAt), testid: 'attention' }, 'flagged ' + ago(t.attentionAt));
    return el('span', { class: 'muted', title: 'flagged at ' + fmtTime(t.attentionAt) + ', finished since' }, 'was flagged');
  }

  function updatePager() {
    $button('prev-page').disabled = state.cursors.length <= 1;
    $button('next-page').disabled = !state.nextCursor;
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

  /** @param {string} gid */
  async function openDetail(gid) {
    state.selected = gid;
    state.detail = null;
    history.replaceState(null, '', '#tx=' + encodeURIComponent(gid));
    $('detail').hidden = false;
    $('detail-gid').textContent = gid;
    $('detail-status').replaceChildren();
    $('detail-mode').textContent = '';
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

  /** @param {boolean} quiet */
  async function loadDetail(quiet) {
    var gid = state.selected;
    if (!gid) return;
    var seq = ++state.detailSeq;
    try {
      var tx = /** @type {Detail} */ (await api('GET', txPath(gid)));
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
  /** @param {Detail} tx */
  function renderDetail(tx) {
    var body = $('detail-body');
    /** @type {Record<string, string>} */
    var kept = {};
    var focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.id : null;
    body.querySelectorAll('input[data-keep]').forEach(function (input) {
      if (input instanceof HTMLInputElement) kept[input.id] = input.value;
    });

    var mode = modeOf(tx);
    var steps = mode === 'tcc' ? 'Branches' : 'Steps';
    $('detail-status').replaceChildren(badge(tx.status));
    $('detail-mode').className = 'mode m-' + mode;
    $('detail-mode').textContent = mode;
    var summary = el('dl', { class: 'summary', id: 'detail-summary' },
      field('Status', tx.status, 'detail-field-status'),
      field('Mode', MODE_NAMES[mode] || mode, 'detail-field-mode'),
      field(mode === 'tcc' ? 'Rounds of phase two' : 'Rounds', tx.rounds),
      field('Created', fmtTime(tx.createdAt) + '  (' + ago(tx.createdAt) + ')'),
      field('Updated', fmtTime(tx.updatedAt)),
      field(EXPIRES_LABELS[mode] || 'Expires', fmtTime(tx.expiresAt)),
      field('Decided', tx.decidedAt ? fmtTime(tx.decidedAt) + '  (' + ago(tx.decidedAt) + ')' : 'not yet'),
      field('Next attempt', tx.nextAttemptAt ? fmtTime(tx.nextAttemptAt) + '  (' + ago(tx.nextAttemptAt) + ')' : 'none'),
      field('Client', tx.client || 'not recorded', 'detail-field-client'),
      field('Lease owner', tx.owner || 'none'),
      field('Attention', !tx.attentionAt ? 'no' : PHASE_TWO.indexOf(tx.status) >= 0 ? el('span', { class: 'attention' }, 'flagged at ' + fmtTime(tx.attentionAt)) : 'was flagged at ' + fmtTime(tx.attentionAt) + ', finished since', 'detail-field-attention'),
      tx.attentionReason ? field('Attention reason', tx.attentionReason, 'detail-field-attention-reason') : null,
      tx.retryBudget && tx.retryBudget.spentAt
        ? field('Retry budget', el('span', { class: 'attention' }, 'spent at ' + fmtTime(tx.retryBudget.spentAt) + ': not retried until a person retries it (Retry now resets the budget)'), 'detail-field-retry-budget')
        : null,
      field('Reason', tx.reason || ''),
      tx.callback ? field('Completion callback', callbackText(tx.callback), 'detail-field-callback') : null,
      tx.callback && tx.callback.lastError ? field('Callback last error', tx.callback.lastError, 'detail-field-callback-error') : null,
      tx.metadata ? field('Metadata', el('pre', { class: 'metadata' }, JSON.stringify(tx.metadata, null, 2))) : null);

    body.replaceChildren(
      summary,
      renderActions(tx),
      el('h3', { id: 'branches-heading' }, steps + ' (' + tx.branches.length + ')'),
      renderBranches(tx),
      el('h3', {}, 'Failed attempts, newest first (' + tx.failures.length + ')'),
      renderFailures(tx),
      el('h3', {}, 'Audit trail (' + tx.audit.length + ')'),
      renderAudit(tx.audit));

    Object.keys(kept).forEach(function (id) {
      var input = document.getElementById(id);
      if (input instanceof HTMLInputElement && body.contains(input)) input.value = kept[id];
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  /**
   * A completion callback in one line (docs/contract.md §11): its state, where it goes, how often it was tried.
   * @param {Callback} cb
   */
  function callbackText(cb) {
    var when = cb.state === 'DELIVERED' && cb.deliveredAt ? 'delivered ' + fmtTime(cb.deliveredAt)
      : cb.state === 'WAITING' ? 'sent once the transaction is final'
        : cb.nextAttemptAt ? 'next attempt ' + fmtTime(cb.nextAttemptAt) + '  (' + ago(cb.nextAttemptAt) + ')' : '';
    return cb.state + ' · ' + cb.protocol + ' ' + cb.target + ' · ' + cb.attempts + (cb.attempts === 1 ? ' attempt' : ' attempts') + (when ? ' · ' + when : '');
  }

  /**
   * @param {string} label
   * @param {Kid} value
   * @param {string} [testid]
   */
  function field(label, value, testid) {
    return [el('dt', {}, label), el('dd', { testid: testid }, value)];
  }

  // ---- what may be done, by mode and status ----------------------------------------------------

  /** @param {{ mode?: string }} tx */
  function modeOf(tx) {
    return tx.mode === 'saga' || tx.mode === 'message' ? tx.mode : 'tcc';
  }

  /**
   * The branch statuses still owed a call (docs/contract.md §2, §9): in phase two the REGISTERED
   * ones, and while a saga rolls back also its steps whose action succeeded or was refused.
   * @param {Detail} tx
   * @returns {string[]}
   */
  function owedStatuses(tx) {
    if (PHASE_TWO.indexOf(tx.status) < 0) return [];
    if (modeOf(tx) === 'saga' && tx.status === 'ROLLING_BACK') return ['REGISTERED', 'SUCCEEDED', 'FAILED'];
    return ['REGISTERED'];
  }

  /**
   * What the page offers for a transaction, by mode and status (docs/contract.md §7, §9, §10). The
   * API still decides: an action pressed on a stale page gets its 409, shown as it is.
   * @param {Detail} tx
   * @returns {Offer}
   */
  function offerFor(tx) {
    var mode = modeOf(tx);
    var owed = owedStatuses(tx);
    /** @type {Offer} */
    var offer = { retry: null, force: null, resolve: null };
    if (mode === 'tcc') {
      if (tx.status === 'TRYING') {
        offer.force = { id: 'force-rollback', label: 'Force rollback', title: 'Decide rollback now and cancel every branch',
          hint: 'Still TRYING: rolling back cancels every registered branch.',
          why: 'Force rollback needs a reason: say why this transaction is being rolled back.' };
      } else if (PHASE_TWO.indexOf(tx.status) >= 0) {
        var confirming = tx.status === 'COMMITTING';
        offer.retry = { label: 'Retry now', title: 'Run a round of ' + (confirming ? 'confirms' : 'cancels') + ' now instead of waiting for the next retry',
          hint: 'Calls every pending participant now; the scheduler keeps retrying anyway.' };
        offer.resolve = { statuses: owed, verb: confirming ? 'confirmed' : 'cancelled' };
      }
    } else if (mode === 'saga') {
      if (tx.status === 'COMMITTING') {
        offer.retry = { label: 'Retry now', title: 'Send the actions whose turn it is now instead of waiting for the next retry',
          hint: 'Sends the actions due now, between rounds (409 while a replica is in the middle of one); the scheduler keeps retrying anyway.' };
        offer.force = { id: 'force-compensate', label: 'Force compensate', title: 'Stop the actions and compensate every step whose action was sent',
          hint: 'Steps never sent are skipped; every step whose action was sent is compensated, in reverse order. Refused (409) while a replica is in the middle of a round: try again when it ends.',
          why: 'Force compensate needs a reason: say why this saga is being undone.' };
      } else if (tx.status === 'ROLLING_BACK') {
        offer.retry = { label: 'Retry now', title: 'Send the compensations whose turn it is now instead of waiting for the next retry',
          hint: 'Compensations go out in reverse order; one marked compensated by hand lets those it held up go out at the next round (press Retry now).' };
        offer.resolve = { statuses: owed, verb: 'compensated' };
      }
    } else if (tx.status === 'PREPARED') {
      offer.retry = { label: 'Ask now', title: "Call the initiator's queryPrepared now instead of at the next retry",
        hint: 'Asks the initiator whether its local transaction committed: COMMITTED delivers every step, ROLLED_BACK aborts, anything else asks again later.' };
      offer.force = { id: 'abort-message', label: 'Abort', title: 'Abort the message: no step is delivered',
        hint: "Only while PREPARED: the message ends ROLLED_BACK and nothing is delivered. Abort only when the initiator's local transaction did not commit.",
        why: 'Abort needs a reason: say why this message must not be delivered.' };
    } else if (tx.status === 'COMMITTING') {
      offer.retry = { label: 'Retry now', title: 'Run a round of deliveries now instead of waiting for the next retry',
        hint: 'Delivers every pending step now; the scheduler keeps retrying anyway.' };
      offer.resolve = { statuses: owed, verb: 'delivered' };
    }
    // A spent retry budget (docs/contract.md §2.1): nothing retries it until someone does.
    if (offer.retry && tx.retryBudget && tx.retryBudget.spentAt) {
      offer.retry.hint = 'A retry budget is spent: nothing retries this until you do. Retry now resets every budget and calls the pending participants now.';
    }
    return offer;
  }

  /** @param {Detail} tx */
  function renderActions(tx) {
    var offer = offerFor(tx);
    var box = el('div', { class: 'actions', id: 'actions' });
    if (offer.retry) append(box, retryControls(tx, offer.retry));
    if (offer.force) append(box, forceControls(tx, offer.force));
    if (!offer.retry && !offer.force) {
      var text = PHASE_TWO.indexOf(tx.status) >= 0 || tx.status === 'PREPARED' || tx.status === 'TRYING'
        ? 'Nothing to do by hand for a ' + modeOf(tx) + ' in ' + tx.status + '.'
        : 'This transaction is finished (' + tx.status + '): nothing to do.';
      append(box, el('span', { class: 'muted', id: 'no-actions' }, text));
    }
    return box;
  }

  /**
   * Retry now (or, for a prepared message, ask now): the reason is optional.
   * @param {Detail} tx
   * @param {RetryOffer} offer
   */
  function retryControls(tx, offer) {
    var reason = el('input', { type: 'text', id: 'retry-reason', 'data-keep': '1', maxlength: 1024, placeholder: 'reason (optional)' });
    var button = el('button', { type: 'button', id: 'retry', class: 'primary', title: offer.title }, offer.label);
    button.addEventListener('click', function () {
      var body = reason.value.trim() ? { reason: reason.value.trim() } : {};
      act(button, offer.label, tx.gid, txPath(tx.gid) + '/retry', body, function () { reason.value = ''; });
    });
    return el('div', { class: 'action' }, button, reason, el('span', { class: 'hint' }, offer.hint));
  }

  /**
   * Force rollback, force compensate or abort (one API route, force-rollback): the reason is required.
   * @param {Detail} tx
   * @param {ForceOffer} offer
   */
  function forceControls(tx, offer) {
    var reason = el('input', { type: 'text', id: offer.id + '-reason', 'data-keep': '1', maxlength: 1024, required: 'required', placeholder: 'reason (required)' });
    var button = el('button', { type: 'button', id: offer.id, class: 'danger', title: offer.title }, offer.label);
    button.addEventListener('click', function () {
      var why = reason.value.trim();
      if (!why) {
        show('detail-error', offer.why);
        reason.focus();
        return;
      }
      act(button, offer.label, tx.gid, txPath(tx.gid) + '/force-rollback', { reason: why }, function () { reason.value = ''; });
    });
    return el('div', { class: 'action' }, button, reason, el('span', { class: 'hint' }, offer.hint));
  }

  /** @param {Detail} tx */
  function renderBranches(tx) {
    var resolve = offerFor(tx).resolve;
    var owed = owedStatuses(tx);
    var noun = modeOf(tx) === 'tcc' ? 'branch' : 'step';
    var rows = tx.branches.map(function (b, index) {
      var cell = el('td', {});
      if (resolve && resolve.statuses.indexOf(b.status) >= 0) {
        var verb = resolve.verb;
        var input = el('input', { type: 'text', id: 'resolve-reason-' + index, 'data-keep': '1', testid: 'resolve-reason', maxlength: 1024, required: 'required', placeholder: 'reason (required)' });
        var button = el('button', { type: 'button', testid: 'resolve-branch', title: 'Count this ' + noun + ' as ' + verb + ' without calling its participant: only after checking by hand that it really is' }, 'Mark ' + verb);
        button.addEventListener('click', function () {
          var why = input.value.trim();
          if (!why) {
            show('detail-error', 'Resolving ' + noun + ' ' + b.branchId + ' needs a reason: say how you checked it.');
            input.focus();
            return;
          }
          act(button, 'Resolve ' + b.branchId, tx.gid, txPath(tx.gid) + '/branches/' + encodeURIComponent(b.branchId) + '/resolve', { reason: why }, function () { input.value = ''; });
        });
        append(cell, el('div', { class: 'resolve' }, input, button));
      }
      // A refused action's error stays current until it is compensated; other errors are history once the call succeeded.
      var current = b.status === 'REGISTERED' || b.status === 'FAILED' || owed.indexOf(b.status) >= 0;
      return el('tr', { testid: 'branch-row', 'data-branch-id': b.branchId, 'data-status': b.status },
        el('td', { class: 'mono' }, b.branchId),
        el('td', {}, b.participant || ''),
        el('td', {}, b.protocol),
        el('td', {}, badge(b.status)),
        el('td', { class: 'mono', testid: 'attempts' }, b.attempts),
        budgetCell(b),
        el('td', { class: current ? 'error-text' : 'error-text done', testid: 'last-error', title: current ? '' : 'from an earlier attempt; the ' + noun + ' is ' + b.status }, b.lastError || ''),
        cell);
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 8, class: 'empty' }, noun === 'branch' ? 'No branch registered.' : 'No step.'))];
    return table([noun, 'participant', 'protocol', 'status', 'attempts', 'retry budget', 'last error', resolve ? 'resolve by hand' : ''], rows, 'branches');
  }

  /**
   * A branch's retry budget (docs/contract.md §2): its limits (unlimited when none), the failed
   * calls counted against it, and when it was spent.
   * @param {Branch} b
   */
  function budgetCell(b) {
    var budget = b.retryBudget;
    if (!budget) return el('td', { testid: 'retry-budget' }, '');
    var limits = [];
    if (budget.maxAttempts !== null) limits.push(budget.maxAttempts + ' attempts');
    if (budget.retryFor !== null) limits.push(budget.retryFor + ' ms');
    var text = (limits.length ? limits.join(' or ') : 'unlimited') + (budget.failures ? ', ' + budget.failures + ' failed' : '');
    if (budget.spentAt) {
      return el('td', { testid: 'retry-budget', 'data-spent': '1' }, el('span', { class: 'attention', title: 'spent at ' + fmtTime(budget.spentAt) }, text + ': spent'));
    }
    return el('td', { class: 'mono', testid: 'retry-budget' }, text);
  }

  /** @param {Detail} tx */
  function renderFailures(tx) {
    var rows = tx.failures.map(function (f) {
      // A message's queryPrepared call has no step of its own: it is recorded as branch "prepared", phase "query".
      var query = modeOf(tx) === 'message' && f.phase === 'query';
      return el('tr', { testid: 'failure-row', 'data-branch-id': f.branchId, 'data-phase': f.phase },
        timeCell(f.createdAt),
        el('td', { class: 'mono', title: query ? "the initiator's queryPrepared" : '' }, query ? f.branchId + ' (queryPrepared)' : f.branchId),
        el('td', {}, f.phase),
        el('td', { class: 'mono' }, f.attempt),
        el('td', { class: 'error-text' }, f.error));
    });
    if (!rows.length) rows = [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No failed attempt.'))];
    return table(['when (UTC)', modeOf(tx) === 'tcc' ? 'branch' : 'step', 'phase', 'attempt', 'error'], rows, 'failures');
  }

  /** @param {AuditEntry[]} audit */
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

  /**
   * @param {string[]} headings
   * @param {HTMLTableRowElement[]} rows
   * @param {string} id
   */
  function table(headings, rows, id) {
    return el('table', { id: id },
      el('thead', {}, el('tr', {}, headings.map(function (h) { return el('th', {}, h); }))),
      el('tbody', {}, rows));
  }

  /** Runs one admin action, then shows its answer (or error) and reloads the detail and list. */
  /**
   * @param {HTMLButtonElement} button
   * @param {string} label
   * @param {string} gid
   * @param {string} path
   * @param {object} body
   * @param {() => void} done
   */
  async function act(button, label, gid, path, body, done) {
    if (state.busy) return;
    state.busy = true;
    button.disabled = true;
    show('detail-error', '');
    show('detail-notice', label + ': sending...');
    try {
      var result = /** @type {ActionResult} */ (await api('POST', path, body));
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
    sessionStorage.setItem(TOKEN_KEY, $input('token').value.trim());
    sessionStorage.setItem(ACTOR_KEY, $input('actor').value.trim());
    applyFilters();
    if (state.selected) loadDetail(false);
  }

  /** @param {boolean} on */
  function setAutoRefresh(on) {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    sessionStorage.setItem(AUTO_KEY, on ? '1' : '');
    if (on) {
      state.timer = window.setInterval(function () {
        if (document.hidden || !$input('token').value.trim()) return;
        loadList(true);
        if (state.selected && !state.busy) loadDetail(true);
      }, REFRESH_MS);
    }
  }

  $('auth-form').addEventListener('submit', function (e) { e.preventDefault(); connect(); });
  $('forget-token').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    $input('token').value = '';
    $('tx-body').replaceChildren(el('tr', {}, el('td', { colspan: LIST_COLUMNS, class: 'empty' }, 'Token forgotten. Enter it again to continue.')));
    closeDetail();
    state.nextCursor = null;
    state.cursors = [null];
    updatePager();
    $('page-info').textContent = 'not loaded';
  });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); applyFilters(); });
  $('reset-filters').addEventListener('click', function () { typed('filters', HTMLFormElement).reset(); applyFilters(); });
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
  $('auto-refresh').addEventListener('change', function () { setAutoRefresh($input('auto-refresh').checked); });
  $('detail-close').addEventListener('click', closeDetail);
  $('detail-reload').addEventListener('click', function () { loadDetail(false); });

  $input('token').value = sessionStorage.getItem(TOKEN_KEY) || '';
  $input('actor').value = sessionStorage.getItem(ACTOR_KEY) || '';
  if (sessionStorage.getItem(AUTO_KEY)) {
    $input('auto-refresh').checked = true;
    setAutoRefresh(true);
  }
  var linked = /^#tx=(.+)$/.exec(location.hash);
  if ($input('token').value) {
    applyFilters();
    if (linked) openDetail(decodeURIComponent(linked[1]));
  }
  // ---- reconciliation (docs/contract.md §13) -------------------------------------------------

  /**
   * @typedef {{ id: string, state: string, from: string, to: string, checked: number, mismatches: number,
   *   unreachable: number, expired: number, queries: number, createdAt: string }} RunSummary
   * @typedef {{ gid: string, branchId: string, kind: string, coordinator: unknown, participant: unknown }} Finding
   */
  var RUN_COLUMNS = 9;

  async function loadRuns() {
    show('reconcile-error', '');
    try {
      var page = /** @type {{ items: RunSummary[] }} */ (await api('GET', '/admin/v1/reconciliations?limit=20'));
      var rows = page.items.map(runRow);
      $('reconcile-runs').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: RUN_COLUMNS, class: 'empty' }, 'No run yet.'))]));
    } catch (err) {
      show('reconcile-error', describe(err));
    }
  }
  /** @param {RunSummary} r */
  function runRow(r) {
    return el('tr', { testid: 'run-row', 'data-run-id': r.id },
      el('td', {}, el('button', { type: 'button', class: 'link', testid: 'open-run', onclick: function () { openRun(r.id); } }, r.id)),
      el('td', {}, badge(r.state)),
      el('td', { class: 'mono nowrap' }, fmtTime(r.from) + ' .. ' + fmtTime(r.to)),
      el('td', {}, r.checked), el('td', {}, r.mismatches), el('td', {}, r.unreachable), el('td', {}, r.expired), el('td', {}, r.queries),
      timeCell(r.createdAt));
  }
  /** @param {unknown} value */
  function jsonBlock(value) {
    return el('pre', { class: 'mono' }, JSON.stringify(value, null, 1));
  }
  /** @param {string} id */
  async function openRun(id) {
    show('reconcile-error', '');
    try {
      var run = /** @type {RunSummary & { findings: Finding[] }} */ (await api('GET', '/admin/v1/reconciliations/' + encodeURIComponent(id) + '?limit=500'));
      var rows = run.findings.map(function (f) {
        return el('tr', { testid: 'finding-row', 'data-gid': f.gid, 'data-kind': f.kind },
          el('td', { class: 'mono' }, el('button', { type: 'button', class: 'link', title: 'Open ' + f.gid, onclick: function () { openDetail(f.gid); } }, f.gid)),
          el('td', { class: 'mono' }, f.branchId),
          el('td', {}, f.kind),
          el('td', {}, jsonBlock(f.coordinator)),
          el('td', {}, jsonBlock(f.participant)));
      });
      $('reconcile-findings').replaceChildren(
        el('h3', {}, 'Run ' + run.id + ': ' + run.state + ', ' + run.checked + ' checked, ' + run.mismatches + ' mismatches, ' + run.unreachable + ' unreachable'),
        el('table', {},
          el('thead', {}, el('tr', {}, el('th', {}, 'gid'), el('th', {}, 'branch'), el('th', {}, 'kind'), el('th', {}, 'coordinator'), el('th', {}, 'participant'))),
          el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No mismatch.')))));
      // The list shows the same run's counters: keep them in step.
      await loadRuns();
    } catch (err) {
      show('reconcile-error', describe(err));
    }
  }
  $('reconcile-form').addEventListener('submit', async function (e) {
    e.preventDefault();
    show('reconcile-error', '');
    try {
      var from = localToIso($input('reconcile-from').value, 'Finished from');
      var to = localToIso($input('reconcile-to').value, 'Finished before');
      var run = /** @type {RunSummary} */ (await api('POST', '/admin/v1/reconciliations', { from: from, to: to }));
      await openRun(run.id);
    } catch (err) {
      show('reconcile-error', describe(err));
    }
  });
  $('reconcile-refresh').addEventListener('click', function () { loadRuns(); });
  $('auth-form').addEventListener('submit', function () { loadRuns(); });
  if ($input('token').value) loadRuns();
})();
