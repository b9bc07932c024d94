// app.js: the inbox. Views: login -> tenant picker (when the user has
// several) -> conversation list + open conversation. State comes from the
// REST API and is then kept current by the events of js/live.js.
import {$, el, shortTime, toDate} from './dom.js';
import {api, newKey, setTenant, setUnauthorizedHandler} from './api.js';
import {Live} from './live.js';
import {messageNode, msgKey, preview, previewParts, reactionsOf, STATUS_RANK} from './render.js';
import {announce, notifyState, soundOn, toggleNotify, toggleSound} from './notify.js';

const HINT = 'wa.signedIn';	// "a session cookie may exist": not a token
const LAST_TENANT = 'wa.tenant';
const DRAFT = 'wa.draft.';	// + tenant id + '.' + phone: the composer's text
const TEMPLATES = 'wa.templates.';	// + tenant id: templates sent from here
const PAGE = 30;
const PAGE_MAX = 200;		// the API's largest page
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
	locals: new Map(),	// phone -> Map(local key -> send not yet answered, or failed)
	chains: new Map(),	// phone -> the promise of its last send (one at a time)
	sentIds: new Set(),	// wamids our sends were answered with
	retryOf: new Map(),	// message key -> the send that stored it failed
	retried: new Set(),	// failed messages sent again
	metaClosed: new Map(),	// phone -> window_expires_at when Meta said 131047
	templates: new Map(),	// name -> language: recently used templates
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
	// The next person at this browser must not find our drafts.
	for (const k of Object.keys(localStorage))
		if (k.startsWith(DRAFT))
			localStorage.removeItem(k);
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
	for (const k of ['locals', 'chains', 'sentIds', 'retryOf', 'retried', 'metaClosed', 'templates'])
		S[k].clear();
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
	loadTemplates();
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
	if (s === 'live' && $('#send-error').dataset.kind === 'load')
		sendNote('');	// resync() loads again
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
	let ok = false;
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
			fixWindow(c);
			noteTemplate(c.last_message);
			S.convs.set(c.phone, c);
		}
		S.listCursor = r.next_cursor || null;
		emptyNote();
		renderList();
		ok = true;
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
	if (ok && seq === S.listSeq)
		listMore();
}

// The next page when the end of the list is in view: after a scroll, and
// after each load (a scroll while one was loading, or a first load that
// replaced the rows a scroll had added, would otherwise wait for the next).
function listMore() {
	const l = $('#conv-list');
	if (S.listCursor && !S.listLoading && l.clientHeight > 0 && l.scrollHeight - l.scrollTop - l.clientHeight < 200)
		loadList(true);
}

// Also when the first conversation arrives live (onEvent).
function emptyNote() {
	note($('#list-note'), S.convs.size ? '' : S.q ? 'No conversation matches.' :
	    'No conversations yet.');
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
	// On a phone the list is hidden behind the open chat: Back counts the
	// other chats with something new.
	const b = $('#back-badge');
	b.textContent = unread ? String(unread) : '';
	b.hidden = !unread;
	$('#back-unread').textContent = unread ? (unread === 1 ? ' chat' : ' chats') + ' with unread messages' : '';
	$('#list-more').hidden = !S.listCursor;
	if (focused)
		$('#conv-list').querySelector(`[data-phone="${CSS.escape(focused)}"]`)?.focus();
}

