// dom.js: the only way this page builds markup. Text always goes in through
// textContent / text nodes, never innerHTML, so a message containing
// "<script>" is shown as those characters.

export const $ = (sel, root = document) => root.querySelector(sel);

// el('li', {class: 'x', dataset: {id}, onclick: fn}, child, 'text', ...)
export function el(tag, attrs, ...children) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			n.className = v;
		else if (k === 'dataset')
			Object.assign(n.dataset, v);
		else if (k === 'text')
			n.textContent = v;
		else if (k.startsWith('on'))
			n.addEventListener(k.slice(2), v);
		else if (k in n && typeof v !== 'string')
			n[k] = v;
		else
			n.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false)
			continue;
		n.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return n;
}

// Text with http(s) links made clickable; everything stays text nodes.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function linkify(text) {
	const frag = document.createDocumentFragment();
	let last = 0;
	for (const m of text.matchAll(URL_RE)) {
		frag.append(text.slice(last, m.index));
		frag.append(el('a', {href: m[0], target: '_blank', rel: 'noopener noreferrer'}, m[0]));
		last = m.index + m[0].length;
	}
	frag.append(text.slice(last));
	return frag;
}

// Seconds since the epoch (number or digits) or an ISO string -> Date.
export function toDate(t) {
	if (t === undefined || t === null || t === '')
		return null;
	if (typeof t === 'number' || /^\d+(\.\d+)?$/.test(t)) {
		const n = Number(t);
		return new Date(n < 1e12 ? n * 1000 : n);
	}
	const d = new Date(t);
	return isNaN(d) ? null : d;
}

export function shortTime(t) {
	const d = toDate(t);
	if (!d)
		return '';
	const now = new Date();
	if (d.toDateString() === now.toDateString())
		return d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
	if (now - d < 6 * 864e5)
		return d.toLocaleDateString([], {weekday: 'short'});
	return d.toLocaleDateString([], {day: 'numeric', month: 'short'});
}

export function fullTime(t) {
	const d = toDate(t);
	return d ? d.toLocaleString() : '';
}
