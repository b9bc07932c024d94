"""Whole bodies: every entry x change x item of a batch, each stored exactly
once (retries, duplicates, concurrent deliveries), persisted before the 200,
bodies of a shape we cannot place kept in webhook_log (and replayed later
by `wactl webhook replay`), and 5xx while the database is away."""
import json
import secrets
import threading
import time

import pytest
import requests

from conftest import Tenant, new_wamid


@pytest.fixture(scope="module")
def shop(stack):
    return Tenant(stack)


def phone():
    return "1650" + "".join(secrets.choice("0123456789") for _ in range(8))


def text(frm, body="hi", ts=None, wamid=None):
    return {"from": frm, "id": wamid or new_wamid(),
            "timestamp": str(ts or int(time.time())), "type": "text",
            "text": {"body": body}}


def value(tenant, messages=(), statuses=(), names=None):
    v = {}
    if messages:
        senders = dict.fromkeys(m["from"] for m in messages)
        v["contacts"] = [{"profile": {"name": (names or {}).get(w, "C " + w[-4:])},
                          "wa_id": w} for w in senders]
        v["messages"] = list(messages)
    if statuses:
        v["statuses"] = list(statuses)
    return tenant.webhook_value(**v)


def post(stack, body):
    r = stack.post_webhook(body)
    assert r.status_code == 200, r.text
    return r.json()


def count(stack, sql, *args):
    return stack.query("SELECT count(*) AS n FROM " + sql, *args)[0]["n"]


def messages_of(stack, tenant):
    return count(stack, "messages WHERE tenant_id = %s", tenant.id)


def events_of(stack, tenant, name=None):
    if name:
        return count(stack, "events WHERE tenant_id = %s AND name = %s",
                     tenant.id, name)
    return count(stack, "events WHERE tenant_id = %s", tenant.id)


def log_rows(stack, pnid):
    return stack.query("SELECT * FROM webhook_log WHERE phone_number_id = %s"
                       " ORDER BY id", pnid)


# --- batches ----------------------------------------------------------------

def test_batch_stores_every_entry_change_message_and_status(stack, shop):
    other = Tenant(stack)
    a, b, c = phone(), phone(), phone()
    out = new_wamid()
    cid = stack.query("INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, %s)"
                      " RETURNING id", shop.id, c)[0]["id"]
    stack.query("INSERT INTO messages (tenant_id, contact_id, wamid, direction,"
                " type, status) VALUES (%s, %s, %s, 'out', 'text', 'accepted')",
                shop.id, cid, out)
    t0 = int(time.time())
    m1, m2, m3 = text(a, "one", t0), text(a, "two", t0 + 1), text(b, "three", t0 + 2)
    m4, m5 = text(a, "four", t0 + 3), text(c, "five", t0 + 4)
    body = {"object": "whatsapp_business_account", "entry": [
        {"id": shop.waba_id, "changes": [
            {"field": "messages", "value": value(shop, [m1, m2, m3])},
            {"field": "messages", "value": value(shop, statuses=[
                {"id": out, "status": "sent", "timestamp": str(t0)},
                {"id": out, "status": "delivered", "timestamp": str(t0 + 1)}])}]},
        {"id": other.waba_id, "changes": [
            {"field": "messages", "value": value(other, [m4])},
            {"field": "messages", "value": value(shop, [m5])}]}]}
    reply = post(stack, body)
    assert reply == {"ok": True, "messages": 5, "statuses": 2, "reactions": 0,
                     "edits": 0, "duplicates": 0, "events": 6, "logged": 0,
                     "unplaced": 0}
    tenant_of = {r["wamid"]: r["tenant_id"] for r in stack.query(
        "SELECT wamid, tenant_id::text FROM messages WHERE wamid = ANY(%s)",
        [m["id"] for m in (m1, m2, m3, m4, m5)])}
    assert tenant_of == {m1["id"]: shop.id, m2["id"]: shop.id, m3["id"]: shop.id,
                         m4["id"]: other.id, m5["id"]: shop.id}
    assert stack.query("SELECT status FROM messages WHERE wamid = %s",
                       out)[0]["status"] == "delivered"
    # Events come in the order of the body.
    order = [r["data"]["message"]["id"] for r in stack.query(
        "SELECT data FROM events WHERE tenant_id = %s AND name = 'message_incoming'"
        " AND data->'message'->>'id' = ANY(%s) ORDER BY id", shop.id,
        [m1["id"], m2["id"], m3["id"], m5["id"]])]
    assert order == [m1["id"], m2["id"], m3["id"], m5["id"]]


