// app.js: the inbox. Views: login -> tenant picker (when the user has
// several) -> conversation list + open conversation. State comes from the
// REST API and is then kept current by the events of js/live.js.
import {$, el, shortTime, toDate} from './dom.js';
import {api, newKey, setTenant, setUnauthorizedHandler} from './api.js';
import {Live} from './live.js';
import {messageNode, msgKey, preview, reactionsOf, STATUS_RANK} from './render.js';

const HINT = 'wa.signedIn';	// "a session cookie may exist": not a token
const LAST_TENANT = 'wa.tenant';
const PAGE = 30;
const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

// One spelling for a phone: events and answers may differ ('+' or not).
const normPhone = (p) => (p ? '+' + String(p).replace(/\D/g, '') : null);

const S = {
	tenants: [],
	tenant: null,
	live: null,
	convs: new Map(),	// phone -> conversation row
	listCursor: null,
	q: '',
	listSeq: 0,
	open: null,		// see openConversation()
	replyTo: null,
	file: null,
};

// --- views ------------------------------------------------------------------

function show(view) {
	$('#boot').hidden = true;
	for (const v of ['login', 'tenant', 'inbox'])
		$('#' + v + '-view').hidden = v !== view;
	document.body.dataset.view = view;
}

function note(node, text) {
	node.textContent = text || '';
	node.hidden = !text;
}

// --- session ----------------------------------------------------------------

async function boot() {
	setUnauthorizedHandler(() => signedOut('Your session has ended. Please sign in again.'));
	bindUi();
	if (!localStorage.getItem(HINT))
		return showLogin();
	try {
		const me = await api('GET', '/api/v1/me');
		afterLogin(me.tenants || []);
	} catch (e) {
		if (e.status !== 401)
			showLogin(e.message);
	}
}

function showLogin(msg) {
	show('login');
	note($('#login-error'), msg);
	$('#login-email').focus();
}

async function login(ev) {
	ev.preventDefault();
	const f = ev.currentTarget;
	const email = f.email.value.trim(), password = f.password.value;
	if (!email || !password)
		return note($('#login-error'), 'Enter your email and password.');
	const btn = f.querySelector('button');
	btn.disabled = true;
	try {
		const r = await api('POST', '/api/v1/auth/login', {json: {email, password}});
		// The token in r is ignored on purpose: the HttpOnly cookie is the
		// session, and this page never keeps a token.
		localStorage.setItem(HINT, '1');
		f.password.value = '';
		afterLogin(r.tenants || []);
	} catch (e) {
		note($('#login-error'), e.status === 401 ? 'Wrong email or password.' :
		    e.status === 429 ? 'Too many attempts: wait a minute.' : e.message);
	} finally {
		btn.disabled = false;
	}
}

async function logout() {
	try {
		await api('POST', '/api/v1/auth/logout');
	} catch (e) { /* the cookie is cleared or already gone */ }
	signedOut();
}

function signedOut(msg) {
	localStorage.removeItem(HINT);
	leaveTenant();
	showLogin(msg);
}

function afterLogin(tenants) {
	S.tenants = tenants;
	$('#switch-tenant').hidden = tenants.length < 2;
	if (tenants.length === 0)
		return showLogin('Your account has no business yet: ask an owner to add you.');
	const last = tenants.find((t) => t.id === localStorage.getItem(LAST_TENANT));
	if (tenants.length === 1 || last)
		return enterTenant(last || tenants[0]);
	showTenantPicker();
}

function showTenantPicker() {
	leaveTenant();
	show('tenant');
	$('#tenant-list').replaceChildren(...S.tenants.map((t) => el('li', {},
	    el('button', {type: 'button', class: 'tenant', dataset: {id: t.id},
	        onclick: () => enterTenant(t)},
	        el('strong', {}, t.name), el('span', {class: 'muted'}, t.role || '')))));
	$('#tenant-list button')?.focus();
}

// --- tenant -----------------------------------------------------------------

function leaveTenant() {
	if (S.tenant && location.hash)
		history.replaceState(null, '', location.pathname + location.search);
	S.pushed = false;
	if (S.live)
		S.live.stop();
	S.live = null;
	closeConversation();
	S.tenant = null;
	S.convs.clear();
	setTenant(null);
}

