"""/webhook's gates: the GET verification handshake, the signature over the
raw body bytes (checked before anything is parsed or stored), the 3 MB cap,
and bodies that are signed but are not JSON."""
import hashlib
import hmac
import json
import os
import time

import requests

from conftest import new_wamid


def text_body(tenant, wamid, text="hello"):
    return tenant.webhook(tenant.webhook_value(
        contacts=[{"profile": {"name": "Sec Test"}, "wa_id": "16505550101"}],
        messages=[{"from": "16505550101", "id": wamid,
                   "timestamp": str(int(time.time())), "type": "text",
                   "text": {"body": text}}]))


def stored(stack, wamid):
    return stack.query("SELECT count(*) AS n FROM messages WHERE wamid = %s",
                       wamid)[0]["n"]


def counts(stack, tenant=None):
    """What a rejected body must not have added (scoped to the test's tenant:
    the simulator may post status webhooks for other tests' sends)."""
    tid = tenant.id if tenant else "00000000-0000-0000-0000-000000000000"
    return stack.query(
        "SELECT (SELECT count(*) FROM messages WHERE tenant_id = %s) AS messages,"
        " (SELECT count(*) FROM contacts WHERE tenant_id = %s) AS contacts,"
        " (SELECT count(*) FROM events WHERE tenant_id = %s) AS events,"
        " (SELECT count(*) FROM message_statuses WHERE tenant_id = %s) AS statuses,"
        " (SELECT count(*) FROM webhook_log) AS logged", tid, tid, tid, tid)[0]


def assert_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code, body


# --- GET verification -------------------------------------------------------

