-- 017_broadcasts.sql: broadcasts (issue 15, step 3): one template sent to
-- a list of up to 100,000 recipients, each with its own parameters if it
-- likes, from an optional start time. Each recipient is a broadcast_item
-- job (015_jobs.sql), paced with the number's other sends; counts follow
-- the messages' status webhooks.
--
-- Tables only; creating, sending, counting and cancelling are in
-- functions/broadcasts.sql.

CREATE TABLE broadcasts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	-- Meta's template object without its components, and the
	-- components of recipients that bring none.
	template	jsonb NOT NULL,
	components	jsonb,
	status		text NOT NULL DEFAULT 'scheduled' CHECK (status IN
			    ('scheduled', 'running', 'done', 'cancelled')),
	start_at	timestamptz NOT NULL,
	total		int NOT NULL,		-- recipients kept
	duplicates	int NOT NULL DEFAULT 0,	-- numbers listed twice, dropped
	-- Items ended (sent, failed, unknown, skipped, cancelled): progress
	-- events at each twentieth, and done when it reaches total.
	ended		int NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz
);
CREATE INDEX broadcasts_tenant ON broadcasts (tenant_id, id);

CREATE TABLE broadcast_recipients (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	broadcast_id	bigint NOT NULL REFERENCES broadcasts ON DELETE CASCADE,
	wa_id		text NOT NULL,
	components	jsonb,			-- NULL: the broadcast's
	-- queued -> sending (its message stored, Meta being called) -> sent
	-- | failed | unknown (the worker died mid-call: not resent); or
	-- skipped (opted out), cancelled.
	state		text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued',
			    'sending', 'sent', 'failed', 'unknown', 'skipped',
			    'cancelled')),
	message_id	bigint REFERENCES messages ON DELETE SET NULL
);
CREATE INDEX broadcast_recipients_of ON broadcast_recipients
	(broadcast_id, state);
