// Lethe privacy inbox: a small single-page app over the operator API
// (contract section 4). No framework and no build step: plain DOM, hash
// routes (#/requests, #/requests/ID), the operator key in sessionStorage.
//
// Everything the server sends is inserted as text (textContent), never as
// HTML: request notes and reasons are free text typed by other people.
'use strict';

const KEY_STORAGE = 'lethe.operatorKey';
const $ = (sel) => document.querySelector(sel);

// Which actions make sense in which status (mirrors the state machine in
// include/lethe/state_machine.h). The server is the judge: a 409 or 403
// from it is shown as it is.
const ACTIONS = [
  { name: 'verify', label: 'Mark identity verified', from: ['unverified'] },
  { name: 'verify', label: 'Verify the other identities…', from: ['pending', 'approved', 'on_hold'],
    when: (r) => (r.unverified_identities || []).length > 0, body: (r) => ({ identities: r.unverified_identities }) },
  { name: 'approve', label: 'Approve', from: ['pending'], primary: true },
  { name: 'deny', label: 'Deny…', from: ['unverified', 'pending', 'approved', 'on_hold'], reason: true, danger: true },
  { name: 'extend', label: 'Extend deadline…', from: ['unverified', 'pending', 'approved', 'in_progress', 'on_hold'],
    reason: true, when: (r) => !r.extended },
  { name: 'hold', label: 'Put on hold…', from: ['unverified', 'pending', 'approved'], reason: true, optionalReason: true },
  { name: 'resume', label: 'Resume', from: ['on_hold'] },
  { name: 'retry', label: 'Retry', from: ['failed'] },
  { name: 'cancel', label: 'Cancel request', from: ['unverified', 'pending', 'approved', 'on_hold'] },
];
const CLOSED = ['completed', 'denied', 'cancelled'];

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) || '',
  filters: {},
  cursors: [],        // cursor stack: cursors[0] = '' is the first page
  nextCursor: null,
  current: null,      // the request on the request page
  pendingAction: null, // the action whose reason form is open
  role: null,         // admin, operator, auditor (from GET /v1/me), if known
  roleChecked: false
};

// ---- status messages (aria-live region) ----------------------------------

function say(text, isError = false) {
  const el = $('#status');
  el.classList.toggle('error', isError);
  // Clear then set so that a repeated message is announced again.
  el.textContent = '';
  window.setTimeout(() => { el.textContent = text; }, 30);
}

// ---- API ----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || '';
    this.field = err.field || '';
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    signOut('The operator key was not accepted. Sign in again.');
    throw new ApiError(401, null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function errorText(e) {
  if (!(e instanceof ApiError)) return `Could not reach the server: ${e.message}`;
  if (e.status === 403) return `Your role does not allow this: ${e.message}`;
  return e.field ? `${e.message} (${e.field})` : e.message;
}

// ---- helpers ------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function human(s) { return String(s || '').replace(/_/g, ' '); }

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// The days-left badge: red when overdue, amber when due within 3 days.
function dueBadge(r) {
  if (CLOSED.includes(r.status)) return el('span', { class: 'badge done', text: 'closed' });
  const d = r.days_left;
  if (typeof d !== 'number') return el('span', { class: 'badge done', text: '—' });
  if (d < 0) return el('span', { class: 'badge overdue', text: `overdue ${-d}d` });
  if (d <= 3) return el('span', { class: 'badge soon', text: d === 0 ? 'due today' : `${d}d left` });
  return el('span', { class: 'badge ok', text: `${d}d left` });
}

function subjectText(s) {
  if (!s) return '';
  return s.email || (s.user_id ? `user ${s.user_id}` : '') || s.phone || '';
}

// ---- views ----------------------------------------------------------------

function show(view) {
  for (const id of ['view-signin', 'view-queue', 'view-request']) $(`#${id}`).hidden = id !== view;
  $('#nav').hidden = view === 'view-signin';
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = '';
  state.role = null;
  state.roleChecked = false;
  if (message) say(message, true);
  route();
}

async function route() {
  if (!state.key) {
    show('view-signin');
    $('#signin-key').focus();
    return;
  }
  if (!state.roleChecked) await loadRole();
  const m = location.hash.match(/^#\/requests\/([^/?#]+)$/);
  if (m) return showRequest(decodeURIComponent(m[1]));
  return showQueue();
}

// ---- queue ------------------------------------------------------------------

function queryString(cursor) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) p.set(k, v);
  p.set('limit', '25');
  if (cursor) p.set('cursor', cursor);
  return p.toString();
}

// Loads can overlap (sign-in loads the queue, then Apply or Next loads another
// page before the first answer is in). Only the newest load may touch the
// page: an older answer arriving late would show the wrong list and leave its
// next_cursor, from another filter, under the Next button.
let queueLoadSeq = 0;