async function enterTenant(t) {
	leaveTenant();
	S.tenant = t;
	setTenant(t.id);
	localStorage.setItem(LAST_TENANT, t.id);
	show('inbox');
	document.body.classList.remove('conv-open');
	$('#tenant-name').textContent = t.name;
	$('#tenant-phone').textContent = '';
	$('#search').value = S.q = '';
	api('GET', '/api/v1/tenant').then((r) => {
		if (S.tenant === t && r.tenant?.display_phone_number)
			$('#tenant-phone').textContent = '+' + r.tenant.display_phone_number.replace(/^\+/, '');
	}, () => {});
	S.live = new Live(t.id, {
		onEvent: onEvent,
		onState: liveState,
		onResync: resync,
	});
	S.live.start();
	await loadList();
	if (S.tenant === t)
		onRoute();
}

function liveState(s) {
	const n = $('#live');
	n.dataset.state = s;
	n.textContent = {connecting: 'Connecting…', live: 'Live',
	    reconnecting: 'Reconnecting…', offline: 'Offline'}[s] || s;
}

// Everything reloaded from the REST API (the channel cannot say what was
// missed before its first event).
function resync() {
	loadList();
	if (S.open)
		reloadOpen();
}

// --- conversation list ------------------------------------------------------

async function loadList(more) {
	const seq = ++S.listSeq;
	S.listLoading = true;
	try {
		const r = await api('GET', '/api/v1/conversations', {query: {
		    limit: 50, q: S.q, cursor: more ? S.listCursor : undefined}});
		if (seq !== S.listSeq)
			return;	// a newer search won
		if (!more)
			S.convs.clear();
		for (const c of r.conversations || []) {
			c.phone = normPhone(c.phone || c.wa_id);
			S.convs.set(c.phone, c);
		}
		S.listCursor = r.next_cursor || null;
		note($('#list-note'), S.convs.size ? '' : S.q ? 'No conversation matches.' :
		    'No conversations yet.');
		renderList();
	} catch (e) {
		if (seq !== S.listSeq || e.status === 401)
			return;
		if (e.status === 404 || e.status === 405) {
			// Feature detection: a server without the route.
			note($('#list-note'), 'This server has no conversations API yet.');
		} else {
			note($('#list-note'), 'Could not load conversations: ' + e.message);
		}
	} finally {
		if (seq === S.listSeq)
			S.listLoading = false;
	}
}

const lastTime = (c) => c.last_message?.timestamp || c.last_message?.time || c.last_activity_at;

function renderList() {
	const focused = document.activeElement?.closest?.('#conv-list [data-phone]')?.dataset.phone;
	// S.convs keeps the server's order (latest activity first); a message
	// event moves its conversation to the front (touchConv).
	const rows = [...S.convs.values()];
	$('#conv-list').replaceChildren(...rows.map(convItem));
	const unread = rows.filter((c) => c.unread_count > 0 && c.phone !== S.open?.phone).length;
	document.title = (unread ? '(' + unread + ') ' : '') + (S.tenant ? S.tenant.name + ' · ' : '') + 'Inbox';
	$('#list-more').hidden = !S.listCursor;
	if (focused)
		$('#conv-list').querySelector(`[data-phone="${CSS.escape(focused)}"]`)?.focus();
}

function convItem(c) {
	const open = S.open?.phone === c.phone;
	const unread = c.unread_count > 0 && !open;
	const name = c.name || c.contact?.name || c.phone;
	return el('li', {},
	    el('button', {type: 'button', class: 'conv-item' + (open ? ' active' : '') +
	        (unread ? ' unread' : ''), dataset: {phone: c.phone},
	        'aria-current': open ? 'true' : undefined,
	        onclick: () => go(c.phone)},
	        el('span', {class: 'row'},
	            el('strong', {class: 'name'}, name),
	            el('time', {class: 'time'}, shortTime(lastTime(c)))),
	        el('span', {class: 'row'},
	            el('span', {class: 'phone muted'}, name !== c.phone ? c.phone : ''),
	            el('span', {class: 'window ' + (c.window_open ? 'open' : 'closed'),
	                title: c.window_open ? 'Customer-service window open until ' +
	                (toDate(c.window_expires_at)?.toLocaleString() || '?') :
	                'Window closed: only templates can be sent'},
	                c.window_open ? 'open' : 'closed')),
	        el('span', {class: 'row'},
	            el('span', {class: 'preview'}, preview(c.last_message)),
	            unread ? el('span', {class: 'badge', 'aria-label': c.unread_count + ' unread'},
	                String(c.unread_count)) : '')));
}

