// Browser tests of the faces people use: the example Settings page (a subject
// exports and deletes) and the operator inbox (sign in, find, plan, approve,
// deny needs a reason). They drive Debian's chromium through playwright-core
// against a real `lethe demo` on a free port.
//
// Env: LETHE_BINARY (the lethe binary), LETHE_SOURCE_DIR (the source tree),
// CHROMIUM (default /usr/bin/chromium), LETHE_UPDATE_SCREENSHOTS=1 writes the
// screenshots to docs/screenshots/ (otherwise to the temp dir).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const SOURCE = process.env.LETHE_SOURCE_DIR || path.resolve(__dirname, '../../..');
const BINARY = process.env.LETHE_BINARY || path.join(SOURCE, 'build/lethe');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lethe-browser-'));
const SHOTS = process.env.LETHE_UPDATE_SCREENSHOTS === '1' ? path.join(SOURCE, 'docs/screenshots') : TMP;

let demo;        // the `lethe demo` child process
let demoLog = '';
let base;        // http://127.0.0.1:PORT
let operatorKey;
let jwt;
let context;     // the browser context (persistent, fresh user-data-dir)
let graceErasureId; // approved in the inbox test, checked after its grace period
// Console reports of anything the pages' Content-Security-Policy blocked: a
// page that needs an inline script or style, or another origin, is broken.
const cspViolations = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the demo and resolves once it printed its keys and /healthz answers.
async function startDemo() {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  demo = spawn(BINARY, ['demo', '--dir', path.join(TMP, 'world'), '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, LETHE_SOURCE_DIR: SOURCE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout.on('data', (d) => { demoLog += d; });
  demo.stderr.on('data', (d) => { demoLog += d; });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (demo.exitCode !== null) throw new Error(`lethe demo exited with ${demo.exitCode}:\n${demoLog}`);
    const key = demoLog.match(/^operator_key: (\S+)$/m);
    const tok = demoLog.match(/^demo_jwt: (\S+)$/m);
    if (key && tok) {
      operatorKey = key[1];
      jwt = tok[1];
      try {
        const res = await fetch(`${base}/healthz`);
        if (res.ok) return;
      } catch (_) { /* not listening yet */ }
    }
    await sleep(200);
  }
  throw new Error(`lethe demo did not come up:\n${demoLog}`);
}

async function operatorApi(method, p, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${operatorKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function signIn(page) {
  await page.goto(`${base}/inbox/`);
  await page.getByLabel('Operator key').fill(operatorKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#queue-body tr');
}

// Every form control must have a label a screen reader can announce.
async function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
    .map((e) => e.id || e.name || e.outerHTML));
}

// WCAG 2 contrast of every visible text element's colour against the first
// opaque background behind it; returns those below 4.5:1.
async function lowContrast(page) {
  return page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.offsetParent || el.closest('[disabled]')) continue;
      const st = getComputedStyle(el);
      if (parseFloat(st.opacity) < 1) continue;
      const a = lum(rgb(st.color).slice(0, 3)), b = lum(bgOf(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
}

before(async () => {
  assert.ok(fs.existsSync(BINARY), `no lethe binary at ${BINARY}`);
  assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM} (apt-get install chromium)`);
  await startDemo();
  context = await chromium.launchPersistentContext(path.join(TMP, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(30000);
  context.on('page', (page) => page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${page.url().split("?")[0]}: ${msg.text()}`);
  }));
});

after(async () => {
  if (context) await context.close();
  if (demo && demo.exitCode === null) {
    demo.kill('SIGTERM');
    await new Promise((r) => { demo.once('exit', r); setTimeout(r, 5000); });
  }
  if (process.env.LETHE_KEEP_TMP !== '1') fs.rmSync(TMP, { recursive: true, force: true });
});

test('the demo prints a working operator key and subject JWT', async () => {
  assert.match(operatorKey, /^lethe_op_[0-9a-f]{48}$/);
  assert.equal(jwt.split('.').length, 3);
  const list = await operatorApi('GET', '/v1/requests');
  assert.equal(list.status, 200);
  assert.ok(list.body.items.length >= 5, 'the demo seeds sample requests');
  const me = await fetch(`${base}/v1/self/requests`, { headers: { Authorization: `Bearer ${jwt}` } });
  assert.equal(me.status, 200);
  const wrong = await fetch(`${base}/v1/requests`, { headers: { Authorization: 'Bearer not-the-key' } });
  assert.equal(wrong.status, 401);
});

