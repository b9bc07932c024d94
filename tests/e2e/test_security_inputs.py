"""Inputs the security review found mishandled (issue 14): settings wactl
would take from a file anyone can plant, query strings that are not UTF-8,
NUL bytes in JSON strings, unsigned webhook bodies, and Meta's access token
on wactl's command line."""
import json
import os
import secrets
import shutil
import subprocess

import pytest
import requests
import websocket

from conftest import raw_request
from send_helpers import PHONE, open_window, sim_requests


def assert_error(r, status, code, starts=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    assert body["request_id"], body
    if starts is not None:
        assert body["error"]["message"].startswith(starts), body


# --- wactl's settings file (row 7) ---------------------------------------

def _bare_env():
    """Nothing set: what an admin's shell has before `make start`."""
    return {"PATH": os.environ["PATH"],
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")}


def _wactl_copy(stack, bin_dir):
    os.makedirs(bin_dir)
    shutil.copy(stack.wactl_path, os.path.join(bin_dir, "wactl"))
    return os.path.join(bin_dir, "wactl")


def _run(wactl, *args, env=None):
    return subprocess.run([wactl, *args], env=env or _bare_env(),
                          capture_output=True, text=True, timeout=30)


def test_wactl_ignores_a_stack_env_planted_above_its_checkout(stack, tenant, tmp_path):
    """A checkout in /tmp/x: /tmp/stack.env is anyone's to write, and wactl
    used to find it by walking up from its binary."""
    wactl = _wactl_copy(stack, str(tmp_path / "checkout" / "bin"))
    planted = tmp_path / "stack.env"
    shutil.copy(os.path.join(stack.run_dir, "stack.env"), planted)
    os.chmod(planted, 0o600)
    p = _run(wactl, "tenant", "list")
    assert p.returncode != 0 and tenant.id not in p.stdout
    assert "WA_DATABASE_URL is not set" in p.stderr, p.stderr
    # The checkout's own var/stack.env is where wactl looks.
    os.makedirs(tmp_path / "checkout" / "var")
    shutil.move(str(planted), tmp_path / "checkout" / "var" / "stack.env")
    p = _run(wactl, "tenant", "list")
    assert p.returncode == 0 and tenant.id in p.stdout, p.stderr


def test_wactl_refuses_a_stack_env_others_could_have_written(stack, tenant, tmp_path):
    wactl = _wactl_copy(stack, str(tmp_path / "bin"))
    os.makedirs(tmp_path / "var")
    env_file = tmp_path / "var" / "stack.env"
    shutil.copy(os.path.join(stack.run_dir, "stack.env"), env_file)
    os.chmod(env_file, 0o666)
    p = _run(wactl, "tenant", "list")
    assert p.returncode != 0 and tenant.id not in p.stdout
    assert "writable by group or others" in p.stderr, p.stderr
    # Named by WA_STACK_ENV, the same file is refused the same way.
    p = _run(wactl, "tenant", "list",
             env=dict(_bare_env(), WA_STACK_ENV=str(env_file)))
    assert p.returncode != 0 and "writable by group or others" in p.stderr
    # A symlink is not followed: it could point anywhere.
    os.chmod(env_file, 0o600)
    os.rename(env_file, tmp_path / "real.env")
    os.symlink(tmp_path / "real.env", env_file)
    p = _run(wactl, "tenant", "list")
    assert p.returncode != 0 and "a symlink" in p.stderr, p.stderr
    if os.geteuid() == 0:
        # Root's wactl and a file another user owns.
        os.unlink(env_file)
        os.rename(tmp_path / "real.env", env_file)
        os.chown(env_file, 65534, 65534)
        p = _run(wactl, "tenant", "list")
        assert p.returncode != 0 and "owned by uid 65534" in p.stderr, p.stderr


def test_wactl_takes_only_wa_settings_from_stack_env(stack, tenant, tmp_path):
    """libpq reads PG* variables: a settings file must not set them."""
    wactl = _wactl_copy(stack, str(tmp_path / "bin"))
    os.makedirs(tmp_path / "var")
    env_file = tmp_path / "var" / "stack.env"
    with open(os.path.join(stack.run_dir, "stack.env")) as f:
        text = f.read()
    with open(env_file, "w") as f:
        f.write("PGHOST=/nonexistent\nPGOPTIONS=-c statement_timeout=1\n" + text)
    os.chmod(env_file, 0o600)
    p = _run(wactl, "tenant", "list")
    assert p.returncode == 0 and tenant.id in p.stdout, p.stderr


# --- query strings (row 8) -----------------------------------------------

def test_query_that_is_not_utf8_is_400_naming_the_parameter(stack, tenant):
    r = tenant.api("GET", "/api/v1/conversations?q=%ff%fe")
    assert_error(r, 400, "bad_request", "q:")
    r = tenant.api("GET", "/api/v1/conversations?limit=5&q=ok%C3")
    assert_error(r, 400, "bad_request", "q:")
    r = tenant.api("GET", "/api/v1/events?after=%c0%af")	# overlong "/"
    assert_error(r, 400, "bad_request", "after:")
    r = tenant.api("GET", "/api/v1/conversations?q=a%00b")
    assert_error(r, 400, "bad_request", "q:")
    # A name that is not plain is not echoed.
    r = tenant.api("GET", "/api/v1/conversations?%ff=1")
    assert_error(r, 400, "bad_request", "a query parameter:")
    # UTF-8 still searches.
    r = tenant.api("GET", "/api/v1/conversations?q=%C3%A9t%C3%A9")
    assert r.status_code == 200, r.text


def test_websocket_token_that_is_not_utf8_is_refused_not_500(stack, tenant):
    """The WebSocket's query is checked by its auth subrequest, which must
    answer 401 (nginx turns anything but 2xx/401/403 into a 500)."""
    url = "ws://127.0.0.1:%s/ws/%s?token=%%ff%%fe" % (
        stack.env["WA_HTTP_PORT"], tenant.id)
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(url, timeout=3)
    assert e.value.status_code == 401


# --- NUL in JSON strings (row 12) ----------------------------------------

def _post_raw(tenant, path, text):
    return tenant.api("POST", path, data=text.encode(),
                      headers={"Content-Type": "application/json"})


def test_nul_in_a_send_field_is_422_and_nothing_is_sent(tenant):
    open_window(tenant)
    r = _post_raw(tenant, "/api/v1/send/text",
                  '{"to":"%s","text":"a\\u0000b"}' % PHONE)
    assert_error(r, 422, "invalid_field", "text: must not contain NUL")
    r = _post_raw(tenant, "/api/v1/send/text",
                  '{"to":"%s","text":"pick","buttons":[{"title":"y\\u0000",'
                  '"callback_data":"Y"}]}' % PHONE)
    assert_error(r, 422, "invalid_field", "buttons[0].title: must not")
    # In a field name json-c would cut it ("text\u0000x" -> "text").
    r = _post_raw(tenant, "/api/v1/send/text",
                  '{"to":"%s","text\\u0000x":"hi"}' % PHONE)
    assert_error(r, 400, "invalid_json")
    # The same text without the NUL goes through: the gate is the NUL.
    r = _post_raw(tenant, "/api/v1/send/text",
                  '{"to":"%s","text":"a\\\\u0000b"}' % PHONE)
    assert r.status_code == 200, r.text
    sent = sim_requests(tenant)
    assert [q["json"]["text"]["body"] for q in sent] == ["a\\u0000b"]


def test_nul_in_login_or_typing_fields_is_refused(stack, tenant):
    """A password cut at a NUL would let "pw\u0000anything" log in as "pw"."""
    def login(email, password):
        return raw_request(stack, "POST", "/api/v1/auth/login",
                           body=json.dumps({"email": email,
                                            "password": password}).encode(),
                           headers={"Content-Type": "application/json"},
                           source_ip="127.0.14.12")
    assert_error(login(tenant.email, tenant.password + "\0junk"), 422,
                 "invalid_field", "password:")
    assert_error(login(tenant.email + "\0junk", tenant.password), 422,
                 "invalid_field", "email:")
    assert login(tenant.email, tenant.password).status_code == 200
    open_window(tenant)
    r = _post_raw(tenant, "/api/v1/conversations/%s/typing" % PHONE,
                  '{"message_id":"wamid.x\\u0000y"}')
    assert_error(r, 422, "invalid_field", "message_id:")


# --- unsigned webhook bodies (row 14) ------------------------------------

def test_unsigned_big_non_ascii_webhook_is_refused_before_its_body(stack):
    body = ('{"t":"' + "\u00e9" * (1_500_000 - 4) + '"}').encode()
    assert len(body) > 2_900_000
    r = stack.post_webhook(body, signature=False)
    assert_error(r, 401, "unauthorized")
    for sig in ("garbage", "sha256=" + "zz" * 32, "sha256=" + "0" * 63):
        r = stack.post_webhook(body, signature=sig)
        assert_error(r, 403, "forbidden")
    # Well-formed but wrong: hashed over the raw bytes, then refused.
    r = stack.post_webhook(body, signature="sha256=" + "0" * 64)
    assert_error(r, 403, "forbidden")
    # And a signed one still gets through to the JSON checks.
    r = stack.post_webhook(b'{"object":"whatsapp_business_account",'
                           b'"entry":[]}')
    assert r.status_code == 200, r.text


# --- Meta's token off the command line (row 16) --------------------------

def test_tenant_add_reads_the_access_token_from_stdin(stack):
    pnid = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
    token = "EAAG" + secrets.token_hex(16)
    p = stack.wactl("tenant", "add", "--name", "Stdin Shop",
                    "--phone-number-id", pnid, "--waba-id", "2" + pnid[1:],
                    "--display-phone", "15550009999",
                    "--access-token-file", "-", input=token + "\n")
    tid = p.stdout.strip()
    assert stack.query("SELECT access_token FROM tenants WHERE id = %s",
                       tid)[0]["access_token"] == token
    # Meta (the simulator) accepts a send made with that token.
    requests.post(stack.sim + "/_sim/numbers", timeout=5, json={
        "phone_number_id": pnid, "access_token": token,
        "display_phone_number": "15550009999"}).raise_for_status()
    email = "stdin-%s@example.com" % secrets.token_hex(4)
    stack.wactl("user", "add", "--email", email, "--password-stdin",
                "--tenant", tid, input="pw-" + secrets.token_hex(8) + "\n")
    jwt = stack.wactl("token", "--email", email).stdout.strip()
    stack.query("INSERT INTO contacts (tenant_id, wa_id, name, last_inbound_at)"
                " VALUES (%s, %s, 'A', now())", tid, PHONE)
    r = requests.post(stack.url("/api/v1/send/text"), timeout=30,
                      json={"to": PHONE, "text": "hi"},
                      headers={"Authorization": "Bearer " + jwt,
                               "X-Tenant-Id": tid})
    assert r.status_code == 200 and r.json()["ok"], r.text


def test_tenant_add_takes_a_token_file_and_refuses_both_or_neither(stack, tmp_path):
    pnid = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
    token = "EAAG" + secrets.token_hex(16)
    path = tmp_path / "token"
    path.write_text(token + "\r\n")
    args = ["tenant", "add", "--name", "File Shop", "--phone-number-id", pnid,
            "--waba-id", "2" + pnid[1:]]
    p = stack.wactl(*args, "--access-token-file", str(path),
                    "--access-token", token, check=False)
    assert p.returncode != 0 and "not both" in p.stderr
    p = stack.wactl(*args, "--access-token-file", "-", input="\n", check=False)
    assert p.returncode != 0 and "empty access token" in p.stderr
    p = stack.wactl(*args, check=False)
    assert p.returncode != 0 and "--access-token-file" in p.stderr
    tid = stack.wactl(*args, "--access-token-file", str(path)).stdout.strip()
    assert stack.query("SELECT access_token FROM tenants WHERE id = %s",
                       tid)[0]["access_token"] == token
