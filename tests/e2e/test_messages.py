"""DELETE /api/v1/messages/{id}/reaction, POST /api/v1/messages/{id}/read,
POST /api/v1/conversations/{phone}/typing, and `wactl simulate incoming`."""
import base64
import hashlib
import os
import tempfile

import pytest

from conftest import new_wamid, wait_for
from send_helpers import (PHONE, incoming, open_window, sim_clear_faults,
                          sim_fail, sim_requests)


def test_mark_read_forwards_meta_receipt_and_resets_unread(tenant):
    first, second = new_wamid(), new_wamid()
    incoming(tenant, first)
    last_id = incoming(tenant, second)
    r = tenant.api("POST", "/api/v1/messages/%s/read" % second)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert [q["json"] for q in sim_requests(tenant)] == [{
        "messaging_product": "whatsapp", "status": "read",
        "message_id": second}]
    c = tenant.stack.query("SELECT read_upto_id FROM contacts WHERE"
                           " tenant_id = %s AND wa_id = %s", tenant.id, PHONE)
    assert c[0]["read_upto_id"] == last_id
    st = tenant.stack.query("SELECT DISTINCT status FROM messages WHERE"
                            " tenant_id = %s", tenant.id)
    assert st == [{"status": "read"}]
    ev = tenant.stack.query("SELECT data FROM events WHERE tenant_id = %s"
                            " AND name = 'conversation_read'", tenant.id)
    assert [e["data"] for e in ev] == [{"phone": "+" + PHONE,
                                        "message_id": second,
                                        "read_upto_id": last_id}]


def test_mark_read_of_unknown_or_outgoing_message_is_404(tenant):
    r = tenant.api("POST", "/api/v1/messages/%s/read" % new_wamid())
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "message_not_found"
    assert sim_requests(tenant) == []


def test_mark_read_of_other_tenants_message_is_404(make_tenant):
    a, b = make_tenant(), make_tenant()
    theirs = new_wamid()
    incoming(b, theirs)
    r = a.api("POST", "/api/v1/messages/%s/read" % theirs)
    assert r.status_code == 404
    assert sim_requests(a) == [] and sim_requests(b) == []


def test_mark_read_maps_meta_errors(tenant, stack):
    w = new_wamid()
    incoming(tenant, w)
    sim_fail(stack, code=190, path="messages")
    try:
        r = tenant.api("POST", "/api/v1/messages/%s/read" % w)
    finally:
        sim_clear_faults(stack)
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "graph_auth"
    assert r.json()["error"]["graph"]["code"] == 190


def test_typing_shows_indicator_on_the_given_message(tenant):
    w = new_wamid()
    incoming(tenant, w)
    incoming(tenant, new_wamid())
    r = tenant.api("POST", "/api/v1/conversations/+91 98765-43210/typing",
                   json={"message_id": w})
    assert r.status_code == 204, r.text
    assert [q["json"] for q in sim_requests(tenant)] == [{
        "messaging_product": "whatsapp", "status": "read",
        "message_id": w, "typing_indicator": {"type": "text"}}]


def test_typing_without_message_id_uses_the_latest_incoming(tenant):
    incoming(tenant, new_wamid())
    latest = new_wamid()
    incoming(tenant, latest)
    r = tenant.api("POST", "/api/v1/conversations/%s/typing" % PHONE)
    assert r.status_code == 204, r.text
    assert sim_requests(tenant)[0]["json"]["message_id"] == latest


def test_typing_rules(tenant, make_tenant):
    r = tenant.api("POST", "/api/v1/conversations/nope/typing", json={})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("phone")
    r = tenant.api("POST", "/api/v1/conversations/%s/typing" % PHONE,
                   json={"message_id": new_wamid(), "x": 1})
    assert r.status_code == 422
    r = tenant.api("POST", "/api/v1/conversations/%s/typing" % PHONE,
                   json={"message_id": new_wamid()})
    assert r.status_code == 404
    other = make_tenant()
    w = new_wamid()
    incoming(other, w)
    r = tenant.api("POST", "/api/v1/conversations/%s/typing" % PHONE,
                   json={"message_id": w})
    assert r.status_code == 404
    assert sim_requests(tenant) == [] and sim_requests(other) == []


def test_remove_reaction_sends_empty_emoji_and_clears_it(tenant):
    target = new_wamid()
    incoming(tenant, target)
    r = tenant.api("POST", "/api/v1/send/reaction", json={
        "to": PHONE, "emoji": "\u2764\ufe0f", "message_id": target})
    assert r.status_code == 200, r.text
    r = tenant.api("DELETE", "/api/v1/messages/%s/reaction" % target)
    assert r.status_code == 204, r.text
    assert sim_requests(tenant)[-1]["json"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": PHONE, "type": "reaction",
        "reaction": {"message_id": target, "emoji": ""}}
    assert tenant.stack.query("SELECT 1 FROM reactions WHERE tenant_id = %s"
                              " AND target_wamid = %s", tenant.id,
                              target) == []
    ev = tenant.stack.query("SELECT data FROM events WHERE tenant_id = %s"
                            " AND name = 'reaction' ORDER BY id", tenant.id)
    assert [e["data"]["emoji"] for e in ev] == ["\u2764\ufe0f", None]
    assert all(e["data"]["direction"] == "out" for e in ev)


