"""The WebSocket path under attack (issue 14, rows 1, 5 and 6): a socket
reaches only the tenant nginx subscribes it to, it ends with the right to
it, and only wa-pushd can publish or close channels. On each push module
(the push_module fixture).
"""
import os
import socket
import stat
import time
import uuid

import pytest
import requests
import websocket

from conftest import read_head
from test_realtime import (_jwt, connect, emit, recv_frames, ticket_for,
                           ws_ticket)

pytestmark = pytest.mark.usefixtures("push_module")


def _upgrade(stack, raw_path, timeout=3):
    """A raw WebSocket handshake for raw_path, sent as it is (no client
    normalises it): the status and whatever arrived after the head."""
    s = socket.create_connection(("127.0.0.1", int(stack.env["WA_HTTP_PORT"])),
                                 timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                   % raw_path).encode())
        data = read_head(s)
        status = int(data.split(b" ", 2)[1])
        head, _, rest = data.partition(b"\r\n\r\n")
        if status == 101:
            # Buffered frames come at once; take what is there.
            s.settimeout(1)
            try:
                rest += s.recv(65536)
            except socket.timeout:
                pass
        return status, head, rest
    finally:
        s.close()


def test_a_path_that_normalises_to_another_tenant_is_refused(stack, make_tenant):
    own, victim = make_tenant(), make_tenant()
    emit(stack, victim.id, secret="victim's")
    for raw in ("/ws/%s/../%s" % (own.id, victim.id),
                "/ws/%s/./../%s" % (own.id, victim.id),
                "/ws/x/..%%2f%s" % victim.id,
                "/ws//%s" % victim.id,
                "/ws/%s" % "".join("%%%02X" % ord(c) for c in victim.id)):
        q = "?ticket=%s&last_event_id=1" % ticket_for(stack, own)
        status, head, rest = _upgrade(stack, raw + q)
        assert status == 403, (raw, head)
        assert b"victim" not in rest, raw
        # A refusal in our JSON shape, not nginx's page.
        assert b'"ok":false' in rest, (raw, rest)
    # The same handshake for the tenant itself goes through.
    q = "?ticket=%s&last_event_id=1" % ticket_for(stack, own)
    status, _, _ = _upgrade(stack, "/ws/%s%s" % (own.id, q))
    assert status == 101


def _member_token(stack, tenant):
    """A fresh login of the tenant's user: its own token id."""
    r = requests.post(stack.url("/api/v1/auth/login"), timeout=10,
                      json={"email": tenant.email, "password": tenant.password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _closed_within(ws, seconds):
    """Reads until the server closes the socket; True when it did in time.
    Frames that arrive meanwhile are ignored."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        ws.settimeout(max(0.05, deadline - time.time()))
        try:
            opcode, _ = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketConnectionClosedException, OSError):
            return True
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return True
    return False


def test_logout_closes_the_tokens_open_sockets_within_two_seconds(stack, tenant):
    token = _member_token(stack, tenant)
    doomed = connect(stack, tenant, token=token)
    other = connect(stack, tenant)          # another token of the same user
    try:
        emit(stack, tenant.id, n=1)
        assert [f["data"] for f in recv_frames(doomed, 1)] == [{"n": 1}]
        assert [f["data"] for f in recv_frames(other, 1)] == [{"n": 1}]
        r = requests.post(stack.url("/api/v1/auth/logout"), timeout=10,
                          headers={"Authorization": "Bearer " + token})
        assert r.status_code in (200, 204), r.text
        assert _closed_within(doomed, 2.0)
        # The other token's socket lives on and still gets events.
        emit(stack, tenant.id, n=2)
        assert [f["data"] for f in recv_frames(other, 1)] == [{"n": 2}]
        # And the revoked token cannot come back.
        assert ws_ticket(stack, tenant.id, token).status_code == 401
    finally:
        doomed.close()
        other.close()


def test_a_ticket_dies_with_its_token(stack, tenant):
    token = _member_token(stack, tenant)
    ticket = ticket_for(stack, tenant, token)
    r = requests.post(stack.url("/api/v1/auth/logout"), timeout=10,
                      headers={"Authorization": "Bearer " + token})
    assert r.status_code in (200, 204), r.text
    status, _, rest = _upgrade(stack, "/ws/%s?ticket=%s" % (tenant.id, ticket))
    assert status == 401, rest
    # The control: a ticket of a live token opens the socket.
    status, _, _ = _upgrade(stack, "/ws/%s?ticket=%s"
                            % (tenant.id, ticket_for(stack, tenant)))
    assert status == 101


def test_a_socket_closes_when_its_token_expires(stack, tenant):
    user_id = tenant.api("GET", "/api/v1/me").json()["user"]["id"]
    now = int(time.time())
    short = _jwt(stack.env["WA_JWT_SECRET"], {
        "sub": user_id, "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
        "exp": now + 3})
    ws = connect(stack, tenant, token=short)
    try:
        emit(stack, tenant.id, n=1)
        assert len(recv_frames(ws, 1)) == 1
        # Expiry at +3 s, closed within 2 s of it.
        assert _closed_within(ws, 3 + 2.5)
        assert time.time() >= now + 3 - 1
    finally:
        ws.close()


def test_a_socket_closes_when_the_membership_is_removed(stack, tenant):
    ws = connect(stack, tenant)
    try:
        emit(stack, tenant.id, n=1)
        assert len(recv_frames(ws, 1)) == 1
        stack.query("DELETE FROM memberships WHERE tenant_id = %s", tenant.id)
        assert _closed_within(ws, 2.0)
    finally:
        ws.close()


# --- the publisher takes only wa-pushd ---------------------------------------

def _publish(stack, method, tenant_id, key=None, body=b""):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-WA-Publish-Key"] = key
    return requests.request(
        method, "http://127.0.0.1:%s/pub?id=%s" % (stack.env["WA_PUBLISH_PORT"],
                                                   tenant_id),
        data=body, headers=headers, timeout=5)


def test_a_forged_publish_or_delete_is_refused(stack, tenant):
    ws = connect(stack, tenant)
    try:
        forged = b'{"id":999999,"event":"message_incoming","data":{"forged":1}}'
        assert _publish(stack, "POST", tenant.id, body=forged).status_code == 403
        assert _publish(stack, "POST", tenant.id, key="guess",
                        body=forged).status_code == 403
        assert _publish(stack, "DELETE", tenant.id).status_code == 403
        assert _publish(stack, "DELETE", tenant.id,
                        key="guess").status_code == 403
        # The witness: the next frame is the real event, on a socket that
        # was never closed.
        emit(stack, tenant.id, real=True)
        frames = recv_frames(ws, 1)
        assert [f["data"] for f in frames] == [{"real": True}]
    finally:
        ws.close()


def test_the_publisher_key_is_what_admits_wa_pushd(stack, tenant):
    """The control for the test above: the same request with the stack's
    key is taken, so the 403s were the key check's."""
    ws = connect(stack, tenant)
    try:
        body = b'{"id":1,"event":"probe","data":{"keyed":1}}'
        r = _publish(stack, "POST", tenant.id,
                     key=stack.env["WA_PUBLISH_SECRET"], body=body)
        assert 200 <= r.status_code < 300, r.text
        assert recv_frames(ws, 1)[0]["data"] == {"keyed": 1}
    finally:
        ws.close()


def test_the_publisher_key_is_readable_by_nginx_only(stack):
    path = os.path.join(stack.run_dir, "nginx", "publish-key.conf")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & 0o077 == 0, oct(mode)
