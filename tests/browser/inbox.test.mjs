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

test('older messages load when scrolling up', async () => {
	const dave = {phone: '1558' + digits(7), name: 'Dave Chatty'};
	const many = Array.from({length: 45}, (_, i) => ({type: 'text', text: {body: 'line ' + (i + 1)}}));
	const r = await sim('POST', '/_sim/inbound', {phone_number_id: shop.pnid, from: dave.phone, name: dave.name, messages: many});
	assert.equal(r.webhook_status, 200);
	await conv(dave).click();
	await waitFor(async () => (await msgs().count()) === 30, 'first page');
	assert.equal(await lastMsg().locator('.text').textContent(), 'line 45');
	await page.locator('#messages').evaluate((b) => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); });
	await waitFor(async () => (await msgs().count()) === 45, 'older page loaded');
	assert.equal(await msgs().first().locator('.text').textContent(), 'line 1');
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
