-- 004_messaging.sql: what sending needs: idempotency keys and the
-- tenant's window_check switch. The two steps around each Graph call are
-- in functions/send.sql.

-- A claimed Idempotency-Key: status/response are NULL while the first
-- request is in flight, then hold its answer for replays. Kept >= 24 h
-- (swept after 48 h by wa_idem_claim).
CREATE TABLE idempotency_keys (
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	key		text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	request_hash	text NOT NULL,	-- same key, other request: refused
	message_id	bigint,
	status		int,
	response	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- settings.window_check (default true): refuse free-form sends to a
-- contact who has not written in 24 h. false leaves it to Meta, for
-- installs whose history starts after the customer last wrote. Code reads
-- a missing key as true; existing rows get it spelled out.
UPDATE tenants SET settings = settings || '{"window_check": true}'
WHERE NOT settings ? 'window_check';