let searchTimer = null;
function onSearch() {
	clearTimeout(searchTimer);
	searchTimer = setTimeout(() => {
		S.q = $('#search').value.trim();
		S.listCursor = null;
		loadList();
	}, 250);
}

// A list row from a message event (new contacts appear at the top).
function touchConv(d, m) {
	const phone = normPhone(d.phone || m.phone);
	if (!phone)
		return null;
	let c = S.convs.get(phone);
	if (!c) {
		if (S.q)
			return null;	// not part of the search shown
		c = {phone, wa_id: phone.replace(/^\+/, ''), unread_count: 0};
	}
	S.convs.delete(phone);
	S.convs = new Map([[phone, c], ...S.convs]);
	if (d.name || d.contact?.name)
		c.name = d.name || d.contact.name;
	if (d.contact) {
		c.contact = d.contact;
		if ('window_open' in d.contact) {
			c.window_open = d.contact.window_open;
			c.window_expires_at = d.contact.window_expires_at;
		}
	}
	c.last_message = {id: m.id, wamid: m.id, type: m.type, direction: m.direction,
	    text: m.text, status: m.status, timestamp: m.timestamp};
	c.last_activity_at = m.timestamp;
	return c;
}

// --- the open conversation --------------------------------------------------

// The open conversation is in the URL (#/c/+15551234567): the browser's
// Back returns to the list (phones), a reload or a link reopens it.
function routePhone() {
	const m = /^#\/c\/(.+)$/.exec(location.hash);
	try {
		return m ? normPhone(decodeURIComponent(m[1])) : null;
	} catch (e) {
		return null;	// a mangled link: show the list
	}
}

// History holds at most [list, conversation], as in a phone app: from the
// list a conversation is pushed, from another conversation it replaces.
function go(phone) {
	const url = '#/c/' + encodeURIComponent(phone);
	if (routePhone() === phone)
		return openConversation(phone);
	if (S.open) {
		history.replaceState(null, '', url);
		onRoute();
	} else {
		S.pushed = true;
		location.hash = url;	// -> hashchange -> onRoute
	}
}

function onRoute() {
	if (!S.tenant)
		return;
	const phone = routePhone();
	if (phone && phone !== S.open?.phone) {
		openConversation(phone);
	} else if (!phone && S.open) {
		S.pushed = false;
		const was = S.open.phone;
		closeConversation();
		renderList();
		$('#conv-list').querySelector(`[data-phone="${CSS.escape(was)}"]`)?.focus();
	}
}

function back() {
	if (S.pushed) {
		S.pushed = false;
		history.back();
	} else {
		history.replaceState(null, '', location.pathname + location.search);
		onRoute();
	}
}

async function openConversation(phone) {
	if (S.open?.phone === phone) {
		document.body.classList.add('conv-open');
		return $('#text').focus();
	}
	closeConversation();
	const ctrl = new AbortController();
	S.open = {phone, conv: S.convs.get(phone) || {phone}, msgs: new Map(),
	    nextBefore: null, loadingOlder: false, ctrl, urls: [], loaded: false,
	    atEnd: true};
	document.body.classList.add('conv-open');
	$('#conv-empty').hidden = true;
	$('#conv').hidden = false;
	$('#msg-list').replaceChildren();
	note($('#send-error'), '');
	renderHead();
	renderList();
	await reloadOpen();
	if (!S.open || S.open.ctrl !== ctrl)
		return;
	($('#text').disabled ? $('#tpl-name') : $('#text')).focus();
}

