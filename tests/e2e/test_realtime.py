"""Real-time delivery: events from PostgreSQL through wa-pushd and nginx to
real WebSocket clients, none lost (issue 4).

Events are emitted the way responders emit them, `SELECT wa_emit(...)` in
the transaction of the change; a webhook test covers the whole path.
Every test runs on each push module (the
push_module fixture: test_x[pushstream], test_x[nchan]).
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests
import websocket

from conftest import new_wamid, read_head, wait_for

pytestmark = pytest.mark.usefixtures("push_module")


# --- a client that follows the README's recipe --------------------------------

def ws_url(stack, tenant_id, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    return "ws://127.0.0.1:%s/ws/%s%s" % (stack.env["WA_HTTP_PORT"],
                                          tenant_id, "?" + q if q else "")


def ws_ticket(stack, tenant_id, token):
    """POST /api/v1/ws-ticket: the response (a ticket in .json() on 200)."""
    return requests.post(stack.url("/api/v1/ws-ticket"), timeout=10,
                         headers={"Authorization": "Bearer " + token,
                                  "X-Tenant-Id": tenant_id})


def ticket_for(stack, tenant, token=None):
    r = ws_ticket(stack, tenant.id, token or tenant.token)
    assert r.status_code == 200, r.text
    return r.json()["ticket"]


def connect(stack, tenant, timeout=2, token=None, **query):
    """A socket opened the README's way: a ticket, then the upgrade."""
    query["ticket"] = ticket_for(stack, tenant, token)
    return websocket.create_connection(ws_url(stack, tenant.id, **query),
                                       timeout=timeout)


def refused_status(url, **kw):
    """The handshake's HTTP status when nginx refuses the upgrade."""
    try:
        ws = websocket.create_connection(url, timeout=3, **kw)
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    ws.close()
    return 101


def recv_frame(ws):
    """One data frame as (opcode, parsed JSON); pings are answered by the
    library and never returned."""
    opcode, data = ws.recv_data()
    if opcode == websocket.ABNF.OPCODE_CLOSE:    # nginx going away: 1001
        raise websocket.WebSocketConnectionClosedException("closed")
    return opcode, json.loads(data)


def recv_frames(ws, n, timeout=3.0):
    out, deadline = [], time.time() + timeout
    while len(out) < n and time.time() < deadline:
        ws.settimeout(max(0.05, deadline - time.time()))
        try:
            out.append(recv_frame(ws)[1])
        except websocket.WebSocketTimeoutException:
            break
    return out


def next_is_witness(stack, tenant_id, ws, want_id):
    """Emits a witness event and asserts it is the next frame, numbered
    want_id: a frame that should not have come (another tenant's, a forged
    or repeated one) was published before it, so would be read first."""
    emit(stack, tenant_id, witness=want_id)
    assert recv_frames(ws, 1) == [{"id": want_id, "event": "test_event",
                                   "data": {"witness": want_id}}]


class Client:
    """The reconnecting client of the README: WebSocket frames plus
    GET /api/v1/events catch-up; drops ids it has, refetches on a gap."""

    def __init__(self, stack, tenant):
        self.stack, self.tenant = stack, tenant
        self.events, self.ws = [], None

    @property
    def last(self):
        return self.events[-1]["id"] if self.events else 0

    def connect(self):
        q = {"last_event_id": self.last} if self.last else {}
        deadline = time.time() + 5
        while True:
            try:
                self.ws = connect(self.stack, self.tenant, **q)
                break
            # Also a ticket refused while nginx restarts (502/503).
            except (OSError, AssertionError, websocket.WebSocketException):
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.catch_up()

    def catch_up(self):
        while True:
            r = self.tenant.api("GET", "/api/v1/events",
                                params={"after": self.last, "limit": 1000})
            assert r.status_code == 200, r.text
            body = r.json()
            for e in body["events"]:
                self.take(e)
            if not body["events"]:
                return

    def take(self, e):
        if e["id"] <= self.last:
            return                      # a replay or a duplicate
        if e["id"] != self.last + 1:
            self.catch_up()             # a gap: the database has it
            if e["id"] <= self.last:
                return
        assert e["id"] == self.last + 1, (e, self.last)
        self.events.append(e)

    def pump(self, until, timeout=5.0):
        """Reads frames until until(self) or timeout; reconnects when the
        connection drops."""
        deadline = time.time() + timeout
        while not until(self) and time.time() < deadline:
            try:
                self.ws.settimeout(0.2)
                self.take(recv_frame(self.ws)[1])
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException):
                self.ws.close()
                self.connect()
        return until(self)

    def close(self):
        if self.ws is not None:
            self.ws.close()


