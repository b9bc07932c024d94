-- functions/ingest.sql: a webhook body in, its rows out. The entry point,
-- wa_webhook_ingest(), is the responder's one round trip (fcgi/webhook.c)
-- for every body its C reader leaves to it (plain chat messages are
-- stored in batches: functions/ingest_batch.sql), and what `wactl webhook
-- replay` calls. It walks the body here, the general path (and the
-- reference the batched path must match): every entry x change, routed to
-- its tenant by
-- phone_number_id, each value's parts handed to the file of their kind
-- (contacts.sql, edits.sql, messages.sql, reactions.sql, statuses.sql),
-- and whatever cannot be placed kept whole in webhook_log.
--
-- Exactly once: every row is inserted under a unique constraint
-- (002_webhook.sql), and events are emitted only for rows that changed.

-- The summary of nothing done (wa_wh_counts: 002_webhook.sql).
CREATE OR REPLACE FUNCTION wa_wh_zero() RETURNS wa_wh_counts
LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(0, 0, 0, 0, 0, 0, 0, 0)::wa_wh_counts;
$$;

-- PL/pgSQL: as SQL it could not be inlined (each argument is used eight
-- times and is usually a function call), and a SQL function that is not
-- inlined is parsed and planned again on every call.
CREATE OR REPLACE FUNCTION wa_wh_sum(a wa_wh_counts, b wa_wh_counts)
RETURNS wa_wh_counts LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN ROW(a.messages + b.messages, a.statuses + b.statuses,
	    a.reactions + b.reactions, a.edits + b.edits,
	    a.duplicates + b.duplicates, a.events + b.events,
	    a.logged + b.logged, a.unplaced + b.unplaced)::wa_wh_counts;
END $$;

-- Keeps something we could not place (counted as unplaced unless p_done:
-- kept for audit only); nothing is written when replaying, as the row
-- being replayed already holds it.
CREATE OR REPLACE FUNCTION wa_webhook_log(p_reason text, p_pnid text,
    p_tenant uuid, p_body jsonb, p_detail text, p_replay boolean,
    p_done boolean DEFAULT false, p_unplaced int DEFAULT 1)
RETURNS wa_wh_counts LANGUAGE plpgsql AS $$
DECLARE
	v_c	wa_wh_counts := wa_wh_zero();
BEGIN
	v_c.unplaced := CASE WHEN p_done THEN 0 ELSE p_unplaced END;
	IF p_replay THEN
		RETURN v_c;
	END IF;
	INSERT INTO webhook_log (reason, phone_number_id, tenant_id, body,
	    detail, processed_at)
	VALUES (p_reason, p_pnid, p_tenant, p_body, p_detail,
	    CASE WHEN p_done THEN now() END);
	v_c.logged := 1;
	RETURN v_c;
END $$;

-- Items of a value's arrays we cannot place: arrays of another shape (a
-- string, an object; null is the same as absent) and items without what
-- identifies them. It runs for every change, so it is PL/pgSQL walking
-- the arrays with simple expressions (no query, nothing parsed per call):
-- as a SQL function its subqueries kept it from being inlined, and it was
-- parsed and planned again on every webhook.
CREATE OR REPLACE FUNCTION wa_wh_bad_items(v jsonb) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	v_n	int := 0;
	v_a	jsonb;
	v_e	jsonb;
