"""API keys (issue 17): `wactl apikey add|list|revoke`, `Authorization:
Bearer wak_...` without X-Tenant-Id, scopes enforced per route, revocation,
one tenant per key, and a key of its own under the per-user Graph cap."""
import concurrent.futures
import hashlib
import re

import requests

from conftest import wait_for
from send_helpers import PHONE, incoming, open_window, sim_clear_faults, \
    sim_fail, sim_requests

OTHER_PHONE = "919812345678"


def add_key(tenant, name="integration", scope=None):
    """A new key of tenant: (key, its id)."""
    args = ["apikey", "add", "--tenant", tenant.id, "--name", name]
    if scope is not None:
        args += ["--scope", scope]
    p = tenant.stack.wactl(*args)
    key = p.stdout.strip()
    assert re.fullmatch(r"wak_[0-9a-f]{64}", key), p.stdout
    row = tenant.stack.query("SELECT id FROM api_keys WHERE prefix = %s",
                             key[:12])
    assert len(row) == 1
    return key, str(row[0]["id"])


def with_key(stack, key, method, path, headers=None, **kw):
    h = {"Authorization": "Bearer " + key}
    h.update(headers or {})
    return requests.request(method, stack.url(path), headers=h,
                            timeout=kw.pop("timeout", 30), **kw)


def listing(tenant):
    """`wactl apikey list` as dicts."""
    out = tenant.stack.wactl("apikey", "list", "--tenant", tenant.id).stdout
    cols = ("id", "prefix", "name", "scopes", "created", "last_used",
            "revoked")
    return [dict(zip(cols, line.split("\t"))) for line in out.splitlines()]


def test_a_key_is_printed_once_stored_hashed_and_listed_without_it(
        stack, tenant):
    key, kid = add_key(tenant, name="crm sync")
    rows = stack.query("SELECT * FROM api_keys WHERE id = %s", kid)
    assert bytes(rows[0]["key_hash"]) == hashlib.sha256(key.encode()).digest()
    assert rows[0]["scopes"] == ["read"]		# the default: least privilege
    assert str(rows[0]["tenant_id"]) == tenant.id
    # Nowhere in the database in clear.
    dump = stack.query("SELECT api_keys::text AS t FROM api_keys")
    assert not any(key[4:] in r["t"] for r in dump)
    [entry] = listing(tenant)
    assert entry["id"] == kid and entry["prefix"] == key[:12]
    assert entry["name"] == "crm sync" and entry["scopes"] == "read"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created"])
    assert entry["last_used"] == "-" and entry["revoked"] == "-"
    out = stack.wactl("apikey", "list", "--tenant", tenant.id)
    assert key[12:] not in out.stdout + out.stderr


def test_a_key_needs_no_tenant_header_and_names_its_own_tenant(
        stack, tenant):
    key, kid = add_key(tenant)
    r = with_key(stack, key, "GET", "/api/v1/tenant")
    assert r.status_code == 200, r.text
    t = r.json()["tenant"]
    assert t["id"] == tenant.id and t["role"] == "api_key"
    r = with_key(stack, key, "GET", "/api/v1/events")
    assert r.status_code == 200, r.text
    # The same tenant, named: fine, in any case.
    r = with_key(stack, key, "GET", "/api/v1/events",
                 {"X-Tenant-Id": tenant.id.upper()})
    assert r.status_code == 200, r.text
    assert listing(tenant)[0]["last_used"] != "-"


