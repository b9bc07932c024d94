/* jobd/queue.c: the dispatcher's statements on the job queue. Claiming
 * marks jobs as this session's (FOR UPDATE SKIP LOCKED, so dispatchers on
 * several machines share the queue); a worker then starts each under its
 * claim (jobd/kinds.c).
 *
 * Wake-ups (schema/functions/jobs.sql): while the dispatcher looks for
 * work it holds "jobs awake" (4242007), and transactions that add jobs do
 * not NOTIFY, so they do not queue on NOTIFY's database-wide commit lock.
 * To sleep, it lets go of "awake" and tests "jobs in flight" (4242008),
 * which every such transaction holds shared until it ends: once free,
 * every job added while it was awake has committed, so one more claim
 * sees it; anything added later NOTIFYs. Only ever *tried*: a long
 * transaction never makes the dispatcher wait. */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "util.h"

static const struct db_stmt claim = { "queue_claim",
	"SELECT id, kind, claim, wait_ms FROM wa_jobs_claim($1, $2, $3)" };
static const struct db_stmt wake = { "queue_wake",
	"SELECT pg_try_advisory_lock(4242007)" };
static const struct db_stmt settle_awake = { "queue_settle_awake",
	"SELECT pg_advisory_unlock(4242007), CASE WHEN"
	" pg_try_advisory_lock(4242008) THEN pg_advisory_unlock(4242008)"
	" ELSE false END" };
static const struct db_stmt settle = { "queue_settle",
	"SELECT true, CASE WHEN pg_try_advisory_lock(4242008) THEN"
	" pg_advisory_unlock(4242008) ELSE false END" };
static const struct db_stmt next_due = { "queue_next_due",
	"SELECT wa_jobs_next_due()" };
static const struct db_stmt recover = { "queue_recover",
	"SELECT id, kind, ref, was_state, new_state FROM wa_jobs_recover()" };
static const struct db_stmt purge = { "queue_purge",
	"SELECT wa_jobs_purge()" };

struct queue {
	struct db	*db;
	int		 awake;		/* holds "jobs awake" */
};

struct queue *
queue_new(struct db *db)
{
	struct queue	*q = xcalloc(1, sizeof(*q));

	q->db = db;
	return q;
}

void
queue_free(struct queue *q)
{
	free(q);
}

int
queue_listen(struct queue *q)
{
	if (db_exec_sql(q->db, "LISTEN wa_jobs") != 0) {
		log_err("queue: LISTEN: %s", db_errmsg(q->db));
		return -1;
	}
	return 0;
}

void
queue_reset(struct queue *q)
{
	q->awake = 0;
}

int
queue_claim(struct queue *q, int n, struct job *jobs)
{
	struct db_res	*res;
	const char	*v[3];
	char		 num[16], mps[24], gap[24];
	int64_t		 now = now_ms();
	int		 i, rows;

	if (n > QUEUE_CLAIM_MAX)
		n = QUEUE_CLAIM_MAX;
	snprintf(num, sizeof(num), "%d", n);
	snprintf(mps, sizeof(mps), "%ld", conf.send_mps);
	snprintf(gap, sizeof(gap), "%ld", conf.send_recipient_gap_ms);
	v[0] = num;
	v[1] = mps;
	v[2] = gap;
	if ((res = db_query(q->db, &claim, 3, v)) == NULL)
		return -1;
	rows = db_rows(res);
	for (i = 0; i < rows && i < n; i++) {
		jobs[i].id = strtoll(db_val(res, i, 0), NULL, 10);
		snprintf(jobs[i].kind, sizeof(jobs[i].kind), "%s",
		    db_val(res, i, 1));
		jobs[i].claim = strtoll(db_val(res, i, 2), NULL, 10);
		jobs[i].start_ms = now + strtoll(db_val(res, i, 3), NULL, 10);
	}
	db_res_free(res);
	return i;
}

/* A one-row boolean statement: its column col (1 true, 0 false), or -1
 * on error. */
static int
bool_stmt(struct queue *q, const struct db_stmt *st, int col)
{
	struct db_res	*res;
	const char	*v;
	int		 b;

	if ((res = db_query(q->db, st, 0, NULL)) == NULL)
		return -1;
	v = db_val(res, 0, col);
	b = v != NULL && *v == 't';
	db_res_free(res);
	return b;
}

int
queue_wake(struct queue *q)
{
	int	got;

	if (q->awake)
		return 0;
	if ((got = bool_stmt(q, &wake, 0)) < 0)
		return -1;
	/* Not now (an enqueuer is testing it, or another dispatcher holds
	 * it): enqueuers notify meanwhile, or the other one looks. */
	q->awake = got;
	return 0;
}

int
queue_settle(struct queue *q)
{
	int	quiet;

	if ((quiet = bool_stmt(q, q->awake ? &settle_awake : &settle, 1)) < 0)
		return -1;
	q->awake = 0;
	return quiet;
}

long
queue_next_due_ms(struct queue *q)
{
	struct db_res	*res;
	const char	*v;
	long		 ms;

	if ((res = db_query(q->db, &next_due, 0, NULL)) == NULL)
		return -2;
	v = db_val(res, 0, 0);
	/* Rounded up: waking early would find nothing due. */
	ms = v == NULL ? -1 : (long)(strtod(v, NULL) * 1000.0 + 0.999);
	db_res_free(res);
	return ms;
}

int
queue_drain(struct queue *q)
{
	char	chan[64], payload[64];
	int	n = 0;

	while (db_notify_next(q->db, chan, sizeof(chan), payload,
	    sizeof(payload)) == 1)
		n++;
	return n;
}

int
queue_recover(struct queue *q)
{
	struct db_res	*res;
	int		 i;

	if ((res = db_query(q->db, &recover, 0, NULL)) == NULL)
		return -1;
	for (i = 0; i < db_rows(res); i++) {
		if (strcmp(db_val(res, i, 4), "unknown") == 0)
			log_warn("job %s (%s, ref %s): its worker ended during "
			    "the attempt: outcome unknown, not resent",
			    db_val(res, i, 0), db_val(res, i, 1),
			    db_val(res, i, 2) != NULL ? db_val(res, i, 2) :
			    "-");
		else
			log_info("job %s (%s): was %s by a worker that is "
			    "gone: queued again", db_val(res, i, 0),
			    db_val(res, i, 1), db_val(res, i, 3));
	}
	db_res_free(res);
	return 0;
}

void
queue_purge(struct queue *q)
{
	struct db_res	*res;

	if ((res = db_query(q->db, &purge, 0, NULL)) != NULL)
		db_res_free(res);
}