def test_verification_echoes_the_challenge_as_plain_text(stack):
    r = requests.get(stack.url("/webhook"), params={
        "hub.mode": "subscribe", "hub.verify_token": stack.verify_token,
        "hub.challenge": "1158201444"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "1158201444"


def test_verification_decodes_the_query_before_comparing(stack):
    # requests percent-encodes; a token with spaces and symbols must match.
    r = requests.get(stack.url("/webhook") + "?hub.mode=subscribe"
                     "&hub.challenge=abc-XYZ_09&hub.verify_token="
                     + requests.utils.quote(stack.verify_token, safe=""))
    assert r.status_code == 200 and r.text == "abc-XYZ_09"


def test_verification_refuses_anything_else_with_403(stack):
    good = {"hub.mode": "subscribe", "hub.verify_token": stack.verify_token,
            "hub.challenge": "never-echoed"}
    bad = [
        dict(good, **{"hub.verify_token": "wrong"}),
        dict(good, **{"hub.verify_token": stack.verify_token + "x"}),
        dict(good, **{"hub.verify_token": ""}),
        dict(good, **{"hub.mode": "unsubscribe"}),
        {k: v for k, v in good.items() if k != "hub.verify_token"},
        {k: v for k, v in good.items() if k != "hub.mode"},
        {k: v for k, v in good.items() if k != "hub.challenge"},
        dict(good, **{"hub.challenge": "<script>alert(1)</script> x"}),
        {},
    ]
    for params in bad:
        r = requests.get(stack.url("/webhook"), params=params)
        assert_error(r, 403, "forbidden")
        assert "never-echoed" not in r.text


# --- signatures -------------------------------------------------------------

def test_missing_signature_is_401_and_stores_nothing(stack, tenant):
    wamid = new_wamid()
    before = counts(stack, tenant)
    r = stack.post_webhook(text_body(tenant, wamid), signature=False)
    assert_error(r, 401, "unauthorized")
    r = stack.post_webhook(text_body(tenant, wamid), signature="")
    assert_error(r, 401, "unauthorized")
    assert stored(stack, wamid) == 0
    assert counts(stack, tenant) == before


def test_wrong_signatures_are_403_and_store_nothing(stack, tenant):
    wamid = new_wamid()
    raw = json.dumps(text_body(tenant, wamid)).encode()
    good = stack.sign(raw)
    other_secret = "sha256=" + hmac.new(b"not-the-app-secret", raw,
                                        hashlib.sha256).hexdigest()
    before = counts(stack, tenant)
    for sig in (other_secret,
                stack.sign(raw + b" "),            # signed another body
                good[7:],                          # no sha256= prefix
                "sha1=" + good[7:],
                good[:-2],                         # truncated
                good + "00",                       # too long
                good[:-1] + ("0" if good[-1] != "0" else "1"),
                "sha256=" + "z" * 64,
                "garbage"):
        assert_error(stack.post_webhook(raw, signature=sig), 403, "forbidden")
    # A right signature over a body changed afterwards (one byte).
    tampered = raw.replace(b"hello", b"hellO")
    assert_error(stack.post_webhook(tampered, signature=good), 403,
                 "forbidden")
    assert stored(stack, wamid) == 0
    assert counts(stack, tenant) == before


def test_uppercase_signature_hex_is_accepted(stack, tenant):
    wamid = new_wamid()
    raw = json.dumps(text_body(tenant, wamid)).encode()
    sig = stack.sign(raw)
    r = stack.post_webhook(raw, signature="sha256=" + sig[7:].upper())
    assert r.status_code == 200, r.text
    assert stored(stack, wamid) == 1


def test_rejected_signatures_are_counted_in_the_log(stack, tenant):
    log = os.path.join(stack.run_dir, "log", "wa-fcgi-webhook.log")
    raw = json.dumps(text_body(tenant, new_wamid())).encode()
    assert stack.post_webhook(raw, signature=False).status_code == 401
    assert stack.post_webhook(raw, signature="sha256=" + "0" * 64).status_code == 403
    with open(log, errors="replace") as f:
        text = f.read()
    assert "signature rejected reason=missing rejected_total=" in text
    assert "signature rejected reason=mismatch rejected_total=" in text


def test_signature_is_checked_on_the_raw_bytes_not_a_reserialization(stack, tenant):
    # Odd spacing, key order and escapes: re-serializing would change the
    # bytes and break the signature; we must hash exactly what came.
    wamid = new_wamid()
    raw = ('{ "entry" : [ { "changes" : [ { "value" : { "metadata" : '
           '{"phone_number_id":"%s", "display_phone_number":"%s"}, '
           '"messaging_product":"whatsapp", "contacts":[{"wa_id":"16505550102",'
           '"profile":{"name":"Ren\\u00e9e \\ud83d\\ude2e"}}], "messages":[{'
           '"type":"text","timestamp":"1750000000","id":"%s","from":"16505550102",'
           '"text":{"body":"caf\\u00e9 \\/ ok \\ud83d\\udc4d"}}]}, "field":"messages"}],'
           ' "id":"%s"}], "object" : "whatsapp_business_account" }'
           % (tenant.pnid, tenant.display_phone, wamid, tenant.waba_id)).encode()
    r = stack.post_webhook(raw)
    assert r.status_code == 200, r.text
    row = stack.query("SELECT text FROM messages WHERE wamid = %s", wamid)[0]
    assert row["text"] == "caf\u00e9 / ok \U0001F44D"
    name = stack.query("SELECT name FROM contacts WHERE tenant_id = %s AND"
                       " wa_id = '16505550102'", tenant.id)[0]["name"]
    assert name == "Ren\u00e9e \U0001F62E"


def test_signature_over_the_escaped_unicode_rendering_is_accepted(stack, tenant):
    # Meta documents signing the \\uXXXX-escaped rendering of the payload;
    # a body that arrives as raw UTF-8 must still verify against it.
    wamid = new_wamid()
    payload = text_body(tenant, wamid, text="ol\u00e1 \U0001F600")
    escaped = json.dumps(payload, ensure_ascii=True).encode()
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    assert raw != escaped
    r = stack.post_webhook(raw, signature=stack.sign(escaped))
    assert r.status_code == 200, r.text
    row = stack.query("SELECT text FROM messages WHERE wamid = %s", wamid)[0]
    assert row["text"] == "ol\u00e1 \U0001F600"


# --- size -------------------------------------------------------------------

def test_body_over_3_mb_is_413_and_stores_nothing(stack, tenant):
    wamid = new_wamid()
    body = json.dumps(text_body(tenant, wamid, text="x" * (3 * 1024 * 1024))).encode()
    assert len(body) > 3 * 1024 * 1024
    r = stack.post_webhook(body)
    assert_error(r, 413, "payload_too_large")
    assert stored(stack, wamid) == 0


def test_body_of_exactly_3_mb_is_stored(stack, tenant):
    wamid = new_wamid()
    body = json.dumps(text_body(tenant, wamid, text="")).encode()
    pad = 3 * 1024 * 1024 - len(body)
    body = json.dumps(text_body(tenant, wamid, text="y" * pad)).encode()
    assert len(body) == 3 * 1024 * 1024
    r = stack.post_webhook(body)
    assert r.status_code == 200, r.text
    row = stack.query("SELECT length(text) AS n FROM messages WHERE wamid = %s",
                      wamid)[0]
    assert row["n"] == pad


# --- signed, but not JSON ---------------------------------------------------

def test_malformed_json_is_400_and_kept_for_audit(stack):
    for raw in (b"{", b'{"object": "whatsapp_business_account", "entry": [}',
                b"not json at all", b"", b'{"a": 1} trailing',
                b'{"a": "\\ud800 lone surrogate"}', b'{"a": "\xff\xfe"}',
                b'{"a": 1}\x00{"b": 2}'):
        r = stack.post_webhook(raw)
        assert_error(r, 400, "invalid_json")
    rows = stack.query("SELECT raw FROM webhook_log WHERE reason = 'invalid_json'"
                       " AND raw = %s", "not json at all")
    assert rows, "the malformed body was not kept"


def test_absurdly_deep_nesting_is_400_not_500(stack):
    raw = b"[" * 300000 + b"]" * 300000
    assert_error(stack.post_webhook(raw), 400, "invalid_json")


def test_unsigned_malformed_body_is_refused_before_parsing(stack):
    before = counts(stack)
    assert_error(stack.post_webhook(b"{{{", signature=False), 401, "unauthorized")
    assert_error(stack.post_webhook(b"{{{", signature="sha256=" + "1" * 64),
                 403, "forbidden")
    assert counts(stack) == before


def test_nul_escape_is_stored_not_refused(stack, tenant):
    # PostgreSQL's jsonb has no U+0000: the escape becomes U+FFFD and the
    # message is kept, while an escaped backslash before "u0000" is text.
    wamid = new_wamid()
    raw = json.dumps(text_body(tenant, wamid, text="a\u0000b \\u0000")).encode()
    assert b"\\u0000" in raw
    r = stack.post_webhook(raw)
    assert r.status_code == 200, r.text
    row = stack.query("SELECT text FROM messages WHERE wamid = %s", wamid)[0]
    assert row["text"] == "a\ufffdb \\u0000"
