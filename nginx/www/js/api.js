// api.js: fetch() wrapper for /api/v1. Same-origin, so the browser sends the
// HttpOnly session cookie by itself and an Origin header on POST/DELETE
// (the server's CSRF check). The page never handles a token.

export class ApiError extends Error {
	constructor(status, code, message, graph) {
		super(message || code);
		this.status = status;
		this.code = code;
		this.graph = graph || null;	// Meta's error, when it refused
	}
}

let tenantId = null;
let onUnauthorized = () => {};

export function setTenant(id) { tenantId = id; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function url(path, query) {
	if (!query)
		return path;
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query))
		if (v !== undefined && v !== null && v !== '')
			q.set(k, v);
	const s = q.toString();
	return s ? path + '?' + s : path;
}

async function send(method, path, {json, form, query, signal, headers: extra} = {}) {
	const headers = {Accept: 'application/json', ...extra};
	if (tenantId)
		headers['X-Tenant-Id'] = tenantId;
	let body;
	if (json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(json);
	} else if (form) {
		body = form;	// multipart: the browser sets the boundary
	}
	let res;
	try {
		res = await fetch(url(path, query), {method, headers, body, signal,
		    credentials: 'same-origin', cache: 'no-store'});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', 'The server cannot be reached');
	}
	return res;
}

async function errorOf(res) {
	let code = 'http_' + res.status, message = res.statusText, graph = null;
	try {
		const j = await res.json();
		if (j && j.error) {
			code = j.error.code || code;
			message = j.error.message || message;
			graph = j.error.graph || null;
		}
	} catch (e) { /* not JSON: keep the status line */ }
	if (res.status === 401)
		onUnauthorized();
	return new ApiError(res.status, code, message, graph);
}

// JSON in, JSON out; null for 204. Throws ApiError.
export async function api(method, path, opts) {
	const res = await send(method, path, opts);
	if (!res.ok)
		throw await errorOf(res);
	if (res.status === 204)
		return null;
	const j = await res.json();
	if (j && j.ok === false)
		throw new ApiError(res.status, j.error?.code, j.error?.message);
	return j;
}

// Media bytes: <img src> cannot send X-Tenant-Id, so fetch and hand back
// an object URL (the caller revokes it).
export async function mediaUrl(mediaId, signal) {
	const res = await send('GET', '/api/v1/media/' + encodeURIComponent(mediaId), {signal});
	if (!res.ok)
		throw await errorOf(res);
	return URL.createObjectURL(await res.blob());
}

// A fresh Idempotency-Key: resending with the same key after a network
// error cannot send the message twice.
export function newKey() {
	if (crypto.randomUUID)
		return crypto.randomUUID();
	return Array.from(crypto.getRandomValues(new Uint8Array(16)),
	    (b) => b.toString(16).padStart(2, '0')).join('');
}
