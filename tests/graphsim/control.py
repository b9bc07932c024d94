"""The test control API under /_sim/ (no auth, JSON in and out)."""
import base64
import os
import secrets

import events
import webhooks
from http_io import json_response
from state import Number, digits_of

STATUSES = ("sent", "delivered", "read", "played", "failed")
MEDIA_TYPES = {
    "image": ("image/jpeg", "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    "video": ("video/mp4", "video.mp4", b"\x00\x00\x00\x18ftypmp42"),
    "audio": ("audio/ogg; codecs=opus", "voice.ogg", b"OggS\x00\x02"),
    "document": ("application/pdf", "document.pdf", b"%PDF-1.4\n"),
    "sticker": ("image/webp", "sticker.webp", b"RIFF\x00\x10\x00\x00WEBPVP8 "),
}


class ControlError(Exception):
    pass


def handle(req, sim):
    fn = ROUTES.get((req.method, req.path.rstrip("/")))
    if fn is None:
        return json_response(404, {"ok": False, "error": "no such control "
                                   "endpoint: %s %s" % (req.method, req.path)})
    try:
        return fn(req, sim)
    except ControlError as e:
        return json_response(400, {"ok": False, "error": str(e)})


def body_obj(req):
    req.read_json()
    if req.json_error or not isinstance(req.json, dict):
        raise ControlError("body must be a JSON object")
    return req.json


def need(b, key, types=str):
    v = b.get(key)
    if v is None or v == "" or not isinstance(v, types):
        raise ControlError("%s is required" % key)
    return v


def ok(**kw):
    return json_response(200, dict(ok=True, **kw))


# --- health, request log, webhook log -------------------------------------

def health(req, sim):
    return ok()


def requests_list(req, sim):
    since = int(req.query.get("since") or 0)
    return json_response(200, sim.log.list(req.query.get("path_contains"),
                                           since))


def requests_clear(req, sim):
    sim.log.clear()
    return ok()


def webhooks_list(req, sim):
    return json_response(200, sim.emitter.records(req.query.get("ref")))


def webhooks_clear(req, sim):
    sim.emitter.clear()
    return ok()


# --- faults and config -----------------------------------------------------

def fail_add(req, sim):
    try:
        sim.faults.add(body_obj(req))
    except ValueError as e:
        raise ControlError(str(e)) from None
    return ok(rules=sim.faults.list())


def fail_list(req, sim):
    return ok(rules=sim.faults.list())


def fail_clear(req, sim):
    sim.faults.clear()
    return ok()


CONFIG_TYPES = {"auto_status": bool, "status_delay_ms": int,
                "statuses": list, "webhook_url": (str, type(None)),
                "app_secret": (str, type(None)), "enforce_window": bool,
                "rate_mps": int}


def config_set(req, sim):
    b = body_obj(req)
    for k, v in b.items():
        if k not in CONFIG_TYPES or not isinstance(v, CONFIG_TYPES[k]):
            raise ControlError("bad config key or value: %s" % k)
    if b.get("rate_mps", 0) < 0:
        raise ControlError("rate_mps: 0 (off) or more")
    if any(s not in STATUSES[:4] for s in b.get("statuses", [])):
        raise ControlError("statuses may hold sent, delivered, read, played")
    return ok(config=sim.set_config(b))


def config_get(req, sim):
    return ok(config=sim.get_config())


# --- numbers and media -----------------------------------------------------

def numbers_add(req, sim):
    b = body_obj(req)
    n = Number(str(need(b, "phone_number_id", (str, int))),
               need(b, "access_token"), b.get("display_phone_number"),
               b.get("waba_id"))
    sim.add_number(n)
    return ok(number=n.info())


def numbers_list(req, sim):
    with sim.lock:
        return ok(numbers=[n.info() for n in sim.numbers.values()])


def media_list(req, sim):
    return json_response(200, [m.meta() for m in sim.media.all()])


def expire_media(req, sim):
    b = body_obj(req)
    mid = str(need(b, "id", (str, int)))
    done = sim.media.expire_urls(mid) if b.get("url_only") else \
        sim.media.drop(mid)
    if not done:
        raise ControlError("no live media %s" % mid)
    return ok()


# --- webhooks on demand ----------------------------------------------------

def inbound(req, sim):
    b = body_obj(req)
    number = sim.number(str(need(b, "phone_number_id", (str, int))))
    if number is None:
        raise ControlError("unknown phone_number_id")
    frm = digits_of(str(need(b, "from", (str, int))))
    parts = b.get("messages") or [b.get("message")]
    if not all(isinstance(m, dict) for m in parts):
        raise ControlError("message must be an object")
    msgs = [inbound_message(sim, number, frm, m, b) for m in parts]
    contacts = [{"profile": {"name": b.get("name") or "Test User"},
                 "wa_id": frm}]
    obj = events.envelope(number, events.inbound_value(contacts, msgs))
    sim.saw_inbound(number.pnid, frm)
    out = {"wamid": msgs[0]["id"], "wamids": [m["id"] for m in msgs],
           "webhook_status": None, "error": None, "body": obj}
    if b.get("deliver", True):
        rec = sim.emitter.post_now(obj, "inbound", msgs[0]["id"])
        out["webhook_status"], out["error"] = rec["http_status"], rec["error"]
    return json_response(200, out)


def inbound_message(sim, number, frm, m, top):
    m = dict(m)
    mtype = m.pop("type", None) or "text"
    msg = {}
    ctx = m.pop("context", None) or top.get("context")
    if isinstance(ctx, str):
        ctx = {"from": number.display_digits, "id": ctx}
    if ctx:
        msg["context"] = ctx
    msg["from"] = frm
    msg["id"] = m.pop("id", None) or events.new_wamid(frm)
    msg["timestamp"] = str(m.pop("timestamp", None) or events.now_ts())
    msg["type"] = mtype
    msg.update(m)
    if mtype in MEDIA_TYPES:
        msg[mtype] = inbound_media(sim, number, mtype,
                                   dict(msg.get(mtype) or {}), top)
    return msg


def inbound_media(sim, number, mtype, given, top):
    """Fill id/mime_type/sha256 (base64, as webhooks carry it), creating a
    downloadable media object when the id is new."""
    mime, filename, magic = MEDIA_TYPES[mtype]
    mime = given.pop("mime_type", None) or mime
    mid = given.pop("id", None)
    filename = given.pop("filename", None) or filename
    m = sim.media.get(str(mid)) if mid else None
    if m is None:
        data = base64.b64decode(top["media_content_b64"]) \
            if top.get("media_content_b64") else magic + os.urandom(2048)
        m = sim.media.add_bytes(number.pnid, data, mime, filename,
                                "inbound", str(mid) if mid else None)
    out = {}
    if "caption" in given:
        out["caption"] = given.pop("caption")
    if mtype == "document":
        out["filename"] = m.filename
    out.update({"mime_type": m.mime, "sha256": m.sha256_b64, "id": m.id})
    if mtype == "audio":
        out["voice"] = bool(given.pop("voice", False))
    if mtype == "sticker":
        out["animated"] = bool(given.pop("animated", False))
    if top.get("include_url"):
        out["url"] = sim.download_url(m)
    out.update(given)
    return out


def status_now(req, sim):
    b = body_obj(req)
    msg = sim.sent_message(need(b, "id"))
    if msg is None:
        raise ControlError("no message with that wamid was sent")
    status = need(b, "status")
    if status not in STATUSES:
        raise ControlError("status must be one of %s" % ", ".join(STATUSES))
    error = (int(b.get("code", 131000)), b.get("details"))
    obj = events.envelope(msg.number, events.status_value(msg, status, error))
    rec = sim.emitter.post_now(obj, "status", msg.wamid)
    return json_response(200, {"webhook_status": rec["http_status"],
                               "error": rec["error"], "body": obj})


def verify(req, sim):
    """Drive the GET verification handshake against the webhook URL."""
    b = body_obj(req)
    url, _ = sim.webhook_target()
    if not url:
        raise ControlError("no webhook url configured")
    challenge = str(b.get("challenge") or secrets.randbelow(10 ** 10))
    status, body, err = webhooks.verify_once(url, need(b, "verify_token"),
                                             challenge)
    text = body.decode("utf-8", "replace")
    return json_response(200, {"ok": status == 200 and text == challenge,
                               "status": status, "body": text,
                               "challenge": challenge, "error": err})


ROUTES = {
    ("GET", "/_sim/health"): health,
    ("GET", "/_sim/requests"): requests_list,
    ("DELETE", "/_sim/requests"): requests_clear,
    ("GET", "/_sim/webhooks"): webhooks_list,
    ("DELETE", "/_sim/webhooks"): webhooks_clear,
    ("POST", "/_sim/fail"): fail_add,
    ("GET", "/_sim/fail"): fail_list,
    ("DELETE", "/_sim/fail"): fail_clear,
    ("POST", "/_sim/config"): config_set,
    ("GET", "/_sim/config"): config_get,
    ("POST", "/_sim/numbers"): numbers_add,
    ("GET", "/_sim/numbers"): numbers_list,
    ("GET", "/_sim/media"): media_list,
    ("POST", "/_sim/expire_media"): expire_media,
    ("POST", "/_sim/inbound"): inbound,
    ("POST", "/_sim/status"): status_now,
    ("POST", "/_sim/verify"): verify,
}
