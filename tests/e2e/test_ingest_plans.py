"""Plans that follow the data (issue 13). A new install's responders open
their sessions on empty tables, and their statements' plans are made then
(generic plans, made once per session: schema/functions/ingest.sql) and
again whenever a table is analyzed. Whatever the tables held at that
moment, the ingest path must never read messages, contacts or events
sequentially, up to 200,000 stored messages.

The stack's responders are pointed at a database of their own, migrated
from nothing by `wactl migrate`, for the length of the test. Signed text
webhooks (each of 500 senders sends two in a row) go through nginx and
/webhook, 32 at a time, in rounds: 100 on tables analyzed empty, 1,000
after an ANALYZE at a few pages (autovacuum's first look at a new table,
where a planner picks sequential scans), 1,000 over 200,000 stored messages
whose statistics are still those of a few pages, and 1,000 once analyzed.
pg_stat_user_tables counts the sequential scans of the whole run.

Today's ingestion costs about a millisecond of database time per webhook,
and the suite runs on a shared 2-core box: 200,000 webhooks through HTTP
would take minutes. So WA_PLANS_HTTP (default 4,000, at least the rounds'
3,100) go through /webhook and the rest of WA_PLANS_MESSAGES (default
200,000) are bulk-loaded between the second round and the third;
WA_PLANS_HTTP=200000 sends them all through /webhook."""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import threading
import time

import pytest
import requests

from conftest import ROOT, wait_for
from scratch_db import dsn, query, scratch_db, wactl

TOTAL = int(os.environ.get("WA_PLANS_MESSAGES", "200000"))
HTTP = min(int(os.environ.get("WA_PLANS_HTTP", "4000")), TOTAL)
SENDERS = 500       # ... each twice in the rounds of 1,000
CLIENTS = 32
TABLES = ("messages", "contacts", "events")
PNID, WABA, DISPLAY = "109000000000001", "209000000000001", "15550009001"


def _responders(stack, action, url):
    """stack.sh stop-part or start-part fcgi, on database url."""
    env = dict(os.environ)
    env.update(stack.env)
    env["WA_DATABASE_URL"] = url
    subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"),
                    "%s-part" % action, "fcgi"], env=env, check=True,
                   capture_output=True, timeout=120)


def _responders_on(stack, url):
    """The stack's responders restarted on database url; healthy again."""
    _responders(stack, "stop", url)
    _responders(stack, "start", url)

    def healthy():
        try:
            return requests.get(stack.url("/healthz"), timeout=2)\
                .status_code == 200
        except requests.RequestException:
            return False
    assert wait_for(healthy, timeout=30)


@pytest.fixture
def new_install(stack):
    """A migrated empty database with one tenant, and the responders on it
    (new sessions); the stack's own database again afterwards."""
    with scratch_db(stack) as name:
        wactl(stack, name, "migrate")
        wactl(stack, name, "tenant", "add", "--name", "Plans",
              "--phone-number-id", PNID, "--waba-id", WABA,
              "--display-phone", DISPLAY, "--access-token", "EAAGplans")
        try:
            _responders_on(stack, dsn(stack, name))
            yield name
        finally:
            _responders_on(stack, stack.env["WA_DATABASE_URL"])


def body(n):
    """The nth webhook: one text message from one of SENDERS senders, each
    of whom sends two in a row."""
    wa = "1777%07d" % (n // 2 % SENDERS)
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY,
                         "phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Sender " + wa},
                          "wa_id": wa}],
            "messages": [{"from": wa, "id": "wamid.plans.%d" % n,
                          "timestamp": str(1764000000 + n), "type": "text",
                          "text": {"body": "message %d" % n}}]}}]}],
    }, separators=(",", ":")).encode()


