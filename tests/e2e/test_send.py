"""POST /api/v1/send/*: the exact JSON each endpoint makes Meta (the
simulator) see, what it answers, and what is stored and announced."""
import re

import pytest

from conftest import new_wamid, wait_for
from send_helpers import (PHONE, incoming, media_row, only_graph_json,
                          open_window, out_message, sim_requests)

ENV = {"messaging_product": "whatsapp", "recipient_type": "individual",
       "to": PHONE}


def meta(mtype, obj, **extra):
    d = dict(ENV, type=mtype, **extra)
    d[mtype] = obj
    return d


@pytest.fixture
def t(tenant):
    open_window(tenant)
    tenant.stack.query("UPDATE tenants SET catalog_id = '555000111'"
                       " WHERE id = %s", tenant.id)
    return tenant


# request body -> the JSON that must reach Meta, for the endpoints whose
# payload does not depend on stored rows.
CASES = [
    ("text", {"to": "+91 98765-43210", "text": "Hello https://example.com",
              "preview_url": True},
     meta("text", {"body": "Hello https://example.com",
                   "preview_url": True})),
    ("text", {"to": PHONE, "text": "Pick one", "header": "Welcome!",
              "footer": "Powered by Celiyo",
              "buttons": [{"title": "Yes", "callback_data": "YES"},
                          {"title": "Get Help",
                           "callback_data": "HELP_CLICK"}]},
     meta("interactive", {
         "type": "button", "header": {"type": "text", "text": "Welcome!"},
         "body": {"text": "Pick one"},
         "footer": {"text": "Powered by Celiyo"},
         "action": {"buttons": [
             {"type": "reply", "reply": {"id": "YES", "title": "Yes"}},
             {"type": "reply", "reply": {"id": "HELP_CLICK",
                                         "title": "Get Help"}}]}})),
    ("text", {"to": PHONE, "text": "Our site",
              "buttons": [{"title": "Visit Us",
                           "url": "https://example.com"}]},
     meta("interactive", {
         "type": "cta_url", "body": {"text": "Our site"},
         "action": {"name": "cta_url", "parameters": {
             "display_text": "Visit Us", "url": "https://example.com"}}})),
    ("location", {"to": PHONE, "latitude": 37.44216251868683,
                  "longitude": -122.16153582049394, "name": "Philz Coffee",
                  "address": "101 Forest Ave"},
     meta("location", {"latitude": 37.44216251868683,
                       "longitude": -122.16153582049394,
                       "name": "Philz Coffee",
                       "address": "101 Forest Ave"})),
    ("request_location", {"to": PHONE, "text": "Where should we deliver?"},
     meta("interactive", {"type": "location_request_message",
                          "body": {"text": "Where should we deliver?"},
                          "action": {"name": "send_location"}})),
    ("contact", {"to": PHONE, "contacts": [{
        "name": {"formatted_name": "Barbara Johnson",
                 "first_name": "Barbara"},
        "birthday": "1999-01-23",
        "phones": [{"phone": "+19175559999", "type": "Mobile",
                    "wa_id": "19175559999"}],
        "org": {"company": "Lucky Shrub"}}]},
     {**ENV, "type": "contacts", "contacts": [{
         "name": {"formatted_name": "Barbara Johnson",
                  "first_name": "Barbara"},
         "birthday": "1999-01-23",
         "phones": [{"phone": "+19175559999", "type": "Mobile",
                     "wa_id": "19175559999"}],
         "org": {"company": "Lucky Shrub"}}]}),
    ("catalog", {"to": PHONE, "body": "Check out our latest collection!",
                 "footer": "Shop now!",
                 "thumbnail_product_sku": "SKU_FOR_THUMBNAIL"},
     meta("interactive", {
         "type": "catalog_message",
         "body": {"text": "Check out our latest collection!"},
         "footer": {"text": "Shop now!"},
         "action": {"name": "catalog_message", "parameters": {
             "thumbnail_product_retailer_id": "SKU_FOR_THUMBNAIL"}}})),
    ("product", {"to": PHONE, "catalog_id": "777", "sku": "PRODUCT_SKU_123",
                 "body": "This is our top-selling product!"},
     meta("interactive", {
         "type": "product",
         "body": {"text": "This is our top-selling product!"},
         "action": {"catalog_id": "777",
                    "product_retailer_id": "PRODUCT_SKU_123"}})),
    ("product", {"to": PHONE, "sku": "SKU9"},
     meta("interactive", {"type": "product", "action": {
         "catalog_id": "555000111", "product_retailer_id": "SKU9"}})),
    ("products", {"to": PHONE, "catalog_id": "777",
                  "body": "Explore our top picks!",
                  "product_sections": [
                      {"title": "Popular Items", "skus": ["SKU001", "SKU002"]},
                      {"title": "New Arrivals", "skus": ["SKU003"]}]},
     meta("interactive", {
         "type": "product_list",
         "header": {"type": "text", "text": "Popular Items"},
         "body": {"text": "Explore our top picks!"},
         "action": {"catalog_id": "777", "sections": [
             {"title": "Popular Items", "product_items": [
                 {"product_retailer_id": "SKU001"},
                 {"product_retailer_id": "SKU002"}]},
             {"title": "New Arrivals", "product_items": [
                 {"product_retailer_id": "SKU003"}]}]}})),
    ("products", {"to": PHONE, "header": "Our picks", "body": "Choose",
                  "footer": "Ships today",
                  "product_sections": [{"title": "Coffee", "skus": ["C1"]}]},
     meta("interactive", {
         "type": "product_list", "header": {"type": "text",
                                            "text": "Our picks"},
         "body": {"text": "Choose"}, "footer": {"text": "Ships today"},
         "action": {"catalog_id": "555000111", "sections": [
             {"title": "Coffee", "product_items": [
                 {"product_retailer_id": "C1"}]}]}})),
    ("template", {"to": PHONE, "name": "order_update", "language": "en_US",
                  "components": [
                      {"type": "body", "parameters": [
                          {"type": "text", "text": "Pablo"}]},
                      {"type": "button", "sub_type": "quick_reply",
                       "index": "0", "parameters": [
                           {"type": "payload", "payload": "CONFIRM_42"}]}]},
     meta("template", {"name": "order_update",
                       "language": {"code": "en_US"},
                       "components": [
                           {"type": "body", "parameters": [
                               {"type": "text", "text": "Pablo"}]},
                           {"type": "button", "sub_type": "quick_reply",
                            "index": "0", "parameters": [
                                {"type": "payload",
                                 "payload": "CONFIRM_42"}]}]})),
    ("template", {"to": PHONE, "name": "hello_world",
                  "language": {"code": "en", "policy": "deterministic"}},
     meta("template", {"name": "hello_world", "language": {
         "code": "en", "policy": "deterministic"}})),
]


