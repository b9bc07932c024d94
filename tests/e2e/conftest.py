"""Shared fixtures for the end-to-end tests.

scripts/test.sh starts the real stack (PostgreSQL, nginx, wa-fcgi under
spawn-fcgi, wa-pushd, the Graph API simulator) and exports WA_STACK_ENV, the
stack's settings file. Tests talk HTTP to nginx like any client would, and
look into PostgreSQL to check what was stored.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import threading
import time
import urllib.parse

import psycopg2
import psycopg2.extras
import pytest
import requests
import websocket

import openapi_check

pytest_plugins = ["skip_policy"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Files the tests create among the stack's logs (a standby wa-pushd's) get
# the modes the stack gives its own (scripts/stack.sh): not world-readable.
os.umask(0o027)

# nginx's push modules (nginx/push-<module>-*.conf): the real-time tests run
# on each, and their ids say which (test_x[nchan], test_x[pushstream]). The
# default comes last: pytest keeps a session fixture's last value until the
# end, so the tests after the real-time ones run on the default too.
PUSH_MODULES = ("nchan", "pushstream")


def _load_env():
    path = os.environ.get("WA_STACK_ENV")
    if not path:
        pytest.exit("WA_STACK_ENV is not set: run the tests with `make test`", 2)
    env = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


class Stack:
    """The running stack: URLs, secrets, and ways to poke its parts."""

    def __init__(self, env):
        self.env = env
        self.base = "http://127.0.0.1:%s" % env["WA_HTTP_PORT"]
        self.publish_url = env["WA_PUBLISH_URL"]
        self.sim = "http://127.0.0.1:%s" % env["WA_SIM_PORT"]
        self.app_secret = env["WA_APP_SECRET"]
        self.verify_token = env["WA_VERIFY_TOKEN"]
        self.run_dir = env["WA_RUN_DIR"]
        self.wactl_path = os.path.join(env["WA_BIN_DIR"], "wactl")
        self.default_push_module = env["WA_PUSH_MODULE"]

    def url(self, path):
        return self.base + path

    def wactl(self, *args, input=None, check=True):
        """Runs wactl with the stack's settings; returns CompletedProcess."""
        env = dict(os.environ)
        env.update(self.env)
        p = subprocess.run([self.wactl_path, *args], input=input, env=env,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("wactl %s failed: %s" % (args, p.stderr))
        return p

    def ctl(self, action, part):
        """stack.sh start-part|stop-part pg|sim|fcgi|pushd|nginx."""
        env = dict(os.environ)
        env.update(self.env)
        subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"),
                        "%s-part" % action, part], env=env, check=True,
                       capture_output=True, timeout=120)

    def use_push_module(self, module):
        """Restarts nginx and wa-pushd with that push module, unless they
        run it; the parts ctl() restarts later keep it."""
        if self.env["WA_PUSH_MODULE"] == module:
            return
        self.env["WA_PUSH_MODULE"] = module
        for part in ("nginx", "pushd"):
            self.ctl("stop", part)
        for part in ("pushd", "nginx"):
            self.ctl("start", part)

    def sign(self, body: bytes) -> str:
        mac = hmac.new(self.app_secret.encode(), body, hashlib.sha256)
        return "sha256=" + mac.hexdigest()

    def post_webhook(self, payload, signature=None, **kw):
        """POSTs a webhook body (dict or bytes) signed like Meta does."""
        body = payload if isinstance(payload, bytes) else \
            json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        sig = self.sign(body) if signature is None else signature
        if sig is not False:
            headers["X-Hub-Signature-256"] = sig
        return requests.post(self.url("/webhook"), data=body,
                             headers=headers, timeout=30, **kw)

    def db(self):
        return psycopg2.connect(host=os.path.join(self.run_dir, "run"),
                                port=self.env["WA_PG_PORT"], dbname="wa",
                                user="wa")

    def query(self, sql, *params):
        """Rows of a query as dicts (autocommit, a fresh connection)."""
        conn = self.db()
        try:
            conn.autocommit = True
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
                c.execute(sql, params)
                return c.fetchall() if c.description else []
        finally:
            conn.close()


class Tenant:
    """A tenant made for one test, with a member user and a token."""

    def __init__(self, stack, name=None):
        self.stack = stack
        self.pnid = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
        self.waba_id = "2" + "".join(secrets.choice("0123456789") for _ in range(14))
        self.display_phone = "1555" + "".join(secrets.choice("0123456789") for _ in range(7))
        self.access_token = "EAAG" + secrets.token_hex(16)
        self.name = name or "Tenant " + self.pnid[-4:]
        self.id = stack.wactl("tenant", "add", "--name", self.name,
                              "--phone-number-id", self.pnid,
                              "--waba-id", self.waba_id,
                              "--display-phone", self.display_phone,
                              "--access-token", self.access_token).stdout.strip()
        self.email = "user-%s@example.com" % secrets.token_hex(4)
        self.password = "pw-" + secrets.token_hex(8)
        stack.wactl("user", "add", "--email", self.email, "--password-stdin",
                    "--tenant", self.id, "--role", "owner",
                    input=self.password + "\n")
        self.token = stack.wactl("token", "--email", self.email).stdout.strip()
        # Meta (the simulator) must know the number and its token.
        try:
            requests.post(stack.sim + "/_sim/numbers", json={
                "phone_number_id": self.pnid,
                "access_token": self.access_token,
                "display_phone_number": self.display_phone}, timeout=5)
        except requests.RequestException:
            pass

    @property
    def headers(self):
        return {"Authorization": "Bearer " + self.token, "X-Tenant-Id": self.id}

    def api(self, method, path, **kw):
        headers = dict(self.headers)
        headers.update(kw.pop("headers", {}))
        return requests.request(method, self.stack.url(path), headers=headers,
                                timeout=kw.pop("timeout", 30), **kw)

    def webhook_value(self, **value):
        """A `value` object for this tenant's number."""
        v = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": self.display_phone,
                          "phone_number_id": self.pnid}}
        v.update(value)
        return v

    def webhook(self, *values):
        """A whole webhook body with one entry and one change per value."""
        return {"object": "whatsapp_business_account",
                "entry": [{"id": self.waba_id,
                           "changes": [{"field": "messages", "value": v}
                                       for v in values]}]}


