-- 003_realtime_xact.sql: where wa-pushd's scan for unnumbered events starts
-- (a file of its own so databases that already applied 003 get it too).
--
-- The transaction that wrote each event (its top-level id, the one whose
-- commit makes the row visible). wa-pushd starts its scan at a transaction
-- id below which no event can still be unnumbered, so it never walks again
-- the dead index entries that numbered events leave behind: VACUUM removes
-- them only once no snapshot needs them, and while a long snapshot (a
-- backup, a report) holds them every scan from the start of the index would
-- be slower than the last. Events inserted later get larger ids; existing
-- rows get this migration's.
ALTER TABLE events ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX events_unsequenced;
CREATE INDEX events_unsequenced ON events (xact, id) WHERE seq IS NULL;
