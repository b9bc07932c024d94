-- functions/events.sql: the outbox (tables: 001_init.sql, 003_realtime.sql,
-- 014_events_numbered_at_insert.sql). Every change a client must hear of
-- writes an event in its own transaction (wa_emit, or a set-based INSERT
-- INTO events that calls wa_wake_relay() as wa_emit does). Each event gets
-- its tenant's next seq as it is written (below); wa-pushd relays them in
-- that order (pushd/outbox.c), and clients receive each as
-- wa_event_frame() builds it.

-- Numbering. A transaction takes p_n numbers from its tenant's counter
-- and keeps the counter row locked until it ends, so the tenant's events
-- commit in seq order: whoever sees seq N sees every seq below it (the
-- relay and the catch-up API read up to event_counters.last_seq, never
-- past a hole). The price is that two transactions writing events for
-- one tenant commit one after the other; each takes its numbers as late
-- as it can (the events are the last thing most functions write), and the
-- batched ingest path takes one range for a whole batch.
--
-- Returns the first of the p_n numbers.
CREATE OR REPLACE FUNCTION wa_event_seqs_take(p_tenant uuid, p_n int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	v_last	bigint;
BEGIN
	UPDATE event_counters SET last_seq = last_seq + p_n
	WHERE tenant_id = p_tenant RETURNING last_seq INTO v_last;
	IF NOT FOUND THEN	-- the tenant's first event
		INSERT INTO event_counters (tenant_id) VALUES (p_tenant)
		ON CONFLICT (tenant_id) DO NOTHING;
		UPDATE event_counters SET last_seq = last_seq + p_n
		WHERE tenant_id = p_tenant RETURNING last_seq INTO v_last;
	END IF;
	RETURN v_last - p_n + 1;
END $$;

-- An event inserted without a seq gets the next one, row by row in
-- insertion order (wa_emit, and set-based inserts of a few rows); the
-- batched ingest path numbers its rows itself, one range per batch.
CREATE OR REPLACE FUNCTION wa_event_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.seq := wa_event_seqs_take(NEW.tenant_id, 1);
	RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER events_number BEFORE INSERT ON events
FOR EACH ROW WHEN (NEW.seq IS NULL) EXECUTE FUNCTION wa_event_number();

-- Events wake wa-pushd only while it sleeps. A NOTIFY makes the notifying
-- commit hold a database-wide lock through its WAL flush, so notifying
-- commits cannot share a flush: with one per webhook, ingest throughput
-- halved (pgbench, 8 clients, 2-core box). While wa-pushd scans it holds
-- advisory lock 4242005 ("awake"); every transaction that emitted events
-- holds 4242006 ("in flight") shared until it ends. wa-pushd sleeps only
-- after a scan that began when it was not awake and nobody held "in
-- flight" (pushd/outbox.c), so every event is either in that scan or
-- notified.
--
-- Called once the transaction has written events: true when it notified.
CREATE OR REPLACE FUNCTION wa_wake_relay() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	v_void	boolean;
BEGIN
	-- Assignments, not PERFORM: simple expressions, no query to set up.
	v_void := pg_advisory_xact_lock_shared(4242006) IS NULL;
	-- A test, not a hold: wa-pushd must be able to take "awake" at once.
	IF pg_try_advisory_lock_shared(4242005) THEN
		v_void := pg_advisory_unlock_shared(4242005);
		v_void := pg_notify('wa_events', '') IS NULL;
		RETURN true;
	END IF;
	RETURN false;
END $$;

-- Emits an event: the row, and a wake-up for wa-pushd (above).
-- PL/pgSQL, not SQL: a SQL function that cannot be inlined (an INSERT
-- cannot) is parsed and planned again on every call, which cost more than
-- the insert itself; PL/pgSQL keeps its statements' plans for the session.
CREATE OR REPLACE FUNCTION wa_emit(p_tenant uuid, p_name text, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_notified boolean;
BEGIN
	INSERT INTO events (tenant_id, name, data)
	VALUES (p_tenant, p_name, p_data);
	v_notified := wa_wake_relay();
END $$;

-- The frame clients receive, over the WebSocket and from
-- GET /api/v1/events alike: {"id": seq, "event": name, "data": {...}}.
-- One definition, so both paths send the same bytes.
CREATE OR REPLACE FUNCTION wa_event_frame(p_seq bigint, p_name text,
    p_data jsonb)
RETURNS text LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
	SELECT '{"id":' || p_seq || ',"event":' || to_json(p_name)::text ||
	    ',"data":' || p_data::text || '}';
$$;

-- The relay's next batch (pushd/outbox.c): for each tenant whose counter
-- is past what nginx acknowledged (event_cursors.published) or, while a
-- batch fetched ahead is still being published, past that batch
-- (p_tenants/p_seqs: the last seq fetched per tenant), the next events in
-- seq order, as frames. Tenants take turns (every tenant's first event,
-- then every second...), so a busy one delays no other by more than a
-- batch. Reads only: whatever it returns was committed with every seq
-- below it.
--
-- Plans: a generic one, made once per session (planning cost more than
-- running it: ~0.3 ms against ~0.4 ms for 16 events), and never a
-- sequential scan of events, even if the plan was made while the table
-- was empty. Set here, not for wa-pushd's whole session: its other
-- statements (ended WebSocket sessions, poll deadlines) want a scan, and
-- with scans off one of them took ~150 ms and held the relay up.
CREATE OR REPLACE FUNCTION wa_relay_fetch(p_tenants uuid[], p_seqs bigint[],
    p_limit int)
RETURNS TABLE (tenant_id uuid, seq bigint, event text, frame text)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
	RETURN QUERY
	SELECT n.tenant_id, e.seq, to_json(e.name)::text,
	    wa_event_frame(e.seq, e.name, e.data)
	FROM event_counters n
	LEFT JOIN event_cursors c ON c.tenant_id = n.tenant_id
	LEFT JOIN unnest(p_tenants, p_seqs) AS f(tenant_id, seq)
	    ON f.tenant_id = n.tenant_id
	CROSS JOIN LATERAL (SELECT x.seq, x.name, x.data FROM events x
	    WHERE x.tenant_id = n.tenant_id
	    AND x.seq > greatest(c.published, f.seq, 0)
	    AND x.seq <= n.last_seq ORDER BY x.seq LIMIT p_limit) e
	WHERE n.last_seq > greatest(c.published, f.seq, 0)
	ORDER BY e.seq - greatest(c.published, f.seq, 0), n.tenant_id
	LIMIT p_limit;
END $$;
