-- functions/message_types.sql: how each of Meta's message types is stored.
-- wa_msg_norm() is the one place that maps an item of value.messages[] to
-- the columns of `messages` (type, text, media, content, ...): the general
-- path and edits store through it, and the batched path's C reader
-- (shared/wh_parse.c, take_columns and content_json) does exactly what it
-- does: change one, change the other (tests/unit/test_wh_parse.c and
-- tests/e2e/test_webhook_batch_path.py hold them together). A new type
-- Meta adds is stored as 'unknown' (raw keeps it) until it is named here.

-- Whether a messages[] item can be placed: an object with a string id and
-- a sender, and for updates the message they change.
CREATE OR REPLACE FUNCTION wa_msg_ok(m jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT coalesce(jsonb_typeof(m) = 'object' AND
	    jsonb_typeof(m->'id') = 'string' AND
	    (jsonb_typeof(m->'from') = 'string' OR
	    jsonb_typeof(m->'from_user_id') = 'string') AND
	    CASE m->>'type'
	    WHEN 'reaction' THEN
		jsonb_typeof(m->'reaction'->'message_id') = 'string'
	    WHEN 'edit' THEN
		jsonb_typeof(m->'edit'->'original_message_id') = 'string'
	    WHEN 'revoke' THEN
		jsonb_typeof(m->'revoke'->'original_message_id') = 'string'
	    ELSE true END, false);
$$;

-- The columns of `messages` for one of Meta's message objects. Never
-- raises: a payload of the wrong shape gives NULL columns (raw keeps it).
-- audio with voice:true is type 'voice'; types we do not know are
-- 'unknown' with content.meta_type holding Meta's name.
CREATE OR REPLACE FUNCTION wa_msg_norm(m jsonb)
RETURNS TABLE (type text, text text, media_id text, media_mime text,
    media_sha256 text, media_filename text, content jsonb,
    context_wamid text, forwarded boolean, frequently_forwarded boolean,
    meta_ts timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT
	    CASE WHEN x.t = 'audio' AND x.p->'voice' = 'true' THEN 'voice'
		WHEN x.known THEN x.t ELSE 'unknown' END,
	    CASE WHEN x.t = 'text' THEN x.p->>'body'
		WHEN x.t IN ('image', 'video', 'document') THEN x.p->>'caption'
		WHEN x.t = 'interactive' THEN coalesce(
		    x.p->'button_reply'->>'title', x.p->'list_reply'->>'title',
		    x.p->'nfm_reply'->>'body')
		WHEN x.t IN ('button', 'order') THEN x.p->>'text'
		WHEN x.t = 'system' THEN x.p->>'body' END,
	    CASE WHEN x.media THEN x.p->>'id' END,
	    CASE WHEN x.media THEN x.p->>'mime_type' END,
	    CASE WHEN x.media THEN x.p->>'sha256' END,
	    CASE WHEN x.media THEN x.p->>'filename' END,
	    nullif(coalesce(CASE
		WHEN x.t = 'audio' THEN jsonb_build_object('voice',
		    coalesce(x.p->'voice' = 'true', false))
		WHEN x.t = 'sticker' THEN jsonb_build_object('animated',
		    coalesce(x.p->'animated' = 'true', false))
		WHEN x.t IN ('location', 'interactive', 'button', 'order',
		    'system') THEN x.p
		WHEN x.t = 'contacts' THEN
		    jsonb_build_object('contacts', m->'contacts')
		WHEN x.t = 'unsupported' THEN
		    jsonb_build_object('unsupported', m->'unsupported')
		WHEN NOT x.known THEN jsonb_build_object('meta_type', x.t)
	    END, '{}') || jsonb_strip_nulls(jsonb_build_object(
		'errors', m->'errors', 'referral', m->'referral',
		'referred_product', m->'context'->'referred_product',
		'group_id', m->'group_id')), '{}'),
	    m->'context'->>'id',
	    coalesce(m->'context'->'forwarded' = 'true', false),
	    coalesce(m->'context'->'frequently_forwarded' = 'true', false),
	    wa_ts(m->>'timestamp')
	FROM (SELECT y.t, y.known,
	    y.t IN ('image', 'video', 'audio', 'document', 'sticker') AS media,
	    CASE WHEN jsonb_typeof(m->y.t) = 'object' THEN m->y.t END AS p
	    FROM (SELECT m->>'type' AS t, coalesce(m->>'type' IN ('text',
		'image', 'video', 'audio', 'document', 'sticker', 'location',
		'contacts', 'interactive', 'button', 'order', 'system',
		'unsupported', 'request_welcome'), false) AS known) y) x;
$$;
