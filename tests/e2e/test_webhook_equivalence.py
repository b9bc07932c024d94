"""Every webhook body the e2e suite posted, replayed through both ingest
paths: the same summary, rows and events whatever path the responder takes.

The corpus: each body the other tests posted to /webhook and the responder
took in (conftest.py records them in the run's webhook-corpus.jsonl), in
the order they were posted, then the status webhooks the Graph API
simulator sent for the suite's sends. Each body is posted over HTTP to one
twin of its tenant (whatever the responder does with it: the batched path
of plain chat messages read in C, or the general path) and given to the
general SQL path,
wa_webhook_ingest_general() plus 007's poll step as wa_webhook_ingest()
runs it, for the other twin. The twins are new tenants, a pair per number
in the corpus; an unknown number stays unknown, under a fresh number per
twin. In order, so an edit, a reaction or a status sees the same earlier
rows in both twins. After each body both twins must agree on its summary,
on every row it changed (contacts, messages, message_statuses,
message_updates, reactions, media, polls), on the webhook_log rows and on
the events it wrote, up to ids, tenants and our own clock. CASES then does
the same for shapes the general path handles that the suite never posts.

scripts/test.sh runs this file last, alone, once every other test has
written the corpus; over a corpus too small to mean anything (a run of a
few tests) it fails and says so. The corpus's shapes are listed in the
run's webhook-shapes.txt.
"""
import base64
import bisect
import datetime
import http.client
import json
import math
import os
import re
import secrets
import time

import psycopg2
import pytest
import requests

from conftest import CORPUS
import webhook_shapes

# The reference: the general path's body walker (schema/functions).
GENERAL = "wa_webhook_ingest_general"
COUNTS = ("messages", "statuses", "reactions", "edits", "duplicates",
          "events", "logged", "unplaced")
TABLES = {      # the rows a body may change, and what identifies each
    "contacts": ("wa_id", "user_id"),
    "messages": ("wamid",),
    "message_statuses": ("wamid", "status"),
    "message_updates": ("kind", "wamid", "emoji", "meta_ts"),
    "reactions": ("target_wamid", "direction"),
    "media": ("wa_media_id",),
    "polls": ("trigger_wamid",),
}
# A whole run posts ~600 bodies of ~70 shapes (sets of features, see
# webhook_shapes.py); far fewer means the corpus is not the suite's.
MIN_BODIES = 400
MIN_SHAPES = 50
REPORT_MAX = 8          # differing bodies described in full

# Differences known today, each with the issue that fixes it: a body they
# describe may differ only there (and must: once fixed, remove the entry).
# origin: the test that posted the body, or the case; paths: the start of
# every line the difference gives (see differences()).
KNOWN = []


# --- the corpus --------------------------------------------------------------

class Body:
    def __init__(self, origin, raw):
        self.origin = origin
        self.raw = raw
        try:
            self.json = json.loads(raw)
        except ValueError:
            self.json = None

    def values(self):
        for e in _items(self.json, "entry"):
            for c in _items(e, "changes"):
                v = c.get("value") if isinstance(c, dict) else None
                if isinstance(v, dict):
                    yield v

    def numbers(self):
        """The phone_number_id strings of its changes, in order."""
        out = []
        for v in self.values():
            m = v.get("metadata")
            p = m.get("phone_number_id") if isinstance(m, dict) else None
            if isinstance(p, str) and p not in out:
                out.append(p)
        return out

    def status_ids(self):
        return {s["id"] for v in self.values()
                for s in _items(v, "statuses")
                if isinstance(s, dict) and isinstance(s.get("id"), str)}


def _items(obj, key):
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, list) else []


