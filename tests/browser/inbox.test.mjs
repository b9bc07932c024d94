// inbox.test.mjs: the inbox (nginx/www) in a real browser: Debian's
// headless chromium driven by playwright-core, against the running stack
// named by $WA_STACK_ENV. The Graph API simulator plays Meta and the
// customers. The tests run in order on one page, like a person's session.
//
// Any console error or uncaught page error fails the run, except the
// connection errors a browser logs while nginx is deliberately down.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, mkdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {randomBytes, randomInt} from 'node:crypto';
import {deflateSync} from 'node:zlib';
import {chromium} from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const SHOTS = join(HERE, 'screenshots');

const ENV = Object.fromEntries(readFileSync(process.env.WA_STACK_ENV, 'utf8')
    .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const BASE = `http://127.0.0.1:${ENV.WA_HTTP_PORT}`;
const SIM = `http://127.0.0.1:${ENV.WA_SIM_PORT}`;

// A real PNG (a gradient), so the <img> decodes and shows in screenshots.
function makePng(w, h) {
	const crcTable = Array.from({length: 256}, (_, n) => {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		return c >>> 0;
	});
	const crc = (buf) => {
		let c = 0xffffffff;
		for (const b of buf)
			c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ 0xffffffff) >>> 0;
	};
	const chunk = (type, data) => {
		const len = Buffer.alloc(4), sum = Buffer.alloc(4);
		len.writeUInt32BE(data.length);
		const td = Buffer.concat([Buffer.from(type), data]);
		sum.writeUInt32BE(crc(td));
		return Buffer.concat([len, td, sum]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr.set([8, 2, 0, 0, 0], 8);	// 8-bit RGB
	const raw = Buffer.alloc((w * 3 + 1) * h);
	for (let y = 0; y < h; y++)
		for (let x = 0; x < w; x++)
			raw.set([40 + (x * 200) / w, 135, 95 + (y * 160) / h], y * (w * 3 + 1) + 1 + x * 3);
	return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
	    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = makePng(160, 120);

const digits = (n) => Array.from({length: n}, () => randomInt(10)).join('');

function wactl(args, input) {
	const p = spawnSync(join(ENV.WA_BIN_DIR, 'wactl'), args, {input,
	    env: {...process.env, ...ENV}, encoding: 'utf8', timeout: 30000});
	if (p.status !== 0)
		throw new Error(`wactl ${args.join(' ')}: ${p.stderr}`);
	return p.stdout.trim();
}

function stackPart(action, part) {
	const p = spawnSync(join(ROOT, 'scripts', 'stack.sh'), [`${action}-part`, part],
	    {env: {...process.env, ...ENV}, encoding: 'utf8', timeout: 60000});
	if (p.status !== 0)
		throw new Error(`stack.sh ${action}-part ${part}: ${p.stderr}`);
}

async function sim(method, path, body) {
	const r = await fetch(SIM + path, {method, headers: {'Content-Type': 'application/json'},
	    body: body === undefined ? undefined : JSON.stringify(body)});
	const j = await r.json();
	if (!r.ok)
		throw new Error(`sim ${path}: ${r.status} ${JSON.stringify(j)}`);
	return j;
}

async function waitFor(fn, what, ms = 8000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error('timed out waiting for ' + what);
		await new Promise((ok) => setTimeout(ok, 50));
	}
}

// Graph requests our backend made since `since` (the simulator's seq).
async function simRequests(since) {
	const r = await sim('GET', '/_sim/requests?path_contains=/messages' + (since ? '&since=' + since : ''));
	return r.requests || r;
}

// The simulator's latest request number (read incrementally: after the
// e2e suite its log is long).
let seqSeen = 0;
async function simSeq() {
	const r = await sim('GET', '/_sim/requests?since=' + seqSeen);
	const list = r.requests || r;
	if (list.length)
		seqSeen = list[list.length - 1].seq;
	return seqSeen;
}

// --- fixtures: two tenants, one user in both, customers ----------------------

function makeTenant(name) {
	const t = {name, pnid: '1' + digits(14), display: '1555' + digits(7),
	    token: 'EAAG' + randomBytes(16).toString('hex')};
	t.id = wactl(['tenant', 'add', '--name', name, '--phone-number-id', t.pnid,
	    '--waba-id', '2' + digits(14), '--display-phone', t.display, '--access-token', t.token]);
	return t;
}

const shop = makeTenant('Browser Shop ' + digits(4));
const other = makeTenant('Second Shop ' + digits(4));
const user = {email: `inbox-${randomBytes(4).toString('hex')}@example.com`,
    password: 'pw-' + randomBytes(8).toString('hex')};
wactl(['user', 'add', '--email', user.email, '--password-stdin', '--tenant', shop.id, '--role', 'owner'],
    user.password + '\n');
wactl(['user', 'add', '--email', user.email, '--tenant', other.id, '--role', 'agent']);

const alice = {phone: '1555' + digits(7), name: 'Alice <b>Tester</b>'};
const bob = {phone: '1556' + digits(7), name: 'Bob Builder'};
const carol = {phone: '1557' + digits(7), name: 'Carol Closed'};
const gus = {phone: '1561' + digits(7), name: 'Gus Gone'};
const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';

const inbound = (who, message, extra = {}) => sim('POST', '/_sim/inbound',
    {phone_number_id: shop.pnid, from: who.phone, name: who.name, message, ...extra})
    .then((r) => {
	    assert.equal(r.webhook_status, 200, 'webhook accepted: ' + JSON.stringify(r.error));
	    return r.wamid;
    });

// --- the browser -------------------------------------------------------------

let context, page, profile, jwt = null;
const problems = [];
let outage = false;	// nginx is down on purpose: connection errors expected
let expected = null;	// a console error a test provokes on purpose (RegExp)
const OUTAGE_NOISE = /WebSocket connection to|ERR_CONNECTION_REFUSED|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_NETWORK_CHANGED|Failed to load resource/;

before(async () => {
	mkdirSync(SHOTS, {recursive: true});
	for (const t of [shop, other])
		await sim('POST', '/_sim/numbers', {phone_number_id: t.pnid, access_token: t.token,
		    display_phone_number: t.display});
	// Whatever earlier test runs left in the simulator: no faults, the
	// usual automatic statuses.
	await sim('DELETE', '/_sim/fail');
	await sim('POST', '/_sim/config', {auto_status: true, status_delay_ms: 30,
	    statuses: ['sent', 'delivered', 'read']});

	// History to show: Alice's hostile text, Bob's media, location,
	// contact and a quoted reply, Carol's old message (window closed).
	await inbound(alice, {type: 'text', text: {body: XSS}});
	const first = await inbound(bob, {type: 'text', text: {body: 'Hello, do you ship to Berlin?'}});
	await inbound(bob, {type: 'image', image: {caption: 'the broken part'}}, {media_content_b64: PNG.toString('base64')});
	await inbound(bob, {type: 'location', location: {latitude: 52.520008, longitude: 13.404954, name: 'Alexanderplatz'}});
	await inbound(bob, {type: 'contacts', contacts: [{name: {formatted_name: 'Dora Delivery', first_name: 'Dora'},
	    phones: [{phone: '+49 30 1234567', type: 'WORK'}]}]});
	await inbound(bob, {type: 'document', document: {filename: 'invoice.pdf'}});
	await inbound(bob, {type: 'text', text: {body: 'See above please'}, context: first});
	const old = Math.floor(Date.now() / 1000) - 3 * 86400;
	await inbound(carol, {type: 'text', text: {body: 'An old question'}, timestamp: String(old)});
	await inbound(gus, {type: 'text', text: {body: 'Anyone there?'}, timestamp: String(old)});

	profile = mkdtempSync(join(tmpdir(), 'wa-inbox-chromium-'));
	context = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: {width: 1280, height: 800},
	});
	page = context.pages()[0] || await context.newPage();
	page.setDefaultTimeout(8000);
	page.on('console', (m) => {
		if (m.type() !== 'error')
			return;
		if (outage && OUTAGE_NOISE.test(m.text()))
			return;
		if (expected && expected.test(m.text() + ' ' + m.location().url))
			return;
		problems.push(`console.error: ${m.text()} (${m.location().url})`);
	});
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	page.on('dialog', (d) => {
		problems.push('a dialog opened (injected script ran?): ' + d.message());
		d.dismiss();
	});
	page.on('response', async (r) => {
		if (r.url().endsWith('/api/v1/auth/login') && r.ok())
			jwt = (await r.json()).token;
	});
});

