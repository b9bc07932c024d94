/* fcgi/ingest_batch.c: see ingest_batch.h. A leader/follower queue: no
 * thread of its own and no timer. Whoever finds nobody storing becomes
 * the leader, takes what is queued (up to BATCH_MAX_MSGS messages, oldest
 * first) and stores it on its own connection; the bodies that arrive
 * meanwhile wait for the next leader. A quiet server thus stores each body
 * at once, alone, and a busy one in batches as large as the time a commit
 * takes lets gather: nothing waits for a batch to fill.
 *
 * Bodies the C parser leaves to the general path (statuses, reactions,
 * edits...) queue too and are stored together by wa_webhook_ingest_many(),
 * the general path body by body in one transaction: one commit, and one
 * take of the tenant's event counter (schema/functions/events.sql), for
 * all of them. A leader stores the parsed bodies it took in one statement
 * and the general ones in another.
 *
 * Exactly once and "200 means committed" hold per body whatever the batch
 * does: a batch either commits whole or not at all, and a batch the
 * database refuses for its data is undone and each of its bodies given to
 * the general path alone, where one bad body is logged and answered 200
 * without failing the others. */
#include "ingest_batch.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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
 * costs are already shared 64 ways. A body has at most as many; a body
 * for the general path counts as one. */
#define BATCH_MAX_MSGS	WH_BODY_MAX_MSGS
/* General bodies are sent whole: beyond this many bytes a batch takes no
 * more of them (a single larger body still goes, alone). */
#define BATCH_MAX_BYTES	(1u << 20)

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

/* The general path for several bodies: each one's summary, in order, in
 * fcgi/webhook.c's column order. */
static const struct db_stmt store_general = { "ingest_batch_general",
	"SELECT j->>'messages', j->>'statuses', j->>'reactions',"
	" j->>'edits', j->>'duplicates', j->>'events', j->>'logged',"
	" j->>'unplaced'"
	" FROM wa_webhook_ingest_many($1::jsonb[]) AS s(j)" };

/* The result's columns: per message, whether it was stored (-1 no tenant,
 * 0 a duplicate, 1 stored) and how many events beyond its own it caused.
 * (A /poll's question is a job written in the batch's transaction:
 * wa-jobd sends it, not this thread.) */
enum { R_NEW, R_MORE };
/* Where they go in the summary (fcgi/webhook.c's order). */
enum { S_MESSAGES = 0, S_DUPLICATES = 4, S_EVENTS = 5 };

/* A job's state, the word its thread sleeps on (a futex). */
enum { JOB_WAIT, JOB_LEAD, JOB_DONE };

