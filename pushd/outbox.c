/* pushd/outbox.c: the SQL of the relay. Sequence numbers are given out by
 * the single lock holder, in the order committed events become visible to
 * it, so clients see 1, 2, 3... per tenant with no gaps; see
 * schema/003_realtime.sql for the cursors. */
#include "outbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* While publishing without pause, the cursor is written at most this
 * often: an UPDATE per frame would cost the database more than the
 * publishing does. A crash repeats at most these last frames. */
#define OUTBOX_MARK_MS		10

/* The batch size is part of the SQL text, not a parameter: with LIMIT $1
 * the cached generic plan guesses a large batch and hash-joins the whole
 * events table on every call. */
#define STR_(x)			#x
#define STR(x)			STR_(x)
#define OUTBOX_BATCH_SQL	STR(OUTBOX_BATCH)

/* The relay lock: one key for every wa-pushd of a database. */
static const struct db_stmt take_lock = { "outbox_take_lock",
	"SELECT pg_try_advisory_lock(4242004)" };

/* `seq IS NULL` rather than `id > cursor`: an event whose transaction
 * commits after later ids were numbered is numbered when it shows up.
 * Numbering, counters and events commit together in this one statement.
 *
 * The scan starts at $1, a transaction id below which no event can still
 * be unnumbered (see next_low()), not at the start of the index: numbered
 * events leave dead entries there that only VACUUM removes, and while any
 * long snapshot (a backup, a report) holds them back every batch would
 * walk all of them again. Order is (xact, id): a transaction's events stay
 * in the order it wrote them. The UPDATE joins on id alone: with `seq IS
 * NULL` there too, stale statistics (a bulk insert not yet analyzed) made
 * the planner walk the whole partial index once per row. */
static const struct db_stmt assign = { "outbox_assign",
	"WITH batch AS ("
	"  SELECT id, tenant_id, xact FROM events"
	"  WHERE seq IS NULL AND xact >= $1::xid8"
	"  ORDER BY xact, id LIMIT " OUTBOX_BATCH_SQL
	"), numbered AS ("
	"  SELECT b.id, b.tenant_id, b.xact, coalesce(c.assigned, 0) +"
	"    row_number() OVER (PARTITION BY b.tenant_id"
	"    ORDER BY b.xact, b.id) AS seq"
	"  FROM batch b LEFT JOIN event_cursors c USING (tenant_id)"
	"), counters AS ("
	"  INSERT INTO event_cursors (tenant_id, assigned)"
	"  SELECT tenant_id, max(seq) FROM numbered GROUP BY tenant_id"
	"  ON CONFLICT (tenant_id) DO UPDATE SET assigned = excluded.assigned"
	"), numbered_events AS ("
	"  UPDATE events e SET seq = n.seq FROM numbered n WHERE e.id = n.id"
	"  RETURNING e.id, e.tenant_id, e.seq, e.name, e.data, e.xact"
	")"
	" SELECT tenant_id, seq, to_json(name)::text,"
	"   wa_event_frame(seq, name, data), xact::text,"
	"   pg_snapshot_xmin(pg_current_snapshot())::text"
	/* Qualified: a bare "xact" here is the text output column above,
	 * and "100" sorts before "99". */
	" FROM numbered_events ne ORDER BY ne.xact, ne.id" };

/* Whether there is anything to number, for the scans that usually find
 * nothing (those that follow an empty one): planning the numbering
 * statement costs ~0.2 ms, this one ~0.03 ms. No row: an empty batch. */
static const struct db_stmt probe = { "outbox_probe",
	"SELECT 1 FROM events WHERE seq IS NULL AND xact >= $1::xid8 LIMIT 1" };

/* Wake-ups (wa_wake_relay() in schema/functions/events.sql): while we hold
 * "awake" (4242005), transactions that emit events do not NOTIFY, so they
 * do not queue on NOTIFY's database-wide commit lock. To settle, we let go
 * of it and test "in flight" (4242006), which every such transaction holds
 * shared until it ends. Tries only: a long transaction must never make us,
 * or anyone queued behind us, wait. Session-level locks: a lost connection
 * lets them go. */
static const struct db_stmt wake = { "outbox_wake",
	"SELECT pg_try_advisory_lock(4242005)" };