after(async () => {
	await sim('POST', '/_sim/config', {auto_status: true}).catch(() => {});
	if (context)
		await context.close();
	if (profile)
		rmSync(profile, {recursive: true, force: true});
});

// An accessibility audit (axe-core) of what is on screen: serious and
// critical findings fail.
const AXE = readFileSync(join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
async function audit(what) {
	if (!await page.evaluate(() => !!window.axe))
		await page.evaluate(AXE);
	const r = await page.evaluate(() => window.axe.run(document, {resultTypes: ['violations']}));
	const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
	    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
	assert.deepEqual(bad, [], 'accessibility of ' + what);
}

async function shot(name) {
	// Pictures come as blobs a moment after the bubbles: wait for them.
	await page.waitForFunction(() => [...document.images].every((i) => !i.src || i.complete),
	    null, {timeout: 3000}).catch(() => {});
	await page.screenshot({path: join(SHOTS, name + '.png')});
}
const conv = (who) => page.locator(`#conv-list [data-phone="+${who.phone}"]`);
const msgs = () => page.locator('#msg-list li.msg');
const lastMsg = () => page.locator('#msg-list li.msg').last();

// The REST API as the signed-in user, from node: the token the login
// answer carried (the page itself never uses it).
async function apiAs(method, path, tenant = shop) {
	const r = await fetch(BASE + path, {method, headers: {Authorization: 'Bearer ' + jwt,
	    'X-Tenant-Id': tenant.id, Accept: 'application/json'}});
	const j = r.status === 204 ? null : await r.json();
	if (!r.ok)
		throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
	return j;
}

// The page's own computed styles and boxes.
const opacityOf = (loc) => loc.evaluate((n) => getComputedStyle(n).opacity);
const widthOf = (loc) => loc.evaluate((n) => n.getBoundingClientRect().width);

// At phone width: back to the list, whatever was open.
async function phoneList() {
	await page.setViewportSize({width: 390, height: 844});
	if (await page.locator('#back').isVisible())
		await page.click('#back');
	await page.locator('#list-pane').waitFor();
}

// --- the tests ---------------------------------------------------------------

test('login sets an HttpOnly cookie, the page keeps no token, and a user with two businesses picks one', async () => {
	await page.goto(BASE + '/');
	await page.locator('#login-view').waitFor();
	await shot('01-login');
	await audit('the sign-in view');
	await page.fill('#login-email', user.email);
	await page.fill('#login-password', user.password);
	await page.press('#login-password', 'Enter');
	await page.locator('#tenant-view').waitFor();
	assert.deepEqual((await page.locator('#tenant-list .tenant strong').allTextContents()).sort(),
	    [shop.name, other.name].sort());
	await shot('02-tenant-picker');
	await audit('the business picker');

	const cookie = (await context.cookies(BASE)).find((c) => c.name === 'session');
	assert.ok(cookie, 'session cookie set');
	assert.equal(cookie.httpOnly, true);
	assert.equal(cookie.sameSite, 'Strict');
	assert.ok(jwt, 'the login answer carried a token (which the page must ignore)');
	const seen = await page.evaluate(() => [document.cookie, JSON.stringify(localStorage),
	    JSON.stringify(sessionStorage), document.documentElement.outerHTML].join('\n'));
	assert.ok(!seen.includes(jwt), 'the token is nowhere the page can read');
	assert.ok(!/eyJ[\w-]+\.eyJ/.test(seen), 'no JWT-looking string in page storage or DOM');

	await page.click(`#tenant-list .tenant[data-id="${shop.id}"]`);
	await page.locator('#inbox-view').waitFor();
	await assert.doesNotReject(page.locator('#tenant-name', {hasText: shop.name}).waitFor());
	await page.locator('#live[data-state="live"]').waitFor();
});

test('the list shows name, phone, last message, unread badge, time and window state', async () => {
	const b = conv(bob);
	await b.waitFor();
	assert.equal(await b.locator('.name').textContent(), bob.name);
	assert.equal(await b.locator('.phone').textContent(), '+' + bob.phone);
	assert.equal(await b.locator('.preview').textContent(), 'See above please');
	assert.equal(await b.locator('.badge').textContent(), '6');
	assert.match(await b.locator('.time').textContent(), /\d/);
	assert.equal(await b.locator('.window').textContent(), 'open');
	assert.equal(await conv(carol).locator('.window').textContent(), 'closed');
	// The hostile name and text are text, not markup.
	const a = conv(alice);
	assert.equal(await a.locator('.name').textContent(), alice.name);
	assert.equal(await a.locator('.preview').textContent(), XSS);
	assert.equal(await page.locator('#conv-list b, #conv-list script, #conv-list img').count(), 0);
	await shot('03-list');
});

test('search narrows the list by name or phone', async () => {
	await page.fill('#search', 'builder');
	await waitFor(async () => (await page.locator('#conv-list .conv-item').count()) === 1, 'search by name');
	await conv(bob).waitFor();
	await page.fill('#search', carol.phone.slice(-6));
	await waitFor(async () => (await page.locator('#conv-list .conv-item').count()) === 1 &&
	    (await conv(carol).count()) === 1, 'search by phone');
	await page.fill('#search', '');
	await waitFor(async () => (await page.locator('#conv-list .conv-item').count()) >= 3, 'search cleared');
});

test('opening a conversation shows text, image, location, contact, document and a quoted reply, and marks it read', async () => {
	const since = await simSeq();
	await conv(bob).click();
	await waitFor(async () => (await msgs().count()) === 6, 'six messages');
	const img = page.locator('#msg-list img.image');
	await waitFor(() => img.evaluate((i) => i.complete && i.naturalWidth > 0), 'image decoded');
	assert.match(await img.getAttribute('src'), /^blob:/);
	const loc = page.locator('#msg-list .location');
	assert.match(await loc.textContent(), /Alexanderplatz.*52\.52001, 13\.40495/s);
	assert.match(await loc.locator('a').getAttribute('href'), /openstreetmap\.org\/\?mlat=52\.520008&mlon=13\.404954/);
	assert.match(await page.locator('#msg-list .contacts').textContent(), /Dora Delivery.*\+49 30 1234567/);
	assert.match(await page.locator('#msg-list a.doc').textContent(), /invoice\.pdf/);
	assert.equal(await lastMsg().locator('.quote').textContent(), 'Hello, do you ship to Berlin?');
	assert.equal(await page.locator('#conv-window').textContent(), 'Window open');
	await shot('04-conversation');
	await audit('the inbox with a conversation open');
	// Read receipt to Meta for the newest incoming message; badge gone.
	await waitFor(async () => (await simRequests(since)).some((r) => r.json?.status === 'read'), 'read receipt sent');
	await waitFor(async () => (await conv(bob).locator('.badge').count()) === 0, 'unread badge cleared');
});

test('stickers, voice notes, audio and video get players, documents download, button replies show', async () => {
	const erin = {phone: '1559' + digits(7), name: 'Erin Media'};
	for (const m of [{type: 'sticker', sticker: {}}, {type: 'audio', audio: {voice: true}},
	    {type: 'audio', audio: {}}, {type: 'video', video: {caption: 'unboxing'}},
	    {type: 'document', document: {filename: 'manual.pdf', caption: 'the manual'}},
	    {type: 'interactive', interactive: {type: 'button_reply', button_reply: {id: 'yes', title: 'Yes please'}}}])
		await inbound(erin, m);
	await conv(erin).click();
	await waitFor(async () => (await msgs().count()) === 6, 'six messages');
	assert.equal(await lastMsg().locator('.choice').textContent(), '🔘 Yes please');
	await page.locator('#msg-list img.sticker[src^="blob:"]').waitFor();
	await waitFor(async () => (await page.locator('#msg-list audio[src^="blob:"]').count()) === 2, 'two audio players');
	await page.locator('#msg-list video[src^="blob:"]').waitFor();
	assert.equal(await page.locator('#msg-list audio[controls], #msg-list video[controls]').count(), 3);
	const [download] = await Promise.all([page.waitForEvent('download'),
	    page.click('#msg-list a.doc')]);
	assert.equal(download.suggestedFilename(), 'manual.pdf');
	await shot('05-media-kinds');
});

test('a message text with <script> shows as text and runs nothing', async () => {
	await conv(alice).click();
	await page.locator('#conv-name', {hasText: alice.name}).waitFor();
	await waitFor(async () => (await msgs().count()) === 1, 'alice message');
	assert.equal(await lastMsg().locator('.text').textContent(), XSS);
	assert.equal(await page.locator('#msg-list script, #msg-list img').count(), 0);
	assert.equal(await page.locator('#conv-name').textContent(), alice.name);
	await shot('06-xss-escaped');
});

test('a draft stays with its conversation, and comes back after a reload', async () => {
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.fill('#text', 'draft for Bob');
	await conv(alice).click();
	await page.locator('#conv-name', {hasText: alice.name}).waitFor();
	assert.equal(await page.inputValue('#text'), '', "Bob's draft is not in Alice's box");
	await page.fill('#text', 'draft for Alice');
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	assert.equal(await page.inputValue('#text'), 'draft for Bob', "Bob's draft is back");
	// Kept in localStorage per business and conversation: a reload keeps it.
	await page.reload();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.locator('#live[data-state="live"]').waitFor();
	assert.equal(await page.inputValue('#text'), 'draft for Bob', 'the draft survives a reload');
	const keys = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('draft')));
	assert.ok(keys.some((k) => k.includes(shop.id) && k.includes(bob.phone)), 'keyed by business and conversation: ' + keys);
	await conv(alice).click();
	await page.locator('#conv-name', {hasText: alice.name}).waitFor();
	assert.equal(await page.inputValue('#text'), 'draft for Alice');
	// An emptied box forgets the draft.
	await page.fill('#text', '');
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.fill('#text', '');
	await conv(alice).click();
	await page.locator('#conv-name', {hasText: alice.name}).waitFor();
	assert.equal(await page.inputValue('#text'), '');
	assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('draft'))), []);
});

