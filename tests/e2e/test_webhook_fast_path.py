"""The one-statement path for the common body
(schema/functions/ingest_fast.sql) gives exactly what the general path
gives: the same message row, contact, event and summary. Each case is
posted to one tenant (through the fast path) and fed to the general path
directly for a twin tenant, and the results are compared field by field.
The shapes the fast path must leave to the general path are checked too,
so a case cannot pass by accident."""
import copy
import json
import time

import pytest

from conftest import Tenant, new_wamid


@pytest.fixture(scope="module")
def twins(stack):
    return Tenant(stack), Tenant(stack)


def body_for(tenant, msg, contacts=True, name="Ada"):
    value = {"messages": [msg]}
    if contacts:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": msg["from"]}]
    return tenant.webhook(tenant.webhook_value(**value))


def fast_message(stack, body):
    return stack.query("SELECT wa_wh_fast_message(%s::jsonb) AS m",
                       json.dumps(body))[0]["m"]


def post(stack, body):
    """The webhook's summary, as wa_webhook_ingest() gives it."""
    r = stack.post_webhook(body)
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json().items() if k != "ok"}


def ingest_general(stack, body):
    return stack.query("SELECT wa_webhook_ingest_general(%s::jsonb) AS s",
                       json.dumps(body))[0]["s"]


def stored(stack, tenant, wamid):
    """The message, its contact and its event, without what differs by
    tenant or by the moment (ids, times of our own clock)."""
    m = stack.query(
        "SELECT type, text, media_id, content, context_wamid, forwarded,"
        " frequently_forwarded, status, meta_ts, raw FROM messages"
        " WHERE tenant_id = %s AND wamid = %s", tenant.id, wamid)
    c = stack.query(
        "SELECT c.wa_id, c.user_id, c.name, c.last_inbound_at FROM contacts c"
        " JOIN messages m ON m.contact_id = c.id"
        " WHERE m.tenant_id = %s AND m.wamid = %s", tenant.id, wamid)
    e = stack.query(
        "SELECT name, data FROM events WHERE tenant_id = %s"
        " AND data->'message'->>'id' = %s ORDER BY id", tenant.id, wamid)
    md = stack.query(
        "SELECT d.wa_media_id, d.kind, d.filename, d.mime_type, d.size,"
        " d.sha256, d.direction FROM media d JOIN messages m"
        " ON m.tenant_id = d.tenant_id AND m.media_id = d.wa_media_id"
        " WHERE m.tenant_id = %s AND m.wamid = %s", tenant.id, wamid)
    for ev in e:
        d = ev["data"]
        for k in ("id", "created_at", "last_activity_at"):
            d["contact"].pop(k, None)
        for k in ("db_id", "contact_id", "created_at"):
            d["message"].pop(k, None)
    return m, c, e, md


def sender():
    return "1651" + str(int(time.time() * 1e6))[-8:]


CASES = {
    "text": {"type": "text", "text": {"body": "hello there"}},
    "text_reply": {"type": "text", "text": {"body": "re"},
                   "context": {"from": "15550001", "id": "wamid.ctx1",
                               "forwarded": True}},
    "location": {"type": "location", "location": {
        "latitude": 52.5, "longitude": 13.4, "name": "Office"}},
    "contacts": {"type": "contacts", "contacts": [
        {"name": {"formatted_name": "Bob"}, "phones": [{"phone": "+1555"}]}]},
    "system": {"type": "system", "system": {
        "body": "changed number", "type": "customer_changed_number"}},
    "unsupported": {"type": "unsupported", "errors": [{"code": 131051}]},
    "order": {"type": "order", "order": {"catalog_id": "1", "text": "pls",
                                         "product_items": []}},
    "referral": {"type": "text", "text": {"body": "from an ad"},
                 "referral": {"source_type": "ad", "source_id": "9"}},
    "new_kind": {"type": "hologram", "hologram": {"x": 1}},
    "image": {"type": "image", "image": {
        "id": "1001", "mime_type": "image/jpeg", "sha256": "aGFzaA==",
        "caption": "look"}},
    "document": {"type": "document", "document": {
        "id": "1002", "mime_type": "application/pdf", "sha256": "ZG9j",
        "filename": "terms.pdf"}},
    "voice": {"type": "audio", "audio": {
        "id": "1003", "mime_type": "audio/ogg; codecs=opus", "voice": True}},
    "sticker": {"type": "sticker", "sticker": {
        "id": "1004", "mime_type": "image/webp", "animated": True}},
    "video_no_mime": {"type": "video", "video": {"id": "1005"}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_matches_general_path(stack, twins, case):
    fast_t, general_t = twins
    frm = sender()
    msg = dict(CASES[case], **{"from": frm, "id": new_wamid(),
                               "timestamp": str(int(time.time()) - 30)})
    fast_body = body_for(fast_t, msg)
    general_body = body_for(general_t, copy.deepcopy(msg))
    assert fast_message(stack, fast_body) is not None, "not the fast path"

    assert post(stack, fast_body) == ingest_general(stack, general_body)
    assert stored(stack, fast_t, msg["id"]) == \
        stored(stack, general_t, msg["id"])
    m, c, e, md = stored(stack, fast_t, msg["id"])
    assert len(m) == 1 and len(c) == 1 and len(e) == 1
    assert c[0]["name"] == "Ada"
    assert len(md) == (1 if m[0]["media_id"] else 0)


def test_fast_path_duplicate_changes_nothing(stack, twins):
    t = twins[0]
    frm = sender()
    msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                 "timestamp": str(int(time.time()))})
    assert post(stack, body_for(t, msg))["messages"] == 1
    before = stack.query("SELECT * FROM contacts WHERE tenant_id = %s"
                         " AND wa_id = %s", t.id, frm)
    again = post(stack, body_for(t, msg, name="Renamed"))
    assert again["messages"] == 0 and again["duplicates"] == 1
    assert again["events"] == 0
    assert stack.query("SELECT * FROM contacts WHERE tenant_id = %s"
                       " AND wa_id = %s", t.id, frm) == before
    assert stack.query("SELECT count(*) AS n FROM events WHERE tenant_id = %s"
                       " AND data->'message'->>'id' = %s",
                       t.id, msg["id"])[0]["n"] == 1


