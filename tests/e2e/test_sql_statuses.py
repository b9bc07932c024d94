"""schema/functions/statuses.sql, called directly: the order of delivery
statuses, a message's status that only moves up while every status keeps
its time, and a report that comes before the send stored the wamid."""
import json
import secrets

import pytest

ORDER = ["pending", "accepted", "sent", "failed", "delivered", "read",
         "played"]


@pytest.fixture(scope="module")
def tenant_id(stack):
    pnid = "3" + "".join(secrets.choice("0123456789") for _ in range(14))
    return stack.query("INSERT INTO tenants (name, phone_number_id, waba_id,"
                       " access_token) VALUES ('sql statuses', %s, '2', 'x')"
                       " RETURNING id", pnid)[0]["id"]


def outgoing(stack, tenant_id, wamid, status="accepted"):
    """An outgoing message as the send code stores it."""
    wa = "1650" + "".join(secrets.choice("0123456789") for _ in range(8))
    cid = stack.query("SELECT wa_contact_resolve(%s, %s, NULL, NULL) AS id",
                      tenant_id, wa)[0]["id"]
    stack.query("INSERT INTO messages (tenant_id, contact_id, wamid,"
                " direction, type, text, status) VALUES (%s, %s, %s, 'out',"
                " 'text', 'hi', %s)", tenant_id, cid, wamid, status)


def report(stack, tenant_id, wamid, name, ts, **extra):
    """One statuses[] item through wa_wh_statuses: (new, dup, events)."""
    s = dict({"id": wamid, "status": name, "timestamp": str(ts),
              "recipient_id": "16505551234"}, **extra)
    r = stack.query("SELECT * FROM wa_wh_statuses(%s, %s::jsonb)", tenant_id,
                    json.dumps([s]))[0]
    return r["n_new"], r["n_dup"], r["n_events"]


def message(stack, tenant_id, wamid):
    return stack.query("SELECT status, status_times, error FROM messages"
                       " WHERE tenant_id = %s AND wamid = %s", tenant_id,
                       wamid)[0]


def status_events(stack, tenant_id, wamid):
    return [r["data"]["status"] for r in stack.query(
        "SELECT data FROM events WHERE tenant_id = %s AND name ="
        " 'message_status' AND data->>'message_id' = %s ORDER BY id",
        tenant_id, wamid)]


def wamid():
    return "wamid.sqlst" + secrets.token_hex(8)


def test_wa_status_rank_orders_the_statuses(stack):
    ranks = stack.query("SELECT s, wa_status_rank(s) AS r FROM"
                        " unnest(%s::text[]) WITH ORDINALITY AS x(s, n)"
                        " ORDER BY n", ORDER)
    assert [r["r"] for r in ranks] == sorted(r["r"] for r in ranks)
    assert len({r["r"] for r in ranks}) == len(ORDER)
    assert stack.query("SELECT wa_status_rank('deleted') AS r")[0]["r"] is None


def test_status_moves_up_only_and_every_status_keeps_its_time(
        stack, tenant_id):
    w = wamid()
    outgoing(stack, tenant_id, w)
    assert report(stack, tenant_id, w, "delivered", 1764000100) == (1, 0, 1)
    assert report(stack, tenant_id, w, "sent", 1764000090) == (1, 0, 0)
    m = message(stack, tenant_id, w)
    assert m["status"] == "delivered"
    assert m["status_times"] == {"sent": 1764000090, "delivered": 1764000100}
    assert report(stack, tenant_id, w, "read", 1764000200) == (1, 0, 1)
    assert report(stack, tenant_id, w, "read", 1764000200) == (0, 1, 0)
    assert message(stack, tenant_id, w)["status"] == "read"
    assert status_events(stack, tenant_id, w) == ["delivered", "read"]


def test_failed_beats_sent_but_not_delivered(stack, tenant_id):
    err = {"code": 131026, "title": "Message undeliverable",
           "error_data": {"details": "Receiver is incapable"}}
    w = wamid()
    outgoing(stack, tenant_id, w)
    report(stack, tenant_id, w, "sent", 1764000000)
    assert report(stack, tenant_id, w, "failed", 1764000010,
                  errors=[err]) == (1, 0, 1)
    m = message(stack, tenant_id, w)
    assert m["status"] == "failed"
    assert m["error"] == {"code": 131026, "title": "Message undeliverable",
                          "details": "Receiver is incapable"}

    w = wamid()
    outgoing(stack, tenant_id, w)
    report(stack, tenant_id, w, "delivered", 1764000000)
    assert report(stack, tenant_id, w, "failed", 1764000010,
                  errors=[err]) == (1, 0, 0)
    m = message(stack, tenant_id, w)
    assert m["status"] == "delivered" and "failed" in m["status_times"]


def test_a_report_before_its_wamid_waits_then_applies_when_the_send_stores_it(
        stack, tenant_id):
    w = wamid()
    assert report(stack, tenant_id, w, "delivered", 1764000100) == (1, 0, 0)
    assert stack.query("SELECT applied_at FROM message_statuses WHERE"
                       " tenant_id = %s AND wamid = %s", tenant_id,
                       w)[0]["applied_at"] is None
    outgoing(stack, tenant_id, w)   # its trigger runs at commit
    assert message(stack, tenant_id, w)["status"] == "delivered"
    assert status_events(stack, tenant_id, w) == ["delivered"]


def test_reports_about_incoming_messages_change_nothing(stack, tenant_id):
    w = wamid()
    cid = stack.query("SELECT wa_contact_resolve(%s, '16505550999', NULL,"
                      " NULL) AS id", tenant_id)[0]["id"]
    stack.query("INSERT INTO messages (tenant_id, contact_id, wamid,"
                " direction, type, status) VALUES (%s, %s, %s, 'in', 'text',"
                " 'received')", tenant_id, cid, w)
    assert report(stack, tenant_id, w, "read", 1764000100) == (1, 0, 0)
    assert message(stack, tenant_id, w)["status"] == "received"