test('right-to-left text: dir="auto" on messages, names and previews, and a preview keeps its start', async () => {
	const rania = {phone: '1562' + digits(7), name: 'رانيا حداد'};
	const text = 'مرحبا، أريد أن أسأل عن طلبي رقم 4521 الذي أرسلته إلى Berlin الأسبوع الماضي ولم يصل بعد، هل يمكنكم التحقق من ذلك؟';
	await inbound(rania, {type: 'text', text: {body: text}});
	const pv = conv(rania).locator('.preview');
	await pv.waitFor();
	// The element holding the text: the preview or a part of it.
	const seen = await pv.evaluate((n) => {
		const w = document.createTreeWalker(n, NodeFilter.SHOW_TEXT);
		let t;
		while ((t = w.nextNode()) && !/[\u0600-\u06ff]/.test(t.data))
			;
		const box = t.parentElement;
		const r = document.createRange();
		r.setStart(t, 0);
		r.setEnd(t, 1);
		const c = r.getBoundingClientRect(), b = box.getBoundingClientRect();
		return {dir: box.closest('[dir]')?.getAttribute('dir'), direction: getComputedStyle(box).direction,
		    cut: box.scrollWidth > box.clientWidth, first: [c.left, c.right], box: [b.left, b.right]};
	});
	assert.equal(seen.dir, 'auto', 'the preview has dir="auto"');
	assert.equal(seen.direction, 'rtl', 'the preview runs right to left');
	assert.ok(seen.cut, 'the preview is long enough to be cut');
	assert.ok(seen.first[0] >= seen.box[0] - 1 && seen.first[1] <= seen.box[1] + 1,
	    `the first letter is visible (letter ${seen.first}, box ${seen.box})`);
	assert.equal(await conv(rania).locator('.name').getAttribute('dir'), 'auto');
	await conv(rania).click();
	await page.locator('#conv-name', {hasText: rania.name}).waitFor();
	const t = lastMsg().locator('.text');
	assert.equal(await t.textContent(), text);
	assert.equal(await t.getAttribute('dir'), 'auto');
	assert.equal(await t.evaluate((n) => getComputedStyle(n).direction), 'rtl');
	assert.equal(await page.locator('#conv-name').getAttribute('dir'), 'auto');
	// A Latin message stays left to right.
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	assert.equal(await lastMsg().locator('.text').evaluate((n) => getComputedStyle(n).direction), 'ltr');
	await shot('06b-rtl');
});