test('settings page: the subject exports her data and downloads a valid zip', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/examples/settings-page/?token=${jwt}`);
  // The token leaves the address bar at once.
  assert.ok(!page.url().includes('token='), page.url());
  await page.waitForSelector('#who:has-text("ada@example.com")');
  assert.deepEqual(await unlabelledControls(page), []);

  await page.getByRole('button', { name: 'Export my data' }).click();
  const link = page.locator('#download');
  await link.waitFor({ timeout: 90000 });
  await page.screenshot({ path: path.join(SHOTS, 'settings-page.png') });
  assert.deepEqual(await lowContrast(page), [], 'text contrast below 4.5:1');

  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const zip = path.join(TMP, 'export.zip');
  await download.saveAs(zip);
  const bytes = fs.readFileSync(zip);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a zip file');
  const listing = execFileSync('unzip', ['-l', zip], { encoding: 'utf8' });
  assert.match(listing, /\bmanifest\.json\b/);
  assert.match(listing, /\breport\.html\b/);
  assert.match(listing, /data\/app\/users\.json/);
  assert.match(listing, /files\/uploads\/42\/avatar\.png/);
  assert.doesNotMatch(listing, /\/420\//, "user 420's files are not user 42's");
  if (/vec0 table/.test(demoLog)) assert.match(listing, /data\/app\/doc_embeddings\.json/);
  const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, 'manifest.json'], { encoding: 'utf8' }));
  assert.equal(manifest.subject.email, 'ada@example.com');
  // The manifest's hashes match the files in the zip.
  assert.ok(manifest.files.length >= 10);
  for (const f of manifest.files) {
    const content = execFileSync('unzip', ['-p', zip, f.path]);
    assert.equal(content.length, f.size, f.path);
    assert.equal(crypto.createHash('sha256').update(content).digest('hex'), f.sha256, f.path);
  }
  // Only Ada's data: the other users' emails appear nowhere in the data files.
  const data = execFileSync('unzip', ['-p', zip, 'data/*'], { encoding: 'utf8' });
  assert.ok(data.includes('ada@example.com'));
  assert.ok(!data.includes('grace@example.com'), 'another user leaked into the export');
  await page.close();
});

test('settings page: a deletion can be cancelled during its grace period', async () => {
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}/examples/settings-page/?token=${jwt}`);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  const cancel = page.getByRole('button', { name: 'Cancel deletion' });
  await cancel.waitFor();
  assert.equal(await page.locator('#delete-progress').getAttribute('data-status'), 'approved');
  assert.match(await page.locator('#delete-progress').innerText(), /will be deleted after/);
  await page.screenshot({ path: path.join(SHOTS, 'settings-deletion.png') });
  await cancel.click();
  await page.waitForSelector('#delete-progress[data-status="cancelled"]');
  // The server agrees.
  const id = await page.locator('#delete-progress').getAttribute('data-request-id');
  const r = await operatorApi('GET', `/v1/requests/${id}`);
  assert.equal(r.body.status, 'cancelled');
  await page.close();
});

