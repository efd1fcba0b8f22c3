// Acme Notes' Settings page, wired to Lethe's self-service API.
//
//   POST   /v1/self/requests              {"type": "access" | "erasure"}
//   GET    /v1/self/requests[/{id}]       progress (polled)
//   GET    /v1/self/requests/{id}/export  the zip, with the bearer token
//   DELETE /v1/self/requests/{id}         cancel a deletion in its grace period
//
// Every call carries `Authorization: Bearer <JWT>`; the JWT is the host app's
// word for who is signed in. Server data is shown with textContent only.
'use strict';

const TOKEN_STORAGE = 'acme.lethe.token';
const POLL_MS = 1500;
const TERMINAL = ['completed', 'denied', 'cancelled', 'failed'];
const $ = (sel) => document.querySelector(sel);

// In a real app the server renders the token into the page or an endpoint
// hands it out; the demo passes it as ?token=... once.
function tokenFromHost() {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t) {
    sessionStorage.setItem(TOKEN_STORAGE, t);
    // Keep the token out of the address bar, history and Referer headers.
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return t;
  }
  return sessionStorage.getItem(TOKEN_STORAGE) || '';
}

let token = tokenFromHost();
const polls = {};  // section -> timer

function say(text, isError = false) {
  const s = $('#status');
  s.classList.toggle('error', isError);
  s.textContent = text;
}

function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch (_) {
    return null;
  }
}

async function call(method, path) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  return fetch(path, init);
}

async function callJson(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (_) { /* empty */ }
  if (!res.ok) {
    const msg = (data && data.error && data.error.message) || `HTTP ${res.status}`;
    const err = new Error(res.status === 401 ? `Your session is not valid (${msg}). Sign in to Acme Notes again.` : msg);
    err.status = res.status;
    throw err;
  }
  return data;
}

function el(tag, attrs = {}, text) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const WORDS = {
  unverified: 'Waiting for identity verification',
  pending: 'Received; waiting for our privacy team',
  approved: 'Queued',
  in_progress: 'Working on it…',
  completed: 'Done',
  failed: 'Something went wrong; our privacy team has been told',
  denied: 'Declined',
  cancelled: 'Cancelled',
  on_hold: 'On hold',
};

// Renders one request into its section ("export" or "delete").
function render(section, r) {
  const box = $(`#${section}-progress`);
  box.replaceChildren();
  box.dataset.requestId = r.id;
  box.dataset.status = r.status;
  const line = el('p', {});
  const word = section === 'delete' && r.status === 'approved' ? 'Scheduled' : WORDS[r.status] || r.status;
  line.append(el('span', { class: 'state' }, word));
  line.append(document.createTextNode(` — request ${r.id}, received ${when(r.received_at)}`));
  box.append(line);

  if (section === 'delete' && r.status === 'approved' && r.not_before) {
    box.append(el('p', {}, `Your account will be deleted after ${when(r.not_before)}. Until then you can change your mind.`));
  }
  if (section === 'delete' && ['unverified', 'pending', 'approved', 'on_hold'].includes(r.status)) {
    const b = el('button', { type: 'button', id: 'cancel-delete' }, 'Cancel deletion');
    b.addEventListener('click', () => cancel(r.id));
    const row = el('div', { class: 'row' });
    row.append(b);
    box.append(row);
  }
  if (section === 'delete' && r.status === 'completed') {
    box.append(el('p', {}, 'Your account and data have been deleted.'));
  }
  if (section === 'export' && r.status === 'completed' && r.export_available === false) {
    // Erased since (or expired): the data went with the account.
    box.append(el('p', {}, 'This export is no longer available: it was deleted with your data.'));
  } else if (section === 'export' && r.status === 'completed') {
    const a = el('a', { href: '#', class: 'download', id: 'download' }, 'Download your data (zip)');
    a.addEventListener('click', (ev) => { ev.preventDefault(); download(r.id); });
    box.append(a);
  }
  $(`#${section}`).disabled = !TERMINAL.includes(r.status);
}

function poll(section, id) {
  clearTimeout(polls[section]);
  const tick = async () => {
    try {
      const r = await callJson('GET', `/v1/self/requests/${encodeURIComponent(id)}`);
      render(section, r);
      if (!TERMINAL.includes(r.status)) polls[section] = setTimeout(tick, POLL_MS);
      else if (section === 'export' && r.status === 'completed') say('Your export is ready to download.');
    } catch (e) {
      say(e.message, true);
    }
  };
  tick();
}

async function submit(section, type) {
  say('');
  try {
    const r = await callJson('POST', '/v1/self/requests', { type });
    render(section, r);
    say(type === 'erasure' ? 'Deletion requested.' : 'Export requested. We will show the download here when it is ready.');
    poll(section, r.id);
  } catch (e) {
    say(`Could not send the request: ${e.message}`, true);
  }
}

async function cancel(id) {
  try {
    const r = await callJson('DELETE', `/v1/self/requests/${encodeURIComponent(id)}`);
    render('delete', r);
    say('Deletion cancelled. Your account stays as it is.');
  } catch (e) {
    say(`Could not cancel: ${e.message}`, true);
  }
}

// The export needs the bearer token, so a plain link would not do: fetch it
// and hand the browser a blob to save.
async function download(id) {
  try {
    const res = await call('GET', `/v1/self/requests/${encodeURIComponent(id)}/export`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `acme-notes-data-${id}.zip` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say('Download started.');
  } catch (e) {
    say(`Could not download: ${e.message}`, true);
  }
}

// On load, pick up the latest export and deletion so a reload keeps progress.
async function restore() {
  const c = claims(token);
  $('#who').textContent = c && c.email ? `Signed in as ${c.email}` : '';
  if (!token) {
    say('No session token: open this page from your app (the demo prints a link with ?token=...).', true);
    $('#export').disabled = true;
    $('#delete').disabled = true;
    return;
  }
  $('#export').disabled = false;
  $('#delete').disabled = false;
  try {
    const page = await callJson('GET', '/v1/self/requests?limit=50');
    const items = (page && page.items) || [];
    const latest = (types) => items.filter((r) => types.includes(r.type))
      .sort((a, b) => (a.received_at < b.received_at ? 1 : -1))[0];
    const ex = latest(['access', 'portability']);
    const del = latest(['erasure']);
    if (ex) poll('export', ex.id);
    if (del) poll('delete', del.id);
  } catch (e) {
    say(e.message, true);
  }
}

$('#export').addEventListener('click', () => submit('export', 'access'));
$('#delete').addEventListener('click', () => {
  if (!window.confirm('Delete your Acme Notes account and all your data? You can cancel for a short while.')) return;
  submit('delete', 'erasure');
});
$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('#token-input').value.trim();
  sessionStorage.setItem(TOKEN_STORAGE, token);
  $('#token-input').value = '';
  restore();
});
restore();
