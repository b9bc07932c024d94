-- functions/jobs.sql: the job queue (table: 015_jobs.sql) and the steps
-- wa-jobd (jobd/) runs around each kind of job. Each step is one round
-- trip and one transaction.
--
-- Kinds:
--   poll_question  ref: a poll. Sends its question (functions/poll.sql).
--                  Not safe to run twice: a send Meta took cannot be undone.
--   poll_timeout   ref: a poll; run_at: its deadline. Ends it (timeout) if
--                  still open. Database work only: safe to run twice.
--   send           ref: a pending outgoing message (POST /api/v1/send/...
--                  with "queue": true). Sends it, retrying what Meta asks
--                  us to retry (jobd/send_jobs.c) until give_up_at. Not
--                  safe to run twice.
--   broadcast_item ref: a broadcast's recipient (functions/broadcasts.sql).
--                  Sent as a queued send is. Not safe to run twice.
--
-- Pacing: a job with a pace_key (the business number) starts no sooner
-- than its number's next slot, 1/mps apart (the tenant's settings.send_mps,
-- else wa-jobd's WA_SEND_MPS, 80), and than its recipient's next slot
-- (WA_SEND_RECIPIENT_GAP_MS apart): table job_pace (016_job_pace.sql).

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

-- Claims up to p_n due jobs for this session, oldest due first, each with
-- the ms its worker waits before it starts (its pace slot). SKIP LOCKED: a
-- job another dispatcher is claiming is left to it. claim is this
-- transaction's id: a worker starts a job only under the claim it was
-- handed (wa_job_start), so a job recovered and claimed again meanwhile is
-- never started twice.
--
-- Pacing: slots are handed out up to a second ahead. A job whose number
-- has no slot within that second stays queued (the session setting
-- wa.jobs_paced_until says when one frees, for wa_jobs_next_due); one
-- whose recipient has none is moved to when it has. The slot gap is
-- 1/mps plus 2%: network jitter between us and Meta must not put mps+1
-- sends in one of Meta's seconds.
CREATE OR REPLACE FUNCTION wa_jobs_claim(p_n int, p_mps int, p_gap_ms int)
RETURNS TABLE (id bigint, kind text, claim bigint, wait_ms int)
LANGUAGE plpgsql AS $$
DECLARE
	v_since	timestamptz;
	v_now	timestamptz := clock_timestamp();
	v_ahead	timestamptz := clock_timestamp() + interval '1 second';
	v_j	record;
	v_at	timestamptz;
	v_next	timestamptz;
	v_rkey	text;
	v_mps	float8;
	v_hint	timestamptz;
	v_n	int := 0;
