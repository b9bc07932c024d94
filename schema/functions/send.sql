-- functions/send.sql: the two steps around each Graph call of a send (one
-- round trip each: wa_send_begin_checked before, wa_send_finish after;
-- tables: 004_messaging.sql). Statuses that raced ahead of the wamid
-- stored here are applied by the trigger in functions/statuses.sql.
--
-- Both steps commit durably: the pending row and the idempotency claim
-- must survive a crash of PostgreSQL, or a client's retry could send the
-- customer a second message and status webhooks could find no message.

-- Claims p_key for a request with fingerprint p_hash. idem NULL: claimed
-- (a new key, or one whose first attempt died mid-send), go ahead; else
-- done (replay idem_status/idem_body), in_progress, or mismatch (the key
-- came with another request).
CREATE OR REPLACE FUNCTION wa_idem_claim(p_tenant uuid, p_key text, p_hash text,
    OUT idem text, OUT idem_status int, OUT idem_body text)
LANGUAGE plpgsql AS $$
DECLARE
	k	idempotency_keys;
BEGIN
	IF random() < 0.01 THEN
		DELETE FROM idempotency_keys
		WHERE created_at < now() - interval '48 hours';
	END IF;
	INSERT INTO idempotency_keys (tenant_id, key, request_hash)
	VALUES (p_tenant, p_key, p_hash) ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT * INTO k FROM idempotency_keys
	WHERE tenant_id = p_tenant AND key = p_key FOR UPDATE;
	IF k.request_hash <> p_hash THEN
		idem := 'mismatch';
	ELSIF k.status IS NOT NULL THEN
		idem := 'done';
		idem_status := k.status;
		idem_body := k.response;
	ELSIF k.created_at > now() - interval '30 minutes' THEN
		-- (longer than a send can take: two Graph calls of at most
		-- WA_GRAPH_TIMEOUT_MS, 10 min)
		idem := 'in_progress';
	ELSE
		-- The first attempt's responder died mid-send: take over.
		UPDATE idempotency_keys SET created_at = now()
		WHERE tenant_id = p_tenant AND key = p_key;
	END IF;
END $$;

-- A send's one round trip before the Graph call: what it checks, then
-- (p_store, and every check passed) it claims the idempotency key (if
-- any), upserts the contact and records the message as pending, the
-- message's media columns taken from p_media's row. idem says what
-- happened: new (msg_id set), done (replay idem_status/idem_body),
-- in_progress, mismatch (the key came with another request). When a check
-- fails, msg_id and idem stay NULL and the check columns say why:
--   tenant_found false: no such tenant (nothing else set);
--   window_ok false: a free-form send (p_free_form) to a contact outside
--     the 24-hour window of a tenant with settings.window_check on;
--   media_found false: p_media is no media of this tenant;
--   reply_ok, react_ok false: no such quoted or reacted-to message.
-- Media and catalog sends call it first with p_store false: their payload
-- takes the media id and catalog read here, and the media's kind is
-- checked against the message's in C. Checks and insert are written out
-- here rather than called: each nested PL/pgSQL call costs more than the
-- queries it would wrap.
CREATE OR REPLACE FUNCTION wa_send_begin_checked(p_tenant uuid, p_wa_id text,
    p_free_form boolean, p_media uuid, p_reply_to text, p_react_to text,
    p_store boolean, p_type text, p_text text, p_content jsonb,
    p_raw jsonb, p_key text, p_hash text,
    OUT tenant_found boolean, OUT access_token text,
    OUT phone_number_id text, OUT catalog_id text, OUT window_ok boolean,
    OUT media_found boolean, OUT wa_media_id text, OUT media_kind text,
    OUT media_mime text, OUT media_filename text, OUT reply_ok boolean,
    OUT react_ok boolean, OUT msg_id bigint, OUT idem text,
    OUT idem_status int, OUT idem_body text)
LANGUAGE plpgsql AS $$
DECLARE
	v_check	boolean;
	v_cid	bigint;
