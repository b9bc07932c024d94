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

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "pg_array.h"
#include "util.h"
#include "wh_parse.h"

/* More per transaction would add latency without saving much: the fixed
 * costs are already shared 64 ways. */
#define BATCH_MAX_MSGS	64

enum col {
	C_BODY, C_PNID, C_WAMID, C_FROM, C_NAME, C_TYPE, C_TEXT, C_MEDIA_ID,
	C_MEDIA_MIME, C_MEDIA_SHA256, C_MEDIA_FILENAME, C_CONTENT, C_CONTEXT,
	C_FORWARDED, C_FREQ, C_TS, C_RAW, NCOLS
};

static const struct db_stmt store = { "ingest_batch",
	"SELECT body, placed, messages, duplicates, events, polls"
	" FROM wa_ingest_batch($1::int[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
	" $10::text[], $11::text[], $12::jsonb[], $13::text[],"
	" $14::boolean[], $15::boolean[], $16::bigint[], $17::jsonb[])" };

/* The result's columns. */
enum { R_BODY, R_PLACED, R_MESSAGES, R_DUPLICATES, R_EVENTS, R_POLLS };
/* Where they go in the summary (fcgi/webhook.c's order). */
enum { S_MESSAGES = 0, S_DUPLICATES = 4, S_EVENTS = 5 };

struct job {
	struct wh_body		*body;
	struct ingest_result	*res;
	int			 done;
	struct job		*next;
};

static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	ended = PTHREAD_COND_INITIALIZER;
static struct job	*queue, **queue_end = &queue;
static int		 leading;	/* a batch is being stored */
static uint64_t		 n_bodies, n_batches;

/* Takes the oldest queued jobs, up to BATCH_MAX_MSGS messages (at least
 * one job). Called with the lock held. */
static struct job *
take_batch(size_t *njobs)
{
	struct job	*first = queue, **cut = &queue;
	size_t		 msgs = 0;

	*njobs = 0;
	while (*cut != NULL && (*njobs == 0 ||
	    msgs + (*cut)->body->n <= BATCH_MAX_MSGS)) {
		msgs += (*cut)->body->n;
		(*njobs)++;
		cut = &(*cut)->next;
	}
	queue = *cut;
	if (queue == NULL)
		queue_end = &queue;
	*cut = NULL;
	return first;
}

/* One message's columns as text; num holds the digits of body. */
static void
msg_values(const struct wh_msg *m, const char *num, const char *v[NCOLS])
{
	v[C_BODY] = num;
	v[C_PNID] = m->pnid;
	v[C_WAMID] = m->wamid;
	v[C_FROM] = m->from;
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
	char			 num[16];
	size_t			 i;
	int			 c, body = 0;

	for (c = 0; c < NCOLS; c++)
		pg_array_begin(&cols[c]);
	for (j = jobs; j != NULL; j = j->next, body++) {
		snprintf(num, sizeof(num), "%d", body);
		for (i = 0; i < j->body->n; i++) {
			msg_values(&j->body->msgs[i], num, v);
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

/* Each body's row of the result. */
static void
take_rows(struct job *jobs, struct db_res *res)
{
	struct job	*j = jobs;
	const char	*s;
	int64_t		 v;
	int		 row;

	for (row = 0; j != NULL; row++, j = j->next) {
		memset(j->res->counts, 0, sizeof(j->res->counts));
		s = db_val(res, row, R_PLACED);
		if (row >= db_rows(res) || s == NULL || *s != 't') {
			j->res->outcome = INGEST_GENERAL;
			continue;
		}
		j->res->outcome = INGEST_STORED;
		if (str_to_i64(db_val(res, row, R_MESSAGES), &v) == 0)
			j->res->counts[S_MESSAGES] = v;
		if (str_to_i64(db_val(res, row, R_DUPLICATES), &v) == 0)
			j->res->counts[S_DUPLICATES] = v;
		if (str_to_i64(db_val(res, row, R_EVENTS), &v) == 0)
			j->res->counts[S_EVENTS] = v;
		if ((s = db_val(res, row, R_POLLS)) != NULL)
			j->res->polls = xstrdup(s);
	}
}

/* Stores a batch; every job's outcome is set. */
static void
run_batch(struct db *db, struct job *jobs, size_t njobs)
{
	struct buf	 cols[NCOLS];
	const char	*v[NCOLS];
	struct db_res	*res;
	int		 c, tries;

	memset(cols, 0, sizeof(cols));
	build_arrays(jobs, cols);
	for (c = 0; c < NCOLS; c++)
		v[c] = buf_str(&cols[c]);
	/* A dead connection (a database restart) or a deadlock: once more.
	 * Safe even if the first attempt did commit: exactly once. */
	for (tries = 0, res = NULL; res == NULL && tries < 2; tries++) {
		res = db_query(db, &store, NCOLS, v);
		if (res == NULL && db_error(db) == DB_EUNAVAIL &&
		    db_ensure(db) != 0)
			break;
		if (res == NULL && db_error(db) != DB_EUNAVAIL &&
		    db_error(db) != DB_ERETRY)
			break;
	}
	if (res != NULL) {
		take_rows(jobs, res);
		metrics_webhook_batch(njobs, 0);
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
ingest_batch_store(struct db *db, struct wh_body *body,
    struct ingest_result *res)
{
	struct job	 self = { body, res, 0, NULL }, *batch, *j;
	size_t		 njobs;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&lock);
	*queue_end = &self;
	queue_end = &self.next;
	while (!self.done) {
		if (leading) {
			pthread_cond_wait(&ended, &lock);
			continue;
		}
		leading = 1;
		batch = take_batch(&njobs);
		pthread_mutex_unlock(&lock);
		run_batch(db, batch, njobs);
		pthread_mutex_lock(&lock);
		for (j = batch; j != NULL; j = j->next)
			j->done = 1;
		n_bodies += njobs;
		n_batches++;
		leading = 0;
		pthread_cond_broadcast(&ended);
	}
	pthread_mutex_unlock(&lock);
}

void
ingest_batch_stats(uint64_t *bodies, uint64_t *batches)
{
	pthread_mutex_lock(&lock);
	*bodies = n_bodies;
	*batches = n_batches;
	pthread_mutex_unlock(&lock);
}
