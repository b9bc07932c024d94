/* fcgi/ingest_batch.c: see ingest_batch.h. A leader/follower queue: no
 * thread of its own and no timer. Whoever finds nobody storing becomes
 * the leader, takes what is queued (up to BATCH_MAX_MSGS messages, oldest
 * first) and stores it on its own connection; the bodies that arrive
 * meanwhile wait for the next leader. A quiet server thus stores each body
 * at once, alone, and a busy one in batches as large as the time a commit
 * takes lets gather: nothing waits for a batch to fill.
 *
 * Exactly once and "200 means committed" hold per body whatever the batch
 * does: a batch either commits whole or not at all, and a batch the
 * database refuses for its data is undone and each of its bodies given to
 * the general path alone, where one bad body is logged and answered 200
 * without failing the others. */
#include "ingest_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "pg_array.h"
#include "util.h"
#include "wh_parse.h"

/* How long a batch about to start waits for bodies still being read and
 * parsed by other threads: far less than a commit, and only while some
 * are (a quiet server never waits). */
#define LINGER_US	300

/* More per transaction would add latency without saving much: the fixed
 * costs are already shared 64 ways. A body has at most as many. */
#define BATCH_MAX_MSGS	WH_BODY_MAX_MSGS

enum col {
	C_PNID, C_WAMID, C_FROM, C_UID, C_NAME, C_TYPE, C_TEXT, C_MEDIA_ID,
	C_MEDIA_MIME, C_MEDIA_SHA256, C_MEDIA_FILENAME, C_CONTENT, C_CONTEXT,
	C_FORWARDED, C_FREQ, C_TS, C_RAW, NCOLS
};

static const struct db_stmt store = { "ingest_batch",
	"SELECT new, more"
	" FROM wa_ingest_batch($1::text[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
	" $10::text[], $11::text[], $12::jsonb[], $13::text[],"
	" $14::boolean[], $15::boolean[], $16::bigint[], $17::jsonb[])" };

/* The result's columns: per message, whether it was stored (-1 no tenant,
 * 0 a duplicate, 1 stored) and how many events beyond its own it caused.
 * (A /poll's question is a job written in the batch's transaction:
 * wa-jobd sends it, not this thread.) */
enum { R_NEW, R_MORE };
/* Where they go in the summary (fcgi/webhook.c's order). */
enum { S_MESSAGES = 0, S_DUPLICATES = 4, S_EVENTS = 5 };

struct job {
	struct wh_body		*body;
	struct ingest_result	*res;
	int			 done;
	/* Its thread waits here: woken when its batch has ended, or when it
	 * is first in the queue and nobody stores (it then leads). One per
	 * job, so a batch's end wakes its own threads, not every thread. */
	pthread_cond_t		 wake;
	struct job		*next;
};

static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	queued = PTHREAD_COND_INITIALIZER;
static int		 arriving;	/* announced, not yet queued */
static size_t		 queued_msgs;
static struct job	*queue, **queue_end = &queue;
static int		 leading;	/* a batch is being stored */
/* The leader's connection: one per process, used by one leader at a time,
 * whichever thread that is. */
static struct db	*batch_db;

/* Takes the oldest queued jobs, up to BATCH_MAX_MSGS messages (at least
 * one job). Called with the lock held. */
static struct job *
take_batch(size_t *njobs, size_t *nmsgs)
{
	struct job	*first = queue, **cut = &queue;

	*njobs = 0;
	*nmsgs = 0;
	while (*cut != NULL && (*njobs == 0 ||
	    *nmsgs + (*cut)->body->n <= BATCH_MAX_MSGS)) {
		*nmsgs += (*cut)->body->n;
		(*njobs)++;
		cut = &(*cut)->next;
	}
	queue = *cut;
	if (queue == NULL)
		queue_end = &queue;
	*cut = NULL;
	queued_msgs -= *nmsgs;
	return first;
}

/* Waits (lock held) while bodies are on their way and the batch has room,
 * for at most LINGER_US. */