function closeConversation() {
	const o = S.open;
	if (!o)
		return;
	o.ctrl.abort();
	for (const u of o.urls)
		URL.revokeObjectURL(u);
	clearTimeout(o.windowTimer);
	S.open = null;
	cancelReply();
	clearFile();
	closePicker();
	document.body.classList.remove('conv-open');
	$('#conv').hidden = true;
	$('#conv-empty').hidden = false;
}

async function reloadOpen() {
	const o = S.open;
	try {
		const r = await api('GET', '/api/v1/conversations/' + encodeURIComponent(o.phone),
		    {query: {limit: PAGE}, signal: o.ctrl.signal});
		if (S.open !== o)
			return;
		o.conv = Object.assign(S.convs.get(o.phone) || {}, r.conversation || {}, {phone: o.phone});
		S.convs.set(o.phone, o.conv);
		const fresh = !o.loaded;
		o.loaded = true;
		if (fresh)
			o.nextBefore = r.next_before || null;
		for (const m of (r.messages || []).slice().reverse())
			upsertMessage(m, true);
		renderHead();
		renderMessages();
		if (fresh || o.atEnd)
			scrollToEnd();
		markRead();
		renderList();
	} catch (e) {
		if (e.name === 'AbortError' || S.open !== o)
			return;
		note($('#send-error'), 'Could not load the conversation: ' + e.message);
	}
}

function renderHead() {
	const o = S.open, c = o.conv;
	const name = c.name || c.contact?.name || o.phone;
	$('#conv-name').textContent = name;
	$('#conv-phone').textContent = name !== o.phone ? o.phone : '';
	const w = $('#conv-window');
	w.className = 'window ' + (c.window_open ? 'open' : 'closed');
	w.textContent = c.window_open ? 'Window open' : 'Window closed';
	const exp = toDate(c.window_expires_at);
	w.title = c.window_open && exp ? 'Free-form messages allowed until ' + exp.toLocaleString() :
	    'The customer has not written in the last 24 hours';
	setComposerMode(!!c.window_open, exp);
}

// Free text needs the 24-hour window; outside it only a template may go.
function setComposerMode(open, exp) {
	const o = S.open;
	clearTimeout(o.windowTimer);
	$('#text').disabled = !open;
	$('#send').disabled = !open;
	$('#attach').disabled = !open;
	$('#composer').classList.toggle('disabled', !open);
	$('#template-form').hidden = open;
	note($('#composer-note'), open ? '' :
	    'Free-form messages are disabled: the customer has not written in the last 24 hours, ' +
	    'so WhatsApp only allows an approved template until they reply.');
	if (open && exp) {
		const ms = exp.getTime() - Date.now();
		if (ms > 0 && ms < 2 ** 31)
			o.windowTimer = setTimeout(() => {
				o.conv.window_open = false;
				if (S.open === o)
					renderHead();
				renderList();
			}, ms);
	}
}

function mergeMessage(old, m) {
	if (!old)
		return m;
	const out = {...old, ...m};
	if ((STATUS_RANK[old.status] ?? -1) > (STATUS_RANK[m.status] ?? -1))
		out.status = old.status;
	out.status_times = {...(old.status_times || {}), ...(m.status_times || {})};
	if (!m.reactions && old.reactions)
		out.reactions = old.reactions;
	if (!m.reply_to && old.reply_to)
		out.reply_to = old.reply_to;
	if (old.media?.id && m.media && !m.media.wa_media_id && old.media.wa_media_id)
		out.media = old.media;	// keep our media record's id
	return out;
}

function upsertMessage(m, quiet) {
	const o = S.open;
	const key = msgKey(m);
	if (!key || m.type === 'reaction')
		return;
	const had = o.msgs.get(key);
	o.msgs.set(key, mergeMessage(had, m));
	if (!quiet)
		renderMessage(key);
}

function ctx() {
	const o = S.open;
	return {signal: o.ctrl.signal, urls: o.urls,
	    find: (id) => o.msgs.get(id), onReply: startReply,
	    onReact: openPicker, jump: jumpTo,
	    onMedia: () => S.open === o && o.atEnd && scrollToEnd()};
}