async function loadQueue(cursor) {
  const body = $('#queue-body');
  const seq = ++queueLoadSeq;
  body.setAttribute('aria-busy', 'true');
  try {
    const page = await api('GET', `/v1/requests?${queryString(cursor)}`);
    if (seq !== queueLoadSeq) return;
    const items = (page && page.items) || [];
    body.replaceChildren(...items.map(queueRow));
    $('#queue-empty').hidden = items.length > 0;
    state.nextCursor = page && page.next_cursor ? page.next_cursor : null;
    $('#page-next').disabled = !state.nextCursor;
    $('#page-first').disabled = state.cursors.length <= 1;
    const pageNo = state.cursors.length;
    $('#queue-caption').textContent =
      `Requests, due first — page ${pageNo}, ${items.length} shown${state.nextCursor ? ', more on the next page' : ''}`;
  } catch (e) {
    if (seq === queueLoadSeq && e.status !== 401) say(errorText(e), true);
  } finally {
    if (seq === queueLoadSeq) body.removeAttribute('aria-busy');
  }
}

function queueRow(r) {
  const link = el('a', { href: `#/requests/${encodeURIComponent(r.id)}`, class: 'mono', text: r.id });
  return el('tr', {},
    el('td', {}, dueBadge(r), el('div', { class: 'muted', text: r.due_at ? fmtTime(r.due_at) : '' })),
    el('td', {}, link),
    el('td', { text: r.type }),
    el('td', { text: human(r.regulation).toUpperCase() }),
    el('td', {}, el('span', { class: 'pill', text: human(r.status) })),
    el('td', { text: subjectText(r.subject) }),
    el('td', { text: r.assignee || '' }));
}

function showQueue() {
  show('view-queue');
  if (state.cursors.length === 0) state.cursors = [''];
  $('#queue-title').focus();
  return loadQueue(state.cursors[state.cursors.length - 1]);
}

function readFilters() {
  const f = new FormData($('#filters'));
  state.filters = {
    q: (f.get('q') || '').trim(),
    status: f.get('status') || '',
    type: f.get('type') || '',
    regulation: f.get('regulation') || '',
    assignee: (f.get('assignee') || '').trim(),
    overdue: f.get('overdue') ? 'true' : '',
  };
  state.cursors = [''];
}

// ---- one request ------------------------------------------------------------

async function showRequest(id) {
  show('view-request');
  state.pendingAction = null;
  $('#reason-form').hidden = true;
  $('#plan').replaceChildren();
  $('#req-title').textContent = `Request ${id}`;
  $('#req-title').focus();
  try {
    const r = await api('GET', `/v1/requests/${encodeURIComponent(id)}`);
    renderRequest(r);
  } catch (e) {
    if (e.status !== 401) say(errorText(e), true);
  }
}

// Per identity (contract §3): a claimed identity that is not verified finds
// no data, and the operator must see that plainly before approving.
function verifiedText(r) {
  const ok = r.verified_identities || [];
  const no = r.unverified_identities || [];
  if (!ok.length && !no.length) return r.verified ? 'yes' : 'no';
  return el('span', {},
    ok.length ? `verified: ${ok.map(human).join(', ')}` : 'nothing verified',
    no.length ? el('strong', { class: 'warn', text: ` — NOT verified: ${no.map(human).join(', ')} (no data is found through ${no.length > 1 ? 'these' : 'it'})` }) : '');
}

function renderRequest(r) {
  state.current = r;
  $('#req-title').textContent = `${r.type[0].toUpperCase()}${r.type.slice(1)} request ${r.id}`;
  const rows = [
    ['Status', el('span', { class: 'pill', text: human(r.status) })],
    ['Due', el('span', {}, dueBadge(r), ' ', fmtTime(r.due_at), r.extended ? ' (extended)' : '')],
    ['Regulation', human(r.regulation).toUpperCase()],
    ['Subject', subjectText(r.subject)],
    ['User id', (r.subject && r.subject.user_id) || '—'],
    ['Identity verified', verifiedText(r)],
    ['Channel', human(r.channel)],
    ['Received', fmtTime(r.received_at)],
    ['Assignee', r.assignee || '—'],
  ];
  if (r.not_before) rows.push(['Runs after', fmtTime(r.not_before)]);
  if (r.note) rows.push(['Note', r.note]);
  const dl = $('#req-summary');
  dl.replaceChildren();
  for (const [k, v] of rows) dl.append(el('dt', { text: k }), el('dd', {}, v));

  renderActions(r);
  renderTasks(r.tasks || []);
  renderTimeline(r.events || []);
  $('#plan-section').hidden = r.type !== 'erasure';
  watch(r);
}

