-- functions/json.sql: the formats everything else shares: Meta's
-- timestamps read, ours written (ISO 8601), JSON arrays and error objects,
-- and the canonical JSON of a contact and of a message, which webhook
-- events, send events and the inbox's API all use.

-- Meta's timestamps are Unix seconds as strings; anything else is NULL.
CREATE OR REPLACE FUNCTION wa_ts(s text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN s ~ '^[0-9]{1,11}$' THEN to_timestamp(s::bigint) END;
$$;

-- ISO 8601 UTC with microseconds, as the seed spec shows.
CREATE OR REPLACE FUNCTION wa_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
$$;

-- Unix seconds as text, as Meta writes its timestamps.
CREATE OR REPLACE FUNCTION wa_unix(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT floor(extract(epoch FROM t))::bigint::text;
$$;

-- An array as is; absent or JSON null as []; any other shape as NULL.
CREATE OR REPLACE FUNCTION wa_arr(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN j IS NULL OR j = 'null' THEN '[]'::jsonb
	    WHEN jsonb_typeof(j) = 'array' THEN j END;
$$;

-- One of Meta's error objects as {code, title, message, details, href}.
CREATE OR REPLACE FUNCTION wa_error_json(e jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN jsonb_typeof(e) = 'object' THEN jsonb_strip_nulls(
	    jsonb_build_object('code', e->'code', 'title', e->'title',
	    'message', e->'message', 'details', e->'error_data'->'details',
	    'href', e->'href')) END;
$$;

-- A contact as the API and every event show it.
CREATE OR REPLACE FUNCTION wa_contact_json(c contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', c.id,
	    'phone', '+' || c.wa_id,
	    'wa_id', c.wa_id,
	    'user_id', c.user_id,
	    'name', c.name,
	    'last_inbound_at', wa_iso(c.last_inbound_at),
	    'window_open', coalesce(c.last_inbound_at >
		now() - interval '24 hours', false),
	    'window_expires_at',
		wa_iso(c.last_inbound_at + interval '24 hours'),
	    'last_activity_at', wa_iso(c.last_activity_at),
	    'created_at', wa_iso(c.created_at));
$$;

-- A message as the API and every event show it, with the phone of its
-- contact given: a function called from a statement cannot see the
-- contact that same statement has just created (functions/ingest_batch.sql
-- passes it).
CREATE OR REPLACE FUNCTION wa_message_json(m messages, p_phone text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', m.wamid,
	    'db_id', m.id,
	    'contact_id', m.contact_id,
	    'phone', p_phone,
	    'direction', m.direction,
	    'type', m.type,
	    'text', m.text,
	    'media', CASE WHEN m.media_id IS NOT NULL THEN jsonb_build_object(
		'id', m.media_id, 'mime_type', m.media_mime,
		'sha256', m.media_sha256, 'filename', m.media_filename) END,
	    'content', m.content,
	    'context', CASE WHEN m.context_wamid IS NOT NULL THEN
		jsonb_build_object('message_id', m.context_wamid) END,
	    'forwarded', m.forwarded,
	    'frequently_forwarded', m.frequently_forwarded,
	    'status', m.status,
	    'status_times', m.status_times,
	    'error', m.error,
	    'timestamp', wa_iso(coalesce(m.meta_ts, m.created_at)),
	    'created_at', wa_iso(m.created_at));
$$;

-- The same, looking the contact's phone up. PL/pgSQL rather than SQL: the
-- lookup would keep a SQL function from being inlined, and a SQL function
-- that is not inlined is planned again on every call; here the lookup's
-- plan is cached per session.
CREATE OR REPLACE FUNCTION wa_message_json(m messages) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_phone	text;
BEGIN
	SELECT '+' || c.wa_id INTO v_phone FROM contacts c
	WHERE c.id = m.contact_id;
	RETURN wa_message_json(m, v_phone);
END $$;