// Meta's times have whole seconds: within one second the order the
// messages were stored in (db_id) decides; ones shown before the server
// numbered them come last.
const secs = (m) => Math.floor((toDate(m.timestamp)?.getTime() || 0) / 1000);
const byTime = (a, b) => (secs(a) - secs(b)) ||
    ((a.db_id ?? Infinity) - (b.db_id ?? Infinity)) || 0;

function renderMessages() {
	const o = S.open, c = ctx();
	const list = [...o.msgs.values()].sort(byTime);
	$('#msg-list').replaceChildren(...list.map((m) => messageNode(m, c)));
}

// Re-renders one message in place, or inserts it where its time puts it.
function renderMessage(key) {
	const o = S.open, m = o.msgs.get(key);
	const node = messageNode(m, ctx());
	const list = $('#msg-list');
	const old = list.querySelector(`li[data-id="${CSS.escape(key)}"]`);
	if (old) {
		const keepFocus = old.contains(document.activeElement);
		old.replaceWith(node);
		if (keepFocus)
			node.querySelector('button')?.focus();
		return;
	}
	const near = o.atEnd;
	let before = null;
	for (const li of list.children) {
		const other = o.msgs.get(li.dataset.id);
		if (other && byTime(m, other) < 0) {
			before = li;
			break;
		}
	}
	list.insertBefore(node, before);
	if (near || m.direction === 'out')
		scrollToEnd();
}

function isNearEnd() {
	const b = $('#messages');
	return b.scrollHeight - b.scrollTop - b.clientHeight < 120;
}

// Whether the view follows new messages: true at the bottom, false once
// the user scrolls up to read (set by the scroll listener).
function scrollToEnd() {
	const b = $('#messages');
	b.scrollTop = b.scrollHeight;
	if (S.open)
		S.open.atEnd = true;
}

async function loadOlder() {
	const o = S.open;
	if (!o || !o.nextBefore || o.loadingOlder)
		return;
	o.loadingOlder = true;
	$('#older').hidden = false;
	try {
		const r = await api('GET', '/api/v1/conversations/' + encodeURIComponent(o.phone),
		    {query: {limit: PAGE, before: o.nextBefore}, signal: o.ctrl.signal});
		if (S.open !== o)
			return;
		o.nextBefore = r.next_before || null;
		const box = $('#messages'), h = box.scrollHeight, top = box.scrollTop;
		for (const m of r.messages || [])
			upsertMessage(m, true);
		renderMessages();
		box.scrollTop = top + (box.scrollHeight - h);	// stay put
	} catch (e) {
		if (e.name !== 'AbortError')
			note($('#send-error'), 'Could not load older messages: ' + e.message);
	} finally {
		o.loadingOlder = false;
		$('#older').hidden = true;
	}
}

function jumpTo(wamid) {
	const n = $('#msg-list').querySelector(`li[data-id="${CSS.escape(wamid)}"]`);
	if (!n)
		return;
	n.scrollIntoView({block: 'center'});
	n.classList.add('flash');
	setTimeout(() => n.classList.remove('flash'), 1200);
	n.querySelector('button')?.focus();
}

// Marks the newest incoming message read (Meta reads everything before it
// too) when the conversation is on screen.
const newestIncoming = (o) => [...o.msgs.values()]
    .filter((m) => m.direction === 'in' && m.id).sort(byTime).pop();

async function markRead() {
	const o = S.open;
	if (!o || document.visibilityState !== 'visible')
		return;
	const newest = newestIncoming(o);
	if (!newest || newest.status === 'read' || o.readUpTo === newest.id)
		return;
	o.readUpTo = newest.id;
	try {
		await api('POST', '/api/v1/messages/' + encodeURIComponent(newest.id) + '/read');
		newest.status = 'read';
		o.conv.unread_count = 0;
		const c = S.convs.get(o.phone);
		if (c)
			c.unread_count = 0;
		renderList();
	} catch (e) {
		if (S.open === o)
			o.readUpTo = null;
	}
}

// --- sending ----------------------------------------------------------------

// While the agent types, the customer sees "typing…" (WhatsApp shows it
// for up to 25 s, or until our answer arrives). It answers their newest
// message, which it also marks read.
function typing() {
	const o = S.open;
	if (!o || $('#text').disabled || !$('#text').value || Date.now() - (o.typingAt || 0) < 20000)
		return;
	const last = newestIncoming(o);
	if (!last)
		return;
	o.typingAt = Date.now();
	api('POST', '/api/v1/conversations/' + encodeURIComponent(o.phone) + '/typing',
	    {json: {message_id: last.id}}).catch(() => {});
}