def sim_encode(obj):
    """The simulator's bytes for a body (tests/graphsim/webhooks.py)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def load_corpus(stack):
    bodies = []
    path = os.path.join(stack.run_dir, CORPUS)
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                bodies.append(Body(r["test"].rsplit(" (", 1)[0],
                                   base64.b64decode(r["body"])))
    sent = requests.get(stack.sim + "/_sim/webhooks", timeout=10).json()
    for rec in sorted(sent, key=lambda r: r["seq"]):
        st = rec["http_status"] or 0
        if st == 200 or st >= 500:
            bodies.append(Body("graphsim %s #%d" % (rec["kind"], rec["seq"]),
                               sim_encode(rec["body"])))
    return bodies


# --- twins -------------------------------------------------------------------

class Side:
    """One twin of every tenant: "http" (posted to /webhook) or "general"
    (wa_webhook_ingest_general)."""

    def __init__(self, name):
        self.name = name
        self.number = {}        # original number -> this twin's
        self.tenant = {}        # original number -> twin tenant id
        self.labels = {}        # twin number / tenant id -> label
        self._re = None

    def add(self, orig, number, tenant=None):
        self.number[orig] = number
        self.labels[number] = "<number %s>" % orig
        if tenant:
            self.tenant[orig] = tenant
            self.labels[tenant] = "<tenant %s>" % orig
        self._re = None

    def relabel(self, s):
        if s in self.labels:
            return self.labels[s]
        if len(s) < 15:         # shorter than a number or a tenant id
            return s
        if self._re is None:
            self._re = re.compile("|".join(
                re.escape(k) for k in sorted(self.labels, key=len,
                                             reverse=True)))
        return self._re.sub(lambda m: self.labels[m.group(0)], s)

    def move(self, raw, origs):
        """raw with each original number (a JSON string) replaced by this
        twin's; "@name#" (cases only) becomes the twin's as a JSON number."""
        for o in origs:
            n = self.number[o].encode()
            raw = raw.replace(b'"%s#"' % o.encode(), n)
            raw = raw.replace(b'"%s"' % o.encode(), b'"%s"' % n)
        left = set(Body("", raw).numbers()) & set(self.number)
        assert not left, "number(s) %s not replaced in %r" % (left, raw[:300])
        return raw


# --- the two paths -----------------------------------------------------------

class Http:
    """POSTs to /webhook on one kept-alive connection, signed like Meta,
    past conftest's recorder (these bodies are no part of the corpus)."""

    def __init__(self, stack):
        self.stack = stack
        self.conn = None

    def post(self, raw):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", int(self.stack.env["WA_HTTP_PORT"]),
                    timeout=60)
            try:
                self.conn.request("POST", "/webhook", body=raw, headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": self.stack.sign(raw)})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                # nginx closed the idle connection: the body never
                # reached the responder.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def ingest(self, raw):
        status, answer = self.post(raw)
        if status != 200:
            return {"http": status, "answer": answer.decode(
                "utf-8", "replace")[:300]}
        j = json.loads(answer)
        return {k: j.get(k) for k in COUNTS}

    def close(self):
        if self.conn is not None:
            self.conn.close()


def scrub_nul(text):
    """What the responder does to a \\u0000 escape before PostgreSQL sees
    the body (fcgi/webhook.c, scrub_nul_escapes)."""
    return re.sub(r"(?<!\\)((?:\\\\)*)\\u0000", r"\1\\ufffd", text)


def ingest_general(conn, raw):
    """The general path, in a transaction of its own, with the poll step
    wa_webhook_ingest() (007) runs after it."""
    try:
        with conn.cursor() as c:
            c.execute("SELECT set_config('wa.poll_msgs', '', true)")
            c.execute("SELECT %s(%%s::jsonb)" % GENERAL,
                      (scrub_nul(raw.decode()),))
            s = c.fetchone()[0]
            c.execute("SELECT current_setting('wa.poll_msgs', true) <> ''")
            if c.fetchone()[0]:
                c.execute("SELECT n_events FROM wa_poll_ingested()")
                s["events"] += c.fetchone()[0]
        conn.commit()
    except psycopg2.Error as e:
        conn.rollback()
        return {"error": "%s: %s" % (e.pgcode, e.pgerror)}
    return {k: s.get(k) for k in COUNTS}


# --- what a body did ---------------------------------------------------------

ROWS = """(SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.id), '[]')
  FROM contacts c WHERE c.tenant_id = ANY (%(t)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.id), '[]') FROM (
  SELECT m.*, row_number() OVER (PARTITION BY m.tenant_id ORDER BY m.id)
  AS seq FROM messages m WHERE m.tenant_id = ANY (%(t)s::uuid[])) m),
 (SELECT coalesce(jsonb_agg(to_jsonb(s)), '[]')
  FROM message_statuses s WHERE s.tenant_id = ANY (%(t)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.id), '[]')
  FROM message_updates u WHERE u.tenant_id = ANY (%(t)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]')
  FROM reactions r WHERE r.tenant_id = ANY (%(t)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]')
  FROM media d WHERE d.tenant_id = ANY (%(t)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.id), '[]')
  FROM polls p WHERE p.tenant_id = ANY (%(t)s::uuid[]))"""

# Before: where events and webhook_log end, and the rows.
BEFORE = """SELECT (SELECT coalesce(max(id), 0) FROM events),
 (SELECT coalesce(max(id), 0) FROM webhook_log), """ + ROWS

# After: the rows, and the events and webhook_log rows written since. The
# twins' tenants only, for events: wa-pushd may end a poll of the suite's.
AFTER = "SELECT " + ROWS + """,
 (SELECT coalesce(jsonb_agg(jsonb_build_object('name', e.name,
  'data', e.data) ORDER BY e.id), '[]') FROM events e
  WHERE e.id > %(e)s AND e.tenant_id = ANY (%(all)s::uuid[])),
 (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'id' ORDER BY l.id), '[]')
  FROM webhook_log l WHERE l.id > %(l)s)"""

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class Normal:
    """Rows and events of one side, without what differs between twins:
    ids become what they identify, tenant ids and numbers the original
    number, and a time of our own clock the body during which it was
    taken (a time from Meta's body is kept as is)."""

    def __init__(self, replay, side, rows):
        self.replay, self.side = replay, side
        tables = dict(zip(TABLES, rows))
        self.contact = {c["id"]: "<contact %s %s|%s>" % (
            side.relabel(c["tenant_id"]), c["wa_id"], c["user_id"])
            for c in tables["contacts"]}
        self.message = {m["id"]: "<message %s %s>" % (
            side.relabel(m["tenant_id"]), m["wamid"])
            for m in tables["messages"]}
        self.poll = {p["id"]: "<poll %s>" % p["trigger_wamid"]
                     for p in tables["polls"]}

    def row(self, table, r):
        """(key, row) of a row, normalised."""
        r = self.value(r)
        key = (r.pop("tenant_id"),) + tuple(r[k] for k in TABLES[table])
        r.pop("id", None)
        return json.dumps(key), r

    def clock(self, t):
        """A label for a time of our clock (Unix seconds), or None."""
        if t < self.replay.start:
            return None
        w = self.replay.windows
        i = bisect.bisect_right(w, (t, math.inf)) - 1
        if i >= 0 and w[i][0] <= t <= w[i][1]:
            return "<clock: body %d>" % (i + 1)
        return "<clock>"

    def value(self, v, key=None, parent=None):
        if isinstance(v, dict):
            return {k: self.value(x, k, key) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x, key, parent) for x in v]
        if isinstance(v, bool) or v is None or isinstance(v, float):
            return v
        if isinstance(v, int):
            ids = {"db_id": self.message, "read_upto_id": self.message,
                   "message_id": self.message, "contact_id": self.contact,
                   "poll_id": self.poll}.get(key)
            if key == "id" and parent == "contact":
                ids = self.contact
            if ids is not None:
                return ids.get(v, v)
            if 10 ** 9 <= v < 10 ** 10:         # Unix seconds
                return self.clock(v) or v
            return v
        s = self.side.relabel(v)
        if ISO.match(s):
            t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
            return self.clock(t.timestamp()) or s
        if len(s) == 10 and s.isdigit():
            return self.clock(int(s)) or s
        return s


