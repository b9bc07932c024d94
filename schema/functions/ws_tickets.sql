-- functions/ws_tickets.sql: issuing and redeeming WebSocket tickets
-- (tables: 011_ws_tickets.sql). Re-applied whole on every `wactl migrate`.

-- Stores a new ticket (fcgi/api_ws_ticket.c), sweeping expired ones.
CREATE OR REPLACE FUNCTION wa_ws_ticket_issue(p_ticket text, p_tenant uuid,
    p_user uuid, p_jti uuid, p_token_expires timestamptz, p_ttl interval)
RETURNS void LANGUAGE sql AS $$
	DELETE FROM ws_tickets WHERE expires_at < now();
	INSERT INTO ws_tickets (ticket_hash, tenant_id, user_id, jti,
	    token_expires, expires_at)
	VALUES (sha256(convert_to(p_ticket, 'UTF8')), p_tenant, p_user, p_jti,
	    p_token_expires, now() + p_ttl);
$$;

-- Redeems a ticket for a socket to p_tenant (fcgi/ws_auth.c): consumed
-- whatever the outcome, and good only unexpired, for that tenant, while
-- its token is unrevoked and the user still a member. On success the
-- socket's session is recorded (010_ws_sessions.sql) and its token id
-- returned; otherwise no row.
CREATE OR REPLACE FUNCTION wa_ws_ticket_redeem(p_ticket text, p_tenant uuid)
RETURNS TABLE (jti uuid) LANGUAGE plpgsql AS $$
DECLARE
	v	ws_tickets;
BEGIN
	DELETE FROM ws_tickets
	WHERE ticket_hash = sha256(convert_to(p_ticket, 'UTF8'))
	RETURNING * INTO v;
	IF v.ticket_hash IS NULL OR v.expires_at <= now()
	   OR v.token_expires <= now() OR v.tenant_id <> p_tenant
	   OR EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.jti = v.jti)
	   OR NOT EXISTS (SELECT 1 FROM memberships m
			  WHERE m.user_id = v.user_id
			    AND m.tenant_id = v.tenant_id) THEN
		RETURN;
	END IF;
	PERFORM wa_ws_session_open(v.jti, v.tenant_id, v.user_id,
	    v.token_expires);
	jti := v.jti;
	RETURN NEXT;
END $$;
