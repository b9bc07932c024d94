-- functions/jobs.sql: the job queue (table: 015_jobs.sql) and the steps
-- wa-jobd (jobd/) runs around each kind of job. Each step is one round
-- trip and one transaction.
--
-- Kinds:
--   poll_question  ref: a poll. Sends its question (functions/poll.sql).
--                  Not safe to run twice: a send Meta took cannot be undone.
--   poll_timeout   ref: a poll; run_at: its deadline. Ends it (timeout) if
--                  still open. Database work only: safe to run twice.

-- --- enqueueing -------------------------------------------------------------

-- Jobs wake wa-jobd only while it sleeps, as events wake wa-pushd
-- (functions/events.sql): a NOTIFY makes its commit hold a database-wide
-- lock through the WAL flush, so notifying commits cannot share a flush.
-- While wa-jobd's dispatcher looks for work it holds advisory lock 4242007
-- ("jobs awake"); every transaction that added jobs holds 4242008 ("jobs in
-- flight") shared until it ends, and notifies wa_jobs only when nobody is
-- awake. The dispatcher sleeps only after a look that began when it was not
-- awake and nobody held "in flight" (jobd/queue.c), so every job is either
-- seen by that look or notified. Once per statement (a trigger below): a
-- broadcast's 100,000 items cost one call.
CREATE OR REPLACE FUNCTION wa_jobs_wake() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	v_void	boolean;
BEGIN
	v_void := pg_advisory_xact_lock_shared(4242008) IS NULL;
	IF pg_try_advisory_lock_shared(4242007) THEN
		v_void := pg_advisory_unlock_shared(4242007);
		v_void := pg_notify('wa_jobs', '') IS NULL;
		RETURN true;
	END IF;
	RETURN false;
END $$;

CREATE OR REPLACE FUNCTION wa_jobs_added() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_void	boolean;
BEGIN
	v_void := wa_jobs_wake();
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER jobs_wake AFTER INSERT ON jobs
	FOR EACH STATEMENT EXECUTE FUNCTION wa_jobs_added();

-- --- the dispatcher's side (jobd/queue.c) ------------------------------------

-- Claims up to p_n due jobs for this session, oldest due first. SKIP
-- LOCKED: a job another dispatcher is claiming is left to it. claim is
-- this transaction's id: a worker starts a job only under the claim it was
-- handed (wa_job_start), so a job recovered and claimed again meanwhile is
-- never started twice.
CREATE OR REPLACE FUNCTION wa_jobs_claim(p_n int)
RETURNS TABLE (id bigint, kind text, claim bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_since	timestamptz;
BEGIN
	SELECT a.backend_start INTO v_since FROM pg_stat_activity a
	WHERE a.pid = pg_backend_pid();
	RETURN QUERY
	WITH c AS (
		SELECT j.id FROM jobs j
		WHERE j.state = 'queued' AND j.run_at <= clock_timestamp()
		ORDER BY j.run_at, j.id LIMIT p_n FOR UPDATE SKIP LOCKED
	)
	UPDATE jobs j SET state = 'claimed', claim = txid_current(),
	    owner_pid = pg_backend_pid(), owner_since = v_since,
	    claimed_at = clock_timestamp()
	FROM c WHERE j.id = c.id
	RETURNING j.id, j.kind, j.claim;
END $$;

-- Seconds until the next queued job is due (0 when one is), or NULL when
-- none is queued: how long the dispatcher may sleep.
CREATE OR REPLACE FUNCTION wa_jobs_next_due() RETURNS float8
LANGUAGE sql STABLE AS $$
	SELECT greatest(0, extract(epoch FROM min(run_at) -
	    clock_timestamp()))::float8
	FROM jobs WHERE state = 'queued';
$$;

-- Whether a job of this kind may run again after an attempt whose outcome
-- is unknown (its worker died during it).
CREATE OR REPLACE FUNCTION wa_job_resend_safe(p_kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT p_kind IN ('poll_timeout');
$$;

-- Jobs held by sessions that are gone (a wa-jobd that died, or lost its
-- connection), and jobs claimed minutes ago that no worker started (the
-- start's connection died before it committed; a worker starts a job
-- within a second of its claim): claimed ones go back to the queue,
-- nothing was tried; a
-- running one was mid-attempt, so it is queued again only when its kind is
-- safe to run twice, and otherwise ends as 'unknown' with why: reported,
-- never silently resent. Returns the jobs it touched, for the log.
CREATE OR REPLACE FUNCTION wa_jobs_recover()
RETURNS TABLE (id bigint, kind text, ref bigint, was_state text,
    new_state text)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY
	WITH gone AS (
		SELECT j.id, j.state AS was FROM jobs j
		WHERE j.state IN ('claimed', 'running') AND (NOT EXISTS (
		    SELECT 1 FROM pg_stat_activity a
		    WHERE a.pid = j.owner_pid AND
			a.backend_start = j.owner_since) OR
		    (j.state = 'claimed' AND
			j.claimed_at < now() - interval '2 minutes'))
		FOR UPDATE OF j SKIP LOCKED
	)
	UPDATE jobs j SET
	    state = CASE WHEN g.was = 'claimed' OR
		wa_job_resend_safe(j.kind) THEN 'queued' ELSE 'unknown' END,
	    claim = NULL, owner_pid = NULL, owner_since = NULL,
	    finished_at = CASE WHEN g.was = 'running' AND NOT
		wa_job_resend_safe(j.kind) THEN now() END,
	    error = CASE WHEN g.was = 'running' AND NOT
		wa_job_resend_safe(j.kind) THEN jsonb_build_object(
		'code', 'outcome_unknown', 'message', 'the worker ended during '
		'attempt ' || j.attempts || ' (started ' ||
		coalesce(wa_iso(j.started_at), '?') || '): Meta may or may not have acted, '
		'so it is not resent') ELSE j.error END,
	    note = CASE WHEN g.was = 'running' AND NOT
		wa_job_resend_safe(j.kind) THEN 'outcome unknown, not resent'
		ELSE j.note END
	FROM gone g WHERE j.id = g.id
	RETURNING j.id, j.kind, j.ref, g.was, j.state;
END $$;

-- Finished jobs are kept a while for people to look at, then deleted; a
-- few at a time, from the dispatcher's sweep.
CREATE OR REPLACE FUNCTION wa_jobs_purge() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_n	int;
BEGIN
	DELETE FROM jobs WHERE id IN (SELECT j.id FROM jobs j
	    WHERE j.state IN ('done', 'failed', 'unknown', 'cancelled') AND
		j.finished_at < now() - interval '30 days'
	    LIMIT 1000);
	GET DIAGNOSTICS v_n = ROW_COUNT;
	RETURN v_n;
END $$;

-- --- a worker's side (jobd/kinds.c) -------------------------------------------

-- Marks the attempt: claimed -> running under the claim the worker was
-- handed. False when the job is no longer that claim's (recovered and
-- claimed again, or cancelled): the worker leaves it.
-- From here the job is the worker's session's (owner_*): if that session
-- ends before the job does, recovery knows the attempt's outcome is
-- unknown.
CREATE OR REPLACE FUNCTION wa_job_start(p_job bigint, p_claim bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	UPDATE jobs SET state = 'running', attempts = attempts + 1,
	    started_at = clock_timestamp(), owner_pid = pg_backend_pid(),
	    owner_since = (SELECT a.backend_start FROM pg_stat_activity a
		WHERE a.pid = pg_backend_pid())
	WHERE id = p_job AND state = 'claimed' AND claim = p_claim;
	RETURN FOUND;
END $$;

-- Ends a job: done (p_error NULL) or failed with why. A job recovered as
-- 'unknown' while its worker was in fact alive gets its real outcome.
CREATE OR REPLACE FUNCTION wa_job_end(p_job bigint, p_error jsonb,
    p_note text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE jobs SET state = CASE WHEN p_error IS NULL THEN 'done'
		ELSE 'failed' END,
	    error = p_error, note = p_note, finished_at = clock_timestamp(),
	    owner_pid = NULL, owner_since = NULL
	WHERE id = p_job AND state IN ('running', 'unknown');
END $$;

-- --- poll_question -----------------------------------------------------------

-- Before the Graph call, in one transaction: the attempt marked, and the
-- question stored as a pending message (wa_poll_send_begin). go false:
-- nothing to send (the claim is gone, or the poll ended or has its
-- question already; the job is then done).
CREATE OR REPLACE FUNCTION wa_job_poll_question_begin(p_job bigint,
    p_claim bigint, OUT go boolean, OUT msg_id bigint,
    OUT access_token text, OUT phone_number_id text, OUT payload jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_poll	bigint;
BEGIN
	go := false;
	IF NOT wa_job_start(p_job, p_claim) THEN
		RETURN;
	END IF;
	SELECT j.ref INTO v_poll FROM jobs j WHERE j.id = p_job;
	SELECT b.msg_id, b.access_token, b.phone_number_id, b.payload
	INTO msg_id, access_token, phone_number_id, payload
	FROM wa_poll_send_begin(v_poll) b;
	IF msg_id IS NULL THEN
		PERFORM wa_job_end(p_job, NULL,
		    'nothing to send: the poll ended or its question is out');
		RETURN;
	END IF;
	go := true;
END $$;

-- After the Graph call, in one transaction: the question's outcome
-- (wa_poll_send_finish: the message, poll_started or poll_ended failed)
-- and the job's. Only once: a second call (a retry after a lost
-- connection) finds the job ended and records nothing.
CREATE OR REPLACE FUNCTION wa_job_poll_question_finish(p_job bigint,
    p_msg bigint, p_wamid text, p_error jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_poll	bigint;
BEGIN
	SELECT j.ref INTO v_poll FROM jobs j WHERE j.id = p_job AND
	    j.state IN ('running', 'unknown') FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM wa_poll_send_finish(v_poll, p_msg, p_wamid, p_error);
	PERFORM wa_job_end(p_job, p_error, CASE WHEN p_wamid IS NULL THEN
	    'Meta refused the question' ELSE 'sent ' || p_wamid END);
END $$;

-- --- poll_timeout ------------------------------------------------------------

-- The whole job in one transaction: the poll ended as timed out if it is
-- still open, and the job done. True when it ended the poll.
CREATE OR REPLACE FUNCTION wa_job_poll_timeout(p_job bigint, p_claim bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	v_poll	bigint;
	v_n	int := 0;
BEGIN
	IF NOT wa_job_start(p_job, p_claim) THEN
		RETURN false;
	END IF;
	SELECT j.ref INTO v_poll FROM jobs j WHERE j.id = p_job;
	IF EXISTS (SELECT 1 FROM polls p WHERE p.id = v_poll AND
	    p.status = 'open' AND p.deadline <= clock_timestamp()) THEN
		v_n := wa_poll_end(v_poll, 'timeout');
	END IF;
	PERFORM wa_job_end(p_job, NULL, CASE v_n WHEN 1 THEN 'timed out'
	    ELSE 'already over' END);
	RETURN v_n = 1;
END $$;