def delta(normal, before, after):
    """The rows a body changed, normalised: {table: {key: row after, None
    when gone}}. Compared as they are first: most rows did not change."""
    out = {}
    for t, b, a in zip(TABLES, before, after):
        b = {_key(t, r): r for r in b}
        a = {_key(t, r): r for r in a}
        changed = {}
        for k in set(a) | set(b):
            if a.get(k) != b.get(k):
                key, row = normal.row(t, a.get(k) or b[k])
                changed[key] = row if k in a else None
        if changed:
            out[t] = changed
    return out


def _key(table, r):
    return (r["tenant_id"],) + tuple(json.dumps(r[k]) for k in TABLES[table])


# --- replaying ---------------------------------------------------------------

class Replay:
    """Twins, and the bodies fed to both, one at a time, compared."""

    def __init__(self, stack):
        self.stack = stack
        self.http, self.general = Side("http"), Side("general")
        self.sides = (self.http, self.general)
        self.poster = Http(stack)
        self.conn = stack.db()          # reads, twins and seeds
        self.conn.autocommit = True
        self.gconn = stack.db()         # the general path's transactions
        self.start = time.time()
        self.windows = []       # (start, end) of each body's ingestion
        self.diffs = []         # (number, origin, bytes, lines)
        self.placed = 0         # bodies that stored something over HTTP

    def q(self, sql, *params):
        """Rows of sql; params: positional, or one dict of named ones."""
        if len(params) == 1 and isinstance(params[0], dict):
            params = params[0]
        with self.conn.cursor() as c:
            c.execute(sql, params)
            return c.fetchall() if c.description else []

    def close(self):
        self.poster.close()
        self.conn.close()
        self.gconn.close()

    # twins

    def new_number(self, first):
        while True:
            n = first + "".join(secrets.choice("0123456789")
                                for _ in range(14))
            if not self.q("SELECT 1 FROM tenants WHERE phone_number_id = %s",
                          n):
                return n

    def add_twins(self, orig, template=None):
        """A twin of the tenant of number orig on each side: a copy of its
        row (template), or a new tenant. Polls stay off: a poll's question
        is sent by wa-jobd in its own time, which would change one twin's
        rows while they are compared."""
        t = template or {}
        for side in self.sides:
            number = self.new_number("7")
            (tid,), = self.q(
                "INSERT INTO tenants (name, phone_number_id, waba_id,"
                " display_phone_number, access_token, catalog_id, settings)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb - 'poll')"
                " RETURNING id", "equivalence %s %s" % (side.name, orig)[:200],
                number, t.get("waba_id", "2" + number[1:]),
                t.get("display_phone_number"),
                t.get("access_token", "EAAG-equivalence"), t.get("catalog_id"),
                json.dumps(t.get("settings", {})))
            side.add(orig, number, str(tid))

    def add_unknown(self, orig):
        for side in self.sides:
            side.add(orig, self.new_number("8"))

    def seed(self, orig, sql, **params):
        """Runs sql on each twin of orig's tenant, %(t)s its id."""
        for side in self.sides:
            self.q(sql, dict(params, t=side.tenant[orig]))

    def seed_outgoing(self, orig, tenant, wamids):
        """The original tenant's outgoing messages that statuses in the
        corpus report on, as the send left them (accepted), in each twin:
        the statuses then have a message to move, as in the suite."""
        rows = self.q(
            "SELECT c.wa_id, c.user_id, m.wamid, m.type, m.text, m.media_id,"
            " m.media_mime, m.content, m.context_wamid, m.raw"
            " FROM messages m JOIN contacts c ON c.id = m.contact_id"
            " WHERE m.tenant_id = %s AND m.direction = 'out' AND"
            " m.wamid = ANY (%s) ORDER BY m.id", tenant, sorted(wamids))
        for r in rows:
            self.seed(orig, SEED_OUT, wa_id=r[0], user_id=r[1], wamid=r[2],
                      type=r[3], text=r[4], media_id=r[5], media_mime=r[6],
                      content=_json(r[7]), context=r[8], raw=_json(r[9]))

    # bodies

    def step(self, n, origin, raw, origs):
        """Body number n (raw, with the original numbers origs) through
        both sides; records how they differ, if they do. Its times (of
        either side) are those between its post and the general path's
        commit."""
        t0 = time.time()
        got = [self.ingest(side, side.move(raw, origs), origs)
               for side in self.sides]
        self.windows.append((t0, time.time()))
        got = [self.normal(side, *g) for side, g in zip(self.sides, got)]
        self.placed += bool(got[0]["rows"])
        if got[0] != got[1]:
            self.diffs.append((n, origin, raw, differences(*got)))

    def ingest(self, side, raw, origs):
        tids = [side.tenant[o] for o in origs if o in side.tenant]
        (e, l, *before), = self.q(BEFORE, {"t": tids})
        if side is self.http:
            answer = self.poster.ingest(raw)
        else:
            answer = ingest_general(self.gconn, raw)
        (*after, events, log), = self.q(AFTER, {
            "t": tids, "e": e, "l": l, "all": list(side.tenant.values())})
        return answer, before, after, events, log

    def normal(self, side, answer, before, after, events, log):
        a = Normal(self, side, after)
        return {"summary": answer, "rows": delta(a, before, after),
                "events": a.value(events), "webhook_log": a.value(log)}