test('inbox: sign-in refuses a wrong key and keeps the right one for the tab only', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/inbox/`);
  assert.deepEqual(await unlabelledControls(page), []);
  // Keyboard: the key field has focus on arrival, Tab moves to Sign in, and
  // a skip link leads past the header to the main content.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-key');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Sign in');
  assert.equal(await page.getAttribute('a.skip', 'href'), '#main');
  await page.getByLabel('Operator key').fill('wrong-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#status.error:has-text("not accepted")');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lethe.operatorKey')), null);
  await signIn(page);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lethe.operatorKey')), operatorKey);
  await page.close();
});

test('inbox: the queue is sorted by due date with days-left badges', async () => {
  const page = await context.newPage();
  await signIn(page);
  assert.deepEqual(await unlabelledControls(page), []);
  const dues = await page.$$eval('#queue-body tr td:first-child .muted', (els) => els.map((e) => e.textContent));
  assert.ok(dues.length >= 5);
  // The CCPA request filed 50 days ago is overdue: a red badge, first in line.
  const firstBadge = page.locator('#queue-body tr').first().locator('.badge');
  assert.match(await firstBadge.getAttribute('class'), /overdue/);
  assert.ok(await page.locator('#queue-body .badge.soon').count() >= 1, 'an amber due-soon badge');
  await page.screenshot({ path: path.join(SHOTS, 'inbox-queue.png') });
  assert.deepEqual(await lowContrast(page), [], 'text contrast below 4.5:1');

  // Filters go to the API: regulation=ccpa leaves the one CCPA request.
  await page.getByLabel('Regulation').selectOption('ccpa');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#queue-body tr').length === 1);
  assert.match(await page.locator('#queue-body').innerText(), /katherine@example\.com/);
  await page.close();
});

test('inbox: the operator finds the erasure request, reads its plan and approves it', async () => {
  const page = await context.newPage();
  await signIn(page);
  await page.getByLabel('Search').fill('grace@example.com');
  await page.getByLabel('Type').selectOption('erasure');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#queue-body tr').length === 1);
  await page.locator('#queue-body tr a').first().click();
  await page.waitForSelector('#req-title:has-text("Erasure request")');
  assert.match(await page.locator('#req-summary').innerText(), /pending/);

  await page.getByRole('button', { name: 'Show plan' }).click();
  const plan = page.locator('#plan');
  await plan.locator('table, pre').first().waitFor();
  const planText = await plan.innerText();
  assert.match(planText, /invoices/);
  assert.match(planText, /legal_obligation|EU tax law/, 'the retention basis is shown');
  await page.screenshot({ path: path.join(SHOTS, 'inbox-request.png'), fullPage: true });
  assert.deepEqual(await lowContrast(page), [], 'text contrast below 4.5:1');

  graceErasureId = (await page.locator('#req-title').innerText()).split(' ').pop();
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForSelector('#status:has-text("Status is now approved")');
  assert.match(await page.locator('#timeline').innerText(), /approved by demo/);
  await page.close();
});

test('inbox: a deny without a reason is refused, by the UI and by the API', async () => {
  const page = await context.newPage();
  await signIn(page);
  await page.getByLabel('Search').fill('katherine@example.com');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#queue-body tr').length === 1);
  const id = (await page.locator('#queue-body tr a').first().innerText()).trim();
  await page.locator('#queue-body tr a').first().click();
  await page.waitForSelector('button[data-action="deny"]');
  await page.locator('button[data-action="deny"]').click();
  await page.getByRole('button', { name: 'Confirm deny' }).click();
  await page.waitForSelector('#status.error:has-text("reason is required")');
  assert.equal(await page.locator('#reason-text').getAttribute('aria-invalid'), 'true');

  const api = await operatorApi('POST', `/v1/requests/${id}/deny`, {});
  assert.equal(api.status, 400);
  assert.equal(api.body.error.field, '/reason');
  const blank = await operatorApi('POST', `/v1/requests/${id}/deny`, { reason: '' });
  assert.equal(blank.status, 400);
  const still = await operatorApi('GET', `/v1/requests/${id}`);
  assert.equal(still.body.status, 'pending');

  // With a reason it goes through.
  await page.getByLabel(/Reason to deny/).fill('Requester is not a California resident.');
  await page.getByRole('button', { name: 'Confirm deny' }).click();
  await page.waitForSelector('#status:has-text("Status is now denied")');
  await page.close();
});

async function openBySearch(page, q) {
  await page.getByLabel('Search').fill(q);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#queue-body tr').length === 1);
  await page.locator('#queue-body tr a').first().click();
  await page.waitForSelector('#req-summary dd');
}

test('inbox: assign, note, hold and resume, extend with a reason; all on the timeline', async () => {
  const page = await context.newPage();
  await signIn(page);
  await openBySearch(page, 'emmy@example.com');
  await page.getByLabel('Assign to').fill('alice');
  await page.getByRole('button', { name: 'Assign' }).click();
  await page.waitForSelector('#status:has-text("Done: assign")');
  assert.match(await page.locator('#req-summary').innerText(), /alice/);

  await page.getByLabel('Note').fill('Checked the spelling with her.');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.waitForSelector('#status:has-text("Done: notes")');

  await page.locator('button[data-action="hold"]').click();
  await page.getByRole('button', { name: 'Confirm hold' }).click();  // the reason is optional
  await page.waitForSelector('#status:has-text("Status is now on hold")');
  await page.locator('button[data-action="resume"]').click();
  await page.waitForSelector('#status:has-text("Status is now pending")');

  await page.locator('button[data-action="extend"]').click();
  await page.getByLabel(/Reason to extend/).fill('Complex: three systems hold her name.');
  await page.getByRole('button', { name: 'Confirm extend' }).click();
  await page.waitForSelector('#status:has-text("Done: extend")');
  assert.match(await page.locator('#req-summary').innerText(), /extended/);
  assert.equal(await page.locator('button[data-action="extend"]').count(), 0, 'only one extension');

  const timeline = await page.locator('#timeline').innerText();
  for (const kind of [/assign/i, /note/i, /hold/i, /resume/i, /extend/i]) assert.match(timeline, kind);
  assert.match(timeline, /three systems/);
  await page.close();
});

test('inbox: text from requests is shown as text, never as HTML', async () => {
  const evil = '<img src=x onerror="window.__pwned=1">';
  const made = await operatorApi('POST', '/v1/requests', {
    type: 'access', regulation: 'gdpr', subject: { email: 'mallory@example.net' }, note: evil,
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const page = await context.newPage();
  await signIn(page);
  await page.goto(`${base}/inbox/#/requests/${made.body.id}`);
  await page.waitForSelector('#req-summary dd');
  assert.ok((await page.locator('#req-summary').innerText()).includes(evil));
  assert.equal(await page.locator('#req-summary img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.close();
});

test("inbox: the operator downloads a completed access request's export", async () => {
  const page = await context.newPage();
  await signIn(page);
  await page.getByLabel('Status').selectOption('completed');
  await page.getByLabel('Type').selectOption('access');
  await openBySearch(page, 'ada@example.com');
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download export' }).click()]);
  const zip = path.join(TMP, 'operator-export.zip');
  await download.saveAs(zip);
  assert.match(execFileSync('unzip', ['-l', zip], { encoding: 'utf8' }), /manifest\.json/);
  await page.close();
});

test('inbox: cursor paging through more requests than fit one page', async () => {
  for (let i = 0; i < 26; i++) {
    const r = await operatorApi('POST', '/v1/requests', {
      type: 'access', regulation: 'gdpr', subject: { email: `bulk${i}@example.net` }, note: 'paging test',
    });
    assert.equal(r.status, 201);
  }
  const page = await context.newPage();
  await signIn(page);
  await page.getByLabel('Search').fill('paging test');
  await page.getByRole('button', { name: 'Apply' }).click();
  // The unfiltered queue loaded at sign-in also has 25 rows: wait until the
  // filtered load (the newest) is done, not just for 25 rows.
  const queueShows = (n) => page.waitForFunction((want) => !document.querySelector('#queue-body').hasAttribute('aria-busy')
    && document.querySelectorAll('#queue-body tr').length === want, n);
  await queueShows(25);
  const first = await page.locator('#queue-body tr a').allInnerTexts();
  assert.ok(await page.locator('#page-next').isEnabled());
  await page.locator('#page-next').click();
  await queueShows(1);
  const second = await page.locator('#queue-body tr a').allInnerTexts();
  assert.ok(!first.includes(second[0]), 'page 2 continues where page 1 ended');
  assert.ok(await page.locator('#page-next').isDisabled());
  await page.locator('#page-first').click();
  await queueShows(25);
  await page.close();
});

test('lethe demo reuses its directory, makes a new operator key each run, and --fresh deletes only its own', () => {
  const dir = path.join(TMP, 'again');
  const run = (...args) => execFileSync(BINARY, ['demo', '--dir', dir, '--no-serve', ...args],
    { encoding: 'utf8', env: { ...process.env, LETHE_SOURCE_DIR: SOURCE } });
  const first = run();
  assert.match(first, /\(new\)/);
  const key1 = first.match(/^operator_key: (\S+)$/m)[1];
  fs.appendFileSync(path.join(dir, 'files/42/uploads/kept.txt'), 'still here\n');
  const second = run();
  assert.match(second, /\(reused/);
  const key2 = second.match(/^operator_key: (\S+)$/m)[1];
  assert.notEqual(key1, key2);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'lethe.json'), 'utf8'));
  const demoOp = config.operators.find((o) => o.name === 'demo');
  assert.equal(demoOp.key_sha256, crypto.createHash('sha256').update(key2).digest('hex'));
  assert.ok(!fs.readFileSync(path.join(dir, 'lethe.json'), 'utf8').includes(key2), 'the key itself is not stored');
  assert.ok(fs.existsSync(path.join(dir, 'files/42/uploads/kept.txt')), 'a rerun keeps the world');
  assert.equal(fs.statSync(path.join(dir, 'demo.env')).mode & 0o077, 0, 'demo.env is private');

  run('--fresh');
  assert.ok(!fs.existsSync(path.join(dir, 'files/42/uploads/kept.txt')), '--fresh rebuilds');

  // A directory the demo did not make is never deleted.
  const foreign = path.join(TMP, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'precious.txt'), 'x');
  assert.throws(() => execFileSync(BINARY, ['demo', '--dir', foreign, '--no-serve', '--fresh'], { stdio: 'pipe' }),
    (e) => e.status === 2 && /not a lethe demo directory/.test(String(e.stderr)));
  assert.throws(() => execFileSync(BINARY, ['demo', '--dir', foreign, '--no-serve'], { stdio: 'pipe' }),
    (e) => e.status === 2);
  assert.ok(fs.existsSync(path.join(foreign, 'precious.txt')));
});