def test_large_batch_is_stored_in_one_go(stack, shop):
    frm = phone()
    t0 = int(time.time())
    msgs = [text(frm, "n%d" % i, t0 + i) for i in range(500)]
    before = messages_of(stack, shop)
    reply = post(stack, shop.webhook(value(shop, msgs)))
    assert reply["messages"] == 500 and reply["events"] == 500
    assert messages_of(stack, shop) == before + 500


def test_same_body_twice_is_stored_once(stack, shop):
    frm = phone()
    out = new_wamid()
    cid = stack.query("INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, %s)"
                      " RETURNING id", shop.id, phone())[0]["id"]
    stack.query("INSERT INTO messages (tenant_id, contact_id, wamid, direction,"
                " type, status) VALUES (%s, %s, %s, 'out', 'text', 'accepted')",
                shop.id, cid, out)
    m = text(frm)
    r = {"from": frm, "id": new_wamid(), "timestamp": str(int(time.time())),
         "type": "reaction", "reaction": {"message_id": m["id"], "emoji": "\U0001F44D"}}
    body = shop.webhook(value(shop, [m, r], statuses=[
        {"id": out, "status": "delivered", "timestamp": str(int(time.time()))}]))
    first = post(stack, body)
    assert (first["messages"], first["reactions"], first["statuses"]) == (1, 1, 1)
    n_msg, n_ev = messages_of(stack, shop), events_of(stack, shop)
    n_contacts = count(stack, "contacts WHERE tenant_id = %s", shop.id)
    again = post(stack, body)
    assert again["duplicates"] == 3
    assert again["messages"] == again["statuses"] == again["events"] == 0
    assert messages_of(stack, shop) == n_msg
    assert events_of(stack, shop) == n_ev
    assert count(stack, "contacts WHERE tenant_id = %s", shop.id) == n_contacts


def test_duplicate_inside_one_body_is_stored_once(stack, shop):
    m = text(phone())
    reply = post(stack, shop.webhook(value(shop, [m, dict(m)])))
    assert reply["messages"] == 1 and reply["duplicates"] == 1
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 1


