-- 003_realtime.sql: what wa-pushd needs to number and relay the outbox.
--
-- events.seq is assigned by the one wa-pushd that holds the relay's
-- advisory lock, in the order committed events become visible to it (it
-- reads `seq IS NULL`, never `id > cursor`, so an event whose transaction
-- commits late is numbered when it shows up, not skipped). The counters
-- live here, written by wa-pushd alone: no webhook transaction ever waits
-- on a per-tenant counter row.
--
-- Tables only; wa_event_frame(), the frame clients receive, is in
-- functions/events.sql.

CREATE TABLE event_cursors (
	tenant_id	uuid PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
	-- The tenant's highest seq given out (committed with the events).
	assigned	bigint NOT NULL DEFAULT 0 CHECK (assigned >= 0),
	-- The highest seq nginx has acknowledged. Events in (published,
	-- assigned] are re-published, in order, when a relay takes over.
	published	bigint NOT NULL DEFAULT 0,
	CHECK (published BETWEEN 0 AND assigned)
);
