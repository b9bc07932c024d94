"""The batched path for plain chat messages (shared/wh_parse.c reads the
body in C, fcgi/ingest_batch.c stores many bodies per transaction with
schema/functions/ingest_batch.sql) gives exactly what the general path
gives: the same message row, contact, event and summary. Each case is
posted to one tenant (the batched path, witnessed by its metric) and fed to
the general path directly for a twin tenant, and the results are compared
field by field. The shapes the batched path must leave to the general path
are checked too, so a case cannot pass by accident; and a batch the
database refuses is undone and each of its bodies stored alone."""
import concurrent.futures
import copy
import json
import time

import pytest
import requests

import prom_text
from conftest import Tenant, new_wamid


@pytest.fixture(scope="module")
def twins(stack):
    return Tenant(stack), Tenant(stack)


def body_for(tenant, msg, contacts=True, name="Ada"):
    value = {"messages": [msg]}
    if contacts:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": msg["from"]}]
    return tenant.webhook(tenant.webhook_value(**value))


def metric_values(stack, *names):
    r = requests.get("http://127.0.0.1:%s/metrics" %
                     stack.env["WA_METRICS_PORT"], timeout=10)
    assert r.status_code == 200, r.text
    fams = prom_text.parse(r.text)
    return tuple(prom_text.value(fams, n) for n in names)


def batched_total(stack):
    """Bodies the batched path has stored, over every responder."""
    return metric_values(stack, "wa_webhooks_batched_total",
                         "wa_webhook_batches_total",
                         "wa_webhook_batches_refused_total")


def general_batched_total(stack):
    """Bodies of the general path stored together, and their batches."""
    return metric_values(stack, "wa_webhooks_general_batched_total",
                         "wa_webhook_general_batches_total")


def send_together(stack, bodies, **first_headers):
    """Posts the bodies at once; the first one's batch waits a moment (a
    test hook), so whatever reaches its process meanwhile joins it; the
    first one also carries first_headers. The responses, in the bodies'
    order."""
    def send(k):
        raw = bodies[k] if isinstance(bodies[k], bytes) else \
            json.dumps(bodies[k]).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": stack.sign(raw)}
        if k == 0:
            headers["X-WA-Test-Ingest-Hold-Ms"] = "300"
            headers.update(first_headers)
        return requests.post(stack.url("/webhook"), data=raw,
                             headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as ex:
        first = ex.submit(send, 0)
        time.sleep(0.05)    # it is the first to reach its process
        return [first.result()] + list(ex.map(send, range(1, len(bodies))))


def post_batched(stack, body, batched=True):
    """post(), and whether the batched path took the body: the metric is
    counted before the answer is sent, so the answer is the witness."""
    before = batched_total(stack)[0]
    s = post(stack, body)
    assert batched_total(stack)[0] - before == (1 if batched else 0), \
        "batched path taken" if not batched else "batched path not taken"
    return s


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
def test_batched_path_matches_general_path(stack, twins, case):
    fast_t, general_t = twins
    frm = sender()
    msg = dict(CASES[case], **{"from": frm, "id": new_wamid(),
                               "timestamp": str(int(time.time()) - 30)})
    fast_body = body_for(fast_t, msg)
    general_body = body_for(general_t, copy.deepcopy(msg))

    assert post_batched(stack, fast_body) == \
        ingest_general(stack, general_body)
    assert stored(stack, fast_t, msg["id"]) == \
        stored(stack, general_t, msg["id"])
    m, c, e, md = stored(stack, fast_t, msg["id"])
    assert len(m) == 1 and len(c) == 1 and len(e) == 1
    assert c[0]["name"] == "Ada"
    assert len(md) == (1 if m[0]["media_id"] else 0)


def contact_row(stack, t, frm):
    return stack.query("SELECT * FROM contacts WHERE tenant_id = %s"
                       " AND wa_id = %s", t.id, frm)[0]


def test_duplicate_refreshes_the_name_only_as_the_general_path_does(
        stack, twins):
    """Meta's retry stores nothing and moves no time, but a new profile
    name is taken, on both paths alike."""
    t, g = twins
    frm = sender()
    msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                 "timestamp": str(int(time.time()))})
    assert post_batched(stack, body_for(t, msg))["messages"] == 1
    assert ingest_general(stack, body_for(g, msg))["messages"] == 1
    before = contact_row(stack, t, frm)
    again = post_batched(stack, body_for(t, msg, name="Renamed"))
    assert again == ingest_general(stack, body_for(g, msg, name="Renamed"))
    assert again["messages"] == 0 and again["duplicates"] == 1
    assert again["events"] == 0
    after = contact_row(stack, t, frm)
    assert after.pop("name") == "Renamed" == contact_row(stack, g, frm)["name"]
    before.pop("name")
    assert after == before
    assert stack.query("SELECT count(*) AS n FROM events WHERE tenant_id = %s"
                       " AND data->'message'->>'id' = %s",
                       t.id, msg["id"])[0]["n"] == 1


