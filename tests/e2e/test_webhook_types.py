"""Every incoming message type Meta sends, with payloads as in
shared/reference/cloud-api.md section 1.7: normalized columns, the original
JSON kept, media recorded (not downloaded), and the events they emit.
Reactions, edits and deletions change another message instead of adding
one."""
import secrets
import time

import pytest

from conftest import Tenant, new_wamid


@pytest.fixture(scope="module")
def shop(stack):
    """One tenant for the module: every test uses its own senders and ids."""
    return Tenant(stack)


def phone():
    return "1650" + "".join(secrets.choice("0123456789") for _ in range(8))


def message(mtype, payload=None, frm=None, ts=None, **extra):
    m = {"from": frm or phone(), "id": new_wamid(),
         "timestamp": str(ts or int(time.time())), "type": mtype}
    if payload is not None:
        m[mtype] = payload
    m.update(extra)
    return m


def deliver(tenant, *messages, name="Sheena Nelson", contacts=None):
    """Posts the messages in one signed body, as Meta does; asserts 200."""
    if contacts is None:
        contacts = [{"profile": {"name": name}, "wa_id": w}
                    for w in dict.fromkeys(m["from"] for m in messages
                                           if "from" in m)]
    body = tenant.webhook(tenant.webhook_value(contacts=contacts,
                                               messages=list(messages)))
    r = tenant.stack.post_webhook(body)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    return r.json()


def row(tenant, wamid):
    rows = tenant.stack.query("SELECT * FROM messages WHERE tenant_id = %s AND"
                              " wamid = %s", tenant.id, wamid)
    assert len(rows) <= 1
    return rows[0] if rows else None


def events(tenant, name=None, **data):
    """The tenant's events (name and data), filtered on data keys."""
    rows = tenant.stack.query("SELECT name, data FROM events WHERE tenant_id = %s"
                              " ORDER BY id", tenant.id)
    return [r for r in rows if (name is None or r["name"] == name) and
            all(r["data"].get(k) == v for k, v in data.items())]


def incoming_event(tenant, wamid):
    evs = [e for e in events(tenant, "message_incoming")
           if e["data"]["message"]["id"] == wamid]
    assert len(evs) == 1, evs
    return evs[0]["data"]


def media_row(tenant, media_id):
    rows = tenant.stack.query("SELECT * FROM media WHERE tenant_id = %s AND"
                              " wa_media_id = %s", tenant.id, media_id)
    assert len(rows) == 1
    return rows[0]


# --- text and media ---------------------------------------------------------

def test_text_message_is_stored_with_its_original_json(shop):
    m = message("text", {"body": "Hello, is the shop open?"}, ts=1744344496)
    assert deliver(shop, m)["messages"] == 1
    r = row(shop, m["id"])
    assert (r["direction"], r["type"], r["status"]) == ("in", "text", "received")
    assert r["text"] == "Hello, is the shop open?"
    assert r["raw"] == m
    assert int(r["meta_ts"].timestamp()) == 1744344496
    assert r["media_id"] is None and r["content"] is None
    assert r["forwarded"] is False and r["context_wamid"] is None
    data = incoming_event(shop, m["id"])
    assert data["phone"] == "+" + m["from"]
    assert data["name"] == "Sheena Nelson"
    assert data["contact"]["wa_id"] == m["from"]
    assert data["contact"]["phone"] == "+" + m["from"]
    assert data["contact"]["last_inbound_at"] == "2025-04-11T04:08:16.000000Z"
    msg = data["message"]
    assert msg["id"] == m["id"] and msg["direction"] == "in"
    assert msg["type"] == "text" and msg["text"] == "Hello, is the shop open?"
    assert msg["timestamp"] == "2025-04-11T04:08:16.000000Z"
    assert msg["status"] == "received" and msg["media"] is None
    assert msg["phone"] == "+" + m["from"]


