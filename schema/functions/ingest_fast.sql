-- functions/ingest_fast.sql: one statement for the body Meta sends most:
-- one entry, one `messages` change, one chat message from a sender known
-- by phone (wa_id), with at most its own value.contacts[] entry (media
-- adds its metadata row in a second). Everything else, and every message
-- kind that changes other rows or emits more events (reactions, edits,
-- deletions, button and list replies), goes through the general path
-- (functions/ingest.sql), which wa_webhook_ingest() falls back to whenever
-- the shape is not exactly that.
--
-- Why: the general path runs about fourteen statements per body (a query
-- per contact, per kind, per event, each with its executor set up), three
-- times the database work of the one statement below, and ingestion is
-- bound by the database. The result is the same rows, the same events and
-- the same summary: tests/e2e/test_webhook_fast_path.py runs every case
-- through both.

-- The body's one message when the fast path can take it, else NULL. Only
-- simple expressions (no query): it runs for every body.
CREATE OR REPLACE FUNCTION wa_wh_fast_message(p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	v	jsonb := p_body->'entry';
	v_m	jsonb;
	v_ct	jsonb;
BEGIN
	IF p_body->>'object' IS DISTINCT FROM 'whatsapp_business_account' OR
	    jsonb_typeof(v) IS DISTINCT FROM 'array' OR
	    jsonb_array_length(v) <> 1 THEN
		RETURN NULL;
	END IF;
	v := v->0->'changes';
	IF jsonb_typeof(v) IS DISTINCT FROM 'array' OR
	    jsonb_array_length(v) <> 1 OR
	    v->0->>'field' IS DISTINCT FROM 'messages' THEN
		RETURN NULL;
	END IF;
	v := v->0->'value';
	IF jsonb_typeof(v) IS DISTINCT FROM 'object' THEN
		RETURN NULL;
	END IF;
	-- Nothing but these keys: statuses, errors or anything new go the
	-- general way, which knows them (or logs them).
	IF v - 'messaging_product' - 'metadata' - 'contacts' - 'messages' <>
	    '{}' OR jsonb_typeof(v->'metadata'->'phone_number_id') IS
	    DISTINCT FROM 'string' OR jsonb_typeof(v->'messages') IS
	    DISTINCT FROM 'array' OR jsonb_array_length(v->'messages') <> 1
	    THEN
		RETURN NULL;
	END IF;
	v_m := v->'messages'->0;
	-- Ids too long for a btree entry would make the statement fail; the
	-- general path catches that and logs the body.
	IF NOT wa_msg_ok(v_m) OR jsonb_typeof(v_m->'from') IS DISTINCT FROM
	    'string' OR v_m ? 'from_user_id' OR length(v_m->>'id') > 512 OR
	    length(v_m->>'from') > 128 OR coalesce(v_m->>'type' IN (
	    'reaction', 'edit', 'revoke', 'button', 'interactive'), true) THEN
		RETURN NULL;
	END IF;
	-- contacts[]: absent, empty, or the sender alone (by wa_id, no BSUID).
	v_ct := v->'contacts';
	IF v_ct IS NULL OR v_ct = 'null' OR v_ct = '[]' THEN
		RETURN v_m;
	END IF;
	IF jsonb_typeof(v_ct) IS DISTINCT FROM 'array' OR
	    jsonb_array_length(v_ct) <> 1 OR
	    jsonb_typeof(v_ct->0) IS DISTINCT FROM 'object' OR
	    v_ct->0->>'wa_id' IS DISTINCT FROM v_m->>'from' OR
	    v_ct->0 ? 'user_id' THEN
		RETURN NULL;
	END IF;
	RETURN v_m;
END $$;

-- Ingests a body of that shape: NULL when it is not one, or when its
-- number has no tenant (the general path logs it), else the summary
-- wa_webhook_ingest_general() would give.
--
-- A duplicate (Meta's retry) changes nothing: the contact is written only
-- when the message is new, so its times and name stay as they were.
-- Early edits and deletions waiting for this message are applied as the
-- general path applies them, under the same lock. Its plans are generic
-- and use indexes: it runs under wa_webhook_ingest()'s settings.
CREATE OR REPLACE FUNCTION wa_wh_fast(p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_m	jsonb := wa_wh_fast_message(p_body);
	v_value	jsonb;
	v_tenant uuid;
	v_type	text;
	v_n	int := 0;
	v_pending boolean := false;
	v_void	boolean;
	v_u	record;
	v_c	wa_wh_counts := wa_wh_zero();
BEGIN
	IF v_m IS NULL THEN
		RETURN NULL;
	END IF;
	v_value := p_body->'entry'->0->'changes'->0->'value';
	SELECT id INTO v_tenant FROM tenants
	WHERE phone_number_id = v_value->'metadata'->>'phone_number_id';
	IF v_tenant IS NULL THEN
		RETURN NULL;
	END IF;
	v_type := v_m->>'type';
	-- Taken before the statement, so its snapshot sees every edit or
	-- deletion stored before (wa_wh_edits takes this lock exclusively).
	v_void := pg_advisory_xact_lock_shared(
	    wa_lock_key(v_tenant, 'updates')) IS NULL;
	WITH c AS (
		-- A system notice is Meta talking, not the customer: it does
		-- not open the 24-hour window.
		INSERT INTO contacts AS x (tenant_id, wa_id, name,
		    last_inbound_at)
		VALUES (v_tenant, v_m->>'from',
		    v_value->'contacts'->0->'profile'->>'name',
		    CASE WHEN v_type <> 'system' THEN
			wa_ts(v_m->>'timestamp') END)
		ON CONFLICT (tenant_id, wa_id) WHERE wa_id IS NOT NULL
		DO UPDATE SET name = coalesce(excluded.name, x.name),
		    last_inbound_at = greatest(x.last_inbound_at,
			excluded.last_inbound_at),
		    last_activity_at = greatest(x.last_activity_at, now())
		WHERE NOT EXISTS (SELECT 1 FROM messages o
		    WHERE o.tenant_id = v_tenant AND o.wamid = v_m->>'id')
		RETURNING x
	), m AS (
		INSERT INTO messages AS y (tenant_id, contact_id, wamid,
		    direction, type, text, media_id, media_mime, media_sha256,
		    media_filename, content, context_wamid, forwarded,
		    frequently_forwarded, status, meta_ts, raw)
		SELECT v_tenant, (c.x).id, v_m->>'id', 'in', n.type, n.text,
		    n.media_id, n.media_mime, n.media_sha256, n.media_filename,
		    n.content, n.context_wamid, n.forwarded,
		    n.frequently_forwarded, 'received', n.meta_ts, v_m
		FROM c CROSS JOIN wa_msg_norm(v_m) n
		ON CONFLICT (tenant_id, wamid) DO NOTHING
		RETURNING y
	)
	INSERT INTO events (tenant_id, name, data)
	SELECT v_tenant, 'message_incoming', jsonb_build_object(
	    'phone', '+' || (c.x).wa_id,
	    'name', (c.x).name,
	    'contact', wa_contact_json(c.x),
	    'message', wa_message_json(m.y, '+' || (c.x).wa_id))
	FROM m CROSS JOIN c
	RETURNING EXISTS (SELECT 1 FROM message_updates u
	    WHERE u.tenant_id = v_tenant AND u.applied_at IS NULL AND
	    u.target_wamid = v_m->>'id'), wa_wake_relay()
	INTO v_pending, v_void;
	IF NOT FOUND THEN
		v_c.duplicates := 1;
		RETURN to_jsonb(v_c);
	END IF;
	v_c.messages := 1;
	v_c.events := 1;
	-- Media metadata, as the general path records it (a statement of
	-- its own: text, the common case, does not set it up at all).
	IF v_type IN ('image', 'video', 'audio', 'document', 'sticker') THEN
		INSERT INTO media (tenant_id, wa_media_id, kind, filename,
		    mime_type, sha256, direction)
		SELECT v_tenant, n.media_id,
		    CASE n.type WHEN 'voice' THEN 'audio' ELSE n.type END,
		    n.media_filename,
		    coalesce(n.media_mime, 'application/octet-stream'),
		    n.media_sha256, 'in'
		FROM wa_msg_norm(v_m) n WHERE n.media_id IS NOT NULL
		ON CONFLICT (tenant_id, wa_media_id) DO NOTHING;
	END IF;
	IF v_pending THEN
		FOR v_u IN SELECT id FROM message_updates
		    WHERE tenant_id = v_tenant AND applied_at IS NULL AND
		    target_wamid = v_m->>'id' ORDER BY meta_ts, id LOOP
			v_c.events := v_c.events +
			    coalesce(wa_update_apply(v_u.id), 0);
		END LOOP;
	END IF;
	RETURN to_jsonb(v_c);
END $$;
