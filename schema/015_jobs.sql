-- 015_jobs.sql: the durable job queue (issue 15). Work that must happen
-- after a change commits, and must not be lost or done twice, is a row of
-- jobs written in the transaction of its cause: a job never runs before its
-- cause commits (it is not visible before), and is never lost (it commits
-- with it). wa-jobd (jobd/) claims due jobs with FOR UPDATE SKIP LOCKED,
-- so several wa-jobd on several machines can share the queue.
--
-- A job's life: queued -> claimed (a wa-jobd took it; owner_* name that
-- process's database session) -> running (the attempt is marked, in the
-- same transaction as whatever the attempt writes first, before any call
-- to Meta) -> done | failed | queued again (a retry at run_at). A claimed
-- job whose owner session is gone goes back to queued (nothing was tried);
-- a running one is "unknown" (Meta may or may not have acted: reported,
-- not resent), unless its kind is safe to run twice (functions/jobs.sql).
--
-- Tables only; what each kind does is in functions/jobs.sql and jobd/.

CREATE TABLE jobs (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid REFERENCES tenants ON DELETE CASCADE,
	kind		text NOT NULL,		-- poll_question, poll_timeout, ...
	ref		bigint,			-- the row it concerns (a poll, ...)
	payload		jsonb,			-- whatever else the kind needs
	state		text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued',
			    'claimed', 'running', 'done', 'failed', 'unknown',
			    'cancelled')),
	run_at		timestamptz NOT NULL DEFAULT now(),
	attempts	int NOT NULL DEFAULT 0,
	-- Pacing (functions/jobs.sql): the business number whose rate it
	-- counts against, and the recipient (Meta's pair rate limit).
	pace_key	text,
	recipient	text,
	-- Retries stop here; the job then fails with why.
	give_up_at	timestamptz,
	-- The claim: the claiming transaction's id, and the claimer's
	-- session (pg_stat_activity's pid and backend_start).
	claim		bigint,
	owner_pid	int,
	owner_since	timestamptz,
	claimed_at	timestamptz,
	started_at	timestamptz,
	finished_at	timestamptz,
	error		jsonb,			-- why it failed, or what is unknown
	note		text,			-- how it ended, for people
	created_at	timestamptz NOT NULL DEFAULT now()
);
-- What the claim scans: due jobs in run_at order.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
-- What recovery scans: jobs held by some session.
CREATE INDEX jobs_held ON jobs (owner_pid) WHERE state IN ('claimed',
    'running');
-- A poll's jobs, a broadcast's items: by what they concern.
CREATE INDEX jobs_ref ON jobs (kind, ref);

-- Open polls of a database migrated while wa-pushd ended them: their
-- deadlines become jobs (their questions went out, or never will).
INSERT INTO jobs (tenant_id, kind, ref, run_at)
SELECT tenant_id, 'poll_timeout', id, deadline FROM polls
WHERE status = 'open';
