/* jobd/poll_jobs.c: the /poll auto-reply's two jobs. Webhook ingestion
 * opens the poll and writes both in its own transaction
 * (schema/functions/poll.sql), so a webhook's thread never waits for Meta
 * and wa-pushd keeps no timers. The question is stored and announced like
 * any outgoing message (wa_poll_send_begin/finish, via 004's
 * wa_send_begin_checked/finish); a question Meta refuses ends its poll
 * (reason failed). */
#include "poll_jobs.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "job.h"
#include "kinds.h"
#include "log.h"

static const struct db_stmt question_begin = { "poll_jobs_question_begin",
	"SELECT go, msg_id, access_token, phone_number_id, payload"
	" FROM wa_job_poll_question_begin($1, $2)" };
enum { QB_GO, QB_MSG, QB_TOKEN, QB_PNID, QB_PAYLOAD };

static const struct db_stmt question_finish = { "poll_jobs_question_finish",
	"SELECT wa_job_poll_question_finish($1, $2, $3, $4::jsonb)" };

static const struct db_stmt timeout = { "poll_jobs_timeout",
	"SELECT wa_job_poll_timeout($1, $2)" };

/* The Graph call and its outcome, once the attempt is marked. */
static void
call(struct job_worker *w, const struct job *j, const char *id,
    struct db_res *res)
{
	struct json_object	*payload, *out = NULL, *ejson = NULL;
	struct graph_err	 err;
	struct db_res		*done;
	const char		*wamid = NULL, *v[4], *p;

	p = db_val(res, 0, QB_PAYLOAD);
	payload = json_tokener_parse(p != NULL ? p : "");
	memset(&err, 0, sizeof(err));
	if (payload == NULL)
		snprintf(err.message, sizeof(err.message), "no payload");
	else
		wamid = graph_send_message(w->curl, db_val(res, 0, QB_TOKEN),
		    db_val(res, 0, QB_PNID), payload, &out, &err);
	if (wamid == NULL) {
		ejson = kinds_error_json(&err);
		log_warn("job %s (poll_question): not sent: %s", id,
		    err.message);
	}
	v[0] = id;
	v[1] = db_val(res, 0, QB_MSG);
	v[2] = wamid;
	v[3] = ejson != NULL ? json_object_to_json_string_ext(ejson,
	    JSON_C_TO_STRING_PLAIN) : NULL;
	/* Safe to run twice (it records nothing a second time), so once
	 * more after a lost connection. */
	if ((done = db_query_retry(w->db, &question_finish, 4, v)) == NULL)
		log_err("job %s (poll_question): outcome not recorded (wamid "
		    "%s): %s", id, wamid != NULL ? wamid : "none",
		    db_errmsg(w->db));
	else
		log_debug("job %lld (poll_question): %s", j->id,
		    wamid != NULL ? wamid : "failed");
	db_res_free(done);
	json_object_put(ejson);
	json_object_put(out);
	json_object_put(payload);
}

void
poll_jobs_question(struct job_worker *w, const struct job *j)
{
	struct db_res	*res;
	const char	*v[2], *go;
	char		 id[24], claim[24];

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(claim, sizeof(claim), "%lld", j->claim);
	v[0] = id;
	v[1] = claim;
	/* Never retried: had it committed before the connection died, a
	 * second run would find the job running and send nothing, and
	 * recovery (its session is gone) reports it. */
	if ((res = db_query(w->db, &question_begin, 2, v)) == NULL) {
		if (db_error(w->db) != DB_EUNAVAIL)
			kinds_fail(w, j, "db_error", db_errmsg(w->db));
		else
			log_err("job %s (poll_question): not started: %s", id,
			    db_errmsg(w->db));
		return;
	}
	if (db_rows(res) == 1 && (go = db_val(res, 0, QB_GO)) != NULL &&
	    *go == 't')
		call(w, j, id, res);
	db_res_free(res);
}

void
poll_jobs_timeout(struct job_worker *w, const struct job *j)
{
	struct db_res	*res;
	const char	*v[2], *ended;
	char		 id[24], claim[24];

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(claim, sizeof(claim), "%lld", j->claim);
	v[0] = id;
	v[1] = claim;
	/* One transaction, safe to run twice. */
	if ((res = db_query_retry(w->db, &timeout, 2, v)) == NULL) {
		if (db_error(w->db) != DB_EUNAVAIL)
			kinds_fail(w, j, "db_error", db_errmsg(w->db));
		return;
	}
	if ((ended = db_val(res, 0, 0)) != NULL && *ended == 't')
		log_debug("job %s (poll_timeout): poll timed out", id);
	db_res_free(res);
}
