/* fcgi/health.c: GET /healthz: is this responder able to reach the
 * database? For load balancers and `make start`; no auth, no secrets. */
#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "worker.h"

static const struct db_stmt ping = { "health_ping", "SELECT 1" };

int
health_get(struct req *r)
{
	struct json_object	*out;

	if (db_exec(r->w->db, &ping, 0, NULL) != 0)
		return reply_error(r, 503, "database_unavailable",
		    "database unreachable");
	out = json_object_new_object();
	json_add_str(out, "database", "up");
	return reply_ok(r, out);
}
