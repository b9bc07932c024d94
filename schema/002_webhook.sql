-- 002_webhook.sql: what webhook ingestion stores besides messages and
-- contacts: what could not be placed (webhook_log), delivery reports
-- (message_statuses), incoming reactions, edits and deletions
-- (message_updates), and the summary type one body's ingestion returns.
--
-- Exactly once: messages by UNIQUE (tenant_id, wamid); statuses by
-- (tenant_id, wamid, status); reactions, edits and deletions by their own
-- message id (plus emoji and timestamp: Meta may reuse a reaction's id).
--
-- Tables and types only; the code that fills them is in schema/functions/
-- (ingest.sql is the entry point, wa_webhook_ingest()).

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
-- send call has not stored its wamid): a trigger on messages
-- (functions/statuses.sql) applies it when the wamid appears.
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
