/* wactl/tenant.c: wactl tenant add | list. Access tokens go in, never out. */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "wactl.h"

static const struct db_stmt tenant_insert = { "wactl_tenant_insert",
	"INSERT INTO tenants (name, phone_number_id, waba_id, access_token,"
	" catalog_id, display_phone_number, settings)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id" };

static const struct db_stmt tenant_all = { "wactl_tenant_all",
	"SELECT id, name, phone_number_id, waba_id,"
	" coalesce(display_phone_number, ''), coalesce(catalog_id, '')"
	" FROM tenants ORDER BY created_at, id" };

static int
digits_only(const char *s)
{
	return s != NULL && *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

int
cmd_tenant_add(struct db *db, int argc, char **argv)
{
	const char	*poll = opt(argc, argv, "--poll");
	const char	*v[] = { opt(argc, argv, "--name"),
	    opt(argc, argv, "--phone-number-id"), opt(argc, argv, "--waba-id"),
	    opt(argc, argv, "--access-token"), opt(argc, argv, "--catalog-id"),
	    opt(argc, argv, "--display-phone"), NULL };
	struct db_res	*res;

	if (v[0] == NULL || *v[0] == '\0')
		return fail("tenant add: --name is required");
	if (!digits_only(v[1]))
		return fail("tenant add: --phone-number-id must be digits");
	if (!digits_only(v[2]))
		return fail("tenant add: --waba-id must be digits");
	if (v[3] == NULL || *v[3] == '\0')
		return fail("tenant add: --access-token is required");
	/* The /poll auto-reply (schema/007_poll.sql): on by default in dev
	 * only, so a production tenant never answers customers unasked. */
	if (poll != NULL && strcmp(poll, "on") != 0 && strcmp(poll, "off") != 0)
		return fail("tenant add: --poll must be on or off");
	v[6] = (poll != NULL ? strcmp(poll, "on") == 0 : conf.dev) ?
	    "{\"poll\": true}" : "{}";
	if ((res = db_query(db, &tenant_insert, 7, v)) == NULL)
		return db_error(db) == DB_EUNIQUE ?
		    fail("tenant add: phone number id %s is already a "
		    "tenant's", v[1]) : fail("tenant add: %s", db_errmsg(db));
	printf("%s\n", db_val(res, 0, 0));
	db_res_free(res);
	return 0;
}

int
cmd_tenant_list(struct db *db, int argc, char **argv)
{
	struct db_res	*res;
	int		 i;

	(void)argc;
	(void)argv;
	if ((res = db_query(db, &tenant_all, 0, NULL)) == NULL)
		return fail("tenant list: %s", db_errmsg(db));
	/* id, name, phone_number_id, waba_id, display phone, catalog id */
	for (i = 0; i < db_rows(res); i++)
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", db_val(res, i, 0),
		    db_val(res, i, 1), db_val(res, i, 2), db_val(res, i, 3),
		    db_val(res, i, 4), db_val(res, i, 5));
	db_res_free(res);
	return 0;
}
