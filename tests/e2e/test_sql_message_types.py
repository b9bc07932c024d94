"""schema/functions/message_types.sql, called directly: the columns of
`messages` wa_msg_norm() gives each of Meta's message types (payloads as
in shared/reference/cloud-api.md section 1.7), and which items
wa_msg_ok() lets ingestion place."""
import json

import pytest

COLS = ("type", "text", "media_id", "media_mime", "media_sha256",
        "media_filename", "content", "context_wamid", "forwarded",
        "frequently_forwarded", "meta_ts")


def norm(stack, m):
    r = stack.query("SELECT n.*, wa_iso(n.meta_ts) AS iso"
                    " FROM wa_msg_norm(%s::jsonb) n", json.dumps(m))
    assert len(r) == 1
    return r[0]


def msg(mtype, payload=None, **extra):
    m = {"from": "16505551234", "id": "wamid.T1", "timestamp": "1764000000",
         "type": mtype}
    if payload is not None:
        m[mtype] = payload
    m.update(extra)
    return m


def stored(row, **want):
    """The row's columns: those named as given, the rest empty."""
    empty = {"text": None, "media_id": None, "media_mime": None,
             "media_sha256": None, "media_filename": None, "content": None,
             "context_wamid": None, "forwarded": False,
             "frequently_forwarded": False}
    empty.update(want)
    got = {k: row[k] for k in empty}
    assert got == empty


MEDIA = {"id": "1234567890", "mime_type": "image/jpeg",
         "sha256": "c2hhMjU2IGhlcmU="}


def test_text_is_its_body(stack):
    r = norm(stack, msg("text", {"body": "hello", "preview_url": False}))
    assert r["type"] == "text" and r["iso"] == "2025-11-24T16:00:00.000000Z"
    stored(r, text="hello")


@pytest.mark.parametrize("mtype", ["image", "video", "document"])
def test_captioned_media_keep_caption_and_media_columns(stack, mtype):
    p = dict(MEDIA, caption="look", filename="f.bin")
    r = norm(stack, msg(mtype, p))
    assert r["type"] == mtype
    stored(r, text="look", media_id="1234567890", media_mime="image/jpeg",
           media_sha256="c2hhMjU2IGhlcmU=", media_filename="f.bin")


def test_audio_is_audio_and_a_voice_note_is_voice(stack):
    r = norm(stack, msg("audio", dict(MEDIA, mime_type="audio/ogg")))
    assert r["type"] == "audio"
    stored(r, media_id="1234567890", media_mime="audio/ogg",
           media_sha256="c2hhMjU2IGhlcmU=", content={"voice": False})
    r = norm(stack, msg("audio", dict(MEDIA, voice=True)))
    assert r["type"] == "voice" and r["content"] == {"voice": True}


def test_sticker_says_whether_it_is_animated(stack):
    r = norm(stack, msg("sticker", dict(MEDIA, animated=True)))
    assert r["type"] == "sticker" and r["content"] == {"animated": True}
    assert r["media_id"] == "1234567890" and r["text"] is None
    assert norm(stack, msg("sticker", MEDIA))["content"] == {"animated": False}


def test_location_is_kept_as_content(stack):
    loc = {"latitude": 37.48, "longitude": -122.15, "name": "HQ",
           "address": "1 Hacker Way"}
    r = norm(stack, msg("location", loc))
    assert r["type"] == "location"
    stored(r, content=loc)


def test_contacts_keep_the_cards(stack):
    cards = [{"name": {"formatted_name": "John Smith", "first_name": "John"},
              "phones": [{"phone": "+1 650 555 1234", "type": "WORK"}]}]
    r = norm(stack, {"from": "16505551234", "id": "wamid.C",
                     "timestamp": "1764000000", "type": "contacts",
                     "contacts": cards})
    assert r["type"] == "contacts"
    stored(r, content={"contacts": cards})


@pytest.mark.parametrize("reply, text", [
    ({"type": "button_reply", "button_reply": {"id": "b1", "title": "Yes"}},
     "Yes"),
    ({"type": "list_reply", "list_reply": {"id": "r1", "title": "Row one",
                                           "description": "d"}}, "Row one"),
    ({"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
                                         "response_json": "{}"}}, "Sent"),
])
def test_interactive_replies_keep_their_title_as_text(stack, reply, text):
    r = norm(stack, msg("interactive", reply,
                        context={"from": "15550001", "id": "wamid.Q"}))
    assert r["type"] == "interactive"
    stored(r, text=text, content=reply, context_wamid="wamid.Q")


