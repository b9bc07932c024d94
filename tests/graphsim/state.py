"""The simulator's shared state: numbers, sent messages, faults, request
log and run-time config. Every mutable piece is guarded by a lock."""
import collections
import hashlib
import itertools
import re
import threading
import time

from errors import GraphError, PlainError, token_error
from media import MediaStore

DEFAULT_WABA = "102290129340398"
WINDOW = 24 * 3600


def digits_of(s):
    return re.sub(r"[^0-9]", "", s or "")


class Number:
    def __init__(self, pnid, token, display=None, waba_id=None):
        self.pnid = pnid
        self.token = token
        if not display:
            display = "1555" + digits_of(pnid)[-7:].rjust(7, "0")
        self.display = display
        self.display_digits = digits_of(display)
        self.waba_id = waba_id or DEFAULT_WABA

    def info(self):
        return {"phone_number_id": self.pnid, "access_token": self.token,
                "display_phone_number": self.display,
                "waba_id": self.waba_id}


class SentMessage:
    def __init__(self, wamid, number, send, version):
        self.wamid = wamid
        self.number = number
        self.recipient = send.recipient
        self.type = send.type
        self.biz_opaque = send.biz_opaque
        self.version = version
        self.created = time.time()
        self.conversation_id = hashlib.md5(wamid.encode()).hexdigest()


class Faults:
    """Rules from POST /_sim/fail, consumed by the requests they match."""

    CATEGORIES = ("messages", "media", "media_get", "media_delete",
                  "download", "any")

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rule):
        if rule.get("path", "any") not in self.CATEGORIES:
            raise ValueError("path must be one of %s"
                             % ", ".join(self.CATEGORIES))
        if rule.get("mode", "sync") not in ("sync", "async"):
            raise ValueError("mode must be sync or async")
        if rule.get("mode") == "async" and not isinstance(
                rule.get("code"), int):
            raise ValueError("mode async needs an integer code")
        if not any(k in rule for k in ("code", "http_status", "delay_ms")):
            raise ValueError("give code, http_status or delay_ms")
        for k in ("code", "http_status", "delay_ms", "times", "retry_after"):
            if k in rule and (isinstance(rule[k], bool) or
                              not isinstance(rule[k], int)):
                raise ValueError("%s must be an integer" % k)
        rule = dict(rule)
        rule.setdefault("path", "any")
        rule.setdefault("times", 1)
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules.clear()

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def take(self, category, mode, wa_id=None):
        """Consume and return the first live rule for this request."""
        with self.lock:
            for r in self.rules:
                if r["times"] == 0 or r.get("mode", "sync") != mode:
                    continue
                if r["path"] not in ("any", category):
                    continue
                if r.get("to") and digits_of(r["to"]) != wa_id:
                    continue
                if r["times"] > 0:
                    r["times"] -= 1
                return dict(r)
        return None


class RequestLog:
    def __init__(self, maxlen=50000):
        self.lock = threading.Lock()
        self.seq = itertools.count(1)
        self.items = collections.deque(maxlen=maxlen)

    def add(self, entry):
        with self.lock:
            self.items.append(dict(seq=next(self.seq), **entry))

    def list(self, path_contains=None, since=0):
        with self.lock:
            return [e for e in self.items if e["seq"] > since and
                    (not path_contains or path_contains in e["path"])]

    def clear(self):
        with self.lock:
            self.items.clear()


class Sim:
    def __init__(self, args, media_dir):
        self.lock = threading.Lock()
        self.numbers = {}
        self.host = args.host
        self.port = args.port
        self.version_min = args.version_min
        self.config = {"auto_status": True,
                       "status_delay_ms": args.status_delay_ms,
                       "statuses": ["sent", "delivered", "read"],
                       "webhook_url": args.webhook_url,
                       "app_secret": args.app_secret,
                       "enforce_window": False,
                       "rate_mps": 0}
        self.rate_window = {}                       # pnid -> accept times
        self.media = MediaStore(media_dir)
        self.faults = Faults()
        self.log = RequestLog()
        self.sent = collections.OrderedDict()       # wamid -> SentMessage
        self.last_inbound = {}                      # (pnid, wa_id) -> time
        for n in args.number:
            self.add_number(n)
        self.emitter = None                         # set by main()

    # --- numbers and tokens -------------------------------------------------
    def add_number(self, number):
        with self.lock:
            self.numbers[number.pnid] = number

    def number(self, pnid):
        with self.lock:
            return self.numbers.get(pnid)

    def token_known(self, token):
        with self.lock:
            return any(n.token == token for n in self.numbers.values())

    # --- config -----------------------------------------------------------
    def get_config(self):
        with self.lock:
            return dict(self.config)

    def set_config(self, changes):
        with self.lock:
            self.config.update(changes)
            return dict(self.config)

    def webhook_target(self):
        with self.lock:
            return self.config["webhook_url"], self.config["app_secret"]

    # --- messages -----------------------------------------------------------
    def rate_take(self, pnid):
        """Meta's per-number throughput: False when the number has had
        rate_mps sends accepted in the last second (answer 130429), else
        True and this send counts."""
        now = time.monotonic()
        with self.lock:
            rate = self.config["rate_mps"]
            if rate <= 0:
                return True
            w = self.rate_window.setdefault(pnid, collections.deque())
            while w and w[0] <= now - 1.0:
                w.popleft()
            if len(w) >= rate:
                return False
            w.append(now)
            return True

    def remember(self, msg):
        with self.lock:
            self.sent[msg.wamid] = msg
            while len(self.sent) > 100000:
                self.sent.popitem(last=False)

    def sent_message(self, wamid):
        with self.lock:
            return self.sent.get(wamid)

    def saw_inbound(self, pnid, wa_id):
        with self.lock:
            self.last_inbound[(pnid, wa_id)] = time.time()

    def in_window(self, pnid, wa_id):
        with self.lock:
            t = self.last_inbound.get((pnid, wa_id))
        return t is not None and time.time() - t < WINDOW

    # --- media --------------------------------------------------------------
    def download_url(self, m):
        """A fresh download URL for m, valid for media.URL_TTL seconds."""
        tok, exp = self.media.issue_url(m)
        return "http://%s:%d/media-download/%s?token=%s&exp=%d" % (
            self.host, self.port, m.id, tok, exp)

    def media_for_send(self, pnid, media_id):
        """Media a number may send: uploaded by it, or received by it."""
        m = self.media.get(str(media_id))
        return m if m is not None and m.pnid == pnid else None


def fault_error(rule):
    """What an injected sync fault answers with: a GraphError for a code,
    a PlainError for a bare http_status, None for a delay-only rule."""
    code = rule.get("code")
    if code is None:
        if rule.get("http_status"):
            return PlainError(int(rule["http_status"]))
        return None
    if code == 190:
        err = token_error(expired=True)
    else:
        err = GraphError(code, rule.get("details"))
    if rule.get("message"):
        err.message = rule["message"]
    if rule.get("http_status"):
        err.status = int(rule["http_status"])
    if rule.get("retry_after") is not None:
        err.headers = [("Retry-After", str(int(rule["retry_after"])))]
    return err