def emit(stack, tenant_id, name="test_event", **data):
    """An event with made-up data. By default its name is none of the
    document's events (nginx/www/openapi.json, Frame): conftest checks
    every frame, and holds a known event's data to its schema."""
    stack.query("SELECT wa_emit(%s, %s, %s::jsonb)", tenant_id, name,
                json.dumps(data))


def seqs(stack, tenant_id):
    return [r["seq"] for r in stack.query(
        "SELECT seq FROM events WHERE tenant_id = %s ORDER BY id", tenant_id)]


def pushd_pid(stack):
    with open(os.path.join(stack.run_dir, "run", "pushd.pid")) as f:
        return int(f.read().split()[0])


def kill9(pid):
    """SIGKILL, then wait until the process is reaped: stack.sh would take
    a zombie for a running wa-pushd."""
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), timeout=5)


def cursor(stack, tenant_id):
    """(the tenant's last seq given out, the last nginx acknowledged)"""
    rows = stack.query(
        "SELECT coalesce((SELECT last_seq FROM event_counters"
        " WHERE tenant_id = %s), 0) AS assigned, coalesce((SELECT published"
        " FROM event_cursors WHERE tenant_id = %s), 0) AS published",
        tenant_id, tenant_id)
    return (rows[0]["assigned"], rows[0]["published"])


class Emitter(threading.Thread):
    """Emits n events for a tenant, one transaction each, at a steady pace."""

    def __init__(self, stack, tenant_id, n, every=0.004):
        super().__init__(daemon=True)
        self.stack, self.tenant_id, self.n, self.every = stack, tenant_id, n, every
        self.error = None

    def run(self):
        try:
            conn = self.stack.db()
            conn.autocommit = True
            with conn.cursor() as c:
                for i in range(self.n):
                    c.execute("SELECT wa_emit(%s, 'test_event', %s::jsonb)",
                              (self.tenant_id, json.dumps({"n": i})))
                    time.sleep(self.every)
            conn.close()
        except Exception as e:          # reported by the test
            self.error = e


def assert_complete(client, n):
    assert [e["id"] for e in client.events] == list(range(1, n + 1))
    assert [e["data"]["n"] for e in client.events] == list(range(n))


# --- delivery -----------------------------------------------------------------

def test_event_reaches_the_subscriber_within_a_second_as_one_json_text_frame(stack, tenant):
    ws = connect(stack, tenant)
    try:
        t0 = time.time()
        emit(stack, tenant.id, "message_status", message_id="wamid.X",
             status="read", timestamp="1744344496")
        opcode, frame = recv_frame(ws)
        assert time.time() - t0 < 1.0
        assert opcode == websocket.ABNF.OPCODE_TEXT
        assert frame == {"id": 1, "event": "message_status",
                         "data": {"message_id": "wamid.X", "status": "read",
                                  "timestamp": "1744344496"}}
    finally:
        ws.close()


def test_a_reconnect_with_last_event_id_gets_the_frames_it_missed(
        push_module, stack, tenant):
    ws = connect(stack, tenant)
    try:
        for i in range(3):
            emit(stack, tenant.id, n=i)
        assert [f["id"] for f in recv_frames(ws, 3)] == [1, 2, 3]
    finally:
        ws.close()
    # Back with its last id: the module's buffer replays what it missed,
    # then live frames follow (the 4th event is the witness that the
    # replay is over).
    ws = connect(stack, tenant, last_event_id=1)
    try:
        emit(stack, tenant.id, n=3)
        got = []
        while not got or got[-1]["id"] != 4:
            frame = recv_frames(ws, 1)
            assert frame, "no frame after %s" % got
            got += frame
        # push-stream resumes after the stored frame of that Event-Id;
        # nchan cannot read our ids and replays its whole buffer, which
        # the client drops down to what it lacks.
        want = [2, 3, 4] if push_module == "pushstream" else [1, 2, 3, 4]
        assert [f["id"] for f in got] == want
        assert [f["data"]["n"] for f in got] == [i - 1 for i in want]
    finally:
        ws.close()


