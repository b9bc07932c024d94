/* jobd/send_jobs.c: the jobs that send one message: "send" (the API stored
 * the message as pending and wrote the job in the same statement:
 * fcgi/outbox_msg.c, wa_job_send_add) and "broadcast_item" (its begin step
 * stores the message: schema/functions/broadcasts.sql). Each is sent at
 * its pace slot (the claim's), and
 * Meta's answer decides: sent; failed for good; or, when Meta asks for it
 * (throughput 130429, pair rate 131056, 429, 5xx, transient codes, nothing
 * reached Meta), queued again after a backoff, until give_up_at, when it
 * fails with the last error and how many attempts were made. A call that
 * timed out is not retried: Meta may have sent it. */
#include "send_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "job.h"
#include "kinds.h"
#include "log.h"
#include "util.h"

#define RETRY_BASE_MS	1000
#define RETRY_MAX_MS	300000

/* Each kind that sends one stored message: its two steps around the
 * Graph call (same columns, same arguments). */
struct sender {
	const char		*kind;
	struct db_stmt		 begin, finish;
};

static const struct sender send = { "send",
	{ "send_jobs_begin", "SELECT go, msg_id, access_token,"
	    " phone_number_id, payload, attempts FROM wa_job_send_begin($1, $2)" },
	{ "send_jobs_finish",
	    "SELECT wa_job_send_finish($1, $2, $3, $4::jsonb, $5)" } };

static const struct sender broadcast_item = { "broadcast_item",
	{ "send_jobs_broadcast_begin", "SELECT go, msg_id, access_token,"
	    " phone_number_id, payload, attempts"
	    " FROM wa_job_broadcast_begin($1, $2)" },
	{ "send_jobs_broadcast_finish",
	    "SELECT wa_job_broadcast_finish($1, $2, $3, $4::jsonb, $5)" } };

enum { SB_GO, SB_MSG, SB_TOKEN, SB_PNID, SB_PAYLOAD, SB_ATTEMPTS };

static const struct db_stmt send_retry = { "send_jobs_retry",
	"SELECT wa_job_retry($1, $2, $3::jsonb)" };

/* Meta's codes worth another try (reference §5.2's retry policy). */
static int
retryable(const struct graph_err *e)
{
	static const long codes[] = { 1, 2, 4, 80007, 130429, 131000, 131016,
	    131056, 131057, 133004 };
	size_t	i;

	if (e->timeout)
		return 0;
	if (e->unreachable || e->http_status == 429 || e->http_status >= 500)
		return 1;
	for (i = 0; i < nitems(codes); i++)
		if (e->code == codes[i])
			return 1;
	return 0;
}

long
send_jobs_retry_ms(const struct graph_err *e, int attempts)
{
	long	ms = RETRY_BASE_MS;
	int	i;

	if (!retryable(e))
		return -1;
	for (i = 1; i < attempts && ms < RETRY_MAX_MS; i++)
		ms *= e->code == 131056 ? 4 : 2;
	if (ms > RETRY_MAX_MS)
		ms = RETRY_MAX_MS;
	/* Half fixed, half random: jobs that failed together do not all
	 * come back in the same instant. */
	ms = ms / 2 + random() % (ms / 2 + 1);
	if (e->retry_after * 1000 > ms)
		ms = e->retry_after * 1000;
	return ms;
}

static void
finish(struct job_worker *w, const struct sender *k, const char *id,
    const char *msg, const char *wamid, struct json_object *ejson,
    const char *note)
{
	struct db_res	*res;
	const char	*v[5];

	v[0] = id;
	v[1] = msg;
	v[2] = wamid;
	v[3] = ejson != NULL ? json_object_to_json_string_ext(ejson,
	    JSON_C_TO_STRING_PLAIN) : NULL;
	v[4] = note;
	/* Once only (it checks the job is still running), so safe once
	 * more after a lost connection. */
	if ((res = db_query_retry(w->db, &k->finish, 5, v)) == NULL)
		log_err("job %s (%s): outcome not recorded (wamid %s): %s",
		    id, k->kind, wamid != NULL ? wamid : "none",
		    db_errmsg(w->db));
	db_res_free(res);
}

