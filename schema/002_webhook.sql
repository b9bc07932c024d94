-- 002_webhook.sql: webhook ingestion. One call, wa_webhook_ingest(body),
-- stores a whole signed body (every entry x change x message / status /
-- error) inside the caller's single statement, so everything from one body
-- commits together or not at all, and the responder answers 200 only after
-- that COMMIT. Also the canonical JSON of a message and of a contact, which
-- the sending and conversation code reuse.
--
-- Exactly once: messages by UNIQUE (tenant_id, wamid); statuses by
-- (tenant_id, wamid, status); reactions, edits and deletions by their own
-- message id (plus emoji and timestamp: Meta may reuse a reaction's id).
-- Events are emitted only for rows that actually changed.

-- Whatever we could not place (unknown number, unknown field, a shape we
-- do not understand): kept whole, as a standalone body `wactl webhook
-- replay` can feed to wa_webhook_ingest() again.
CREATE TABLE webhook_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at	timestamptz NOT NULL DEFAULT now(),
	-- unknown_number | unknown_field | unknown_object | bad_shape |
	-- bad_item | errors (value.errors[], audit only) | ingest_error |
	-- invalid_json (raw set, body NULL)
	reason		text NOT NULL,
	phone_number_id	text,
	tenant_id	uuid REFERENCES tenants ON DELETE SET NULL,
	-- {"object", "entry": [one entry with one change]}, or the body
	body		jsonb,
	raw		text,	-- the bytes, when they were not JSON
	detail		text,
	attempts	int NOT NULL DEFAULT 0,	-- replays tried
	processed_at	timestamptz	-- NULL: waiting for a replay
);
CREATE INDEX webhook_log_pending ON webhook_log (id) WHERE processed_at IS NULL;

-- Every delivery report, once per (message, status), with Meta's JSON.
-- applied_at is NULL while the message it reports on is not known yet (the
-- send call has not stored its wamid): the messages trigger below applies
-- it when the wamid appears.
CREATE TABLE message_statuses (
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	wamid		text NOT NULL,
	status		text NOT NULL,
	meta_ts		timestamptz,
	raw		jsonb NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	applied_at	timestamptz,
	PRIMARY KEY (tenant_id, wamid, status)
);

-- Incoming reactions, edits and deletions: they change another message
-- rather than add a chat bubble. One row per update Meta sent, for
-- deduplication, ordering and audit. An edit or deletion whose original is
-- not known yet waits here (applied_at NULL).
CREATE TABLE message_updates (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	kind		text NOT NULL
			CHECK (kind IN ('reaction', 'edit', 'revoke')),
	wamid		text NOT NULL,	-- the update's own id
	target_wamid	text NOT NULL,	-- the message it changes
	emoji		text,		-- reactions: NULL clears
	meta_ts		timestamptz,
	raw		jsonb NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	applied_at	timestamptz
);
CREATE UNIQUE INDEX message_updates_once ON message_updates
	(tenant_id, wamid, kind, coalesce(emoji, ''),
	coalesce(meta_ts, '-infinity'));
CREATE INDEX message_updates_target ON message_updates
	(tenant_id, target_wamid, kind, meta_ts);
CREATE INDEX message_updates_pending ON message_updates
	(tenant_id, target_wamid) WHERE applied_at IS NULL;

-- --- small helpers ----------------------------------------------------------