def test_image_keeps_media_id_mime_sha256_and_caption(shop):
    m = message("image", {"caption": "Taj Mahal", "mime_type": "image/jpeg",
                          "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
                          "id": "1003383421387256",
                          "url": "https://lookaside.fbsbx.com/whatsapp_business/"
                                 "attachments/?mid=1003383421387256"})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "image" and r["text"] == "Taj Mahal"
    assert (r["media_id"], r["media_mime"], r["media_sha256"]) == (
        "1003383421387256", "image/jpeg",
        "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=")
    md = media_row(shop, "1003383421387256")
    assert (md["direction"], md["kind"], md["mime_type"]) == ("in", "image", "image/jpeg")
    assert md["sha256"] == "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI="
    assert incoming_event(shop, m["id"])["message"]["media"] == {
        "id": "1003383421387256", "mime_type": "image/jpeg",
        "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        "filename": None}


def test_video_is_stored_as_media(shop):
    mid = str(secrets.randbelow(10**15))
    m = message("video", {"caption": "unboxing", "mime_type": "video/mp4",
                          "sha256": "dmlkZW8=", "id": mid})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"], r["media_id"], r["media_mime"]) == (
        "video", "unboxing", mid, "video/mp4")
    assert media_row(shop, mid)["kind"] == "video"


def test_audio_is_stored_as_audio(shop):
    mid = str(secrets.randbelow(10**15))
    m = message("audio", {"mime_type": "audio/mpeg", "sha256": "YXVkaW8=",
                          "id": mid, "voice": False})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["media_id"], r["media_mime"]) == ("audio", mid, "audio/mpeg")
    assert r["content"] == {"voice": False}
    assert media_row(shop, mid)["kind"] == "audio"


def test_voice_note_is_type_voice_with_the_flag(shop):
    mid = str(secrets.randbelow(10**15))
    m = message("audio", {"mime_type": "audio/ogg; codecs=opus",
                          "sha256": "m04p=", "id": mid, "voice": True})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "voice" and r["content"] == {"voice": True}
    assert r["media_mime"] == "audio/ogg; codecs=opus"
    assert r["raw"]["type"] == "audio"       # Meta's own type stays in raw
    assert media_row(shop, mid)["kind"] == "audio"
    assert incoming_event(shop, m["id"])["message"]["type"] == "voice"


def test_document_keeps_filename_and_caption(shop):
    mid = str(secrets.randbelow(10**15))
    m = message("document", {"caption": "March invoice", "filename": "invoice-03.pdf",
                             "mime_type": "application/pdf", "sha256": "ZG9j",
                             "id": mid})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"], r["media_filename"], r["media_mime"]) == (
        "document", "March invoice", "invoice-03.pdf", "application/pdf")
    md = media_row(shop, mid)
    assert (md["kind"], md["filename"]) == ("document", "invoice-03.pdf")


@pytest.mark.parametrize("animated", [False, True])
def test_sticker_static_and_animated(shop, animated):
    mid = str(secrets.randbelow(10**15))
    m = message("sticker", {"mime_type": "image/webp", "sha256": "c3RpY2tlcg==",
                            "id": mid, "animated": animated})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["media_id"], r["media_mime"]) == ("sticker", mid, "image/webp")
    assert r["content"] == {"animated": animated}
    assert media_row(shop, mid)["kind"] == "sticker"


def test_the_same_media_id_twice_keeps_one_media_row(shop):
    mid = str(secrets.randbelow(10**15))
    a = message("image", {"mime_type": "image/png", "sha256": "eA==", "id": mid})
    b = message("image", {"mime_type": "image/png", "sha256": "eA==", "id": mid},
                frm=a["from"])
    deliver(shop, a, b)
    assert row(shop, a["id"]) and row(shop, b["id"])
    media_row(shop, mid)


# --- structured types -------------------------------------------------------

def test_location_is_kept_in_content(shop):
    loc = {"latitude": 37.483307, "longitude": -122.148981,
           "name": "Philz Coffee", "address": "101 Forest Ave, Palo Alto, CA 94301"}
    m = message("location", loc)
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "location" and r["content"] == loc
    assert incoming_event(shop, m["id"])["message"]["content"] == loc


def test_contacts_card_is_kept_in_content(shop):
    cards = [{"name": {"formatted_name": "John Smith", "first_name": "John",
                       "last_name": "Smith"},
              "phones": [{"phone": "+1 650 555 1234", "type": "WORK",
                          "wa_id": "16505551234"}],
              "emails": [{"email": "john@example.com", "type": "WORK"}],
              "org": {"company": "Lucky Shrub"}}]
    m = message("contacts")
    m["contacts"] = cards
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "contacts" and r["content"] == {"contacts": cards}


