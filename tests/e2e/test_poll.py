"""The /poll auto-reply (issue 7 item 5) and the interactive callback
events (item 6): a contact's "/poll" makes the backend send a reply-button
question through the Graph API (the simulator records it); the contact's
button reply or matching text answers it, "/cancel" cancels it, and wa-jobd
ends it at its deadline with no other traffic. State is in PostgreSQL only
(schema/functions/poll.sql); the question and the deadline are jobs
(tests/e2e/test_jobs.py)."""
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import new_wamid, wait_for


@pytest.fixture(autouse=True)
def no_poll_left_open(tenant):
    """Polls a test leaves open would time out (and emit) in the middle of
    later tests: close them quietly."""
    yield
    tenant.stack.query("UPDATE polls SET status = 'cancelled',"
                       " ended_at = now() WHERE tenant_id = %s AND"
                       " status = 'open'", tenant.id)


def phone():
    return "1651" + "".join(secrets.choice("0123456789") for _ in range(8))


def enable(tenant, on=True, timeout_s=60):
    tenant.stack.query(
        "UPDATE tenants SET settings = settings || %s::jsonb WHERE id = %s",
        json.dumps({"poll": on, "poll_timeout_s": timeout_s}), tenant.id)


def body(tenant, frm, *messages):
    return tenant.webhook(tenant.webhook_value(
        contacts=[{"profile": {"name": "Poll Taker"}, "wa_id": frm}],
        messages=list(messages)))


def text(frm, s, wamid=None):
    return {"from": frm, "id": wamid or new_wamid(),
            "timestamp": str(int(time.time())), "type": "text",
            "text": {"body": s}}


def button(frm, context, bid, title):
    return {"from": frm, "id": new_wamid(), "timestamp": str(int(time.time())),
            "type": "interactive", "context": {"from": "15550001111",
                                                "id": context},
            "interactive": {"type": "button_reply",
                            "button_reply": {"id": bid, "title": title}}}


def send(tenant, frm, *messages):
    r = tenant.stack.post_webhook(body(tenant, frm, *messages))
    assert r.status_code == 200, r.text


@pytest.fixture
def witness(make_tenant):
    """A second tenant with polls on, whose "/poll" rides along in a body
    (see send_settled)."""
    w = make_tenant()
    enable(w)
    return w


def with_witness(b, witness):
    """b plus, as its last entry, a "/poll" from a new number of witness:
    its question is a job written in b's transaction, after any job b's own
    messages call for. Returns (body, witness's phone)."""
    frm = phone()
    b = json.loads(json.dumps(b))
    b["entry"] += body(witness, frm, text(frm, "/poll"))["entry"]
    return b, frm


def witnessed(witness, frm, timeout=8):
    """Waits for the witness's poll_started, then for every question job
    to be over (wa-jobd runs them side by side, so the witness's may end
    first): the work the body that carried it caused is done."""
    assert wait_for(lambda: events(witness, "poll_started", phone="+" + frm),
                    timeout=timeout), "witness poll never started"
    assert wait_for(lambda: not witness.stack.query(
        "SELECT 1 FROM jobs WHERE kind = 'poll_question' AND state IN"
        " ('queued', 'claimed', 'running')"), timeout=timeout), \
        "question jobs still pending"


def send_settled(tenant, witness, frm, *messages):
    """Like send(), but returns only once the work the body caused (the
    questions to send) is over, proved by a witness."""
    b, w = with_witness(body(tenant, frm, *messages), witness)
    r = tenant.stack.post_webhook(b)
    assert r.status_code == 200, r.text
    witnessed(witness, w)
    return r.json()


def events(tenant, name, **data):
    rows = tenant.stack.query(
        "SELECT name, data FROM events WHERE tenant_id = %s AND name = %s"
        " ORDER BY id", tenant.id, name)
    return [r["data"] for r in rows
            if all(r["data"].get(k) == v for k, v in data.items())]


def polls(tenant, frm):
    return tenant.stack.query(
        "SELECT p.* FROM polls p JOIN contacts c ON c.id = p.contact_id"
        " WHERE p.tenant_id = %s AND c.wa_id = %s ORDER BY p.id",
        tenant.id, frm)


def questions(tenant, frm):
    """Interactive button messages the simulator received for frm."""
    r = requests.get(tenant.stack.sim + "/_sim/requests", timeout=5,
                     params={"path_contains": tenant.pnid + "/messages"})
    return [q["json"] for q in r.json()
            if (q.get("json") or {}).get("to") == frm and
            q["json"].get("type") == "interactive"]