-- Meta's timestamps are Unix seconds as strings; anything else is NULL.
CREATE FUNCTION wa_ts(s text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN s ~ '^[0-9]{1,11}$' THEN to_timestamp(s::bigint) END;
$$;

-- ISO 8601 UTC with microseconds, as the seed spec shows.
CREATE FUNCTION wa_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
$$;

CREATE FUNCTION wa_unix(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT floor(extract(epoch FROM t))::bigint::text;
$$;

-- An array as is; absent or JSON null as []; any other shape as NULL.
CREATE FUNCTION wa_arr(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN j IS NULL OR j = 'null' THEN '[]'::jsonb
	    WHEN jsonb_typeof(j) = 'array' THEN j END;
$$;

-- Transaction advisory lock keys, one space per tenant.
CREATE FUNCTION wa_lock_key(p_tenant uuid, p_what text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT hashtextextended(p_tenant::text || '/' || p_what, 20020);
$$;

-- Delivery order. failed sits between sent and delivered: it replaces
-- pending/accepted/sent (the message did not get through), while a
-- delivered/read/played report is proof it did and wins over a failed one.
CREATE FUNCTION wa_status_rank(s text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE s WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1
	    WHEN 'sent' THEN 2 WHEN 'failed' THEN 3 WHEN 'delivered' THEN 4
	    WHEN 'read' THEN 5 WHEN 'played' THEN 6 END;
$$;

-- One of Meta's error objects as {code, title, message, details, href}.
CREATE FUNCTION wa_error_json(e jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN jsonb_typeof(e) = 'object' THEN jsonb_strip_nulls(
	    jsonb_build_object('code', e->'code', 'title', e->'title',
	    'message', e->'message', 'details', e->'error_data'->'details',
	    'href', e->'href')) END;
$$;

-- --- canonical JSON ---------------------------------------------------------

CREATE FUNCTION wa_contact_json(c contacts) RETURNS jsonb
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

-- PL/pgSQL rather than SQL: the contact lookup would keep a SQL function
-- from being inlined, and a SQL function that is not inlined is planned
-- again on every call; here the lookup's plan is cached per session.
CREATE FUNCTION wa_message_json(m messages) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_phone	text;
BEGIN
	SELECT '+' || c.wa_id INTO v_phone FROM contacts c
	WHERE c.id = m.contact_id;
	RETURN jsonb_build_object(
	    'id', m.wamid,
	    'db_id', m.id,
	    'contact_id', m.contact_id,
	    'phone', v_phone,
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
END $$;

-- --- normalizing one message ------------------------------------------------

-- Whether a messages[] item can be placed: an object with a string id and
-- a sender, and for updates the message they change.
CREATE FUNCTION wa_msg_ok(m jsonb) RETURNS boolean
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
CREATE FUNCTION wa_msg_norm(m jsonb)
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

-- --- contacts ---------------------------------------------------------------

-- The contact for a sender (wa_id and/or BSUID), created when new. Safe
-- against a concurrent delivery creating the same contact.
CREATE FUNCTION wa_contact_resolve(p_tenant uuid, p_wa_id text,
    p_user_id text, p_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v_id	bigint;
	v_wa	text;
BEGIN
	FOR i IN 1..3 LOOP
		v_id := NULL;
		IF p_wa_id IS NOT NULL THEN
			SELECT id INTO v_id FROM contacts
			WHERE tenant_id = p_tenant AND wa_id = p_wa_id;
		END IF;
		IF v_id IS NULL AND p_user_id IS NOT NULL THEN
			SELECT id, wa_id INTO v_id, v_wa FROM contacts
			WHERE tenant_id = p_tenant AND user_id = p_user_id;
			-- Known by BSUID only so far: learn its phone.
			IF v_id IS NOT NULL AND v_wa IS NULL AND
			    p_wa_id IS NOT NULL THEN
				UPDATE contacts SET wa_id = p_wa_id
				WHERE id = v_id;
			END IF;
		END IF;
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
		-- No arbiter: a conflict on either unique index means someone
		-- else just created it; look again.
		INSERT INTO contacts (tenant_id, wa_id, user_id, name)
		VALUES (p_tenant, p_wa_id, p_user_id, p_name)
		ON CONFLICT DO NOTHING RETURNING id INTO v_id;
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
	END LOOP;
	RAISE EXCEPTION 'contact wa_id=% user_id=% cannot be resolved',
	    p_wa_id, p_user_id;
END $$;

-- Profile names and BSUIDs from value.contacts[] for contacts we know;
-- writes only rows that change (one unique-index lookup per entry).
CREATE FUNCTION wa_wh_contacts_refresh(p_tenant uuid, p_cts jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_ct	jsonb;
	v_wa	text;
	v_uid	text;
	v_name	text;
BEGIN
	-- By index rather than FOR ... IN SELECT: no query to set up.
	FOR i IN 0 .. jsonb_array_length(p_cts) - 1 LOOP
		v_ct := p_cts->i;
		CONTINUE WHEN jsonb_typeof(v_ct) IS DISTINCT FROM 'object';
		v_wa := v_ct->>'wa_id';
		v_uid := v_ct->>'user_id';
		v_name := v_ct->'profile'->>'name';
		IF v_wa IS NOT NULL THEN
			UPDATE contacts c SET name = coalesce(v_name, c.name),
			    user_id = coalesce(c.user_id, CASE WHEN NOT EXISTS (
				SELECT 1 FROM contacts o WHERE
				o.tenant_id = p_tenant AND o.user_id = v_uid)
				THEN v_uid END)
			WHERE c.tenant_id = p_tenant AND c.wa_id = v_wa AND
			    (c.name IS DISTINCT FROM
				coalesce(v_name, c.name) OR
			    (c.user_id IS NULL AND v_uid IS NOT NULL));
		ELSIF v_uid IS NOT NULL THEN
			UPDATE contacts c SET name = v_name
			WHERE c.tenant_id = p_tenant AND c.user_id = v_uid AND
			    v_name IS NOT NULL AND
			    c.name IS DISTINCT FROM v_name;
		END IF;
	END LOOP;
END $$;

-- --- statuses ---------------------------------------------------------------

-- Applies the waiting statuses of one outgoing message: NULL when no such
-- message (yet), else the number of events emitted (0 or 1). The status
-- never moves down wa_status_rank; every status keeps its time in
-- status_times; a failed one keeps Meta's error.
CREATE FUNCTION wa_status_apply(p_tenant uuid, p_wamid text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_m	messages;
	v_times	jsonb;
	v_best	text;
	v_err	jsonb;
	v_new	text;
BEGIN
	SELECT * INTO v_m FROM messages WHERE tenant_id = p_tenant AND
	    wamid = p_wamid AND direction = 'out' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	WITH claimed AS (
		UPDATE message_statuses SET applied_at = now()
		WHERE tenant_id = p_tenant AND wamid = p_wamid AND
		    applied_at IS NULL
		RETURNING status, meta_ts, raw)
	SELECT jsonb_object_agg(status, floor(extract(epoch FROM
	    coalesce(meta_ts, now())))::bigint),
	    (array_agg(status ORDER BY wa_status_rank(status) DESC NULLS LAST,
	    meta_ts DESC))[1],
	    (array_agg(raw->'errors'->0) FILTER (WHERE status = 'failed'))[1]
	INTO v_times, v_best, v_err FROM claimed;
	IF v_times IS NULL THEN
		RETURN 0;
	END IF;
	v_new := CASE WHEN coalesce(wa_status_rank(v_best), -1) >
	    coalesce(wa_status_rank(v_m.status), -1) THEN v_best
	    ELSE v_m.status END;
	UPDATE messages SET status = v_new,
	    status_times = status_times || v_times,
	    error = CASE WHEN v_times ? 'failed' THEN coalesce(
		wa_error_json(v_err), '{}') ELSE error END
	WHERE id = v_m.id;
	IF v_new IS NOT DISTINCT FROM v_m.status THEN
		RETURN 0;
	END IF;
	PERFORM wa_emit(p_tenant, 'message_status', jsonb_build_object(
	    'message_id', p_wamid, 'status', v_new,
	    'timestamp', v_times->>v_new) ||
	    CASE WHEN v_new = 'failed' THEN jsonb_build_object('error',
		coalesce(wa_error_json(v_err), '{}')) ELSE '{}' END);
	RETURN 1;
END $$;

-- statuses[] of one change: each stored once, then applied to its message.
CREATE FUNCTION wa_wh_statuses(p_tenant uuid, p_sts jsonb,
    OUT n_new int, OUT n_dup int, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_valid	int;
	v_wamids text[];
	v_w	text;
	v_r	int;
BEGIN
	n_events := 0;
	SELECT count(*) INTO v_valid FROM jsonb_array_elements(p_sts) s
	WHERE jsonb_typeof(s->'id') = 'string' AND
	    jsonb_typeof(s->'status') = 'string';
	WITH ins AS (
		INSERT INTO message_statuses (tenant_id, wamid, status,
		    meta_ts, raw)
		SELECT p_tenant, s->>'id', s->>'status',
		    wa_ts(s->>'timestamp'), s
		FROM jsonb_array_elements(p_sts) s
		WHERE jsonb_typeof(s->'id') = 'string' AND
		    jsonb_typeof(s->'status') = 'string'
		ON CONFLICT DO NOTHING
		RETURNING wamid)
	SELECT count(*), array_agg(DISTINCT wamid ORDER BY wamid)
	INTO n_new, v_wamids FROM ins;
	n_dup := v_valid - n_new;
	FOREACH v_w IN ARRAY coalesce(v_wamids, '{}') LOOP
		v_r := wa_status_apply(p_tenant, v_w);
		IF v_r IS NULL THEN
			-- Not visible: maybe the send that sets this wamid is
			-- committing right now. Its trigger takes the same lock
			-- before it looks for waiting statuses, so one of us
			-- sees the other's rows.
			PERFORM pg_advisory_xact_lock(wa_lock_key(p_tenant,
			    'wamid/' || v_w));
			v_r := wa_status_apply(p_tenant, v_w);
		END IF;
		n_events := n_events + coalesce(v_r, 0);
	END LOOP;
END $$;

-- When an outgoing message gets its wamid (inserted with one, or the send
-- code's UPDATE SET wamid after Meta answered), statuses that arrived
-- first are applied. Deferred to commit, so the send's own
-- message_outgoing event comes before the message_status events.
CREATE FUNCTION wa_messages_wamid_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(wa_lock_key(NEW.tenant_id,
	    'wamid/' || NEW.wamid));
	PERFORM wa_status_apply(NEW.tenant_id, NEW.wamid);
	RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER messages_wamid_insert AFTER INSERT ON messages
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.direction = 'out' AND NEW.wamid IS NOT NULL)
	EXECUTE FUNCTION wa_messages_wamid_set();
CREATE CONSTRAINT TRIGGER messages_wamid_update AFTER UPDATE OF wamid
	ON messages DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.direction = 'out' AND NEW.wamid IS NOT NULL AND
	    OLD.wamid IS DISTINCT FROM NEW.wamid)
	EXECUTE FUNCTION wa_messages_wamid_set();

-- --- edits and deletions ----------------------------------------------------

-- Applies one stored edit or revoke to the incoming message it targets:
-- NULL when that message is not known (yet), else events emitted (0, 1).
-- An edit older than one already applied, or any edit of a deleted
-- message, is recorded but changes nothing.
CREATE FUNCTION wa_update_apply(p_id bigint) RETURNS int
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
CREATE FUNCTION wa_wh_edits(p_tenant uuid, p_msgs jsonb,
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

-- --- reactions --------------------------------------------------------------

-- reaction items of one change: the newest reaction per target message
-- wins (a late, older one is recorded but changes nothing); an absent or
-- empty emoji clears. No chat bubble.
CREATE FUNCTION wa_wh_reactions(p_tenant uuid, p_msgs jsonb,
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

-- --- messages ---------------------------------------------------------------

-- The chat bubbles of one change (everything but reactions, edits and
-- deletions): contacts resolved, rows inserted once, media recorded, the
-- contacts' times moved, and message_incoming (plus button_clicked /
-- selection_made) emitted for the rows actually inserted.
CREATE FUNCTION wa_wh_messages(p_tenant uuid, p_msgs jsonb, p_cts jsonb,
    OUT n_new int, OUT n_dup int, OUT n_events int)
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
	PERFORM pg_notify('wa_events', '');

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

-- --- the body ---------------------------------------------------------------

-- What one body (or one part of it) did; summed as parts are processed.
CREATE TYPE wa_wh_counts AS (
	messages	int,	-- new rows stored, by kind
	statuses	int,
	reactions	int,
	edits		int,	-- edits and deletions
	duplicates	int,	-- items already stored: no row, no event
	events		int,	-- events emitted
	logged		int,	-- webhook_log rows written
	unplaced	int	-- items or changes we could not place
);

CREATE FUNCTION wa_wh_zero() RETURNS wa_wh_counts
LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(0, 0, 0, 0, 0, 0, 0, 0)::wa_wh_counts;
$$;

-- PL/pgSQL: as SQL it could not be inlined (each argument is used eight
-- times and is usually a function call), and a SQL function that is not
-- inlined is parsed and planned again on every call.
CREATE FUNCTION wa_wh_sum(a wa_wh_counts, b wa_wh_counts)
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
CREATE FUNCTION wa_webhook_log(p_reason text, p_pnid text, p_tenant uuid,
    p_body jsonb, p_detail text, p_replay boolean,
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
CREATE FUNCTION wa_wh_bad_items(v jsonb) RETURNS int
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
CREATE FUNCTION wa_wh_value(p_tenant uuid, p_value jsonb)
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
CREATE FUNCTION wa_wh_one(p_object jsonb, p_entry jsonb, p_change jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('object', p_object, 'entry',
	    jsonb_build_array((p_entry - 'changes') ||
	    jsonb_build_object('changes', jsonb_build_array(p_change))));
$$;

-- One change of an entry: routed to its tenant by phone_number_id, or
-- logged whole (wa_wh_one, built only then) when it cannot be placed.
CREATE FUNCTION wa_wh_change(p_object jsonb, p_entry jsonb, p_change jsonb,
    p_replay boolean) RETURNS wa_wh_counts
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

-- The contract (the responder's one round trip, and wactl's replay):
--   SELECT wa_webhook_ingest(body::jsonb [, replay])
-- stores every entry x change x messages/statuses/errors of the body in the
-- caller's transaction and returns wa_wh_counts as a JSON object:
--   {"messages", "statuses", "reactions", "edits", "duplicates",
--    "events", "logged", "unplaced"}
-- It never raises for the body's content: a shape it cannot place is
-- logged (and counted), and a data error anywhere rolls back the partial
-- work and logs the whole body as ingest_error. It raises only for what a
-- retry may cure (lost connection, deadlock, serialization, resources),
-- so the responder answers 5xx and Meta retries. With replay, nothing is
-- logged again.
--
-- Generic plans for everything it runs: their statements take ids, arrays
-- and JSON as parameters, and for several the planner's guesses make a
-- custom plan look cheaper, so it would plan them again on every call,
-- which costs more than running them (every lookup is by an index either
-- way).
CREATE FUNCTION wa_webhook_ingest(p_body jsonb,
    p_replay boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
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
		IF left(v_state, 2) IN ('08', '40', '53', '55', '57', '58',
		    'XX') THEN
			RAISE;
		END IF;
		v_c := wa_webhook_log('ingest_error', NULL, NULL, p_body,
		    v_state || ': ' || v_text, p_replay);
	END;
	RETURN to_jsonb(v_c);
END $$;

-- Re-ingests one webhook_log row (e.g. once its number's tenant exists)
-- and marks it processed when everything in it could be placed. Safe to
-- run twice or concurrently: the row is locked and ingestion is exactly
-- once. Returns the ingest counts plus {"id", "result"}: processed |
-- unplaced | already_processed | not_json | not_found.
CREATE FUNCTION wa_webhook_replay(p_id bigint) RETURNS jsonb
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