def _json(v):
    return None if v is None else json.dumps(v)


SEED_OUT = """INSERT INTO messages (tenant_id, contact_id, wamid, direction,
 type, text, media_id, media_mime, content, context_wamid, status, raw)
 VALUES (%(t)s, wa_contact_resolve(%(t)s, %(wa_id)s, %(user_id)s, NULL),
 %(wamid)s, 'out', %(type)s, %(text)s, %(media_id)s, %(media_mime)s,
 %(content)s::jsonb, %(context)s, 'accepted', %(raw)s::jsonb)"""


def differences(a, b, path="", out=None):
    """Lines saying where a (HTTP) and b (general) differ."""
    out = [] if out is None else out
    if isinstance(a, dict) and b == "<absent>" or \
            isinstance(b, dict) and a == "<absent>":
        for k in sorted(a if isinstance(a, dict) else b):
            out.append("%s/%s: http %s, general %s" % (
                path, k, _short(a.get(k) if isinstance(a, dict) else a),
                _short(b.get(k) if isinstance(b, dict) else b)))
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                differences(a.get(k, "<absent>"), b.get(k, "<absent>"),
                            "%s/%s" % (path, k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                differences(x, y, "%s[%d]" % (path, i), out)
    else:
        out.append("%s: http %s, general %s" % (path, _short(a), _short(b)))
    return out


def _short(v):
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= 400 else s[:400] + "..."


def known(origin, diff):
    """The KNOWN entry a difference is, or None."""
    for k in KNOWN:
        if k["origin"] == origin and all(
                d.startswith(k["paths"]) for d in diff):
            return k
    return None


def check(replay, total, origins):
    """Fails on any difference but the KNOWN ones, and on a KNOWN one
    that no longer happens though a body of its origin was replayed."""
    seen = {id(known(o, d)) for _, o, _, d in replay.diffs}
    gone = [k for k in KNOWN if k["origin"] in origins and id(k) not in seen]
    diffs = [d for d in replay.diffs if known(d[1], d[3]) is None]
    if diffs:
        pytest.fail(report(diffs, total), pytrace=False)
    if gone:
        pytest.fail("no longer different, remove from KNOWN: %s" % "; ".join(
            k["why"] for k in gone), pytrace=False)


def report(diffs, total):
    lines = ["%d of %d bodies differ between HTTP /webhook and %s:" % (
        len(diffs), total, GENERAL)]
    for n, origin, raw, diff in diffs[:REPORT_MAX]:
        lines.append("")
        lines.append("body #%d, posted by %s:" % (n, origin))
        lines.append("  " + raw[:600].decode("utf-8", "replace") +
                     ("..." if len(raw) > 600 else ""))
        lines.extend("  " + d for d in diff[:20])
    for n, origin, _, _ in diffs[REPORT_MAX:]:
        lines.append("body #%d (%s) differs too" % (n, origin))
    return "\n".join(lines)


@pytest.fixture
def replay(stack):
    r = Replay(stack)
    yield r
    r.close()


# --- the corpus, whole -------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(stack):
    """The bodies, and the shape of each (listed in webhook-shapes.txt)."""
    bodies = load_corpus(stack)
    numbers = {r["phone_number_id"] for r in stack.query(
        "SELECT phone_number_id FROM tenants")}
    shapes = [frozenset(webhook_shapes.features(b.raw, numbers))
              for b in bodies]
    counts = {}
    for s in shapes:
        for x in s:
            counts[x] = counts.get(x, 0) + 1
    with open(os.path.join(stack.run_dir, "webhook-shapes.txt"), "w") as f:
        f.write("%d bodies, %d shapes, %d features\n" % (
            len(bodies), len(set(shapes)), len(counts)))
        for x in sorted(counts):
            f.write("%5d %s\n" % (counts[x], x))
    return bodies, shapes


def test_the_corpus_is_the_whole_suites(corpus):
    bodies, shapes = corpus
    if len(bodies) < MIN_BODIES or len(set(shapes)) < MIN_SHAPES:
        pytest.fail("%d bodies of %d shapes: a run of part of the suite? The"
                    " whole suite posts over %d bodies of over %d shapes"
                    " (scripts/test.sh runs this file after it)" % (
                        len(bodies), len(set(shapes)), MIN_BODIES,
                        MIN_SHAPES), pytrace=False)


def test_every_body_gives_the_same_result_on_both_paths(corpus, replay):
    bodies, _ = corpus
    assert bodies, "no webhook was recorded"
    twins_for(replay, bodies)
    for n, b in enumerate(bodies, 1):
        replay.step(n, b.origin, b.raw, b.numbers())
    check(replay, len(bodies), {b.origin for b in bodies})
    # Not two twins that both ignored everything: most bodies store rows.
    assert replay.placed >= len(bodies) // 2, \
        "%d of %d bodies stored rows" % (replay.placed, len(bodies))


def twins_for(replay, bodies):
    """Twins of every number in the corpus, with the outgoing messages its
    statuses report on."""
    origs, statuses = [], {}
    for b in bodies:
        for o in b.numbers():
            if o not in origs:
                origs.append(o)
            statuses.setdefault(o, set()).update(b.status_ids())
    cols = ("id", "phone_number_id", "waba_id", "display_phone_number",
            "access_token", "catalog_id", "settings")
    tenants = {r[1]: dict(zip(cols, r)) for r in replay.q(
        "SELECT %s FROM tenants WHERE phone_number_id = ANY (%%s)"
        % ", ".join(cols), origs)}
    for o in origs:
        if o in tenants:
            replay.add_twins(o, tenants[o])
            replay.seed_outgoing(o, tenants[o]["id"], statuses[o])
        else:
            replay.add_unknown(o)


# --- shapes the corpus lacks -------------------------------------------------
#
# Each case: seeds run on both twins first (not compared), then its bodies
# in order, each compared like a corpus body. "@a", "@b" are numbers of
# tenants (made for the case), "@x" a number of none; "@a#" is @a's number
# as a JSON number rather than a string.

T = 1764000000          # Meta's times in the cases: fixed, in the past
ALICE, BOB, CAROL, DAN, EVE = ("1650555%04d" % i for i in range(1, 6))


def wamid(tag):
    return "wamid.%s.%s" % (tag, secrets.token_hex(6))


def msg(mtype, payload=None, frm=ALICE, mid=None, ts=T, **extra):
    m = {"from": frm, "id": mid or wamid(mtype), "type": mtype}
    if ts is not None:
        m["timestamp"] = str(ts)
    if payload is not None:
        m[mtype] = payload
    m.update(extra)
    return m


def text(body, **kw):
    return msg("text", {"body": body}, **kw)


def bsuid(m, user_id):
    """m from a sender known by BSUID only."""
    m = dict(m, from_user_id=user_id)
    del m["from"]
    return m


def status(mid, st, ts=T, **extra):
    s = {"id": mid, "status": st, "recipient_id": ALICE}
    if ts is not None:
        s["timestamp"] = str(ts)
    s.update(extra)
    return s


def value(number="@a", contacts=None, **items):
    """A `messages` change's value; contacts: a profile per sender unless
    given."""
    v = {"messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "15550001111",
                      "phone_number_id": number}}
    if contacts is None:
        senders = [m["from"] for m in items.get("messages") or []
                   if isinstance(m, dict) and isinstance(m.get("from"), str)]
        contacts = [{"profile": {"name": "Name " + w[-2:]}, "wa_id": w}
                    for w in dict.fromkeys(senders)]
    if contacts is not False:
        v["contacts"] = contacts
    v.update(items)
    return v


def change(v, field="messages"):
    return {"field": field, "value": v}


def entry(*changes):
    return {"id": "200000000000001", "changes": list(changes)}


def webhook(*values):
    """A body with one entry, a `messages` change per value."""
    return {"object": "whatsapp_business_account",
            "entry": [entry(*[change(v) for v in values])]}


def seed_out(replay, mid, to=ALICE):
    replay.seed("@a", SEED_OUT, wa_id=to, user_id=None, wamid=mid,
                type="text", text="our message", media_id=None,
                media_mime=None, content=None, context=None,
                raw=json.dumps({"text": {"body": "our message"}}))


POLL = """INSERT INTO polls (tenant_id, contact_id, trigger_wamid, question,
 options, question_wamid, deadline)
 VALUES (%(t)s, wa_contact_resolve(%(t)s, %(wa_id)s, NULL, NULL),
 %(trigger)s, 'How was it?', '[{"id": "poll_good", "title": "Good"},
 {"id": "poll_okay", "title": "Okay"}, {"id": "poll_bad", "title": "Bad"}]',
 %(question)s, now() + interval '1 hour')"""


def case_value_shapes():
    return None, [
        webhook(value(messages=[text("new key")], new_thing={"x": 1})),
        webhook(value(messages=[text("and errors", frm=BOB)], errors=[
            {"code": 131000, "title": "Something went wrong"}])),
        webhook(value(statuses={"id": wamid("s"), "status": "read"})),
        webhook(value(messages=[text("contacts an object", frm=CAROL)],
                      contacts={"wa_id": CAROL})),
        webhook(value(messages=[text("a contact a string", frm=DAN)],
                      contacts=["x", {"wa_id": DAN}])),
        webhook(value(messages=[text("no profile", frm=EVE)],
                      contacts=[{"wa_id": EVE, "profile": {}}])),
        webhook(value(messages=[], statuses=[], contacts=[], errors=[])),
        webhook(value(contacts=False)),
    ]


def case_message_shapes():
    return None, [
        webhook(value(messages=[text("no time", ts=None)])),
        webhook(value(messages=[msg("image", {"id": "9001",
                                              "mime_type": "image/png"},
                                    ts=None, frm=BOB)])),
        webhook(value(messages=[text("in a group",
                                     group_id="120363000000000001")])),
        webhook(value(messages=[text("sender a number"), dict(
            text("from a number"), **{"from": int(CAROL)})])),
        webhook(value(messages=[msg("interactive", {
            "type": "call_permission_reply",
            "call_permission_reply": {"response": "accept"}})])),
        webhook(value(messages=[msg("image", "a string", frm=DAN)])),
        webhook(value(messages=[msg("location", {"latitude": 1.5,
                                                 "longitude": 2.5}),
                                msg("contacts", "not a list"),
                                msg("sticker", {"id": "9002"})])),
    ]


def case_one_message_per_body():
    """The common shape (one message, its sender's profile), every kind
    with every optional part: the path a responder takes for it may be
    its own."""
    fwd = {"from": "15550001111", "id": wamid("ctx"), "forwarded": True,
           "frequently_forwarded": True}
    ad = {"source_url": "https://fb.me/x", "source_id": "9", "source_type":
          "ad", "headline": "h", "body": "b", "media_type": "image",
          "image_url": "https://x/y.jpg", "ctwa_clid": "c"}
    media = {"mime_type": "image/jpeg", "sha256": "aGFzaA=="}
    return None, [webhook(value(messages=[m])) for m in (
        text("forwarded often", context=fwd),
        text("about a product", context={"from": "15550001111", "id": wamid(
            "ctx"), "referred_product": {"catalog_id": "1",
                                         "product_retailer_id": "p"}}),
        text("from an ad", referral=ad, frm=BOB),
        msg("image", dict(media, id="9101", caption="look"), frm=CAROL),
        msg("image", {"id": "9102"}),
        msg("video", {"id": "9103", "mime_type": "video/mp4",
                      "caption": "watch"}),
        msg("document", {"id": "9104", "mime_type": "application/pdf",
                         "filename": "a.pdf", "caption": "read"}),
        msg("audio", {"id": "9105", "mime_type": "audio/ogg",
                      "voice": False}),
        msg("audio", {"id": "9106", "mime_type": "audio/ogg",
                      "voice": True}, frm=DAN),
        msg("sticker", {"id": "9107", "mime_type": "image/webp",
                        "animated": False}),
        msg("sticker", {"id": "9101", "mime_type": "image/webp",
                        "animated": True}),
        msg("location", {"latitude": 52.5, "longitude": 13.4, "name": "N",
                         "address": "A", "url": "https://x"}),
        msg("contacts", [{"name": {"formatted_name": "Z"}}]),
        msg("interactive", {"type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent", "response_json": "{}"}}),
        msg("button", {"payload": "P", "text": "T"}, context=fwd),
        msg("order", {"catalog_id": "1", "product_items": [
            {"product_retailer_id": "p", "quantity": 1}]}),
        msg("system", {"body": "changed", "type": "user_changed_number",
                       "wa_id": "16505559999"}, frm=EVE),
        msg("unsupported", errors=[{"code": 131051, "title": "Unsupported"}]),
        msg("request_welcome"),
        msg("hologram", {"x": 1}),
        text("a duplicate's twin", mid="wamid.same", ts=T + 1),
        text("a duplicate", mid="wamid.same", ts=T + 2),
    )] + [webhook(value(messages=[text("no contacts")], contacts=False))]


