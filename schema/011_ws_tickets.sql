-- 011_ws_tickets.sql: single-use tickets for opening a WebSocket.
--
-- A browser cannot set headers on a WebSocket, and a JWT in its URL ends up
-- in logs (nginx's error log writes the request line). So a client asks
-- POST /api/v1/ws-ticket, with its usual credentials, for a ticket that
-- opens one socket to one tenant within 30 s; only its hash is stored.
--
-- Tables only; the functions are in functions/ws_tickets.sql.

CREATE TABLE ws_tickets (
	ticket_hash	bytea PRIMARY KEY,
	tenant_id	uuid NOT NULL,
	user_id		uuid NOT NULL,
	jti		uuid NOT NULL,		-- the token it was issued under
	token_expires	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL
);
CREATE INDEX ws_tickets_expiry ON ws_tickets (expires_at);
