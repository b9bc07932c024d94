// render.js: one message (the JSON of wa_message_json) as a DOM node.
import {el, linkify, fullTime, shortTime} from './dom.js';
import {mediaUrl} from './api.js';

export const STATUS_RANK = {received: 0, pending: 0, accepted: 1, sent: 2, delivered: 3,
    read: 4, played: 5, failed: 6};
const TICKS = {pending: '🕓', accepted: '✓', sent: '✓', delivered: '✓✓',
    read: '✓✓', played: '✓✓', failed: '⚠'};

// A message's key: a send not yet answered has a local one; then its
// wamid, or (a send Meta refused has none) its row id.
export const msgKey = (m) => m.local || m.id || (m.db_id ? 'db:' + m.db_id : '');

// One line for the conversation list, notifications and the reply bar.
export function preview(m) {
	const p = previewParts(m);
	return (p.you ? 'You: ' : '') + p.text;
}

// The same in two parts: "You: " stays apart from the text so that the
// text alone decides its direction (dir="auto") and where it is cut.
export function previewParts(m) {
	if (!m)
		return {you: false, text: ''};
	const c = m.content || {};
	const text = m.text || m.caption || m.media?.caption;
	const label = {image: '📷 Photo', video: '🎥 Video', audio: '🎤 Audio',
	    voice: '🎤 Voice message', document: '📄 Document', sticker: 'Sticker',
	    location: '📍 Location', contacts: '👤 Contact', reaction: 'Reaction',
	    template: 'Template'}[m.type];
	let s;
	if (text)
		s = label && m.type !== 'text' ? label + ': ' + text : text;
	else if (m.type === 'reaction')
		s = 'Reacted ' + (c.emoji || '');
	else if (m.type === 'template')
		s = 'Template: ' + (c.name || c.template?.name || '');
	else if (m.type === 'interactive' || m.type === 'button')
		s = interactiveText(m) || 'Interactive message';
	else
		s = label || (m.type ? '[' + m.type + ']' : '');
	return {you: m.direction === 'out', text: s};
}

function interactiveText(m) {
	const c = m.content || {};
	return c.button_reply?.title || c.list_reply?.title || c.text ||
	    c.title || c.payload || c.button?.text || c.body?.text ||
	    c.interactive?.body?.text || '';
}

export function errorText(err) {
	if (!err)
		return '';
	if (typeof err === 'string')
		return err;
	const e = Array.isArray(err) ? err[0] : err;
	const parts = [e.code, e.title, e.message, e.details || e.error_data?.details]
	    .filter((x, i, a) => x !== undefined && x !== null && x !== '' && a.indexOf(x) === i);
	return parts.join(' · ');
}

export function tick(m) {
	const st = m.status || 'pending';
	const title = st === 'failed' ?
	    'Failed: ' + (errorText(m.error) || 'unknown reason') :
	    st.charAt(0).toUpperCase() + st.slice(1) +
	    (m.status_times && m.status_times[st] ? ' ' + fullTime(m.status_times[st]) : '');
	return el('span', {class: 'tick tick-' + st, dataset: {status: st},
	    title, 'aria-label': title, tabindex: st === 'failed' ? '0' : undefined},
	    TICKS[st] || st);
}