static const struct db_stmt settle_awake = { "outbox_settle_awake",
	"SELECT pg_advisory_unlock(4242005), CASE WHEN"
	" pg_try_advisory_lock(4242006) THEN pg_advisory_unlock(4242006)"
	" ELSE false END" };
static const struct db_stmt settle = { "outbox_settle",
	"SELECT true, CASE WHEN pg_try_advisory_lock(4242006) THEN"
	" pg_advisory_unlock(4242006) ELSE false END" };

static const struct db_stmt unpublished = { "outbox_unpublished",
	"SELECT e.tenant_id, e.seq, to_json(e.name)::text,"
	"  wa_event_frame(e.seq, e.name, e.data)"
	" FROM event_cursors c JOIN events e ON e.tenant_id = c.tenant_id"
	"  AND e.seq > c.published AND e.seq <= c.assigned"
	" WHERE c.published < c.assigned"
	" ORDER BY e.tenant_id, e.seq LIMIT " OUTBOX_BATCH_SQL };

static const struct db_stmt set_published = { "outbox_set_published",
	"UPDATE event_cursors c SET published = v.seq"
	" FROM unnest($1::uuid[], $2::bigint[]) AS v(tenant_id, seq)"
	" WHERE c.tenant_id = v.tenant_id AND c.published < v.seq" };

struct mark {
	char		 tenant[UUID_LEN + 1];
	long long	 seq;
};

/* What the connection is busy with: one statement at a time. */
enum inflight { IDLE, MARKS, ASSIGN };

struct outbox {
	struct db	*db;
	int		 pid;		/* backend that holds the lock, or 0 */
	int		 awake;		/* holds the "awake" lock */
	enum inflight	 inflight;
	struct db_res	*next;		/* a batch numbered ahead of time */
	uint64_t	 low;		/* no unnumbered event below this xact */
	int		 probe;		/* the last scan found nothing */
	char		 low_s[24];
	struct mark	*marks;		/* acknowledged, not yet sent */
	size_t		 nmarks, cap;
	struct buf	 tenants, seqs;	/* array literals, reused */
	int64_t		 checked_ms;	/* last look at the connection */
};

struct outbox *
outbox_new(struct db *db)
{
	struct outbox	*ob = xcalloc(1, sizeof(*ob));

	ob->db = db;
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	db_res_free(ob->next);
	free(ob->marks);
	buf_free(&ob->tenants);
	buf_free(&ob->seqs);
	free(ob);
}

int
outbox_take_lock(struct outbox *ob)
{
	struct db_res	*res;
	const char	*got;
	int		 rc = -1;

	ob->pid = 0;
	outbox_reset(ob);
	if ((res = db_query(ob->db, &take_lock, 0, NULL)) == NULL)
		return -1;
	got = db_val(res, 0, 0);
	if (got != NULL && strcmp(got, "t") == 0) {
		/* LISTEN only once we relay: a standby would pile up
		 * notifications it never reads. Custom plans: a generic
		 * plan made while the outbox was empty (a fresh install,
		 * a quiet night) joined every batch against the whole
		 * events table row by row once it had grown, and a plan
		 * is only remade when the table is next analyzed: 250
		 * events/s instead of thousands for a minute or more.
		 * Planning costs ~0.2 ms a batch, which is why the scans
		 * that usually find nothing probe first (outbox_assign). */
		if (db_exec_sql(ob->db,
		    "SET plan_cache_mode = force_custom_plan") == 0 &&
		    db_exec_sql(ob->db, "LISTEN wa_events") == 0) {
			ob->pid = db_backend_pid(ob->db);
			rc = outbox_wake(ob) == 0 ? 1 : -1;
		} else
			log_err("outbox: SET or LISTEN: %s",
			    db_errmsg(ob->db));
	} else if (got != NULL)
		rc = 0;
	db_res_free(res);
	return rc;
}

int
outbox_owned(const struct outbox *ob)
{
	return ob->pid != 0 && db_backend_pid(ob->db) == ob->pid;
}

void
outbox_reset(struct outbox *ob)
{
	ob->inflight = IDLE;
	ob->awake = 0;		/* a new session holds no lock */
	ob->nmarks = 0;
	ob->low = 0;		/* a new session scans everything once */
	ob->probe = 0;
	/* Numbered but unpublished: the stored cursors bring it back. */
	db_res_free(ob->next);
	ob->next = NULL;
}

