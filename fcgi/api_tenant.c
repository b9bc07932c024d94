/* fcgi/api_tenant.c: GET /api/v1/tenant: the current tenant as the
 * frontend needs it (never the access token). */
#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "worker.h"

static const struct db_stmt tenant_get = { "tenant_get",
	"SELECT id, name, phone_number_id, waba_id, display_phone_number,"
	" catalog_id, settings::text FROM tenants WHERE id = $1" };

int
api_tenant_get(struct req *r)
{
	const char		*v[] = { r->tenant_id };
	struct db_res		*res;
	struct json_object	*t, *out;

	if ((res = db_query(r->w->db, &tenant_get, 1, v)) == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1) {
		db_res_free(res);
		return reply_error(r, 404, "not_found", "no such tenant");
	}
	t = json_object_new_object();
	json_add_str(t, "id", db_val(res, 0, 0));
	json_add_str(t, "name", db_val(res, 0, 1));
	json_add_str(t, "phone_number_id", db_val(res, 0, 2));
	json_add_str(t, "waba_id", db_val(res, 0, 3));
	json_add_str(t, "display_phone_number", db_val(res, 0, 4));
	json_add_str(t, "catalog_id", db_val(res, 0, 5));
	json_add_raw(t, "settings", db_val(res, 0, 6));
	json_add_str(t, "role", r->role);
	db_res_free(res);
	out = json_object_new_object();
	json_object_object_add(out, "tenant", t);
	return reply_ok(r, out);
}
