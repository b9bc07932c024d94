"""Delivery statuses of outgoing messages: a time per status, never
backwards, failures with Meta's error, each status once, and statuses that
arrive before the send call has stored the message's wamid."""
import secrets
import time

import pytest

from conftest import Tenant, new_wamid


@pytest.fixture(scope="module")
def shop(stack):
    return Tenant(stack)


def outgoing(tenant, wamid=None, status="accepted", mtype="text"):
    """An outgoing message as the send code stores it; returns its row id."""
    q = tenant.stack.query
    wa = "1650" + "".join(secrets.choice("0123456789") for _ in range(8))
    cid = q("INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, %s) RETURNING id",
            tenant.id, wa)[0]["id"]
    return q("INSERT INTO messages (tenant_id, contact_id, wamid, direction, type,"
             " text, status) VALUES (%s, %s, %s, 'out', %s, 'hi', %s) RETURNING id",
             tenant.id, cid, wamid, mtype, status)[0]["id"]


def status(wamid, name, ts, **extra):
    s = {"id": wamid, "status": name, "timestamp": str(ts),
         "recipient_id": "16505551234",
         "conversation": {"id": "72b14d6bd5407799e66f64d1b338e567",
                          "origin": {"type": "service"}},
         "pricing": {"billable": False, "pricing_model": "PMP",
                     "type": "free_customer_service", "category": "service"}}
    s.update(extra)
    return s


def deliver(tenant, *statuses):
    body = tenant.webhook(tenant.webhook_value(statuses=list(statuses)))
    r = tenant.stack.post_webhook(body)
    assert r.status_code == 200, r.text
    return r.json()


def msg(tenant, msg_id):
    return tenant.stack.query("SELECT * FROM messages WHERE id = %s", msg_id)[0]


def status_events(tenant, wamid):
    return [r["data"] for r in tenant.stack.query(
        "SELECT data FROM events WHERE tenant_id = %s AND name = 'message_status'"
        " AND data->>'message_id' = %s ORDER BY id", tenant.id, wamid)]


FAILED_ERROR = {
    "code": 131049,
    "title": "This message was not delivered to maintain healthy ecosystem engagement.",
    "message": "This message was not delivered to maintain healthy ecosystem engagement.",
    "error_data": {"details": "In order to maintain a healthy ecosystem engagement,"
                              " the message failed to be delivered."},
    "href": "/documentation/business-messaging/whatsapp/support/error-codes"}


@pytest.mark.parametrize("name", ["sent", "delivered", "read"])
def test_status_updates_the_outgoing_message(shop, name):
    wamid = new_wamid()
    mid = outgoing(shop, wamid)
    ts = int(time.time())
    reply = deliver(shop, status(wamid, name, ts))
    assert reply["statuses"] == 1 and reply["events"] == 1
    m = msg(shop, mid)
    assert m["status"] == name and m["status_times"] == {name: ts}
    assert status_events(shop, wamid) == [
        {"message_id": wamid, "status": name, "timestamp": str(ts)}]
    kept = shop.stack.query("SELECT * FROM message_statuses WHERE tenant_id = %s"
                            " AND wamid = %s", shop.id, wamid)
    assert len(kept) == 1 and kept[0]["raw"] == status(wamid, name, ts)
    assert kept[0]["applied_at"] is not None


def test_played_status_on_a_voice_note(shop):
    wamid = new_wamid()
    mid = outgoing(shop, wamid, mtype="voice")
    ts = int(time.time())
    deliver(shop, status(wamid, "sent", ts - 3), status(wamid, "delivered", ts - 2),
            status(wamid, "read", ts - 1), status(wamid, "played", ts))
    m = msg(shop, mid)
    assert m["status"] == "played"
    assert m["status_times"] == {"sent": ts - 3, "delivered": ts - 2,
                                 "read": ts - 1, "played": ts}
    assert [e["status"] for e in status_events(shop, wamid)] == ["played"]


def test_failed_status_keeps_meta_error(shop):
    wamid = new_wamid()
    mid = outgoing(shop, wamid)
    ts = int(time.time())
    s = status(wamid, "failed", ts, errors=[FAILED_ERROR])
    del s["conversation"], s["pricing"]
    deliver(shop, s)
    m = msg(shop, mid)
    assert m["status"] == "failed" and m["status_times"] == {"failed": ts}
    expected = {"code": 131049, "title": FAILED_ERROR["title"],
                "message": FAILED_ERROR["message"],
                "details": FAILED_ERROR["error_data"]["details"],
                "href": FAILED_ERROR["href"]}
    assert m["error"] == expected
    assert status_events(shop, wamid) == [{"message_id": wamid, "status": "failed",
                                           "timestamp": str(ts), "error": expected}]


def test_status_never_moves_backwards_and_keeps_every_time(shop):
    wamid = new_wamid()
    mid = outgoing(shop, wamid)
    ts = int(time.time())
    deliver(shop, status(wamid, "read", ts))
    reply = deliver(shop, status(wamid, "delivered", ts - 5))
    assert reply["statuses"] == 1 and reply["events"] == 0
    deliver(shop, status(wamid, "sent", ts - 9))
    m = msg(shop, mid)
    assert m["status"] == "read"
    assert m["status_times"] == {"read": ts, "delivered": ts - 5, "sent": ts - 9}
    assert [e["status"] for e in status_events(shop, wamid)] == ["read"]


