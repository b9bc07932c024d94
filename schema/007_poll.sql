-- 007_poll.sql: the /poll auto-reply (seed spec 2.2 step 6, issue 7). A
-- contact's text "/poll" opens a poll: the responder that answered the
-- webhook then sends an interactive reply-button question; the contact's
-- button reply (or a text equal to an option's title) answers it, "/cancel"
-- cancels it, and wa-pushd ends it when its deadline passes. All state is
-- here, so any responder (or pushd) can continue any poll.
--
-- Tenant settings (tenants.settings): "poll" (true enables it; absent is
-- off, and `wactl tenant add` spells it true when WA_ENV=dev),
-- "poll_timeout_s" (default 60), "poll_question" and "poll_options" (a
-- JSON array of at most 3 {"id", "title"}, titles of at most 20
-- characters: Meta's reply-button limits).
--
-- Tables only; how a poll starts, is answered and ends is in
-- functions/poll.sql.

CREATE TABLE polls (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	contact_id	bigint NOT NULL REFERENCES contacts ON DELETE CASCADE,
	trigger_wamid	text NOT NULL,		-- the contact's "/poll"
	question	text NOT NULL,
	options		jsonb NOT NULL,		-- [{"id", "title"}]
	message_id	bigint,			-- our question, once stored
	question_wamid	text,			-- ... and once Meta took it
	status		text NOT NULL DEFAULT 'open' CHECK (status IN ('open',
			    'answered', 'cancelled', 'timeout', 'failed')),
	answer		jsonb,			-- the option chosen
	deadline	timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	ended_at	timestamptz
);
-- One open poll per contact: a second "/poll" (even one racing in another
-- responder) finds this index, not a check that could pass twice.
CREATE UNIQUE INDEX polls_one_open ON polls (tenant_id, contact_id)
	WHERE status = 'open';
CREATE INDEX polls_open_deadline ON polls (deadline) WHERE status = 'open';