BEGIN
	IF wa_arr(v->'errors') IS NULL THEN
		v_n := v_n + 1;
	END IF;
	v_a := wa_arr(v->'messages');
	IF v_a IS NULL THEN
		v_n := v_n + 1;
	ELSE
		FOR i IN 0 .. jsonb_array_length(v_a) - 1 LOOP
			v_e := v_a->i;
			IF NOT wa_msg_ok(v_e) THEN
				v_n := v_n + 1;
			END IF;
		END LOOP;
	END IF;
	v_a := wa_arr(v->'statuses');
	IF v_a IS NULL THEN
		v_n := v_n + 1;
	ELSE
		FOR i IN 0 .. jsonb_array_length(v_a) - 1 LOOP
			v_e := v_a->i;
			IF jsonb_typeof(v_e->'id') IS DISTINCT FROM 'string' OR
			    jsonb_typeof(v_e->'status') IS DISTINCT FROM
			    'string' THEN
				v_n := v_n + 1;
			END IF;
		END LOOP;
	END IF;
	v_a := wa_arr(v->'contacts');
	IF v_a IS NULL THEN
		v_n := v_n + 1;
	ELSE
		FOR i IN 0 .. jsonb_array_length(v_a) - 1 LOOP
			v_e := v_a->i;
			IF jsonb_typeof(v_e->'wa_id') IS DISTINCT FROM
			    'string' AND jsonb_typeof(v_e->'user_id') IS
			    DISTINCT FROM 'string' THEN
				v_n := v_n + 1;
			END IF;
		END LOOP;
	END IF;
	RETURN v_n;
END $$;

-- The value of one `messages` change of a tenant's number. Each part runs
-- only when the value has items of its kind: a typical body is one message
-- or one status, and every part costs queries even on an empty array.
CREATE OR REPLACE FUNCTION wa_wh_value(p_tenant uuid, p_value jsonb)
RETURNS wa_wh_counts LANGUAGE plpgsql AS $$
DECLARE
	v_c	wa_wh_counts := wa_wh_zero();
	v_msgs	jsonb := coalesce(wa_arr(p_value->'messages'), '[]');
	v_cts	jsonb := coalesce(wa_arr(p_value->'contacts'), '[]');
	v_sts	jsonb := coalesce(wa_arr(p_value->'statuses'), '[]');
	v_type	text;
	v_edits	boolean := false;	-- edit or revoke items
	v_reacts boolean := false;	-- reaction items
	v_bubbles boolean := false;	-- anything else
	v_r	record;
BEGIN
	FOR i IN 0 .. jsonb_array_length(v_msgs) - 1 LOOP
		v_type := v_msgs->i->>'type';
		IF v_type IN ('edit', 'revoke') THEN
			v_edits := true;
		ELSIF v_type = 'reaction' THEN
			v_reacts := true;
		ELSE
			v_bubbles := true;
		END IF;
	END LOOP;
	IF jsonb_array_length(v_cts) > 0 THEN
		PERFORM wa_wh_contacts_refresh(p_tenant, v_cts);
	END IF;
	-- Edits first: one whose original comes later in this body waits
	-- for it under the lock wa_wh_messages takes (see there).
	IF v_edits THEN
		v_r := wa_wh_edits(p_tenant, v_msgs);
		v_c.edits := v_r.n_new;
		v_c.duplicates := v_r.n_dup;
		v_c.events := v_r.n_events;
	END IF;
	IF v_bubbles THEN
		v_r := wa_wh_messages(p_tenant, v_msgs, v_cts);
		v_c.messages := v_r.n_new;
		v_c.duplicates := v_c.duplicates + v_r.n_dup;
		v_c.events := v_c.events + v_r.n_events;
	END IF;
	IF v_reacts THEN
		v_r := wa_wh_reactions(p_tenant, v_msgs);
		v_c.reactions := v_r.n_new;
		v_c.duplicates := v_c.duplicates + v_r.n_dup;
		v_c.events := v_c.events + v_r.n_events;
	END IF;
	IF jsonb_array_length(v_sts) > 0 THEN
		v_r := wa_wh_statuses(p_tenant, v_sts);
		v_c.statuses := v_r.n_new;
		v_c.duplicates := v_c.duplicates + v_r.n_dup;
		v_c.events := v_c.events + v_r.n_events;
	END IF;
	RETURN v_c;
END $$;