def test_button_reply_emits_button_clicked_with_its_context(shop):
    ctx = new_wamid()
    m = message("interactive", {"type": "button_reply",
                                "button_reply": {"id": "cancel-button",
                                                 "title": "Cancel"}},
                context={"from": shop.display_phone, "id": ctx})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"], r["context_wamid"]) == ("interactive", "Cancel", ctx)
    assert r["content"]["button_reply"] == {"id": "cancel-button", "title": "Cancel"}
    [ev] = events(shop, "button_clicked", message_id=m["id"])
    assert ev["data"]["context_message_id"] == ctx
    assert ev["data"]["button_id"] == "cancel-button"
    assert ev["data"]["title"] == "Cancel"
    assert ev["data"]["source"] == "interactive"
    assert ev["data"]["phone"] == "+" + m["from"]
    assert incoming_event(shop, m["id"])["message"]["context"] == {"message_id": ctx}


def test_list_reply_emits_selection_made(shop):
    ctx = new_wamid()
    m = message("interactive", {"type": "list_reply",
                                "list_reply": {"id": "row-2", "title": "Priority",
                                               "description": "Next-day delivery"}},
                context={"from": shop.display_phone, "id": ctx})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"]) == ("interactive", "Priority")
    [ev] = events(shop, "selection_made", message_id=m["id"])
    assert ev["data"]["context_message_id"] == ctx
    assert (ev["data"]["row_id"], ev["data"]["title"], ev["data"]["description"]) == (
        "row-2", "Priority", "Next-day delivery")
    assert not events(shop, "button_clicked", message_id=m["id"])


def test_flow_nfm_reply_keeps_its_response(shop):
    nfm = {"type": "nfm_reply",
           "nfm_reply": {"name": "flow", "body": "Sent",
                         "response_json": "{\"flow_token\": \"t-1\", \"size\": \"M\"}"}}
    m = message("interactive", nfm, context={"from": shop.display_phone,
                                             "id": new_wamid()})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "interactive" and r["content"] == nfm and r["text"] == "Sent"
    assert not events(shop, "button_clicked", message_id=m["id"])
    assert not events(shop, "selection_made", message_id=m["id"])


def test_template_quick_reply_button_emits_button_clicked(shop):
    ctx = new_wamid()
    m = message("button", {"payload": "callback_data", "text": "Yes, confirm"},
                context={"from": shop.display_phone, "id": ctx})
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"]) == ("button", "Yes, confirm")
    [ev] = events(shop, "button_clicked", message_id=m["id"])
    assert ev["data"]["source"] == "template"
    assert ev["data"]["button_id"] == "callback_data"
    assert ev["data"]["title"] == "Yes, confirm"
    assert ev["data"]["context_message_id"] == ctx


def test_order_is_kept_in_content(shop):
    order = {"catalog_id": "194836987003835", "text": "Please deliver by 6",
             "product_items": [{"product_retailer_id": "di9ozbzfi4", "quantity": 2,
                                "item_price": 30.5, "currency": "USD"}]}
    m = message("order", order)
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"], r["content"]) == ("order", "Please deliver by 6", order)


def test_click_to_whatsapp_referral_is_kept(shop):
    ref = {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120226305854810726",
           "source_type": "ad", "body": "Summer sale", "headline": "50% off",
           "media_type": "image", "image_url": "https://example.com/ad.jpg",
           "ctwa_clid": "Aff-abc", "welcome_message": {"text": "Hi!"}}
    m = message("text", {"body": "I saw your ad"}, referral=ref)
    deliver(shop, m)
    r = row(shop, m["id"])
    assert (r["type"], r["text"]) == ("text", "I saw your ad")
    assert r["content"] == {"referral": ref}


def test_product_enquiry_keeps_the_referred_product(shop):
    prod = {"catalog_id": "194836987003835", "product_retailer_id": "di9ozbzfi4"}
    m = message("text", {"body": "Is this in stock?"},
                context={"from": shop.display_phone, "id": new_wamid(),
                         "referred_product": prod})
    deliver(shop, m)
    assert row(shop, m["id"])["content"] == {"referred_product": prod}