def test_failed_rule_beats_sent_but_not_delivered(shop):
    # failed ranks between sent and delivered (README: Webhook).
    a, b = new_wamid(), new_wamid()
    ma, mb = outgoing(shop, a), outgoing(shop, b)
    ts = int(time.time())
    deliver(shop, status(a, "sent", ts - 5))
    deliver(shop, status(a, "failed", ts, errors=[FAILED_ERROR]))
    deliver(shop, status(a, "sent", ts + 1))             # no way back
    assert msg(shop, ma)["status"] == "failed"
    deliver(shop, status(b, "delivered", ts))
    deliver(shop, status(b, "failed", ts + 1, errors=[FAILED_ERROR]))
    m = msg(shop, mb)
    assert m["status"] == "delivered"
    assert set(m["status_times"]) == {"delivered", "failed"}
    assert m["error"]["code"] == 131049                  # kept for the record
    assert [e["status"] for e in status_events(shop, b)] == ["delivered"]


def test_duplicate_status_is_stored_once_and_emits_once(shop):
    wamid = new_wamid()
    outgoing(shop, wamid)
    s = status(wamid, "delivered", int(time.time()))
    deliver(shop, s)
    reply = deliver(shop, s)
    assert reply["statuses"] == 0 and reply["duplicates"] == 1
    # The same status with another timestamp is still the same status.
    reply = deliver(shop, dict(s, timestamp=str(int(s["timestamp"]) + 60)))
    assert reply["duplicates"] == 1
    assert len(status_events(shop, wamid)) == 1
    assert shop.stack.query("SELECT count(*) AS n FROM message_statuses WHERE"
                            " tenant_id = %s AND wamid = %s", shop.id,
                            wamid)[0]["n"] == 1


def test_status_before_its_message_is_applied_when_the_send_stores_the_wamid(shop):
    wamid = new_wamid()
    ts = int(time.time())
    reply = deliver(shop, status(wamid, "sent", ts), status(wamid, "delivered", ts + 1))
    assert reply["statuses"] == 2 and reply["events"] == 0
    waiting = shop.stack.query("SELECT status, applied_at FROM message_statuses"
                               " WHERE tenant_id = %s AND wamid = %s", shop.id, wamid)
    assert len(waiting) == 2 and all(w["applied_at"] is None for w in waiting)
    # What the send code does: a pending row first, the wamid once Meta
    # has answered.
    mid = outgoing(shop, None, status="pending")
    shop.stack.query("UPDATE messages SET wamid = %s, status = 'accepted'"
                     " WHERE id = %s", wamid, mid)
    m = msg(shop, mid)
    assert m["status"] == "delivered"
    assert m["status_times"] == {"sent": ts, "delivered": ts + 1}
    assert status_events(shop, wamid) == [
        {"message_id": wamid, "status": "delivered", "timestamp": str(ts + 1)}]
    assert all(w["applied_at"] is not None for w in shop.stack.query(
        "SELECT applied_at FROM message_statuses WHERE tenant_id = %s AND"
        " wamid = %s", shop.id, wamid))
    # A later status goes straight to the message.
    deliver(shop, status(wamid, "read", ts + 2))
    assert msg(shop, mid)["status"] == "read"


def test_status_before_a_message_inserted_with_its_wamid(shop):
    wamid = new_wamid()
    ts = int(time.time())
    deliver(shop, status(wamid, "read", ts))
    mid = outgoing(shop, wamid, status="accepted")
    assert msg(shop, mid)["status"] == "read"
    assert len(status_events(shop, wamid)) == 1


def test_status_event_follows_the_sends_own_event(shop):
    """The trigger runs at commit: inside the send's transaction, after its
    message_outgoing event, the waiting status's event comes second."""
    wamid = new_wamid()
    deliver(shop, status(wamid, "sent", int(time.time())))
    mid = outgoing(shop, None, status="pending")
    conn = shop.stack.db()
    try:
        with conn, conn.cursor() as c:
            c.execute("UPDATE messages SET wamid = %s, status = 'accepted'"
                      " WHERE id = %s", (wamid, mid))
            c.execute("SELECT wa_emit(%s, 'message_outgoing', %s)",
                      (shop.id, '{"message": {"id": "%s"}}' % wamid))
    finally:
        conn.close()
    names = [r["name"] for r in shop.stack.query(
        "SELECT name FROM events WHERE tenant_id = %s AND (data->>'message_id' = %s"
        " OR data->'message'->>'id' = %s) ORDER BY id", shop.id, wamid, wamid)]
    assert names == ["message_outgoing", "message_status"]


def test_status_for_another_tenants_message_changes_nothing(stack, shop):
    other = Tenant(stack)
    wamid = new_wamid()
    mid = outgoing(other, wamid)
    deliver(shop, status(wamid, "read", int(time.time())))
    assert msg(other, mid)["status"] == "accepted"
    assert status_events(other, wamid) == []
    assert status_events(shop, wamid) == []


def test_statuses_do_not_touch_incoming_messages(shop):
    wamid = new_wamid()
    frm = "1650" + "".join(secrets.choice("0123456789") for _ in range(8))
    body = shop.webhook(shop.webhook_value(
        contacts=[{"profile": {"name": "X"}, "wa_id": frm}],
        messages=[{"from": frm, "id": wamid, "timestamp": str(int(time.time())),
                   "type": "text", "text": {"body": "hi"}}]))
    assert shop.stack.post_webhook(body).status_code == 200
    deliver(shop, status(wamid, "read", int(time.time())))
    r = shop.stack.query("SELECT status FROM messages WHERE tenant_id = %s AND"
                         " wamid = %s", shop.id, wamid)[0]
    assert r["status"] == "received"