def case_statuses_on_our_messages():
    w = [wamid("out%d" % i) for i in range(6)]

    def seed(replay):
        for mid in w:
            seed_out(replay, mid)
    err = {"code": 131026, "title": "Message undeliverable",
           "message": "Message undeliverable",
           "error_data": {"details": "unreachable"}}
    first = webhook(value(statuses=[
        status(w[0], "read", T + 30), status(w[0], "sent", T + 10),
        status(w[0], "delivered", T + 20)]))
    return seed, [
        first,
        webhook(value(statuses=[status(w[0], "failed", T + 40,
                                       errors=[err])])),
        first,
        webhook(value(statuses=[status(w[1], "failed", T, errors=[err])])),
        webhook(value(statuses=[status(w[1], "sent", T + 5)])),
        webhook(value(statuses=[status(w[1], "delivered", T + 9)])),
        webhook(value(statuses=[status(w[2], "played", T),
                                status(w[2], "deleted", T + 1)])),
        webhook(value(statuses=[status(w[3], "sent", None)])),
        webhook(value(statuses=[status(
            w[4], "sent", T, biz_opaque_callback_data="order-7",
            recipient_user_id="US.42", conversation={"id": "c1", "origin": {
                "type": "service"}}, pricing={"billable": False,
                                               "category": "service"})])),
        webhook(value(statuses=[status(w[5], "delivered", T,
                                       recipient_type="group",
                                       recipient_id="120363000000000002")])),
        webhook(value(statuses=[status(w[5], "read", T + 1),
                                status(wamid("unknown"), "read", T + 1)])),
    ]