def test_system_message_is_stored_without_opening_the_window(shop):
    frm = phone()
    m = message("system", {"body": "User Sheena Nelson changed from %s to"
                                   " 12195555358" % frm,
                           "wa_id": "12195555358", "type": "user_changed_number"},
                frm=frm)
    deliver(shop, m, contacts=[])     # system messages come without contacts[]
    r = row(shop, m["id"])
    assert r["type"] == "system" and r["text"].startswith("User Sheena")
    assert r["content"]["type"] == "user_changed_number"
    c = shop.stack.query("SELECT * FROM contacts WHERE id = %s", r["contact_id"])[0]
    assert c["wa_id"] == frm and c["last_inbound_at"] is None
    incoming_event(shop, m["id"])


def test_unsupported_message_keeps_meta_errors(shop):
    errors = [{"code": 131051, "title": "Message type unknown",
               "message": "Message type unknown",
               "error_data": {"details": "Message type is currently not supported."}}]
    m = message("unsupported", {"type": "poll_creation"}, errors=errors)
    deliver(shop, m)
    r = row(shop, m["id"])
    assert r["type"] == "unsupported"
    assert r["content"] == {"unsupported": {"type": "poll_creation"}, "errors": errors}
    incoming_event(shop, m["id"])


def test_unknown_type_is_stored_as_unknown_never_dropped(shop):
    m = message("hologram", {"frames": 24, "id": "h-1"})
    reply = deliver(shop, m)
    assert reply["messages"] == 1 and reply["unplaced"] == 0
    r = row(shop, m["id"])
    assert r["type"] == "unknown" and r["content"] == {"meta_type": "hologram"}
    assert r["raw"] == m
    assert incoming_event(shop, m["id"])["message"]["type"] == "unknown"


def test_legacy_unknown_and_request_welcome_are_stored(shop):
    a = message("unknown", errors=[{"code": 131051, "title": "Unsupported"}])
    b = message("request_welcome")
    deliver(shop, a, b)
    assert row(shop, a["id"])["type"] == "unknown"
    assert row(shop, b["id"])["type"] == "request_welcome"


def test_forwarded_flags_and_reply_context_are_columns(shop):
    ctx = new_wamid()
    a = message("text", {"body": "fwd"}, context={"forwarded": True})
    b = message("text", {"body": "viral"}, context={"frequently_forwarded": True})
    c = message("text", {"body": "a reply"},
                context={"from": shop.display_phone, "id": ctx})
    deliver(shop, a, b, c)
    ra, rb, rc = row(shop, a["id"]), row(shop, b["id"]), row(shop, c["id"])
    assert (ra["forwarded"], ra["frequently_forwarded"]) == (True, False)
    assert (rb["forwarded"], rb["frequently_forwarded"]) == (False, True)
    assert (rc["forwarded"], rc["context_wamid"]) == (False, ctx)
    assert incoming_event(shop, a["id"])["message"]["forwarded"] is True


# --- reactions --------------------------------------------------------------

def reaction_row(tenant, target):
    rows = tenant.stack.query("SELECT * FROM reactions WHERE tenant_id = %s AND"
                              " target_wamid = %s AND direction = 'in'",
                              tenant.id, target)
    return rows[0] if rows else None


def test_reaction_sets_and_clears_without_a_chat_bubble(shop):
    target = new_wamid()
    frm = phone()
    t0 = int(time.time())
    set_ = message("reaction", {"message_id": target, "emoji": "\U0001F62E"},
                   frm=frm, ts=t0)
    reply = deliver(shop, set_)
    assert reply["reactions"] == 1 and reply["messages"] == 0
    assert row(shop, set_["id"]) is None
    assert reaction_row(shop, target)["emoji"] == "\U0001F62E"
    [ev] = events(shop, "reaction", message_id=target)
    assert ev["data"]["emoji"] == "\U0001F62E"
    assert ev["data"]["from"] == "+" + frm
    assert ev["data"]["timestamp"] == str(t0)

    # Removal: the emoji key is absent (Meta) or empty (seen in the wild).
    clear = message("reaction", {"message_id": target}, frm=frm, ts=t0 + 5)
    deliver(shop, clear)
    assert reaction_row(shop, target) is None
    evs = events(shop, "reaction", message_id=target)
    assert len(evs) == 2 and evs[1]["data"]["emoji"] is None
    again = message("reaction", {"message_id": target, "emoji": "\U0001F44D"},
                    frm=frm, ts=t0 + 10)
    deliver(shop, again)
    empty = message("reaction", {"message_id": target, "emoji": ""}, frm=frm,
                    ts=t0 + 15)
    deliver(shop, empty)
    assert reaction_row(shop, target) is None
    assert len(events(shop, "reaction", message_id=target)) == 4


