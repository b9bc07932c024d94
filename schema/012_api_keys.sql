-- 012_api_keys.sql: API keys, credentials for machines rather than people.
--
-- `wactl apikey add` mints a key for one tenant and prints it once; only
-- its SHA-256 is kept (computed by the caller: the key itself never
-- reaches the database, so no query log can show it). A key carries 256
-- random bits, so a plain hash is enough. A client sends it as
-- `Authorization: Bearer wak_...`; the key names its tenant and its
-- scopes say which routes it may call (fcgi/route.c).
--
-- Tables only; the functions are in functions/api_keys.sql.

CREATE TABLE api_keys (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	-- "wak_" and the key's first 8 hex digits: names it in lists.
	prefix		text NOT NULL CHECK (prefix ~ '^wak_[0-9a-f]{8}$'),
	key_hash	bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
	scopes		text[] NOT NULL CHECK (cardinality(scopes) > 0
			    AND scopes <@ ARRAY['read', 'send']),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