struct job {
	struct wh_body		*body;	/* parsed messages, or NULL: */
	const char		*raw;	/* a body for the general path */
	size_t			 raw_len;
	struct ingest_result	*res;
	/* JOB_WAIT while queued or stored; JOB_LEAD when it is first in the
	 * queue and nobody stores (its thread then leads); JOB_DONE once its
	 * batch has ended. The leader sets JOB_DONE and wakes the thread
	 * without the lock, so the thread goes its way at once rather than
	 * wake only to wait for the lock: one wake-up per body. */
	atomic_int		 state;
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

/* What a job counts for against BATCH_MAX_MSGS. */
static size_t
job_msgs(const struct job *j)
{
	return j->body != NULL ? j->body->n : 1;
}

/* Takes the oldest queued jobs, up to BATCH_MAX_MSGS messages and
 * BATCH_MAX_BYTES of general bodies (at least one job). Called with the
 * lock held. */
static struct job *
take_batch(void)
{
	struct job	*first = queue, **cut = &queue;
	size_t		 nmsgs = 0, bytes = 0;

	while (*cut != NULL && (cut == &queue ||
	    (nmsgs + job_msgs(*cut) <= BATCH_MAX_MSGS &&
	    bytes + (*cut)->raw_len <= BATCH_MAX_BYTES))) {
		nmsgs += job_msgs(*cut);
		bytes += (*cut)->raw_len;
		cut = &(*cut)->next;
	}
	queue = *cut;
	if (queue == NULL)
		queue_end = &queue;
	*cut = NULL;
	queued_msgs -= nmsgs;
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
build_arrays(struct job *const *jobs, size_t njobs, struct buf cols[NCOLS])
{
	const char	*v[NCOLS];
	size_t		 i, k;
	int		 c;

	for (c = 0; c < NCOLS; c++)
		pg_array_begin(&cols[c]);
	for (k = 0; k < njobs; k++)
		for (i = 0; i < jobs[k]->body->n; i++) {
			msg_values(&jobs[k]->body->msgs[i], v);
			for (c = 0; c < NCOLS; c++)
				pg_array_add(&cols[c], v[c]);
		}
	for (c = 0; c < NCOLS; c++)
		pg_array_end(&cols[c]);
}

static void
set_outcome(struct job *const *jobs, size_t njobs, enum ingest_outcome o,
    struct db *db)
{
	size_t	k;

	for (k = 0; k < njobs; k++) {
		jobs[k]->res->outcome = o;
		jobs[k]->res->err = db_error(db);
		snprintf(jobs[k]->res->errmsg, sizeof(jobs[k]->res->errmsg),
		    "%s", db_errmsg(db));
	}
}

/* Each body's summary, summed from its messages' rows; -1 when the
 * result is not what the statement returns. */
static int
take_result(struct job *const *jobs, size_t njobs, size_t nmsgs,
    struct db_res *res)
{
	long long	 new[BATCH_MAX_MSGS], more[BATCH_MAX_MSGS];
	struct job	*j;
	size_t		 i, k, at = 0;
	int64_t		*c;

	if (db_rows(res) != 1 ||
	    pg_array_ints(db_val(res, 0, R_NEW), new, nitems(new)) !=
	    (long)nmsgs ||
	    pg_array_ints(db_val(res, 0, R_MORE), more, nitems(more)) !=
	    (long)nmsgs)
		return -1;
	for (k = 0; k < njobs; at += jobs[k]->body->n, k++) {
		j = jobs[k];
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

/* Stores the parsed bodies of a batch; every job's outcome is set. */
static void
run_parsed(struct db *db, struct job *const *jobs, size_t njobs)
{
	struct buf	 cols[NCOLS];
	const char	*v[NCOLS];
	struct db_res	*res;
	size_t		 k, nmsgs = 0;
	int		 c;

	for (k = 0; k < njobs; k++)
		nmsgs += jobs[k]->body->n;
	memset(cols, 0, sizeof(cols));
	build_arrays(jobs, njobs, cols);
	for (c = 0; c < NCOLS; c++)
		v[c] = buf_str(&cols[c]);
	/* A dead connection (a database restart) or a deadlock: once more.
	 * Safe even if the first attempt did commit: exactly once. */
	res = db_query_retry(db, &store, NCOLS, v);
	if (res != NULL && take_result(jobs, njobs, nmsgs, res) == 0)
		metrics_webhook_batch(njobs, 0);
	else if (res != NULL) {
		/* Committed, yet we cannot tell what: a retry is safe. */
		log_err("ingest: unexpected result from wa_ingest_batch()");
		set_outcome(jobs, njobs, INGEST_RETRY, db);
	}
	else if (db_error(db) == DB_EUNAVAIL || db_error(db) == DB_ERETRY)
		set_outcome(jobs, njobs, INGEST_RETRY, db);
	else {
		/* Something in the data: each body alone, the general way. */
		log_warn("ingest: a batch of %zu bodies refused, each taken "
		    "alone: %s", njobs, db_errmsg(db));
		set_outcome(jobs, njobs, INGEST_GENERAL, db);
		metrics_webhook_batch(njobs, 1);
	}
	db_res_free(res);
	for (c = 0; c < NCOLS; c++)
		buf_free(&cols[c]);
}

/* One general body's summary from its row of store_general. */
static int
take_summary(struct job *j, struct db_res *res, int row)
{
	const char	*s;
	int		 i;

	for (i = 0; i < INGEST_COUNTS; i++)
		if ((s = db_val(res, row, i)) == NULL ||
		    str_to_i64(s, &j->res->counts[i]) != 0)
			j->res->counts[i] = 0;
	j->res->outcome = INGEST_STORED;
	return 0;
}

/* Stores the general bodies of a batch together. Whatever goes wrong, a
 * body not stored here is stored alone by the caller's general path,
 * which answers each error as it always has (a body PostgreSQL cannot
 * read, a database that is away). */
static void
run_general(struct db *db, struct job *const *jobs, size_t njobs)
{
	struct buf	 arr = BUF_INIT;
	const char	*v[1];
	struct db_res	*res;
	size_t		 k;

	pg_array_begin(&arr);
	for (k = 0; k < njobs; k++)
		pg_array_add(&arr, jobs[k]->raw);
	pg_array_end(&arr);
	v[0] = buf_str(&arr);
	res = db_query_retry(db, &store_general, 1, v);
	if (res != NULL && db_rows(res) == (int)njobs) {
		for (k = 0; k < njobs; k++)
			take_summary(jobs[k], res, (int)k);
		metrics_webhook_general_batch(njobs);
	} else {
		if (res != NULL)
			log_err("ingest: unexpected result from "
			    "wa_webhook_ingest_many()");
		else if (njobs > 1)
			log_info("ingest: %zu general bodies taken alone: %s",
			    njobs, db_errmsg(db));
		set_outcome(jobs, njobs, INGEST_GENERAL, db);
	}
	db_res_free(res);
	buf_free(&arr);
}

/* Stores a batch: its parsed bodies in one statement, its general ones
 * in another; every job's outcome is set. */
static void
run_batch(struct db *db, struct job *jobs)
{
	struct job	*parsed[BATCH_MAX_MSGS], *general[BATCH_MAX_MSGS];
	struct job	*j;
	size_t		 np = 0, ng = 0;

	for (j = jobs; j != NULL; j = j->next)
		if (j->body != NULL)
			parsed[np++] = j;
		else
			general[ng++] = j;
	if (np > 0)
		run_parsed(db, parsed, np);
	if (ng > 0)
		run_general(db, general, ng);
}

/* Sleeps while *word is JOB_WAIT. */
static void
job_sleep(atomic_int *word)
{
	while (atomic_load(word) == JOB_WAIT)
		syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, JOB_WAIT, NULL,
		    NULL, 0);
}

/* Sets a job's state and wakes its thread. Once JOB_DONE is set the job
 * may be gone (its thread returns): the wake then reaches nothing, or a
 * later job on that thread's stack, which sleeps again. */
static void
job_wake(struct job *j, int state)
{
	atomic_store(&j->state, state);
	syscall(SYS_futex, &j->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Stores the oldest queued bodies as this thread's batch (lock held on
 * entry and on return, released while storing), then hands the lead to
 * the oldest body left and wakes the batch's threads. */
static void
lead(struct job *self, struct ingest_arrival *a)
{
	struct job	*batch, *j, *next;

	leading = 1;
	if (a != NULL && a->hold_ms > 0) {
		pthread_mutex_unlock(&lock);
		nap_ms(a->hold_ms);
		pthread_mutex_lock(&lock);
	}
	linger();
	batch = take_batch();
	if (batch_db == NULL)
		batch_db = db_open_lazy(conf.database_url, "wa-fcgi-webhook");
	pthread_mutex_unlock(&lock);
	run_batch(batch_db, batch);
	pthread_mutex_lock(&lock);
	leading = 0;
	/* Under the lock: a queued job cannot end meanwhile. */
	if (queue != NULL && queue != self)
		job_wake(queue, JOB_LEAD);
	pthread_mutex_unlock(&lock);
	for (j = batch; j != NULL; j = next) {
		next = j->next;
		if (j == self)
			atomic_store(&j->state, JOB_DONE);
		else
			job_wake(j, JOB_DONE);
	}
	pthread_mutex_lock(&lock);
}

/* Queues a job and returns once its batch has ended, having stored it
 * (as the leader) or been woken by whoever did. */
static void
enqueue_and_wait(struct job *self, struct ingest_arrival *a)
{
	int	expect;

	memset(self->res, 0, sizeof(*self->res));
	atomic_init(&self->state, JOB_WAIT);
	pthread_mutex_lock(&lock);
	*queue_end = self;
	queue_end = &self->next;
	queued_msgs += job_msgs(self);
	arrived(a);
	while (atomic_load(&self->state) != JOB_DONE) {
		if (!leading) {
			lead(self, a);
			continue;
		}
		pthread_mutex_unlock(&lock);
		job_sleep(&self->state);
		if (atomic_load(&self->state) == JOB_DONE)
			return;
		/* Asked to lead: unless another thread took the lead (and
		 * perhaps this body) meanwhile. */
		pthread_mutex_lock(&lock);
		expect = JOB_LEAD;
		atomic_compare_exchange_strong(&self->state, &expect,
		    JOB_WAIT);
	}
	pthread_mutex_unlock(&lock);
}

void
ingest_batch_store(struct wh_body *body, struct ingest_arrival *a,
    struct ingest_result *res)
{
	struct job	self = { .body = body, .res = res };

	enqueue_and_wait(&self, a);
}

void
ingest_batch_store_general(const char *body, size_t len,
    struct ingest_arrival *a, struct ingest_result *res)
{
	struct job	self = { .raw = body, .raw_len = len, .res = res };

	enqueue_and_wait(&self, a);
}