def test_fast_path_applies_an_edit_that_came_first(stack, twins):
    t = twins[0]
    frm = sender()
    wamid = new_wamid()
    edit = {"from": frm, "id": new_wamid(), "type": "edit",
            "timestamp": str(int(time.time())),
            "edit": {"original_message_id": wamid,
                     "message": {"type": "text", "text": {"body": "fixed"}}}}
    assert post(stack, body_for(t, edit))["edits"] == 1
    msg = dict(CASES["text"], **{"from": frm, "id": wamid,
                                 "timestamp": str(int(time.time()) - 5)})
    body = body_for(t, msg)
    assert fast_message(stack, body) is not None
    s = post(stack, body)
    assert s["messages"] == 1 and s["events"] == 2
    row = stack.query("SELECT text FROM messages WHERE tenant_id = %s"
                      " AND wamid = %s", t.id, wamid)[0]
    assert row["text"] == "fixed"
    names = [r["name"] for r in stack.query(
        "SELECT name FROM events WHERE tenant_id = %s AND"
        " data->'message'->>'id' = %s ORDER BY id", t.id, wamid)]
    assert names == ["message_incoming", "message_edited"]


def other_shapes(t):
    frm = sender()
    msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                 "timestamp": "1764000000"})
    two = body_for(t, msg)
    two["entry"][0]["changes"][0]["value"]["messages"].append(
        dict(msg, id=new_wamid()))
    status = body_for(t, msg)
    status["entry"][0]["changes"][0]["value"]["statuses"] = []
    other_contact = body_for(t, msg)
    other_contact["entry"][0]["changes"][0]["value"]["contacts"][0][
        "wa_id"] = "1999"
    bsuid = body_for(t, dict(msg, from_user_id="US.123"))
    two_entries = body_for(t, msg)
    two_entries["entry"].append(two_entries["entry"][0])
    return {
        "two messages": two,
        "statuses key": status,
        "contact of someone else": other_contact,
        "BSUID": bsuid,
        "two entries": two_entries,
        "button": body_for(t, dict(msg, type="button", button={"text": "x"})),
        "list reply": body_for(t, dict(msg, type="interactive", interactive={
            "type": "list_reply", "list_reply": {"id": "r1", "title": "R"}})),
        "reaction": body_for(t, dict(msg, type="reaction", reaction={
            "message_id": "wamid.x", "emoji": "+"})),
        "not a message": body_for(t, dict(msg, id=5)),
        "other field": {"object": "whatsapp_business_account", "entry": [{
            "changes": [{"field": "account_update", "value": {}}]}]},
    }


SHAPES = ["two messages", "statuses key", "contact of someone else", "BSUID",
          "two entries", "button", "list reply", "reaction",
          "not a message", "other field"]


@pytest.mark.parametrize("shape", SHAPES)
def test_other_shapes_take_the_general_path(stack, twins, shape):
    shapes = other_shapes(twins[0])
    assert sorted(shapes) == sorted(SHAPES)
    assert fast_message(stack, shapes[shape]) is None
