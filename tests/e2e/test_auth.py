"""Auth on every /api/v1 route: bearer or cookie JWT, tenant membership,
revocation, CSRF, login rate limit and timing."""
import base64
import hashlib
import hmac
import json
import time

import requests

from conftest import raw_request


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(secret, claims, alg="HS256"):
    """A JWT signed in the test, to probe the verifier."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signing = ("%s.%s" % (header, payload)).encode()
    if alg == "none":
        return "%s.%s." % (header, payload)
    mac = hmac.new(secret.encode(), signing, hashlib.sha256).digest()
    return "%s.%s.%s" % (header, payload, _b64(mac))


def user_id_of(stack, email):
    return str(stack.query("SELECT id FROM users WHERE email = %s", email)[0]["id"])


def login_from(stack, source_ip, email, password):
    """POST /api/v1/auth/login from a given loopback address, so the
    per-address rate limit of one test does not spill into another."""
    r = raw_request(stack, "POST", "/api/v1/auth/login",
                    json.dumps({"email": email, "password": password}),
                    {"Content-Type": "application/json"}, source_ip)
    return r.status_code, r.headers, json.loads(r.content or b"null")


def test_login_returns_token_tenants_and_a_strict_httponly_cookie(stack, tenant):
    status, headers, body = login_from(stack, "127.0.0.11", tenant.email, tenant.password)
    assert status == 200, body
    assert body["ok"] is True and body["token"] and body["expires_at"].endswith("Z")
    assert body["tenants"] == [{"id": tenant.id, "name": tenant.name, "role": "owner"}]
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("session=" + body["token"])
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    r = requests.get(stack.url("/api/v1/me"), headers={"Authorization": "Bearer " + body["token"]})
    assert r.status_code == 200 and r.json()["user"]["email"] == tenant.email


def test_login_with_wrong_password_or_unknown_email_is_401(stack, tenant):
    status, _, body = login_from(stack, "127.0.0.12", tenant.email, "wrong-password")
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    status, _, body = login_from(stack, "127.0.0.12", "nobody@example.com", "whatever1")
    assert status == 401 and body["error"]["code"] == "invalid_credentials"


def test_login_validates_fields(stack):
    status, _, body = login_from(stack, "127.0.0.13", "", "x")
    assert status == 422 and "email" in body["error"]["message"]


def test_login_for_unknown_email_takes_as_long_as_a_wrong_password(stack, tenant):
    def timed(email):
        t = time.perf_counter()
        status, _, _ = login_from(stack, "127.0.0.14", email, "wrong-password")
        assert status == 401
        return time.perf_counter() - t
    known = [timed(tenant.email) for _ in range(5)]
    unknown = [timed("ghost-%d@example.com" % i) for i in range(5)]
    # Without the dummy hash an unknown email answers ~30x faster. The
    # fastest of each set is the least disturbed by a busy machine.
    assert min(unknown) > min(known) * 0.3, (known, unknown)


def test_login_attempts_are_rate_limited_per_address(stack):
    codes = [login_from(stack, "127.0.0.99", "x@example.com", "wrong-pass")[0]
             for _ in range(25)]
    assert 429 in codes, codes
    status, headers, body = login_from(stack, "127.0.0.99", "x@example.com", "wrong-pass")
    assert status == 429 and body["ok"] is False and body["error"]["code"] == "rate_limited"
    # Another address is not affected.
    assert login_from(stack, "127.0.0.98", "x@example.com", "wrong-pass")[0] == 401


def test_api_without_token_is_401(stack):
    r = requests.get(stack.url("/api/v1/me"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_bad_forged_expired_and_alg_none_tokens_are_401(stack, tenant):
    uid = user_id_of(stack, tenant.email)
    now = int(time.time())
    good_claims = {"sub": uid, "jti": "5a0f4f08-9ad7-4bb0-bb3c-3b68cd06675f",
                   "nbf": now - 5, "iat": now, "exp": now + 600}
    secret = stack.env["WA_JWT_SECRET"]
    ok = forge(secret, good_claims)
    assert requests.get(stack.url("/api/v1/me"),
                        headers={"Authorization": "Bearer " + ok}).status_code == 200
    bad = [
        "not-a-jwt",
        forge("some-other-secret", good_claims),
        forge(secret, dict(good_claims, exp=now - 1)),
        forge(secret, dict(good_claims, nbf=now + 3600)),
        forge(secret, good_claims, alg="none"),
        forge(secret, dict(good_claims, sub="00000000-0000-4000-8000-000000000000")),
    ]
    for token in bad:
        r = requests.get(stack.url("/api/v1/me"), headers={"Authorization": "Bearer " + token})
        assert r.status_code == 401, token
        assert r.json()["ok"] is False


def test_tenant_routes_need_a_tenant_the_user_belongs_to(stack, tenant, make_tenant):
    other = make_tenant()
    h = {"Authorization": "Bearer " + tenant.token}
    r = requests.get(stack.url("/api/v1/tenant"), headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "tenant_required"
    r = requests.get(stack.url("/api/v1/tenant"), headers=dict(h, **{"X-Tenant-Id": other.id}))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = requests.get(stack.url("/api/v1/tenant"), headers=dict(h, **{"X-Tenant-Id": "x' OR 1=1 --"}))
    assert r.status_code == 403
    r = tenant.api("GET", "/api/v1/tenant")
    assert r.status_code == 200
    t = r.json()["tenant"]
    assert t["id"] == tenant.id and t["phone_number_id"] == tenant.pnid and t["role"] == "owner"
    assert "access_token" not in r.text and tenant.access_token not in r.text


def test_logout_revokes_the_token_and_clears_the_cookie(stack, tenant):
    r = requests.post(stack.url("/api/v1/auth/logout"),
                      headers={"Authorization": "Bearer " + tenant.token})
    assert r.status_code == 200
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    r = requests.get(stack.url("/api/v1/me"), headers={"Authorization": "Bearer " + tenant.token})
    assert r.status_code == 401


def test_cookie_auth_works_and_unsafe_requests_need_a_matching_origin(stack, tenant):
    status, _, body = login_from(stack, "127.0.0.15", tenant.email, tenant.password)
    assert status == 200
    cookies = {"session": body["token"]}
    base = stack.base
    r = requests.get(stack.url("/api/v1/tenant"), cookies=cookies, headers={"X-Tenant-Id": tenant.id})
    assert r.status_code == 200
    for origin in (None, "http://evil.example.com", "null"):
        h = {"Origin": origin} if origin else {}
        r = requests.post(stack.url("/api/v1/auth/logout"), cookies=cookies, headers=h)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf", origin
    r = requests.post(stack.url("/api/v1/auth/logout"), cookies=cookies, headers={"Origin": base})
    assert r.status_code == 200


def test_wactl_token_refuses_a_tenant_the_user_is_not_in(stack, tenant, make_tenant):
    other = make_tenant()
    p = stack.wactl("token", "--email", tenant.email, "--tenant", other.id, check=False)
    assert p.returncode != 0 and "not a member" in p.stderr and p.stdout == ""


def test_websocket_with_cookie_from_another_site_is_refused(stack, tenant):
    status, _, body = login_from(stack, "127.0.0.16", tenant.email, tenant.password)
    assert status == 200
    ws_headers = {"Connection": "Upgrade", "Upgrade": "websocket",
                  "Sec-WebSocket-Version": "13",
                  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                  "Cookie": "session=" + body["token"]}
    r = raw_request(stack, "GET", "/ws/" + tenant.id,
                    headers=dict(ws_headers, Origin="http://evil.example.com"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = raw_request(stack, "GET", "/ws/" + tenant.id, headers=ws_headers)
    assert r.status_code == 403
    r = raw_request(stack, "GET", "/ws/" + tenant.id,
                    headers=dict(ws_headers, Origin=stack.base))
    assert r.status_code == 101
