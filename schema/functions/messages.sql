-- functions/messages.sql: incoming chat bubbles, the general path's way
-- (everything but reactions, edits and deletions; each type's columns come
-- from wa_msg_norm, functions/message_types.sql).

-- The chat bubbles of one change (everything but reactions, edits and
-- deletions): contacts resolved, rows inserted once, media recorded, the
-- contacts' times moved, and message_incoming (plus button_clicked /
-- selection_made) emitted for the rows actually inserted.
CREATE OR REPLACE FUNCTION wa_wh_messages(p_tenant uuid, p_msgs jsonb,
    p_cts jsonb, OUT n_new int, OUT n_dup int, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_m	jsonb;
	v_wa	text;
	v_uid	text;
	v_seen	jsonb := '{}';	-- senders done, [wa, uid] as text
	v_ct	jsonb;
	v_prof	jsonb;
	v_map	jsonb := '{}';
	v_cid	bigint;
	v_valid	int := 0;
	v_ids	bigint[];	-- the rows inserted (ids, not whole rows:
				-- cheaper to pass, read back by primary key)
	v_cids	bigint[];	-- their contacts, each once, in id order
	v_ts	timestamptz[];	-- ... and the newest time per contact
	v_c	contacts;
	v_cjson	jsonb := '{}';
	v_new	text[];
	v_replies boolean;	-- a button or interactive message among them
	v_media	boolean;	-- a message with media among them
	v_u	record;
BEGIN
	n_new := 0;
	n_dup := 0;
	n_events := 0;
	-- One contact per distinct sender (a body rarely has more than one).
	-- Walked with simple expressions, not queries: every query costs an
	-- executor set up per webhook, and a body has a handful of items.
	FOR i IN 0 .. jsonb_array_length(p_msgs) - 1 LOOP
		v_m := p_msgs->i;
		CONTINUE WHEN NOT wa_msg_ok(v_m) OR
		    coalesce(v_m->>'type' IN ('reaction', 'edit', 'revoke'),
		    false);
		v_valid := v_valid + 1;
		v_wa := v_m->>'from';
		v_uid := v_m->>'from_user_id';
		CONTINUE WHEN v_seen ? jsonb_build_array(v_wa, v_uid)::text;
		v_seen := v_seen || jsonb_build_object(
		    jsonb_build_array(v_wa, v_uid)::text, true);
		-- The first value.contacts[] entry about this sender.
		v_prof := NULL;
		FOR j IN 0 .. jsonb_array_length(p_cts) - 1 LOOP
			v_ct := p_cts->j;
			IF (v_wa IS NOT NULL AND v_ct->>'wa_id' = v_wa) OR
			    (v_uid IS NOT NULL AND v_ct->>'user_id' = v_uid)
			    THEN
				v_prof := v_ct;
				EXIT;
			END IF;
		END LOOP;
		v_cid := wa_contact_resolve(p_tenant,
		    coalesce(v_wa, v_prof->>'wa_id'),
		    coalesce(v_uid, v_prof->>'user_id'),
		    v_prof->'profile'->>'name');
		IF v_wa IS NOT NULL THEN
			v_map := v_map || jsonb_build_object('w:' || v_wa,
			    v_cid);
		END IF;
		IF v_uid IS NOT NULL THEN
			v_map := v_map || jsonb_build_object('u:' || v_uid,
			    v_cid);
		END IF;
	END LOOP;
	IF v_valid = 0 THEN
		RETURN;
	END IF;

	WITH src AS (
		SELECT e.m, e.ord, n.*, coalesce(
		    (v_map->>('w:' || (e.m->>'from')))::bigint,
		    (v_map->>('u:' || (e.m->>'from_user_id')))::bigint) AS cid
		FROM jsonb_array_elements(p_msgs) WITH ORDINALITY AS e(m, ord)
		CROSS JOIN LATERAL wa_msg_norm(e.m) AS n
		WHERE wa_msg_ok(e.m) AND
		    e.m->>'type' IS DISTINCT FROM 'reaction' AND
		    e.m->>'type' IS DISTINCT FROM 'edit' AND
		    e.m->>'type' IS DISTINCT FROM 'revoke'
	), ins AS (
		INSERT INTO messages AS x (tenant_id, contact_id, wamid,
		    direction, type, text, media_id, media_mime, media_sha256,
		    media_filename, content, context_wamid, forwarded,
		    frequently_forwarded, status, meta_ts, raw)
		SELECT p_tenant, s.cid, s.m->>'id', 'in', s.type, s.text,
		    s.media_id, s.media_mime, s.media_sha256, s.media_filename,
		    s.content, s.context_wamid, s.forwarded,
		    s.frequently_forwarded, 'received', s.meta_ts, s.m
		FROM src s ORDER BY s.ord
		ON CONFLICT (tenant_id, wamid) DO NOTHING
		RETURNING x.id, x.wamid, x.type, x.media_id, x.contact_id,
		    x.meta_ts
	)
	-- The senders' times (below): a system notice is Meta talking, not
	-- the customer, and does not open the 24-hour window.
	SELECT array_agg(i.id ORDER BY i.id), array_agg(DISTINCT i.wamid),
	    coalesce(bool_or(i.type IN ('button', 'interactive')), false),
	    coalesce(bool_or(i.media_id IS NOT NULL), false),
	    (SELECT array_agg(g.cid ORDER BY g.cid) FROM (SELECT DISTINCT
		j.contact_id AS cid FROM ins j) g),
	    (SELECT array_agg(g.ts ORDER BY g.cid) FROM (SELECT
		j.contact_id AS cid, max(j.meta_ts) FILTER (WHERE
		j.type <> 'system') AS ts FROM ins j GROUP BY 1) g)
	INTO v_ids, v_new, v_replies, v_media, v_cids, v_ts FROM ins i;
	n_new := coalesce(cardinality(v_ids), 0);
	n_dup := v_valid - n_new;
	IF n_new = 0 THEN
		RETURN;
	END IF;

	-- Media metadata, a statement of its own so that a body without
	-- media does not set up an insert into media for nothing.
	IF v_media THEN
		INSERT INTO media (tenant_id, wa_media_id, kind, filename,
		    mime_type, sha256, direction)
		SELECT p_tenant, m.media_id,
		    CASE m.type WHEN 'voice' THEN 'audio' ELSE m.type END,
		    m.media_filename,
		    coalesce(m.media_mime, 'application/octet-stream'),
		    m.media_sha256, 'in'
		FROM messages m WHERE m.id = ANY (v_ids) AND
		    m.media_id IS NOT NULL
		ORDER BY m.id
		ON CONFLICT (tenant_id, wa_media_id) DO NOTHING;
	END IF;

	-- The senders' times, one primary-key update per contact.
	FOR k IN 1 .. cardinality(v_cids) LOOP
		UPDATE contacts SET
		    last_inbound_at = greatest(last_inbound_at, v_ts[k]),
		    last_activity_at = greatest(last_activity_at, now())
		WHERE id = v_cids[k] RETURNING * INTO v_c;
		v_cjson := v_cjson || jsonb_build_object(v_cids[k]::text,
		    jsonb_build_object('phone', '+' || v_c.wa_id,
		    'name', v_c.name, 'contact', wa_contact_json(v_c)));
	END LOOP;

	-- The events, in message order, inserted at once (wa_emit's INSERT
	-- and wake-up, set-based: one statement for all of them). Without
	-- replies only message_incoming: a statement a third the size, as
	-- every execution sets up every branch's expressions again.
	IF NOT v_replies THEN
		INSERT INTO events (tenant_id, name, data)
		SELECT p_tenant, 'message_incoming',
		    (v_cjson->(m.contact_id::text)) || jsonb_build_object(
		    'message', wa_message_json(m))
		FROM messages m WHERE m.id = ANY (v_ids) ORDER BY m.id;
	ELSE
		INSERT INTO events (tenant_id, name, data)
		SELECT p_tenant, ev.name, ev.data FROM (
			SELECT m.id, 0 AS k, m.wamid,
			    'message_incoming' AS name,
			    (v_cjson->(m.contact_id::text)) ||
			    jsonb_build_object('message', wa_message_json(m))
			    AS data
			FROM messages m WHERE m.id = ANY (v_ids)
			UNION ALL
			SELECT m.id, 1, m.wamid, 'button_clicked',
			    jsonb_build_object(
			    'message_id', m.wamid,
			    'context_message_id', m.context_wamid,
			    'phone', v_cjson->(m.contact_id::text)->'phone',
			    'contact_id', m.contact_id,
			    'source', CASE m.type WHEN 'button' THEN 'template'
				ELSE 'interactive' END,
			    'button_id', CASE m.type WHEN 'button' THEN
				m.content->>'payload'
				ELSE m.content->'button_reply'->>'id' END,
			    'title', CASE m.type WHEN 'button' THEN
				m.content->>'text'
				ELSE m.content->'button_reply'->>'title' END)
			FROM messages m WHERE m.id = ANY (v_ids) AND (
			    m.type = 'button' OR (m.type = 'interactive' AND
			    m.content->>'type' = 'button_reply'))
			UNION ALL
			SELECT m.id, 1, m.wamid, 'selection_made',
			    jsonb_build_object(
			    'message_id', m.wamid,
			    'context_message_id', m.context_wamid,
			    'phone', v_cjson->(m.contact_id::text)->'phone',
			    'contact_id', m.contact_id,
			    'row_id', m.content->'list_reply'->>'id',
			    'title', m.content->'list_reply'->>'title',
			    'description',
				m.content->'list_reply'->>'description')
			FROM messages m WHERE m.id = ANY (v_ids) AND
			    m.type = 'interactive' AND
			    m.content->>'type' = 'list_reply') ev
		ORDER BY ev.id, ev.k;
	END IF;
	GET DIAGNOSTICS n_events = ROW_COUNT;
	PERFORM wa_wake_relay();

	-- Edits and deletions that arrived before their original. The
	-- shared lock pairs with wa_wh_edits' exclusive one, so an update
	-- being stored concurrently is seen by one side or the other.
	PERFORM pg_advisory_xact_lock_shared(wa_lock_key(p_tenant, 'updates'));
	FOR v_u IN SELECT id FROM message_updates WHERE tenant_id = p_tenant AND
	    applied_at IS NULL AND target_wamid = ANY (v_new)
	    ORDER BY meta_ts, id LOOP
		n_events := n_events + coalesce(wa_update_apply(v_u.id), 0);
	END LOOP;
END $$;
