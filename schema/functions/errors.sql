-- functions/errors.sql: which errors a retry may cure. The one list of
-- SQLSTATE classes, the same as the responder's (retryable() in
-- shared/db.c, which answers them 503): connection, transaction rollback
-- (deadlock, serialization), insufficient resources, object in use (lock
-- not available), operator intervention, system and internal errors.
-- Code that catches errors re-raises these, so the caller retries; any
-- other error is about the data, and a retry would fail again.
CREATE OR REPLACE FUNCTION wa_sqlstate_retryable(p_state text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT left(p_state, 2) IN ('08', '40', '53', '55', '57', '58', 'XX');
$$;
