"""The push-stream variant of nginx/ (WA_PUSH_MODULE=pushstream): same
publisher and subscriber URLs, same frames, and its own replay after an id.

Debian does not package the module; these tests run when an admin has built
it (README, "Real-time events") and are skipped, saying why, otherwise.
"""
import os
import subprocess

import pytest

from conftest import ROOT
from test_realtime import (connect, emit, recv_frames, refused_status,
                           ticket_for, ws_url)

MODULE = "/usr/lib/nginx/modules/ngx_http_push_stream_module.so"


def _nginx(stack, module):
    """Restarts the stack's nginx with the given push module's configs."""
    env = dict(os.environ)
    env.update(stack.env)
    env["WA_PUSH_MODULE"] = module
    script = os.path.join(ROOT, "scripts", "stack.sh")
    for action in ("stop-part", "start-part"):
        subprocess.run([script, action, "nginx"], env=env, check=True,
                       capture_output=True, timeout=60)


@pytest.fixture
def pushstream(stack):
    if not os.path.exists(MODULE):
        pytest.skip("push-stream module not installed: %s is missing (Debian "
                    "does not package it; README.md, 'Real-time events', "
                    "shows how to build it)" % MODULE)
    _nginx(stack, "pushstream")
    yield
    _nginx(stack, "nchan")


def test_pushstream_delivers_the_same_frames_and_replays_after_an_id(
        pushstream, stack, tenant):
    ws = connect(stack, tenant)
    try:
        for i in range(3):
            emit(stack, tenant.id, n=i)
        got = recv_frames(ws, 3)
        assert got == [{"id": i + 1, "event": "message_incoming",
                        "data": {"n": i}} for i in range(3)]
    finally:
        ws.close()
    # The module stored the frames under their Event-Id: a reconnecting
    # client gets exactly those after its last id.
    ws = connect(stack, tenant, last_event_id=1)
    try:
        assert [f["id"] for f in recv_frames(ws, 3, timeout=1)] == [2, 3]
    finally:
        ws.close()


def test_pushstream_subscriber_is_gated_by_auth_request(
        pushstream, stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    assert refused_status(ws_url(stack, a.id)) == 401
    assert refused_status(ws_url(stack, a.id, ticket=ticket_for(stack, b))) == 401
    # push-stream would read these as channel lists with backtrack.
    assert refused_status(ws_url(stack, a.id + "/" + b.id, ticket=ticket_for(stack, a))) == 404
    assert refused_status(ws_url(stack, a.id + ".b5", ticket=ticket_for(stack, a))) == 404
    assert refused_status(ws_url(stack, a.id, ticket=ticket_for(stack, a))) == 101
