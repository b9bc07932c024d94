-- functions/broadcasts.sql: broadcasts (tables: 017_broadcasts.sql). The
-- API creates one (wa_broadcast_create: the list, a broadcast_item job per
-- recipient, all in one transaction), reads it (wa_broadcast_json) and
-- cancels it; wa-jobd sends each item (wa_job_broadcast_begin/finish,
-- around the Graph call, as a queued send: functions/jobs.sql) and emits
-- broadcast_progress at each twentieth of the list ended, and
-- broadcast_done once every recipient is accounted for.

-- Issue 18's hook: which of p_wa_ids opted out of marketing messages from
-- p_tenant (Meta's user_preferences webhook). None until that data exists:
-- issue 18 redefines this function, same signature, to read it. A
-- recipient it names is skipped, and counted, when the broadcast is made
-- and again just before its message would go.
CREATE OR REPLACE FUNCTION wa_broadcast_opted_out(p_tenant uuid,
    p_wa_ids text[]) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
	SELECT NULL::text WHERE false;
$$;

-- Where each recipient stands, from its row and its message's status
-- (which the status webhooks move): queued, sent, delivered, read,
-- failed, unknown, skipped or cancelled. Every recipient is in exactly
-- one, so they add up to total.
CREATE OR REPLACE FUNCTION wa_broadcast_counts(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	WITH s AS (
		SELECT CASE
		    WHEN r.state IN ('skipped', 'cancelled', 'unknown')
			THEN r.state
		    WHEN r.state = 'failed' OR m.status = 'failed'
			THEN 'failed'
		    WHEN m.status IN ('read', 'played') THEN 'read'
		    WHEN m.status = 'delivered' THEN 'delivered'
		    WHEN m.status IN ('accepted', 'sent') THEN 'sent'
		    ELSE 'queued' END AS st
		FROM broadcast_recipients r
		LEFT JOIN messages m ON m.id = r.message_id
		WHERE r.broadcast_id = p_id
	)
	SELECT jsonb_build_object(
	    'queued', count(*) FILTER (WHERE st = 'queued'),
	    'sent', count(*) FILTER (WHERE st = 'sent'),
	    'delivered', count(*) FILTER (WHERE st = 'delivered'),
	    'read', count(*) FILTER (WHERE st = 'read'),
	    'failed', count(*) FILTER (WHERE st = 'failed'),
	    'unknown', count(*) FILTER (WHERE st = 'unknown'),
	    'skipped', count(*) FILTER (WHERE st = 'skipped'),
	    'cancelled', count(*) FILTER (WHERE st = 'cancelled'))
	FROM s;
$$;

-- The broadcast as the API shows it (GET /api/v1/broadcasts/{id}).
CREATE OR REPLACE FUNCTION wa_broadcast_json(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', b.id, 'status', b.status,
	    'template', b.template->>'name',
	    'language', b.template->'language'->>'code',
	    'start_at', wa_iso(b.start_at), 'created_at', wa_iso(b.created_at),
	    'finished_at', wa_iso(b.finished_at), 'total', b.total,
	    'duplicates', b.duplicates, 'counts', wa_broadcast_counts(b.id))
	FROM broadcasts b WHERE b.id = p_id;
$$;

-- An event about the broadcast (broadcast_progress, broadcast_done):
-- {broadcast_id, status, total, counts}.
CREATE OR REPLACE FUNCTION wa_broadcast_emit(p_id bigint, p_name text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_b	broadcasts;
BEGIN
	SELECT * INTO v_b FROM broadcasts WHERE id = p_id;
	PERFORM wa_emit(v_b.tenant_id, p_name, jsonb_build_object(
	    'broadcast_id', v_b.id, 'status', v_b.status, 'total', v_b.total,
	    'counts', wa_broadcast_counts(v_b.id)));
END $$;

-- p_n more items ended: a progress event when that crosses a twentieth of
-- the list, and broadcast_done (status done, unless cancelled) once none
-- is queued or being sent.
CREATE OR REPLACE FUNCTION wa_broadcast_ended(p_id bigint, p_n int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_b	broadcasts;
	v_step	int;
BEGIN
	UPDATE broadcasts SET ended = ended + p_n WHERE id = p_id
	RETURNING * INTO v_b;
	IF NOT FOUND OR v_b.finished_at IS NOT NULL THEN
		RETURN;
	END IF;
	IF v_b.ended >= v_b.total OR NOT EXISTS (SELECT 1
	    FROM broadcast_recipients r WHERE r.broadcast_id = p_id AND
	    r.state IN ('queued', 'sending')) THEN
		UPDATE broadcasts SET finished_at = now(),
		    status = CASE status WHEN 'cancelled' THEN 'cancelled'
			ELSE 'done' END
		WHERE id = p_id;
		PERFORM wa_broadcast_emit(p_id, 'broadcast_done');
		RETURN;
	END IF;
	v_step := greatest(1, v_b.total / 20);
	IF v_b.ended / v_step > (v_b.ended - p_n) / v_step THEN
		PERFORM wa_broadcast_emit(p_id, 'broadcast_progress');
	END IF;
END $$;

-- --- the API's side (fcgi/api_broadcasts.c) ----------------------------------

-- Makes a broadcast: the list (numbers listed twice kept once), its
-- opted-out recipients skipped, and a broadcast_item job per other
-- recipient due at p_start (NULL or past: now), paced with the number's
-- sends. One transaction: the list and its jobs exist together or not at
-- all. Returns the broadcast's JSON (wa_broadcast_json: read here, as a
-- statement of its own, since a STABLE function called by the caller's
-- statement would not see these rows).
CREATE OR REPLACE FUNCTION wa_broadcast_create(p_tenant uuid,
    p_template jsonb, p_components jsonb, p_start timestamptz,
    p_to text[], p_params jsonb[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_id	bigint;
	v_pnid	text;
	v_start	timestamptz := greatest(coalesce(p_start, now()), now());
	v_total	int;
	v_skip	int;
BEGIN
	SELECT t.phone_number_id INTO v_pnid FROM tenants t
	WHERE t.id = p_tenant;
	INSERT INTO broadcasts (tenant_id, template, components, status,
	    start_at, total)
	VALUES (p_tenant, p_template, p_components, CASE WHEN v_start <= now()
	    THEN 'running' ELSE 'scheduled' END, v_start, 0)
	RETURNING id INTO v_id;
	INSERT INTO broadcast_recipients (broadcast_id, wa_id, components)
	SELECT DISTINCT ON (u.wa_id) v_id, u.wa_id, u.params
	FROM unnest(p_to, p_params) WITH ORDINALITY AS u(wa_id, params, n)
	ORDER BY u.wa_id, u.n;
	GET DIAGNOSTICS v_total = ROW_COUNT;
	UPDATE broadcast_recipients r SET state = 'skipped'
	WHERE r.broadcast_id = v_id AND r.wa_id IN (SELECT o FROM
	    wa_broadcast_opted_out(p_tenant, p_to) o);
	GET DIAGNOSTICS v_skip = ROW_COUNT;
	UPDATE broadcasts SET total = v_total,
	    duplicates = cardinality(p_to) - v_total
	WHERE id = v_id;
	INSERT INTO jobs (tenant_id, kind, ref, run_at, pace_key, recipient,
	    give_up_at)
	SELECT p_tenant, 'broadcast_item', r.id, v_start, v_pnid, r.wa_id,
	    v_start + interval '24 hours'
	FROM broadcast_recipients r
	WHERE r.broadcast_id = v_id AND r.state = 'queued' ORDER BY r.id;
	IF v_skip > 0 THEN
		PERFORM wa_broadcast_ended(v_id, v_skip);
	END IF;
	RETURN wa_broadcast_json(v_id);
END $$;

-- Cancels a broadcast of p_tenant: its queued items are cancelled (their
-- jobs too); items being sent finish. The broadcast's JSON, or NULL when
-- it is not the tenant's; over (already done or cancelled) says so.
CREATE OR REPLACE FUNCTION wa_broadcast_cancel(p_tenant uuid, p_id bigint,
    OUT broadcast jsonb, OUT over boolean)
LANGUAGE plpgsql AS $$
DECLARE
	v_status	text;
	v_n		int;
BEGIN
	SELECT b.status INTO v_status FROM broadcasts b
	WHERE b.id = p_id AND b.tenant_id = p_tenant FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	over := v_status IN ('done', 'cancelled');
	IF NOT over THEN
		UPDATE broadcasts SET status = 'cancelled' WHERE id = p_id;
		WITH c AS (
			UPDATE jobs j SET state = 'cancelled',
			    finished_at = now(), note = 'broadcast cancelled'
			FROM broadcast_recipients r
			WHERE r.broadcast_id = p_id AND r.state = 'queued' AND
			    j.kind = 'broadcast_item' AND j.ref = r.id AND
			    j.state = 'queued'
			RETURNING j.ref
		)
		UPDATE broadcast_recipients r SET state = 'cancelled'
		FROM c WHERE r.id = c.ref;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		PERFORM wa_broadcast_ended(p_id, v_n);
	END IF;
	broadcast := wa_broadcast_json(p_id);
END $$;

-- --- wa-jobd's side (jobd/send_jobs.c) ----------------------------------------

-- Before the Graph call, in one transaction: the attempt marked, and the
-- item's message stored as pending (once: a retry sends the same row), or
-- the item ended without a call (broadcast cancelled, recipient opted out
-- since). Columns as wa_job_send_begin's.
CREATE OR REPLACE FUNCTION wa_job_broadcast_begin(p_job bigint,
    p_claim bigint, OUT go boolean, OUT msg_id bigint,
    OUT access_token text, OUT phone_number_id text, OUT payload jsonb,
    OUT attempts int)
LANGUAGE plpgsql AS $$
DECLARE
	v_r	broadcast_recipients;
	v_b	broadcasts;
	v_tmpl	jsonb;
BEGIN
	go := false;
	IF NOT wa_job_start(p_job, p_claim) THEN
		RETURN;
	END IF;
	SELECT r.* INTO v_r FROM jobs j JOIN broadcast_recipients r
	    ON r.id = j.ref WHERE j.id = p_job FOR UPDATE OF r;
	SELECT b.* INTO v_b FROM broadcasts b WHERE b.id = v_r.broadcast_id;
	SELECT j.attempts INTO attempts FROM jobs j WHERE j.id = p_job;
	IF v_b.status = 'cancelled' OR EXISTS (SELECT 1 FROM
	    wa_broadcast_opted_out(v_b.tenant_id, ARRAY[v_r.wa_id])) THEN
		UPDATE broadcast_recipients SET state = CASE v_b.status
		    WHEN 'cancelled' THEN 'cancelled' ELSE 'skipped' END
		WHERE id = v_r.id;
		UPDATE jobs SET state = 'cancelled', finished_at = now(),
		    note = CASE v_b.status WHEN 'cancelled' THEN
			'broadcast cancelled' ELSE 'opted out' END
		WHERE id = p_job;
		PERFORM wa_broadcast_ended(v_b.id, 1);
		RETURN;
	END IF;
	IF v_b.status = 'scheduled' THEN
		UPDATE broadcasts SET status = 'running' WHERE id = v_b.id;
	END IF;
	SELECT t.access_token, t.phone_number_id
	INTO access_token, phone_number_id
	FROM tenants t WHERE t.id = v_b.tenant_id;
	IF v_r.message_id IS NOT NULL THEN	-- a retry
		SELECT m.id, m.raw INTO msg_id, payload FROM messages m
		WHERE m.id = v_r.message_id AND m.status = 'pending';
		go := msg_id IS NOT NULL;
		IF NOT go THEN	-- its message was deleted with its chat
			PERFORM wa_job_end(p_job, NULL, 'nothing to send: '
			    'the message is no longer pending');
			UPDATE broadcast_recipients SET state = 'failed'
			WHERE id = v_r.id;
			PERFORM wa_broadcast_ended(v_b.id, 1);
		END IF;
		RETURN;
	END IF;
	v_tmpl := v_b.template || jsonb_build_object('components',
	    coalesce(v_r.components, v_b.components, '[]'));
	payload := jsonb_build_object('messaging_product', 'whatsapp',
	    'recipient_type', 'individual', 'to', v_r.wa_id,
	    'type', 'template', 'template', v_tmpl);
	-- A template: no window check.
	SELECT b.msg_id INTO msg_id FROM wa_send_begin_checked(v_b.tenant_id,
	    v_r.wa_id, false, NULL, NULL, NULL, true, 'template', NULL,
	    v_tmpl, payload, NULL, NULL) b;
	UPDATE broadcast_recipients SET state = 'sending', message_id = msg_id
	WHERE id = v_r.id;
	go := true;
END $$;

-- After the last Graph call: the message's outcome, the job's, the item's,
-- and the broadcast's progress. Only once (the job must still be running,
-- or recovered as unknown meanwhile).
CREATE OR REPLACE FUNCTION wa_job_broadcast_finish(p_job bigint,
    p_msg bigint, p_wamid text, p_error jsonb, p_note text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_ref	bigint;
	v_was	text;
	v_b	bigint;
BEGIN
	SELECT j.ref, j.state INTO v_ref, v_was FROM jobs j WHERE j.id = p_job
	    AND j.state IN ('running', 'unknown') FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM wa_send_finish(p_msg, p_wamid, p_error, NULL, NULL, NULL,
	    false);
	PERFORM wa_job_end(p_job, p_error, p_note);
	UPDATE broadcast_recipients SET state = CASE WHEN p_wamid IS NULL
	    THEN 'failed' ELSE 'sent' END
	WHERE id = v_ref RETURNING broadcast_id INTO v_b;
	-- An item recovered as unknown was counted as ended then.
	IF v_was = 'running' THEN
		PERFORM wa_broadcast_ended(v_b, 1);
	END IF;
END $$;

-- Recovery found the item's worker gone mid-call (wa_jobs_recover): the
-- item is unknown (not resent), and counted as ended.
CREATE OR REPLACE FUNCTION wa_broadcast_item_unknown(p_recipient bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_b	bigint;
BEGIN
	UPDATE broadcast_recipients SET state = 'unknown'
	WHERE id = p_recipient AND state IN ('queued', 'sending')
	RETURNING broadcast_id INTO v_b;
	IF FOUND THEN
		PERFORM wa_broadcast_ended(v_b, 1);
	END IF;
END $$;
