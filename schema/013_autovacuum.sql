-- 013_autovacuum.sql: autovacuum that keeps up with what ingestion does.
--
-- Webhooks append to messages, events, message_statuses and
-- message_updates, update each event once (wa-pushd numbers it) and each
-- status or update once (applied_at), and update the sender's contact on
-- every message. PostgreSQL's defaults wait for 10% of a table to change
-- before analyzing it and 20% before vacuuming it: on a million messages,
-- 100,000 rows between two looks.
--
-- Analyze after 2% (and at least 50 rows, the default): statistics follow
-- the data as it grows, and each ANALYZE makes every session plan its
-- statements on that table again, so a plan chosen when the table was
-- small does not outlive it by long (ingestion's plans are generic, made
-- once per session: functions/ingest.sql). An ANALYZE reads a sample of
-- 30,000 rows whatever the table's size.
--
-- Vacuum after 5% inserted (default 20%, at least 1,000 rows): pages full
-- of new rows get marked all-visible (index-only probes such as the fast
-- path's "is this message new" skip the table) and frozen a little at a
-- time, not in one anti-wraparound pass over years of messages.
--
-- Vacuum after 2% updated or deleted (default 20%) where every row is
-- updated once (events, statuses, updates) or all the time (contacts):
-- dead rows, and their index entries that scans must step over, do not
-- pile up between two vacuums.
ALTER TABLE messages SET (autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE events SET (autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE message_statuses SET (autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE message_updates SET (autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE contacts SET (autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_vacuum_scale_factor = 0.02);
