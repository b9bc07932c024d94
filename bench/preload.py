#!/usr/bin/python3
"""bench/preload.py: the scale scenario's stored history, made in SQL.

  preload.py load SOCKET_DIR PORT TENANT TOTAL CONTACTS_PER_MESSAGE
      tops the messages table up to TOTAL rows for TENANT: contacts (the
      1,000 wa-bench senders first, then more, one per CONTACTS_PER_MESSAGE
      messages), incoming text messages spread over them, and each one's
      message_incoming event already numbered (a range taken from the
      tenant's counter, event_cursors moved past them), so the relay has
      nothing to publish. Rows are shaped like the ones ingest writes (the
      raw item, the event's contact and message), in batches of 100,000.
  preload.py settle SOCKET_DIR PORT MODE WAIT_S
      MODE auto: waits (at most WAIT_S) until autovacuum, with the
      product's own settings, would pick none of messages, events and
      contacts (each below its vacuum, insert-vacuum and analyze thresholds,
      reloptions included). MODE manual: VACUUM (ANALYZE) them by hand.

Only the tables messages, contacts, events (and the event counters and
cursors): nothing of how ingest works.
Prints one JSON object.
"""
import json
import sys
import time

import psycopg2

BATCH = 100000
TABLES = ("messages", "events", "contacts")

# The bench senders' ids are bench.c's: wa_id 1999%07d, user_id
# US.1349120865%09d, name "Bench %d"; contact k >= 1000 follows the pattern.
CONTACTS_SQL = """
INSERT INTO contacts (tenant_id, wa_id, user_id, name, last_inbound_at,
    last_activity_at, created_at)
SELECT %(t)s, '1999' || lpad(k::text, 7, '0'),
    'US.1349120865' || lpad(k::text, 9, '0'), 'Bench ' || k,
    now() - interval '30 days', now() - interval '30 days',
    now() - interval '30 days'
FROM generate_series(0, %(n)s - 1) k
ON CONFLICT DO NOTHING
"""

# One batch: messages round robin over the tenant's contacts, and their
# events numbered from %(seq0)s + 1, in id order, in the same statement.
BATCH_SQL = """
WITH cs AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM contacts
    WHERE tenant_id = %(t)s
), m AS (
    INSERT INTO messages (tenant_id, contact_id, wamid, direction, type,
        text, status, meta_ts, raw, created_at)
    SELECT %(t)s, cs.ids[1 + (g %% cardinality(cs.ids))],
        'wamid.' || %(pfx)s || g, 'in', 'text', 'preloaded message ' || g,
        'received', ts, jsonb_build_object('id', 'wamid.' || %(pfx)s || g,
        'from', 'preload', 'text', jsonb_build_object('body',
        'preloaded message ' || g), 'type', 'text',
        'timestamp', extract(epoch FROM ts)::bigint::text), ts
    FROM cs, generate_series(%(g0)s, %(g1)s - 1) g,
        LATERAL (SELECT now() - (%(total)s - g) * interval '1 second' AS ts) x
    RETURNING *
)
INSERT INTO events (tenant_id, seq, name, data, created_at)
SELECT m.tenant_id, %(seq0)s + row_number() OVER (ORDER BY m.id),
    'message_incoming', jsonb_build_object(
    'name', c.name, 'phone', '+' || c.wa_id,
    'contact', jsonb_build_object('id', c.id, 'name', c.name,
        'phone', '+' || c.wa_id, 'wa_id', c.wa_id, 'user_id', c.user_id,
        'created_at', c.created_at, 'window_open', false,
        'last_inbound_at', m.meta_ts, 'last_activity_at', m.created_at,
        'window_expires_at', m.meta_ts + interval '1 day'),
    'message', jsonb_build_object('id', m.wamid, 'text', m.text,
        'type', m.type, 'db_id', m.id, 'error', null, 'media', null,
        'phone', '+' || c.wa_id, 'status', m.status, 'content', null,
        'context', null, 'direction', m.direction, 'forwarded', false,
        'timestamp', m.meta_ts, 'contact_id', m.contact_id,
        'created_at', m.created_at, 'status_times', '{}'::jsonb,
        'frequently_forwarded', false)), m.created_at
FROM m JOIN contacts c ON c.id = m.contact_id
"""

