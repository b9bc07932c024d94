-- functions/conversations.sql: the inbox (fcgi/api_conversations.c): the
-- shape of a conversation row and of a message in a history (built on
-- wa_contact_json and wa_message_json, functions/json.sql), and deleting
-- a conversation. Indexes: 006_conversations.sql.
--
-- Reactions show on the message they react to (the reactions table). The
-- 'reaction' messages our sends store are no chat bubbles: they are left
-- out of histories, previews and unread counts (incoming reactions never
-- become messages: functions/reactions.sql applies them to their target).

-- The last message as a list shows it, named as in wa_message_json():
-- id is the wamid, db_id ours. Ingestion keeps captions and reply titles
-- in text; kinds without one fall back to a name from their content. (Not
-- STRICT, and no FROM, here and below: PostgreSQL then inlines these into
-- the page query, five times faster than calling them per row.)
CREATE OR REPLACE FUNCTION wa_conv_preview(m messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN m.id IS NOT NULL THEN jsonb_build_object(
	    'id', m.wamid,
	    'db_id', m.id,
	    'type', m.type,
	    'direction', m.direction,
	    'text', coalesce(m.text, m.content->>'caption',
		m.content->>'title', m.content->>'name',
		m.content->>'body'),
	    'status', m.status,
	    'timestamp', wa_iso(coalesce(m.meta_ts, m.created_at))) END;
$$;

-- One conversation: its contact (wa_contact_json) and, as the seed's
-- events have them, phone and name beside it; the last message (NULL when
-- the history is empty), the unread count and the 24-hour window (as
-- wa_contact_json has it). phone is E.164 with its '+', NULL for a
-- contact known only by a BSUID.
CREATE OR REPLACE FUNCTION wa_conv_json(c contacts, last messages,
    unread bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'phone', '+' || c.wa_id,
	    'name', c.name,
	    'contact', wa_contact_json(c),
	    'last_message', wa_conv_preview(last),
	    'unread_count', unread,
	    'window_open', coalesce(c.last_inbound_at >
		now() - interval '24 hours', false),
	    'window_expires_at',
		wa_iso(c.last_inbound_at + interval '24 hours'),
	    'last_activity_at', wa_iso(c.last_activity_at));
$$;

-- A message in a history: wa_message_json(), plus both sides' reactions
-- ({"in": emoji, "out": emoji}, {} when none), and a context that also
-- says what we know of the message replied to (context.message, null when
-- we never saw it; jsonb_set leaves a null context alone).
CREATE OR REPLACE FUNCTION wa_conv_message_json(m messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_set(wa_message_json(m) || jsonb_build_object('reactions',
	    coalesce((SELECT jsonb_object_agg(r.direction, r.emoji)
	    FROM reactions r WHERE r.tenant_id = m.tenant_id AND
	    r.target_wamid = m.wamid), '{}')),
	    '{context,message}', coalesce((SELECT wa_conv_preview(q)
	    FROM messages q WHERE q.tenant_id = m.tenant_id AND
	    q.wamid = m.context_wamid), 'null'));
$$;

-- Deletes one contact's history: its messages, the reactions, delivery
-- reports and updates about them and the media records no other message
-- of the tenant uses, with a conversation_deleted event, all in the
-- caller's one statement. The contact stays (name, 24-hour window,
-- identity for sending). Returns the number of messages deleted, NULL
-- when the tenant has no such contact.
CREATE OR REPLACE FUNCTION wa_conversation_delete(p_tenant uuid, p_wa_id text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	cid	bigint;
	n	bigint;
BEGIN
	-- The lock orders us after a webhook upserting this contact, so its
	-- message, committed first, is deleted too rather than orphaned.
	SELECT id INTO cid FROM contacts
	WHERE tenant_id = p_tenant AND wa_id = p_wa_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- What ingestion keeps about these messages goes too: delivery reports
	-- and updates (an edit's raw JSON holds the edited text).
	DELETE FROM message_statuses s USING messages m
	WHERE m.contact_id = cid AND m.wamid IS NOT NULL AND
	    s.tenant_id = p_tenant AND s.wamid = m.wamid;
	DELETE FROM message_updates u USING messages m
	WHERE m.contact_id = cid AND m.wamid IS NOT NULL AND
	    u.tenant_id = p_tenant AND u.target_wamid = m.wamid;
	DELETE FROM reactions r USING messages m
	WHERE m.contact_id = cid AND m.wamid IS NOT NULL AND
	    r.tenant_id = p_tenant AND r.target_wamid = m.wamid;
	DELETE FROM media d USING messages m
	WHERE m.contact_id = cid AND m.media_id IS NOT NULL AND
	    d.tenant_id = p_tenant AND d.wa_media_id = m.media_id AND
	    NOT EXISTS (SELECT 1 FROM messages o
		WHERE o.tenant_id = p_tenant AND o.media_id = m.media_id AND
		o.contact_id <> cid);
	DELETE FROM messages WHERE contact_id = cid AND tenant_id = p_tenant;
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM wa_emit(p_tenant, 'conversation_deleted',
	    jsonb_build_object('phone', '+' || p_wa_id));
	RETURN n;
END $$;
