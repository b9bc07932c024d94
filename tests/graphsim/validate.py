"""POST /{phone-number-id}/messages: the request rules (reference §2, §3).

check_send() raises errors.GraphError for anything Meta answers with a 400,
and returns a Send describing an accepted request otherwise. Problems Meta
only reports later (a reaction to an unknown message, media of the wrong
kind) are returned as Send.async_error and become a `failed` status."""
import re

from checks import at, is_obj, is_str, keys, need, need_str, opt_str
from errors import GraphError, bad_param, invalid, missing
from interactive import check_interactive
from payloads import (check_contacts, check_location, check_media,
                      check_reaction, check_text)
from template import check_template

TYPES = {
    "text": check_text,
    "image": check_media("image"),
    "video": check_media("video"),
    "audio": check_media("audio"),
    "document": check_media("document"),
    "sticker": check_media("sticker"),
    "location": check_location,
    "contacts": check_contacts,
    "reaction": check_reaction,
    "interactive": check_interactive,
    "template": check_template,
}
TOP_KEYS = {"messaging_product", "recipient_type", "to", "recipient", "type",
            "context", "biz_opaque_callback_data",
            "recipient_identity_key_hash"} | set(TYPES)
READ_KEYS = {"messaging_product", "status", "message_id", "typing_indicator",
             "recipient_type"}
_PHONE_PUNCT = re.compile(r"[+\-() ]")
_PHONE = re.compile(r"^[0-9]{8,15}$")
_BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")


class Send:
    """What an accepted POST /messages asked for."""

    def __init__(self, kind, mtype=None, recipient=None):
        self.kind = kind                  # "read" or "message"
        self.type = mtype
        self.recipient = recipient or {}  # input, wa_id | user_id | group_id
        self.typing = False
        self.biz_opaque = None
        self.voice = False
        self.async_error = None           # (code, details)


class Ctx:
    """Per-request state the type checkers share."""

    def __init__(self, pnid, media_lookup):
        self.pnid = pnid
        self.lookup = media_lookup
        self.voice = False
        self.async_error = None

    def media(self, media_id):
        return self.lookup(self.pnid, media_id)

    def fail_async(self, code, details):
        if self.async_error is None:
            self.async_error = (code, details)


def check_send(body, number, media_lookup):
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    _messaging_product(body)
    if "status" in body:
        return _read(body)
    mtype = _type(body)
    keys(body, TOP_KEYS, "")
    recipient = _recipient(body, number)
    _context(body, mtype)
    send = Send("message", mtype, recipient)
    send.biz_opaque = opt_str(body, "biz_opaque_callback_data", "", 512)
    opt_str(body, "recipient_identity_key_hash", "")
    ctx = Ctx(number.pnid, media_lookup)
    TYPES[mtype](body[mtype], ctx)
    send.voice = ctx.voice
    send.async_error = ctx.async_error
    return send


def _messaging_product(body):
    mp = need(body, "messaging_product", "")
    if mp != "whatsapp":
        raise bad_param("messaging_product", "must be 'whatsapp'.")


def _read(body):
    """Mark as read, optionally with a typing indicator (reference §3)."""
    keys(body, READ_KEYS, "")
    if need_str(body, "status", "") != "read":
        raise invalid("status", "must be 'read'.")
    mid = need_str(body, "message_id", "")
    if not mid.startswith("wamid.") or len(mid) < 8 or len(mid) > 128:
        raise GraphError(131009, "message_id invalid: it must be the wamid "
                         "of a message this number received.")
    send = Send("read")
    if body.get("typing_indicator") is not None:
        tp = "typing_indicator"
        ti = is_obj(body[tp], tp)
        keys(ti, {"type"}, tp)
        if need_str(ti, "type", tp) != "text":
            raise invalid(at(tp, "type"), "must be 'text'.")
        send.typing = True
    return send


def _recipient(body, number):
    rtype = body.get("recipient_type", "individual")
    if rtype not in ("individual", "group"):
        raise invalid("recipient_type", "must be 'individual' or 'group'.")
    to = body.get("to")
    if to is None or to == "":
        return _bsuid(body)
    if isinstance(to, int) and not isinstance(to, bool):
        to = str(to)
    is_str(to, "to")
    if rtype == "group":
        return {"input": to, "group_id": to}
    digits = _PHONE_PUNCT.sub("", to)
    if not _PHONE.match(digits):
        raise bad_param("to", "must be a phone number with country code: "
                        "8 to 15 digits once +, -, (, ) and spaces are "
                        "removed.")
    if digits == number.display_digits:
        raise GraphError(131021, "Sender and recipient phone number is the "
                         "same: to equals the display phone number of %s."
                         % number.pnid)
    return {"input": to, "wa_id": digits}


def _bsuid(body):
    rec = body.get("recipient")
    if rec is None or rec == "":
        raise missing("to")
    is_str(rec, "recipient")
    if not _BSUID.match(rec):
        raise bad_param("recipient", "must be a business-scoped user id "
                        "such as US.13491208655302741918.")
    return {"input": rec, "user_id": rec}


def _type(body):
    mtype = is_str(body.get("type", "text"), "type")
    if mtype not in TYPES:
        raise bad_param("type", "must be one of %s." % ", ".join(TYPES))
    if body.get(mtype) is None:
        raise missing(mtype)
    return mtype


def _context(body, mtype):
    if "context" not in body:
        return
    if mtype == "reaction":
        raise bad_param("context", "is not allowed for reaction messages.")
    c = is_obj(body["context"], "context")
    keys(c, {"message_id"}, "context")
    need_str(c, "message_id", "context")