def test_concurrent_deliveries_store_one_row_and_one_event(stack, shop):
    for _ in range(5):
        m = text(phone())        # a new contact too: it must not double
        raw = json.dumps(shop.webhook(value(shop, [m]))).encode()
        sig = stack.sign(raw)
        n = 8
        barrier = threading.Barrier(n)
        codes = []

        def deliver():
            barrier.wait()
            codes.append(requests.post(
                stack.url("/webhook"), data=raw, timeout=30,
                headers={"Content-Type": "application/json",
                         "X-Hub-Signature-256": sig}).status_code)

        threads = [threading.Thread(target=deliver) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * n
        assert count(stack, "messages WHERE tenant_id = %s AND wamid = %s",
                     shop.id, m["id"]) == 1
        assert count(stack, "contacts WHERE tenant_id = %s AND wa_id = %s",
                     shop.id, m["from"]) == 1
        assert count(stack, "events WHERE tenant_id = %s AND name ="
                     " 'message_incoming' AND data->'message'->>'id' = %s",
                     shop.id, m["id"]) == 1


def test_concurrent_status_and_send_apply_the_status_once(stack, shop):
    """The race the trigger exists for: the status webhook and the send
    code's UPDATE SET wamid commit at the same moment."""
    for _ in range(10):
        wamid = new_wamid()
        cid = stack.query("INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, %s)"
                          " RETURNING id", shop.id, phone())[0]["id"]
        mid = stack.query("INSERT INTO messages (tenant_id, contact_id, direction,"
                          " type, status) VALUES (%s, %s, 'out', 'text', 'pending')"
                          " RETURNING id", shop.id, cid)[0]["id"]
        body = shop.webhook(value(shop, statuses=[
            {"id": wamid, "status": "delivered", "timestamp": str(int(time.time()))}]))
        barrier = threading.Barrier(2)

        def send():
            barrier.wait()
            stack.query("UPDATE messages SET wamid = %s, status = 'accepted'"
                        " WHERE id = %s", wamid, mid)

        def hook():
            barrier.wait()
            assert stack.post_webhook(body).status_code == 200

        ts = [threading.Thread(target=send), threading.Thread(target=hook)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert stack.query("SELECT status FROM messages WHERE id = %s",
                           mid)[0]["status"] == "delivered"
        assert count(stack, "events WHERE tenant_id = %s AND name = 'message_status'"
                     " AND data->>'message_id' = %s", shop.id, wamid) == 1


# --- what cannot be placed --------------------------------------------------

def test_unknown_number_is_logged_never_given_to_another_tenant_then_replayed(stack, shop):
    pnid = "9" + "".join(secrets.choice("0123456789") for _ in range(14))
    m = text(phone(), "who owns this number?")
    v = value(shop, [m])
    v["metadata"]["phone_number_id"] = pnid
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "999", "changes": [{"field": "messages", "value": v}]}]}
    reply = post(stack, body)
    assert reply["messages"] == 0 and reply["logged"] == 1 and reply["unplaced"] == 1
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 0
    [log] = log_rows(stack, pnid)
    assert log["reason"] == "unknown_number" and log["processed_at"] is None
    assert log["body"]["entry"][0]["changes"][0]["value"]["messages"] == [m]

    # Replaying before the number has a tenant changes nothing.
    p = stack.wactl("webhook", "replay", "--id", str(log["id"]))
    assert "unplaced" in p.stdout
    assert log_rows(stack, pnid)[0]["processed_at"] is None

    tid = stack.wactl("tenant", "add", "--name", "Late", "--phone-number-id", pnid,
                      "--waba-id", "999", "--access-token", "EAAGx").stdout.strip()
    p = stack.wactl("webhook", "replay", "--id", str(log["id"]))
    assert "processed" in p.stdout and "messages=1" in p.stdout, p.stdout
    rows = stack.query("SELECT tenant_id::text FROM messages WHERE wamid = %s", m["id"])
    assert [r["tenant_id"] for r in rows] == [tid]
    [log] = log_rows(stack, pnid)
    assert log["processed_at"] is not None and str(log["tenant_id"]) == tid
    assert count(stack, "events WHERE tenant_id = %s AND name = 'message_incoming'",
                 tid) == 1
    # Replay is exactly once too.
    p = stack.wactl("webhook", "replay", "--id", str(log["id"]))
    assert "already_processed" in p.stdout
    # And Meta's retry of the original body now lands normally, once.
    assert post(stack, body)["duplicates"] == 1
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 1


def test_replay_all_processes_what_can_now_be_placed(stack):
    pnid = "8" + "".join(secrets.choice("0123456789") for _ in range(14))
    msgs = [text(phone()) for _ in range(3)]
    for m in msgs:
        v = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "1555", "phone_number_id": pnid},
             "contacts": [{"profile": {"name": "Z"}, "wa_id": m["from"]}],
             "messages": [m]}
        post(stack, {"object": "whatsapp_business_account",
                     "entry": [{"id": "1", "changes": [{"field": "messages",
                                                        "value": v}]}]})
    assert len(log_rows(stack, pnid)) == 3
    stack.wactl("tenant", "add", "--name", "Later", "--phone-number-id", pnid,
                "--waba-id", "1", "--access-token", "EAAGy")
    p = stack.wactl("webhook", "replay", "--all")
    assert "replayed" in p.stdout
    assert all(r["processed_at"] is not None for r in log_rows(stack, pnid))
    assert count(stack, "messages WHERE wamid = ANY(%s)", [m["id"] for m in msgs]) == 3
    stack.wactl("webhook", "replay", "--all")
    assert count(stack, "messages WHERE wamid = ANY(%s)", [m["id"] for m in msgs]) == 3