// While a request is queued or running, refresh it so the task table and
// the timeline follow the workers (stops when the operator navigates away).
function watch(r) {
  clearTimeout(state.watchTimer);
  if (!['approved', 'in_progress'].includes(r.status)) return;
  state.watchTimer = setTimeout(async () => {
    if (location.hash !== `#/requests/${encodeURIComponent(r.id)}` || state.pendingAction) return;
    try {
      const fresh = await api('GET', `/v1/requests/${encodeURIComponent(r.id)}`);
      if (fresh.status !== r.status) say(`Status is now ${human(fresh.status)}.`);
      renderRequest(fresh);
    } catch (_) { /* shown on the next action */ }
  }, 3000);
}

// The signed-in operator's role, if the server says (GET /v1/me); null when
// it does not, in which case every action is offered and a 403 explains.
async function loadRole() {
  state.roleChecked = true;
  try {
    const res = await fetch('/v1/me', { headers: { Authorization: `Bearer ${state.key}` } });
    if (!res.ok) return;
    const me = await res.json();
    state.role = (me && me.role) || null;
  } catch (_) { /* older server: no role shown */ }
}

function renderActions(r) {
  const box = $('#actions');
  box.replaceChildren();
  const readOnly = state.role === 'auditor';
  const available = readOnly ? [] : ACTIONS.filter((a) => a.from.includes(r.status) && (!a.when || a.when(r)));
  $('#assign-form').hidden = readOnly;
  $('#note-form').hidden = readOnly;
  for (const a of available) {
    box.append(el('button', {
      type: 'button',
      class: a.primary ? 'primary' : a.danger ? 'danger' : '',
      'data-action': a.name,
      text: a.label,
      onclick: () => (a.reason ? openReason(a) : act(a.name, a.body ? a.body(r) : {})),
    }));
  }
  if ((r.type === 'access' || r.type === 'portability') && r.status === 'completed') {
    box.append(el('button', { type: 'button', class: 'primary', 'data-action': 'export', text: 'Download export', onclick: downloadExport }));
  }
  $('#actions-none').hidden = available.length > 0 || !CLOSED.includes(r.status);
  $('#actions-readonly').hidden = !readOnly;
  $('#assign-to').value = r.assignee || '';
}

function openReason(a) {
  state.pendingAction = a;
  $('#reason-label').textContent = a.optionalReason ? `Reason to ${a.name} (optional)` : `Reason to ${a.name} (required)`;
  $('#reason-submit').textContent = `Confirm ${a.name}`;
  $('#reason-text').setAttribute('aria-required', a.optionalReason ? 'false' : 'true');
  $('#reason-text').value = '';
  $('#reason-text').removeAttribute('aria-invalid');
  $('#reason-form').hidden = false;
  $('#reason-text').focus();
}

async function act(name, body) {
  const r = state.current;
  try {
    const updated = await api('POST', `/v1/requests/${encodeURIComponent(r.id)}/${name}`, body);
    renderRequest(updated);
    say(`Done: ${name}. Status is now ${human(updated.status)}.`);
    return true;
  } catch (e) {
    if (e.status !== 401) say(`Could not ${name}: ${errorText(e)}`, true);
    return false;
  }
}

function renderTasks(tasks) {
  $('#tasks-body').replaceChildren(...tasks.map((t) => el('tr', {},
    el('td', { text: t.connector }), el('td', { text: t.collection || '—' }), el('td', { text: t.action }),
    el('td', {}, el('span', { class: 'pill', text: t.status }), t.error ? el('div', { class: 'muted', text: t.error }) : null),
    el('td', { text: t.rows }))));
  $('#tasks-empty').hidden = tasks.length > 0;
}

function renderTimeline(events) {
  $('#timeline').replaceChildren(...events.map((e) => el('li', {},
    el('time', { datetime: e.at, text: fmtTime(e.at) }), ' ',
    el('span', { class: 'kind', text: human(e.kind) }),
    ` by ${e.actor}`,
    e.from && e.to ? ` (${human(e.from)} → ${human(e.to)})` : '',
    e.reason ? el('div', { text: `Reason: ${e.reason}` }) : null)));
}

// The plan's shape is the executor's: a list of steps, or {"steps"/"items": [...]}.
// Known fields are shown as a table; anything else as JSON.
function planRows(plan) {
  if (Array.isArray(plan)) return plan;
  for (const k of ['collections', 'steps', 'items', 'sources', 'plan']) if (plan && Array.isArray(plan[k])) return plan[k];
  return null;
}

function basisText(s) {
  const b = s.retention || s.retain || s.basis;
  if (!b) return '';
  if (typeof b === 'string') return b;
  return [b.basis, b.note, b.period, b.from ? `from ${b.from}` : '', b.until ? `until ${b.until}` : ''].filter(Boolean).join(' · ');
}