static void
linger(void)
{
	struct timespec	until;

	if (arriving == 0 || queued_msgs >= BATCH_MAX_MSGS)
		return;
	/* The condition variable waits on the wall clock (its default). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += LINGER_US * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (arriving > 0 && queued_msgs < BATCH_MAX_MSGS)
		if (pthread_cond_timedwait(&queued, &lock, &until) != 0)
			break;
}

void
ingest_batch_announce(struct ingest_arrival *a)
{
	pthread_mutex_lock(&lock);
	arriving++;
	a->pending = 1;
	a->hold_ms = 0;
	pthread_mutex_unlock(&lock);
}

static void
nap_ms(int ms)
{
	struct timespec	t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Called with the lock held. */
static void
arrived(struct ingest_arrival *a)
{
	if (a == NULL || !a->pending)
		return;
	a->pending = 0;
	arriving--;
	pthread_cond_signal(&queued);
}

void
ingest_batch_gone(struct ingest_arrival *a)
{
	if (!a->pending)
		return;
	pthread_mutex_lock(&lock);
	arrived(a);
	pthread_mutex_unlock(&lock);
}

/* One message's columns as text. */
static void
msg_values(const struct wh_msg *m, const char *v[NCOLS])
{
	v[C_PNID] = m->pnid;
	v[C_WAMID] = m->wamid;
	v[C_FROM] = m->from;
	v[C_UID] = m->user_id;
	v[C_NAME] = m->name;
	v[C_TYPE] = m->type;
	v[C_TEXT] = m->text;
	v[C_MEDIA_ID] = m->media_id;
	v[C_MEDIA_MIME] = m->media_mime;
	v[C_MEDIA_SHA256] = m->media_sha256;
	v[C_MEDIA_FILENAME] = m->media_filename;
	v[C_CONTENT] = m->content;
	v[C_CONTEXT] = m->context;
	v[C_FORWARDED] = m->forwarded ? "t" : "f";
	v[C_FREQ] = m->freq_forwarded ? "t" : "f";
	v[C_TS] = m->ts[0] != '\0' ? m->ts : NULL;
	v[C_RAW] = m->raw;
}

/* The statement's parameters: one array per column. */
static void
build_arrays(const struct job *jobs, struct buf cols[NCOLS])
{
	const struct job	*j;
	const char		*v[NCOLS];
	size_t			 i;
	int			 c;

	for (c = 0; c < NCOLS; c++)
		pg_array_begin(&cols[c]);
	for (j = jobs; j != NULL; j = j->next) {
		for (i = 0; i < j->body->n; i++) {
			msg_values(&j->body->msgs[i], v);
			for (c = 0; c < NCOLS; c++)
				pg_array_add(&cols[c], v[c]);
		}
	}
	for (c = 0; c < NCOLS; c++)
		pg_array_end(&cols[c]);
}

static void
set_outcome(struct job *jobs, enum ingest_outcome o, struct db *db)
{
	struct job	*j;

	for (j = jobs; j != NULL; j = j->next) {
		j->res->outcome = o;
		j->res->err = db_error(db);
		snprintf(j->res->errmsg, sizeof(j->res->errmsg), "%s",
		    db_errmsg(db));
	}
}

/* Each body's summary, summed from its messages' rows; -1 when the
 * result is not what the statement returns. */
static int
take_result(struct job *jobs, size_t nmsgs, struct db_res *res)
{
	long long	 new[BATCH_MAX_MSGS], more[BATCH_MAX_MSGS];
	struct job	*j;
	size_t		 i, at = 0;
	int64_t		*c;

	if (db_rows(res) != 1 ||
	    pg_array_ints(db_val(res, 0, R_NEW), new, nitems(new)) !=
	    (long)nmsgs ||
	    pg_array_ints(db_val(res, 0, R_MORE), more, nitems(more)) !=
	    (long)nmsgs)
		return -1;
	for (j = jobs; j != NULL; at += j->body->n, j = j->next) {
		c = j->res->counts;
		memset(c, 0, sizeof(j->res->counts));
		j->res->outcome = INGEST_STORED;
		for (i = at; i < at + j->body->n; i++) {
			if (new[i] < 0)
				j->res->outcome = INGEST_GENERAL;
			c[S_MESSAGES] += new[i] > 0;
			c[S_DUPLICATES] += new[i] == 0;
			c[S_EVENTS] += (new[i] > 0) + more[i];
		}
	}
	return 0;
}

/* Stores a batch; every job's outcome is set. */
static void
run_batch(struct db *db, struct job *jobs, size_t njobs, size_t nmsgs)
{
	struct buf	 cols[NCOLS];
	const char	*v[NCOLS];
	struct db_res	*res;
	int		 c;

	memset(cols, 0, sizeof(cols));
	build_arrays(jobs, cols);
	for (c = 0; c < NCOLS; c++)
		v[c] = buf_str(&cols[c]);
	/* A dead connection (a database restart) or a deadlock: once more.
	 * Safe even if the first attempt did commit: exactly once. */
	res = db_query_retry(db, &store, NCOLS, v);
	if (res != NULL && take_result(jobs, nmsgs, res) == 0)
		metrics_webhook_batch(njobs, 0);
	else if (res != NULL) {
		/* Committed, yet we cannot tell what: a retry is safe. */
		log_err("ingest: unexpected result from wa_ingest_batch()");
		set_outcome(jobs, INGEST_RETRY, db);
	}
	else if (db_error(db) == DB_EUNAVAIL || db_error(db) == DB_ERETRY)
		set_outcome(jobs, INGEST_RETRY, db);
	else {
		/* Something in the data: each body alone, the general way. */
		log_warn("ingest: a batch of %zu bodies refused, each taken "
		    "alone: %s", njobs, db_errmsg(db));
		set_outcome(jobs, INGEST_GENERAL, db);
		metrics_webhook_batch(njobs, 1);
	}
	db_res_free(res);
	for (c = 0; c < NCOLS; c++)
		buf_free(&cols[c]);
}

void
ingest_batch_store(struct wh_body *body, struct ingest_arrival *a,
    struct ingest_result *res)
{
	struct job	 self = { .body = body, .res = res }, *batch, *j;
	size_t		 njobs, nmsgs;

	memset(res, 0, sizeof(*res));
	pthread_cond_init(&self.wake, NULL);
	pthread_mutex_lock(&lock);
	*queue_end = &self;
	queue_end = &self.next;
	queued_msgs += body->n;
	arrived(a);
	while (!self.done) {
		if (leading) {
			pthread_cond_wait(&self.wake, &lock);
			continue;
		}
		leading = 1;
		if (a != NULL && a->hold_ms > 0) {
			pthread_mutex_unlock(&lock);
			nap_ms(a->hold_ms);
			pthread_mutex_lock(&lock);
		}
		linger();
		batch = take_batch(&njobs, &nmsgs);
		if (batch_db == NULL)
			batch_db = db_open_lazy(conf.database_url,
			    "wa-fcgi-webhook");
		pthread_mutex_unlock(&lock);
		run_batch(batch_db, batch, njobs, nmsgs);
		pthread_mutex_lock(&lock);
		for (j = batch; j != NULL; j = j->next) {
			j->done = 1;
			if (j != &self)
				pthread_cond_signal(&j->wake);
		}
		leading = 0;
		/* The oldest waiting body's thread leads the next batch. */
		if (queue != NULL)
			pthread_cond_signal(&queue->wake);
	}
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&self.wake);
}
