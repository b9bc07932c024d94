-- ingest_batch.sql: the responders' batched path for incoming chat
-- messages (fcgi/ingest_batch.c). The responder parses each signed body in
-- C (shared/wh_parse.c); bodies made only of chat messages from senders
-- known by phone are queued, and one call below stores the messages of up
-- to a few dozen bodies in one transaction: one commit, one WAL flush and
-- one executor set-up for all of them, instead of one per body. Anything
-- else (statuses, reactions, edits, replies, BSUIDs, errors, unknown
-- fields) takes wa_webhook_ingest(), the general path, which is also the
-- reference this path must match (tests/e2e/test_webhook_equivalence.py).
--
-- The arrays are parallel, one element per message, in the order the
-- bodies arrived. Every message of a body has the same phone_number_id,
-- so a body is placed whole or not at all (an unknown number: the
-- responder gives that body to the general path, which logs it).
--
-- Same rows, events and summary as the general path:
--  * exactly once by UNIQUE (tenant_id, wamid): a message already stored
--    (Meta's retry, or twice in one batch) is a duplicate: no row, no
--    event, the sender's times untouched;
--  * a profile name refreshes the contact on every delivery, duplicates
--    included (the last name given wins, as value.contacts[] is applied
--    in order by the general path);
--  * a sender with new messages gets last_inbound_at (Meta's time, not
--    for system notices) and last_activity_at moved forward;
--  * one message_incoming event per new message, in arrival order, then
--    edits or deletions that were waiting for these messages, then polls.
--
-- Returns, per message: new (-1 its number has no tenant, 0 a duplicate,
-- 1 stored now) and more (events beyond its own message_incoming: edits
-- that waited for it, polls); and the polls whose question the responder
-- must now send, with the message each came from (poll_of). The
-- responder sums these into each body's summary.
--
-- Plans: generic ones, made once per session, and never a sequential
-- scan, whatever the statistics said when they were made. Measured
-- (perf, 32 connections, batches of ~8): with PostgreSQL's default the
-- array arguments made every call plan afresh (a third of the CPU), and a
-- plan made while messages was small hashed the whole table on every
-- batch. Every lookup here has its index, so no scan is ever the better
-- plan once the tables hold data; the settings apply to what this calls
-- too (foreign key checks, triggers).
CREATE OR REPLACE FUNCTION wa_ingest_batch(p_pnid text[],
    p_wamid text[], p_from text[], p_uid text[], p_name text[],
    p_type text[], p_text text[], p_media_id text[], p_media_mime text[],
    p_media_sha256 text[], p_media_filename text[], p_content jsonb[],
    p_context text[], p_forwarded boolean[], p_freq boolean[],
    p_ts bigint[], p_raw jsonb[],
    OUT new int[], OUT more int[], OUT polls bigint[], OUT poll_of int[])
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	v_pn	text[];		-- the numbers of the batch that have a tenant
	v_tid	uuid[];		-- ... and their tenants
	v_ids	bigint[];	-- the stored messages
	v_ords	int[];		-- ... and their place in the batch
	v_pending boolean;	-- edits or deletions were waiting for them
	v_u	record;
BEGIN
	-- Tenants, each locked shared (in one order, so batches never wait
	-- on each other here) before the statement below takes its
	-- snapshot: an edit stored earlier (wa_wh_edits locks exclusively)
	-- is then seen by the pending-updates probe, or the edit's own
	-- transaction sees our message.
	SELECT array_agg(t.phone_number_id ORDER BY t.id),
	    array_agg(t.id ORDER BY t.id)
	INTO v_pn, v_tid FROM (SELECT t.id, t.phone_number_id,
	    pg_advisory_xact_lock_shared(wa_lock_key(t.id, 'updates'))
	    FROM tenants t WHERE t.phone_number_id = ANY (p_pnid)
	    ORDER BY t.id) t;
	more := array_fill(0, ARRAY[cardinality(p_wamid)]);
	IF v_pn IS NULL THEN
		new := array_fill(-1, ARRAY[cardinality(p_wamid)]);
		RETURN;
	END IF;
	SELECT s.new, s.ids, s.ords, s.pending
	INTO new, v_ids, v_ords, v_pending
	FROM wa_ingest_batch_store(p_pnid, p_wamid, p_from, p_uid, p_name,
	    p_type,
	    p_text, p_media_id, p_media_mime, p_media_sha256,
	    p_media_filename, p_content, p_context, p_forwarded, p_freq,
	    p_ts, p_raw, v_pn, v_tid) s;
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	-- Rare: each a statement only when there is something to do.
	IF v_pending THEN
		FOR v_u IN SELECT * FROM wa_ingest_batch_pending(v_ids, v_ords)
		    LOOP
			more[v_u.ord] := more[v_u.ord] + v_u.events;
		END LOOP;
	END IF;
	IF coalesce(current_setting('wa.poll_msgs', true), '') <> '' THEN
		FOR v_u IN SELECT * FROM wa_ingest_batch_polls(v_ids, v_ords)
		    LOOP
			more[v_u.ord] := more[v_u.ord] + v_u.events;
			IF v_u.poll IS NOT NULL THEN
				polls := polls || v_u.poll;
				poll_of := poll_of || v_u.ord;
			END IF;
		END LOOP;
	END IF;
END $$;

-- The statement that does the work: contacts, messages, media, events.
-- Returns, per message of the batch, 1 when it was stored now (0 for a
-- duplicate or an unplaced one), and the ids of the stored rows.
CREATE OR REPLACE FUNCTION wa_ingest_batch_store(
    p_pnid text[], p_wamid text[], p_from text[], p_uid text[],
    p_name text[],
    p_type text[], p_text text[], p_media_id text[], p_media_mime text[],
    p_media_sha256 text[], p_media_filename text[], p_content jsonb[],
    p_context text[], p_forwarded boolean[], p_freq boolean[],
    p_ts bigint[], p_raw jsonb[], p_pn text[], p_tid uuid[],
    OUT new int[], OUT ids bigint[], OUT ords int[], OUT pending boolean)
LANGUAGE plpgsql AS $$
DECLARE
	v_notified boolean;
BEGIN
	WITH i AS (
		SELECT u.*, t.tid FROM unnest(p_pnid, p_wamid, p_from, p_uid,
		    p_name, p_type, p_text, p_media_id, p_media_mime,
		    p_media_sha256, p_media_filename, p_content, p_context,
		    p_forwarded, p_freq, p_ts, p_raw) WITH ORDINALITY AS
		    u(pnid, wamid, wa, uid, name, type, text, media_id,
		    media_mime, media_sha256, media_filename, content,
		    context, forwarded, freq, ts, raw, ord)
		JOIN unnest(p_pn, p_tid) AS t(pn, tid) ON t.pn = u.pnid
	), fresh AS (
		-- Not stored yet (as far as this snapshot knows: a twin
		-- committed since is caught by the insert's ON CONFLICT).
		SELECT i.* FROM i WHERE NOT EXISTS (SELECT 1 FROM messages o
		    WHERE o.tenant_id = i.tid AND o.wamid = i.wamid)
	), senders AS (
		SELECT i.tid, i.wa,
		    (array_agg(i.uid ORDER BY i.ord)
			FILTER (WHERE i.uid IS NOT NULL))[1] AS uid,
		    (array_agg(i.name ORDER BY i.ord DESC)
			FILTER (WHERE i.name IS NOT NULL))[1] AS name,
		    bool_or(f.ord IS NOT NULL) AS has_new,
		    max(to_timestamp(f.ts)) FILTER (WHERE f.type <> 'system')
			AS inbound
		FROM i LEFT JOIN fresh f ON f.ord = i.ord
		GROUP BY i.tid, i.wa
	), renamed AS (
		-- A duplicate's profile name and BSUID, as the general path
		-- applies them.
		UPDATE contacts c SET name = coalesce(s.name, c.name),
		    user_id = coalesce(c.user_id, s.uid)
		FROM senders s
		WHERE NOT s.has_new AND c.tenant_id = s.tid AND
		    c.wa_id = s.wa AND (c.name IS DISTINCT FROM
		    coalesce(s.name, c.name) OR (c.user_id IS NULL AND
		    s.uid IS NOT NULL))
	), c AS (
		-- A BSUID another contact already has (one known by BSUID
		-- alone, say) breaks contacts_tenant_user_id here: the batch
		-- is then undone and each body stored by the general path,
		-- which resolves such contacts one by one.
		INSERT INTO contacts AS x (tenant_id, wa_id, user_id, name,
		    last_inbound_at)
		SELECT s.tid, s.wa, s.uid, s.name, s.inbound FROM senders s
		WHERE s.has_new ORDER BY s.tid, s.wa
		ON CONFLICT (tenant_id, wa_id) WHERE wa_id IS NOT NULL
		DO UPDATE SET name = coalesce(excluded.name, x.name),
		    user_id = coalesce(x.user_id, excluded.user_id),
		    last_inbound_at = greatest(x.last_inbound_at,
			excluded.last_inbound_at),
		    last_activity_at = greatest(x.last_activity_at, now())
		RETURNING x
	), m AS (
		INSERT INTO messages AS y (tenant_id, contact_id, wamid,
		    direction, type, text, media_id, media_mime, media_sha256,
		    media_filename, content, context_wamid, forwarded,
		    frequently_forwarded, status, meta_ts, raw)
		SELECT f.tid, (c.x).id, f.wamid, 'in', f.type, f.text,
		    f.media_id, f.media_mime, f.media_sha256,
		    f.media_filename, f.content, f.context, f.forwarded,
		    f.freq, 'received', to_timestamp(f.ts), f.raw
		FROM fresh f JOIN c ON (c.x).tenant_id = f.tid AND
		    (c.x).wa_id = f.wa
		ORDER BY f.ord
		ON CONFLICT (tenant_id, wamid) DO NOTHING
		RETURNING y
	), md AS (
		INSERT INTO media (tenant_id, wa_media_id, kind, filename,
		    mime_type, sha256, direction)
		SELECT (m.y).tenant_id, (m.y).media_id,
		    CASE (m.y).type WHEN 'voice' THEN 'audio'
			ELSE (m.y).type END,
		    (m.y).media_filename,
		    coalesce((m.y).media_mime, 'application/octet-stream'),
		    (m.y).media_sha256, 'in'
		FROM m WHERE (m.y).media_id IS NOT NULL ORDER BY (m.y).id
		ON CONFLICT (tenant_id, wa_media_id) DO NOTHING
	), seqs AS (
		-- One range of numbers per tenant for the whole batch
		-- (functions/events.sql), taken in tenant order so two
		-- batches never wait on each other's counters in a circle.
		SELECT n.tid, wa_event_seqs_take(n.tid, n.n) AS first
		FROM (SELECT (m.y).tenant_id AS tid, count(*)::int AS n
		    FROM m GROUP BY 1 ORDER BY 1) n
	), e AS (
		INSERT INTO events (tenant_id, seq, name, data)
		SELECT (m.y).tenant_id, s.first - 1 + row_number() OVER (
		    PARTITION BY (m.y).tenant_id ORDER BY (m.y).id),
		    'message_incoming', jsonb_build_object(
		    'phone', '+' || (c.x).wa_id,
		    'name', (c.x).name,
		    'contact', wa_contact_json(c.x),
		    'message', wa_message_json(m.y, '+' || (c.x).wa_id))
		FROM m JOIN c ON (c.x).id = (m.y).contact_id
		JOIN seqs s ON s.tid = (m.y).tenant_id
		ORDER BY (m.y).id
	)
	-- Per message: -1 no tenant, 0 a duplicate (stored before, or
	-- earlier in this batch), 1 stored now.
	SELECT array_agg(CASE WHEN s.tid IS NULL THEN -1
		WHEN s.id IS NOT NULL AND s.first THEN 1 ELSE 0 END
		ORDER BY s.ord),
	    coalesce(array_agg(s.id ORDER BY s.ord) FILTER (WHERE
		s.id IS NOT NULL AND s.first), '{}'),
	    coalesce(array_agg(s.ord ORDER BY s.ord) FILTER (WHERE
		s.id IS NOT NULL AND s.first), '{}'),
	    -- Edits or deletions that came first (a probe of a small partial
	    -- index; the rows are read only when there are some).
	    coalesce(bool_or(s.id IS NOT NULL AND EXISTS (SELECT 1
		FROM message_updates u WHERE u.tenant_id = s.tid AND
		u.target_wamid = s.wamid AND u.applied_at IS NULL)), false)
	INTO new, ids, ords, pending
	FROM (SELECT u.ord::int, i.tid, u.wamid, (m.y).id,
		u.ord = min(u.ord) OVER (PARTITION BY i.tid, u.wamid) AS first
	    FROM unnest(p_wamid) WITH ORDINALITY u(wamid, ord)
	    LEFT JOIN i ON i.ord = u.ord
	    LEFT JOIN m ON (m.y).tenant_id = i.tid AND
		(m.y).wamid = u.wamid) s;
	IF cardinality(ids) > 0 THEN
		v_notified := wa_wake_relay();
	END IF;
END $$;

-- Edits and deletions that arrived before the messages just stored:
-- applied now, their events counted to the body that brought the message.
CREATE OR REPLACE FUNCTION wa_ingest_batch_pending(p_ids bigint[],
    p_ords int[])
RETURNS TABLE (ord int, events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_u	record;
BEGIN
	FOR v_u IN SELECT u.id, x.ord FROM unnest(p_ids, p_ords) x(id, ord)
	    JOIN messages m ON m.id = x.id
	    JOIN message_updates u ON u.tenant_id = m.tenant_id AND
		u.target_wamid = m.wamid AND u.applied_at IS NULL
	    ORDER BY m.id, u.meta_ts, u.id LOOP
		ord := v_u.ord;
		events := coalesce(wa_update_apply(v_u.id), 0);
		RETURN NEXT;
	END LOOP;
END $$;

-- Polls (poll.sql): the messages_poll_note trigger noted the stored
-- messages that may concern one; each is handled on its own, in order, so
-- its events and question are counted to its body. A data error in a poll
-- is logged and the messages still commit, as on the general path
-- (wa_poll_ingested_or_warn).
CREATE OR REPLACE FUNCTION wa_ingest_batch_polls(p_ids bigint[],
    p_ords int[])
RETURNS TABLE (ord int, events int, poll bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_noted	bigint[] := string_to_array(rtrim(current_setting(
		    'wa.poll_msgs'), ','), ',')::bigint[];
	v_id	bigint;
	v_r	record;
	v_text	text;
BEGIN
	FOREACH v_id IN ARRAY (SELECT array_agg(n ORDER BY n)
	    FROM unnest(v_noted) n) LOOP
		ord := p_ords[array_position(p_ids, v_id)];
		v_text := set_config('wa.poll_msgs', v_id || ',', true);
		v_r := wa_poll_ingested_or_warn();
		CONTINUE WHEN v_r.n_events IS NULL;
		events := v_r.n_events;
		poll := NULL;
		RETURN NEXT;
		events := 0;
		FOR poll IN SELECT jsonb_array_elements_text(v_r.to_send)::bigint
		    LOOP
			RETURN NEXT;
		END LOOP;
	END LOOP;
	v_text := set_config('wa.poll_msgs', '', true);
END $$;

