/* pushd/outbox.c: the SQL of the relay. Events are numbered per tenant by
 * the transactions that write them, and a tenant's events commit in seq
 * order (schema/functions/events.sql), so the relay only reads: per
 * tenant, the events after the last one nginx acknowledged (event_cursors,
 * written here) up to the tenant's counter (event_counters). Clients see
 * 1, 2, 3... per tenant with no gaps. */
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

/* The batch size is part of the SQL text: the number the fetch returns
 * when it is full is this one. */
#define STR_(x)			#x
#define STR(x)			STR_(x)
#define OUTBOX_BATCH_SQL	STR(OUTBOX_BATCH)

/* The relay lock: one key for every wa-pushd of a database. */
static const struct db_stmt take_lock = { "outbox_take_lock",
	"SELECT pg_try_advisory_lock(4242004)" };

/* The next events to publish (wa_relay_fetch(), schema/functions/
 * events.sql): per tenant, the events after the last one nginx
 * acknowledged or, while a batch fetched ahead is still being published,
 * after that batch ($1, $2: tenants and the last seq fetched). */
static const struct db_stmt fetch = { "outbox_fetch",
	"SELECT * FROM wa_relay_fetch($1::uuid[], $2::bigint[], "
	OUTBOX_BATCH_SQL ")" };

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

/* A tenant's first acknowledgement makes its row. Committed without
 * waiting for the disk (synchronous_commit off for this transaction
 * alone): a cursor lost in a crash of the database only makes the next
 * relay publish those frames again, which clients drop by id, and a
 * durable commit here made every fetch wait for a WAL flush, so the relay
 * went at the disk's pace. (The events themselves are always committed
 * durably by their writers before the relay can see them.) */
static const struct db_stmt set_published = { "outbox_set_published",
	"WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true))"
	" INSERT INTO event_cursors AS c (tenant_id, published)"
	" SELECT v.tenant_id, v.seq FROM lazy,"
	"  unnest($1::uuid[], $2::bigint[]) AS v(tenant_id, seq)"
	" ON CONFLICT (tenant_id) DO UPDATE SET published = excluded.published"
	" WHERE c.published < excluded.published" };

struct mark {
	char		 tenant[UUID_LEN + 1];
	long long	 seq;
};

/* What the connection is busy with: one statement at a time. */
enum inflight { IDLE, MARKS, FETCH };

struct outbox {
	struct db	*db;
	int		 pid;		/* backend that holds the lock, or 0 */
	int		 awake;		/* holds the "awake" lock */
	enum inflight	 inflight;
	struct db_res	*next;		/* a batch fetched ahead of time */
	struct mark	*marks;		/* acknowledged, not yet sent */
	size_t		 nmarks, cap;
	/* The last seq fetched per tenant, since the last fetch that
	 * followed a written cursor: what fetching ahead starts after. */
	struct mark	*fetched;
	size_t		 nfetched, fcap;
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
	free(ob->fetched);
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
		 * notifications it never reads. Custom plans for this
		 * session's own statements (ended sessions, poll deadlines:
		 * a generic plan made on an empty table would stay); the
		 * fetch keeps its own settings (wa_relay_fetch()). */
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
	ob->nfetched = 0;
	/* Fetched but unpublished: the stored cursors bring it back. */
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
	/* A batch fetched ahead of time was read before this: the next
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
	return n;
}

/* Reads the result of the statement in flight (blocking): a batch is
 * kept for outbox_next(), a cursor update's result dropped. -1 when the
 * connection is lost. */
static int
collect(struct outbox *ob)
{
	enum inflight	 what = ob->inflight;
	struct db_res	*res;

	ob->inflight = IDLE;
	if ((res = db_wait_result(ob->db)) != NULL) {
		if (what == FETCH)
			ob->next = res;
		else
			db_res_free(res);
		return 0;
	}
	if (!outbox_owned(ob) || db_error(ob->db) == DB_EUNAVAIL)
		return -1;
	/* A failed fetch is made again by the next outbox_next(); a lost
	 * cursor update only costs duplicates after a crash, and the next
	 * one carries later ids. */
	log_warn("outbox: %s failed: %s", what == FETCH ? "fetch ahead" :
	    "cursor update", db_errmsg(ob->db));
	if (what == FETCH)
		ob->nfetched = 0;	/* the stored cursors are behind */
	return 0;
}

