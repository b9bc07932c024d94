-- 010_ws_sessions.sql: WebSockets end with the right to them.
--
-- nginx holds each WebSocket open after its one authorisation, so a socket
-- would outlive its token's logout, its expiry or the user's removal from
-- the tenant. Every authorised socket also subscribes to a channel of its
-- token ("session.<jti>"); wa-pushd deletes that channel, which makes the
-- module close the socket, once wa_ws_sessions_ended() names it.
--
-- Tables only; the functions are in functions/ws_sessions.sql.

CREATE TABLE ws_sessions (
	jti		uuid NOT NULL,
	-- No foreign keys: a deleted user or tenant must leave its rows
	-- behind, for the sweep below to close their sockets.
	tenant_id	uuid NOT NULL,
	user_id		uuid NOT NULL,
	expires_at	timestamptz NOT NULL,
	-- When wa-pushd first deleted the channel (see wa_ws_session_closed).
	closed_at	timestamptz,
	PRIMARY KEY (jti, tenant_id)
);
CREATE INDEX ws_sessions_expiry ON ws_sessions (expires_at);
