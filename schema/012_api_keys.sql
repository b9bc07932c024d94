-- 012_api_keys.sql: API keys, credentials for machines rather than people.
--
-- `wactl apikey add` mints a key for one tenant and prints it once; only
-- its SHA-256 is kept (computed by the caller: the key itself never
-- reaches the database, so no query log can show it). A key carries 256
-- random bits, so a plain hash is enough. A client sends it as
-- `Authorization: Bearer wak_...`; the key names its tenant and its
-- scopes say which routes it may call (fcgi/route.c).

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

CREATE FUNCTION wa_api_key_add(p_tenant uuid, p_name text, p_prefix text,
    p_hash bytea, p_scopes text[]) RETURNS uuid LANGUAGE sql AS $$
	INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
	VALUES (p_tenant, p_name, p_prefix, p_hash, p_scopes)
	RETURNING id;
$$;

-- The live key with this hash (fcgi/auth.c): its id, tenant and scopes,
-- or no row when there is none or it is revoked. Notes the use, at most
-- once a minute per key, so busy keys do not write on every request.
CREATE FUNCTION wa_api_key_auth(p_hash bytea)
RETURNS TABLE (id uuid, tenant_id uuid, scopes text) LANGUAGE plpgsql AS $$
DECLARE
	k	api_keys;
BEGIN
	SELECT * INTO k FROM api_keys a
	WHERE a.key_hash = p_hash AND a.revoked_at IS NULL;
	IF k.id IS NULL THEN
		RETURN;
	END IF;
	IF k.last_used_at IS NULL
	   OR k.last_used_at < now() - interval '1 minute' THEN
		UPDATE api_keys a SET last_used_at = now() WHERE a.id = k.id;
	END IF;
	id := k.id;
	tenant_id := k.tenant_id;
	scopes := array_to_string(k.scopes, ',');
	RETURN NEXT;
END $$;

-- Revokes the one key named by its id or its prefix ("wak_1a2b3c4d"). The
-- keys that name matched, revoked or not: wactl revokes nothing and says
-- so unless there is exactly one (a prefix shared by two keys needs the
-- id). Revoking twice keeps the first time.
CREATE FUNCTION wa_api_key_revoke(p_ref text)
RETURNS TABLE (id uuid, revoked_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
	n	int;
BEGIN
	SELECT count(*) INTO n FROM api_keys a
	WHERE a.id::text = lower(p_ref) OR a.prefix = lower(p_ref);
	IF n = 1 THEN
		UPDATE api_keys a SET revoked_at = coalesce(a.revoked_at, now())
		WHERE a.id::text = lower(p_ref) OR a.prefix = lower(p_ref);
	END IF;
	RETURN QUERY SELECT a.id, a.revoked_at FROM api_keys a
	WHERE a.id::text = lower(p_ref) OR a.prefix = lower(p_ref);
END $$;