/* Adds `seq` of `tenant` to a list of (tenant, highest seq) pairs. */
static void
marks_put(struct mark **v, size_t *n, size_t *cap, const char *tenant,
    long long seq)
{
	size_t	i;

	/* Few tenants per batch, and the latest is the likeliest. */
	for (i = *n; i > 0; i--)
		if (strcmp((*v)[i - 1].tenant, tenant) == 0) {
			if ((*v)[i - 1].seq < seq)
				(*v)[i - 1].seq = seq;
			return;
		}
	if (*n == *cap) {
		*cap = *cap != 0 ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	snprintf((*v)[*n].tenant, UUID_LEN + 1, "%s", tenant);
	(*v)[(*n)++].seq = seq;
}

/* The pairs as two array literals, in ob->tenants and ob->seqs. */
static void
marks_arrays(struct outbox *ob, const struct mark *v, size_t n)
{
	size_t	i;

	buf_reset(&ob->tenants);
	buf_reset(&ob->seqs);
	buf_appends(&ob->tenants, "{");
	buf_appends(&ob->seqs, "{");
	for (i = 0; i < n; i++) {
		buf_appendf(&ob->tenants, "%s%s", i == 0 ? "" : ",",
		    v[i].tenant);
		buf_appendf(&ob->seqs, "%s%lld", i == 0 ? "" : ",", v[i].seq);
	}
	buf_appends(&ob->tenants, "}");
	buf_appends(&ob->seqs, "}");
}

/* Sends the pending marks as one statement; the result is read later. */
static int
send_marks(struct outbox *ob)
{
	const char	*v[2];

	marks_arrays(ob, ob->marks, ob->nmarks);
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

/* Remembers how far a batch goes, for fetching the next one ahead. */
static void
note_fetched(struct outbox *ob, const struct db_res *res)
{
	int	i;

	for (i = 0; i < db_rows(res); i++)
		marks_put(&ob->fetched, &ob->nfetched, &ob->fcap,
		    db_val(res, i, OUTBOX_TENANT),
		    atoll(db_val(res, i, OUTBOX_SEQ)));
}

/* The fetch's parameters: start after what was fetched (ob->fetched). */
static void
fetch_params(struct outbox *ob, const char *v[2])
{
	marks_arrays(ob, ob->fetched, ob->nfetched);
	v[0] = buf_str(&ob->tenants);
	v[1] = buf_str(&ob->seqs);
}

int
outbox_prefetch(struct outbox *ob)
{
	const char	*v[2];

	/* A cursor update in flight is short (and likely done): fetching
	 * the next batch while this one is published is what keeps the
	 * relay going at the database's pace. */
	if (ob->inflight == MARKS && collect(ob) != 0)
		return -1;
	if (ob->inflight != IDLE || ob->next != NULL)
		return 0;
	fetch_params(ob, v);
	if (!outbox_owned(ob) || db_send(ob->db, &fetch, 2, v) != 0)
		return -1;
	ob->inflight = FETCH;
	return 0;
}

struct db_res *
outbox_next(struct outbox *ob)
{
	struct db_res	*res;
	const char	*v[2];

	/* The batch fetched ahead of time, if any, comes first: its events
	 * follow those being published. */
	while (ob->next == NULL && ob->inflight == FETCH)
		if (collect(ob) != 0)
			return NULL;
	if ((res = ob->next) != NULL)
		ob->next = NULL;
	/* Never on a session that is not the lock holder: db_query would
	 * reconnect a broken connection behind our back. */
	else if (outbox_flush(ob, 1) != 0 || !outbox_owned(ob))
		return NULL;
	else {
		/* Everything fetched was published (cycle() publishes a
		 * batch whole before asking again) and its cursors are now
		 * written: the stored cursors say where to start. */
		ob->nfetched = 0;
		fetch_params(ob, v);
		if ((res = db_query(ob->db, &fetch, 2, v)) == NULL)
			return NULL;
	}
	note_fetched(ob, res);
	return res;
}

void
outbox_mark(struct outbox *ob, const char *tenant, const char *seq)
{
	marks_put(&ob->marks, &ob->nmarks, &ob->cap, tenant, atoll(seq));
}