/* Runs a wake-up statement once nothing else is in flight: its first
 * column ("t" or "f"), or NULL when the connection is lost. */
static const char *
wake_stmt(struct outbox *ob, const struct db_stmt *st, int col)
{
	struct db_res	*res;
	const char	*v;

	if (outbox_flush(ob, 1) != 0 || !outbox_owned(ob) ||
	    (res = db_query(ob->db, st, 0, NULL)) == NULL)
		return NULL;
	v = db_val(res, 0, col) != NULL && strcmp(db_val(res, 0, col), "t")
	    == 0 ? "t" : "f";
	db_res_free(res);
	return v;
}

int
outbox_wake(struct outbox *ob)
{
	const char	*got;

	if (ob->awake)
		return 0;
	if ((got = wake_stmt(ob, &wake, 0)) == NULL)
		return -1;
	/* Not now (a transaction is testing it): they NOTIFY meanwhile. */
	ob->awake = *got == 't';
	return 0;
}

int
outbox_settle(struct outbox *ob)
{
	const char	*quiet;

	if ((quiet = wake_stmt(ob, ob->awake ? &settle_awake : &settle, 1)) ==
	    NULL)
		return -1;
	ob->awake = 0;
	/* A batch numbered ahead of time was scanned before this: the next
	 * scan would hand it out instead of looking again. */
	return *quiet == 't' && ob->next == NULL;
}

int
outbox_awake(const struct outbox *ob)
{
	return ob->awake;
}

int
outbox_drain(struct outbox *ob)
{
	char	chan[64], payload[64];
	int	n = 0;

	while (db_notify_next(ob->db, chan, sizeof(chan), payload,
	    sizeof(payload)) == 1)
		n++;
	if (n > 0)
		ob->probe = 0;	/* someone wrote events: number them */
	return n;
}

/* Reads the result of the statement in flight (blocking): a batch is
 * kept for outbox_assign(), a cursor update's result dropped. -1 when the
 * connection is lost. */
static int
collect(struct outbox *ob)
{
	enum inflight	 what = ob->inflight;
	struct db_res	*res;

	ob->inflight = IDLE;
	if ((res = db_wait_result(ob->db)) != NULL) {
		if (what == ASSIGN)
			ob->next = res;
		else
			db_res_free(res);
		return 0;
	}
	if (!outbox_owned(ob) || db_error(ob->db) == DB_EUNAVAIL)
		return -1;
	/* A failed batch is numbered again by the next outbox_assign(); a
	 * lost cursor update only costs duplicates after a crash, and the
	 * next one carries later ids. */
	log_warn("outbox: %s failed: %s", what == ASSIGN ? "numbering" :
	    "cursor update", db_errmsg(ob->db));
	return 0;
}

/* Sends the pending marks as one UPDATE; the result is read later. */
static int
send_marks(struct outbox *ob)
{
	const char	*v[2];
	size_t		 i;

	buf_reset(&ob->tenants);
	buf_reset(&ob->seqs);
	for (i = 0; i < ob->nmarks; i++) {
		buf_appendf(&ob->tenants, "%c%s", i == 0 ? '{' : ',',
		    ob->marks[i].tenant);
		buf_appendf(&ob->seqs, "%c%lld", i == 0 ? '{' : ',',
		    ob->marks[i].seq);
	}
	buf_appends(&ob->tenants, "}");
	buf_appends(&ob->seqs, "}");
	v[0] = buf_str(&ob->tenants);
	v[1] = buf_str(&ob->seqs);
	if (!outbox_owned(ob) || db_send(ob->db, &set_published, 2, v) != 0)
		return -1;
	ob->nmarks = 0;
	ob->inflight = MARKS;
	return 0;
}

int
outbox_flush(struct outbox *ob, int wait)
{
	int	ready;

	if (wait) {
		while (ob->inflight != IDLE || ob->nmarks > 0)
			if ((ob->inflight != IDLE && collect(ob) != 0) ||
			    (ob->inflight == IDLE && ob->nmarks > 0 &&
			    send_marks(ob) != 0))
				return -1;
		return 0;
	}
	/* Called after every frame: look at the connection only every
	 * OUTBOX_MARK_MS, a system call per frame costs more than the
	 * frame. */
	if (now_ms() - ob->checked_ms < OUTBOX_MARK_MS)
		return 0;
	ob->checked_ms = now_ms();
	if (ob->inflight != IDLE) {
		if ((ready = db_result_ready(ob->db)) <= 0)
			return ready;	/* 0: still running; -1: lost */
		if (collect(ob) != 0)
			return -1;
	}
	if (ob->nmarks == 0)	/* reading input notices a lost link */
		return db_consume(ob->db) == 0 ? 0 : -1;
	return send_marks(ob);
}