def test_remove_reaction_of_other_tenants_message_is_404(make_tenant):
    a, b = make_tenant(), make_tenant()
    theirs = new_wamid()
    incoming(b, theirs)
    r = a.api("DELETE", "/api/v1/messages/%s/reaction" % theirs)
    assert r.status_code == 404
    assert sim_requests(a) == [] and sim_requests(b) == []


def test_remove_reaction_outside_window_is_409(tenant):
    target = new_wamid()
    incoming(tenant, target)
    open_window(tenant, hours_ago=30)
    r = tenant.api("DELETE", "/api/v1/messages/%s/reaction" % target)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "outside_window"


# --- wactl simulate incoming -----------------------------------------------

def stored(tenant, wamid):
    rows = tenant.stack.query("SELECT m.type, m.text, m.media_id, m.content,"
                              " m.direction, c.wa_id, c.name FROM messages m"
                              " JOIN contacts c ON c.id = m.contact_id"
                              " WHERE m.tenant_id = %s AND m.wamid = %s",
                              tenant.id, wamid)
    return rows[0] if rows else None


def simulate(stack, tenant, *args):
    p = stack.wactl("simulate", "incoming", "--tenant", tenant.id,
                    "--from", "+91 98765 43210", "--name", "Ravi", *args)
    wamid = p.stdout.strip()
    assert wamid.startswith("wamid.")
    return wamid


def test_simulate_incoming_text_is_accepted_and_stored(stack, tenant):
    wamid = simulate(stack, tenant, "--text", "Hello from the customer")
    row = wait_for(lambda: stored(tenant, wamid))
    assert row is not None, "the simulated message was not stored"
    assert row["type"] == "text" and row["direction"] == "in"
    assert row["text"] == "Hello from the customer"
    assert row["wa_id"] == PHONE and row["name"] == "Ravi"
    # It opened the 24-hour window: a free-form answer now goes out.
    r = tenant.api("POST", "/api/v1/send/text", json={
        "to": PHONE, "text": "Hi Ravi", "reply_to_message_id": wamid})
    assert r.status_code == 200, r.text


def test_simulate_incoming_image_uploads_the_bytes(stack, tenant):
    data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(512)
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        wamid = simulate(stack, tenant, "--image", f.name,
                         "--caption", "my receipt")
    row = wait_for(lambda: stored(tenant, wamid))
    assert row["type"] == "image" and row["text"] == "my receipt"
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    media = [m for m in __import__("requests").get(
        stack.sim + "/_sim/media", timeout=5).json()
        if str(m.get("id")) == row["media_id"]]
    assert media, "the image was not uploaded to the simulator"
    assert sha in str(media[0]) or media[0].get("size") == len(data)


def test_simulate_incoming_location_and_button_reply(stack, tenant):
    loc = simulate(stack, tenant, "--location", "12.9716,77.5946")
    btn = simulate(stack, tenant, "--button-reply", "HELP_CLICK:Get Help")
    row = wait_for(lambda: stored(tenant, loc))
    assert row["type"] == "location"
    assert row["content"]["latitude"] == pytest.approx(12.9716)
    row = wait_for(lambda: stored(tenant, btn))
    assert row["type"] == "interactive" and row["text"] == "Get Help"
    assert row["content"]["button_reply"]["id"] == "HELP_CLICK"


def test_simulate_incoming_needs_a_content_option(stack, tenant):
    p = stack.wactl("simulate", "incoming", "--tenant", tenant.id,
                    "--from", PHONE, check=False)
    assert p.returncode != 0 and "--text" in p.stderr


def test_simulate_incoming_voice_note_and_document(stack, tenant):
    with tempfile.NamedTemporaryFile(suffix=".ogg") as f:
        f.write(b"OggS\x00\x02" + os.urandom(256))
        f.flush()
        voice = simulate(stack, tenant, "--voice", f.name)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(b"%PDF-1.4\n" + os.urandom(256))
        f.flush()
        doc = simulate(stack, tenant, "--document", f.name,
                       "--caption", "the invoice")
        name = os.path.basename(f.name)
    row = wait_for(lambda: stored(tenant, voice))
    assert row["type"] == "voice" and row["media_id"]
    row = wait_for(lambda: stored(tenant, doc))
    assert row["type"] == "document" and row["text"] == "the invoice"
    got = tenant.stack.query("SELECT media_filename, media_mime FROM messages"
                             " WHERE wamid = %s", doc)[0]
    assert got == {"media_filename": name, "media_mime": "application/pdf"}