def start(tenant, frm):
    """/poll from frm; waits for poll_started; returns its data."""
    send(tenant, frm, text(frm, " /Poll "))
    started = wait_for(lambda: events(tenant, "poll_started",
                                      phone="+" + frm), timeout=5)
    assert started, "no poll_started"
    return started[0]


def ended(tenant, poll_id, timeout=5.0):
    got = wait_for(lambda: events(tenant, "poll_ended", poll_id=poll_id),
                   timeout=timeout)
    assert got, "no poll_ended"
    return got


def test_poll_sends_an_interactive_question_and_emits_poll_started(tenant):
    enable(tenant)
    frm = phone()
    st = start(tenant, frm)
    q = questions(tenant, frm)
    assert len(q) == 1
    inter = q[0]["interactive"]
    assert inter["type"] == "button"
    assert inter["body"]["text"] == st["question"]
    buttons = inter["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == \
        [o["id"] for o in st["options"]]
    assert all(b["type"] == "reply" for b in buttons)
    p = polls(tenant, frm)
    assert len(p) == 1 and p[0]["status"] == "open"
    assert p[0]["question_wamid"] == st["message_id"]
    assert st["poll_id"] == p[0]["id"] and st["deadline"]
    # Stored and announced like any outgoing message.
    out = tenant.stack.query(
        "SELECT type, direction, status FROM messages WHERE tenant_id = %s"
        " AND wamid = %s", tenant.id, st["message_id"])
    assert len(out) == 1 and out[0]["type"] == "interactive"
    assert out[0]["direction"] == "out" and out[0]["status"] != "failed"
    assert any(e["message"]["id"] == st["message_id"]
               for e in events(tenant, "message_outgoing"))


def test_second_poll_while_one_is_open_does_not_start_another(tenant,
                                                              witness):
    enable(tenant)
    frm = phone()
    start(tenant, frm)
    send_settled(tenant, witness, frm, text(frm, "/poll"))
    send_settled(tenant, witness, frm, text(frm, "/poll"), text(frm, "/POLL"))
    assert len(polls(tenant, frm)) == 1
    assert len(questions(tenant, frm)) == 1
    assert len(events(tenant, "poll_started")) == 1


def test_concurrent_polls_from_one_contact_open_one(tenant, witness):
    """Two deliveries racing in different responders: the partial unique
    index, not a check, keeps it to one open poll."""
    enable(tenant)
    frm = phone()
    bodies = [with_witness(body(tenant, frm, text(frm, "/poll")), witness)
              for _ in range(6)]
    with ThreadPoolExecutor(6) as ex:
        codes = list(ex.map(lambda b: tenant.stack.post_webhook(b[0])
                            .status_code, bodies))
    assert codes == [200] * 6
    for _, w in bodies:
        witnessed(witness, w)
    assert len(polls(tenant, frm)) == 1
    assert len(questions(tenant, frm)) == 1


def test_button_reply_answers_the_poll(tenant):
    enable(tenant)
    frm = phone()
    st = start(tenant, frm)
    opt = st["options"][1]
    send(tenant, frm, button(frm, st["message_id"], opt["id"], opt["title"]))
    resp = events(tenant, "poll_response", poll_id=st["poll_id"])
    assert len(resp) == 1
    assert resp[0]["option_id"] == opt["id"]
    assert resp[0]["title"] == opt["title"]
    assert resp[0]["phone"] == "+" + frm
    end = ended(tenant, st["poll_id"])
    assert [e["reason"] for e in end] == ["answered"]
    assert polls(tenant, frm)[0]["status"] == "answered"


def test_text_matching_an_option_answers_the_poll(tenant):
    enable(tenant)
    frm = phone()
    st = start(tenant, frm)
    send(tenant, frm, text(frm, "something else"))
    assert events(tenant, "poll_response") == []
    opt = st["options"][0]
    send(tenant, frm, text(frm, "  " + opt["title"].upper() + " "))
    resp = events(tenant, "poll_response", poll_id=st["poll_id"])
    assert [r["option_id"] for r in resp] == [opt["id"]]
    assert [e["reason"] for e in ended(tenant, st["poll_id"])] == ["answered"]
    # Over: the same text again is just a message.
    send(tenant, frm, text(frm, opt["title"]))
    assert len(events(tenant, "poll_response")) == 1


def test_cancel_ends_the_poll(tenant):
    enable(tenant)
    frm = phone()
    st = start(tenant, frm)
    send(tenant, frm, text(frm, "/cancel"))
    assert [e["reason"] for e in ended(tenant, st["poll_id"])] == \
        ["cancelled"]
    assert events(tenant, "poll_response") == []
    # A new poll may start once the old one is over.
    send(tenant, frm, text(frm, "/poll"))
    assert wait_for(lambda: len(events(tenant, "poll_started")) == 2)
    assert [p["status"] for p in polls(tenant, frm)] == ["cancelled", "open"]


def test_unanswered_poll_times_out_within_a_second_of_its_deadline(tenant):
    enable(tenant, timeout_s=2)
    frm = phone()
    st = start(tenant, frm)
    p = polls(tenant, frm)[0]
    # No traffic at all from here on: its poll_timeout job must end it.
    end = ended(tenant, st["poll_id"], timeout=6)
    assert [e["reason"] for e in end] == ["timeout"]
    row = polls(tenant, frm)[0]
    assert row["status"] == "timeout"
    late = (row["ended_at"] - p["deadline"]).total_seconds()
    assert 0 <= late < 1.0, late
    # A button press after the timeout answers nothing.
    o = st["options"][0]
    send(tenant, frm, button(frm, st["message_id"], o["id"], o["title"]))
    assert events(tenant, "poll_response") == []


def test_same_webhook_twice_makes_one_poll_and_one_response(tenant, witness):
    enable(tenant)
    frm = phone()
    poll = text(frm, "/poll")
    for _ in range(2):      # the same message, as Meta retries it
        send_settled(tenant, witness, frm, poll)
    st = events(tenant, "poll_started")
    assert st
    st = st[0]
    assert len(polls(tenant, frm)) == 1
    assert len(questions(tenant, frm)) == 1
    o = st["options"][2]
    b = body(tenant, frm, button(frm, st["message_id"], o["id"], o["title"]))
    for _ in range(2):
        assert tenant.stack.post_webhook(b).status_code == 200
    assert len(events(tenant, "poll_response")) == 1
    assert len(events(tenant, "poll_ended")) == 1


def test_poll_disabled_tenant_treats_poll_as_a_plain_message(tenant,
                                                            witness):
    enable(tenant, on=False)
    frm = phone()
    w = new_wamid()
    send_settled(tenant, witness, frm, text(frm, "/poll", wamid=w))
    assert polls(tenant, frm) == []
    assert questions(tenant, frm) == []
    assert events(tenant, "poll_started") == []
    assert len(events(tenant, "message_incoming")) == 1


def test_failed_question_send_ends_the_poll(tenant, stack):
    enable(tenant)
    frm = phone()
    r = requests.post(stack.sim + "/_sim/fail", json={
        "path": "messages", "to": frm, "code": 131026, "times": 1},
        timeout=5)
    assert r.status_code == 200, r.text
    send(tenant, frm, text(frm, "/poll"))
    got = wait_for(lambda: events(tenant, "poll_ended"))
    assert got and got[0]["reason"] == "failed"
    assert events(tenant, "poll_started") == []
    assert polls(tenant, frm)[0]["status"] == "failed"


def test_webhook_answers_before_the_question_is_sent(tenant, stack):
    """The 200 does not wait for the Graph call: a slow Meta (simulated
    delay) does not slow the webhook down."""
    enable(tenant)
    frm = phone()
    r = requests.post(stack.sim + "/_sim/fail", json={
        "path": "messages", "to": frm, "delay_ms": 1500, "times": 1},
        timeout=5)
    assert r.status_code == 200, r.text
    t0 = time.time()
    send(tenant, frm, text(frm, "/poll"))
    took = time.time() - t0
    assert took < 1.0, took
    assert wait_for(lambda: events(tenant, "poll_started"), timeout=8)
    assert time.time() - t0 >= 1.5


def test_button_clicked_carries_context_button_id_and_title(tenant):
    frm = phone()
    ctx = new_wamid()
    send(tenant, frm, button(frm, ctx, "btn-yes", "Yes please"))
    ev = events(tenant, "button_clicked", context_message_id=ctx)
    assert len(ev) == 1
    assert ev[0]["button_id"] == "btn-yes"
    assert ev[0]["title"] == "Yes please"
    assert ev[0]["phone"] == "+" + frm


def test_selection_made_carries_context_row_id_and_title(tenant):
    frm = phone()
    ctx = new_wamid()
    m = {"from": frm, "id": new_wamid(), "timestamp": str(int(time.time())),
         "type": "interactive", "context": {"id": ctx},
         "interactive": {"type": "list_reply", "list_reply": {
             "id": "row-2", "title": "Large", "description": "XL too"}}}
    send(tenant, frm, m)
    ev = events(tenant, "selection_made", context_message_id=ctx)
    assert len(ev) == 1
    assert ev[0]["row_id"] == "row-2"
    assert ev[0]["title"] == "Large"
    assert ev[0]["description"] == "XL too"