def test_a_read_key_gets_403_on_every_kind_of_write(stack, tenant):
    key, _ = add_key(tenant, scope="read")
    open_window(tenant)
    wamid = "wamid.in-" + tenant.pnid
    incoming(tenant, wamid)
    writes = [
        ("POST", "/api/v1/send/text", {"json": {"to": PHONE, "text": "x"}}),
        ("POST", "/api/v1/send/reaction",
         {"json": {"message_id": wamid, "emoji": "\U0001F44D"}}),
        ("POST", "/api/v1/messages/%s/read" % wamid, {}),
        ("POST", "/api/v1/conversations/%s/typing" % PHONE, {}),
        ("DELETE", "/api/v1/conversations/%s" % PHONE, {}),
        ("POST", "/api/v1/upload/media",
         {"files": {"file": ("a.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")},
          "data": {"type": "image/jpeg"}}),
    ]
    for method, path, kw in writes:
        r = with_key(stack, key, method, path, **kw)
        assert r.status_code == 403, (path, r.status_code, r.text)
        err = r.json()["error"]
        if path != "/api/v1/upload/media":	# nginx's own 403 body there
            assert err["code"] == "insufficient_scope", (path, err)
            assert "send" in err["message"]
    assert sim_requests(tenant) == []
    assert stack.query("SELECT count(*) AS n FROM messages WHERE"
                       " tenant_id = %s AND direction = 'out'",
                       tenant.id)[0]["n"] == 0
    # The conversation is still there: the delete was refused.
    r = with_key(stack, key, "GET", "/api/v1/conversations/" + PHONE)
    assert r.status_code == 200, r.text