let sentWamid = null;
test('sending a text reaches Meta (the simulator) and its tick moves live to read', async () => {
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	// "typing…" answers the newest incoming message: typing before Bob's
	// history has loaded (a loaded machine) sends none.
	await waitFor(async () => (await msgs().count()) >= 6, "Bob's history");
	await sim('POST', '/_sim/config', {auto_status: false});
	const since = await simSeq();
	const text = 'Yes, we ship to Berlin ' + digits(4);
	await page.fill('#text', text);
	const sent = page.waitForRequest((r) => r.url().endsWith('/api/v1/send/text'));
	await page.press('#text', 'Enter');
	const h = (await sent).headers();
	assert.ok(h['idempotency-key'], 'sends carry an Idempotency-Key');
	assert.equal(h.authorization, undefined, 'no bearer token: the cookie authenticates');
	const req = await waitFor(async () => (await simRequests(since)).find((r) =>
	    r.json?.type === 'text' && r.json?.text?.body === text), 'simulator got the text');
	assert.equal(req.json.to, bob.phone);
	// Its request races the send's: it may reach Meta second.
	const typed = await waitFor(async () => (await simRequests(since)).some((r) =>
	    r.json?.typing_indicator?.type === 'text'), 'the typing indicator').catch(() => false);
	assert.ok(typed, 'typing showed "typing…" to the customer');
	sentWamid = (typeof req.response === 'string' ? JSON.parse(req.response) : req.response).messages[0].id;
	const li = page.locator(`#msg-list li[data-id="${sentWamid}"]`);
	await li.waitFor();
	assert.equal(await li.locator('.text').textContent(), text);
	assert.equal(await page.inputValue('#text'), '', 'composer cleared');
	for (const st of ['delivered', 'read']) {
		await sim('POST', '/_sim/status', {id: sentWamid, status: st});
		await li.locator(`.tick[data-status="${st}"]`).waitFor();
	}
	await sim('POST', '/_sim/config', {auto_status: true});
	await shot('07-sent-read');
});

test('a failed send shows a failed tick with the reason on hover', async () => {
	await sim('POST', '/_sim/config', {auto_status: false});
	try {
		const since = await simSeq();
		await page.fill('#text', 'this one will fail');
		await page.press('#text', 'Enter');
		const req = await waitFor(async () => (await simRequests(since)).find((r) =>
		    r.json?.text?.body === 'this one will fail'), 'simulator got the text');
		const wamid = (typeof req.response === 'string' ? JSON.parse(req.response) : req.response).messages[0].id;
		await sim('POST', '/_sim/status', {id: wamid, status: 'failed', code: 131026,
		    details: 'Receiver is incapable of receiving this message'});
		const tick = page.locator(`#msg-list li[data-id="${wamid}"] .tick[data-status="failed"]`);
		await tick.waitFor();
		assert.match(await tick.getAttribute('title'), /131026.*incapable/);
		assert.match(await page.locator(`#msg-list li[data-id="${wamid}"] .fail-reason`).textContent(), /incapable/);
	} finally {
		await sim('POST', '/_sim/config', {auto_status: true});
	}
});

test('a send that cannot reach the server keeps its bubble with the error and a Retry, and Retry sends it once', async () => {
	const text = 'sent while offline ' + digits(4);
	await page.route('**/api/v1/send/text', (r) => r.abort('internetdisconnected'));
	expected = /ERR_INTERNET_DISCONNECTED.*\/api\/v1\/send\/text/;
	try {
		await page.fill('#text', text);
		await page.press('#text', 'Enter');
		const li = msgs().filter({hasText: text});
		await li.locator('.fail-reason').waitFor();
		assert.match(await li.locator('.fail-reason').textContent(), /not sent|cannot be reached/i);
		await li.locator('button', {hasText: 'Retry'}).waitFor();
		assert.equal(await page.inputValue('#text'), '', 'the text is in the bubble, not lost');
		await shot('07b-send-failed');
		await audit('a conversation with a send that failed');
	} finally {
		await page.unroute('**/api/v1/send/text');
		expected = null;
	}
	const since = await simSeq();
	await msgs().filter({hasText: text}).locator('button', {hasText: 'Retry'}).click();
	const req = await waitFor(async () => (await simRequests(since)).find((r) => r.json?.text?.body === text), 'sent on retry');
	const wamid = (typeof req.response === 'string' ? JSON.parse(req.response) : req.response).messages[0].id;
	await page.locator(`#msg-list li[data-id="${wamid}"] .tick`).waitFor();
	assert.equal(await msgs().filter({hasText: text}).count(), 1, 'one bubble');
	assert.equal(await msgs().filter({hasText: text}).locator('.fail-reason').count(), 0);
	assert.equal(await page.locator('#send-error').textContent(), '', 'no error left behind');
});

test('a send Meta refuses shows one bubble with the reason and a Retry', async () => {
	const text = 'refused by Meta ' + digits(4);
	await sim('POST', '/_sim/fail', {code: 131026, path: 'messages', times: 1, to: bob.phone,
	    details: 'Receiver is incapable of receiving this message'});
	expected = /status of 422 .*\/api\/v1\/send\/text/;
	try {
		await page.fill('#text', text);
		await page.press('#text', 'Enter');
		const li = msgs().filter({hasText: text});
		await li.locator('.fail-reason', {hasText: /incapable/}).waitFor();
		await li.locator('button', {hasText: 'Retry'}).waitFor();
	} finally {
		expected = null;
	}
	// Witness: a later event has been applied, so the refused send's own
	// message_outgoing event is in too; still one bubble.
	const w = await inbound(bob, {type: 'text', text: {body: 'witness ' + digits(4)}});
	await page.locator(`#msg-list li[data-id="${w}"]`).waitFor();
	assert.equal(await msgs().filter({hasText: text}).count(), 1, 'one bubble for one send');
});