def test_batched_path_applies_an_edit_that_came_first(stack, twins):
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
    s = post_batched(stack, body)
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
    status = body_for(t, msg)
    status["entry"][0]["changes"][0]["value"]["statuses"] = []
    other_contact = body_for(t, msg)
    other_contact["entry"][0]["changes"][0]["value"]["contacts"][0][
        "wa_id"] = "1999"
    bsuid = body_for(t, dict(msg, from_user_id="US.123"))
    del bsuid["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    bsuid["entry"][0]["changes"][0]["value"]["contacts"][0] = {
        "profile": {"name": "Ada"}, "user_id": "US.123"}
    two_bsuids = body_for(t, dict(msg, from_user_id="US.123"))
    two_bsuids["entry"][0]["changes"][0]["value"]["contacts"][0][
        "user_id"] = "US.456"
    other_number = body_for(t, msg)
    other_number["entry"].append(copy.deepcopy(other_number["entry"][0]))
    other_number["entry"][1]["changes"][0]["value"]["metadata"][
        "phone_number_id"] = "1999"
    named_twice = body_for(t, msg)
    value = named_twice["entry"][0]["changes"][0]["value"]
    value["contacts"].append(dict(value["contacts"][0]))
    return {
        "statuses key": status,
        "contact of someone else": other_contact,
        "named twice": named_twice,
        "BSUID alone": bsuid,
        "two BSUIDs for one sender": two_bsuids,
        "two numbers": other_number,
        "not JSON as PostgreSQL reads it": json.dumps(body_for(t, msg)).replace(
            '"hello there"', '"\\ud800"').encode(),
        "a number PostgreSQL refuses": json.dumps(body_for(
            t, dict(msg, type="location", location={"latitude": 1}))).replace(
                '"latitude": 1', '"latitude": -01').encode(),
        "a raw tab in a string": json.dumps(body_for(t, msg)).replace(
            "hello there", "hello\tthere").encode(),
        "an integer beyond 64 bits": json.dumps(body_for(
            t, dict(msg, big=123456789012345678901234))).encode(),
        "a numeric timestamp with a fraction": body_for(
            t, dict(msg, timestamp=1764000000.5)),
        "a caption that is not a string": body_for(t, dict(
            msg, type="image", image={"id": "1", "caption": {"x": 1}})),
        "a long media id": body_for(t, dict(
            msg, type="image", image={"id": "9" * 9000})),
        "button": body_for(t, dict(msg, type="button", button={"text": "x"})),
        "list reply": body_for(t, dict(msg, type="interactive", interactive={
            "type": "list_reply", "list_reply": {"id": "r1", "title": "R"}})),
        "reaction": body_for(t, dict(msg, type="reaction", reaction={
            "message_id": "wamid.x", "emoji": "+"})),
        "not a message": body_for(t, dict(msg, id=5)),
        "other field": {"object": "whatsapp_business_account", "entry": [{
            "changes": [{"field": "account_update", "value": {}}]}]},
    }


SHAPES = ["statuses key", "contact of someone else", "named twice",
          "BSUID alone", "two BSUIDs for one sender",
          "two numbers", "not JSON as PostgreSQL reads it",
          "a number PostgreSQL refuses", "a raw tab in a string",
          "an integer beyond 64 bits", "a numeric timestamp with a fraction",
          "a caption that is not a string", "a long media id",
          "button", "list reply", "reaction", "not a message", "other field"]