def test_replay_usage_errors(stack):
    assert stack.wactl("webhook", "replay", check=False).returncode != 0
    assert stack.wactl("webhook", "replay", "--id", "x", check=False).returncode != 0
    p = stack.wactl("webhook", "replay", "--id", "999999999", check=False)
    assert p.returncode != 0 and "not_found" in p.stdout


def test_unknown_field_is_acknowledged_and_logged(stack, shop):
    body = {"object": "whatsapp_business_account", "entry": [{
        "id": shop.waba_id, "time": 1750000000, "changes": [{
            "field": "account_update",
            "value": {"phone_number": shop.display_phone, "event": "VERIFIED_ACCOUNT"}}]}]}
    reply = post(stack, body)
    assert reply["logged"] == 1 and reply["unplaced"] == 1
    rows = stack.query("SELECT * FROM webhook_log WHERE reason = 'unknown_field'"
                       " AND body = %s::jsonb", json.dumps(body))
    assert len(rows) == 1 and rows[0]["detail"] == "account_update"


def test_value_errors_are_kept_for_audit(stack, shop):
    err = {"code": 130429, "title": "Rate limit hit", "message": "Rate limit hit",
           "error_data": {"details": "Message failed to send because there were"
                                     " too many messages sent from this phone"
                                     " number in a short period of time"}}
    reply = post(stack, shop.webhook(shop.webhook_value(errors=[err])))
    assert reply["logged"] == 1 and reply["unplaced"] == 0
    rows = stack.query("SELECT * FROM webhook_log WHERE reason = 'errors' AND"
                       " tenant_id = %s ORDER BY id DESC LIMIT 1", shop.id)
    assert rows[0]["body"]["entry"][0]["changes"][0]["value"]["errors"] == [err]
    assert rows[0]["processed_at"] is not None


@pytest.mark.parametrize("name,body,placed", [
    ("body is a string", "a string where an object belongs", 0),
    ("body is an array", [1, 2, 3], 0),
    ("entry is not an array", {"object": "whatsapp_business_account",
                               "entry": {"id": "1"}}, 0),
    ("entry missing", {"object": "whatsapp_business_account"}, 0),
    ("other object", {"object": "page", "entry": []}, 0),
    ("entry item a string", {"object": "whatsapp_business_account",
                             "entry": ["x"]}, 0),
    ("changes null", {"object": "whatsapp_business_account",
                      "entry": [{"id": "1", "changes": None}]}, 0),
    ("value a string", "VALUE_STRING", 0),
    ("metadata a string", "METADATA_STRING", 0),
    ("messages an object", "MESSAGES_OBJECT", 0),
    ("a message a string", "MESSAGE_STRING", 1),
    ("a message without id", "MESSAGE_NO_ID", 1),
    ("a status a number", "STATUS_NUMBER", 0),
    ("text payload a string", "TEXT_STRING", 1),
])
def test_wrong_shapes_are_answered_without_a_crash(stack, shop, name, body, placed):
    good = text(phone())
    if isinstance(body, str) and body.isupper():
        v = value(shop, [good])
        change = {"field": "messages", "value": v}
        if body == "VALUE_STRING":
            change["value"] = "a string"
        elif body == "METADATA_STRING":
            v["metadata"] = "a string"
        elif body == "MESSAGES_OBJECT":
            v["messages"] = {"0": good}
        elif body == "MESSAGE_STRING":
            v["messages"] = ["a string", good]
        elif body == "MESSAGE_NO_ID":
            v["messages"] = [{k: x for k, x in good.items() if k != "id"},
                             dict(good)]
        elif body == "STATUS_NUMBER":
            v["statuses"] = [42]
            v.pop("messages")
        elif body == "TEXT_STRING":
            good["text"] = "hello as a plain string"
        body = {"object": "whatsapp_business_account",
                "entry": [{"id": shop.waba_id, "changes": [change]}]}
    n_log = count(stack, "webhook_log")
    reply = post(stack, body)
    if name == "text payload a string":
        # A known type with a payload of the wrong shape is still the
        # customer's message: stored, empty columns, its JSON in raw.
        assert reply["messages"] == 1 and reply["unplaced"] == 0, reply
        r = stack.query("SELECT * FROM messages WHERE wamid = %s", good["id"])[0]
        assert r["type"] == "text" and r["text"] is None and r["raw"] == good
        return
    assert reply["unplaced"] >= 1 and reply["logged"] >= 1, (name, reply)
    assert count(stack, "webhook_log") >= n_log + 1
    assert count(stack, "messages WHERE tenant_id = %s AND wamid = %s",
                 shop.id, good["id"]) == placed, name
    if isinstance(body, dict) and isinstance(body.get("entry"), list) and \
            body["entry"] and isinstance(body["entry"][0], dict) and \
            body["entry"][0].get("changes"):
        # The log keeps what could not be placed, whole.
        assert stack.query("SELECT count(*) AS n FROM webhook_log WHERE body = %s::jsonb",
                           json.dumps(body))[0]["n"] >= 1


