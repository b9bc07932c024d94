-- functions/ws_sessions.sql: which WebSockets must close, and why
-- (tables: 010_ws_sessions.sql). Re-applied whole on every `wactl migrate`.

-- The socket's authorisation (fcgi/ws_auth.c): one row per token and
-- tenant however many sockets share them.
CREATE OR REPLACE FUNCTION wa_ws_session_open(p_jti uuid, p_tenant uuid,
    p_user uuid, p_expires timestamptz) RETURNS void LANGUAGE sql AS $$
	INSERT INTO ws_sessions (jti, tenant_id, user_id, expires_at)
	VALUES (p_jti, p_tenant, p_user, p_expires)
	-- Authorised again (say, after a membership came back): a live session.
	ON CONFLICT (jti, tenant_id) DO UPDATE SET closed_at = NULL
	WHERE ws_sessions.closed_at IS NOT NULL;
$$;

-- Sessions whose sockets must close: the token expired or was revoked, or
-- the membership is gone (removed, or its user or tenant deleted). Also
-- those closed 2 s ago, once more: a socket authorised just before the
-- revocation may have subscribed just after the first close.
CREATE OR REPLACE FUNCTION wa_ws_sessions_ended(p_limit int)
RETURNS TABLE (jti uuid, tenant_id uuid) LANGUAGE sql STABLE AS $$
	SELECT s.jti, s.tenant_id FROM ws_sessions s
	WHERE (s.closed_at IS NULL AND (
		s.expires_at <= now()
		OR EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.jti = s.jti)
		OR NOT EXISTS (SELECT 1 FROM memberships m
			       WHERE m.user_id = s.user_id
				 AND m.tenant_id = s.tenant_id)))
	   OR s.closed_at < now() - interval '2 seconds'
	LIMIT p_limit;
$$;

-- wa-pushd deleted the session's channel: the first time, note it (the
-- second close comes 2 s later); the second time, forget the session.
CREATE OR REPLACE FUNCTION wa_ws_session_closed(p_jti uuid, p_tenant uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE ws_sessions SET closed_at = now()
	WHERE jti = p_jti AND tenant_id = p_tenant AND closed_at IS NULL;
	IF NOT FOUND THEN
		DELETE FROM ws_sessions
		WHERE jti = p_jti AND tenant_id = p_tenant;
	END IF;
END $$;