def test_a_send_key_sends_but_does_not_read_the_inbox(stack, tenant):
    key, _ = add_key(tenant, scope="send")
    open_window(tenant)
    r = with_key(stack, key, "POST", "/api/v1/send/text",
                 json={"to": PHONE, "text": "from a machine"})
    assert r.status_code == 200, r.text
    assert len(sim_requests(tenant)) == 1
    # Uploads pass nginx's credential check before the body is read.
    r = with_key(stack, key, "POST", "/api/v1/upload/media",
                 files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 200, r.text
    assert r.json()["mime_type"] == "application/pdf"
    for path in ("/api/v1/events", "/api/v1/conversations",
                 "/api/v1/conversations/" + PHONE):
        r = with_key(stack, key, "GET", path)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "insufficient_scope"
    both, _ = add_key(tenant, scope="send,read")
    assert with_key(stack, both, "GET", "/api/v1/conversations") \
        .status_code == 200


def test_a_revoked_key_is_401(stack, tenant):
    key, kid = add_key(tenant, scope="send,read")
    assert with_key(stack, key, "GET", "/api/v1/events").status_code == 200
    p = stack.wactl("apikey", "revoke", key[:12])
    assert p.stdout.strip() == kid
    for method, path in (("GET", "/api/v1/events"),
                         ("POST", "/api/v1/send/text")):
        r = with_key(stack, key, method, path,
                     json={"to": PHONE, "text": "x"})
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthorized"
    [entry] = listing(tenant)
    assert entry["revoked"] != "-"
    # Revoking again (by id) keeps it revoked; an unknown key is an error.
    assert stack.wactl("apikey", "revoke", kid).stdout.strip() == kid
    p = stack.wactl("apikey", "revoke", "wak_00000000", check=False)
    assert p.returncode == 1 and "no key" in p.stderr


def test_a_key_of_one_tenant_cannot_touch_another(stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    key, _ = add_key(a, scope="send,read")
    incoming(b, "wamid.b-" + b.pnid)
    open_window(b)
    for method, path in (("GET", "/api/v1/tenant"),
                         ("GET", "/api/v1/events"),
                         ("GET", "/api/v1/conversations/" + PHONE),
                         ("POST", "/api/v1/send/text")):
        r = with_key(stack, key, method, path, {"X-Tenant-Id": b.id},
                     json={"to": PHONE, "text": "x"})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    # Without the header the key reaches its own tenant only: b's
    # conversation is not a's.
    r = with_key(stack, key, "GET", "/api/v1/conversations/" + PHONE)
    assert r.status_code == 404, r.text
    assert sim_requests(b) == []


def test_keys_cannot_use_routes_for_user_sessions(stack, tenant):
    key, _ = add_key(tenant, scope="send,read")
    for method, path in (("GET", "/api/v1/me"),
                         ("POST", "/api/v1/auth/logout"),
                         ("POST", "/api/v1/ws-ticket")):
        r = with_key(stack, key, method, path)
        assert r.status_code == 403, (path, r.text)
        err = r.json()["error"]
        assert err["code"] == "forbidden" and "API keys" in err["message"]
    # The key still works: logout did not touch it.
    assert with_key(stack, key, "GET", "/api/v1/events").status_code == 200


def test_malformed_and_unknown_keys_are_401(stack, tenant):
    key, _ = add_key(tenant)
    for bad in ("wak_", "wak_xyz", key.upper().replace("WAK_", "wak_"),
                key + "0", key[:-1], "wak_" + "0" * 64):
        r = with_key(stack, bad, "GET", "/api/v1/events")
        assert r.status_code == 401, bad
        assert r.json()["error"]["code"] == "unauthorized"
    # A key is not a session cookie.
    r = requests.get(stack.url("/api/v1/me"), cookies={"session": key},
                     timeout=30)
    assert r.status_code == 401


def test_wactl_apikey_refuses_bad_input(stack, tenant):
    def fails(*args):
        p = stack.wactl("apikey", *args, check=False)
        assert p.returncode == 1 and p.stdout == "", (args, p.stdout)
        return p.stderr

    assert "--scope" in fails("add", "--tenant", tenant.id, "--name", "x",
                              "--scope", "write")
    assert "--scope" in fails("add", "--tenant", tenant.id, "--name", "x",
                              "--scope", "")
    assert "--name" in fails("add", "--tenant", tenant.id, "--name", "a\tb")
    assert "--name" in fails("add", "--tenant", tenant.id)
    assert "no tenant" in fails("add", "--tenant",
                                "00000000-0000-4000-8000-000000000000",
                                "--name", "x")
    assert "--tenant" in fails("list", "--tenant", "nope")
    assert "revoke" in fails("revoke")
    assert listing(tenant) == []


def test_two_keys_sharing_a_prefix_are_revoked_by_id_only(stack, tenant):
    k1, id1 = add_key(tenant)
    k2, id2 = add_key(tenant)
    stack.query("UPDATE api_keys SET prefix = %s WHERE id = %s",
                k1[:12], id2)
    p = stack.wactl("apikey", "revoke", k1[:12], check=False)
    assert p.returncode == 1 and "2 keys" in p.stderr
    assert all(e["revoked"] == "-" for e in listing(tenant))
    stack.wactl("apikey", "revoke", id2)
    assert with_key(stack, k1, "GET", "/api/v1/events").status_code == 200
    assert with_key(stack, k2, "GET", "/api/v1/events").status_code == 401


BURST = 40
HOLD_MS = 3000


def test_a_key_has_its_own_graph_cap_and_cannot_bypass_it(stack, tenant):
    """A key holding every slot it may gets 429, like a user would; another
    key of the same tenant is not held up by it."""
    hog, _ = add_key(tenant, scope="send")
    other, _ = add_key(tenant, scope="send")
    open_window(tenant)
    open_window(tenant, OTHER_PHONE)
    sim_fail(stack, delay_ms=HOLD_MS, times=-1, path="messages", to=PHONE)

    def send(i):
        return with_key(stack, hog, "POST", "/api/v1/send/text", timeout=60,
                        json={"to": PHONE, "text": "burst %d" % i})

    def held():
        return stack.query(
            "SELECT count(*) AS n FROM messages m JOIN contacts c"
            " ON c.id = m.contact_id WHERE m.tenant_id = %s"
            " AND c.wa_id = %s AND m.status = 'pending'",
            tenant.id, PHONE)[0]["n"]

    ex = concurrent.futures.ThreadPoolExecutor(BURST)
    futures = []
    try:
        futures = [ex.submit(send, i) for i in range(BURST)]
        settled = wait_for(lambda: sum(f.done() for f in futures) +
                           held() >= BURST, timeout=HOLD_MS / 1000 * 0.6)
        r = with_key(stack, other, "POST", "/api/v1/send/text",
                     json={"to": OTHER_PHONE, "text": "not held up"})
        held_meanwhile = held()
    finally:
        sim_clear_faults(stack)
        answers = [f.result() for f in futures]
        ex.shutdown()
    assert settled, "the burst never settled"
    assert held_meanwhile > 0, "the sends were no longer held at Meta"
    assert r.status_code == 200, r.text
    codes = sorted(a.status_code for a in answers)
    assert 429 in codes and 200 in codes, codes
    assert set(codes) <= {200, 429}, codes
    for a in answers:
        if a.status_code == 429:
            assert a.json()["error"]["code"] == "rate_limited"