test("Meta's 131047 (the 24 hours have passed) closes the window in the header and the composer", async () => {
	await conv(bob).click();
	await page.locator('#conv-window', {hasText: 'Window open'}).waitFor();
	await sim('POST', '/_sim/fail', {code: 131047, path: 'messages', times: 1, mode: 'async', to: bob.phone});
	await page.fill('#text', 'too late ' + digits(4));
	await page.press('#text', 'Enter');
	await page.locator('#conv-window', {hasText: 'Window closed'}).waitFor();
	await page.locator('#template-form').waitFor();
	assert.equal(await page.locator('#text').isDisabled(), true);
	assert.equal(await conv(bob).locator('.window').textContent(), 'closed');
	// The customer writes again: the window opens again.
	await inbound(bob, {type: 'text', text: {body: 'I am back'}});
	await page.locator('#conv-window', {hasText: 'Window open'}).waitFor();
	assert.equal(await page.locator('#text').isDisabled(), false);
});

test('an incoming message appears live, in the open conversation and in the list', async () => {
	const text = 'Great, thanks! ' + digits(4);
	const wamid = await inbound(bob, {type: 'text', text: {body: text}});
	const li = page.locator(`#msg-list li[data-id="${wamid}"]`);
	await li.waitFor();
	assert.equal(await li.locator('.text').textContent(), text);
	assert.equal(await conv(bob).locator('.preview').textContent(), text);
	// Another conversation: its badge counts up, it moves to the top.
	const ping = 'ping ' + digits(4);
	await inbound(alice, {type: 'text', text: {body: ping}});
	await conv(alice).locator('.badge', {hasText: '1'}).waitFor();	// read when opened before
	assert.equal(await page.locator('#conv-list .conv-item').first().getAttribute('data-phone'), '+' + alice.phone);
});

test('reply quotes the message, and a reaction shows on it', async () => {
	const since = await simSeq();
	const target = lastMsg();
	const wamid = await target.getAttribute('data-id');
	await target.hover();
	await target.locator('button[aria-label="Reply"]').click();
	await page.locator('#reply-bar').waitFor();
	await page.fill('#text', 'You are welcome');
	await page.press('#text', 'Enter');
	const req = await waitFor(async () => (await simRequests(since)).find((r) =>
	    r.json?.text?.body === 'You are welcome'), 'reply sent');
	assert.equal(req.json.context?.message_id, wamid);
	await page.locator('#reply-bar').waitFor({state: 'hidden'});
	await lastMsg().locator('.quote').waitFor();

	// React with the keyboard: focus the React button, pick the first emoji.
	const t2 = page.locator(`#msg-list li[data-id="${wamid}"]`);
	await t2.locator('button[aria-label="React"]').focus();
	await page.keyboard.press('Enter');
	await page.locator('.picker button').first().waitFor();
	await page.keyboard.press('Enter');
	const r = await waitFor(async () => (await simRequests(since)).find((x) => x.json?.type === 'reaction'), 'reaction sent');
	assert.equal(r.json.reaction.message_id, wamid);
	await page.locator(`#msg-list li[data-id="${wamid}"] .reaction[title="You"]`, {hasText: '👍'}).waitFor();
	// Our reaction's own event (direction "out") has come back once a later
	// event shows: still one reaction, ours.
	const w = await inbound(bob, {type: 'text', text: {body: 'witness of the reaction ' + digits(4)}});
	await page.locator(`#msg-list li[data-id="${w}"]`).waitFor();
	assert.deepEqual(await t2.locator('.reaction').evaluateAll((ns) => ns.map((n) => n.title + ' ' + n.textContent)),
	    ['You 👍'], 'our own reaction shows once, as ours');
	// Picking it again takes it back (DELETE .../reaction: an empty emoji).
	const s2 = await simSeq();
	await t2.locator('button[aria-label="React"]').click();
	await page.locator('.picker button', {hasText: '👍'}).click();
	await waitFor(async () => (await simRequests(s2)).find((x) => x.json?.type === 'reaction' &&
	    x.json.reaction.emoji === ''), 'reaction removed');
	await page.locator(`#msg-list li[data-id="${wamid}"] .reaction[title="You"]`).waitFor({state: 'detached'});
	// The customer reacts to our message: it shows live.
	if (sentWamid) {
		await inbound(bob, {type: 'reaction', reaction: {message_id: sentWamid, emoji: '❤️'}});
		await page.locator(`#msg-list li[data-id="${sentWamid}"] .reaction`, {hasText: '❤️'}).waitFor();
	}
});

test('an attachment is uploaded, then sent as media', async () => {
	const since = await simSeq();
	await page.setInputFiles('#attach', {name: 'photo.png', mimeType: 'image/png', buffer: PNG});
	await page.locator('#attach-name', {hasText: 'photo.png'}).waitFor();
	await page.fill('#text', 'our catalogue photo');
	await page.click('#send');
	const req = await waitFor(async () => (await simRequests(since)).find((r) => r.json?.type === 'image'), 'image sent');
	assert.equal(req.json.image.caption, 'our catalogue photo');
	const up = await sim('GET', '/_sim/requests?path_contains=/media&since=' + since);
	assert.ok((up.requests || up).some((r) => r.method === 'POST'), 'uploaded to Meta first');
	const li = page.locator('#msg-list li.msg.out[data-type="image"]').last();
	await waitFor(() => li.locator('img').evaluate((i) => i.complete && i.naturalWidth > 0), 'sent image shown');
});

test('a file over WhatsApp\'s limit is refused before any upload, with its size in MB', async () => {
	const uploads = [];
	const onReq = (r) => r.url().includes('/api/v1/upload/media') && uploads.push(r.url());
	page.on('request', onReq);
	try {
		const big = Buffer.concat([PNG, Buffer.alloc(6 * 1024 * 1024)]);
		await page.setInputFiles('#attach', {name: 'huge.png', mimeType: 'image/png', buffer: big});
		const err = page.locator('#send-error');
		await err.filter({hasText: /huge\.png/}).waitFor();
		assert.match(await err.textContent(), /6(\.\d)? MB.*5 MB/);
		assert.equal(await page.locator('#attach-name').isVisible(), false, 'not kept as the attachment');
		assert.equal(uploads.length, 0, 'nothing uploaded');
	} finally {
		page.off('request', onReq);
	}
	// A fitting file then goes as before.
	await page.setInputFiles('#attach', {name: 'small.png', mimeType: 'image/png', buffer: PNG});
	await page.locator('#attach-name', {hasText: 'small.png'}).waitFor();
	assert.equal(await page.locator('#send-error').textContent(), '', 'the refusal is gone');
	await page.locator('#attach-name button').click();
});

