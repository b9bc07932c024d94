-- 014_events_numbered_at_insert.sql: events get their per-tenant seq when
-- they are written, not when wa-pushd relays them.
--
-- Until now wa-pushd numbered each event after its commit with an UPDATE:
-- a second copy of every event row (its JSON included), two more index
-- entries, a second durable commit before a client saw it, and a dead row
-- for VACUUM. Measured on the batched ingest path, that was about a third
-- of PostgreSQL's CPU per webhook. Now the transaction that writes events
-- takes the next numbers from its tenant's counter row (event_counters,
-- below), which it holds locked until it commits: a tenant's events commit
-- in seq order, so a reader that sees seq N sees every seq below it, and
-- wa-pushd only reads (functions/events.sql has the numbering, pushd/outbox.c
-- the reading).
--
-- The counter is apart from event_cursors, which wa-pushd writes: a writer
-- and the relay never wait on each other's row.
CREATE TABLE event_counters (
	tenant_id	uuid PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
	-- The tenant's highest seq given out (committed with those events).
	last_seq	bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
) WITH (fillfactor = 20);	-- room for HOT updates: rewritten per commit

-- What an older wa-pushd left unnumbered, numbered as it would have done:
-- after the tenant's last number, in (transaction, id) order.
WITH numbered AS (
	SELECT e.id, coalesce(c.assigned, 0) + row_number() OVER (
	    PARTITION BY e.tenant_id ORDER BY e.xact, e.id) AS seq
	FROM events e LEFT JOIN event_cursors c USING (tenant_id)
	WHERE e.seq IS NULL
)
UPDATE events e SET seq = n.seq FROM numbered n WHERE e.id = n.id;

INSERT INTO event_counters (tenant_id, last_seq)
SELECT e.tenant_id, max(e.seq) FROM events e GROUP BY e.tenant_id;

-- Events now always have a number, and the relay's bookkeeping for
-- numbering after the fact goes.
ALTER TABLE events ALTER COLUMN seq SET NOT NULL;
DROP INDEX events_unsequenced;
ALTER TABLE events DROP COLUMN xact;
CREATE UNIQUE INDEX events_tenant_seq_all ON events (tenant_id, seq);
DROP INDEX events_tenant_seq;
ALTER INDEX events_tenant_seq_all RENAME TO events_tenant_seq;

-- event_cursors keeps what wa-pushd writes: the highest seq nginx has
-- acknowledged per tenant. A relay that takes over re-publishes from
-- there up to event_counters.last_seq.
ALTER TABLE event_cursors DROP COLUMN assigned;
ALTER TABLE event_cursors ADD CHECK (published >= 0);

-- Every row is now written once; inserts only.
ALTER TABLE events RESET (autovacuum_vacuum_scale_factor);