function startReply(m) {
	S.replyTo = m;
	$('#reply-bar').hidden = false;
	$('#reply-text').textContent = preview({...m, direction: undefined}) || m.type;
	($('#text').disabled ? $('#tpl-name') : $('#text')).focus();
}

function cancelReply() {
	S.replyTo = null;
	$('#reply-bar').hidden = true;
	$('#reply-text').textContent = '';
}

function clearFile() {
	S.file = null;
	$('#attach').value = '';
	$('#attach-name').hidden = true;
	$('#attach-name').replaceChildren();
}

function onFile() {
	const f = $('#attach').files[0];
	if (!f)
		return clearFile();
	S.file = f;
	const x = el('button', {type: 'button', class: 'link', 'aria-label': 'Remove attachment',
	    onclick: () => { clearFile(); $('#text').focus(); }}, '✕');
	$('#attach-name').replaceChildren('📎 ' + f.name + ' ', x);
	$('#attach-name').hidden = false;
	$('#text').focus();
}

function mediaTypeOf(file) {
	const t = file.type || '';
	if (t === 'image/webp')
		return 'sticker';
	if (t === 'image/jpeg' || t === 'image/png')
		return 'image';
	if (t.startsWith('video/'))
		return 'video';
	if (t.startsWith('audio/'))
		return 'audio';
	return 'document';
}

function sendFailed(e) {
	if (e.code === 'outside_window' || e.status === 409) {
		S.open.conv.window_open = false;
		renderHead();
	}
	note($('#send-error'), 'Not sent: ' + e.message);
}

// The sent message shows at once; its message_outgoing event (same id)
// then replaces it, and status events move its tick.
function showSent(r, fields) {
	if (!S.open || !r?.message_id || S.open.msgs.has(r.message_id))
		return;	// the event came first: it has it all
	upsertMessage({id: r.message_id, direction: 'out', status: 'accepted',
	    timestamp: r.timestamp || new Date().toISOString(), ...fields});
}

// The same message sent again (after an error) keeps its Idempotency-Key,
// so a first try that did reach the server is not sent twice.
function keyFor(what) {
	const sig = JSON.stringify(what);
	if (S.sendKey?.sig !== sig)
		S.sendKey = {sig, key: newKey()};
	return {'Idempotency-Key': S.sendKey.key};
}

// Only when the outcome is unknown (no answer, a server error) may the
// next try be the same request; a clear refusal starts afresh.
function keepKeyIf(e) {
	if (e.status !== 0 && e.status < 500 && e.code !== 'idempotency_in_progress')
		S.sendKey = null;
}

async function sendText(ev) {
	ev.preventDefault();
	const o = S.open;
	const ta = $('#text');
	const text = ta.value.trim();
	if (!o || (!text && !S.file) || ta.disabled || S.sending)
		return;
	note($('#send-error'), '');
	const reply = S.replyTo?.id;
	const btn = $('#send');
	btn.disabled = true;
	S.sending = true;
	try {
		if (S.file) {
			const file = S.file, type = mediaTypeOf(file);
			const form = new FormData();
			form.append('file', file, file.name);
			const up = await api('POST', '/api/v1/upload/media', {form});
			const body = {to: o.phone, media_id: up.media_id, media_type: type};
			if (text && ['image', 'video', 'document'].includes(type))
				body.caption = text;
			if (reply)
				body.reply_to_message_id = reply;
			const r = await api('POST', '/api/v1/send/media', {json: body,
			    headers: keyFor([body, file.name, file.size])});
			showSent(r, {type, text: body.caption || null,
			    media: {id: up.media_id, mime_type: up.mime_type, filename: up.filename},
			    context: reply ? {message_id: reply} : null});
			clearFile();
		} else {
			const body = {to: o.phone, text};
			if (reply)
				body.reply_to_message_id = reply;
			const r = await api('POST', '/api/v1/send/text', {json: body, headers: keyFor(body)});
			showSent(r, {type: 'text', text, context: reply ? {message_id: reply} : null});
		}
		ta.value = '';
		S.sendKey = null;
		autosize();
		cancelReply();
	} catch (e) {
		keepKeyIf(e);
		if (S.open === o)
			sendFailed(e);
	} finally {
		S.sending = false;
		btn.disabled = ta.disabled;
		if (S.open === o)
			ta.focus();
	}
}