test('older messages load when scrolling up', async () => {
	const dave = {phone: '1558' + digits(7), name: 'Dave Chatty'};
	const many = Array.from({length: 45}, (_, i) => ({type: 'text', text: {body: 'line ' + (i + 1)}}));
	const r = await sim('POST', '/_sim/inbound', {phone_number_id: shop.pnid, from: dave.phone, name: dave.name, messages: many});
	assert.equal(r.webhook_status, 200);
	// Read elsewhere (another agent): the chat opens at the end, not at a
	// first unread message.
	await apiAs('POST', '/api/v1/messages/' + encodeURIComponent(r.wamids[r.wamids.length - 1]) + '/read');
	await page.reload();
	await page.locator('#live[data-state="live"]').waitFor();
	await conv(dave).click();
	await waitFor(async () => (await msgs().count()) === 30, 'first page');
	assert.equal(await lastMsg().locator('.text').textContent(), 'line 45');
	await page.locator('#messages').evaluate((b) => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); });
	await waitFor(async () => (await msgs().count()) === 45, 'older page loaded');
	assert.equal(await msgs().first().locator('.text').textContent(), 'line 1');
});

test('a chat with many unread opens at the first unread, under an "unread" divider, with date separators', async () => {
	const fran = {phone: '1563' + digits(7), name: 'Fran Frequent'};
	const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 86400;
	const olds = Array.from({length: 12}, (_, i) => ({type: 'text', text: {body: 'old ' + (i + 1)},
	    timestamp: String(twoDaysAgo + i)}));
	let r = await sim('POST', '/_sim/inbound', {phone_number_id: shop.pnid, from: fran.phone, name: fran.name, messages: olds});
	assert.equal(r.webhook_status, 200);
	// Read once: opened, then left for another chat.
	await conv(fran).click();
	await page.locator('#conv-name', {hasText: fran.name}).waitFor();
	await waitFor(async () => (await conv(fran).locator('.badge').count()) === 0, 'the old ones read');
	await conv(alice).click();
	await page.locator('#conv-name', {hasText: alice.name}).waitFor();
	const news = Array.from({length: 47}, (_, i) => ({type: 'text', text: {body: 'new ' + (i + 1)}}));
	r = await sim('POST', '/_sim/inbound', {phone_number_id: shop.pnid, from: fran.phone, name: fran.name, messages: news});
	assert.equal(r.webhook_status, 200);
	await conv(fran).locator('.badge', {hasText: '47'}).waitFor();
	await conv(fran).click();
	const divider = page.locator('#msg-list li.unread-divider');
	await divider.waitFor();
	assert.match(await divider.textContent(), /47 unread messages/);
	assert.equal(await divider.evaluate((n) => {
		let x = n.nextElementSibling;
		while (x && !x.classList.contains('msg'))
			x = x.nextElementSibling;
		return x?.querySelector('.text')?.textContent;
	}), 'new 1', 'the divider sits right above the first unread message');
	// The view opens there, not at the bottom.
	const box = await page.locator('#messages').boundingBox();
	await waitFor(async () => {
		const d = await divider.boundingBox();
		return d && d.y >= box.y - 1 && d.y + d.height <= box.y + box.height + 1;
	}, 'the divider in view');
	assert.equal(await lastMsg().locator('.text').evaluate((n) => {
		const b = n.closest('.messages').getBoundingClientRect(), m = n.getBoundingClientRect();
		return m.top > b.bottom;
	}), true, 'the newest message is below the fold');
	// Date separators: one for two days ago, "Today" for the rest.
	const days = await page.locator('#msg-list li.day').allTextContents();
	assert.ok(days.length >= 2, 'date separators: ' + days);
	assert.equal(days[days.length - 1], 'Today');
	const firstDay = await page.locator('#msg-list li.day').first().evaluate((n) => {
		let x = n.nextElementSibling;
		return x?.classList.contains('msg') ? x.querySelector('.text')?.textContent : null;
	});
	assert.match(firstDay, /^old /, 'a separator above the oldest message shown');
	await shot('08a-unread-divider');
	await audit('a conversation with an unread divider and date separators');
});

test('outside the 24-hour window the composer explains why and sends a template', async () => {
	await conv(carol).click();
	await page.locator('#conv-name', {hasText: carol.name}).waitFor();
	await page.locator('#template-form').waitFor();
	assert.equal(await page.locator('#text').isDisabled(), true);
	assert.match(await page.locator('#composer-note').textContent(), /24 hours.*template/);
	await shot('08-window-closed');
	const since = await simSeq();
	await page.fill('#tpl-name', 'hello_world');
	await page.fill('#tpl-lang', 'en_US');
	await page.click('#template-form button[type="submit"]');
	const req = await waitFor(async () => (await simRequests(since)).find((r) => r.json?.type === 'template'), 'template sent');
	assert.equal(req.json.template.name, 'hello_world');
	await page.locator('#msg-list li.msg.out[data-type="template"]').waitFor();
});

test('the template box offers the templates this business used recently', async () => {
	await conv(gus).click();
	await page.locator('#conv-name', {hasText: gus.name}).waitFor();
	await page.locator('#template-form').waitFor();
	const chip = page.locator('#tpl-recent button', {hasText: 'hello_world'});
	await chip.waitFor();
	await page.fill('#tpl-name', '');
	await page.fill('#tpl-lang', '');
	await chip.click();
	assert.equal(await page.inputValue('#tpl-name'), 'hello_world');
	assert.equal(await page.inputValue('#tpl-lang'), 'en_US');
	await shot('08b-recent-templates');
	await audit('the template composer with recent templates');
});