def case_status_on_an_incoming_message():
    m = text("hello")
    return None, [webhook(value(messages=[m])),
                  webhook(value(statuses=[status(m["id"], "read", T + 5)]))]


def case_edits_and_deletions():
    m, m2, m3 = text("original"), text("to delete"), text("edited at once")

    def edit(target, body, ts, mid=None):
        return msg("edit", {"original_message_id": target["id"], "message": {
            "type": "text", "text": {"body": body}}}, ts=ts,
            mid=mid or wamid("edit"))

    def revoke(target, ts):
        return msg("revoke", {"original_message_id": target["id"]}, ts=ts)
    newer = edit(m, "second", T + 20)
    return None, [
        webhook(value(messages=[m])),
        webhook(value(messages=[newer])),
        webhook(value(messages=[edit(m, "first, late", T + 10)])),
        webhook(value(messages=[newer])),
        webhook(value(messages=[revoke(m, T + 30)])),
        webhook(value(messages=[edit(m, "after deletion", T + 40)])),
        webhook(value(messages=[revoke(m2, T + 50)])),
        webhook(value(messages=[m2])),
        webhook(value(messages=[edit(m3, "edit first", T + 70), m3])),
    ]


def case_reactions():
    m = text("react to me")

    def react(emoji, ts, frm=ALICE, target=m, **kw):
        p = {"message_id": target["id"]}
        if emoji is not None:
            p["emoji"] = emoji
        return msg("reaction", p, frm=frm, ts=ts, **kw)
    return None, [
        webhook(value(messages=[m])),
        webhook(value(messages=[react("\U0001f44d", T + 1)])),
        webhook(value(messages=[react("\u2764\ufe0f", T + 2)])),
        webhook(value(messages=[react("\u2764\ufe0f", T + 3)])),
        webhook(value(messages=[react(None, T + 4)])),
        webhook(value(messages=[react("\U0001f44d", T + 5,
                                      target=text("never came"))])),
        webhook(value(messages=[react("\U0001f600", None, frm=BOB)])),
        webhook(value(messages=[bsuid(react("\U0001f44b", T + 6), "US.7")],
                      contacts=[{"user_id": "US.7", "profile": {
                          "name": "Anon"}}])),
    ]