BEGIN
	SELECT t.access_token, t.phone_number_id, t.catalog_id,
	    coalesce(t.settings->>'window_check', 'true') <> 'false'
	INTO access_token, phone_number_id, catalog_id, v_check
	FROM tenants t WHERE t.id = p_tenant;
	tenant_found := FOUND;
	IF NOT tenant_found THEN
		RETURN;
	END IF;
	-- (IFs, not ORs: a constant is a cheap expression, a subquery is
	-- a query run even when the OR's other side decides)
	window_ok := true;
	IF p_free_form AND v_check THEN
		window_ok := EXISTS (SELECT 1 FROM contacts c
		    WHERE c.tenant_id = p_tenant AND c.wa_id = p_wa_id AND
		    c.last_inbound_at > now() - interval '24 hours');
	END IF;
	media_found := false;
	IF p_media IS NOT NULL THEN
		SELECT md.wa_media_id, md.kind, md.mime_type, md.filename
		INTO wa_media_id, media_kind, media_mime, media_filename
		FROM media md WHERE md.tenant_id = p_tenant AND
		    md.id = p_media;
		media_found := FOUND;
	END IF;
	reply_ok := true;
	IF p_reply_to IS NOT NULL THEN
		reply_ok := EXISTS (SELECT 1 FROM messages x
		    WHERE x.tenant_id = p_tenant AND x.wamid = p_reply_to);
	END IF;
	react_ok := true;
	IF p_react_to IS NOT NULL THEN
		react_ok := EXISTS (SELECT 1 FROM messages x
		    WHERE x.tenant_id = p_tenant AND x.wamid = p_react_to);
	END IF;
	IF NOT (p_store AND window_ok AND reply_ok AND react_ok AND
	    (p_media IS NULL OR media_found)) THEN
		RETURN;
	END IF;
	IF p_key IS NOT NULL THEN
		SELECT c.idem, c.idem_status, c.idem_body
		INTO idem, idem_status, idem_body
		FROM wa_idem_claim(p_tenant, p_key, p_hash) c;
		IF idem IS NOT NULL THEN
			RETURN;
		END IF;
	END IF;
	INSERT INTO contacts (tenant_id, wa_id) VALUES (p_tenant, p_wa_id)
	ON CONFLICT (tenant_id, wa_id) WHERE wa_id IS NOT NULL
	DO UPDATE SET last_activity_at = now()
	RETURNING id INTO v_cid;
	INSERT INTO messages (tenant_id, contact_id, direction, type, text,
	    content, context_wamid, media_id, media_mime, status, raw)
	VALUES (p_tenant, v_cid, 'out', p_type, p_text, p_content, p_reply_to,
	    wa_media_id, media_mime, 'pending', p_raw)
	RETURNING id INTO msg_id;
	IF p_key IS NOT NULL THEN
		UPDATE idempotency_keys SET message_id = msg_id
		WHERE tenant_id = p_tenant AND key = p_key;
	END IF;
	idem := 'new';
END $$;

-- After the Graph call, in one transaction: the wamid (accepted) or the
-- failure, the message_outgoing event (sent or failed, so every agent's
-- screen shows it; for a reaction: the reactions row and a 'reaction'
-- event, on success only), and the
-- answer kept for idempotent replays (or the key released when a retry
-- should really retry: p_release).
CREATE OR REPLACE FUNCTION wa_send_finish(p_msg bigint, p_wamid text,
    p_error jsonb, p_key text, p_status int, p_body text, p_release boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	m	messages;
	c	contacts;
BEGIN
	UPDATE messages SET wamid = p_wamid, error = p_error,
	    status = CASE WHEN p_wamid IS NULL THEN 'failed' ELSE 'accepted' END
	WHERE id = p_msg RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	SELECT * INTO c FROM contacts WHERE id = m.contact_id;
	IF m.type <> 'reaction' THEN
		PERFORM wa_emit(m.tenant_id, 'message_outgoing',
		    jsonb_build_object('phone', '+' || c.wa_id, 'name', c.name,
		    'contact', wa_contact_json(c),
		    'message', wa_message_json(m)));
	ELSIF p_wamid IS NOT NULL THEN
		-- A reaction is no chat bubble: it changes its target, and is
		-- announced like an incoming one (functions/reactions.sql).
		IF coalesce(m.content->>'emoji', '') = '' THEN
			DELETE FROM reactions WHERE tenant_id = m.tenant_id AND
			    target_wamid = m.content->>'message_id' AND
			    direction = 'out';
		ELSE
			INSERT INTO reactions (tenant_id, target_wamid,
			    direction, emoji, wamid)
			VALUES (m.tenant_id, m.content->>'message_id', 'out',
			    m.content->>'emoji', p_wamid)
			ON CONFLICT (tenant_id, target_wamid, direction) DO
			UPDATE SET emoji = EXCLUDED.emoji,
			    wamid = EXCLUDED.wamid, reacted_at = now();
		END IF;
		PERFORM wa_emit(m.tenant_id, 'reaction', jsonb_build_object(
		    'message_id', m.content->>'message_id',
		    'emoji', nullif(m.content->>'emoji', ''),
		    'direction', 'out', 'to', '+' || c.wa_id,
		    'reaction_id', p_wamid, 'timestamp', wa_unix(now())));
	END IF;
	IF p_key IS NULL THEN
		RETURN;
	ELSIF p_release THEN
		DELETE FROM idempotency_keys
		WHERE tenant_id = m.tenant_id AND key = p_key;
	ELSE
		UPDATE idempotency_keys SET status = p_status,
		    response = p_body
		WHERE tenant_id = m.tenant_id AND key = p_key;
	END IF;
END $$;