BEGIN
	SELECT a.backend_start INTO v_since FROM pg_stat_activity a
	WHERE a.pid = pg_backend_pid();
	FOR v_j IN SELECT j.id, j.kind, j.pace_key, j.recipient, j.tenant_id
	    FROM jobs j WHERE j.state = 'queued' AND j.run_at <= v_now
	    ORDER BY j.run_at, j.id LIMIT p_n * 8 FOR UPDATE SKIP LOCKED LOOP
		v_at := v_now;
		v_rkey := NULL;
		IF v_j.pace_key IS NOT NULL THEN
			IF v_j.recipient IS NOT NULL AND p_gap_ms > 0 THEN
				v_rkey := v_j.pace_key || '/' || v_j.recipient;
				SELECT p.next_at INTO v_next FROM job_pace p
				WHERE p.key = v_rkey FOR UPDATE;
				IF v_next > v_ahead THEN
					UPDATE jobs SET run_at = v_next -
					    interval '1 second'
					WHERE jobs.id = v_j.id;
					CONTINUE;
				END IF;
				v_at := greatest(v_at, v_next);
			END IF;
			SELECT p.next_at INTO v_next FROM job_pace p
			WHERE p.key = v_j.pace_key FOR UPDATE;
			v_at := greatest(v_at, v_next);
			IF v_at > v_ahead THEN
				v_hint := least(v_hint, v_at - interval '1 second');
				CONTINUE;
			END IF;
			SELECT CASE WHEN t.settings->>'send_mps' ~
			    '^[0-9]{1,5}(\.[0-9]+)?$' THEN
			    (t.settings->>'send_mps')::float8 END INTO v_mps
			FROM tenants t WHERE t.id = v_j.tenant_id;
			v_mps := greatest(coalesce(v_mps, p_mps), 0.01);
			INSERT INTO job_pace AS p (key, next_at)
			VALUES (v_j.pace_key, v_at + make_interval(secs =>
			    1.02 / v_mps))
			ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
			IF v_rkey IS NOT NULL THEN
				INSERT INTO job_pace AS p (key, next_at)
				VALUES (v_rkey, v_at + make_interval(secs =>
				    p_gap_ms / 1000.0))
				ON CONFLICT (key) DO UPDATE
				SET next_at = EXCLUDED.next_at;
			END IF;
		END IF;
		UPDATE jobs j SET state = 'claimed', claim = txid_current(),
		    owner_pid = pg_backend_pid(), owner_since = v_since,
		    claimed_at = v_now
		WHERE j.id = v_j.id;
		id := v_j.id;
		kind := v_j.kind;
		claim := txid_current();
		wait_ms := ceil(extract(epoch FROM v_at - v_now) * 1000)::int;
		RETURN NEXT;
		v_n := v_n + 1;
		EXIT WHEN v_n >= p_n;
	END LOOP;
	PERFORM set_config('wa.jobs_paced_until', coalesce(v_hint::text, ''),
	    false);
END $$;

-- Seconds until the dispatcher should claim again (0: now), or NULL when
-- no job is queued: the next queued job's run_at, except that due jobs
-- held back by pacing (the last claim's wa.jobs_paced_until) wait for
-- their slot.
CREATE OR REPLACE FUNCTION wa_jobs_next_due() RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	v_now	timestamptz := clock_timestamp();
	v_hint	text := coalesce(current_setting('wa.jobs_paced_until', true),
		    '');
	v_at	timestamptz;
BEGIN
	SELECT min(j.run_at) INTO v_at FROM jobs j WHERE j.state = 'queued';
	IF v_at IS NULL THEN
		RETURN NULL;
	END IF;
	IF v_at <= v_now AND v_hint <> '' THEN
		SELECT least(v_hint::timestamptz, min(j.run_at)) INTO v_at
		FROM jobs j WHERE j.state = 'queued' AND j.run_at > v_now;
	END IF;
	RETURN greatest(0, extract(epoch FROM v_at - v_now))::float8;
END $$;

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
-- never silently resent (a broadcast's item is then counted as unknown:
-- wa_broadcast_item_unknown). Returns the jobs it touched, for the log.
CREATE OR REPLACE FUNCTION wa_jobs_recover()
RETURNS TABLE (id bigint, kind text, ref bigint, was_state text,
    new_state text)
LANGUAGE plpgsql AS $$
DECLARE
	v	record;
BEGIN
	FOR v IN
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
		coalesce(wa_iso(j.started_at), '?') || '): Meta may or may not '
		'have acted, so it is not resent') ELSE j.error END,
	    note = CASE WHEN g.was = 'running' AND NOT
		wa_job_resend_safe(j.kind) THEN 'outcome unknown, not resent'
		ELSE j.note END
	FROM gone g WHERE j.id = g.id
	RETURNING j.id, j.kind, j.ref, g.was, j.state
	LOOP
		IF v.state = 'unknown' AND v.kind = 'broadcast_item' THEN
			PERFORM wa_broadcast_item_unknown(v.ref);
		END IF;
		id := v.id;
		kind := v.kind;
		ref := v.ref;
		was_state := v.was;
		new_state := v.state;
		RETURN NEXT;
	END LOOP;
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

-- --- send ----------------------------------------------------------------------