def test_duplicate_reaction_adds_no_event(shop):
    target = new_wamid()
    m = message("reaction", {"message_id": target, "emoji": "\u2764\ufe0f"})
    deliver(shop, m)
    reply = deliver(shop, m)
    assert reply["duplicates"] == 1 and reply["events"] == 0
    assert len(events(shop, "reaction", message_id=target)) == 1


def test_late_older_reaction_does_not_override_a_newer_one(shop):
    target = new_wamid()
    frm = phone()
    t0 = int(time.time())
    newer = message("reaction", {"message_id": target, "emoji": "\U0001F44D"},
                    frm=frm, ts=t0 + 10)
    older = message("reaction", {"message_id": target, "emoji": "\U0001F621"},
                    frm=frm, ts=t0)
    deliver(shop, newer)
    reply = deliver(shop, older)
    assert reply["reactions"] == 1 and reply["events"] == 0
    assert reaction_row(shop, target)["emoji"] == "\U0001F44D"
    # Both are on record, with their JSON.
    kept = shop.stack.query("SELECT raw FROM message_updates WHERE tenant_id = %s"
                            " AND target_wamid = %s ORDER BY meta_ts",
                            shop.id, target)
    assert [k["raw"] for k in kept] == [older, newer]


def test_reaction_to_a_stored_message_shows_on_it(shop):
    m = message("text", {"body": "nice"})
    deliver(shop, m)
    r = message("reaction", {"message_id": m["id"], "emoji": "\U0001F525"},
                frm=m["from"])
    deliver(shop, r)
    assert reaction_row(shop, m["id"])["emoji"] == "\U0001F525"
    assert shop.stack.query("SELECT count(*) AS n FROM messages WHERE tenant_id = %s"
                            " AND contact_id = %s", shop.id,
                            row(shop, m["id"])["contact_id"])[0]["n"] == 1


# --- edits and deletions (coexistence numbers) ------------------------------

def test_edit_updates_the_original_and_emits_once(shop):
    orig = message("text", {"body": "See you at 5"})
    deliver(shop, orig)
    edit = message("edit", {"original_message_id": orig["id"],
                            "message": {"type": "text",
                                        "text": {"body": "See you at 6"}}},
                   frm=orig["from"], ts=int(orig["timestamp"]) + 30)
    reply = deliver(shop, edit)
    assert reply["edits"] == 1 and reply["messages"] == 0
    r = row(shop, orig["id"])
    assert r["text"] == "See you at 6"
    assert r["content"]["edited"]["id"] == edit["id"]
    assert r["content"]["edited"]["previous_text"] == "See you at 5"
    assert r["raw"] == orig                  # the original JSON stays
    assert row(shop, edit["id"]) is None     # no bubble of its own
    [ev] = events(shop, "message_edited", message_id=orig["id"])
    assert ev["data"]["message"]["text"] == "See you at 6"
    assert deliver(shop, edit)["duplicates"] == 1
    assert len(events(shop, "message_edited", message_id=orig["id"])) == 1


def test_edit_of_a_caption_changes_the_caption(shop):
    mid = str(secrets.randbelow(10**15))
    orig = message("image", {"caption": "old", "mime_type": "image/jpeg",
                             "sha256": "eA==", "id": mid})
    deliver(shop, orig)
    edit = message("edit", {"original_message_id": orig["id"],
                            "message": {"context": {"id": "M0"}, "type": "image",
                                        "image": {"caption": "new caption",
                                                  "mime_type": "image/jpeg",
                                                  "sha256": "eA==", "id": mid}}},
                   frm=orig["from"])
    deliver(shop, edit)
    r = row(shop, orig["id"])
    assert (r["text"], r["media_id"], r["type"]) == ("new caption", mid, "image")