@pytest.mark.parametrize("kind,body,expected", CASES,
                         ids=["%s-%d" % (c[0], i) for i, c in
                              enumerate(CASES)])
def test_send_reaches_meta_as_its_payload(t, kind, body, expected):
    r = t.api("POST", "/api/v1/send/" + kind, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    assert r.json()["message_id"].startswith("wamid.")
    assert only_graph_json(t) == expected


def test_text_answers_as_the_seed_spec_shows(t):
    r = t.api("POST", "/api/v1/send/text", json={"to": PHONE, "text": "Hi"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert set(b) == {"ok", "message_id", "phone", "text", "timestamp"}
    assert b["phone"] == PHONE and b["text"] == "Hi"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                    b["timestamp"])
    assert b["message_id"] == sim_requests(t)[0]["response"]["messages"][0]["id"]


def test_media_by_our_id_reaches_meta_by_its_id(t):
    img, img_wa = media_row(t, "image", "image/jpeg", "photo.jpg")
    doc, doc_wa = media_row(t, "document", "application/pdf", "invoice.pdf")
    for body, expected in [
        ({"media_id": img, "media_type": "image", "caption": "Here it is"},
         meta("image", {"id": img_wa, "caption": "Here it is"})),
        ({"media_id": doc, "media_type": "document"},
         meta("document", {"id": doc_wa, "filename": "invoice.pdf"})),
        ({"media_id": doc, "media_type": "document", "filename": "a.pdf",
          "caption": "Your invoice"},
         meta("document", {"id": doc_wa, "filename": "a.pdf",
                           "caption": "Your invoice"})),
    ]:
        before = len(sim_requests(t))
        r = t.api("POST", "/api/v1/send/media", json=dict(body, to=PHONE))
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"ok", "message_id"}
        assert sim_requests(t)[before]["json"] == expected


def test_voice_note_is_audio_with_voice_flag(t):
    mid, wa = media_row(t, "audio", "audio/ogg; codecs=opus", "v.ogg")
    r = t.api("POST", "/api/v1/send/voice", json={"to": PHONE,
                                                  "media_id": mid})
    assert r.status_code == 200, r.text
    assert only_graph_json(t) == meta("audio", {"id": wa, "voice": True})
    row = out_message(t, r.json()["message_id"])
    assert row["type"] == "voice" and row["media_id"] == wa
    assert row["media_mime"] == "audio/ogg; codecs=opus"


def test_sticker_reaches_meta_by_its_id(t):
    mid, wa = media_row(t, "sticker", "image/webp", "s.webp")
    r = t.api("POST", "/api/v1/send/sticker", json={"to": PHONE,
                                                    "media_id": mid})
    assert r.status_code == 200, r.text
    assert only_graph_json(t) == meta("sticker", {"id": wa})


def test_reply_to_message_id_becomes_meta_context(t):
    target = new_wamid()
    incoming(t, target)
    r = t.api("POST", "/api/v1/send/text", json={
        "to": PHONE, "text": "Answering", "reply_to_message_id": target})
    assert r.status_code == 200, r.text
    assert only_graph_json(t) == meta("text", {"body": "Answering"},
                                      context={"message_id": target})
    row = out_message(t, r.json()["message_id"])
    assert row["context_wamid"] == target


def test_reaction_targets_a_message_of_the_tenant(t):
    target = new_wamid()
    incoming(t, target)
    r = t.api("POST", "/api/v1/send/reaction", json={
        "to": PHONE, "emoji": "\U0001F44D", "message_id": target})
    assert r.status_code == 200, r.text
    assert only_graph_json(t) == meta("reaction", {
        "message_id": target, "emoji": "\U0001F44D"})
    rows = t.stack.query("SELECT emoji, wamid FROM reactions WHERE"
                         " tenant_id = %s AND target_wamid = %s AND"
                         " direction = 'out'", t.id, target)
    assert rows == [{"emoji": "\U0001F44D", "wamid": r.json()["message_id"]}]


def test_send_is_stored_pending_then_accepted_and_announced(t):
    r = t.api("POST", "/api/v1/send/text", json={"to": PHONE,
                                                 "text": "Stored?"})
    assert r.status_code == 200, r.text
    wamid = r.json()["message_id"]
    row = out_message(t, wamid)
    assert row["direction"] == "out" and row["type"] == "text"
    assert row["text"] == "Stored?" and row["wa_id"] == PHONE
    assert row["status"] in ("accepted", "sent", "delivered", "read")
    assert row["raw"] == meta("text", {"body": "Stored?"})
    assert row["content"] == {"body": "Stored?"}
    ev = t.stack.query("SELECT data FROM events WHERE tenant_id = %s AND"
                       " name = 'message_outgoing'", t.id)
    assert len(ev) == 1
    data = ev[0]["data"]
    assert data["phone"] == "+" + PHONE and data["name"] == "Asha"
    assert data["message"]["id"] == wamid
    assert data["message"]["direction"] == "out"
    assert data["message"]["text"] == "Stored?"
    assert data["contact"]["wa_id"] == PHONE


def test_status_webhooks_move_the_message_to_read(t):
    r = t.api("POST", "/api/v1/send/text", json={"to": PHONE, "text": "x"})
    wamid = r.json()["message_id"]
    assert wait_for(lambda: (out_message(t, wamid) or {}).get("status")
                    == "read", timeout=10)


def test_failed_send_is_stored_failed_with_metas_error(t, stack):
    from send_helpers import sim_clear_faults, sim_fail
    sim_fail(stack, code=131026, to=PHONE, path="messages")
    try:
        r = t.api("POST", "/api/v1/send/text", json={"to": PHONE,
                                                     "text": "nope"})
    finally:
        sim_clear_faults(stack)
    assert r.status_code == 422, r.text
    rows = t.stack.query("SELECT status, wamid, error FROM messages WHERE"
                         " tenant_id = %s", t.id)
    assert len(rows) == 1 and rows[0]["status"] == "failed"
    assert rows[0]["wamid"] is None and rows[0]["error"]["code"] == 131026
    ev = t.stack.query("SELECT data FROM events WHERE tenant_id = %s AND"
                       " name = 'message_outgoing'", t.id)
    assert len(ev) == 1


def test_message_is_stored_pending_before_meta_answers(t, stack):
    import threading
    from send_helpers import sim_clear_faults, sim_fail
    sim_fail(stack, delay_ms=800, to=PHONE, path="messages")
    out = {}
    th = threading.Thread(target=lambda: out.update(r=t.api(
        "POST", "/api/v1/send/text", json={"to": PHONE, "text": "wait"})))
    th.start()
    try:
        pending = wait_for(lambda: t.stack.query(
            "SELECT status, wamid, raw FROM messages WHERE tenant_id = %s",
            t.id), timeout=3)
    finally:
        th.join()
        sim_clear_faults(stack)
    assert pending == [{"status": "pending", "wamid": None,
                        "raw": meta("text", {"body": "wait"})}]
    assert out["r"].status_code == 200
    row = out_message(t, out["r"].json()["message_id"])
    assert row["status"] in ("accepted", "sent", "delivered", "read")


def test_template_header_media_by_our_id_reaches_meta_by_its_id(t):
    img, img_wa = media_row(t, "image", "image/jpeg", "promo.jpg")
    comps = [{"type": "header", "parameters": [
        {"type": "image", "image": {"id": img}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    r = t.api("POST", "/api/v1/send/template", json={
        "to": PHONE, "name": "promo", "language": "en", "components": comps})
    assert r.status_code == 200, r.text
    comps[0]["parameters"][0]["image"]["id"] = img_wa
    assert only_graph_json(t) == meta("template", {
        "name": "promo", "language": {"code": "en"}, "components": comps})


def test_template_header_media_of_other_tenant_is_404(t, make_tenant):
    other = make_tenant()
    theirs, _ = media_row(other, "image", "image/jpeg", "x.jpg")
    r = t.api("POST", "/api/v1/send/template", json={
        "to": PHONE, "name": "promo", "language": "en", "components": [
            {"type": "header", "parameters": [
                {"type": "image", "image": {"id": theirs}}]}]})
    assert r.status_code == 404, r.text
    assert sim_requests(t) == [] and sim_requests(other) == []