test('after nginx restarts the page reconnects and catches up from the events API: nothing lost, nothing twice', async () => {
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.locator('#live[data-state="live"]').waitFor();
	// What the page fetched from the events API while catching up.
	const caught = [];
	const onResp = (r) => {
		if (r.url().includes('/api/v1/events?'))
			caught.push(r.text().catch(() => ''));
	};
	page.on('response', onResp);
	outage = true;
	try {
		stackPart('stop', 'nginx');
		await page.locator('#live:not([data-state="live"])').waitFor();
		// The browser goes offline too, so the events below are published
		// while it has no socket: only the catch-up can bring them.
		await context.setOffline(true);
		await page.locator('#live[data-state="offline"]').waitFor();
		stackPart('start', 'nginx');
		const texts = ['missed one ' + digits(3), 'missed two ' + digits(3)];
		const wamids = [];
		for (const text of texts)
			wamids.push(await inbound(bob, {type: 'text', text: {body: text}}));
		await inbound(alice, {type: 'text', text: {body: 'missed elsewhere'}});
		await context.setOffline(false);
		await page.locator('#live[data-state="live"]').waitFor({timeout: 15000});
		for (const w of wamids)
			await page.locator(`#msg-list li[data-id="${w}"]`).waitFor();
		await conv(alice).locator('.preview', {hasText: 'missed elsewhere'}).waitFor();
		const bodies = (await Promise.all(caught)).join('\n');
		for (const w of wamids)
			assert.ok(bodies.includes(w), 'the catch-up from /api/v1/events brought ' + w);
		// And live again afterwards.
		const after = await inbound(bob, {type: 'text', text: {body: 'after the storm'}});
		await page.locator(`#msg-list li[data-id="${after}"]`).waitFor();
		const ids = await page.locator('#msg-list li.msg').evaluateAll((ns) => ns.map((n) => n.dataset.id));
		assert.equal(new Set(ids).size, ids.length, 'no message shown twice');
		for (const w of [...wamids, after])
			assert.equal(ids.filter((x) => x === w).length, 1);
	} finally {
		await context.setOffline(false);
		outage = false;
		page.off('response', onResp);
	}
	await shot('09-after-reconnect');
	await audit('a conversation with every kind of tick, a failure and reactions');
});

test('a frame lost on the socket is noticed by the gap in ids and fetched from the events API', async () => {
	// From the next connection on, frames pass through this relay, which
	// loses the one carrying a chosen text.
	const lose = 'lost on the wire ' + digits(4);
	let lost = 0;
	let routed = 0;
	await page.routeWebSocket(/\/ws\//, (ws) => {
		routed++;
		const server = ws.connectToServer();
		server.onMessage((msg) => {
			if (typeof msg === 'string' && msg.includes(lose)) {
				lost++;
				return;
			}
			ws.send(msg);
		});
	});
	await page.reload();	// the relay applies to pages loaded from now on
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.locator('#live[data-state="live"]').waitFor();
	// One frame passes first: the page then knows which id comes next.
	const first = await inbound(bob, {type: 'text', text: {body: 'warming up'}});
	await page.locator(`#msg-list li[data-id="${first}"]`).waitFor();
	const fetched = [];
	const onResp = (r) => r.url().includes('/api/v1/events?') && fetched.push(r.text().catch(() => ''));
	page.on('response', onResp);
	const gone = await inbound(bob, {type: 'text', text: {body: lose}});
	const next = await inbound(bob, {type: 'text', text: {body: 'right behind it'}});
	await page.locator(`#msg-list li[data-id="${next}"]`).waitFor();
	await page.locator(`#msg-list li[data-id="${gone}"]`).waitFor();
	page.off('response', onResp);
	assert.equal(lost, 1, `the relay did lose a frame (connections relayed: ${routed})`);
	assert.ok((await Promise.all(fetched)).join('').includes(gone), 'fetched from /api/v1/events');
	const ids = await page.locator('#msg-list li.msg').evaluateAll((ns) => ns.map((n) => n.dataset.id));
	assert.equal(ids.indexOf(gone) + 1, ids.indexOf(next), 'in order');
	assert.equal(new Set(ids).size, ids.length, 'no message shown twice');
});

test('keyboard: Tab from search reaches the list, Enter opens a conversation and focus lands in the composer', async () => {
	await page.focus('#search');
	await page.keyboard.press('Tab');
	const focused = await page.evaluate(() => document.activeElement.closest('.conv-item')?.dataset.phone);
	assert.ok(focused, 'Tab from search reaches the first conversation');
	await page.keyboard.press('Enter');
	await page.waitForFunction(() => document.activeElement?.id === 'text' || document.activeElement?.id === 'tpl-name');
});

test('desktop notifications and a sound, asked for on a click, for new messages of another chat or a hidden tab', async () => {
	await context.grantPermissions(['notifications'], {origin: BASE});
	await conv(bob).click();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	// Record what the page shows and plays (the real API underneath).
	await page.evaluate(() => {
		window.__notes = [];
		window.__beeps = 0;
		const Real = window.Notification;
		window.Notification = class extends Real {
			constructor(title, opts) {
				super(title, opts);
				window.__notes.push({title, body: opts?.body});
			}
		};
		const start = AudioScheduledSourceNode.prototype.start;
		AudioScheduledSourceNode.prototype.start = function (...a) {
			window.__beeps++;
			return start.apply(this, a);
		};
	});
	await page.click('#notify');
	await page.locator('#notify[aria-pressed="true"]').waitFor();
	await page.click('#sound');
	await page.locator('#sound[aria-pressed="true"]').waitFor();
	await audit('the top bar with notifications on');
	const notes = () => page.evaluate(() => window.__notes);
	// Another chat's message: a notification and a sound.
	const ping = 'are you there? ' + digits(4);
	await inbound(alice, {type: 'text', text: {body: ping}});
	await waitFor(async () => (await notes()).some((n) => n.body?.includes(ping)), 'a notification');
	assert.equal((await notes()).find((n) => n.body?.includes(ping)).title, alice.name);
	await waitFor(() => page.evaluate(() => window.__beeps > 0), 'a sound');
	// The open chat's message, tab visible: none.
	const here = 'in the open chat ' + digits(4);
	const w = await inbound(bob, {type: 'text', text: {body: here}});
	await page.locator(`#msg-list li[data-id="${w}"]`).waitFor();
	assert.ok(!(await notes()).some((n) => n.body?.includes(here)), 'no notification for what is on screen');
	// The open chat's message while the tab is hidden: one.
	await page.evaluate(() => {
		Object.defineProperty(document, 'visibilityState', {get: () => 'hidden', configurable: true});
		Object.defineProperty(document, 'hidden', {get: () => true, configurable: true});
		document.dispatchEvent(new Event('visibilitychange'));
	});
	try {
		const away = 'while you were away ' + digits(4);
		await inbound(bob, {type: 'text', text: {body: away}});
		await waitFor(async () => (await notes()).some((n) => n.body?.includes(away)), 'a notification while hidden');
	} finally {
		await page.evaluate(() => {
			delete document.visibilityState;
			delete document.hidden;
			document.dispatchEvent(new Event('visibilitychange'));
		});
	}
	// Off again: the choice is kept in this browser.
	await page.click('#sound');
	await page.locator('#sound[aria-pressed="false"]').waitFor();
	await page.click('#notify');
	await page.locator('#notify[aria-pressed="false"]').waitFor();
});

