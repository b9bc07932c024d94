"""The inbox: GET/DELETE /api/v1/conversations[/{phone}].

Data is made with SQL (the rows the webhook and send paths write), so each
rule is tested on exactly the rows it is about, with chosen times."""
import urllib.parse

import pytest
import requests

from conftest import new_wamid, wait_for

PHONE = "919876543210"


def add_contact(stack, tenant, wa_id, name=None, activity="now()",
                inbound=None, read_upto=0):
    """A contact; activity/inbound are SQL expressions (times)."""
    return stack.query(
        "INSERT INTO contacts (tenant_id, wa_id, name, last_activity_at,"
        " last_inbound_at, read_upto_id) VALUES (%s, %s, %s, " + activity +
        ", " + (inbound or "NULL") + ", %s) RETURNING id",
        tenant.id, wa_id, name, read_upto)[0]["id"]


def add_message(stack, tenant, contact_id, direction="in", type="text",
                text="hello", wamid=None, status=None, **cols):
    """A message row; returns (id, wamid)."""
    wamid = wamid or new_wamid()
    row = {"tenant_id": tenant.id, "contact_id": contact_id, "wamid": wamid,
           "direction": direction, "type": type, "text": text,
           "status": status or ("received" if direction == "in" else "sent")}
    row.update(cols)
    names = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    mid = stack.query("INSERT INTO messages (%s) VALUES (%s) RETURNING id"
                      % (names, marks), *row.values())[0]["id"]
    return mid, wamid


