/* fcgi/api_events.c: GET /api/v1/events?after=&limit=: the catch-up half of
 * real-time delivery. A client that (re)connects its WebSocket fetches what
 * it missed here; the frames are the very bytes wa-pushd publishes. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "util.h"
#include "worker.h"

#define EVENTS_LIMIT_DEFAULT	100
#define EVENTS_LIMIT_MAX	1000

/* A tenant's events commit in seq order (schema/functions/events.sql):
 * whoever sees a seq sees every one below it, so a page never has holes. */
static const struct db_stmt events_after = { "events_after",
	"SELECT seq, wa_event_frame(seq, name, data) FROM events"
	" WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3" };

/* A json-c value that prints as the JSON text it holds, unparsed. */
static int
raw_serializer(struct json_object *o, struct printbuf *pb, int level,
    int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_get_string(o),
	    json_object_get_string_len(o));
}

static struct json_object *
raw_json(const char *text)
{
	struct json_object	*o = json_object_new_string(text);

	json_object_set_serializer(o, raw_serializer, NULL, NULL);
	return o;
}

/* Whether the query string has name=..., whatever its value. */
static int
query_has(const struct req *r, const char *name)
{
	const char	*p = r->query;
	size_t		 n = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return 1;
		if ((p = strchr(p, '&')) != NULL)
			p++;
	}
	return 0;
}

/* Reads ?name= as an integer in [min, max], or def when absent; -1 when
 * present but not such a number. */
static int
query_int(struct req *r, const char *name, int64_t def, int64_t min,
    int64_t max, int64_t *out)
{
	char	v[32];

	*out = def;
	if (!query_has(r, name))
		return 0;
	if (req_query(r, name, v, sizeof(v)) != 0 ||
	    str_to_i64(v, out) != 0 || *out < min || *out > max)
		return -1;
	return 0;
}

int
api_events_list(struct req *r)
{
	char			 after_s[24], limit_s[24];
	const char		*v[] = { r->tenant_id, after_s, limit_s };
	struct json_object	*out, *events;
	struct db_res		*res;
	int64_t			 after, limit, last;
	int			 i;

	if (query_int(r, "after", 0, 0, INT64_MAX, &after) != 0)
		return reply_error(r, 422, "invalid_field",
		    "after: an event id, an integer >= 0");
	if (query_int(r, "limit", EVENTS_LIMIT_DEFAULT, 1, EVENTS_LIMIT_MAX,
	    &limit) != 0)
		return reply_error(r, 422, "invalid_field",
		    "limit: an integer from 1 to %d", EVENTS_LIMIT_MAX);
	snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
	snprintf(limit_s, sizeof(limit_s), "%lld", (long long)limit);
	if ((res = db_query(r->w->db, &events_after, 3, v)) == NULL)
		return reply_db_error(r);
	events = json_object_new_array_ext(db_rows(res));
	last = after;
	for (i = 0; i < db_rows(res); i++) {
		json_object_array_add(events, raw_json(db_val(res, i, 1)));
		str_to_i64(db_val(res, i, 0), &last);
	}
	db_res_free(res);
	out = json_object_new_object();
	json_object_object_add(out, "events", events);
	json_add_int(out, "last_id", last);
	return reply_ok(r, out);
}