function convItem(c) {
	const open = S.open?.phone === c.phone;
	const unread = c.unread_count > 0 && !open;
	const name = c.name || c.contact?.name || c.phone;
	const pv = previewParts(c.last_message);
	return el('li', {},
	    el('button', {type: 'button', class: 'conv-item' + (open ? ' active' : '') +
	        (unread ? ' unread' : ''), dataset: {phone: c.phone},
	        'aria-current': open ? 'true' : undefined,
	        onclick: () => go(c.phone)},
	        el('span', {class: 'row'},
	            el('strong', {class: 'name', dir: 'auto'}, name),
	            el('time', {class: 'time'}, shortTime(lastTime(c)))),
	        el('span', {class: 'row'},
	            el('span', {class: 'phone muted'}, name !== c.phone ? c.phone : ''),
	            el('span', {class: 'window ' + (c.window_open ? 'open' : 'closed'),
	                title: c.window_open ? 'Customer-service window open until ' +
	                (toDate(c.window_expires_at)?.toLocaleString() || '?') :
	                'Window closed: only templates can be sent'},
	                c.window_open ? 'open' : 'closed')),
	        el('span', {class: 'row'},
	            // The text alone is dir="auto" and cut at its own end: an
	            // Arabic preview keeps its first words.
	            el('span', {class: 'preview'}, pv.you ? el('span', {class: 'you'}, 'You: ') : '',
	                el('span', {class: 'preview-text', dir: 'auto'}, pv.text)),
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
	if (m.direction === 'in')
		S.metaClosed.delete(phone);	// they wrote: a new window
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
			fixWindow(c);
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
	sendNote('');
	restoreDraft();
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
	saveDraft();
	S.open = null;
	$('#text').value = '';	// the draft stays with its conversation
	autosize();
	cancelReply();
	clearFile();
	closePicker();
	document.body.classList.remove('conv-open');
	$('#conv').hidden = true;
	$('#conv-empty').hidden = false;
}

// The first load of a conversation with unread messages fetches enough to
// reach the first of them (the list said how many), opens there under an
// "N unread messages" divider, and keeps the divider while it is open.
async function reloadOpen() {
	const o = S.open;
	const fresh = !o.loaded;
	const limit = fresh ? Math.min(PAGE_MAX, Math.max(PAGE, (o.conv.unread_count || 0) + 10)) : PAGE;
	try {
		const r = await api('GET', '/api/v1/conversations/' + encodeURIComponent(o.phone),
		    {query: {limit}, signal: o.ctrl.signal});
		if (S.open !== o)
			return;
		o.conv = Object.assign(S.convs.get(o.phone) || {}, r.conversation || {}, {phone: o.phone});
		fixWindow(o.conv);
		S.convs.set(o.phone, o.conv);
		// Two loads may race (opening, and the socket's first open): the
		// first answer counts as the first.
		const first = fresh && !o.loaded;
		if (first) {
			o.loaded = true;
			o.nextBefore = r.next_before || null;
			o.unread = o.conv.unread_count || 0;
		}
		for (const m of (r.messages || []).slice().reverse()) {
			// A send still unanswered may be in the history already.
			if (m.direction === 'out' && (m.status === 'pending' || m.status === 'accepted'))
				claimLocal(o.phone, m);
			upsertMessage(m, true);
		}
		if (first) {
			for (const L of S.locals.get(o.phone)?.values() || [])
				o.msgs.set(L.local, L);	// sends still on their way, or failed
			await loadUnread(o);
			if (S.open !== o)
				return;
		}
		renderHead();
		renderMessages();
		if (first && o.firstUnread)
			scrollToUnread();
		else if (first || o.atEnd)
			scrollToEnd();
		markRead();
		renderList();
		if ($('#send-error').dataset.kind === 'load')
			sendNote('');
	} catch (e) {
		if (e.name === 'AbortError' || S.open !== o)
			return;
		sendNote('Could not load the conversation: ' + e.message, 'load');
	}
}

const incoming = (o) => [...o.msgs.values()].filter((m) => m.direction === 'in').sort(byTime);

// Older pages until the first unread message is loaded (at most 1000
// messages: beyond, the divider sits on the oldest one loaded).
async function loadUnread(o) {
	for (let pages = 0; o.unread > incoming(o).length && o.nextBefore && pages < 5; pages++) {
		const r = await api('GET', '/api/v1/conversations/' + encodeURIComponent(o.phone),
		    {query: {limit: PAGE_MAX, before: o.nextBefore}, signal: o.ctrl.signal});
		if (S.open !== o)
			return;
		o.nextBefore = r.next_before || null;
		for (const m of r.messages || [])
			upsertMessage(m, true);
	}
	const ins = incoming(o);
	if (o.unread > 0 && ins.length)
		o.firstUnread = msgKey(ins[Math.max(0, ins.length - o.unread)]);
}

function renderHead() {
	const o = S.open, c = o.conv;
	const name = c.name || c.contact?.name || o.phone;
	$('#conv-name').textContent = name;
	$('#conv-phone').textContent = name !== o.phone ? o.phone : '';
	noteTemplates(o);
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
	if (!open)
		renderTemplates();
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
	    onReact: openPicker, jump: jumpTo, retry: retryOf,
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
	decorate();
}

function dayLabel(d) {
	const now = new Date(), y = new Date(now);
	y.setDate(now.getDate() - 1);
	if (d.toDateString() === now.toDateString())
		return 'Today';
	if (d.toDateString() === y.toDateString())
		return 'Yesterday';
	return d.toLocaleDateString([], {weekday: 'long', day: 'numeric', month: 'long',
	    year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric'});
}

// The lines between bubbles, laid again after every change to the list:
// a date above the first message of each day, and the unread divider
// above the first message that was unread when the chat was opened.
function decorate() {
	const o = S.open, list = $('#msg-list');
	for (const n of list.querySelectorAll(':scope > li.day, :scope > li.unread-divider'))
		n.remove();
	let prev = null;
	for (const li of [...list.children]) {
		const m = li.classList.contains('msg') && o.msgs.get(li.dataset.id);
		if (!m)
			continue;
		const d = toDate(m.timestamp);
		if (d && d.toDateString() !== prev) {
			prev = d.toDateString();
			li.before(el('li', {class: 'day'}, el('span', {}, dayLabel(d))));
		}
		if (li.dataset.id === o.firstUnread)
			li.before(el('li', {class: 'unread-divider', id: 'unread-divider'},
			    el('span', {}, o.unread + (o.unread === 1 ? ' unread message' : ' unread messages'))));
	}
}

// Opens with the divider near the top: what is new reads downwards.
function scrollToUnread() {
	const b = $('#messages'), d = $('#unread-divider');
	if (!d)
		return scrollToEnd();
	b.scrollTop += d.getBoundingClientRect().top - b.getBoundingClientRect().top - 8;
	S.open.atEnd = isNearEnd();
	S.open.lastTop = b.scrollTop;
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
	decorate();
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
			sendNote('Could not load older messages: ' + e.message, 'load');
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

// WhatsApp's limits per kind (as fcgi/media.c has them): a file over its
// limit is refused here, before its whole upload, with its size in words.
const MB = 1024 * 1024;
const LIMITS = {image: [5 * MB, 'images'], video: [16 * MB, 'videos'], audio: [16 * MB, 'audio files'],
    sticker: [500 * 1024, 'stickers'], document: [100 * MB, 'documents']};

function humanSize(n) {
	if (n < 1024)
		return n + ' bytes';
	const [v, unit] = n < MB ? [n / 1024, 'KB'] : [n / MB, 'MB'];
	return (v < 10 && v % 1 ? v.toFixed(1) : Math.round(v)) + ' ' + unit;
}

function onFile() {
	const f = $('#attach').files[0];
	if (!f)
		return clearFile();
	const [max, what] = LIMITS[mediaTypeOf(f)];
	if (f.size > max) {
		clearFile();
		sendNote(`${f.name} is ${humanSize(f.size)}: WhatsApp takes ${what} up to ${humanSize(max)}.`);
		return;
	}
	sendNote('');
	S.file = f;
	const x = el('button', {type: 'button', class: 'link', 'aria-label': 'Remove attachment',
	    onclick: () => { clearFile(); $('#text').focus(); }}, '✕');
	$('#attach-name').replaceChildren(el('span', {class: 'file-name'}, '📎 ' + f.name), ' ', x);
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

// The line under the composer: a refused file, a conversation that did not
// load (kind 'load': cleared once a load works again). Failed sends have
// their own bubble instead.
function sendNote(text, kind) {
	const n = $('#send-error');
	note(n, text);
	n.dataset.kind = text ? kind || '' : '';
}

// Drafts: the composer's text per business and conversation, kept in
// localStorage as it is typed (a reload keeps it; signing out forgets it).
const draftKey = (phone) => DRAFT + S.tenant.id + '.' + phone;

function saveDraft() {
	const o = S.open;
	if (!o || !S.tenant)
		return;
	const v = $('#text').value;
	try {
		if (v.trim())
			localStorage.setItem(draftKey(o.phone), v);
		else
			localStorage.removeItem(draftKey(o.phone));
	} catch (e) { /* storage full or denied: the draft lives until the switch */ }
}

function restoreDraft() {
	$('#text').value = localStorage.getItem(draftKey(S.open.phone)) || '';
	autosize();
}

// Sending. A send shows at once as a bubble of its own (a local key, a
// clock); its answer gives it the wamid, or the bubble stays with the error
// and a Retry. Sends on their way or failed are kept per conversation
// (S.locals) and go one at a time, in order; switching chats does not stop
// or lose them. Each has its Idempotency-Key: after no answer (or a server
// error) a retry is the same request, which cannot send twice; after a
// clear refusal it is a new one.
function localsOf(phone) {
	if (!S.locals.has(phone))
		S.locals.set(phone, new Map());
	return S.locals.get(phone);
}

const openFor = (phone) => (S.open?.phone === phone ? S.open : null);

// spec: {path, body, file?, media? (the upload's answer)}; shown: the
// fields the bubble shows (type, text, content, media, context).
function startSend(phone, spec, shown) {
	const L = {...shown, local: 'local:' + newKey(), phone, direction: 'out', status: 'pending',
	    timestamp: new Date().toISOString(), send: spec, idem: newKey(), done: false};
	localsOf(phone).set(L.local, L);
	const o = openFor(phone);
	if (o) {
		o.msgs.set(L.local, L);
		renderMessage(L.local);
	}
	queueSend(L);
}

function queueSend(L) {
	const p = (S.chains.get(L.phone) || Promise.resolve()).then(() => deliver(L));
	S.chains.set(L.phone, p);
}

async function deliver(L) {
	const s = L.send;
	if (L.done)
		return;
	try {
		if (s.file && !s.media) {
			const form = new FormData();
			form.append('file', s.file, s.file.name);
			s.media = await api('POST', '/api/v1/upload/media', {form});
		}
		const body = s.media ? {...s.body, media_id: s.media.media_id} : s.body;
		const r = await api('POST', s.path, {json: body, headers: {'Idempotency-Key': L.idem}});
		settle(L, r);
	} catch (e) {
		if (e.status !== 0 && e.status < 500 && e.code !== 'idempotency_in_progress')
			L.idem = newKey();
		failLocal(L, e);
	}
}

function dropLocal(L) {
	L.done = true;
	S.locals.get(L.phone)?.delete(L.local);
}

// The local bubble gives way to the message m (null: to one shown already).
function replaceLocal(o, L, m) {
	o.msgs.delete(L.local);
	const node = $('#msg-list').querySelector(`li[data-id="${CSS.escape(L.local)}"]`);
	const key = m && msgKey(m);
	if (m && !o.msgs.has(key)) {
		o.msgs.set(key, m);
		if (node)
			node.replaceWith(messageNode(m, ctx()));
		else
			renderMessage(key);
	} else {
		node?.remove();
	}
	decorate();
}

function settle(L, r) {
	if (r?.message_id)
		S.sentIds.add(r.message_id);
	if (L.type === 'template')
		useTemplate(L.content.name, L.content.language.code);
	if (L.done)
		return;	// its own event came first and took its place
	dropLocal(L);
	const o = openFor(L.phone);
	if (!o)
		return;
	const m = r?.message_id ? {id: r.message_id, direction: 'out', status: 'accepted',
	    timestamp: r.timestamp || L.timestamp, type: L.type, text: L.text, content: L.content,
	    context: L.context, media: L.send.media ? {id: L.send.media.media_id,
	    mime_type: L.send.media.mime_type, filename: L.send.media.filename} : null} : null;
	replaceLocal(o, L, m);
}

function failLocal(L, e) {
	if (L.done)
		return;	// the server's own failed message took its place
	L.status = 'failed';
	L.error = e.status === 0 ? e.message : {code: e.graph?.code ?? e.code, message: e.message,
	    details: e.graph?.details};
	if (e.code === 'outside_window' || e.graph?.code === 131047)
		closeWindow(L.phone);
	if (openFor(L.phone)?.msgs.has(L.local))
		renderMessage(L.local);
}

// A message_outgoing event of one of our sends takes the place of its
// local bubble (same kind and text, oldest first), unless the answer came
// first. A failed one keeps the send, for Retry.
function claimLocal(phone, m) {
	if (m.direction !== 'out' || (m.id && S.sentIds.has(m.id)))
		return;
	const o = openFor(phone);
	for (const L of S.locals.get(phone)?.values() || []) {
		// A template's text is its name (or nothing): its name decides.
		if (L.type !== m.type || (L.type === 'template' ? L.content?.name !== m.content?.name :
		    (L.text || '') !== (m.text || '')))
			continue;
		dropLocal(L);
		if (m.status === 'failed')
			S.retryOf.set(msgKey(m), L.send);
		if (o)
			replaceLocal(o, L, null);
		return;
	}
}

// What sends a failed message again (render.js asks): our local ones as
// they were; a failed one from the server as a new send of its content.
function retryOf(m) {
	const key = msgKey(m);
	if (m.local) {
		return () => {
			if (m.done || m.status !== 'failed')
				return;
			m.status = 'pending';
			m.error = null;
			renderMessage(key);
			queueSend(m);
		};
	}
	if (S.retried.has(key))
		return 'done';
	const spec = S.retryOf.get(key) || specOf(m);
	if (!spec)
		return null;
	return () => {
		const o = S.open;
		S.retried.add(key);
		renderMessage(key);
		startSend(o.phone, {...spec, body: {...spec.body}}, {type: m.type, text: m.text,
		    content: m.content, context: m.context, media: m.media});
	};
}

function specOf(m) {
	const to = S.open.phone, c = m.content || {};
	const reply = m.context?.message_id ? {reply_to_message_id: m.context.message_id} : {};
	if (m.type === 'text' && m.text)
		return {path: '/api/v1/send/text', body: {to, text: m.text, ...reply}};
	if (['image', 'video', 'audio', 'document', 'sticker'].includes(m.type) && m.media?.id)
		return {path: '/api/v1/send/media', media: {media_id: m.media.id, mime_type: m.media.mime_type,
		    filename: m.media.filename}, body: {to, media_type: m.type, ...reply,
		    ...(m.text ? {caption: m.text} : {})}};
	if (m.type === 'template' && c.name && (c.language?.code || typeof c.language === 'string'))
		return {path: '/api/v1/send/template', body: {to, name: c.name,
		    language: c.language?.code || c.language}};
	return null;
}

// Meta's 131047: more than 24 hours since the customer last wrote, whatever
// our clock said. Closed until they write again (a new window_expires_at).
function closeWindow(phone) {
	const c = S.convs.get(phone) || openFor(phone)?.conv;
	if (!c)
		return;
	S.metaClosed.set(phone, c.window_expires_at ?? null);
	c.window_open = false;
	const o = openFor(phone);
	if (o) {
		o.conv.window_open = false;
		renderHead();
	}
	renderList();
}

// A conversation row from the server: still closed if Meta said so since.
function fixWindow(c) {
	if (!S.metaClosed.has(c.phone))
		return;
	if (S.metaClosed.get(c.phone) === (c.window_expires_at ?? null))
		c.window_open = false;
	else
		S.metaClosed.delete(c.phone);
}

function sendText(ev) {
	ev.preventDefault();
	const o = S.open;
	const ta = $('#text');
	const text = ta.value.trim();
	if (!o || (!text && !S.file) || ta.disabled)
		return;
	sendNote('');
	const reply = S.replyTo?.id;
	const context = reply ? {message_id: reply} : null;
	const extra = reply ? {reply_to_message_id: reply} : {};
	const file = S.file;
	let rest = text;
	if (file) {
		const type = mediaTypeOf(file);
		const caption = text && ['image', 'video', 'document'].includes(type) ? text : null;
		startSend(o.phone, {path: '/api/v1/send/media', file,
		    body: {to: o.phone, media_type: type, ...extra, ...(caption ? {caption} : {})}},
		    {type, text: caption, context, media: {filename: file.name, mime_type: file.type}});
		clearFile();
		rest = caption ? '' : text;	// audio and stickers take no caption
	}
	if (rest)
		startSend(o.phone, {path: '/api/v1/send/text', body: {to: o.phone, text: rest, ...(file ? {} : extra)}},
		    {type: 'text', text: rest, context: file ? null : context});
	ta.value = '';
	saveDraft();
	autosize();
	cancelReply();
	ta.focus();
}

function sendTemplate(ev) {
	ev.preventDefault();
	const o = S.open;
	const name = $('#tpl-name').value.trim(), language = $('#tpl-lang').value.trim();
	if (!o || !name || !language)
		return;
	sendNote('');
	startSend(o.phone, {path: '/api/v1/send/template', body: {to: o.phone, name, language}},
	    {type: 'template', content: {name, language: {code: language}}});
}

// Recently used templates (until the API lists the approved ones): those
// sent from this browser (localStorage, per business), and those the API
// shows anyway: outgoing templates in the histories opened and in the
// list's last messages (the list has no language: the box keeps its own).
function loadTemplates() {
	S.templates.clear();
	try {
		for (const [name, lang] of JSON.parse(localStorage.getItem(TEMPLATES + S.tenant.id) || '[]'))
			S.templates.set(name, lang);
	} catch (e) { /* a damaged entry: start afresh */ }
}

function useTemplate(name, lang) {
	S.templates.delete(name);
	S.templates.set(name, lang);
	const list = [...S.templates].filter(([, l]) => l).slice(-8);
	try {
		localStorage.setItem(TEMPLATES + S.tenant.id, JSON.stringify(list));
	} catch (e) { /* not kept: still offered until the page closes */ }
	renderTemplates();
}

function noteTemplate(m) {
	if (m?.type !== 'template' || m.direction !== 'out')
		return;
	const c = m.content || {};
	const name = c.name || c.template?.name || m.text;
	const lang = c.language?.code || c.template?.language?.code || null;
	if (name && /^[a-z0-9_]{1,512}$/.test(name) && (lang || !S.templates.has(name)))
		S.templates.set(name, lang || S.templates.get(name) || null);
}

function noteTemplates(o) {
	for (const m of o.msgs.values())
		noteTemplate(m);
}

function renderTemplates() {
	const box = $('#tpl-recent');
	const list = [...S.templates].reverse().slice(0, 8);
	box.replaceChildren(...(list.length ? [el('span', {class: 'muted'}, 'Recent:')] : []),
	    ...list.map(([name, lang]) => el('button', {type: 'button', class: 'chip',
	        title: 'Use the template ' + name + (lang ? ' (' + lang + ')' : ''),
	        onclick: () => {
	            $('#tpl-name').value = name;
	            if (lang)
	                $('#tpl-lang').value = lang;
	            $('#tpl-name').focus();
	        }}, name + (lang ? ' · ' + lang : ''))));
	box.hidden = !list.length;
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
			sendNote('Reaction not sent: ' + e.message);
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

// The box grows with its text up to 160px; empty, or not on screen (its
// height cannot be measured), it takes its natural height.
function autosize() {
	const ta = $('#text');
	ta.style.height = '';
	if (!ta.value || !ta.offsetParent)
		return;
	const border = ta.offsetHeight - ta.clientHeight;
	ta.style.height = Math.min(ta.scrollHeight + border, 160) + 'px';
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
		const unseen = m.direction === 'in' && !(isOpen && document.visibilityState === 'visible');
		if (c && unseen)
			c.unread_count = (c.unread_count || 0) + 1;
		if (c && m.direction === 'out') {
			claimLocal(c.phone, m);
			noteTemplate(m);
		}
		if (isOpen) {
			o.conv = c;
			upsertMessage(m);
			renderHead();
			if (m.direction === 'in')
				markRead();
		}
		if (c && m.status === 'failed' && errorCode(m.error) === 131047)
			closeWindow(c.phone);
		emptyNote();
		renderList();
		if (c && unseen)
			announce({phone: c.phone, title: c.name || c.contact?.name || c.phone,
			    body: preview(m)}, go);
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
		let phone = o && o.msgs.has(d.message_id) ? o.phone : null;
		for (const c of S.convs.values())
			if (c.last_message && (c.last_message.wamid || c.last_message.id) === d.message_id) {
				c.last_message.status = d.status;
				phone = phone || c.phone;
				renderList();
			}
		if (phone && d.status === 'failed' && errorCode(d.error) === 131047)
			closeWindow(phone);
		return;
	}
	case 'reaction':
		// Ours come back with direction "out"; the customer's have none.
		applyReaction(d.message_id, d.direction === 'out' ? 'out' : 'in', d.emoji || null);
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

// Meta's error code, however the error is shaped (an object, or a list).
function errorCode(err) {
	const e = Array.isArray(err) ? err[0] : err;
	return e && typeof e === 'object' ? Number(e.code) : null;
}

function systemLine(text) {
	$('#msg-list').append(el('li', {class: 'system'}, text));
	if (S.open.atEnd)
		scrollToEnd();
}

// --- notifications ----------------------------------------------------------

function showNotify(state) {
	const b = $('#notify');
	b.setAttribute('aria-pressed', String(state === 'on'));
	b.disabled = state === 'unsupported';
	b.title = {on: 'Desktop notifications are on: click to turn them off',
	    off: 'Desktop notifications of new messages in other chats, or while this tab is hidden',
	    blocked: 'Notifications are blocked for this site: allow them in the browser\'s site settings',
	    unsupported: 'This browser cannot show notifications'}[state];
}

function showSound(on) {
	const b = $('#sound');
	b.setAttribute('aria-pressed', String(on));
	$('#sound-icon').textContent = on ? '🔊' : '🔈';
}

// --- wiring -----------------------------------------------------------------

function bindUi() {
	$('#login-form').addEventListener('submit', login);
	for (const b of document.querySelectorAll('[data-action="logout"]'))
		b.addEventListener('click', logout);
	$('#switch-tenant').addEventListener('click', showTenantPicker);
	$('#search').addEventListener('input', onSearch);
	$('#list-more').addEventListener('click', () => loadList(true));
	$('#conv-list').addEventListener('scroll', listMore, {passive: true});
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
		saveDraft();
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
	// A tap on a bubble shows its Reply and React buttons (a phone has no
	// hover); a tap elsewhere, or on another bubble, hides them.
	$('#msg-list').addEventListener('click', (e) => {
		if (e.target.closest('button, a, audio, video, .picker'))
			return;
		const li = e.target.closest('li.msg');
		const was = li?.classList.contains('tapped');
		for (const n of $('#msg-list').querySelectorAll('li.msg.tapped'))
			n.classList.remove('tapped');
		if (li && !was)
			li.classList.add('tapped');
	});
	$('#notify').addEventListener('click', async () => showNotify(await toggleNotify()));
	$('#sound').addEventListener('click', () => showSound(toggleSound()));
	showNotify(notifyState());
	showSound(soundOn());
	document.addEventListener('visibilitychange', () => {
		if (document.visibilityState === 'visible')
			markRead();
	});
}

boot();