def case_contacts_refreshed():
    out = wamid("out")
    return (lambda replay: seed_out(replay, out)), [
        webhook(value(messages=[text("hi", frm=ALICE)], contacts=[
            {"wa_id": ALICE, "profile": {"name": "Old"}}])),
        webhook(value(statuses=[status(out, "sent")], contacts=[
            {"wa_id": ALICE, "profile": {"name": "New"}}])),
        webhook(value(statuses=[status(out, "delivered", T + 1)], contacts=[
            {"wa_id": ALICE, "user_id": "US.9", "profile": {"name": "New"}}])),
        webhook(value(statuses=[status(out, "read", T + 2)], contacts=[
            {"user_id": "US.9", "profile": {"name": "Newer"}}])),
        webhook(value(messages=[bsuid(text("bsuid only"), "US.77")],
                      contacts=[{"user_id": "US.77", "profile": {
                          "name": "Anon"}}])),
        webhook(value(messages=[text("phone now", frm=BOB,
                                     from_user_id="US.77")],
                      contacts=[{"wa_id": BOB, "user_id": "US.77",
                                 "profile": {"name": "Bob"}}])),
        webhook(value(messages=[text("two senders", frm=CAROL),
                                text("one entry", frm=DAN)],
                      contacts=[{"wa_id": DAN, "profile": {"name": "Dan"}},
                                {"wa_id": EVE, "profile": {"name": "Eve"}}])),
    ]


