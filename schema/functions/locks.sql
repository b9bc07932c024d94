-- functions/locks.sql: the advisory locks, in one place.
--
-- Transaction locks keyed per tenant (wa_lock_key), taken by ingestion:
--   'updates'          wa_wh_edits (exclusive) against the new messages'
--                      look for early edits (shared: wa_wh_messages,
--                      wa_ingest_batch): one side sees the other's rows
--   'wamid/<wamid>'    a status that found no message, against the
--                      trigger that applies waiting statuses when the send
--                      stores its wamid (functions/statuses.sql)
--   'reaction/<wamid>' reactions to one message, applied in order
-- Fixed keys: 4242001 `wactl migrate` (session lock: one migrator at a
-- time); 4242005 "awake" and 4242006 "in flight", wa-pushd's wake-ups
-- (functions/events.sql); 4242007 "jobs awake" and 4242008 "jobs in
-- flight", wa-jobd's (functions/jobs.sql).

-- Transaction advisory lock keys, one space per tenant.
CREATE OR REPLACE FUNCTION wa_lock_key(p_tenant uuid, p_what text)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT hashtextextended(p_tenant::text || '/' || p_what, 20020);
$$;
