-- functions/edits.sql: incoming edits and deletions (kept in
-- message_updates, 002_webhook.sql): each stored once, then applied to
-- the message it changes; one that arrives before its original waits
-- there until the original is stored (wa_wh_messages, wa_ingest_batch).

-- Applies one stored edit or revoke to the incoming message it targets:
-- NULL when that message is not known (yet), else events emitted (0, 1).
-- An edit older than one already applied, or any edit of a deleted
-- message, is recorded but changes nothing.
CREATE OR REPLACE FUNCTION wa_update_apply(p_id bigint) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_u	message_updates;
	v_m	messages;
	v_n	record;
	v_stale	boolean;
BEGIN
	SELECT * INTO v_u FROM message_updates WHERE id = p_id AND
	    applied_at IS NULL FOR UPDATE;
	IF NOT FOUND THEN
		RETURN 0;
	END IF;
	SELECT * INTO v_m FROM messages WHERE tenant_id = v_u.tenant_id AND
	    wamid = v_u.target_wamid AND direction = 'in' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE message_updates SET applied_at = now() WHERE id = p_id;
	v_stale := coalesce(v_m.content ? 'deleted', false) OR
	    (v_u.kind = 'edit' AND EXISTS (SELECT 1 FROM message_updates o
	    WHERE o.tenant_id = v_u.tenant_id AND
	    o.target_wamid = v_u.target_wamid AND o.kind = 'edit' AND
	    o.applied_at IS NOT NULL AND o.id <> p_id AND
	    o.meta_ts > v_u.meta_ts));
	IF v_stale THEN
		RETURN 0;
	END IF;
	IF v_u.kind = 'edit' THEN
		SELECT * INTO v_n FROM wa_msg_norm(v_u.raw->'edit'->'message');
		UPDATE messages SET text = v_n.text,
		    media_id = coalesce(v_n.media_id, media_id),
		    media_mime = coalesce(v_n.media_mime, media_mime),
		    media_sha256 = coalesce(v_n.media_sha256, media_sha256),
		    media_filename = coalesce(v_n.media_filename,
			media_filename),
		    content = coalesce(content, '{}') || jsonb_build_object(
			'edited', jsonb_build_object('id', v_u.wamid,
			'timestamp', wa_unix(v_u.meta_ts),
			'previous_text', v_m.text))
		WHERE id = v_m.id RETURNING * INTO v_m;
		PERFORM wa_emit(v_u.tenant_id, 'message_edited',
		    jsonb_build_object('message_id', v_m.wamid,
		    'edit_id', v_u.wamid, 'timestamp', wa_unix(v_u.meta_ts),
		    'message', wa_message_json(v_m)));
	ELSE
		-- What the user took back is no longer shown; raw keeps it.
		UPDATE messages SET text = NULL, media_id = NULL,
		    media_mime = NULL, media_sha256 = NULL,
		    media_filename = NULL,
		    content = jsonb_build_object('deleted', jsonb_build_object(
			'id', v_u.wamid, 'timestamp', wa_unix(v_u.meta_ts)))
		WHERE id = v_m.id;
		PERFORM wa_emit(v_u.tenant_id, 'message_deleted',
		    jsonb_build_object('message_id', v_m.wamid,
		    'revoke_id', v_u.wamid, 'timestamp', wa_unix(v_u.meta_ts)));
	END IF;
	RETURN 1;
END $$;

-- edit/revoke items of one change.
CREATE OR REPLACE FUNCTION wa_wh_edits(p_tenant uuid, p_msgs jsonb,
    OUT n_new int, OUT n_dup int, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_it	record;
	v_id	bigint;
	v_r	int;
BEGIN
	n_new := 0;
	n_dup := 0;
	n_events := 0;
	FOR v_it IN SELECT e.m, e.m->>'type' AS kind
	    FROM jsonb_array_elements(p_msgs) WITH ORDINALITY AS e(m, ord)
	    WHERE e.m->>'type' IN ('edit', 'revoke') AND wa_msg_ok(e.m)
	    ORDER BY wa_ts(e.m->>'timestamp') NULLS FIRST, e.ord LOOP
		INSERT INTO message_updates (tenant_id, kind, wamid,
		    target_wamid, meta_ts, raw)
		VALUES (p_tenant, v_it.kind, v_it.m->>'id',
		    v_it.m->v_it.kind->>'original_message_id',
		    wa_ts(v_it.m->>'timestamp'), v_it.m)
		ON CONFLICT DO NOTHING RETURNING id INTO v_id;
		IF v_id IS NULL THEN
			n_dup := n_dup + 1;
			CONTINUE;
		END IF;
		n_new := n_new + 1;
		v_r := wa_update_apply(v_id);
		IF v_r IS NULL THEN
			-- The original may be committing in another body right
			-- now: it looks for waiting updates under the shared
			-- side of this lock (wa_wh_messages).
			PERFORM pg_advisory_xact_lock(wa_lock_key(p_tenant,
			    'updates'));
			v_r := wa_update_apply(v_id);
		END IF;
		n_events := n_events + coalesce(v_r, 0);
	END LOOP;
END $$;