async function loadPlan() {
  const r = state.current;
  const box = $('#plan');
  box.replaceChildren(el('p', { class: 'muted', text: 'Working out the plan…' }));
  try {
    const plan = await api('GET', `/v1/requests/${encodeURIComponent(r.id)}/plan`);
    const rows = planRows(plan);
    if (!rows) {
      box.replaceChildren(el('pre', { class: 'json', text: JSON.stringify(plan, null, 2) }));
    } else {
      const body = el('tbody', {}, ...rows.map((s) => {
        let action = s.action || s.erase || '';
        if (Array.isArray(s.mask) && s.mask.length) {
          action += ` (${s.mask.map((m) => `${m.column}: ${m.mask}`).join(', ')})`;
        }
        const n = s.rows ?? s.count ?? s.objects ?? s.lines ?? '';
        return el('tr', { class: /keep|retain/.test(String(action)) ? 'plan-keep' : '' },
          el('td', { text: s.connector || '' }), el('td', { text: s.collection || s.prefix || s.files || '' }),
          el('td', { text: typeof action === 'string' ? action : JSON.stringify(action) }),
          el('td', { text: n }), el('td', { text: basisText(s) }));
      }));
      const t = plan && plan.totals;
      const summary = t ? el('p', { text: `In all: ${t.delete ?? 0} to delete, ${t.mask ?? 0} to mask, ${t.keep ?? 0} to keep.` }) : null;
      const ids = plan && plan.identities;
      const unverified = ids && ids.unverified && ids.unverified.length
        ? el('p', { class: 'warn', text: `Not verified, so not used: ${ids.unverified.map(human).join(', ')}. Found through: ${(ids.used || []).map(human).join(', ') || 'nothing'}.` })
        : '';
      box.replaceChildren(summary || '', unverified, el('table', { id: 'plan-table' },
        el('caption', { text: `Erasure plan for ${r.id}` }),
        el('thead', {}, el('tr', {}, ...['Connector', 'Collection', 'Action', 'Rows / objects', 'Retention basis']
          .map((h) => el('th', { scope: 'col', text: h })))),
        body));
    }
    say('Erasure plan loaded.');
  } catch (e) {
    box.replaceChildren();
    if (e.status !== 401) say(`Could not load the plan: ${errorText(e)}`, true);
  }
}

async function downloadExport() {
  const r = state.current;
  try {
    const res = await fetch(`/v1/requests/${encodeURIComponent(r.id)}/export`, {
      headers: { Authorization: `Bearer ${state.key}` },
    });
    if (!res.ok) {
      let data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, data);
    }
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `${r.id}.zip` });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    say('Export downloaded.');
  } catch (e) {
    say(`Could not download the export: ${errorText(e)}`, true);
  }
}

// ---- wiring -------------------------------------------------------------------

function init() {
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = $('#signin-key').value.trim();
    if (!key) { say('Enter the operator key.', true); return; }
    state.key = key;
    try {
      await api('GET', '/v1/requests?limit=1');
      sessionStorage.setItem(KEY_STORAGE, key);
      $('#signin-key').value = '';
      say('Signed in.');
      if (!location.hash || location.hash === '#/') location.hash = '#/requests';
      else route();
    } catch (e) {
      if (e.status !== 401) say(errorText(e), true);
    }
  });
  $('#sign-out').addEventListener('click', () => { signOut(); say('Signed out.'); });

  $('#filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    readFilters();
    loadQueue('');
  });
  $('#filters').addEventListener('reset', () => {
    window.setTimeout(() => { readFilters(); loadQueue(''); }, 0);
  });
  $('#page-next').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
    loadQueue(state.nextCursor);
  });
  $('#page-first').addEventListener('click', () => { state.cursors = ['']; loadQueue(''); });

  $('#reason-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const a = state.pendingAction;
    if (!a) return;
    const reason = $('#reason-text').value.trim();
    if (!reason && !a.optionalReason) {
      // The API answers 400 as well; saying so here saves a round trip.
      $('#reason-text').setAttribute('aria-invalid', 'true');
      say(`A reason is required to ${a.name} a request.`, true);
      $('#reason-text').focus();
      return;
    }
    const body = reason ? { reason } : {};
    if (await act(a.name, body)) {
      $('#reason-form').hidden = true;
      state.pendingAction = null;
    }
  });
  $('#reason-cancel').addEventListener('click', () => {
    $('#reason-form').hidden = true;
    state.pendingAction = null;
  });
  $('#assign-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const who = $('#assign-to').value.trim();
    act('assign', { assignee: who || null });
  });
  $('#note-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const note = $('#note-text').value.trim();
    if (!note) { say('Write a note first.', true); $('#note-text').focus(); return; }
    if (await act('notes', { note })) $('#note-text').value = '';
  });
  $('#plan-load').addEventListener('click', loadPlan);

  window.addEventListener('hashchange', route);
  route();
}

init();
