"""Errors are always the JSON envelope with the right status, from wa-fcgi
and from nginx alike; /healthz reports the database."""
import os
import subprocess

import requests

from conftest import raw_request, wait_for


def assert_envelope(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body


def test_unknown_route_is_404_json(stack):
    assert_envelope(requests.get(stack.url("/api/v1/no-such-thing")), 404, "not_found")
    assert_envelope(requests.get(stack.url("/no/such/static/file")), 404, "not_found")


def test_wrong_method_is_405_json(stack):
    assert_envelope(raw_request(stack, "DELETE", "/api/v1/auth/login", source_ip="127.0.0.24"),
                    405, "method_not_allowed")


def test_wrong_content_type_is_415(stack):
    r = raw_request(stack, "POST", "/api/v1/auth/login", b"email=a",
                    {"Content-Type": "application/x-www-form-urlencoded"}, "127.0.0.21")
    assert_envelope(r, 415, "unsupported_media_type")


def test_malformed_json_is_400(stack):
    for body in (b"{", b"{\"email\": }", b"[1,2]", b"\"text\"", b"{} trailing", b""):
        r = raw_request(stack, "POST", "/api/v1/auth/login", body,
                        {"Content-Type": "application/json"}, "127.0.0.22")
        assert_envelope(r, 400, "invalid_json")


def test_body_over_the_limit_is_413_json(stack):
    r = raw_request(stack, "POST", "/api/v1/auth/login", b"x" * (1024 * 1024 + 10),
                    {"Content-Type": "application/json"}, "127.0.0.23")
    assert_envelope(r, 413, "payload_too_large")


def test_every_reply_carries_a_request_id(stack):
    r = requests.get(stack.url("/api/v1/no-such-thing"))
    assert r.headers["X-Request-Id"] == r.json()["request_id"]


def test_internal_auth_endpoint_is_not_public(stack):
    assert_envelope(requests.get(stack.url("/_internal/ws-auth")), 404)


def test_healthz_reports_database_down_as_503_and_recovers(stack):
    assert requests.get(stack.url("/healthz")).json() == {"ok": True, "database": "up"}
    stack.ctl("stop", "pg")
    try:
        assert_envelope(requests.get(stack.url("/healthz")), 503, "database_unavailable")
        r = requests.get(stack.url("/api/v1/me"), headers={"Authorization": "Bearer x"})
        assert r.status_code == 401  # token checks need no database
    finally:
        stack.ctl("start", "pg")
    assert wait_for(lambda: requests.get(stack.url("/healthz")).status_code == 200, 10)


def test_responders_down_gives_json_502_not_html(stack):
    stack.ctl("stop", "fcgi")
    try:
        r = requests.get(stack.url("/api/v1/me"))
        assert_envelope(r, 502)
        assert "<html" not in r.text.lower()
    finally:
        stack.ctl("start", "fcgi")
    assert wait_for(lambda: requests.get(stack.url("/healthz")).status_code == 200, 10)


def test_responder_refuses_to_start_without_secrets_outside_dev(stack):
    binary = os.path.join(stack.env["WA_BIN_DIR"], "wa-fcgi")
    env = {"PATH": os.environ["PATH"], "WA_DATABASE_URL": "dbname=none",
           "ASAN_OPTIONS": "detect_leaks=0"}
    p = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "WA_APP_SECRET is not set" in p.stderr and "refusing to start" in p.stderr
    env.update(WA_APP_SECRET="dev-app-secret", WA_VERIFY_TOKEN="v" * 20,
               WA_JWT_SECRET="j" * 40)
    p = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "WA_APP_SECRET is still the development value" in p.stderr


def test_migrations_rerun_is_a_no_op(stack):
    before = stack.query("SELECT count(*) AS n FROM schema_migrations")[0]["n"]
    p = stack.wactl("migrate")
    assert p.stdout == ""
    assert stack.query("SELECT count(*) AS n FROM schema_migrations")[0]["n"] == before


def test_stack_env_is_private(stack):
    mode = os.stat(os.path.join(stack.run_dir, "stack.env")).st_mode & 0o777
    assert mode == 0o600


def test_wactl_errors_go_to_stderr_with_nonzero_exit(stack):
    p = stack.wactl("tenant", "add", "--name", "x", "--phone-number-id", "abc",
                    "--waba-id", "1", "--access-token", "t", check=False)
    assert p.returncode != 0 and "phone-number-id" in p.stderr and p.stdout == ""


def test_wactl_never_prints_access_tokens(stack, tenant):
    out = stack.wactl("tenant", "list").stdout
    assert tenant.pnid in out and tenant.access_token not in out


def test_wactl_with_nothing_set_finds_the_stack_env_above_it(stack, tenant, tmp_path):
    """`bin/wactl` run from a checkout reads `var/stack.env` beside `bin/`."""
    import shutil
    (tmp_path / "bin").mkdir()
    (tmp_path / "var").mkdir()
    shutil.copy(stack.wactl_path, tmp_path / "bin" / "wactl")
    shutil.copy(os.path.join(stack.run_dir, "stack.env"), tmp_path / "var" / "stack.env")
    env = {"PATH": os.environ["PATH"], "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")}
    p = subprocess.run([str(tmp_path / "bin" / "wactl"), "tenant", "list"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert tenant.id in p.stdout
