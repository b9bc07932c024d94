#!/usr/bin/python3
"""bench/gapcheck.py: after an ingest run, whether every message it stored
was published without gaps, from the three places a client can look:

  - the database: each stored message (wamid with the run's prefix) has one
    message_incoming event, numbered (events.seq), and the tenant's seqs
    are 1..max with no hole;
  - the WebSocket: each stored message's wamid is in the subscriber's list
    (wa-bench ws -F), and the frames' ids had no jump (wa-bench's id_gaps);
  - the catch-up API: GET /api/v1/events?after=AFTER, paged to the end,
    returns every stored message's event, with consecutive ids.

Only HTTP and the tables messages and events: nothing of how ingest works.

usage: gapcheck.py SOCKET_DIR PG_PORT TENANT PREFIX SEEN_FILE AFTER
                   HTTP_PORT JWT
prints one JSON object
"""
import json
import sys
import time
import urllib.request

import psycopg2

RELAY_WAIT_S = 60
PAGE = 1000


def relay_drained(c, tenant):
    """Waits until nginx acknowledged every event of the tenant."""
    t0 = time.monotonic()
    while True:
        c.execute("SELECT coalesce((SELECT last_seq FROM event_counters"
                  " WHERE tenant_id = %s), 0) - coalesce((SELECT published"
                  " FROM event_cursors WHERE tenant_id = %s), 0)",
                  (tenant, tenant))
        left = c.fetchone()[0]
        if left == 0 or time.monotonic() - t0 > RELAY_WAIT_S:
            return left, round(time.monotonic() - t0, 1)
        time.sleep(0.1)


def database(c, tenant, prefix):
    like = "wamid." + prefix + "%"
    c.execute("SELECT wamid FROM messages WHERE tenant_id = %s"
              " AND wamid LIKE %s", (tenant, like))
    stored = {r[0] for r in c.fetchall()}
    c.execute("SELECT data->'message'->>'id', seq FROM events"
              " WHERE tenant_id = %s AND name = 'message_incoming'"
              " AND data->'message'->>'id' LIKE %s", (tenant, like))
    events = {}
    unnumbered = 0
    for wamid, seq in c.fetchall():
        events[wamid] = events.get(wamid, 0) + 1
        unnumbered += seq is None
    c.execute("SELECT count(*), coalesce(max(seq), 0) FROM events"
              " WHERE tenant_id = %s AND seq IS NOT NULL", (tenant,))
    n, hi = c.fetchone()
    return stored, {
        "stored": len(stored),
        "without_event": len(stored - set(events)),
        "events_duplicated": sum(1 for v in events.values() if v > 1),
        "events_unnumbered": unnumbered,
        # seq is unique per tenant (an index) and >= 1: as many as the
        # highest means 1..max, no hole anywhere in the tenant's numbering.
        "tenant_seq_max": hi,
        "tenant_seq_gaps": hi - n,
    }


def api(port, jwt, tenant, after, prefix):
    """Every frame after AFTER, page by page; the run's wamids found."""
    marker = "wamid." + prefix
    found, gaps, pages, last = {}, 0, 0, after
    while True:
        req = urllib.request.Request(
            "http://127.0.0.1:%s/api/v1/events?after=%d&limit=%d"
            % (port, last, PAGE),
            headers={"Authorization": "Bearer " + jwt,
                     "X-Tenant-Id": tenant})
        with urllib.request.urlopen(req, timeout=30) as r:
            page = json.load(r)
        pages += 1
        for ev in page["events"]:
            if ev["id"] != last + 1:
                gaps += 1
            last = ev["id"]
            msg = (ev.get("data") or {}).get("message") or {}
            wamid = msg.get("id") or ""
            if ev.get("event") == "message_incoming" and \
                    wamid.startswith(marker):
                found[wamid] = found.get(wamid, 0) + 1
        if len(page["events"]) < PAGE:
            return found, {"api_pages": pages, "api_id_gaps": gaps,
                           "api_last_id": last}


def main():
    (host, port, tenant, prefix, seen_file, after, http_port,
     jwt) = sys.argv[1:9]
    conn = psycopg2.connect(host=host, port=port, dbname="wa", user="wa")
    conn.autocommit = True
    c = conn.cursor()
    left, waited = relay_drained(c, tenant)
    stored, out = database(c, tenant, prefix)
    out.update({"relay_wait_s": waited, "relay_left": left})
    try:
        seen = set(open(seen_file).read().split())
        out["not_at_subscriber"] = len(stored - seen)
    except OSError:
        out["not_at_subscriber"] = None
    try:
        found, a = api(http_port, jwt, tenant, int(after), prefix)
        out.update(a)
        out["not_in_api"] = len(stored - set(found))
        out["api_duplicated"] = sum(1 for v in found.values() if v > 1)
    except (OSError, ValueError, KeyError) as e:
        out["api_error"] = str(e)[:200]
    out["ok"] = (left == 0 and out["without_event"] == 0 and
                 out["events_duplicated"] == 0 and
                 out["events_unnumbered"] == 0 and
                 out["tenant_seq_gaps"] == 0 and
                 out.get("not_at_subscriber") == 0 and
                 out.get("not_in_api") == 0 and
                 out.get("api_id_gaps") == 0 and
                 out.get("api_duplicated") == 0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