@pytest.mark.parametrize("shape", SHAPES)
def test_other_shapes_take_the_general_path(stack, twins, shape):
    shapes = other_shapes(twins[0])
    assert sorted(shapes) == sorted(SHAPES)
    before = batched_total(stack)[0]
    r = stack.post_webhook(shapes[shape])
    # A body PostgreSQL cannot read is refused with 400, whole (as ever);
    # everything else is stored or logged, and acknowledged.
    refused = ("not JSON as PostgreSQL reads it", "a number PostgreSQL refuses",
               "a raw tab in a string")
    assert r.status_code == (400 if shape in refused else 200), r.text
    if shape in refused:
        assert r.json()["error"]["code"] == "invalid_json"
    assert batched_total(stack)[0] == before


def bsuid_body(tenant, msg, uid, in_contacts=True, name="Ada"):
    b = body_for(tenant, dict(msg, from_user_id=uid), name=name)
    if in_contacts:
        b["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = uid
    return b


def test_senders_with_a_bsuid_are_batched_like_the_general_path(
        stack, twins):
    """Meta sends BSUIDs with every message since April 2026: a new
    contact takes it, a contact known by phone learns it, and a second
    message changes nothing more."""
    t, g = twins
    frm, uid = sender(), "US.%d" % time.time_ns()
    known = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                   "timestamp": str(int(time.time()) - 9)})
    assert post_batched(stack, body_for(t, known)) == \
        ingest_general(stack, body_for(g, known))
    for k, in_contacts in enumerate([True, False, True]):
        msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                     "timestamp": str(int(time.time()) - k)})
        assert post_batched(stack, bsuid_body(t, msg, uid, in_contacts)) \
            == ingest_general(stack, bsuid_body(g, msg, uid, in_contacts))
        assert stored(stack, t, msg["id"]) == stored(stack, g, msg["id"])
    assert contact_row(stack, t, frm)["user_id"] == uid
    fresh, fuid = sender() + "5", "US.%d" % time.time_ns()
    msg = dict(CASES["text"], **{"from": fresh, "id": new_wamid(),
                                 "timestamp": str(int(time.time()))})
    assert post_batched(stack, bsuid_body(t, msg, fuid)) == \
        ingest_general(stack, bsuid_body(g, msg, fuid))
    assert stored(stack, t, msg["id"]) == stored(stack, g, msg["id"])
    assert contact_row(stack, t, fresh)["user_id"] == fuid


def test_a_contact_known_by_bsuid_alone_gets_its_phone_through_the_general_path(
        stack, twins):
    """A contact first seen by BSUID alone (a username user), then with
    its phone: the batch cannot store that (the BSUID is taken), is undone,
    and the general path gives the phone to that contact."""
    t, g = twins
    frm, uid = sender(), "US.%d" % time.time_ns()
    first = dict(CASES["text"], **{"id": new_wamid(), "from_user_id": uid,
                                   "timestamp": str(int(time.time()) - 5)})

    def alone(tenant):
        b = tenant.webhook(tenant.webhook_value(messages=[first], contacts=[
            {"profile": {"name": "Una"}, "user_id": uid}]))
        return b

    assert post_batched(stack, alone(t), batched=False) == \
        ingest_general(stack, alone(g))
    refused0 = batched_total(stack)[2]
    msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                 "timestamp": str(int(time.time()))})
    assert post(stack, bsuid_body(t, msg, uid)) == \
        ingest_general(stack, bsuid_body(g, msg, uid))
    assert batched_total(stack)[2] == refused0 + 1
    assert stored(stack, t, msg["id"]) == stored(stack, g, msg["id"])
    row = contact_row(stack, t, frm)
    assert row["user_id"] == uid and row["name"] == "Una"
    assert stack.query("SELECT count(*) AS n FROM contacts WHERE tenant_id"
                       " = %s AND user_id = %s", t.id, uid)[0]["n"] == 1


