-- functions/events.sql: the outbox (tables: 001_init.sql, 003_realtime.sql).
-- Every change a client must hear of writes an event in its own
-- transaction (wa_emit, or a set-based INSERT INTO events that calls
-- wa_wake_relay() as wa_emit does); wa-pushd numbers and relays them
-- (pushd/outbox.c), and clients receive each as wa_event_frame() builds it.

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