async function sendTemplate(ev) {
	ev.preventDefault();
	const o = S.open;
	const name = $('#tpl-name').value.trim(), language = $('#tpl-lang').value.trim();
	if (!o || !name || !language)
		return;
	note($('#send-error'), '');
	try {
		const body = {to: o.phone, name, language};
		const r = await api('POST', '/api/v1/send/template', {json: body, headers: keyFor(body)});
		S.sendKey = null;
		showSent(r, {type: 'template', content: {name, language: {code: language}}});
	} catch (e) {
		keepKeyIf(e);
		if (S.open === o)
			note($('#send-error'), 'Template not sent: ' + e.message);
	}
}

// The reaction picker: a small menu of buttons next to the message.
let picker = null;
function openPicker(m, anchor) {
	closePicker();
	picker = el('div', {class: 'picker', role: 'menu', 'aria-label': 'Choose a reaction',
	    onkeydown: (e) => {
	        if (e.key === 'Escape') {
	            closePicker();
	            anchor.focus();
	        }
	    }},
	    EMOJI.map((e) => el('button', {type: 'button', role: 'menuitem', class: 'emoji',
	        onclick: () => { closePicker(); react(m, e); anchor.focus(); }}, e)));
	anchor.closest('li').append(picker);
	picker.querySelector('button').focus();
}

function closePicker() {
	picker?.remove();
	picker = null;
}

// Picking the emoji already there takes the reaction back.
async function react(m, emoji) {
	const o = S.open;
	const mine = reactionsOf(o.msgs.get(m.id) || m).find((r) => r.direction === 'out');
	try {
		if (mine && mine.emoji === emoji) {
			await api('DELETE', '/api/v1/messages/' + encodeURIComponent(m.id) + '/reaction');
			applyReaction(m.id, 'out', null);
			return;
		}
		await api('POST', '/api/v1/send/reaction', {json: {to: o.phone, emoji, message_id: m.id}});
		applyReaction(m.id, 'out', emoji);
	} catch (e) {
		if (S.open === o)
			note($('#send-error'), 'Reaction not sent: ' + e.message);
	}
}

function applyReaction(target, direction, emoji) {
	const o = S.open;
	const m = o && o.msgs.get(target);
	if (!m)
		return;
	const rs = reactionsOf(m).filter((r) => r.direction !== direction);
	if (emoji)
		rs.push({direction, emoji});
	m.reactions = rs;
	renderMessage(target);
}

function autosize() {
	const ta = $('#text');
	ta.style.height = 'auto';
	ta.style.height = Math.min(ta.scrollHeight, 160) + 'px';
}

// --- live events ------------------------------------------------------------

