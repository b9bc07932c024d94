// live.js: the real-time channel, the recipe every client should follow.
//
//  1. Open ws(s)://host/ws/{tenant_id}; the session cookie authenticates it.
//  2. Each frame is {"id": n, "event": name, "data": {...}}, n = 1, 2, 3...
//     per tenant. Apply frames strictly in id order: drop ids already
//     applied, and on a gap fetch the missing ones from
//     GET /api/v1/events?after=<last applied id>.
//  3. On every (re)open, fetch what was missed while closed from the same
//     endpoint. Reconnect with exponential backoff; wait while the browser
//     is offline; re-check when the tab becomes visible (laptop sleep).
//  4. Before the first frame the client knows no id: on every open it
//     (re)loads its state from the REST API instead (onResync), after the
//     socket is open so nothing falls between the two. (A frame lost before
//     the first one arrives cannot be noticed; on an open socket nchan
//     loses none, so only a reconnect can, and that reloads.)
//  5. On reconnect, ?last_event_id=<id> asks nchan to replay what it still
//     buffers; step 2 drops what was already applied.

import {api} from './api.js';

const PAGE = 200;
const BACKOFF_MIN = 500, BACKOFF_MAX = 15000;

export class Live {
	constructor(tenantId, {onEvent, onState, onResync}) {
		this.tenantId = tenantId;
		this.onEvent = onEvent;
		this.onState = onState;
		this.onResync = onResync;
		this.lastId = null;	// highest id applied; null until the first
		this.queue = [];
		this.busy = false;
		this.ws = null;
		this.timer = null;
		this.backoff = BACKOFF_MIN;
		this.opens = 0;
		this.stopped = false;
		this.listeners = [
			[window, 'online', () => this.kick()],
			[window, 'offline', () => this.ws && this.ws.close()],
			[document, 'visibilitychange', () => {
				if (document.visibilityState === 'visible')
					this.kick(true);
			}],
		];
		for (const [t, ev, fn] of this.listeners)
			t.addEventListener(ev, fn);
	}

	start() { this.connect(); }

	stop() {
		this.stopped = true;
		clearTimeout(this.timer);
		for (const [t, ev, fn] of this.listeners)
			t.removeEventListener(ev, fn);
		if (this.ws) {
			this.ws.onclose = null;
			this.ws.close();
		}
	}

	state(s) { this.onState && this.onState(s); }

	// Reconnect now if closed; when open, optionally catch up anyway (a
	// socket may have died silently while the laptop slept).
	kick(catchUpIfOpen) {
		if (this.stopped)
			return;
		if (!this.ws) {
			clearTimeout(this.timer);
			this.backoff = BACKOFF_MIN;
			this.connect();
		} else if (catchUpIfOpen && this.ws.readyState === WebSocket.OPEN) {
			this.catchUp();
		}
	}

	connect() {
		if (this.stopped || this.ws)
			return;
		if (!navigator.onLine) {	// 'online' calls kick()
			this.state('offline');
			return;
		}
		this.state(this.opens ? 'reconnecting' : 'connecting');
		let u = (location.protocol === 'https:' ? 'wss://' : 'ws://') +
		    location.host + '/ws/' + encodeURIComponent(this.tenantId);
		// Ask nchan to replay its buffer; frames we have are dropped.
		if (this.lastId)
			u += '?last_event_id=' + this.lastId;
		const ws = new WebSocket(u);
		this.ws = ws;
		ws.onopen = () => {
			this.opens++;
			this.backoff = BACKOFF_MIN;
			this.state('live');
			if (this.lastId === null)
				this.onResync();
			else
				this.catchUp();
		};
		ws.onmessage = (e) => {
			let f;
			try {
				f = JSON.parse(e.data);
			} catch (err) {
				return;	// not one of ours
			}
			if (f && Number.isInteger(f.id) && typeof f.event === 'string') {
				this.queue.push(f);
				this.drain();
			}
		};
		let opened = false;
		ws.addEventListener('open', () => { opened = true; });
		ws.onclose = () => {
			if (this.ws !== ws)
				return;
			this.ws = null;
			if (this.stopped)
				return;
			// Refused before opening: maybe the session ended. A 401 here
			// sends the page to the sign-in view (api.js) and stops us.
			if (!opened && navigator.onLine)
				api('GET', '/api/v1/me').catch(() => {});
			this.state(navigator.onLine ? 'reconnecting' : 'offline');
			const wait = this.backoff * (0.75 + Math.random() / 2);
			this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
			this.timer = setTimeout(() => this.connect(), wait);
		};
	}

	apply(f) {
		this.lastId = f.id;
		try {
			this.onEvent(f);
		} catch (e) {
			console.error('event', f.event, e);
		}
	}

	// Fetches and applies every event after lastId. Returns how many.
	async fetchMissed() {
		let n = 0;
		for (;;) {
			const r = await api('GET', '/api/v1/events',
			    {query: {after: this.lastId, limit: PAGE}});
			const evs = r.events || [];
			for (const f of evs)
				if (f.id > this.lastId) {
					this.apply(f);
					n++;
				}
			if (evs.length < PAGE || this.stopped)
				return n;
		}
	}

	async catchUp() {
		if (this.lastId === null)
			return;
		this.queue.push({catchUp: true});
		this.drain();
	}

	// Applies queued frames in id order, one drain at a time.
	async drain() {
		if (this.busy)
			return;
		this.busy = true;
		try {
			let stalls = 0;
			while (this.queue.length && !this.stopped) {
				this.queue.sort((a, b) => (a.catchUp ? -1 : b.catchUp ? 1 : a.id - b.id));
				const f = this.queue[0];
				if (f.catchUp) {
					this.queue.shift();
					await this.fetchMissed().catch(() => {});
					continue;
				}
				if (this.lastId !== null && f.id <= this.lastId) {
					this.queue.shift();	// already applied
					continue;
				}
				if (this.lastId === null || f.id === this.lastId + 1) {
					this.queue.shift();
					this.apply(f);
					stalls = 0;
					continue;
				}
				// A gap: the frames in between were missed.
				const got = await this.fetchMissed().catch(() => 0);
				if (got === 0 && ++stalls > 2) {
					this.queue.shift();	// not in the API (yet): go on
					this.apply(f);
				} else if (got === 0) {
					await new Promise((ok) => setTimeout(ok, 200));
				}
			}
		} finally {
			this.busy = false;
		}
	}
}