/* Where the next scan may start, from the batch just numbered. Events
 * not in it are either visible and after its last row (when it was full),
 * or written by transactions still running when its snapshot was taken,
 * whose ids are >= that snapshot's xmin; later ones get larger ids. */
static void
next_low(struct outbox *ob, const struct db_res *res)
{
	int		 n = db_rows(res);
	const char	*v;
	uint64_t	 low;

	if (n == 0 || (v = db_val(res, n - 1, OUTBOX_XMIN)) == NULL)
		return;
	low = strtoull(v, NULL, 10);
	if (n == OUTBOX_BATCH && (v = db_val(res, n - 1, OUTBOX_XACT)) !=
	    NULL && strtoull(v, NULL, 10) < low)
		low = strtoull(v, NULL, 10);
	if (low > ob->low)
		ob->low = low;
}

static const char *
low_param(struct outbox *ob)
{
	snprintf(ob->low_s, sizeof(ob->low_s), "%llu",
	    (unsigned long long)ob->low);
	return ob->low_s;
}

int
outbox_prefetch(struct outbox *ob)
{
	const char	*v[1];

	/* A cursor update in flight is short (and likely done): numbering
	 * the next batch while this one is published is what keeps the
	 * relay going at the database's pace. */
	if (ob->inflight == MARKS && collect(ob) != 0)
		return -1;
	if (ob->inflight != IDLE || ob->next != NULL)
		return 0;
	v[0] = low_param(ob);
	if (!outbox_owned(ob) || db_send(ob->db, &assign, 1, v) != 0)
		return -1;
	ob->inflight = ASSIGN;
	return 0;
}

struct db_res *
outbox_assign(struct outbox *ob)
{
	struct db_res	*res;
	const char	*v[1];

	/* The batch numbered ahead of time, if any, comes first: its ids
	 * follow those being published. */
	while (ob->next == NULL && ob->inflight == ASSIGN)
		if (collect(ob) != 0)
			return NULL;
	if ((res = ob->next) != NULL)
		ob->next = NULL;
	/* Never on a session that is not the lock holder: db_query would
	 * reconnect a broken connection behind our back. */
	else if (outbox_flush(ob, 1) != 0 || !outbox_owned(ob))
		return NULL;
	else {
		v[0] = low_param(ob);
		if (ob->probe) {
			if ((res = db_query(ob->db, &probe, 1, v)) == NULL ||
			    db_rows(res) == 0)
				return res;
			db_res_free(res);
		}
		if ((res = db_query(ob->db, &assign, 1, v)) == NULL)
			return NULL;
	}
	ob->probe = db_rows(res) == 0;
	next_low(ob, res);
	return res;
}

struct db_res *
outbox_unpublished(struct outbox *ob)
{
	if (outbox_flush(ob, 1) != 0 || !outbox_owned(ob))
		return NULL;
	return db_query(ob->db, &unpublished, 0, NULL);
}

void
outbox_mark(struct outbox *ob, const char *tenant, const char *seq)
{
	long long	 n = atoll(seq);
	size_t		 i;

	/* Few tenants per batch, and the latest is the likeliest. */
	for (i = ob->nmarks; i > 0; i--)
		if (strcmp(ob->marks[i - 1].tenant, tenant) == 0) {
			if (ob->marks[i - 1].seq < n)
				ob->marks[i - 1].seq = n;
			return;
		}
	if (ob->nmarks == ob->cap) {
		ob->cap = ob->cap != 0 ? ob->cap * 2 : 64;
		ob->marks = xrealloc(ob->marks, ob->cap * sizeof(*ob->marks));
	}
	snprintf(ob->marks[ob->nmarks].tenant, UUID_LEN + 1, "%s", tenant);
	ob->marks[ob->nmarks++].seq = n;
}