test('the approved erasure is carried out and erases only Grace (user 43)', async () => {
  assert.ok(graceErasureId, 'the approve test ran');
  const world = path.join(TMP, 'world');
  let r;
  const deadline = Date.now() + 240000;  // the worker's interval, with room for a busy machine
  do {
    await sleep(2000);
    r = (await operatorApi('GET', `/v1/requests/${graceErasureId}`)).body;
  } while (!['completed', 'failed'].includes(r.status) && Date.now() < deadline);
  assert.equal(r.status, 'completed', JSON.stringify(r.tasks));
  assert.ok(r.tasks.length > 0 && r.tasks.every((t) => t.status === 'done'), JSON.stringify(r.tasks));
  // The request page shows the per-connector tasks.
  const page = await context.newPage();
  await signIn(page);
  await page.goto(`${base}/inbox/#/requests/${graceErasureId}`);
  await page.waitForSelector('#tasks-body tr');
  const tasks = await page.locator('#tasks-body').innerText();
  assert.match(tasks, /invoices/);
  assert.match(tasks, /llm_traces/);
  assert.ok(!/failed|pending/.test(tasks), tasks);
  await page.close();

  const sql = (q) => execFileSync('sqlite3', [path.join(world, 'app.db'), q], { encoding: 'utf8' }).trim();
  assert.equal(sql('SELECT count(*) FROM users WHERE id = 43'), '0');
  assert.equal(sql('SELECT count(*) FROM documents WHERE user_id = 43'), '0');
  assert.equal(sql('SELECT count(*) FROM drafts WHERE id = 204'), '0', 'drafts of her documents too');
  // Invoices are kept for tax law, with the personal fields masked.
  assert.equal(sql('SELECT count(*) FROM invoices WHERE user_id = 43'), '2');
  assert.equal(sql('SELECT count(*) FROM invoices WHERE user_id = 43 AND (name IS NOT NULL OR email = \'grace@example.com\')'), '0');
  // Nobody else was touched.
  assert.equal(sql('SELECT count(*) FROM users'), '4');
  assert.equal(sql("SELECT name FROM invoices WHERE user_id = 42 LIMIT 1"), 'Ada Lovelace');
  assert.ok(!fs.existsSync(path.join(world, 'files/43')) || fs.readdirSync(path.join(world, 'files/43')).length === 0);
  assert.ok(fs.existsSync(path.join(world, 'files/42/avatar.png')));
  const traces = fs.readFileSync(path.join(world, 'logs/llm-traces.jsonl'), 'utf8');
  assert.ok(!traces.includes('grace@example.com') && traces.includes('ada@example.com'));
  const audit = fs.readFileSync(path.join(world, 'logs/app-audit.jsonl'), 'utf8');
  assert.ok(!audit.includes('grace@example.com'), 'the app audit log is redacted');
});

test('no page broke its Content-Security-Policy', () => {
  assert.deepEqual(cspViolations, []);
});
