"""schema/functions/json.sql and events.sql, called directly: Meta's
timestamps read, ours written, JSON arrays and errors, the canonical JSON
of a contact and of a message, and the frame clients receive."""
import json
import secrets

import pytest


def one(stack, sql, *params):
    return stack.query("SELECT " + sql + " AS v", *params)[0]["v"]


@pytest.fixture(scope="module")
def tenant_id(stack):
    pnid = "3" + "".join(secrets.choice("0123456789") for _ in range(14))
    return stack.query("INSERT INTO tenants (name, phone_number_id, waba_id,"
                       " access_token) VALUES ('sql json', %s, '2', 'x')"
                       " RETURNING id", pnid)[0]["id"]


@pytest.mark.parametrize("s, want", [
    ("1764000000", "2025-11-24T16:00:00.000000Z"),
    ("0", "1970-01-01T00:00:00.000000Z"),
    ("", None), ("abc", None), ("-5", None), ("1.5", None),
    ("123456789012", None),     # more than 11 digits
])
def test_wa_ts_reads_unix_seconds_and_nothing_else(stack, s, want):
    assert one(stack, "wa_iso(wa_ts(%s))", s) == want


def test_wa_iso_is_utc_with_microseconds_and_null_stays_null(stack):
    assert one(stack, "wa_iso('2025-03-04 05:06:07.123456+02')") == \
        "2025-03-04T03:06:07.123456Z"
    assert one(stack, "wa_iso(NULL)") is None


def test_wa_unix_writes_whole_seconds_as_text(stack):
    assert one(stack, "wa_unix('2025-11-24 16:00:00.9+00')") == "1764000000"


@pytest.mark.parametrize("j, want", [
    (None, []), ("null", []), ("[]", []), ("[1, {\"a\": 2}]", [1, {"a": 2}]),
    ("{}", None), ("\"x\"", None), ("3", None),
])
def test_wa_arr_takes_arrays_absent_or_null_as_empty_and_refuses_the_rest(
        stack, j, want):
    assert one(stack, "wa_arr(%s::jsonb)", j) == want


def test_wa_error_json_keeps_metas_fields_and_lifts_the_details(stack):
    e = {"code": 131047, "title": "Re-engagement message",
         "message": "Re-engagement message", "href": "https://x/err",
         "error_data": {"details": "More than 24 hours have passed"},
         "extra": "dropped"}
    assert one(stack, "wa_error_json(%s::jsonb)", json.dumps(e)) == {
        "code": 131047, "title": "Re-engagement message",
        "message": "Re-engagement message", "href": "https://x/err",
        "details": "More than 24 hours have passed"}
    assert one(stack, "wa_error_json('{\"code\": 1}')") == {"code": 1}
    assert one(stack, "wa_error_json('[1]')") is None


def test_wa_contact_json_shows_the_window_from_the_last_inbound_time(
        stack, tenant_id):
    c = stack.query(
        "INSERT INTO contacts (tenant_id, wa_id, user_id, name,"
        " last_inbound_at) VALUES (%s, '16505550100', 'US.u1', 'Ada',"
        " now() - interval '1 hour') RETURNING wa_contact_json(contacts) AS j,"
        " id, wa_iso(last_inbound_at + interval '24 hours') AS exp,"
        " wa_iso(created_at) AS created", tenant_id)[0]
    j = c["j"]
    assert j["id"] == c["id"] and j["phone"] == "+16505550100"
    assert (j["wa_id"], j["user_id"], j["name"]) == \
        ("16505550100", "US.u1", "Ada")
    assert j["window_open"] is True
    assert j["window_expires_at"] == c["exp"]
    assert j["created_at"] == c["created"]
    assert set(j) == {"id", "phone", "wa_id", "user_id", "name",
                      "last_inbound_at", "window_open", "window_expires_at",
                      "last_activity_at", "created_at"}
    old = stack.query(
        "INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, '16505550101')"
        " RETURNING wa_contact_json(contacts) AS j", tenant_id)[0]["j"]
    assert old["window_open"] is False
    assert old["last_inbound_at"] is None and old["window_expires_at"] is None


def test_wa_message_json_is_the_same_with_the_phone_given_or_looked_up(
        stack, tenant_id):
    cid = stack.query("INSERT INTO contacts (tenant_id, wa_id) VALUES"
                      " (%s, '16505550102') RETURNING id", tenant_id)[0]["id"]
    m = stack.query(
        "INSERT INTO messages (tenant_id, contact_id, wamid, direction, type,"
        " text, media_id, media_mime, media_sha256, media_filename,"
        " context_wamid, status, meta_ts) VALUES (%s, %s, 'wamid.sqljson1',"
        " 'in', 'document', 'the caption', 'M1', 'application/pdf', 'c2hh',"
        " 'a.pdf', 'wamid.q', 'received', wa_ts('1764000000'))"
        " RETURNING wa_message_json(messages) AS looked_up,"
        " wa_message_json(messages, '+16505550102') AS given", tenant_id,
        cid)[0]
    assert m["looked_up"] == m["given"]
    j = m["given"]
    assert j["id"] == "wamid.sqljson1" and j["phone"] == "+16505550102"
    assert j["media"] == {"id": "M1", "mime_type": "application/pdf",
                          "sha256": "c2hh", "filename": "a.pdf"}
    assert j["context"] == {"message_id": "wamid.q"}
    assert j["timestamp"] == "2025-11-24T16:00:00.000000Z"
    assert (j["type"], j["text"], j["status"], j["direction"]) == \
        ("document", "the caption", "received", "in")
    bare = stack.query(
        "INSERT INTO messages (tenant_id, contact_id, direction, type, status)"
        " VALUES (%s, %s, 'out', 'text', 'pending')"
        " RETURNING wa_message_json(messages) AS j,"
        " wa_iso(created_at) AS created", tenant_id, cid)[0]
    assert bare["j"]["media"] is None and bare["j"]["context"] is None
    assert bare["j"]["id"] is None
    assert bare["j"]["timestamp"] == bare["created"]  # no Meta time: ours


def test_wa_event_frame_is_the_json_clients_receive(stack):
    frame = one(stack, "wa_event_frame(7, 'message_incoming',"
                " '{\"a\": \"\\\"q\\\"\"}'::jsonb)")
    assert json.loads(frame) == {"id": 7, "event": "message_incoming",
                                 "data": {"a": "\"q\""}}
    assert one(stack, "wa_event_frame(NULL, 'x', '{}')") is None