def test_many_messages_and_entries_of_one_number_are_one_body(stack, twins):
    """Several messages, changes and entries of one number: batched, and
    the same rows, events and summary as the general path."""
    t, g = twins
    frm, frm2, frm3 = sender(), sender() + "7", sender() + "8"
    msgs = [dict(CASES["text"], **{"from": f, "id": new_wamid(),
                                   "timestamp": str(int(time.time()) - k)})
            for k, f in enumerate([frm, frm2, frm, frm3])]

    def body(tenant):
        b = tenant.webhook(tenant.webhook_value(
            messages=msgs[:3], contacts=[
                {"profile": {"name": "Ann"}, "wa_id": frm},
                {"profile": {"name": "Bo"}, "wa_id": frm2}]))
        b["entry"].append(copy.deepcopy(b["entry"][0]))
        b["entry"][1]["changes"][0]["value"]["messages"] = [
            msgs[3], dict(msgs[3])]
        b["entry"][1]["changes"][0]["value"]["contacts"] = [
            {"profile": {"name": "Cy"}, "wa_id": frm3}]
        return b

    s = post_batched(stack, body(t))
    assert s == ingest_general(stack, body(g))
    assert s["messages"] == 4 and s["duplicates"] == 1 and s["events"] == 4
    for m in msgs:
        assert stored(stack, t, m["id"]) == stored(stack, g, m["id"])
    assert contact_row(stack, t, frm)["name"] == "Ann"


def test_a_sender_in_two_changes_of_a_body_takes_the_general_path(
        stack, twins):
    """The general path stores changes one after another, so the first
    change's event shows the contact as it was then: left to it."""
    t = twins[0]
    frm = sender()
    msgs = [dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                   "timestamp": str(int(time.time()))})
            for _ in range(2)]
    b = body_for(t, msgs[0])
    b["entry"].append(copy.deepcopy(b["entry"][0]))
    b["entry"][1]["changes"][0]["value"]["messages"] = [msgs[1]]
    s = post_batched(stack, b, batched=False)
    assert s["messages"] == 2


