-- functions/reactions.sql: incoming reactions (kept in message_updates,
-- applied to the reactions table; 001_init.sql, 002_webhook.sql). A
-- reaction is no chat bubble: it changes the message it reacts to.

-- reaction items of one change: the newest reaction per target message
-- wins (a late, older one is recorded but changes nothing); an absent or
-- empty emoji clears. No chat bubble.
CREATE OR REPLACE FUNCTION wa_wh_reactions(p_tenant uuid, p_msgs jsonb,
    OUT n_new int, OUT n_dup int, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_it	record;
	v_id	bigint;
	v_hit	int;
BEGIN
	n_new := 0;
	n_dup := 0;
	n_events := 0;
	FOR v_it IN SELECT e.m, e.m->'reaction'->>'message_id' AS target,
	    nullif(e.m->'reaction'->>'emoji', '') AS emoji,
	    wa_ts(e.m->>'timestamp') AS ts
	    FROM jsonb_array_elements(p_msgs) WITH ORDINALITY AS e(m, ord)
	    WHERE e.m->>'type' = 'reaction' AND wa_msg_ok(e.m)
	    ORDER BY wa_ts(e.m->>'timestamp') NULLS FIRST, e.ord LOOP
		INSERT INTO message_updates (tenant_id, kind, wamid,
		    target_wamid, emoji, meta_ts, raw, applied_at)
		VALUES (p_tenant, 'reaction', v_it.m->>'id', v_it.target,
		    v_it.emoji, v_it.ts, v_it.m, now())
		ON CONFLICT DO NOTHING RETURNING id INTO v_id;
		IF v_id IS NULL THEN
			n_dup := n_dup + 1;
			CONTINUE;
		END IF;
		n_new := n_new + 1;
		PERFORM pg_advisory_xact_lock(wa_lock_key(p_tenant,
		    'reaction/' || v_it.target));
		CONTINUE WHEN EXISTS (SELECT 1 FROM message_updates o
		    WHERE o.tenant_id = p_tenant AND
		    o.target_wamid = v_it.target AND o.kind = 'reaction' AND
		    o.id <> v_id AND o.meta_ts > v_it.ts);
		v_hit := NULL;
		IF v_it.emoji IS NOT NULL THEN
			INSERT INTO reactions AS r (tenant_id, target_wamid,
			    direction, emoji, wamid, reacted_at)
			VALUES (p_tenant, v_it.target, 'in', v_it.emoji,
			    v_it.m->>'id', coalesce(v_it.ts, now()))
			ON CONFLICT (tenant_id, target_wamid, direction) DO
			UPDATE SET emoji = EXCLUDED.emoji,
			    wamid = EXCLUDED.wamid,
			    reacted_at = EXCLUDED.reacted_at
			WHERE r.emoji IS DISTINCT FROM EXCLUDED.emoji
			RETURNING 1 INTO v_hit;
		ELSE
			DELETE FROM reactions WHERE tenant_id = p_tenant AND
			    target_wamid = v_it.target AND direction = 'in'
			RETURNING 1 INTO v_hit;
		END IF;
		CONTINUE WHEN v_hit IS NULL;
		PERFORM wa_emit(p_tenant, 'reaction', jsonb_build_object(
		    'message_id', v_it.target, 'emoji', v_it.emoji,
		    'from', coalesce('+' || (v_it.m->>'from'),
			v_it.m->>'from_user_id'),
		    'reaction_id', v_it.m->>'id',
		    'timestamp', wa_unix(v_it.ts)));
		n_events := n_events + 1;
	END LOOP;
END $$;