CONTRACT = openapi_check.Contract(openapi_check.load())

# Every body the suite posts to /webhook and the responder takes in (200,
# or 5xx: a retry would take it), in order, one JSON line each: the corpus
# test_webhook_equivalence.py replays through both ingest paths once every
# other test has run (scripts/test.sh runs it last).
CORPUS = "webhook-corpus.jsonl"
_corpus_lock = threading.Lock()


def record_webhook(stack, body, status):
    """Appends one posted body (bytes) to the run's corpus."""
    if status != 200 and status < 500:
        return
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        return
    line = json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", ""),
                       "status": status,
                       "body": base64.b64encode(body).decode()}) + "\n"
    with _corpus_lock, open(os.path.join(stack.run_dir, CORPUS), "a") as f:
        f.write(line)


def pytest_terminal_summary(terminalreporter):
    openapi_check.summary(terminalreporter)


def _check_against_document(stack):
    """Every answer from the public port, through `requests` (so every
    helper and test), and every WebSocket text frame from it, must be what
    nginx/www/openapi.json describes (tests/e2e/openapi_check.py)."""
    send, recv_data = requests.Session.send, websocket.WebSocket.recv_data
    port = int(stack.env["WA_HTTP_PORT"])

    def checked_send(self, request, **kw):
        r = send(self, request, **kw)
        if request.method == "POST" and request.url.startswith(
                stack.base + "/") and \
                urllib.parse.urlsplit(request.url).path == "/webhook":
            record_webhook(stack, request.body, r.status_code)
        if request.url.startswith(stack.base + "/"):
            CONTRACT.check_response(request.method, request.url,
                                    r.status_code,
                                    r.headers.get("Content-Type"), r.content)
        return r

    def checked_recv_data(self, *a, **kw):
        opcode, data = recv_data(self, *a, **kw)
        try:
            ours = self.sock is not None and self.sock.getpeername()[1] == port
        except OSError:
            ours = False
        if opcode == websocket.ABNF.OPCODE_TEXT and ours:
            CONTRACT.check_frame(data)
        return opcode, data

    requests.Session.send = checked_send
    websocket.WebSocket.recv_data = checked_recv_data
    return lambda: (setattr(requests.Session, "send", send),
                    setattr(websocket.WebSocket, "recv_data", recv_data))


@pytest.fixture(scope="session")
def stack():
    s = Stack(_load_env())
    deadline = time.time() + 20
    while True:
        try:
            if requests.get(s.url("/healthz"), timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.time() > deadline:
            pytest.exit("stack is not healthy", 2)
        time.sleep(0.2)
    restore = _check_against_document(s)
    yield s
    restore()


@pytest.fixture(scope="session", params=PUSH_MODULES)
def push_module(request, stack):
    """The stack on each push module in turn (pytest groups the tests by
    it), then back on its own, which the other tests use."""
    stack.use_push_module(request.param)
    yield request.param
    stack.use_push_module(stack.default_push_module)


@pytest.fixture
def tenant(stack):
    return Tenant(stack)


@pytest.fixture
def make_tenant(stack):
    return lambda name=None: Tenant(stack, name)


def wait_for(fn, timeout=5.0, interval=0.05):
    """Polls fn until it returns something truthy; returns that or None."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            return None
        time.sleep(interval)


def new_wamid():
    return "wamid.HBgL" + secrets.token_urlsafe(24)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = requests.structures.CaseInsensitiveDict(headers)
        self.content = body
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def pids(stack, name):
    """The pids in the run directory's pid file `name` ([] when none)."""
    try:
        with open(os.path.join(stack.run_dir, "run", name)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def read_head(sock):
    """Reads from sock until the end of an HTTP head (or EOF): all bytes
    read, which may include the start of the body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def raw_request(stack, method, path, body=b"", headers=None, source_ip="127.0.0.1"):
    """One HTTP request from a chosen loopback address (all of 127/8 is
    local): login is rate-limited per address, so tests that hit it use
    their own."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(stack.env["WA_HTTP_PORT"]),
                                      source_address=(source_ip, 0), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        # After a 101 the connection belongs to the WebSocket: no body.
        reply = b"" if resp.status in (101, 204) else resp.read()
        if method == "POST" and path == "/webhook":
            record_webhook(stack, body, resp.status)
        CONTRACT.check_response(method, path, resp.status,
                                resp.getheader("Content-Type"), reply)
        return RawResponse(resp.status, resp.getheaders(), reply)
    finally:
        conn.close()