def post_all(stack, first, count):
    """Webhooks first .. first+count-1, CLIENTS at a time on keep-alive
    connections, each signed as Meta signs; every answer must be 200."""
    secret = stack.app_secret.encode()
    port = int(stack.env["WA_HTTP_PORT"])
    todo = iter(range(first, first + count))
    lock = threading.Lock()
    failed = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while not failed:
                with lock:
                    n = next(todo, None)
                if n is None:
                    return
                b = body(n)
                sig = hmac.new(secret, b, hashlib.sha256).hexdigest()
                conn.request("POST", "/webhook", body=b, headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": "sha256=" + sig})
                r = conn.getresponse()
                answer = r.read()
                if r.status != 200:
                    failed.append((n, r.status, answer[:200]))
        finally:
            conn.close()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed, failed[:3]


def grow(stack, name, count):
    """About count more messages (as many from each of 1,000 other
    senders) and their events, bulk-loaded as a restore would (triggers and
    foreign-key checks off, so nothing here reads a table): how many."""
    per = count // 1000
    if per == 0:
        return 0
    query(stack, name, """
        SET session_replication_role = replica;
        WITH t AS (SELECT id FROM tenants WHERE phone_number_id = %s),
        c AS (INSERT INTO contacts (tenant_id, wa_id, name, last_inbound_at)
            SELECT t.id, '1888' || lpad(s::text, 7, '0'), 'Grown ' || s, now()
            FROM t, generate_series(1, 1000) s RETURNING id, tenant_id),
        m AS (INSERT INTO messages (tenant_id, contact_id, wamid, direction,
                type, text, status, meta_ts, raw)
            SELECT c.tenant_id, c.id, 'wamid.grown.' || c.id || '.' || i,
                'in', 'text', 'grown', 'received', now(), '{}'
            FROM c, generate_series(1, %s) i
            RETURNING id, tenant_id, wamid),
        -- Numbered as a bulk writer must: one range for all of them
        -- (functions/events.sql).
        n AS (SELECT wa_event_seqs_take(t.id, 1000 * %s) AS first FROM t)
        INSERT INTO events (tenant_id, seq, name, data)
        SELECT m.tenant_id, n.first - 1 + row_number() OVER (ORDER BY m.id),
            'message_incoming',
            jsonb_build_object('message_id', m.wamid, 'db_id', m.id)
        FROM m, n""", PNID, per, per, user="postgres")
    return per * 1000


def counts(stack, name):
    rows = query(stack, name, "SELECT relname, seq_scan, n_tup_ins FROM"
                 " pg_stat_user_tables WHERE relname = ANY (%s)", list(TABLES))
    return {r["relname"]: r for r in rows}


def settled(stack, name, messages):
    """The counters once every responder has reported its work. A session
    reports its counts whole (at the end of a transaction a second or more
    after its last report, after ten idle seconds, or when it ends): so
    once the messages stored are all counted, the scans that stored them
    are too."""
    def done():
        c = counts(stack, name)
        return c if c["messages"]["n_tup_ins"] >= messages else None
    c = wait_for(done, timeout=60, interval=0.5)
    assert c, "pg_stat_user_tables never counted %d messages" % messages
    return c


def analyze(stack, name):
    query(stack, name, "ANALYZE messages, contacts, events")


def test_ingest_reads_no_table_sequentially_from_empty_to_200000_messages(
        stack, new_install):
    name = new_install
    start = counts(stack, name)
    assert all(start[t]["n_tup_ins"] == 0 for t in TABLES)
    sent = stored = 0
    seen = {}   # each round's count so far (the last ones may lag)

    def webhooks(label, count):
        nonlocal sent, stored
        post_all(stack, sent, count)
        sent += count
        stored += count
        c = counts(stack, name)
        seen[label] = {t: c[t]["seq_scan"] - start[t]["seq_scan"]
                       for t in TABLES}

    t0 = time.time()
    analyze(stack, name)        # empty: the worst statistics there are
    webhooks("tables analyzed empty", 100)
    analyze(stack, name)        # a few pages: autovacuum's first look
    webhooks("tables analyzed at a few pages", 1000)
    webhooks("growing", max(HTTP - 3100, 0))
    stored += grow(stack, name, TOTAL - max(HTTP, 3100))
    webhooks("%d messages, statistics of a few pages" % stored, 1000)
    analyze(stack, name)
    webhooks("%d messages, analyzed" % stored, 1000)
    elapsed = time.time() - t0
    # Sessions that end report what they have not yet.
    _responders(stack, "stop", dsn(stack, name))
    c = settled(stack, name, stored)
    scans = {t: c[t]["seq_scan"] - start[t]["seq_scan"] for t in TABLES}

    n = query(stack, name, "SELECT (SELECT count(*) FROM messages) AS m,"
              " (SELECT count(*) FROM events) AS e,"
              " (SELECT count(DISTINCT contact_id) FROM messages"
              " WHERE wamid LIKE 'wamid.plans.%%') AS senders")[0]
    assert n["m"] == stored and n["e"] == stored
    assert n["senders"] == SENDERS
    assert stored >= TOTAL - 1000
    assert scans == {t: 0 for t in TABLES}, \
        "sequential scans by the ingest path: %s (as seen after each" \
        " round: %s; %d webhooks over HTTP in %.0f s)" % (
            scans, seen, sent, elapsed)