-- The body a queued send is answered with (202), also kept for its
-- Idempotency-Key's replays.
CREATE OR REPLACE FUNCTION wa_job_queued_body(p_job bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT '{"ok":true,"queued":true,"job_id":' || p_job || '}';
$$;

-- Enqueues the send of a message wa_send_begin_checked has just stored as
-- pending, in the same statement (fcgi/outbox_msg.c: SELECT ... FROM
-- wa_send_begin_checked(...)), so one never exists without the other. NULL
-- when nothing was stored (a check failed, or an idempotent replay). The
-- job gives up after the tenant's settings.queue_give_up_s (default 3600).
CREATE OR REPLACE FUNCTION wa_job_send_add(p_msg bigint, p_tenant uuid,
    p_pnid text, p_to text, p_key text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v_id	bigint;
	v_s	jsonb;
BEGIN
	IF p_msg IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT t.settings INTO v_s FROM tenants t WHERE t.id = p_tenant;
	INSERT INTO jobs (tenant_id, kind, ref, pace_key, recipient,
	    give_up_at)
	VALUES (p_tenant, 'send', p_msg, p_pnid, p_to, now() +
	    make_interval(secs => CASE WHEN v_s->>'queue_give_up_s' ~
		'^[0-9]{1,7}$' THEN (v_s->>'queue_give_up_s')::int
		ELSE 3600 END))
	RETURNING id INTO v_id;
	IF p_key IS NOT NULL THEN
		UPDATE idempotency_keys SET status = 202,
		    response = wa_job_queued_body(v_id)
		WHERE tenant_id = p_tenant AND key = p_key;
	END IF;
	RETURN v_id;
END $$;

-- Before the Graph call: the attempt marked, and what the call needs (the
-- payload as stored with the message). go false: nothing to send (the
-- claim is gone, or the message is no longer pending: the job is done).
CREATE OR REPLACE FUNCTION wa_job_send_begin(p_job bigint, p_claim bigint,
    OUT go boolean, OUT msg_id bigint, OUT access_token text,
    OUT phone_number_id text, OUT payload jsonb, OUT attempts int)
LANGUAGE plpgsql AS $$
BEGIN
	go := false;
	IF NOT wa_job_start(p_job, p_claim) THEN
		RETURN;
	END IF;
	SELECT m.id, t.access_token, t.phone_number_id, m.raw, j.attempts
	INTO msg_id, access_token, phone_number_id, payload, attempts
	FROM jobs j JOIN messages m ON m.id = j.ref
	JOIN tenants t ON t.id = m.tenant_id
	WHERE j.id = p_job AND m.status = 'pending';
	IF NOT FOUND THEN
		PERFORM wa_job_end(p_job, NULL,
		    'nothing to send: the message is no longer pending');
		RETURN;
	END IF;
	go := true;
END $$;

-- After the last Graph call: the message's outcome (wa_send_finish, with
-- its message_outgoing event) and the job's. Only once, as
-- wa_job_poll_question_finish.
CREATE OR REPLACE FUNCTION wa_job_send_finish(p_job bigint, p_msg bigint,
    p_wamid text, p_error jsonb, p_note text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM jobs j WHERE j.id = p_job AND
	    j.state IN ('running', 'unknown') FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM wa_send_finish(p_msg, p_wamid, p_error, NULL, NULL, NULL,
	    false);
	PERFORM wa_job_end(p_job, p_error, p_note);
END $$;

-- Meta asked us to retry (jobd/send_jobs.c decides what that is and the
-- delay): the job is queued again p_delay_s from now, with the error that
-- caused it. False, and nothing changed, when that is past the job's
-- give_up_at: the caller ends it, recording why.
CREATE OR REPLACE FUNCTION wa_job_retry(p_job bigint, p_delay_s float8,
    p_error jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	v_at	timestamptz := clock_timestamp() +
		    make_interval(secs => p_delay_s);
BEGIN
	UPDATE jobs SET state = 'queued', run_at = v_at, error = p_error,
	    claim = NULL, owner_pid = NULL, owner_since = NULL,
	    note = 'attempt ' || attempts || ' failed; again at ' ||
		wa_iso(v_at)
	WHERE id = p_job AND state = 'running' AND
	    (give_up_at IS NULL OR v_at <= give_up_at);
	RETURN FOUND;
END $$;