/* Queued again after ms: 1, or 0 when that is past the give-up time. */
static int
retry(struct job_worker *w, const char *id, long ms,
    struct json_object *ejson)
{
	struct db_res	*res;
	const char	*v[3], *ok;
	char		 secs[32];
	int		 again = 0;

	snprintf(secs, sizeof(secs), "%.3f", ms / 1000.0);
	v[0] = id;
	v[1] = secs;
	v[2] = json_object_to_json_string_ext(ejson, JSON_C_TO_STRING_PLAIN);
	if ((res = db_query(w->db, &send_retry, 3, v)) == NULL) {
		log_err("job %s (send): retry not recorded: %s", id,
		    db_errmsg(w->db));
		return 1;	/* still running: recovery reports it */
	}
	again = (ok = db_val(res, 0, 0)) != NULL && *ok == 't';
	db_res_free(res);
	return again;
}

/* Meta did not take it: retry, or fail for good. */
static void
refused(struct job_worker *w, const struct sender *k, const char *id,
    const char *msg, const struct graph_err *err, int attempts)
{
	struct json_object	*ejson = kinds_error_json(err);
	long			 ms = send_jobs_retry_ms(err, attempts);
	char			 note[200];

	if (ms >= 0 && retry(w, id, ms, ejson)) {
		log_info("job %s (%s): attempt %d: %s: again in %ld ms", id,
		    k->kind, attempts, err->message, ms);
		json_object_put(ejson);
		return;
	}
	if (ms >= 0)
		snprintf(note, sizeof(note), "gave up after %d attempts "
		    "(the job's give_up_at passed): last error %ld", attempts,
		    err->code);
	else if (err->timeout)
		snprintf(note, sizeof(note), "Meta did not answer in time: it "
		    "may have sent it, so it is not sent again");
	else
		snprintf(note, sizeof(note), "Meta refused it (%ld): not "
		    "retried", err->code);
	log_warn("job %s (%s): failed: %s", id, k->kind, note);
	finish(w, k, id, msg, NULL, ejson, note);
	json_object_put(ejson);
}

static void
run(struct job_worker *w, const struct sender *k, const struct job *j)
{
	struct json_object	*payload = NULL, *out = NULL;
	struct graph_err	 err;
	struct db_res		*res;
	const char		*v[2], *go, *p, *wamid, *msg;
	char			 id[24], claim[24], note[160];

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(claim, sizeof(claim), "%lld", j->claim);
	v[0] = id;
	v[1] = claim;
	/* Never retried: see poll_jobs_question. */
	if ((res = db_query(w->db, &k->begin, 2, v)) == NULL) {
		if (db_error(w->db) != DB_EUNAVAIL)
			kinds_fail(w, j, "db_error", db_errmsg(w->db));
		return;
	}
	if (db_rows(res) != 1 || (go = db_val(res, 0, SB_GO)) == NULL ||
	    *go != 't')
		goto out;
	msg = db_val(res, 0, SB_MSG);
	p = db_val(res, 0, SB_PAYLOAD);
	memset(&err, 0, sizeof(err));
	if ((payload = json_tokener_parse(p != NULL ? p : "")) == NULL) {
		snprintf(err.message, sizeof(err.message), "no payload");
		refused(w, k, id, msg, &err, 1);
		goto out;
	}
	wamid = graph_send_message(w->curl, db_val(res, 0, SB_TOKEN),
	    db_val(res, 0, SB_PNID), payload, &out, &err);
	if (wamid == NULL)
		refused(w, k, id, msg, &err, atoi(db_val(res, 0,
		    SB_ATTEMPTS)));
	else {
		snprintf(note, sizeof(note), "sent %s", wamid);
		finish(w, k, id, msg, wamid, NULL, note);
	}
out:
	json_object_put(out);
	json_object_put(payload);
	db_res_free(res);
}

void
send_jobs_run(struct job_worker *w, const struct job *j)
{
	run(w, &send, j);
}

void
send_jobs_broadcast_item(struct job_worker *w, const struct job *j)
{
	run(w, &broadcast_item, j);
}
