-- 008_relay_wakeup.sql: events wake wa-pushd only while it sleeps.
--
-- A NOTIFY makes the notifying commit hold a database-wide lock through
-- its WAL flush, so notifying commits cannot share a flush: with one per
-- webhook, ingest throughput halved (pgbench, 8 clients, 2-core box).
-- While wa-pushd scans it holds advisory lock 4242005 ("awake"); every
-- transaction that emitted events holds 4242006 ("in flight") shared until
-- it ends. wa-pushd sleeps only after a scan that began when it was not
-- awake and nobody held "in flight" (pushd/outbox.c), so every event is
-- either in that scan or notified.

-- Called once the transaction has written events: true when it notified.
CREATE FUNCTION wa_wake_relay() RETURNS boolean LANGUAGE plpgsql AS $$
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

-- 001's wa_emit(), waking through wa_wake_relay().
CREATE OR REPLACE FUNCTION wa_emit(p_tenant uuid, p_name text, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_notified boolean;
BEGIN
	INSERT INTO events (tenant_id, name, data)
	VALUES (p_tenant, p_name, p_data);
	v_notified := wa_wake_relay();
END $$;

-- 002's wa_wh_messages() sends its own NOTIFY: the same function with that
-- one statement replaced, patched in place rather than its 200 lines
-- written out again with one line changed. It fails the migration if the
-- statement is not there, so it can never be skipped silently.
DO $$
DECLARE
	v_old	constant text := $q$PERFORM pg_notify('wa_events', '');$q$;
	v_def	text := pg_get_functiondef(
		    'wa_wh_messages(uuid, jsonb, jsonb)'::regprocedure);
BEGIN
	IF position(v_old IN v_def) = 0 THEN
		RAISE EXCEPTION 'wa_wh_messages: no "%" to replace', v_old;
	END IF;
	EXECUTE replace(v_def, v_old, 'PERFORM wa_wake_relay();');
END $$;