def case_entries_and_changes():
    return None, [
        {"object": "whatsapp_business_account", "entry": [
            entry(change(value(messages=[text("to a")])),
                  change({"phone_number": "15550001111",
                          "event": "FLAGGED"}, field="account_alerts")),
            entry(change(value("@b", messages=[text("to b")]))),
            entry(change(value("@x", messages=[text("to nobody")])))]},
        {"object": "whatsapp_business_account", "entry": [entry(
            change(value(messages=[text("first change")])),
            change(value(messages=[text("second change", frm=BOB)])),
            change(value(statuses=[status(wamid("s"), "sent")])))]},
        webhook(value("@a#", messages=[text("number as a number")])),
    ]


def case_polls():
    """Open polls answered or cancelled (the poll step after the
    ingestion). Not an overdue one: its end would depend on when it is
    looked at."""
    q = [wamid("question%d" % i) for i in range(3)]

    def seed(replay):
        for i, who in enumerate((ALICE, BOB, CAROL)):
            replay.seed("@a", POLL, wa_id=who, trigger=wamid("poll%d" % i),
                        question=q[i])
    good = webhook(value(messages=[text("Good", frm=ALICE)]))
    return seed, [
        good,
        webhook(value(messages=[msg("interactive", {
            "type": "button_reply", "button_reply": {
                "id": "poll_bad", "title": "Bad"}}, frm=BOB,
            context={"from": "15550001111", "id": q[1]})])),
        webhook(value(messages=[text("/cancel", frm=CAROL)])),
        webhook(value(messages=[text("/poll", frm=DAN)])),
        good,
    ]


def case_database_refuses():
    return None, [
        webhook(value(statuses=[status("wamid." + secrets.token_hex(6000),
                                       "sent")])),
        webhook(value(messages=[text("before the long one"), text(
            "too long", mid="wamid." + secrets.token_hex(6000))])),
    ]


def case_long_media_id():
    return None, [webhook(value(messages=[msg("image", {
        "id": secrets.token_hex(4500), "mime_type": "image/jpeg"})]))]


CASES = {
    "value shapes": case_value_shapes,
    "message shapes": case_message_shapes,
    "one message per body": case_one_message_per_body,
    "statuses on our messages": case_statuses_on_our_messages,
    "status on an incoming message": case_status_on_an_incoming_message,
    "edits and deletions": case_edits_and_deletions,
    "reactions": case_reactions,
    "contacts refreshed": case_contacts_refreshed,
    "entries and changes": case_entries_and_changes,
    "polls": case_polls,
    "database refuses": case_database_refuses,
    "9,000-character media id": case_long_media_id,
}


@pytest.mark.parametrize("name", CASES)
def test_shapes_the_corpus_lacks_give_the_same_result(replay, name):
    seed, bodies = CASES[name]()
    replay.add_twins("@a")
    replay.add_twins("@b")
    replay.add_unknown("@x")
    if seed:
        seed(replay)
    for n, b in enumerate(bodies, 1):
        replay.step(n, name, json.dumps(b).encode(), ["@a", "@b", "@x"])
    check(replay, len(bodies), {name})