-- One change of an entry as a body of its own, which replay can ingest.
CREATE OR REPLACE FUNCTION wa_wh_one(p_object jsonb, p_entry jsonb,
    p_change jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('object', p_object, 'entry',
	    jsonb_build_array((p_entry - 'changes') ||
	    jsonb_build_object('changes', jsonb_build_array(p_change))));
$$;

-- One change of an entry: routed to its tenant by phone_number_id, or
-- logged whole (wa_wh_one, built only then) when it cannot be placed.
CREATE OR REPLACE FUNCTION wa_wh_change(p_object jsonb, p_entry jsonb,
    p_change jsonb, p_replay boolean) RETURNS wa_wh_counts
LANGUAGE plpgsql AS $$
DECLARE
	v_value	jsonb := p_change->'value';
	v_pnid	text := p_change->'value'->'metadata'->>'phone_number_id';
	v_tenant uuid;
	v_bad	int;
	v_c	wa_wh_counts := wa_wh_zero();
BEGIN
	IF jsonb_typeof(v_value) IS DISTINCT FROM 'object' THEN
		RETURN wa_webhook_log('bad_shape', v_pnid, NULL,
		    wa_wh_one(p_object, p_entry, p_change),
		    'a change without a value object', p_replay);
	ELSIF p_change->>'field' IS DISTINCT FROM 'messages' THEN
		-- Meta: acknowledge fields you do not handle.
		RETURN wa_webhook_log('unknown_field', v_pnid, NULL,
		    wa_wh_one(p_object, p_entry, p_change),
		    p_change->>'field', p_replay);
	ELSIF v_pnid IS NULL THEN
		RETURN wa_webhook_log('bad_shape', NULL, NULL,
		    wa_wh_one(p_object, p_entry, p_change),
		    'no metadata.phone_number_id', p_replay);
	END IF;
	SELECT id INTO v_tenant FROM tenants WHERE phone_number_id = v_pnid;
	IF v_tenant IS NULL THEN
		-- Never a default tenant: kept until `wactl webhook replay`.
		RETURN wa_webhook_log('unknown_number', v_pnid, NULL,
		    wa_wh_one(p_object, p_entry, p_change),
		    NULL, p_replay);
	END IF;
	v_bad := wa_wh_bad_items(v_value);
	IF v_bad > 0 THEN
		v_c := wa_webhook_log('bad_item', v_pnid, v_tenant,
		    wa_wh_one(p_object, p_entry, p_change),
		    v_bad || ' item(s) of an unknown shape', p_replay, false,
		    v_bad);
	END IF;
	-- System, app or account errors: kept for audit.
	IF jsonb_array_length(coalesce(wa_arr(v_value->'errors'), '[]')) > 0
	    THEN
		v_c := wa_wh_sum(v_c, wa_webhook_log('errors', v_pnid,
		    v_tenant, wa_wh_one(p_object, p_entry, p_change), NULL,
		    p_replay, true));
	END IF;
	RETURN wa_wh_sum(v_c, wa_wh_value(v_tenant, v_value));
END $$;

-- The general path for a whole body: stores every entry x change x
-- messages/statuses/errors of the body in the caller's transaction and
-- returns wa_wh_counts as a JSON object:
--   {"messages", "statuses", "reactions", "edits", "duplicates",
--    "events", "logged", "unplaced"}
-- It never raises for the body's content: a shape it cannot place is
-- logged (and counted), and a data error anywhere rolls back the partial
-- work and logs the whole body as ingest_error. It raises only for what a
-- retry may cure (lost connection, deadlock, serialization, resources),
-- so the responder answers 5xx and Meta retries. With replay, nothing is
-- logged again. wa_webhook_ingest() below is the entry point; this is
-- the general path alone (tests compare the batched path with it), with
-- the same plan settings (see there).
CREATE OR REPLACE FUNCTION wa_webhook_ingest_general(p_body jsonb,
    p_replay boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	v_c	wa_wh_counts := wa_wh_zero();
	v_entries jsonb := p_body->'entry';
	v_entry	jsonb;
	v_changes jsonb;
	v_state	text;
	v_text	text;
BEGIN
	IF jsonb_typeof(p_body->'entry') IS DISTINCT FROM 'array' THEN
		v_c := wa_webhook_log('bad_shape', NULL, NULL, p_body,
		    'the body is not {"entry": [...]}', p_replay);
	ELSIF p_body->>'object' IS DISTINCT FROM 'whatsapp_business_account'
	    THEN
		v_c := wa_webhook_log('unknown_object', NULL, NULL, p_body,
		    p_body->>'object', p_replay);
	END IF;
	IF v_c.unplaced > 0 THEN
		RETURN to_jsonb(v_c);
	END IF;
	BEGIN
		-- By index rather than FOR ... IN SELECT: no query to set up.
		FOR i IN 0 .. jsonb_array_length(v_entries) - 1 LOOP
			v_entry := v_entries->i;
			v_changes := v_entry->'changes';
			IF jsonb_typeof(v_changes) IS DISTINCT FROM
			    'array' THEN
				v_c := wa_wh_sum(v_c, wa_webhook_log(
				    'bad_shape', NULL, NULL, jsonb_build_object(
				    'object', p_body->'object', 'entry',
				    jsonb_build_array(v_entry)),
				    'an entry without changes[]', p_replay));
				CONTINUE;
			END IF;
			FOR j IN 0 .. jsonb_array_length(v_changes) - 1 LOOP
				v_c := wa_wh_sum(v_c, wa_wh_change(
				    p_body->'object', v_entry, v_changes->j,
				    p_replay));
			END LOOP;
		END LOOP;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
		    v_text = MESSAGE_TEXT;
		-- What a retry may cure goes back to the caller: 5xx, Meta
		-- retries. Anything else is about this body: keep it whole.
		IF wa_sqlstate_retryable(v_state) THEN
			RAISE;
		END IF;
		v_c := wa_webhook_log('ingest_error', NULL, NULL, p_body,
		    v_state || ': ' || v_text, p_replay);
	END;
	RETURN to_jsonb(v_c);
END $$;

-- The contract (the responder's one round trip, and wactl's replay):
--   SELECT wa_webhook_ingest(body::jsonb [, replay])
-- stores the body with wa_webhook_ingest_general(), then lets polls see
-- the messages just stored (functions/poll.sql: the trigger there notes
-- them). The summary
-- is the general path's, plus "polls_to_send" when a poll's question is to
-- be sent by the caller.
--
-- Plans. Everything it runs (the general path, polls, and the triggers
-- and foreign-key checks they fire) runs with the two
-- settings below, which hold for the call and whatever it calls.
-- PostgreSQL CPU per text webhook in one session, from /proc (a 2-core box
-- shared with other work, hence ranges over 3-6 runs):
--
--                                 3,000 into tables   then with 200,000
--                                 analyzed empty      messages, analyzed
--   generic (as 002-009 had it)   980-1,120 us        570-740 us
--   generic, seqscan off (these)  630-880 us          540-740 us
--   custom (force_custom_plan)    2,260-2,550 us      2,830-2,850 us
--   PostgreSQL's default (auto)   1,020-1,320 us      570-910 us
--
-- Generic: each statement is planned once per session. Planning them on
-- every call costs three times the work. The default plans five times,
-- then keeps the generic plan when it looks no dearer: so it did for 009's
-- one-statement path, but the general path's event insert (its ids come as an
-- array) was planned again on every call (pg_stat_statements: 1,501 plans
-- in 1,500 calls, 0.3 ms each), and a button reply cost 1,550-1,690 us
-- against 1,280-1,510 us with generic plans forced.
--
-- Sequential scans off: a generic plan is made on whatever the tables
-- held then, and kept until one of them is analyzed again. Made on tables
-- analyzed empty (as autovacuum or an ANALYZE can leave them), these
-- lookups read their tables sequentially (auto_explain): the contact
-- upsert's "is this message new" probe of messages, the foreign-key check
-- of contacts, tenants, the /poll trigger's probe of polls, the probe of
-- message_updates. Those first 3,000 webhooks read messages sequentially
-- 2,000 times (4 million rows) and contacts 3,000 times, and each read
-- grows with the table until the next ANALYZE. Every statement here finds
-- its rows by a key with an index, so an index scan is right at any size.
-- With it: no sequential scan of messages, contacts or events from an
-- empty database to 200,000 messages (tests/e2e/test_ingest_plans.py).
CREATE OR REPLACE FUNCTION wa_webhook_ingest(p_body jsonb,
    p_replay boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	v_s	jsonb;
	v_r	record;
	v_text	text;
BEGIN
	-- An assignment, not PERFORM: a simple expression, no query to run.
	v_text := set_config('wa.poll_msgs', '', true);
	v_s := wa_webhook_ingest_general(p_body, p_replay);
	IF current_setting('wa.poll_msgs', true) = '' THEN
		RETURN v_s;
	END IF;
	v_r := wa_poll_ingested_or_warn();
	IF v_r.n_events IS NULL THEN
		RETURN v_s;
	END IF;
	v_s := jsonb_set(v_s, '{events}', to_jsonb(coalesce(
	    (v_s->>'events')::int, 0) + v_r.n_events));
	IF jsonb_array_length(v_r.to_send) > 0 THEN
		v_s := v_s || jsonb_build_object('polls_to_send', v_r.to_send);
	END IF;
	RETURN v_s;
END $$;

-- Several bodies, each exactly as wa_webhook_ingest() stores it, in one
-- transaction: the responders group the bodies their C parser leaves to
-- this path (fcgi/ingest_batch.c), so they share a commit and take their
-- tenant's event counter once (functions/events.sql) instead of once per
-- body, one after the other. Each body's summary, in order. A body that
-- fails here fails them all; the responder then stores each alone.
CREATE OR REPLACE FUNCTION wa_webhook_ingest_many(p_bodies jsonb[])
RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_body	jsonb;
BEGIN
	FOREACH v_body IN ARRAY p_bodies LOOP
		RETURN NEXT wa_webhook_ingest(v_body);
	END LOOP;
END $$;

-- Re-ingests one webhook_log row (e.g. once its number's tenant exists)
-- and marks it processed when everything in it could be placed. Safe to
-- run twice or concurrently: the row is locked and ingestion is exactly
-- once. Returns the ingest counts plus {"id", "result"}: processed |
-- unplaced | already_processed | not_json | not_found.
CREATE OR REPLACE FUNCTION wa_webhook_replay(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_l	webhook_log;
	v_s	jsonb;
BEGIN
	SELECT * INTO v_l FROM webhook_log WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('id', p_id, 'result', 'not_found');
	ELSIF v_l.processed_at IS NOT NULL THEN
		RETURN jsonb_build_object('id', p_id,
		    'result', 'already_processed');
	ELSIF v_l.body IS NULL THEN
		RETURN jsonb_build_object('id', p_id, 'result', 'not_json');
	END IF;
	v_s := wa_webhook_ingest(v_l.body, true);
	UPDATE webhook_log SET attempts = attempts + 1,
	    processed_at = CASE WHEN (v_s->>'unplaced')::int = 0 THEN now() END,
	    tenant_id = coalesce(tenant_id, (SELECT t.id FROM tenants t
		WHERE t.phone_number_id = v_l.phone_number_id))
	WHERE id = p_id;
	RETURN jsonb_build_object('id', p_id, 'result',
	    CASE WHEN (v_s->>'unplaced')::int = 0 THEN 'processed'
	    ELSE 'unplaced' END) || v_s;
END $$;
