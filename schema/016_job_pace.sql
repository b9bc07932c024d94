-- 016_job_pace.sql: pacing of the jobs that send (issue 15): per business
-- number (Meta's throughput, 80 messages/s by default) and per recipient
-- (Meta's pair rate limit, error 131056). One row per key: the earliest
-- time the next send under that key may start. wa_jobs_claim
-- (functions/jobs.sql) hands out start times from here, so several
-- wa-jobd sharing the queue share the rate too.
CREATE TABLE job_pace (
	key		text PRIMARY KEY,	-- pnid, or pnid/recipient
	next_at		timestamptz NOT NULL
) WITH (fillfactor = 50);	-- rewritten per send: room for HOT updates
