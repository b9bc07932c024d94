"""The shape of a webhook body, as a set of features ("message: image",
"status: failed+errors", "entries: several", ...): what the equivalence
test (test_webhook_equivalence.py) counts to tell a whole corpus from a
suspiciously small one, and lists in its report."""
import json

KNOWN_TYPES = {"text", "image", "video", "audio", "document", "sticker",
               "location", "contacts", "interactive", "button", "order",
               "system", "unsupported", "request_welcome", "reaction",
               "edit", "revoke"}
VALUE_KEYS = {"messaging_product", "metadata", "contacts", "messages",
              "statuses", "errors"}


def features(raw, known_pnids):
    """The features of one body (bytes); known_pnids: the numbers that had
    a tenant."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {"body: not JSON"}
    f = set()
    if not isinstance(body, dict):
        return {"body: not an object"}
    if body.get("object") != "whatsapp_business_account":
        f.add("object: other or none")
    entries = body.get("entry")
    if not isinstance(entries, list):
        f.add("entry: not a list")
        return f
    if len(entries) != 1:
        f.add("entries: none" if not entries else "entries: several")
    for e in entries:
        changes = e.get("changes") if isinstance(e, dict) else None
        if not isinstance(changes, list):
            f.add("entry: no changes list")
            continue
        if len(changes) > 1:
            f.add("changes: several")
        for c in changes:
            _change(f, c, known_pnids)
    return f


def _change(f, c, known_pnids):
    if not isinstance(c, dict) or not isinstance(c.get("value"), dict):
        f.add("change: no value object")
        return
    if c.get("field") != "messages":
        f.add("field: %s" % c.get("field"))
        return
    v = c["value"]
    meta = v.get("metadata")
    pnid = meta.get("phone_number_id") if isinstance(meta, dict) else None
    if pnid is None:
        f.add("value: no phone_number_id")
    elif not isinstance(pnid, str):
        f.add("value: phone_number_id not a string")
    elif pnid not in known_pnids:
        f.add("value: unknown number")
    if set(v) - VALUE_KEYS:
        f.add("value: unknown key")
    for k in ("contacts", "messages", "statuses", "errors"):
        if k in v and v[k] is None:
            f.add("%s: null" % k)
        elif k in v and not isinstance(v[k], list):
            f.add("%s: not a list" % k)
        elif k in v and not v[k]:
            f.add("%s: empty" % k)
    if isinstance(v.get("errors"), list) and v["errors"]:
        f.add("value: errors")
    msgs = v.get("messages") if isinstance(v.get("messages"), list) else []
    cts = v.get("contacts") if isinstance(v.get("contacts"), list) else []
    sts = v.get("statuses") if isinstance(v.get("statuses"), list) else []
    if len(msgs) > 1:
        f.add("messages: several")
    if len({m.get("from") for m in msgs if isinstance(m, dict)}) > 1:
        f.add("messages: several senders")
    if len(sts) > 1:
        f.add("statuses: several")
    if msgs and sts:
        f.add("value: messages and statuses")
    for m in msgs:
        _message(f, m)
    for s in sts:
        _status(f, s)
    senders = {m.get("from") for m in msgs if isinstance(m, dict)}
    for ct in cts:
        _contact(f, ct, senders)


def _message(f, m):
    if not isinstance(m, dict) or not isinstance(m.get("id"), str):
        f.add("message: no string id")
        return
    t = m.get("type")
    if not isinstance(m.get("from"), str):
        f.add("message: from_user_id only" if isinstance(
            m.get("from_user_id"), str) else "message: no sender")
    elif "from_user_id" in m:
        f.add("message: from and from_user_id")
    if t not in KNOWN_TYPES:
        f.add("message: unknown type")
        return
    p = m.get(t) if isinstance(m.get(t), dict) else {}
    sub = ""
    if t == "interactive":
        sub = "/" + str(p.get("type"))
    elif t == "audio" and p.get("voice") is True:
        sub = "/voice"
    elif t == "sticker" and p.get("animated") is True:
        sub = "/animated"
    elif t == "reaction" and not p.get("emoji"):
        sub = "/clear"
    elif t in ("image", "video", "audio", "document", "sticker") and \
            "mime_type" not in p:
        sub = "/no mime_type"
    f.add("message: %s%s" % (t, sub))
    ctx = m.get("context")
    if isinstance(ctx, dict):
        for k in ("id", "forwarded", "frequently_forwarded",
                  "referred_product"):
            if k in ctx:
                f.add("message context: %s" % k)
    for k in ("referral", "errors", "group_id"):
        if k in m:
            f.add("message: %s" % k)
    if "timestamp" not in m:
        f.add("message: no timestamp")


def _status(f, s):
    if not isinstance(s, dict) or not isinstance(s.get("id"), str) or \
            not isinstance(s.get("status"), str):
        f.add("status: no string id or status")
        return
    f.add("status: %s" % s["status"])
    for k in ("errors", "pricing", "conversation", "biz_opaque_callback_data",
              "recipient_user_id"):
        if k in s:
            f.add("status: %s" % k)
    if s.get("recipient_type") == "group":
        f.add("status: group recipient")
    if "timestamp" not in s:
        f.add("status: no timestamp")


def _contact(f, ct, senders):
    if not isinstance(ct, dict):
        f.add("contact: not an object")
        return
    if "user_id" in ct:
        f.add("contact: user_id" if "wa_id" in ct else "contact: user_id only")
    if not isinstance(ct.get("profile"), dict) or \
            "name" not in ct["profile"]:
        f.add("contact: no profile name")
    if "wa_id" in ct and ct["wa_id"] not in senders:
        f.add("contact: not a sender")