def test_edit_arriving_before_its_original_is_applied_when_it_comes(shop):
    frm = phone()
    t0 = int(time.time())
    orig = message("text", {"body": "draft"}, frm=frm, ts=t0)
    edit = message("edit", {"original_message_id": orig["id"],
                            "message": {"type": "text", "text": {"body": "final"}}},
                   frm=frm, ts=t0 + 5)
    deliver(shop, edit)
    assert not events(shop, "message_edited", message_id=orig["id"])
    deliver(shop, orig)
    assert row(shop, orig["id"])["text"] == "final"
    names = [e["name"] for e in events(shop) if
             e["data"].get("message_id") == orig["id"] or
             e["data"].get("message", {}).get("id") == orig["id"]]
    assert names == ["message_incoming", "message_edited"]


def test_revoke_hides_the_original_and_emits_message_deleted(shop):
    mid = str(secrets.randbelow(10**15))
    orig = message("image", {"caption": "oops", "mime_type": "image/jpeg",
                             "sha256": "eA==", "id": mid})
    deliver(shop, orig)
    rev = message("revoke", {"original_message_id": orig["id"]}, frm=orig["from"])
    reply = deliver(shop, rev)
    assert reply["edits"] == 1
    r = row(shop, orig["id"])
    assert r["text"] is None and r["media_id"] is None
    assert r["content"]["deleted"]["id"] == rev["id"]
    assert r["raw"] == orig
    [ev] = events(shop, "message_deleted", message_id=orig["id"])
    assert ev["data"]["revoke_id"] == rev["id"]
    # A late edit of a deleted message changes nothing.
    edit = message("edit", {"original_message_id": orig["id"],
                            "message": {"type": "text", "text": {"body": "x"}}},
                   frm=orig["from"])
    deliver(shop, edit)
    assert row(shop, orig["id"])["text"] is None
    assert not events(shop, "message_edited", message_id=orig["id"])


# --- contacts ---------------------------------------------------------------

def test_contact_known_only_by_bsuid_is_stored(shop):
    uid = "US.%d" % secrets.randbelow(10**20)
    m = {"from_user_id": uid, "id": new_wamid(), "timestamp": str(int(time.time())),
         "type": "text", "text": {"body": "hi, I use a username"}}
    deliver(shop, m, contacts=[{"profile": {"name": "Anon", "username": "anon"},
                                "user_id": uid}])
    r = row(shop, m["id"])
    c = shop.stack.query("SELECT * FROM contacts WHERE id = %s", r["contact_id"])[0]
    assert (c["wa_id"], c["user_id"], c["name"]) == (None, uid, "Anon")
    data = incoming_event(shop, m["id"])
    assert data["phone"] is None and data["contact"]["user_id"] == uid
    # Later the same person shows up with a phone: same contact, learns it.
    frm = phone()
    m2 = {"from": frm, "from_user_id": uid, "id": new_wamid(),
          "timestamp": str(int(time.time())), "type": "text", "text": {"body": "again"}}
    deliver(shop, m2, contacts=[{"profile": {"name": "Anon"}, "wa_id": frm,
                                 "user_id": uid}])
    assert row(shop, m2["id"])["contact_id"] == c["id"]
    c = shop.stack.query("SELECT * FROM contacts WHERE id = %s", c["id"])[0]
    assert (c["wa_id"], c["user_id"]) == (frm, uid)


def test_contact_name_and_bsuid_are_updated_and_last_inbound_is_the_max(shop):
    frm = phone()
    t0 = int(time.time()) - 600
    deliver(shop, message("text", {"body": "1"}, frm=frm, ts=t0 + 100), name="Old Name")
    uid = "US.%d" % secrets.randbelow(10**20)
    # Two messages in one body, newest first, then an older one alone.
    deliver(shop, message("text", {"body": "2"}, frm=frm, ts=t0 + 300),
            message("text", {"body": "3"}, frm=frm, ts=t0 + 200),
            contacts=[{"profile": {"name": "New Name"}, "wa_id": frm, "user_id": uid}])
    deliver(shop, message("text", {"body": "4"}, frm=frm, ts=t0), name="New Name")
    cs = shop.stack.query("SELECT * FROM contacts WHERE tenant_id = %s AND wa_id = %s",
                          shop.id, frm)
    assert len(cs) == 1
    c = cs[0]
    assert (c["name"], c["user_id"]) == ("New Name", uid)
    assert int(c["last_inbound_at"].timestamp()) == t0 + 300
