#!/usr/bin/python3
"""bench/relay_run.py: the relay scenario's measured part. Inserts N events
for a tenant in one statement (plus NOTIFY), then waits on one connection
until event_cursors.published covers them, looking every 2 ms: a psql
started per look cost the 2-core box more CPU than the relay it measured.

usage: relay_run.py SOCKET_DIR PORT TENANT N
prints {"events", "insert_s", "seconds", "events_per_s"} or {"error"}
"""
import json
import sys
import time

import psycopg2

TIMEOUT_S = 30


def main():
    host, port, tenant, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    conn = psycopg2.connect(host=host, port=port, dbname="wa", user="wa")
    conn.autocommit = True
    c = conn.cursor()

    def published():
        c.execute("SELECT coalesce((SELECT published FROM event_cursors"
                  " WHERE tenant_id = %s), 0)", (tenant,))
        return c.fetchone()[0]

    base = published()
    t0 = time.monotonic()
    # Numbered as a bulk writer must: one range for all (events.sql).
    c.execute("WITH s AS (SELECT wa_event_seqs_take(%s, %s) AS first)"
              " INSERT INTO events (tenant_id, seq, name, data)"
              " SELECT %s, s.first + g - 1, 'bench.relay', jsonb_build_object("
              "'i', g, 'text', 'relay benchmark event ' || g)"
              " FROM s, generate_series(1, %s) g; NOTIFY wa_events",
              (tenant, n, tenant, n))
    t1 = time.monotonic()
    done = base
    while done < base + n and time.monotonic() - t1 < TIMEOUT_S:
        time.sleep(0.002)
        done = published()
    t2 = time.monotonic()
    if done < base + n:
        print(json.dumps({"error": "published only %d of %d in %d s"
                          % (done - base, n, TIMEOUT_S)}))
        return
    print(json.dumps({"events": n, "insert_s": round(t1 - t0, 3),
                      "seconds": round(t2 - t1, 3),
                      "events_per_s": round(n / (t2 - t1), 1)}))


if __name__ == "__main__":
    main()