# Whether autovacuum would still pick the table, by its own rules: dead
# rows over the vacuum threshold, inserts over the insert-vacuum one (-1:
# off), changes over the analyze one; reloptions before the settings.
OWED_SQL = """
WITH t AS (
    SELECT s.relname, s.n_dead_tup, s.n_ins_since_vacuum,
        s.n_mod_since_analyze, greatest(c.reltuples, 0) AS rt,
        c.reloptions, s.last_autovacuum, s.last_autoanalyze,
        s.last_vacuum, s.last_analyze
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relname = ANY (%(tables)s)
), o AS (
    SELECT t.*, (SELECT coalesce((SELECT split_part(x, '=', 2)
        FROM unnest(t.reloptions) x WHERE split_part(x, '=', 1) = n),
        current_setting(n))::float8) AS v, n
    FROM t, unnest(ARRAY['autovacuum_vacuum_threshold',
        'autovacuum_vacuum_scale_factor',
        'autovacuum_vacuum_insert_threshold',
        'autovacuum_vacuum_insert_scale_factor',
        'autovacuum_analyze_threshold',
        'autovacuum_analyze_scale_factor']) n
), s AS (
    SELECT relname, n_dead_tup, n_ins_since_vacuum, n_mod_since_analyze, rt,
        last_autovacuum, last_autoanalyze, last_vacuum, last_analyze,
        jsonb_object_agg(n, v) AS g
    FROM o GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
)
SELECT relname, json_build_object(
    'rows', rt::bigint, 'dead', n_dead_tup,
    'inserted_since_vacuum', n_ins_since_vacuum,
    'changed_since_analyze', n_mod_since_analyze,
    'last_autovacuum', last_autovacuum, 'last_autoanalyze', last_autoanalyze,
    'last_vacuum', last_vacuum, 'last_analyze', last_analyze,
    'owes_vacuum', n_dead_tup > (g->>'autovacuum_vacuum_threshold')::float8
        + (g->>'autovacuum_vacuum_scale_factor')::float8 * rt
        OR ((g->>'autovacuum_vacuum_insert_threshold')::float8 >= 0 AND
        n_ins_since_vacuum >
        (g->>'autovacuum_vacuum_insert_threshold')::float8 +
        (g->>'autovacuum_vacuum_insert_scale_factor')::float8 * rt),
    'owes_analyze', n_mod_since_analyze >
        (g->>'autovacuum_analyze_threshold')::float8 +
        (g->>'autovacuum_analyze_scale_factor')::float8 * rt)
FROM s ORDER BY relname
"""


def connect(host, port):
    conn = psycopg2.connect(host=host, port=port, dbname="wa", user="wa")
    conn.autocommit = True
    return conn, conn.cursor()


def one(c, sql, args=None):
    c.execute(sql, args)
    return c.fetchone()[0]


def load(host, port, tenant, total, per_contact):
    conn, c = connect(host, port)
    t0 = time.monotonic()
    have = one(c, "SELECT count(*) FROM messages")
    need = total - have
    out = {"messages_before": have, "target": total}
    if need <= 0:
        out.update({"loaded": 0, "seconds": 0})
        return out
    ncontacts = max(1000, total // per_contact)
    c.execute(CONTACTS_SQL, {"t": tenant, "n": ncontacts})
    pfx = "pre%dx%d" % (int(time.time()), have)
    g = 0
    while g < need:
        n = min(BATCH, need - g)
        conn.autocommit = False
        # Numbers as any bulk writer takes them (functions/events.sql),
        # and the relay's cursor moved past them: nothing to publish.
        seq0 = one(c, "SELECT wa_event_seqs_take(%s, %s) - 1", (tenant, n))
        c.execute(BATCH_SQL, {"t": tenant, "pfx": pfx, "g0": g, "g1": g + n,
                              "total": need, "seq0": seq0})
        c.execute("INSERT INTO event_cursors (tenant_id, published)"
                  " VALUES (%(t)s, %(s)s) ON CONFLICT (tenant_id)"
                  " DO UPDATE SET published = excluded.published",
                  {"t": tenant, "s": seq0 + n})
        conn.commit()
        conn.autocommit = True
        g += n
    # The senders' times, as ingest would have left them.
    c.execute("UPDATE contacts c SET last_inbound_at = m.ts,"
              " last_activity_at = m.ts FROM (SELECT contact_id,"
              " max(meta_ts) AS ts FROM messages WHERE tenant_id = %s"
              " GROUP BY contact_id) m WHERE c.id = m.contact_id"
              " AND c.last_inbound_at < m.ts", (tenant,))
    out.update({"loaded": need, "contacts": one(
        c, "SELECT count(*) FROM contacts WHERE tenant_id = %s", (tenant,)),
        "seconds": round(time.monotonic() - t0, 1)})
    return out


def owed(c):
    c.execute(OWED_SQL, {"tables": list(TABLES)})
    return {name: st for name, st in c.fetchall()}


def settle(host, port, mode, wait_s):
    conn, c = connect(host, port)
    t0 = time.monotonic()
    if mode == "manual":
        c.execute("VACUUM (ANALYZE) " + ", ".join(TABLES))
        return {"mode": "manual: VACUUM (ANALYZE) by hand", "caught_up": True,
                "seconds": round(time.monotonic() - t0, 1), "tables": owed(c)}
    while True:
        st = owed(c)
        done = not any(v["owes_vacuum"] or v["owes_analyze"]
                       for v in st.values())
        if done or time.monotonic() - t0 > wait_s:
            break
        time.sleep(2)
    return {"mode": "auto: the product's autovacuum settings, nothing by hand",
            "caught_up": done, "seconds": round(time.monotonic() - t0, 1),
            "tables": st}


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 6 and a[0] == "load":
            out = load(a[1], a[2], a[3], int(a[4]), int(a[5]))
        elif len(a) == 5 and a[0] == "settle":
            out = settle(a[1], a[2], a[3], float(a[4]))
        else:
            sys.exit(__doc__)
    except psycopg2.Error as e:
        out = {"error": " ".join(str(e).split())[:300]}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
