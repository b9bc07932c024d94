/* jobd/kinds.c: the kinds of job wa-jobd runs, as a table (name, handler),
 * and the steps they share. A kind this build does not know fails, with
 * why, rather than stay claimed: an older wa-jobd sharing the queue with a
 * newer one must not sit on the newer one's work. */
#include "kinds.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "poll_jobs.h"
#include "send_jobs.h"
#include "util.h"

static const struct kind {
	const char	*name;
	void		(*run)(struct job_worker *, const struct job *);
} kinds[] = {
	{ "poll_question",	poll_jobs_question },
	{ "poll_timeout",	poll_jobs_timeout },
	{ "send",		send_jobs_run },
	{ "broadcast_item",	send_jobs_broadcast_item },
};

static const struct db_stmt fail = { "kinds_fail",
	"UPDATE jobs SET state = 'failed', error = $3::jsonb,"
	" finished_at = clock_timestamp(), owner_pid = NULL,"
	" owner_since = NULL"
	" WHERE id = $1 AND (state = 'running' OR (state = 'claimed' AND"
	" claim = $2))" };

struct json_object *
kinds_error_json(const struct graph_err *e)
{
	struct json_object	*o = json_object_new_object();

	json_add_int(o, "code", e->code);
	json_add_str(o, "message", e->message[0] != '\0' ? e->message :
	    "the Graph API call failed");
	if (e->details[0] != '\0')
		json_add_str(o, "details", e->details);
	if (e->http_status != 0)
		json_add_int(o, "http_status", e->http_status);
	return o;
}

void
kinds_fail(struct job_worker *w, const struct job *j, const char *code,
    const char *message)
{
	struct json_object	*o = json_object_new_object();
	const char		*v[3];
	char			 id[24], claim[24];

	json_add_str(o, "code", code);
	json_add_str(o, "message", message);
	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(claim, sizeof(claim), "%lld", j->claim);
	v[0] = id;
	v[1] = claim;
	v[2] = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	log_warn("job %lld (%s): failed: %s: %s", j->id, j->kind, code,
	    message);
	if (db_exec(w->db, &fail, 3, v) != 0)
		log_err("job %lld: failure not recorded: %s", j->id,
		    db_errmsg(w->db));
	json_object_put(o);
}

void
kinds_run(struct job_worker *w, const struct job *j)
{
	size_t	i;

	for (i = 0; i < nitems(kinds); i++)
		if (strcmp(kinds[i].name, j->kind) == 0) {
			kinds[i].run(w, j);
			return;
		}
	kinds_fail(w, j, "unknown_kind", "this wa-jobd has no such kind");
}