test('at phone width one pane shows at a time and Back returns to the list', async () => {
	await page.setViewportSize({width: 390, height: 780});
	await page.click('#back').catch(() => {});
	await page.locator('#list-pane').waitFor();
	await shot('10-phone-list');
	await conv(bob).click();
	await page.locator('#conv').waitFor();
	assert.equal(await page.locator('#list-pane').isVisible(), false);
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
	assert.equal(overflow, false, 'no horizontal scrolling');
	await shot('11-phone-conversation');
	await page.click('#back');
	await page.locator('#list-pane').waitFor();
	// The browser's own Back does the same; a reload reopens a linked one.
	await conv(bob).click();
	await page.locator('#conv').waitFor();
	assert.equal(new URL(page.url()).hash, '#/c/' + encodeURIComponent('+' + bob.phone));
	await page.goBack();
	await page.locator('#list-pane').waitFor();
	assert.equal(await page.locator('#conv').isVisible(), false);
	await page.goForward();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.reload();
	await page.locator('#conv-name', {hasText: bob.name}).waitFor();
	await page.locator('#live[data-state="live"]').waitFor();
	await page.click('#back');
	await page.locator('#list-pane').waitFor();
	await conv(carol).click();
	await page.locator('#template-form').waitFor();
	assert.equal(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), false);
	await shot('12-phone-template');
	await audit('the template-only composer at phone width');
	await page.click('#back');
	await page.locator('#list-pane').waitFor();
	await page.setViewportSize({width: 1280, height: 800});
});

test('phone: an attachment leaves the text box its width; reply and react appear on tap, not beside every bubble', async () => {
	try {
		await phoneList();
		await conv(bob).click();
		await page.locator('#conv').waitFor();
		const w0 = await widthOf(page.locator('#text'));
		await page.setInputFiles('#attach', {name: 'a-rather-long-file-name-for-a-photo.png', mimeType: 'image/png', buffer: PNG});
		await page.locator('#attach-name').waitFor();
		const w = await widthOf(page.locator('#text'));
		assert.ok(w >= w0 - 2 && w > 200, `the text box keeps its width with a file attached (${w}px, ${w0}px without)`);
		assert.equal(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), false);
		await shot('11a-phone-attachment');
		await page.locator('#attach-name button').click();
		// The buttons stay hidden until a bubble is tapped.
		await page.mouse.move(1, 1);
		const target = msgs().filter({has: page.locator('.text')}).last();
		const acts = target.locator('.actions');
		await waitFor(async () => (await opacityOf(acts)) === '0', 'reply/react hidden until tapped', 3000);
		await target.locator('.bubble .text').click();
		await waitFor(async () => (await opacityOf(acts)) === '1', 'reply/react shown on tap', 3000);
		assert.ok(await acts.locator('button[aria-label="React"]').isVisible());
		await shot('11b-phone-actions');
		await audit('a conversation at phone width with a bubble tapped');
		await page.click('#back');
		await page.locator('#list-pane').waitFor();
	} finally {
		await page.setViewportSize({width: 1280, height: 800});
	}
});

test('phone: inside one chat, a badge on Back counts the other chats with new messages', async () => {
	try {
		await phoneList();
		await conv(bob).click();
		await page.locator('#conv').waitFor();
		await inbound(alice, {type: 'text', text: {body: 'news from Alice ' + digits(4)}});
		const badge = page.locator('#back-badge');
		await badge.waitFor();
		assert.match(await badge.textContent(), /^[1-9]\d*$/);
		const unread = await page.locator('#conv-list .conv-item.unread').count();
		assert.equal(await badge.textContent(), String(unread), 'the number of other chats with unread messages');
		await page.getByRole('button', {name: /^Back to conversations.*\b\d+ chats? with unread messages/}).waitFor();
		await shot('11c-phone-badge');
		await page.click('#back');
		await page.locator('#list-pane').waitFor();
	} finally {
		await page.setViewportSize({width: 1280, height: 800});
	}
});

test('the list loads further pages as it scrolls', async () => {
	const before = await page.locator('#conv-list .conv-item').count();
	const prefix = '1560' + digits(4);
	const phones = Array.from({length: 50}, (_, i) => prefix + String(i).padStart(3, '0'));
	for (let i = 0; i < phones.length; i += 10)
		await Promise.all(phones.slice(i, i + 10).map((p, j) =>
		    inbound({phone: p, name: 'Crowd ' + (i + j)}, {type: 'text', text: {body: 'hi'}})));
	await page.reload();	// the first page of 50 from the server
	await page.locator('#live[data-state="live"]').waitFor();
	await waitFor(async () => (await page.locator('#conv-list .conv-item').count()) === 50, 'first page');
	await page.locator('#conv-list').evaluate((l) => { l.scrollTop = l.scrollHeight; });
	await waitFor(async () => (await page.locator('#conv-list .conv-item').count()) === before + 50,
	    'the rest after scrolling');
	const phonesShown = await page.locator('#conv-list .conv-item').evaluateAll((ns) => ns.map((n) => n.dataset.phone));
	assert.equal(new Set(phonesShown).size, phonesShown.length, 'no conversation twice');
});

test('switching business shows only that business', async () => {
	await page.click('#switch-tenant');
	await page.locator('#tenant-view').waitFor();
	await page.click(`#tenant-list .tenant[data-id="${other.id}"]`);
	await page.locator('#tenant-name', {hasText: other.name}).waitFor();
	await page.locator('#list-note', {hasText: 'No conversations yet.'}).waitFor();
	assert.equal(await page.locator('#conv-list .conv-item').count(), 0);
	await page.locator('#live[data-state="live"]').waitFor();
	// The first conversation arrives live: the note goes.
	const first = {phone: '1564' + digits(7), name: 'First Customer'};
	const r = await sim('POST', '/_sim/inbound', {phone_number_id: other.pnid, from: first.phone, name: first.name,
	    message: {type: 'text', text: {body: 'hello, anyone?'}}});
	assert.equal(r.webhook_status, 200);
	await conv(first).waitFor();
	await page.locator('#list-note').waitFor({state: 'hidden'});
	await page.click('#switch-tenant');
	await page.click(`#tenant-list .tenant[data-id="${shop.id}"]`);
	await page.locator('#tenant-name', {hasText: shop.name}).waitFor();
	await page.locator('#conv-list .conv-item').first().waitFor();
});

test('signing out ends the session', async () => {
	await page.click('#inbox-view [data-action="logout"]');
	await page.locator('#login-view').waitFor();
	await page.reload();
	await page.locator('#login-view').waitFor();
	assert.equal((await context.cookies(BASE)).filter((c) => c.name === 'session' && c.value).length, 0);
});

test('no console errors and no page errors during the whole session', () => {
	assert.deepEqual(problems, []);
});