// Media: fetched with the tenant header, shown from an object URL.
function mediaNode(m, ctx) {
	const media = m.media || {};
	const id = media.id || m.media_id;
	const mime = media.mime_type || m.media_mime || '';
	if (!id)
		return el('span', {class: 'muted'}, '[' + m.type + ' unavailable]');
	const box = el('div', {class: 'media media-' + m.type});
	const fail = (e) => box.replaceChildren(el('span', {class: 'muted',
	    title: e.message}, '[' + m.type + ' could not be loaded]'));
	const load = (fn) => mediaUrl(id, ctx.signal).then((u) => {
		ctx.urls.push(u);
		fn(u);
	}, (e) => e.name !== 'AbortError' && fail(e));
	if (m.type === 'image' || m.type === 'sticker') {
		const img = el('img', {alt: m.type === 'sticker' ? 'Sticker' :
		    (m.text || 'Image'), class: m.type});
		box.append(img);
		img.addEventListener('load', ctx.onMedia);
		load((u) => { img.src = u; });
	} else if (m.type === 'video' || m.type === 'audio' || m.type === 'voice') {
		const tag = m.type === 'video' ? 'video' : 'audio';
		const player = el(tag, {controls: true, preload: 'metadata',
		    'aria-label': m.type === 'voice' ? 'Voice message' : m.type});
		if (m.type === 'voice')
			box.append(el('div', {class: 'muted'}, '🎤 Voice message'));
		box.append(player);
		player.addEventListener('loadedmetadata', ctx.onMedia);
		load((u) => { player.src = u; });
	} else {
		const name = media.filename || m.media_filename || m.content?.filename || 'document';
		const a = el('a', {href: '#', class: 'doc', download: name}, name);
		const sz = media.file_size || media.size;
		box.append('📄 ', a, mime || sz ? el('span', {class: 'muted'}, ' ' +
		    [mime, sz ? Math.ceil(sz / 1024) + ' KB' : ''].filter(Boolean).join(', ')) : '');
		a.addEventListener('click', (ev) => {
			if (a.dataset.ready)
				return;
			ev.preventDefault();
			load((u) => {
				a.href = u;
				a.dataset.ready = '1';
				a.click();
			});
		});
	}
	return box;
}

function locationNode(m) {
	const c = m.content?.location || m.content || {};
	const lat = Number(c.latitude), lon = Number(c.longitude);
	const box = el('div', {class: 'location'});
	if (c.name)
		box.append(el('strong', {}, c.name), el('br'));
	if (c.address)
		box.append(el('span', {}, c.address), el('br'));
	if (Number.isFinite(lat) && Number.isFinite(lon)) {
		box.append('📍 ' + lat.toFixed(5) + ', ' + lon.toFixed(5) + ' ');
		box.append(el('a', {href: 'https://www.openstreetmap.org/?mlat=' + lat +
		    '&mlon=' + lon + '#map=16/' + lat + '/' + lon, target: '_blank',
		    rel: 'noopener noreferrer'}, 'Open map'));
	} else {
		box.append('📍 Location');
	}
	return box;
}

function contactsNode(m) {
	const c = m.content || {};
	const list = Array.isArray(c) ? c : (c.contacts || [c]);
	return el('ul', {class: 'contacts'}, list.map((p) => {
		const name = p.name?.formatted_name || p.name?.first_name ||
		    (typeof p.name === 'string' ? p.name : '') || 'Contact';
		const phones = (p.phones || []).map((ph) => ph.phone || ph.wa_id).filter(Boolean);
		const emails = (p.emails || []).map((e) => e.email).filter(Boolean);
		return el('li', {}, '👤 ', el('strong', {}, name),
		    phones.length ? ' ' + phones.join(', ') : '',
		    emails.length ? ' ' + emails.join(', ') : '');
	}));
}

function bodyNode(m, ctx) {
	const c = m.content || {};
	const parts = [];
	if (m.type === 'deleted' || c.deleted)
		return [el('div', {class: 'muted deleted'}, '🚫 This message was deleted')];
	switch (m.type) {
	case 'text':
		break;
	case 'image': case 'sticker': case 'video': case 'audio':
	case 'voice': case 'document':
		// A send still on its way has only the file's name.
		parts.push(m.local ? el('div', {class: 'muted'}, '📎 ' + (m.media?.filename || m.type)) :
		    mediaNode(m, ctx));
		break;
	case 'location':
		parts.push(locationNode(m));
		break;
	case 'contacts': case 'contact':
		parts.push(contactsNode(m));
		break;
	case 'template':
		parts.push(el('div', {class: 'muted'}, '📋 Template ' +
		    (c.name || c.template?.name || '')));
		break;
	case 'interactive': case 'button': {	// a button or list choice
		const t = interactiveText(m) || m.text;
		if (t)
			parts.push(el('div', {class: 'choice', title: 'Chosen by the customer'}, '🔘 ' + t));
		if (c.list_reply?.description)
			parts.push(el('div', {class: 'muted'}, c.list_reply.description));
		return parts;
	}
	case 'reaction':
		parts.push(el('div', {class: 'muted'}, 'Reacted ' + (c.emoji || '')));
		break;
	default:
		if (!m.text)
			parts.push(el('div', {class: 'muted'}, '[' + (m.type || 'unknown') + ' message]'));
	}
	const tplName = m.type === 'template' && (c.name || c.template?.name);
	// dir="auto": each message takes its direction from its own first
	// strong letter (Arabic, Hebrew... right to left), not from the page.
	if (m.text && m.text !== tplName)
		parts.push(el('div', {class: 'text', dir: 'auto'}, linkify(m.text)));
	return parts;
}