def test_null_arrays_are_treated_as_absent(stack, shop):
    m = text(phone())
    v = value(shop, [m])
    v.update(statuses=None, errors=None)
    reply = post(stack, shop.webhook(v))
    assert reply["messages"] == 1 and reply["unplaced"] == 0 and reply["logged"] == 0
    v = shop.webhook_value(messages=None, contacts=None)
    reply = post(stack, shop.webhook(v))
    assert reply["unplaced"] == 0 and reply["logged"] == 0


def test_a_body_the_database_refuses_is_logged_whole_with_nothing_half_written(stack, shop):
    # A message id too big for the unique index fails deep inside the
    # insert: the good message before it must not be stored alone.
    good = text(phone(), "before the bad one")
    bad = text(phone(), "id too long", wamid="wamid." + secrets.token_hex(12000))
    body = shop.webhook(value(shop, [good, bad]))
    n_ev = events_of(stack, shop)
    reply = post(stack, body)
    assert (reply["messages"], reply["logged"], reply["unplaced"]) == (0, 1, 1)
    assert count(stack, "messages WHERE wamid = %s", good["id"]) == 0
    assert count(stack, "contacts WHERE tenant_id = %s AND wa_id = %s",
                 shop.id, good["from"]) == 0
    assert events_of(stack, shop) == n_ev
    rows = stack.query("SELECT reason, detail FROM webhook_log WHERE body = %s::jsonb",
                       json.dumps(body))
    assert len(rows) == 1 and rows[0]["reason"] == "ingest_error"
    assert rows[0]["detail"].startswith("54000")


# --- persistence ------------------------------------------------------------

def test_rows_are_committed_before_the_200(stack, shop):
    m = text(phone())
    post(stack, shop.webhook(value(shop, [m])))
    # A fresh connection, right after the answer, sees everything.
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 1
    assert count(stack, "events WHERE tenant_id = %s AND data->'message'->>'id' = %s",
                 shop.id, m["id"]) == 1


def test_database_down_gives_5xx_then_the_retried_body_is_stored(stack, shop):
    m = text(phone(), "sent while the database was down")
    body = shop.webhook(value(shop, [m]))
    stack.ctl("stop", "pg")
    try:
        for _ in range(3):      # every responder thread, not just one
            r = stack.post_webhook(body)
            assert r.status_code == 503, r.text
            assert r.json()["ok"] is False
    finally:
        stack.ctl("start", "pg")
    # Meta retries; the first try after the restart already works: a
    # responder whose connection died reconnects and runs it once more.
    r = stack.post_webhook(body)
    assert r.status_code == 200, r.text
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 1
    for _ in range(8):          # every responder thread has reconnected
        assert stack.post_webhook(body).status_code == 200
    assert count(stack, "messages WHERE wamid = %s", m["id"]) == 1
    assert count(stack, "events WHERE tenant_id = %s AND data->'message'->>'id' = %s",
                 shop.id, m["id"]) == 1
    # Leave the api pool reconnected too for the tests that follow: each of
    # its threads notices the restart on its next query.
    ok, deadline = 0, time.time() + 10
    while ok < 20 and time.time() < deadline:
        ok = ok + 1 if requests.get(stack.url("/healthz")).status_code == 200 else 0