def test_template_button_and_order_keep_their_text(stack):
    b = {"payload": "STOP", "text": "Stop promotions"}
    r = norm(stack, msg("button", b, context={"id": "wamid.T"}))
    stored(r, text="Stop promotions", content=b, context_wamid="wamid.T")
    o = {"catalog_id": "c1", "text": "for Friday",
         "product_items": [{"product_retailer_id": "p1", "quantity": 2,
                            "item_price": 10, "currency": "USD"}]}
    r = norm(stack, msg("order", o))
    assert r["type"] == "order"
    stored(r, text="for Friday", content=o)


def test_system_notice_keeps_its_body(stack):
    s = {"body": "User A changed from 1 to 2", "wa_id": "2",
         "type": "user_changed_number"}
    r = norm(stack, msg("system", s))
    assert r["type"] == "system"
    stored(r, text=s["body"], content=s)


def test_unsupported_keeps_metas_errors(stack):
    errors = [{"code": 131051, "title": "Message type unknown"}]
    r = norm(stack, msg("unsupported", {"type": "poll_creation"},
                        errors=errors))
    assert r["type"] == "unsupported"
    stored(r, content={"unsupported": {"type": "poll_creation"},
                       "errors": errors})


def test_request_welcome_is_known_and_empty(stack):
    r = norm(stack, msg("request_welcome"))
    assert r["type"] == "request_welcome"
    stored(r)


def test_a_type_we_do_not_know_is_unknown_with_metas_name(stack):
    r = norm(stack, msg("hologram", {"x": 1}))
    assert r["type"] == "unknown"
    stored(r, content={"meta_type": "hologram"})
    assert norm(stack, {"id": "wamid.N", "from": "1"})["type"] == "unknown"


def test_context_referral_and_group_travel_with_any_type(stack):
    ref = {"source_url": "https://fb.me/x", "source_type": "ad",
           "source_id": "ad1"}
    r = norm(stack, msg("text", {"body": "hi"}, referral=ref,
                        group_id="g1",
                        context={"id": "wamid.P", "forwarded": True,
                                 "frequently_forwarded": True,
                                 "referred_product": {"catalog_id": "c",
                                                      "product_retailer_id":
                                                      "p"}}))
    stored(r, text="hi", context_wamid="wamid.P", forwarded=True,
           frequently_forwarded=True,
           content={"referral": ref, "group_id": "g1",
                    "referred_product": {"catalog_id": "c",
                                         "product_retailer_id": "p"}})


def test_a_payload_of_the_wrong_shape_gives_empty_columns(stack):
    r = norm(stack, msg("image", "not an object", timestamp="yesterday"))
    assert r["type"] == "image"
    stored(r)
    assert r["meta_ts"] is None
    r = norm(stack, msg("location", [1, 2]))
    stored(r)


@pytest.mark.parametrize("m, ok", [
    (msg("text", {"body": "x"}), True),
    ({"id": "wamid.U", "from_user_id": "US.1", "type": "text"}, True),
    ({"id": "wamid.U", "type": "text"}, False),             # no sender
    ({"from": "1", "type": "text"}, False),                  # no id
    ({"id": 5, "from": "1", "type": "text"}, False),          # id not text
    (msg("reaction", {"message_id": "wamid.X", "emoji": "x"}), True),
    (msg("reaction", {"emoji": "x"}), False),
    (msg("edit", {"original_message_id": "wamid.X"}), True),
    (msg("edit", {"message": {}}), False),
    (msg("revoke", {"original_message_id": "wamid.X"}), True),
    (msg("revoke", {}), False),
    ("a string", False), ([1], False),
])
def test_wa_msg_ok_places_items_with_an_id_a_sender_and_a_target(stack, m,
                                                                 ok):
    assert stack.query("SELECT wa_msg_ok(%s::jsonb) AS ok",
                       json.dumps(m))[0]["ok"] is ok
