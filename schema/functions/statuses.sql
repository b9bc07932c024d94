-- functions/statuses.sql: delivery reports of our outgoing messages
-- (table: message_statuses, 002_webhook.sql): each stored once, then
-- applied to its message, whose status only ever moves up. A report may
-- come before the send stored the message's wamid: the triggers at the
-- end apply it then.

-- Delivery order. failed sits between sent and delivered: it replaces
-- pending/accepted/sent (the message did not get through), while a
-- delivered/read/played report is proof it did and wins over a failed one.
CREATE OR REPLACE FUNCTION wa_status_rank(s text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE s WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1
	    WHEN 'sent' THEN 2 WHEN 'failed' THEN 3 WHEN 'delivered' THEN 4
	    WHEN 'read' THEN 5 WHEN 'played' THEN 6 END;
$$;

-- Applies the waiting statuses of one outgoing message: NULL when no such
-- message (yet), else the number of events emitted (0 or 1). The status
-- never moves down wa_status_rank; every status keeps its time in
-- status_times; a failed one keeps Meta's error.
CREATE OR REPLACE FUNCTION wa_status_apply(p_tenant uuid, p_wamid text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	v_m	messages;
	v_times	jsonb;
	v_best	text;
	v_err	jsonb;
	v_new	text;
BEGIN
	SELECT * INTO v_m FROM messages WHERE tenant_id = p_tenant AND
	    wamid = p_wamid AND direction = 'out' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	WITH claimed AS (
		UPDATE message_statuses SET applied_at = now()
		WHERE tenant_id = p_tenant AND wamid = p_wamid AND
		    applied_at IS NULL
		RETURNING status, meta_ts, raw)
	SELECT jsonb_object_agg(status, floor(extract(epoch FROM
	    coalesce(meta_ts, now())))::bigint),
	    (array_agg(status ORDER BY wa_status_rank(status) DESC NULLS LAST,
	    meta_ts DESC))[1],
	    (array_agg(raw->'errors'->0) FILTER (WHERE status = 'failed'))[1]
	INTO v_times, v_best, v_err FROM claimed;
	IF v_times IS NULL THEN
		RETURN 0;
	END IF;
	v_new := CASE WHEN coalesce(wa_status_rank(v_best), -1) >
	    coalesce(wa_status_rank(v_m.status), -1) THEN v_best
	    ELSE v_m.status END;
	UPDATE messages SET status = v_new,
	    status_times = status_times || v_times,
	    error = CASE WHEN v_times ? 'failed' THEN coalesce(
		wa_error_json(v_err), '{}') ELSE error END
	WHERE id = v_m.id;
	IF v_new IS NOT DISTINCT FROM v_m.status THEN
		RETURN 0;
	END IF;
	PERFORM wa_emit(p_tenant, 'message_status', jsonb_build_object(
	    'message_id', p_wamid, 'status', v_new,
	    'timestamp', v_times->>v_new) ||
	    CASE WHEN v_new = 'failed' THEN jsonb_build_object('error',
		coalesce(wa_error_json(v_err), '{}')) ELSE '{}' END);
	RETURN 1;
END $$;

-- statuses[] of one change: each stored once, then applied to its message.
CREATE OR REPLACE FUNCTION wa_wh_statuses(p_tenant uuid, p_sts jsonb,
    OUT n_new int, OUT n_dup int, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_valid	int;
	v_wamids text[];
	v_w	text;
	v_r	int;
BEGIN
	n_events := 0;
	SELECT count(*) INTO v_valid FROM jsonb_array_elements(p_sts) s
	WHERE jsonb_typeof(s->'id') = 'string' AND
	    jsonb_typeof(s->'status') = 'string';
	WITH ins AS (
		INSERT INTO message_statuses (tenant_id, wamid, status,
		    meta_ts, raw)
		SELECT p_tenant, s->>'id', s->>'status',
		    wa_ts(s->>'timestamp'), s
		FROM jsonb_array_elements(p_sts) s
		WHERE jsonb_typeof(s->'id') = 'string' AND
		    jsonb_typeof(s->'status') = 'string'
		ON CONFLICT DO NOTHING
		RETURNING wamid)
	SELECT count(*), array_agg(DISTINCT wamid ORDER BY wamid)
	INTO n_new, v_wamids FROM ins;
	n_dup := v_valid - n_new;
	FOREACH v_w IN ARRAY coalesce(v_wamids, '{}') LOOP
		v_r := wa_status_apply(p_tenant, v_w);
		IF v_r IS NULL THEN
			-- Not visible: maybe the send that sets this wamid is
			-- committing right now. Its trigger takes the same lock
			-- before it looks for waiting statuses, so one of us
			-- sees the other's rows.
			PERFORM pg_advisory_xact_lock(wa_lock_key(p_tenant,
			    'wamid/' || v_w));
			v_r := wa_status_apply(p_tenant, v_w);
		END IF;
		n_events := n_events + coalesce(v_r, 0);
	END LOOP;
END $$;

-- When an outgoing message gets its wamid (inserted with one, or the send
-- code's UPDATE SET wamid after Meta answered), statuses that arrived
-- first are applied. Deferred to commit, so the send's own
-- message_outgoing event comes before the message_status events.
CREATE OR REPLACE FUNCTION wa_messages_wamid_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(wa_lock_key(NEW.tenant_id,
	    'wamid/' || NEW.wamid));
	PERFORM wa_status_apply(NEW.tenant_id, NEW.wamid);
	RETURN NULL;
END $$;

-- Constraint triggers cannot be replaced (PostgreSQL 15: "CREATE OR
-- REPLACE CONSTRAINT TRIGGER is not supported"), so they are made again,
-- in the same transaction as every other function: no write to messages
-- runs without them. (DROP TRIGGER locks messages until that transaction
-- commits: a migrate waits for the writes in flight, and holds the next
-- ones for as long as the function files take to apply.)
DROP TRIGGER IF EXISTS messages_wamid_insert ON messages;
CREATE CONSTRAINT TRIGGER messages_wamid_insert AFTER INSERT ON messages
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.direction = 'out' AND NEW.wamid IS NOT NULL)
	EXECUTE FUNCTION wa_messages_wamid_set();
DROP TRIGGER IF EXISTS messages_wamid_update ON messages;
CREATE CONSTRAINT TRIGGER messages_wamid_update AFTER UPDATE OF wamid
	ON messages DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.direction = 'out' AND NEW.wamid IS NOT NULL AND
	    OLD.wamid IS DISTINCT FROM NEW.wamid)
	EXECUTE FUNCTION wa_messages_wamid_set();