function onEvent(f) {
	const d = f.data || {};
	const o = S.open;
	switch (f.event) {
	case 'message_incoming':
	case 'message_outgoing': {
		const m = d.message || {};
		if (m.type === 'reaction') {
			const c = m.content || {};
			if (m.id || m.status !== 'failed')
				applyReaction(c.message_id, m.direction || 'out', c.emoji || null);
			return;
		}
		const c = touchConv(d, m);
		const isOpen = o && c && o.phone === c.phone;
		if (c && m.direction === 'in' && !(isOpen && document.visibilityState === 'visible'))
			c.unread_count = (c.unread_count || 0) + 1;
		if (isOpen) {
			o.conv = c;
			upsertMessage(m);
			renderHead();
			if (m.direction === 'in')
				markRead();
		}
		renderList();
		return;
	}
	case 'message_status': {
		if (o) {
			const m = o.msgs.get(d.message_id);
			if (m) {
				const st = d.status;
				if (st === 'failed' || (STATUS_RANK[st] ?? -1) > (STATUS_RANK[m.status] ?? -1))
					m.status = st;
				if (d.timestamp)
					m.status_times = {...(m.status_times || {}), [st]: d.timestamp};
				if (d.error)
					m.error = d.error;
				renderMessage(d.message_id);
			}
		}
		for (const c of S.convs.values())
			if (c.last_message && (c.last_message.wamid || c.last_message.id) === d.message_id) {
				c.last_message.status = d.status;
				renderList();
			}
		return;
	}
	case 'reaction':
		applyReaction(d.message_id, 'in', d.emoji || null);
		return;
	case 'message_edited':
		if (o && o.msgs.has(d.message_id) && d.message)
			upsertMessage(d.message);
		return;
	case 'message_deleted':
		if (o && o.msgs.has(d.message_id)) {
			const m = o.msgs.get(d.message_id);
			Object.assign(m, {text: null, media: null, type: 'deleted'});
			renderMessage(d.message_id);
		}
		return;
	case 'conversation_deleted': {
		const c = S.convs.get(normPhone(d.phone));
		if (c) {
			c.last_message = null;
			c.unread_count = 0;
		}
		if (o && o.phone === normPhone(d.phone)) {
			o.msgs.clear();
			o.nextBefore = null;
			renderMessages();
		}
		renderList();
		return;
	}
	default:
		// button_clicked / selection_made come with their message_incoming;
		// poll_* and future events: a line in the conversation they name.
		if (o && normPhone(d.phone) === o.phone && /^poll_/.test(f.event))
			systemLine(f.event.replace('_', ' ') + (d.question || d.title || d.text ?
			    ': ' + (d.question || d.title || d.text) : ''));
	}
}

function systemLine(text) {
	$('#msg-list').append(el('li', {class: 'system'}, text));
	if (S.open.atEnd)
		scrollToEnd();
}

// --- wiring -----------------------------------------------------------------

function bindUi() {
	$('#login-form').addEventListener('submit', login);
	for (const b of document.querySelectorAll('[data-action="logout"]'))
		b.addEventListener('click', logout);
	$('#switch-tenant').addEventListener('click', showTenantPicker);
	$('#search').addEventListener('input', onSearch);
	$('#list-more').addEventListener('click', () => loadList(true));
	$('#conv-list').addEventListener('scroll', () => {
		const l = $('#conv-list');
		if (S.listCursor && !S.listLoading && l.scrollHeight - l.scrollTop - l.clientHeight < 200)
			loadList(true);
	}, {passive: true});
	$('#back').addEventListener('click', back);
	window.addEventListener('hashchange', onRoute);
	$('#messages').addEventListener('scroll', () => {
		if (!S.open)
			return;
		// Only a move up (the user reading back) unsticks the view:
		// pictures growing above the end must not.
		const top = $('#messages').scrollTop;
		if (top < (S.open.lastTop ?? 0) - 2 || isNearEnd())
			S.open.atEnd = isNearEnd();
		S.open.lastTop = top;
		if (top < 80)
			loadOlder();
	}, {passive: true});
	$('#composer').addEventListener('submit', sendText);
	$('#template-form').addEventListener('submit', sendTemplate);
	$('#reply-cancel').addEventListener('click', () => { cancelReply(); $('#text').focus(); });
	$('#attach').addEventListener('change', onFile);
	$('.attach').addEventListener('keydown', (e) => {
		if (e.key === 'Enter' || e.key === ' ') {
			e.preventDefault();
			if (!$('#attach').disabled)
				$('#attach').click();
		}
	});
	const ta = $('#text');
	ta.addEventListener('input', () => {
		autosize();
		typing();
	});
	ta.addEventListener('keydown', (e) => {
		if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
			e.preventDefault();
			$('#composer').requestSubmit();
		}
	});
	document.addEventListener('keydown', (e) => {
		if (e.key !== 'Escape')
			return;
		if (picker)
			return closePicker();
		if (S.replyTo)
			return cancelReply();
	});
	document.addEventListener('click', (e) => {
		if (picker && !picker.contains(e.target) && !e.target.closest('.act'))
			closePicker();
	});
	document.addEventListener('visibilitychange', () => {
		if (document.visibilityState === 'visible')
			markRead();
	});
}

boot();
