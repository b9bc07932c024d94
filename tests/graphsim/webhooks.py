"""The webhook emitter: signed POSTs to --webhook-url, on background
threads, retried with backoff, in order per message."""
import collections
import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import queue

import events

TIMEOUT = 5.0
BACKOFF = (0.5, 1.0, 2.0, 4.0)      # 5 tries within ~7.5 s
WORKERS = 8


def encode(obj):
    """Compact JSON, non-ASCII as lowercase \\uXXXX and "/" as "\\/", which
    is how Meta's bodies arrive (reference §1.2): hash these exact bytes."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def signature_headers(secret, body):
    if not secret:
        return {}
    key = secret.encode()
    return {
        "X-Hub-Signature-256": "sha256=" +
        hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" +
        hmac.new(key, body, hashlib.sha1).hexdigest(),
    }


def http_once(method, url, body=None, headers=None):
    """One request; (status, response body, None) or (None, b"", error)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(
            u.hostname, u.port, timeout=TIMEOUT,
            context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port,
                                          timeout=TIMEOUT)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), None
    except (OSError, http.client.HTTPException) as e:
        return None, b"", "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


def post_once(url, body, secret):
    """One signed webhook POST; (HTTP status, None) or (None, error)."""
    headers = {"Content-Type": "application/json",
               "User-Agent": "facebookexternalua"}
    headers.update(signature_headers(secret, body))
    status, _, err = http_once("POST", url, body, headers)
    return status, err


def verify_once(url, verify_token, challenge):
    """Meta's subscription handshake (reference §1.1): a GET, unsigned."""
    query = urllib.parse.urlencode({"hub.mode": "subscribe",
                                    "hub.challenge": challenge,
                                    "hub.verify_token": verify_token})
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    agent = "facebookplatform/1.0 (+http://developers.facebook.com)"
    return http_once("GET", url + sep + query, headers={"User-Agent": agent})


class Scheduler:
    """Runs callables after a delay on a small pool of worker threads."""

    def __init__(self, workers=WORKERS):
        self.heap = []
        self.cond = threading.Condition()
        self.order = itertools.count()
        self.ready = queue.Queue()
        threading.Thread(target=self._timer, daemon=True).start()
        for _ in range(workers):
            threading.Thread(target=self._work, daemon=True).start()

    def later(self, delay, fn):
        with self.cond:
            heapq.heappush(self.heap, (time.monotonic() + delay,
                                       next(self.order), fn))
            self.cond.notify()

    def _timer(self):
        while True:
            with self.cond:
                while not self.heap:
                    self.cond.wait()
                due, _, fn = self.heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self.cond.wait(wait)
                    continue
                heapq.heappop(self.heap)
            self.ready.put(fn)

    def _work(self):
        while True:
            fn = self.ready.get()
            try:
                fn()
            except Exception:
                traceback.print_exc(file=sys.stderr)


class Emitter:
    def __init__(self, sim):
        self.sim = sim
        self.sched = Scheduler()
        self.lock = threading.Lock()
        self.seq = itertools.count(1)
        self.log = collections.deque(maxlen=20000)

    def _record(self, kind, ref, obj):
        rec = {"seq": next(self.seq), "kind": kind, "ref": ref,
               "attempts": 0, "http_status": None, "error": None,
               "delivered": None, "body": obj}
        with self.lock:
            self.log.append(rec)
        return rec

    def records(self, ref=None):
        with self.lock:
            return [r for r in self.log if ref is None or r["ref"] == ref]

    def clear(self):
        with self.lock:
            self.log.clear()

    def post_now(self, obj, kind, ref):
        """Synchronous single attempt (for /_sim/inbound and /_sim/status)."""
        rec = self._record(kind, ref, obj)
        url, secret = self.sim.webhook_target()
        if not url:
            rec["error"] = "no webhook url configured"
            return rec
        rec["attempts"] = 1
        rec["http_status"], rec["error"] = post_once(url, encode(obj), secret)
        rec["delivered"] = rec["http_status"] == 200
        return rec

    def deliver(self, obj, kind, ref, then=None):
        """Background delivery; then() runs once it succeeded or gave up."""
        rec = self._record(kind, ref, obj)
        self._attempt(encode(obj), rec, 1, then)

    def _attempt(self, body, rec, n, then):
        url, secret = self.sim.webhook_target()
        if url:
            rec["attempts"] = n
            rec["http_status"], rec["error"] = post_once(url, body, secret)
            # Meta counts only a 200 as delivered (reference §1.3).
            if rec["http_status"] != 200 and n <= len(BACKOFF):
                self.sched.later(BACKOFF[n - 1], lambda: self._attempt(
                    body, rec, n + 1, then))
                return
            rec["delivered"] = rec["http_status"] == 200
        else:
            rec["error"] = "no webhook url configured"
        if then:
            then()

    def lifecycle(self, msg, steps, delay, error=None):
        """Post each status of steps in order, delay seconds apart; a step
        waits for the previous one to be delivered or given up."""
        def step(i):
            if i >= len(steps):
                return
            obj = events.envelope(msg.number, events.status_value(
                msg, steps[i], error if steps[i] == "failed" else None))
            self.deliver(obj, "status", msg.wamid,
                         then=lambda: self.sched.later(delay,
                                                       lambda: step(i + 1)))
        if steps:
            self.sched.later(delay, lambda: step(0))