def test_concurrent_bodies_share_transactions(stack, twins):
    """32 deliveries at once: every one stored once, acknowledged, with its
    own summary, in fewer transactions than deliveries."""
    t = twins[0]
    bodies = [body_for(t, dict(CASES["text"], **{
        "from": sender() + str(k % 4), "id": new_wamid(),
        "timestamp": str(int(time.time()))})) for k in range(64)]
    n0, b0, _ = batched_total(stack)

    def send(k):
        # The first one's batch waits a moment (a test hook): whatever
        # reaches its process meanwhile must join it.
        raw = json.dumps(bodies[k]).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": stack.sign(raw)}
        if k == 0:
            headers["X-WA-Test-Ingest-Hold-Ms"] = "300"
        r = requests.post(stack.url("/webhook"), data=raw, headers=headers,
                          timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        first = ex.submit(send, 0)
        time.sleep(0.05)    # it is the first to reach its process
        results = list(ex.map(send, range(1, 64))) + [first.result()]
    assert all(r["messages"] == 1 and r["events"] == 1 for r in results)
    n1, b1, _ = batched_total(stack)
    assert n1 - n0 == 64
    assert b1 - b0 < 64, "no two deliveries shared a transaction"
    wamids = [b["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
              for b in bodies]
    assert stack.query("SELECT count(*) AS n FROM messages WHERE tenant_id"
                       " = %s AND wamid = ANY(%s)", t.id, wamids)[0]["n"] == 64


def test_a_batch_the_database_refuses_is_stored_body_by_body(stack, twins):
    """One body of a batch made to fail in the database (a test hook): the
    batch is undone, and every body, the poisoned one too, is then stored
    alone by the general path and acknowledged."""
    t = twins[0]
    bodies = [body_for(t, dict(CASES["text"], **{
        "from": sender() + str(k), "id": new_wamid(),
        "timestamp": str(int(time.time()))})) for k in range(16)]
    refused0 = batched_total(stack)[2]

    def send(k):
        raw = json.dumps(bodies[k]).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": stack.sign(raw)}
        if k == 0:
            headers["X-WA-Test-Ingest-Poison"] = "1"
        return requests.post(stack.url("/webhook"), data=raw,
                             headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        rs = list(ex.map(send, range(16)))
    assert [r.status_code for r in rs] == [200] * 16, [r.text for r in rs]
    assert all(r.json()["messages"] == 1 for r in rs)
    assert batched_total(stack)[2] > refused0
    wamids = [b["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
              for b in bodies]
    assert stack.query("SELECT count(*) AS n FROM messages WHERE tenant_id"
                       " = %s AND wamid = ANY(%s)", t.id, wamids)[0]["n"] == 16


def reaction_bodies(stack, t, n):
    """n reactions, each to its own stored message of t."""
    out = []
    for k in range(n):
        frm = sender() + str(k)
        msg = dict(CASES["text"], **{"from": frm, "id": new_wamid(),
                                     "timestamp": str(int(time.time()))})
        post(stack, body_for(t, msg))
        out.append(body_for(t, dict(msg, id=new_wamid(), type="reaction",
                                    reaction={"message_id": msg["id"],
                                              "emoji": "\U0001f44d"})))
    return out


def test_concurrent_general_bodies_share_transactions(stack, twins):
    """Bodies the C parser leaves to the general path (reactions here) are
    stored together too: each acknowledged with its own summary, every
    reaction stored once, in fewer transactions than deliveries."""
    t = twins[0]
    bodies = reaction_bodies(stack, t, 16)
    n0, b0 = general_batched_total(stack)
    rs = send_together(stack, bodies)
    assert [r.status_code for r in rs] == [200] * 16, [r.text for r in rs]
    assert all(r.json()["reactions"] == 1 and r.json()["events"] == 1
               for r in rs)
    n1, b1 = general_batched_total(stack)
    assert n1 - n0 == 16
    assert b1 - b0 < 16, "no two deliveries shared a transaction"
    ids = [b["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"][
        "message_id"] for b in bodies]
    assert stack.query(
        "SELECT count(*) AS n FROM reactions WHERE tenant_id = %s AND"
        " direction = 'in' AND target_wamid = ANY(%s)", t.id, ids)[0]["n"] == 16


def test_a_general_batch_the_database_refuses_is_stored_body_by_body(
        stack, twins):
    """One body of a general batch made to fail in the database (a test
    hook spoils the batch's copy of it): the batch is undone, and every
    body, that one too, is then stored alone and acknowledged."""
    t = twins[0]
    bodies = reaction_bodies(stack, t, 8)
    refused0 = metric_values(stack, "wa_db_errors_total")[0]
    rs = send_together(stack, bodies,
                       **{"X-WA-Test-Ingest-Poison": "1"})
    assert [r.status_code for r in rs] == [200] * 8, [r.text for r in rs]
    assert all(r.json()["reactions"] == 1 for r in rs)
    # The refused batch is a database error (the poisoned copy is not
    # JSON to PostgreSQL); nothing was lost by it.
    assert metric_values(stack, "wa_db_errors_total")[0] > refused0
    ids = [b["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"][
        "message_id"] for b in bodies]
    assert stack.query(
        "SELECT count(*) AS n FROM reactions WHERE tenant_id = %s AND"
        " direction = 'in' AND target_wamid = ANY(%s)", t.id, ids)[0]["n"] == 8


def test_json_the_reader_is_unsure_of_is_stored_alone(stack, twins):
    """A body whose JSON PostgreSQL may read otherwise (a lone surrogate
    escape) never joins a batch, so it fails no other body: it is refused
    with 400 alone and counted as one database refusal."""
    t = twins[0]
    body = reaction_bodies(stack, t, 1)[0]
    bad = json.dumps(body).replace('"\\ud83d\\udc4d"', '"\\ud800"').encode()
    assert b"\\ud800" in bad
    def refusals():
        r = requests.get("http://127.0.0.1:%s/metrics" %
                         stack.env["WA_METRICS_PORT"], timeout=10)
        return prom_text.value(prom_text.parse(r.text), "wa_db_errors_total",
                               pool="webhook", kind="check")

    before = refusals()
    r = stack.post_webhook(bad)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_json"
    # Refused once, alone: in a batch it would have been refused twice
    # (with the batch, then alone).
    assert refusals() == before + 1
