-- functions/poll.sql: the /poll auto-reply (tables and settings:
-- 007_poll.sql). Hooked into webhook ingestion without a second round
-- trip: a trigger on messages notes each incoming row that may concern a
-- poll (only rows really inserted, so Meta's retries do nothing), and
-- wa_webhook_ingest() (functions/ingest.sql) has wa_poll_ingested() handle
-- the noted rows after the messages' own events. A new poll's question and
-- deadline are jobs (functions/jobs.sql), written in the same transaction:
-- wa-jobd sends the question and ends the poll when it is overdue, so
-- neither the webhook's thread nor wa-pushd calls Meta or keeps time.

-- --- ending ----------------------------------------------------------------

-- Ends an open poll (reason: answered | cancelled | timeout | failed) and
-- emits poll_ended. 1 when it was open, else 0.
CREATE OR REPLACE FUNCTION wa_poll_end(p_poll bigint, p_reason text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_p	polls;
BEGIN
	UPDATE polls SET status = p_reason, ended_at = now()
	WHERE id = p_poll AND status = 'open' RETURNING * INTO v_p;
	IF NOT FOUND THEN
		RETURN 0;
	END IF;
	PERFORM wa_emit(v_p.tenant_id, 'poll_ended', jsonb_build_object(
	    'poll_id', v_p.id,
	    'phone', (SELECT '+' || c.wa_id FROM contacts c
		WHERE c.id = v_p.contact_id),
	    'reason', p_reason,
	    'answer', v_p.answer,
	    'ended_at', wa_iso(v_p.ended_at)));
	RETURN 1;
END $$;

-- --- webhook side -----------------------------------------------------------

-- The contact's text as a command: trimmed, lower case.
CREATE OR REPLACE FUNCTION wa_poll_cmd(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT lower(regexp_replace(coalesce(t, ''), '^\s+|\s+$', '', 'g'));
$$;

-- Notes the inserted incoming messages (by id, in a transaction-local
-- setting) for wa_poll_ingested() that may concern a poll: a "/poll", or
-- a text or a reply from a contact with an open poll (one probe of
-- polls_one_open). Once per statement, over the rows it inserted: a
-- batch of messages costs one call, not one per row, and a text without a
-- '/' is never trimmed and lowered. A rolled-back insert takes its note
-- with it.
CREATE OR REPLACE FUNCTION wa_poll_note() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_ids	text;
BEGIN
	SELECT string_agg(n.id || ',', '' ORDER BY n.id) INTO v_ids
	FROM wa_poll_inserted n
	WHERE n.direction = 'in' AND (n.type = 'text' OR
	    (n.type = 'interactive' AND n.context_wamid IS NOT NULL)) AND
	    ((n.type = 'text' AND strpos(n.text, '/') > 0 AND
	    wa_poll_cmd(n.text) = '/poll') OR EXISTS (SELECT 1 FROM polls p
	    WHERE p.tenant_id = n.tenant_id AND p.contact_id = n.contact_id
	    AND p.status = 'open'));
	IF v_ids IS NOT NULL THEN
		PERFORM set_config('wa.poll_msgs', coalesce(current_setting(
		    'wa.poll_msgs', true), '') || v_ids, true);
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER messages_poll_note AFTER INSERT ON messages
	REFERENCING NEW TABLE AS wa_poll_inserted
	FOR EACH STATEMENT EXECUTE FUNCTION wa_poll_note();

-- Handles the noted messages in the order they were stored: "/poll" opens
-- a poll (when the tenant enables polls and none is open), "/cancel" ends
-- the open one, a button reply to its question or a text equal to an
-- option's title answers it. A poll opened gets its two jobs (its
-- question now, its timeout at the deadline). Returns the number of events
-- emitted; to_send is always empty now (the callers in ingest.sql and
-- ingest_batch.sql still read it: nothing is sent from a webhook's
-- thread any more).
CREATE OR REPLACE FUNCTION wa_poll_ingested(OUT to_send jsonb, OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_ids	bigint[];
	v_m	messages;
	v_p	polls;
	v_s	jsonb;
	v_cmd	text;
	v_opt	jsonb;
	v_id	bigint;
BEGIN
	to_send := '[]';
	n_events := 0;
	v_ids := string_to_array(rtrim(coalesce(current_setting(
	    'wa.poll_msgs', true), ''), ','), ',')::bigint[];
	PERFORM set_config('wa.poll_msgs', '', true);
	FOR v_m IN SELECT * FROM messages WHERE id = ANY (v_ids) ORDER BY id
	    LOOP
		v_cmd := wa_poll_cmd(v_m.text);
		SELECT * INTO v_p FROM polls WHERE tenant_id = v_m.tenant_id AND
		    contact_id = v_m.contact_id AND status = 'open' FOR UPDATE;
		-- Overdue but not expired yet (its timeout job is a beat
		-- behind): it is over, and cannot be answered any more.
		IF v_p.id IS NOT NULL AND v_p.deadline <= now() THEN
			n_events := n_events + wa_poll_end(v_p.id, 'timeout');
			v_p := NULL;
		END IF;
		IF v_m.type = 'text' AND v_cmd = '/poll' THEN
			CONTINUE WHEN v_p.id IS NOT NULL;
			SELECT settings INTO v_s FROM tenants
			WHERE id = v_m.tenant_id;
			CONTINUE WHEN v_s->>'poll' IS DISTINCT FROM 'true';
			v_id := NULL;
			INSERT INTO polls (tenant_id, contact_id, trigger_wamid,
			    question, options, deadline)
			VALUES (v_m.tenant_id, v_m.contact_id, v_m.wamid,
			    coalesce(v_s->>'poll_question',
				'How was your experience with us?'),
			    coalesce(CASE WHEN jsonb_typeof(v_s->'poll_options')
				= 'array' THEN v_s->'poll_options' END,
				'[{"id": "poll_good", "title": "Good"},
				  {"id": "poll_okay", "title": "Okay"},
				  {"id": "poll_bad", "title": "Bad"}]'),
			    now() + make_interval(secs => coalesce(
				(v_s->>'poll_timeout_s')::float8, 60)))
			ON CONFLICT DO NOTHING RETURNING id INTO v_id;
			IF v_id IS NOT NULL THEN
				-- The question counts against the number's
				-- rate and the contact's (pace_key,
				-- recipient: functions/jobs.sql).
				INSERT INTO jobs (tenant_id, kind, ref, run_at,
				    pace_key, recipient)
				SELECT v_m.tenant_id, k, v_id, CASE k WHEN
				    'poll_timeout' THEN p.deadline ELSE now() END,
				    CASE k WHEN 'poll_question' THEN
					t.phone_number_id END,
				    CASE k WHEN 'poll_question' THEN c.wa_id END
				FROM unnest(ARRAY['poll_question',
				    'poll_timeout']) k, polls p
				JOIN tenants t ON t.id = p.tenant_id
				JOIN contacts c ON c.id = p.contact_id
				WHERE p.id = v_id;
			END IF;
			CONTINUE;
		END IF;
		CONTINUE WHEN v_p.id IS NULL;
		IF v_m.type = 'text' AND v_cmd = '/cancel' THEN
			n_events := n_events + wa_poll_end(v_p.id, 'cancelled');
			CONTINUE;
		END IF;
		v_opt := NULL;
		IF v_m.type = 'interactive' THEN
			IF v_m.content->>'type' = 'button_reply' AND
			    v_m.context_wamid = v_p.question_wamid THEN
				SELECT o INTO v_opt FROM jsonb_array_elements(
				    v_p.options) o WHERE o->>'id' =
				    v_m.content->'button_reply'->>'id';
			END IF;
		ELSE
			SELECT o INTO v_opt FROM jsonb_array_elements(
			    v_p.options) o WHERE wa_poll_cmd(o->>'title') = v_cmd
			LIMIT 1;
		END IF;
		CONTINUE WHEN v_opt IS NULL;
		UPDATE polls SET answer = v_opt WHERE id = v_p.id;
		PERFORM wa_emit(v_m.tenant_id, 'poll_response',
		    jsonb_build_object('poll_id', v_p.id,
		    'phone', (SELECT '+' || c.wa_id FROM contacts c
			WHERE c.id = v_m.contact_id),
		    'option_id', v_opt->>'id', 'title', v_opt->>'title',
		    'message_id', v_m.wamid,
		    'via', CASE v_m.type WHEN 'text' THEN 'text'
			ELSE 'button' END));
		n_events := n_events + 1 + wa_poll_end(v_p.id, 'answered');
	END LOOP;
END $$;

-- wa_poll_ingested() for the ingest paths: an auto-reply is not worth
-- losing messages for, so a data error in it is logged (a WARNING in
-- PostgreSQL's log) and gives NULLs, and the body still commits. What a
-- retry may cure is raised, so the body is retried whole.
CREATE OR REPLACE FUNCTION wa_poll_ingested_or_warn(OUT to_send jsonb,
    OUT n_events int)
LANGUAGE plpgsql AS $$
DECLARE
	v_state	text;
	v_text	text;
BEGIN
	SELECT p.to_send, p.n_events INTO to_send, n_events
	FROM wa_poll_ingested() p;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
	    v_text = MESSAGE_TEXT;
	IF wa_sqlstate_retryable(v_state) THEN
		RAISE;
	END IF;
	RAISE WARNING 'poll: % %', v_state, v_text;
	to_send := NULL;
	n_events := NULL;
END $$;

-- --- sending the question ---------------------------------------------------

-- Before the Graph call (wa-jobd's poll_question job, functions/jobs.sql):
-- stores the question as a pending outgoing message
-- (wa_send_begin_checked, functions/send.sql) and returns what the call
-- needs. No row when the poll is no longer open or its question was
-- already taken in hand.
CREATE OR REPLACE FUNCTION wa_poll_send_begin(p_poll bigint)
RETURNS TABLE (msg_id bigint, access_token text, phone_number_id text,
    payload jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_p	polls;
	v_to	text;
	v_body	jsonb;
BEGIN
	-- Lock order as in webhook ingestion, which updates the contact
	-- before it locks the contact's open poll: contact, then poll (the
	-- other order deadlocks with an answer arriving meanwhile).
	SELECT c.wa_id, t.access_token, t.phone_number_id
	INTO v_to, access_token, phone_number_id
	FROM polls p JOIN contacts c ON c.id = p.contact_id
	JOIN tenants t ON t.id = c.tenant_id
	WHERE p.id = p_poll FOR NO KEY UPDATE OF c;
	SELECT * INTO v_p FROM polls WHERE id = p_poll AND status = 'open' AND
	    message_id IS NULL FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	v_body := jsonb_build_object('type', 'button',
	    'body', jsonb_build_object('text', v_p.question),
	    'action', jsonb_build_object('buttons', (SELECT jsonb_agg(
		jsonb_build_object('type', 'reply', 'reply',
		jsonb_build_object('id', o->>'id', 'title', o->>'title'))
		ORDER BY n) FROM jsonb_array_elements(v_p.options)
		WITH ORDINALITY AS x(o, n))));
	payload := jsonb_build_object('messaging_product', 'whatsapp',
	    'recipient_type', 'individual', 'to', v_to,
	    'type', 'interactive', 'interactive', v_body);
	-- Not a free-form check: the contact has just written to us.
	SELECT b.msg_id INTO msg_id FROM wa_send_begin_checked(v_p.tenant_id,
	    v_to, false, NULL, NULL, NULL, true, 'interactive', v_p.question,
	    v_body, payload, NULL, NULL) b;
	UPDATE polls SET message_id = msg_id WHERE id = p_poll;
	RETURN NEXT;
END $$;

-- After the Graph call: the message's outcome (wa_send_finish, with
-- its message_outgoing event), then poll_started, or the poll ended as
-- failed when Meta did not take the question.
CREATE OR REPLACE FUNCTION wa_poll_send_finish(p_poll bigint, p_msg bigint,
    p_wamid text, p_error jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_p	polls;
BEGIN
	PERFORM wa_send_finish(p_msg, p_wamid, p_error, NULL, NULL, NULL,
	    false);
	IF p_wamid IS NULL THEN
		PERFORM wa_poll_end(p_poll, 'failed');
		RETURN;
	END IF;
	UPDATE polls SET question_wamid = p_wamid WHERE id = p_poll
	RETURNING * INTO v_p;
	IF v_p.status <> 'open' THEN
		RETURN;	-- answered by text or cancelled before we got here
	END IF;
	PERFORM wa_emit(v_p.tenant_id, 'poll_started', jsonb_build_object(
	    'poll_id', v_p.id,
	    'phone', (SELECT '+' || c.wa_id FROM contacts c
		WHERE c.id = v_p.contact_id),
	    'question', v_p.question,
	    'options', v_p.options,
	    'message_id', p_wamid,
	    'deadline', wa_iso(v_p.deadline)));
END $$;
