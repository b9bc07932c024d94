"""Webhook notification bodies, shaped as reference §1.4-1.9 shows them."""
import base64
import secrets
import time

from errors import webhook_error


def now_ts():
    return str(int(time.time()))


def new_wamid(party):
    """A wamid like Meta's: base64 of a small binary record that carries the
    other party's number, then a random id. Always < 128 characters."""
    party = "".join(ch for ch in str(party) if ch.isalnum())[-15:] or "0"
    core = (b"\x18" + bytes([len(party)]) + party.encode() +
            b"\x15\x02\x00\x11\x18\x12" +
            secrets.token_hex(9).upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(core).decode()


def envelope(number, value):
    """The object/entry/changes wrapper around one `value`."""
    inner = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": number.display_digits,
                          "phone_number_id": number.pnid}}
    inner.update(value)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": number.waba_id,
                       "changes": [{"value": inner, "field": "messages"}]}]}


def _category(msg):
    return "utility" if msg.type == "template" else "service"


def _pricing(msg):
    regular = msg.type == "template"
    return {"billable": regular, "pricing_model": "PMP",
            "type": "regular" if regular else "free_customer_service",
            "category": _category(msg)}


def _conversation(msg, first):
    conv = {"id": msg.conversation_id}
    if first:
        conv["expiration_timestamp"] = str(int(msg.created) + 86400)
    conv["origin"] = {"type": _category(msg)}
    return conv


def status_value(msg, status, error=None):
    """value.statuses[] for one outbound message. conversation/pricing ride
    on `sent` and `delivered`; v24.0+ drops `conversation` (ref. §1.9)."""
    st = {"id": msg.wamid, "status": status, "timestamp": now_ts()}
    rec = msg.recipient
    if "wa_id" in rec:
        st["recipient_id"] = rec["wa_id"]
    elif "group_id" in rec:
        st["recipient_id"] = rec["group_id"]
        st["recipient_type"] = "group"
    if "user_id" in rec:
        st["recipient_user_id"] = rec["user_id"]
    if msg.biz_opaque is not None:
        st["biz_opaque_callback_data"] = msg.biz_opaque
    if status in ("sent", "delivered"):
        if msg.version < 24:
            st["conversation"] = _conversation(msg, status == "sent")
        st["pricing"] = _pricing(msg)
    if status == "failed":
        code, details = error
        st["errors"] = [webhook_error(code, details)]
    return {"statuses": [st]}


def inbound_value(contacts, messages):
    return {"contacts": contacts, "messages": messages}