def listing(tenant, **params):
    r = tenant.api("GET", "/api/v1/conversations", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True
    return body


def phones(body):
    return [c["phone"] for c in body["conversations"]]


def walk(tenant, limit, **params):
    """Every row of the list, page by page."""
    seen, cursor, pages = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        body = listing(tenant, **p)
        assert len(body["conversations"]) <= limit
        seen += phones(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100


def detail(tenant, phone, **params):
    r = tenant.api("GET", "/api/v1/conversations/" + phone, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def assert_error(r, status, code, field=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    if field:
        assert body["error"]["message"].startswith(field + ":"), body


def test_list_shows_each_contact_newest_activity_first_with_preview(stack, tenant):
    old = add_contact(stack, tenant, "441111111111", "Old",
                      "now() - interval '3 hours'")
    mid = add_contact(stack, tenant, "442222222222", "Mid",
                      "now() - interval '2 hours'")
    new = add_contact(stack, tenant, "443333333333", None,
                      "now() - interval '1 hour'")
    add_message(stack, tenant, old, text="first")
    add_message(stack, tenant, old, "out", text="answer", status="delivered")
    add_message(stack, tenant, mid, "in", "image", text="a caption",
                media_id="9001", media_mime="image/jpeg")
    body = listing(tenant)
    assert phones(body) == ["+443333333333", "+442222222222", "+441111111111"]
    assert body["next_cursor"] is None
    rows = {c["phone"]: c for c in body["conversations"]}
    assert rows["+443333333333"]["last_message"] is None
    assert rows["+443333333333"]["name"] is None
    assert rows["+441111111111"]["name"] == "Old"
    assert rows["+441111111111"]["contact"]["wa_id"] == "441111111111"
    last = rows["+441111111111"]["last_message"]
    assert (last["type"], last["text"], last["direction"], last["status"]) == \
        ("text", "answer", "out", "delivered")
    assert last["timestamp"].endswith("Z") and last["id"] and last["db_id"]
    img = rows["+442222222222"]["last_message"]
    assert (img["type"], img["text"], img["direction"]) == \
        ("image", "a caption", "in")
    assert rows["+442222222222"]["contact"]


def test_contact_known_only_by_bsuid_is_listed_without_phone(stack, tenant):
    stack.query("INSERT INTO contacts (tenant_id, user_id, name) VALUES"
                " (%s, 'US.13491208655302741918', 'No Phone')", tenant.id)
    add_contact(stack, tenant, PHONE, "With Phone",
                "now() - interval '1 minute'")
    rows = listing(tenant)["conversations"]
    assert [(c["phone"], c["name"]) for c in rows] == \
        [(None, "No Phone"), ("+" + PHONE, "With Phone")]
    assert rows[0]["contact"]["user_id"] == "US.13491208655302741918"
    assert phones(listing(tenant, q="no phone")) == [None]


def test_list_needs_a_tenant_token(stack, tenant):
    r = requests.get(stack.url("/api/v1/conversations"))
    assert r.status_code == 401


def test_pagination_with_ties_in_time_skips_and_repeats_nothing(stack, tenant):
    # Seven contacts share one activity time, between two others: every
    # page boundary falls inside the tie for some limit.
    add_contact(stack, tenant, "4900000000", "newest", "now()")
    tied = "'2026-01-01T12:00:00.123456Z'"
    for i in range(7):
        add_contact(stack, tenant, "49100000%02d" % i, "tied %d" % i, tied)
    add_contact(stack, tenant, "4999999999", "oldest",
                "'2025-12-31T00:00:00Z'")
    expected = [r["p"] for r in stack.query(
        "SELECT '+' || wa_id AS p FROM contacts WHERE tenant_id = %s"
        " ORDER BY last_activity_at DESC, id DESC", tenant.id)]
    assert expected[0] == "+4900000000" and expected[-1] == "+4999999999"
    for limit in (1, 2, 3, 4, 9, 10):
        seen, pages = walk(tenant, limit)
        assert seen == expected, limit
        assert pages == max(1, -(-len(expected) // limit)), limit


def test_cursor_is_stable_when_contacts_arrive_between_pages(stack, tenant):
    for i in range(6):
        add_contact(stack, tenant, "3300000000%d" % i, None,
                    "now() - interval '%d minutes'" % (10 + i // 2))
    before = phones(listing(tenant, limit=50))
    page1 = listing(tenant, limit=3)
    # New activity lands above the cursor: it is not on later pages (a
    # refresh shows it), and nothing already shown moves down into them.
    add_contact(stack, tenant, "33999999999", "new", "now()")
    add_contact(stack, tenant, "33888888888", "new tie",
                "(SELECT last_activity_at FROM contacts WHERE tenant_id = '%s'"
                " AND wa_id = '%s')" % (tenant.id, phones(page1)[-1][1:]))
    page2 = listing(tenant, limit=3, cursor=page1["next_cursor"])
    assert phones(page1) + phones(page2) == before
    assert page2["next_cursor"] is None
    assert phones(listing(tenant))[0] == "+33999999999"


def test_search_matches_name_case_insensitively_and_phone_digits(stack, tenant):
    add_contact(stack, tenant, "919876543210", "Priya Sharma")
    add_contact(stack, tenant, "14155550100", "ALICE Smith")
    add_contact(stack, tenant, "447700900123", "Bob 50% off")
    assert phones(listing(tenant, q="priya")) == ["+919876543210"]
    assert phones(listing(tenant, q="alice s")) == ["+14155550100"]
    assert phones(listing(tenant, q="+91 98765-43")) == ["+919876543210"]
    assert phones(listing(tenant, q="5550")) == ["+14155550100"]
    # Search text is literal: '%' and '_' are no wildcards.
    assert phones(listing(tenant, q="50%")) == ["+447700900123"]
    assert phones(listing(tenant, q="_")) == []
    assert phones(listing(tenant, q="nobody")) == []
    # More digits than any number has match no number.
    assert phones(listing(tenant, q="9198765432101234")) == []
    assert len(listing(tenant, q="")["conversations"]) == 3
    # Search pages like the full list.
    seen, _ = walk(tenant, 1, q="i")
    assert seen == phones(listing(tenant, q="i")) and len(seen) == 2


def test_unread_count_counts_incoming_after_read_upto(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "Unread")
    first, _ = add_message(stack, tenant, c, "in")
    add_message(stack, tenant, c, "in")
    add_message(stack, tenant, c, "out")
    add_message(stack, tenant, c, "in")
    add_message(stack, tenant, c, "in", "reaction", text=None,
                content='{"emoji": "x"}')
    row = listing(tenant)["conversations"][0]
    assert row["unread_count"] == 3
    stack.query("UPDATE contacts SET read_upto_id = %s WHERE id = %s", first, c)
    assert listing(tenant)["conversations"][0]["unread_count"] == 2


def test_reading_a_conversation_does_not_mark_it_read(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "Reader")
    add_message(stack, tenant, c, "in")
    add_message(stack, tenant, c, "in")
    for _ in range(2):
        listing(tenant)
        d = detail(tenant, PHONE)
    assert d["conversation"]["unread_count"] == 2
    assert listing(tenant)["conversations"][0]["unread_count"] == 2
    row = stack.query("SELECT read_upto_id FROM contacts WHERE id = %s", c)[0]
    assert row["read_upto_id"] == 0
    assert {m["status"] for m in stack.query(
        "SELECT status FROM messages WHERE contact_id = %s", c)} == {"received"}


def test_mark_read_endpoint_resets_unread_count(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "Reader")
    add_message(stack, tenant, c, "in")
    _, last = add_message(stack, tenant, c, "in")
    assert listing(tenant)["conversations"][0]["unread_count"] == 2
    r = tenant.api("POST", "/api/v1/messages/%s/read" % last)
    assert r.status_code == 204, r.text
    assert listing(tenant)["conversations"][0]["unread_count"] == 0
    add_message(stack, tenant, c, "in")
    assert listing(tenant)["conversations"][0]["unread_count"] == 1


def test_window_open_and_expiry_follow_last_inbound(stack, tenant):
    add_contact(stack, tenant, "4410000001", "open",
                inbound="'2026-01-01T00:00:00Z'::timestamptz")
    stack.query("UPDATE contacts SET last_inbound_at = now() - interval '1 hour'"
                " WHERE tenant_id = %s AND wa_id = '4410000001'", tenant.id)
    add_contact(stack, tenant, "4410000002", "closed",
                inbound="'2026-01-01T08:30:00.5Z'::timestamptz")
    add_contact(stack, tenant, "4410000003", "never wrote")
    rows = {c["name"]: c for c in listing(tenant)["conversations"]}
    exp = stack.query(
        "SELECT wa_iso(last_inbound_at + interval '24 hours') AS t"
        " FROM contacts WHERE tenant_id = %s AND wa_id = '4410000001'",
        tenant.id)[0]["t"]
    assert rows["open"]["window_open"] is True
    assert rows["open"]["window_expires_at"] == exp
    assert rows["closed"]["window_open"] is False
    assert rows["closed"]["window_expires_at"] == "2026-01-02T08:30:00.500000Z"
    assert rows["never wrote"]["window_open"] is False
    assert rows["never wrote"]["window_expires_at"] is None
    assert detail(tenant, "4410000002")["conversation"]["window_open"] is False


def test_detail_pages_newest_first_with_before(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "History")
    ids = [add_message(stack, tenant, c, "in" if i % 2 else "out",
                       text="m%d" % i)[0] for i in range(5)]
    other = add_contact(stack, tenant, "4400000000", "Other")
    add_message(stack, tenant, other, text="not mine")
    d = detail(tenant, PHONE, limit=2)
    assert d["conversation"]["phone"] == "+" + PHONE
    assert d["conversation"]["name"] == "History"
    got, pages = [], [d]
    while True:
        got += [m["text"] for m in pages[-1]["messages"]]
        if pages[-1]["next_before"] is None:
            break
        pages.append(detail(tenant, PHONE, limit=2,
                            before=pages[-1]["next_before"]))
    assert got == ["m4", "m3", "m2", "m1", "m0"]
    assert [len(p["messages"]) for p in pages] == [2, 2, 1]
    assert [m["db_id"] for m in d["messages"]] == [ids[4], ids[3]]
    full = detail(tenant, PHONE)
    assert len(full["messages"]) == 5 and full["next_before"] is None


def test_detail_message_has_reactions_reply_media_status_and_failure(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "Rich")
    q_id, q_wamid = add_message(stack, tenant, c, "in", text="question")
    stack.query("INSERT INTO reactions (tenant_id, target_wamid, direction, emoji)"
                " VALUES (%s, %s, 'in', %s), (%s, %s, 'out', %s)",
                tenant.id, q_wamid, "\U0001F44D", tenant.id, q_wamid, "\u2764")
    add_message(stack, tenant, c, "out", text="answer", status="read",
                context_wamid=q_wamid,
                status_times='{"sent": 1733656200, "delivered": 1733656230,'
                             ' "read": 1733656260}')
    stack.query("INSERT INTO media (tenant_id, wa_media_id, mime_type, filename,"
                " direction) VALUES (%s, 'wa-media-77', 'application/pdf',"
                " 'menu.pdf', 'out')", tenant.id)
    add_message(stack, tenant, c, "out", "document", text="the menu",
                media_id="wa-media-77", media_mime="application/pdf",
                status="failed",
                error='{"code": 131047, "title": "Re-engagement message"}')
    # The reaction message itself is not an entry of the history.
    add_message(stack, tenant, c, "in", "reaction", text=None,
                content='{"emoji": "\U0001F44D", "message_id": "%s"}' % q_wamid)
    msgs = detail(tenant, PHONE)["messages"]
    assert [m["type"] for m in msgs] == ["document", "text", "text"]
    doc, answer, question = msgs
    assert question["reactions"] == {"in": "\U0001F44D", "out": "\u2764"}
    assert answer["reactions"] == {}
    assert answer["context"]["message_id"] == q_wamid
    quoted = answer["context"]["message"]
    assert (quoted["db_id"], quoted["text"], quoted["direction"]) == \
        (q_id, "question", "in")
    assert answer["status"] == "read"
    assert answer["status_times"]["delivered"] == 1733656230
    assert question["context"] is None
    assert doc["status"] == "failed"
    assert doc["error"]["code"] == 131047
    assert doc["media"]["id"] == "wa-media-77"
    assert doc["media"]["mime_type"] == "application/pdf"
    assert doc["text"] == "the menu"
    # The preview skips the reaction too.
    assert listing(tenant)["conversations"][0]["last_message"]["type"] == \
        "document"


@pytest.mark.parametrize("form", [
    "+919876543210", "919876543210", "+91 98765-43210", "+91-98765-43210",
    "91 98765 43210", "(91) 98765 43210"])
def test_phone_accepts_the_forms_people_type(stack, tenant, form):
    c = add_contact(stack, tenant, PHONE, "Formed")
    add_message(stack, tenant, c, text="hi")
    path = "/api/v1/conversations/" + urllib.parse.quote(form, safe="")
    r = tenant.api("GET", path)
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["phone"] == "+" + PHONE
    assert [m["text"] for m in r.json()["messages"]] == ["hi"]
    assert tenant.api("DELETE", path).status_code == 204
    assert stack.query("SELECT count(*) AS n FROM messages WHERE contact_id = %s",
                       c)[0]["n"] == 0


def test_unknown_phone_is_404_and_malformed_phone_422(stack, tenant):
    add_contact(stack, tenant, PHONE, "Known")
    for method in ("GET", "DELETE"):
        assert_error(tenant.api(method, "/api/v1/conversations/14155550199"),
                     404, "not_found")
        assert_error(tenant.api(method, "/api/v1/conversations/not-a-phone"),
                     422, "invalid_field", "phone")
        assert_error(tenant.api(method, "/api/v1/conversations/123"),
                     422, "invalid_field", "phone")
    assert stack.query("SELECT count(*) AS n FROM events WHERE tenant_id = %s",
                       tenant.id)[0]["n"] == 0


def test_bad_limit_and_cursor_are_422_naming_the_field(stack, tenant):
    c = add_contact(stack, tenant, PHONE, "x")
    add_contact(stack, tenant, "4400000000", "y", "now() - interval '1 hour'")
    add_message(stack, tenant, c)
    add_message(stack, tenant, c)
    list_cursor = listing(tenant, limit=1)["next_cursor"]
    msg_cursor = detail(tenant, PHONE, limit=1)["next_before"]
    assert list_cursor and msg_cursor
    for bad in ("0", "201", "-1", "abc", "", "1.5", " 5", "99999999999999999999"):
        assert_error(tenant.api("GET", "/api/v1/conversations",
                                params={"limit": bad}), 422, "invalid_field",
                     "limit")
        assert_error(tenant.api("GET", "/api/v1/conversations/" + PHONE,
                                params={"limit": bad}), 422, "invalid_field",
                     "limit")
    assert len(listing(tenant, limit=200)["conversations"]) == 2
    import base64

    def forged(raw):
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    forgeries = [forged(x) for x in (
        "c:9000000000000000000:1", "c:-9000000000000000000:1", "c:1:0",
        "c:1:-5", "c:1", "c:1:2:3", "c::1", "c:1.5:2", "m:5", "c:1:2\x00")]
    assert listing(tenant, cursor=forged("c:0:1"))["conversations"] == []
    for bad in ["garbage", "!!", msg_cursor, list_cursor + "A", "x" * 500] + \
            forgeries:
        assert_error(tenant.api("GET", "/api/v1/conversations",
                                params={"cursor": bad}), 422, "invalid_field",
                     "cursor")
    for bad in ["garbage", list_cursor, "x" * 500, forged("m:0"),
                forged("m:-1"), forged("m:99999999999999999999")]:
        assert_error(tenant.api("GET", "/api/v1/conversations/" + PHONE,
                                params={"before": bad}), 422, "invalid_field",
                     "before")
    assert_error(tenant.api("GET", "/api/v1/conversations",
                            params={"q": "x" * 101}), 422, "invalid_field", "q")
    assert len(listing(tenant, cursor="")["conversations"]) == 2


def test_tenants_cannot_list_read_or_delete_each_others_conversations(
        stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    cb = add_contact(stack, b, "14155550111", "B's customer")
    add_message(stack, b, cb, text="for B only")
    # The same customer writing to both tenants is two conversations.
    cb_shared = add_contact(stack, b, PHONE, "shared in B")
    _, shared_b_wamid = add_message(stack, b, cb_shared, text="B side")
    stack.query("INSERT INTO reactions (tenant_id, target_wamid, direction, emoji)"
                " VALUES (%s, %s, 'in', 'ok')", b.id, shared_b_wamid)
    ca_shared = add_contact(stack, a, PHONE, "shared in A")
    add_message(stack, a, ca_shared, text="A side")

    assert phones(listing(a)) == ["+" + PHONE]
    assert phones(listing(a, q="B's")) == []
    assert phones(listing(a, q="14155550111")) == []
    assert_error(a.api("GET", "/api/v1/conversations/14155550111"), 404,
                 "not_found")
    assert_error(a.api("DELETE", "/api/v1/conversations/14155550111"), 404,
                 "not_found")
    assert [m["text"] for m in detail(a, PHONE)["messages"]] == ["A side"]
    # B's cursor means nothing to A's list beyond a position in time.
    assert a.api("DELETE", "/api/v1/conversations/" + PHONE).status_code == 204
    assert [m["text"] for m in detail(b, PHONE)["messages"]] == ["B side"]
    assert detail(b, PHONE)["messages"][0]["reactions"] == {"in": "ok"}
    assert [m["text"] for m in detail(b, "14155550111")["messages"]] == \
        ["for B only"]
    # Someone else's tenant id in the header is refused outright.
    r = requests.get(stack.url("/api/v1/conversations"),
                     headers={"Authorization": "Bearer " + a.token,
                              "X-Tenant-Id": b.id})
    assert r.status_code in (401, 403), r.text
    assert stack.query("SELECT count(*) AS n FROM events WHERE tenant_id = %s"
                       " AND name = 'conversation_deleted'", b.id)[0]["n"] == 0


def test_delete_removes_only_that_conversations_messages_media_and_reactions(
        stack, tenant, make_tenant):
    other_tenant = make_tenant()
    x = add_contact(stack, tenant, PHONE, "X",
                    inbound="now() - interval '1 hour'")
    y = add_contact(stack, tenant, "14155550100", "Y")
    for t, media in ((tenant, ("mx", "my", "shared")),
                     (other_tenant, ("mx",))):
        for m in media:
            stack.query("INSERT INTO media (tenant_id, wa_media_id, mime_type)"
                        " VALUES (%s, %s, 'image/jpeg')", t.id, m)
    _, x1 = add_message(stack, tenant, x, "in", "image", media_id="mx")
    _, x2 = add_message(stack, tenant, x, "out", "image", media_id="shared")
    add_message(stack, tenant, x, "out", context_wamid=x1)
    _, y1 = add_message(stack, tenant, y, "out", "image", media_id="my")
    add_message(stack, tenant, y, "out", "image", media_id="shared")
    ox = add_contact(stack, other_tenant, PHONE, "X elsewhere")
    _, o1 = add_message(stack, other_tenant, ox, "in", "image", media_id="mx")
    for t, target in ((tenant, x1), (tenant, x2), (tenant, y1),
                      (other_tenant, o1)):
        stack.query("INSERT INTO reactions (tenant_id, target_wamid, direction,"
                    " emoji) VALUES (%s, %s, 'out', 'ok')", t.id, target)

    r = tenant.api("DELETE", "/api/v1/conversations/%2B" + PHONE)
    assert r.status_code == 204 and r.content == b""

    def count(sql, *args):
        return stack.query("SELECT count(*) AS n FROM " + sql, *args)[0]["n"]
    assert count("messages WHERE contact_id = %s", x) == 0
    assert count("messages WHERE contact_id = %s", y) == 2
    assert count("messages WHERE contact_id = %s", ox) == 1
    media = {m["wa_media_id"] for m in stack.query(
        "SELECT wa_media_id FROM media WHERE tenant_id = %s", tenant.id)}
    assert media == {"my", "shared"}   # "shared" is still used by Y
    assert count("media WHERE tenant_id = %s", other_tenant.id) == 1
    assert {r["target_wamid"] for r in stack.query(
        "SELECT target_wamid FROM reactions WHERE tenant_id = %s",
        tenant.id)} == {y1}
    assert count("reactions WHERE tenant_id = %s", other_tenant.id) == 1
    ev = stack.query("SELECT name, data FROM events WHERE tenant_id = %s",
                     tenant.id)
    assert ev == [{"name": "conversation_deleted", "data": {"phone": "+" + PHONE}}]
    assert count("events WHERE tenant_id = %s", other_tenant.id) == 0
    # wa-pushd numbers it and clients catching up receive it.
    def delivered():
        r = tenant.api("GET", "/api/v1/events")
        return r.status_code == 200 and r.json()["events"]
    assert [(e["event"], e["data"]) for e in wait_for(delivered)] == \
        [("conversation_deleted", {"phone": "+" + PHONE})]
    # The contact stays, with its name and window, and an empty history.
    d = detail(tenant, PHONE)
    assert d["messages"] == [] and d["next_before"] is None
    assert d["conversation"]["name"] == "X"
    assert d["conversation"]["window_open"] is True
    row = [c for c in listing(tenant)["conversations"]
           if c["phone"] == "+" + PHONE][0]
    assert row["last_message"] is None and row["unread_count"] == 0
    # Deleting again is still a known contact: 204, one more event.
    assert tenant.api("DELETE", "/api/v1/conversations/" + PHONE).status_code == 204
    assert count("events WHERE tenant_id = %s", tenant.id) == 2


def test_webhook_messages_show_in_the_inbox_unread_with_the_window_open(
        stack, tenant):
    """End to end through ingestion: what Meta sends is what the inbox shows."""
    import time as _time
    ts = int(_time.time()) - 60
    first, second, reaction = new_wamid(), new_wamid(), new_wamid()
    sender = {"profile": {"name": "Webhook Wendy"}, "wa_id": PHONE}
    msgs = [
        {"from": PHONE, "id": first, "timestamp": str(ts), "type": "text",
         "text": {"body": "hello there"}},
        {"from": PHONE, "id": second, "timestamp": str(ts + 1),
         "type": "image", "context": {"from": PHONE, "id": first},
         "image": {"id": "wh-media-1", "mime_type": "image/jpeg",
                   "sha256": "abc", "caption": "look at this"}},
        {"from": PHONE, "id": reaction, "timestamp": str(ts + 2),
         "type": "reaction",
         "reaction": {"message_id": first, "emoji": "\U0001F44D"}},
    ]
    r = stack.post_webhook(tenant.webhook(tenant.webhook_value(
        contacts=[sender], messages=msgs)))
    assert r.status_code == 200, r.text
    row = listing(tenant)["conversations"][0]
    assert (row["phone"], row["name"]) == ("+" + PHONE, "Webhook Wendy")
    assert row["unread_count"] == 2
    assert row["window_open"] is True
    exp = stack.query("SELECT wa_iso(to_timestamp(%s) + interval '24 hours')"
                      " AS t", ts + 1)[0]["t"]
    assert row["window_expires_at"] == exp
    last = row["last_message"]
    assert (last["id"], last["type"], last["text"], last["direction"]) == \
        (second, "image", "look at this", "in")
    d = detail(tenant, "+" + PHONE)
    img, text = d["messages"]
    assert (img["id"], text["id"]) == (second, first)
    assert img["media"]["id"] == "wh-media-1"
    assert img["context"]["message_id"] == first
    assert img["context"]["message"]["text"] == "hello there"
    assert text["reactions"] == {"in": "\U0001F44D"}
    # Deleting drops the ingested media record too.
    assert tenant.api("DELETE", "/api/v1/conversations/" + PHONE).status_code == 204
    assert stack.query("SELECT count(*) AS n FROM media WHERE tenant_id = %s",
                       tenant.id)[0]["n"] == 0