export function reactionsOf(m) {
	const r = m.reactions;
	if (!r)
		return [];
	if (Array.isArray(r))
		return r.map((x) => (typeof x === 'string' ? {emoji: x} : x)).filter((x) => x.emoji);
	return Object.entries(r).map(([k, v]) => (typeof v === 'string' ?
	    {direction: k, emoji: v} : {direction: k, ...v})).filter((x) => x.emoji);
}

// ctx: {signal, urls, find(wamid) -> message, onReply, onReact, jump,
// onMedia (a picture or player got its size), retry(m) -> a function that
// sends a failed message again, 'done' once it was, or null}
export function messageNode(m, ctx) {
	const out = m.direction === 'out';
	const li = el('li', {class: 'msg ' + (out ? 'out' : 'in'),
	    dataset: {id: msgKey(m), type: m.type || ''}});
	const bubble = el('div', {class: 'bubble'});
	const q = m.context?.message_id || m.context?.id || m.context_wamid;
	if (q) {
		const target = ctx.find(q);
		const qt = target ? preview({...target, direction: undefined}) :
		    (m.context?.text || 'an earlier message');
		bubble.append(el('button', {type: 'button', class: 'quote', dir: 'auto',
		    title: 'Show the quoted message',
		    onclick: () => ctx.jump(q)}, qt));
	}
	bubble.append(...bodyNode(m, ctx));
	const meta = el('div', {class: 'meta'},
	    m.content?.edited ? el('span', {class: 'edited'}, 'edited ') : '',
	    el('time', {title: fullTime(m.timestamp)}, shortTime(m.timestamp)));
	if (out)
		meta.append(' ', tick(m));
	bubble.append(meta);
	if (out && m.status === 'failed') {
		// Never reached Meta (m.local: no answer, or a refusal) or Meta
		// refused it; either way the bubble stays, with a way to retry.
		bubble.append(el('div', {class: 'fail-reason'}, (m.local ? 'Not sent: ' : 'Not delivered: ') +
		    (errorText(m.error) || 'unknown reason')));
		const again = ctx.retry && ctx.retry(m);
		if (again === 'done')
			bubble.append(el('div', {class: 'muted retried'}, 'Sent again below'));
		else if (again)
			bubble.append(el('button', {type: 'button', class: 'retry',
			    onclick: () => again()}, 'Retry'));
	}
	const reacts = reactionsOf(m);
	if (reacts.length)
		bubble.append(el('div', {class: 'reactions', 'aria-label': 'Reactions'},
		    reacts.map((r) => el('span', {class: 'reaction',
		    title: r.direction === 'out' ? 'You' : 'Customer'}, r.emoji))));
	li.append(bubble);
	if (m.id && m.type !== 'reaction') {
		li.append(el('div', {class: 'actions'},
		    el('button', {type: 'button', class: 'act', title: 'Reply',
		        'aria-label': 'Reply', onclick: () => ctx.onReply(m)}, '↩'),
		    el('button', {type: 'button', class: 'act', title: 'React',
		        'aria-label': 'React', 'aria-haspopup': 'true',
		        onclick: (ev) => ctx.onReact(m, ev.currentTarget)}, '☺')));
	}
	return li;
}