def test_signed_webhook_produces_a_frame_within_a_second(stack, tenant):
    ws = connect(stack, tenant)
    try:
        body = tenant.webhook(tenant.webhook_value(
            contacts=[{"profile": {"name": "Ann"}, "wa_id": "15551234567"}],
            messages=[{"from": "15551234567", "id": new_wamid(),
                       "timestamp": str(int(time.time())), "type": "text",
                       "text": {"body": "hello"}}]))
        t0 = time.time()
        r = stack.post_webhook(body)
        assert r.status_code == 200, r.text
        opcode, frame = recv_frame(ws)
        assert time.time() - t0 < 1.0
        assert opcode == websocket.ABNF.OPCODE_TEXT
        assert frame["id"] == 1 and frame["event"] == "message_incoming"
    finally:
        ws.close()


def waiting_on_a_lock(stack, query_part):
    """The backends whose running statement contains query_part and that
    wait for a lock."""
    return stack.query(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE %s", "%" + query_part + "%")


def test_ids_start_at_one_per_tenant_and_follow_commit_order_without_gaps(
        stack, make_tenant):
    """A transaction numbers its events as it writes them and keeps its
    tenant's counter until it ends (schema/functions/events.sql): a second
    writer of the same tenant waits and takes the next number, so a
    tenant's events commit in seq order and no reader ever sees seq 2
    before seq 1. Other tenants do not wait."""
    a, b = make_tenant(), make_tenant()
    wa, wb = connect(stack, a), connect(stack, b)
    first = stack.db()
    second = threading.Thread(target=emit, args=(stack, a.id),
                              kwargs={"n": "second"}, daemon=True)
    try:
        with first.cursor() as c:
            c.execute("SELECT wa_emit(%s, 'test_event', '{\"n\": \"first\"}')",
                      (a.id,))
        second.start()
        assert wait_for(lambda: waiting_on_a_lock(stack, '"second"'))
        # Tenant b is not held up by a's open transaction.
        emit(stack, b.id, n="b1")
        assert recv_frames(wb, 1) == [{"id": 1, "event": "test_event",
                                       "data": {"n": "b1"}}]
        # a's second writer is still waiting, so nothing of a's is out.
        assert a.api("GET", "/api/v1/events").json()["events"] == []
        first.commit()
        second.join(timeout=5)
        assert not second.is_alive()
        for i in range(3):
            emit(stack, a.id, n=i)
            emit(stack, b.id, n="b%d" % (i + 2))
        got_a, got_b = recv_frames(wa, 5), recv_frames(wb, 3)
        assert [f["id"] for f in got_a] == [1, 2, 3, 4, 5]
        assert [f["data"]["n"] for f in got_a] == ["first", "second", 0, 1, 2]
        assert [f["id"] for f in got_b] == [2, 3, 4]
        assert [f["data"]["n"] for f in got_b] == ["b2", "b3", "b4"]
        # The catch-up API serves the very same frames.
        r = a.api("GET", "/api/v1/events", params={"after": 1, "limit": 3})
        assert r.status_code == 200
        assert r.json() == {"ok": True, "events": got_a[1:4], "last_id": 4}
    finally:
        first.close()
        wa.close()
        wb.close()


def test_no_wake_up_is_lost_while_the_relay_dozes_off(stack, tenant):
    """Transactions NOTIFY only while wa-pushd sleeps, and it falls asleep
    only once no transaction that saw it awake is still running (pushd/
    outbox.c). Each round catches wa-pushd awake (just after it published
    a primer event), emits an event in a transaction that commits only
    after wa-pushd has let go of "awake": that event must still arrive at
    once, not when a timer or the sweep next wakes wa-pushd (every 250 ms
    to 1 s)."""
    ws = connect(stack, tenant, timeout=5)
    conn = stack.db()
    waits = []
    try:
        with conn.cursor() as c:
            for i in range(12):
                c.execute("SELECT wa_emit(%s, 'test_event', %s)",
                          (tenant.id, json.dumps({"primer": i})))
                conn.commit()
                assert recv_frame(ws)[1]["data"] == {"primer": i}
                # wa-pushd is awake now: this transaction stays quiet.
                c.execute("SELECT wa_emit(%s, 'test_event', %s)",
                          (tenant.id, json.dumps({"n": i})))
                time.sleep(0.02)
                conn.commit()
                t0 = time.time()
                assert recv_frame(ws)[1]["data"] == {"n": i}
                waits.append(round(time.time() - t0, 3))
    finally:
        conn.close()
        ws.close()
    # A lost wake-up waits ~125 ms on average for the next timer; a
    # stall of this shared machine may delay one or two rounds too.
    assert sum(w > 0.1 for w in waits) <= 2, waits


def test_many_events_at_once_arrive_in_order(stack, tenant):
    ws = connect(stack, tenant)
    try:
        # One transaction, 1200 events: several batches for wa-pushd.
        stack.query("SELECT wa_emit(%s, 'test_event', jsonb_build_object('n', i))"
                    " FROM generate_series(0, 1199) i", tenant.id)
        got = recv_frames(ws, 1200, timeout=10)
        assert [f["id"] for f in got] == list(range(1, 1201))
        assert [f["data"]["n"] for f in got] == list(range(1200))
    finally:
        ws.close()


def test_two_busy_tenants_both_get_everything_in_order_while_batches_run_ahead(
        stack, make_tenant):
    """Two tenants with more events than a batch each: wa-pushd takes the
    tenants in turns and fetches the next batch while publishing one (each
    batch starts after what the previous one fetched, per tenant), so each
    subscriber gets all of its tenant's frames, in order, none twice."""
    a, b = make_tenant(), make_tenant()
    wa, wb = connect(stack, a), connect(stack, b)
    try:
        for t in (a, b):
            stack.query("SELECT wa_emit(%s, 'test_event',"
                        " jsonb_build_object('n', i))"
                        " FROM generate_series(0, 1199) i", t.id)
        for ws in (wa, wb):
            got = recv_frames(ws, 1200, timeout=15)
            assert [f["id"] for f in got] == list(range(1, 1201))
            assert [f["data"]["n"] for f in got] == list(range(1200))
        # Nothing more comes: the next frame is a new witness.
        next_is_witness(stack, a.id, wa, 1201)
    finally:
        wa.close()
        wb.close()


def test_a_bulk_writer_numbers_its_rows_itself_and_they_are_relayed(
        stack, tenant):
    """Events inserted with their numbers taken as one range (how bulk
    writers such as the batched ingest path number theirs) are relayed in
    seq order, and the counter stays right for the next writer."""
    ws = connect(stack, tenant)
    try:
        stack.query("WITH s AS (SELECT wa_event_seqs_take(%s, 3) AS first)"
                    " INSERT INTO events (tenant_id, seq, name, data)"
                    " SELECT %s, s.first + g, 'test_event',"
                    " jsonb_build_object('n', g) FROM s, generate_series(0, 2) g",
                    tenant.id, tenant.id)
        emit(stack, tenant.id, n=3)
        got = recv_frames(ws, 4)
        assert [(f["id"], f["data"]["n"]) for f in got] == [
            (1, 0), (2, 1), (3, 2), (4, 3)]
    finally:
        ws.close()


# --- tenant isolation and authentication ---------------------------------------

def test_a_subscriber_never_receives_another_tenants_events(stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    wa, wb = connect(stack, a), connect(stack, b)
    try:
        emit(stack, b.id, secret="for b only")
        assert recv_frames(wb, 1)[0]["data"] == {"secret": "for b only"}
        # A's own event, emitted after B's, is the first frame A sees.
        next_is_witness(stack, a.id, wa, 1)
        r = a.api("GET", "/api/v1/events")
        assert [e["data"] for e in r.json()["events"]] == [{"witness": 1}]
        # B's events through A's token and B's tenant header: refused.
        r = requests.get(stack.url("/api/v1/events"), headers={
            "Authorization": "Bearer " + a.token, "X-Tenant-Id": b.id})
        assert r.status_code == 403
    finally:
        wa.close()
        wb.close()


def _jwt(secret, claims):
    def b64(d):
        return base64.urlsafe_b64encode(d).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret.encode(), head + b"." + body,
                       hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def test_websocket_is_refused_before_upgrade_without_a_valid_member_token(
        stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    user_id = a.api("GET", "/api/v1/me").json()["user"]["id"]
    now = int(time.time())
    expired = _jwt(stack.env["WA_JWT_SECRET"], {
        "sub": user_id, "jti": str(uuid.uuid4()), "iat": now - 600,
        "nbf": now - 600, "exp": now - 60})
    forged = _jwt("not-the-secret", {
        "sub": user_id, "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
        "exp": now + 600})
    url = lambda tid, **q: ws_url(stack, tid, **q)      # noqa: E731
    # Tickets are issued only for a valid token of a member.
    assert ws_ticket(stack, a.id, "not.a.jwt").status_code == 401
    assert ws_ticket(stack, a.id, forged).status_code == 401
    assert ws_ticket(stack, a.id, expired).status_code == 401
    assert ws_ticket(stack, b.id, a.token).status_code == 403
    assert refused_status(url(a.id)) == 401                         # missing
    assert refused_status(url(a.id, ticket="wst_" + "0" * 64)) == 401  # bogus
    # A token is no credential in a URL (URLs are logged).
    assert refused_status(url(a.id, token=a.token)) == 401
    # A ticket opens one socket, to its own tenant, within its time.
    t = ticket_for(stack, a)
    assert refused_status(url(b.id, ticket=t)) == 401               # other tenant
    assert refused_status(url(a.id, ticket=t)) == 401               # spent
    t = ticket_for(stack, a)
    stack.query("UPDATE ws_tickets SET expires_at = now() - interval '1 s'")
    assert refused_status(url(a.id, ticket=t)) == 401               # expired
    assert refused_status(url(a.id, ticket=ticket_for(stack, b))) == 401
    # Channel names are one strict segment: no lists, no backtrack.
    assert refused_status(url(a.id + "/" + b.id,
                              ticket=ticket_for(stack, a))) == 404
    assert refused_status(url(a.id + ".b5", ticket=ticket_for(stack, a))) == 404
    assert refused_status(url(a.id, ticket=ticket_for(stack, a))) == 101
    assert refused_status(url(a.id, ticket=ticket_for(stack, a),
                              last_event_id=1)) == 101


def test_websocket_accepts_the_session_cookie(stack, tenant):
    ws = websocket.create_connection(
        ws_url(stack, tenant.id), timeout=2,
        cookie="session=" + tenant.token, origin=stack.base)
    try:
        emit(stack, tenant.id, via="cookie")
        assert recv_frames(ws, 1)[0]["data"] == {"via": "cookie"}
    finally:
        ws.close()


# --- the catch-up API ---------------------------------------------------------

def test_events_api_pages_after_an_id_and_validates_its_parameters(stack, tenant):
    for i in range(5):
        emit(stack, tenant.id, n=i)
    assert wait_for(lambda: cursor(stack, tenant.id)[1] == 5)
    r = tenant.api("GET", "/api/v1/events")
    assert r.status_code == 200
    body = r.json()
    assert [e["id"] for e in body["events"]] == [1, 2, 3, 4, 5]
    assert body["last_id"] == 5
    body = tenant.api("GET", "/api/v1/events?after=2&limit=2").json()
    assert [e["id"] for e in body["events"]] == [3, 4] and body["last_id"] == 4
    body = tenant.api("GET", "/api/v1/events?after=5").json()
    assert body == {"ok": True, "events": [], "last_id": 5}
    for query, field in (("after=-1", "after"), ("after=x", "after"),
                         ("after=", "after"), ("after=99999999999999999999", "after"),
                         ("limit=0", "limit"), ("limit=1001", "limit"),
                         ("limit=ten", "limit")):
        r = tenant.api("GET", "/api/v1/events?" + query)
        assert r.status_code == 422, query
        assert r.json()["error"]["message"].startswith(field + ":"), query
    assert requests.get(stack.url("/api/v1/events")).status_code == 401


# --- failures: pushd, nginx -----------------------------------------------------

def test_pushd_killed_and_restarted_while_events_arrive_loses_nothing(stack, tenant):
    n = 300
    client = Client(stack, tenant)
    client.connect()
    emitter = Emitter(stack, tenant.id, n)
    try:
        emitter.start()
        assert client.pump(lambda c: c.last >= 40, timeout=5)
        old = pushd_pid(stack)
        kill9(old)
        stack.ctl("start", "pushd")
        assert pushd_pid(stack) != old
        emitter.join(timeout=20)
        assert emitter.error is None
        assert client.pump(lambda c: c.last >= n, timeout=10)
        client.catch_up()
        assert_complete(client, n)
        assert seqs(stack, tenant.id) == list(range(1, n + 1))
        assert wait_for(lambda: cursor(stack, tenant.id) == (n, n))
    finally:
        client.close()
        stack.ctl("start", "pushd")


def test_events_numbered_but_not_published_at_a_crash_are_published_on_restart(
        stack, tenant):
    ws = connect(stack, tenant)
    try:
        emit(stack, tenant.id, n=0)
        assert recv_frames(ws, 1)[0]["id"] == 1
        ws.close()
        # nginx away: the events are numbered (one transaction, so one
        # batch for wa-pushd) but cannot be published.
        stack.ctl("stop", "nginx")
        stack.query("SELECT wa_emit(%s, 'test_event', jsonb_build_object('n', i))"
                    " FROM generate_series(1, 3) i", tenant.id)
        assert wait_for(lambda: cursor(stack, tenant.id) == (4, 1), timeout=5)
        kill9(pushd_pid(stack))
        stack.ctl("start", "nginx")
        ws = connect(stack, tenant, last_event_id=1)
        stack.ctl("start", "pushd")
        got = recv_frames(ws, 3)
        assert [f["id"] for f in got] == [2, 3, 4]
        assert [f["data"]["n"] for f in got] == [1, 2, 3]
        assert wait_for(lambda: cursor(stack, tenant.id) == (4, 4))
    finally:
        ws.close()
        stack.ctl("start", "nginx")
        stack.ctl("start", "pushd")


def test_nginx_restarted_mid_stream_client_reconnects_and_gets_everything(
        stack, tenant):
    n = 200
    client = Client(stack, tenant)
    client.connect()
    emitter = Emitter(stack, tenant.id, n)
    try:
        emitter.start()
        assert client.pump(lambda c: c.last >= 30, timeout=5)
        stack.ctl("stop", "nginx")
        time.sleep(0.2)
        stack.ctl("start", "nginx")
        emitter.join(timeout=20)
        assert emitter.error is None
        assert client.pump(lambda c: c.last >= n, timeout=10)
        assert_complete(client, n)
    finally:
        client.close()
        stack.ctl("start", "nginx")


# --- the publisher is private ---------------------------------------------------

def _post(host, port, path, source=None, timeout=3):
    """Raw HTTP POST; the status, or None when no connection was possible."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        body = b'{"id":1,"event":"forged","data":{}}'
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (path.encode(), len(body), body))
        data = read_head(s)
        return int(data.split(b" ", 2)[1]), data
    except OSError:
        return None, b""
    finally:
        s.close()


def _listening_addresses(port):
    """The local addresses with a listening TCP socket on port, from
    /proc/net/tcp and tcp6 (hex, little-endian words): e.g. {"127.0.0.1"}."""
    found = set()
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with open("/proc/net/" + name) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(":")
                if state != "0A" or int(p, 16) != port:     # 0A: LISTEN
                    continue
                raw = bytes.fromhex(addr)
                # Each 32-bit word is in host (little-endian) order.
                raw = b"".join(raw[k:k + 4][::-1]
                               for k in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, raw))
    return found


def test_publisher_is_not_reachable_from_the_public_port(stack, tenant):
    ws = connect(stack, tenant)
    try:
        for method in ("POST", "GET"):
            r = requests.request(method, stack.url("/pub?id=" + tenant.id),
                                 json={"id": 1, "event": "forged", "data": {}})
            assert r.status_code == 404, method
            assert r.json()["error"]["code"] == "not_found"
        next_is_witness(stack, tenant.id, ws, 1)
    finally:
        ws.close()


def test_publisher_refuses_other_source_addresses(stack, tenant):
    pub_port = int(stack.env["WA_PUBLISH_PORT"])
    # Another loopback address is not 127.0.0.1: nginx's deny applies.
    status, _ = _post("127.0.0.1", pub_port, "/pub?id=" + tenant.id,
                      source="127.0.0.2")
    assert status == 403
    # Listening on the loopback address only: from any other address of
    # the machine, whatever it has, there is nothing to connect to.
    assert _listening_addresses(pub_port) == {"127.0.0.1"}
    assert seqs(stack, tenant.id) == []


# --- two relays -----------------------------------------------------------------

def test_second_pushd_waits_as_standby_and_takes_over_without_duplicates(
        stack, tenant):
    log = os.path.join(stack.run_dir, "log", "wa-pushd-standby.log")
    env = dict(os.environ)
    env.update(stack.env)
    env["WA_LOG_FILE"] = log
    open(log, "a").close()
    start = os.path.getsize(log)
    standby = subprocess.Popen([os.path.join(stack.env["WA_BIN_DIR"], "wa-pushd")],
                               env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ws = connect(stack, tenant)

    def logged(text):
        with open(log) as f:
            f.seek(start)
            return text in f.read()
    try:
        assert wait_for(lambda: logged("standby"), timeout=5)
        for i in range(3):
            emit(stack, tenant.id, n=i)
        assert [f["id"] for f in recv_frames(ws, 3)] == [1, 2, 3]
        # Once the cursor says so, a takeover repeats nothing (a kill
        # before that costs duplicates, which clients drop).
        assert wait_for(lambda: cursor(stack, tenant.id) == (3, 3))
        kill9(pushd_pid(stack))
        for i in range(3, 6):
            emit(stack, tenant.id, n=i)
        got = recv_frames(ws, 3, timeout=5)
        assert [f["id"] for f in got] == [4, 5, 6]
        assert [f["data"]["n"] for f in got] == [3, 4, 5]
        assert logged("taking over")
        assert seqs(stack, tenant.id) == [1, 2, 3, 4, 5, 6]
        # No frame repeated after the takeover: the next one is 7.
        next_is_witness(stack, tenant.id, ws, 7)
    finally:
        ws.close()
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=10) == 0
        stack.ctl("start", "pushd")
    with open(log) as f:
        f.seek(start)
        assert "stopped: published=4" in f.read()


def test_pushd_stops_cleanly_on_sigterm(stack, tenant):
    ws = connect(stack, tenant)
    try:
        emit(stack, tenant.id, n=0)
        assert recv_frames(ws, 1)[0]["id"] == 1
        pid = pushd_pid(stack)
        stack.ctl("stop", "pushd")
        # Gone, not merely slow: nothing can publish what comes next.
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid))
        emit(stack, tenant.id, n=1)
        stack.ctl("start", "pushd")
        assert recv_frames(ws, 1)[0]["id"] == 2
    finally:
        ws.close()
        stack.ctl("start", "pushd")
    with open(os.path.join(stack.run_dir, "log", "wa-pushd.log")) as f:
        assert "stopped: published=" in f.read()


def test_pushd_reconnects_after_the_database_restarts(stack, tenant):
    ws = connect(stack, tenant)
    try:
        emit(stack, tenant.id, n=0)
        assert recv_frames(ws, 1)[0]["id"] == 1
        stack.ctl("stop", "pg")
        stack.ctl("start", "pg")
        emit(stack, tenant.id, n=1)
        got = recv_frames(ws, 1, timeout=5)
        assert [(f["id"], f["data"]) for f in got] == [(2, {"n": 1})]
    finally:
        ws.close()
        stack.ctl("start", "pg")
        # Each responder thread would answer one 503 on its dead
        # connection before reconnecting: spare the tests that follow.
        stack.ctl("stop", "fcgi")
        stack.ctl("start", "fcgi")
    with open(os.path.join(stack.run_dir, "log", "wa-pushd.log")) as f:
        log = f.read()
    assert "db: connection lost" in log and "db: reconnected" in log


def test_pushd_reopens_its_log_on_sighup(stack, tmp_path):
    # A second wa-pushd (a standby: the stack's holds the lock) with a log
    # file of its own, as logrotate would see it.
    log = tmp_path / "wa-pushd.log"
    env = dict(os.environ)
    env.update(stack.env)
    env["WA_LOG_FILE"] = str(log)
    p = subprocess.Popen([os.path.join(stack.env["WA_BIN_DIR"], "wa-pushd")],
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: log.exists() and "standby" in log.read_text())
        log.rename(tmp_path / "wa-pushd.log.1")
        p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: log.exists() and "log reopened" in log.read_text())
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    assert "stopped" in log.read_text()
