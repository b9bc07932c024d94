-- functions/retired.sql: functions that no longer exist, dropped from
-- databases made before they went (IF EXISTS: a new database never had
-- them). Applied last, in the same transaction as the files that replace
-- them, so no caller ever finds neither.

-- 007 and 009 wrapped the general path under this name (polls, then the
-- fast path); wa_webhook_ingest() now does both itself.
DROP FUNCTION IF EXISTS wa_webhook_ingest_core(jsonb, boolean);

-- 009's one-statement path for the common body: the batched path of
-- functions/ingest_batch.sql took its place.
DROP FUNCTION IF EXISTS wa_wh_fast(jsonb);
DROP FUNCTION IF EXISTS wa_wh_fast_message(jsonb);

-- wa-pushd ended overdue polls with this every 250 ms; each poll's
-- deadline is now a poll_timeout job (functions/jobs.sql) run by wa-jobd.
DROP FUNCTION IF EXISTS wa_poll_expire();

-- Step 1 of the job queue claimed without pacing; the claim now takes the
-- rates (functions/jobs.sql).
DROP FUNCTION IF EXISTS wa_jobs_claim(int);
