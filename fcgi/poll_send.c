/* fcgi/poll_send.c: the question of a /poll. Webhook ingestion opens the
 * poll in its own transaction and names it in its summary; the question goes
 * out only after the webhook's 200 reached nginx (req_after_reply), so
 * Meta never waits for our call to Meta. Each question is stored and
 * announced like any outgoing message (004's wa_send_begin_checked/finish, inside
 * 007's wa_poll_send_begin/finish); a question Meta refuses ends its poll
 * (reason failed). Nothing is kept in this process between requests. */
#include "poll_send.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "json.h"
#include "log.h"
#include "req.h"
#include "util.h"
#include "worker.h"

#define POLL_BATCH_MAX	64	/* a body holds far fewer /poll texts */

struct poll_batch {
	size_t		n;
	long long	id[POLL_BATCH_MAX];
};

static const struct db_stmt send_begin = { "poll_send_begin",
	"SELECT msg_id, access_token, phone_number_id, payload"
	" FROM wa_poll_send_begin($1)" };

static const struct db_stmt send_finish = { "poll_send_finish",
	"SELECT wa_poll_send_finish($1, $2, $3, $4)" };

/* Meta's error as messages.error stores it for a failed send. */
static struct json_object *
error_json(const struct graph_err *e)
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

static void
send_one(struct worker *w, long long poll)
{
	struct json_object	*payload = NULL, *out = NULL, *ejson = NULL;
	struct graph_err	 err;
	struct db_res		*res;
	const char		*wamid = NULL, *v[4];
	char			 id[24];
	const char		*p;

	snprintf(id, sizeof(id), "%lld", poll);
	v[0] = id;
	res = db_query(w->db, &send_begin, 1, v);
	/* Once more after a lost connection or a lock conflict (it rolled
	 * back whole, so trying again is safe); the webhook cannot retry
	 * for us: it has answered already. */
	if (res == NULL && db_error(w->db) != DB_ECHECK && db_ensure(w->db) ==
	    0)
		res = db_query(w->db, &send_begin, 1, v);
	if (res == NULL) {
		log_err("poll %s: question not stored: %s", id,
		    db_errmsg(w->db));
		return;
	}
	if (db_rows(res) != 1)		/* ended, or in another's hands */
		goto out;
	p = db_val(res, 0, 3);
	payload = json_tokener_parse(p != NULL ? p : "");
	memset(&err, 0, sizeof(err));
	if (payload == NULL)
		snprintf(err.message, sizeof(err.message), "no payload");
	else
		wamid = graph_send_message(w->curl, db_val(res, 0, 1),
		    db_val(res, 0, 2), payload, &out, &err);
	if (wamid == NULL) {
		ejson = error_json(&err);
		log_warn("poll %s: question not sent: %s", id, err.message);
	}
	v[1] = db_val(res, 0, 0);
	v[2] = wamid;
	v[3] = ejson != NULL ? json_object_to_json_string_ext(ejson,
	    JSON_C_TO_STRING_PLAIN) : NULL;
	if (db_exec(w->db, &send_finish, 4, v) != 0)
		log_err("poll %s: outcome not recorded (wamid %s): %s", id,
		    wamid != NULL ? wamid : "none", db_errmsg(w->db));
out:
	json_object_put(ejson);
	json_object_put(out);
	json_object_put(payload);
	db_res_free(res);
}

static void
send_all(struct worker *w, void *arg)
{
	struct poll_batch	*b = arg;
	size_t			 i;

	for (i = 0; i < b->n; i++)
		send_one(w, b->id[i]);
	free(b);
}

void
poll_send_after_ingest(struct req *r, const char *polls_to_send)
{
	struct json_object	*a;
	struct poll_batch	*b;
	size_t			 i, n;

	if (polls_to_send == NULL ||
	    (a = json_tokener_parse(polls_to_send)) == NULL)
		return;
	if (json_object_is_type(a, json_type_array) &&
	    (n = json_object_array_length(a)) > 0) {
		b = xcalloc(1, sizeof(*b));
		for (i = 0; i < n && b->n < POLL_BATCH_MAX; i++)
			b->id[b->n++] = json_object_get_int64(
			    json_object_array_get_idx(a, i));
		if (n > POLL_BATCH_MAX)
			rlog(r, LOG_WARN, "poll: %zu questions, sending the "
			    "first %d", n, POLL_BATCH_MAX);
		req_after_reply(r, send_all, b);
	}
	json_object_put(a);
}
