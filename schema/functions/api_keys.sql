-- functions/api_keys.sql: minting, authenticating and revoking API keys
-- (tables: 012_api_keys.sql). Re-applied whole on every `wactl migrate`.

CREATE OR REPLACE FUNCTION wa_api_key_add(p_tenant uuid, p_name text,
    p_prefix text, p_hash bytea, p_scopes text[])
RETURNS uuid LANGUAGE sql AS $$
	INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
	VALUES (p_tenant, p_name, p_prefix, p_hash, p_scopes)
	RETURNING id;
$$;

-- The live key with this hash (fcgi/auth.c): its id, tenant and scopes,
-- or no row when there is none or it is revoked. Notes the use, at most
-- once a minute per key, so busy keys do not write on every request.
CREATE OR REPLACE FUNCTION wa_api_key_auth(p_hash bytea)
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
CREATE OR REPLACE FUNCTION wa_api_key_revoke(p_ref text)
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
