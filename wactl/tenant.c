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

/* The first line of path ("-": stdin) into out; -1 and a message when it is
 * missing, empty or does not fit. */
static int
read_line_from(const char *path, char *out, size_t n)
{
	FILE	*f;
	size_t	 len;
	int	 rc = -1;

	if ((f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL) {
		fail("tenant add: %s: cannot open", path);
		return -1;
	}
	if (fgets(out, (int)n, f) == NULL)
		fail("tenant add: %s: no access token", path);
	else if ((len = strcspn(out, "\r\n")) == strlen(out) && !feof(f))
		fail("tenant add: %s: access token too long", path);
	else if (len == 0)
		fail("tenant add: %s: empty access token", path);
	else {
		out[len] = '\0';
		rc = 0;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Meta's access token from --access-token-file (a path, or "-" for stdin),
 * which keeps it out of `ps`, or from --access-token, which does not. */
static int
read_access_token(int argc, char **argv, char *out, size_t n)
{
	const char	*file = opt(argc, argv, "--access-token-file");
	const char	*arg = opt(argc, argv, "--access-token");

	if (file != NULL && arg != NULL) {
		fail("tenant add: give --access-token-file or --access-token, "
		    "not both");
		return -1;
	}
	if (file != NULL)
		return read_line_from(file, out, n);
	if (arg == NULL || *arg == '\0' || strlen(arg) >= n) {
		fail("tenant add: --access-token-file (or --access-token) is "
		    "required, at most %zu bytes", n - 1);
		return -1;
	}
	snprintf(out, n, "%s", arg);
	return 0;
}

static int
digits_only(const char *s)
{
	return s != NULL && *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

#define TENANT_TOKEN_MAX	4096

int
cmd_tenant_add(struct db *db, int argc, char **argv)
{
	const char	*poll = opt(argc, argv, "--poll");
	char		 token[TENANT_TOKEN_MAX];
	const char	*v[] = { opt(argc, argv, "--name"),
	    opt(argc, argv, "--phone-number-id"), opt(argc, argv, "--waba-id"),
	    token, opt(argc, argv, "--catalog-id"),
	    opt(argc, argv, "--display-phone"), NULL };
	struct db_res	*res;
	int		 rc = 1;

	if (v[0] == NULL || *v[0] == '\0')
		return fail("tenant add: --name is required");
	if (!digits_only(v[1]))
		return fail("tenant add: --phone-number-id must be digits");
	if (!digits_only(v[2]))
		return fail("tenant add: --waba-id must be digits");
	/* The /poll auto-reply (schema/functions/poll.sql): on by default in dev
	 * only, so a production tenant never answers customers unasked. */
	if (poll != NULL && strcmp(poll, "on") != 0 && strcmp(poll, "off") != 0)
		return fail("tenant add: --poll must be on or off");
	v[6] = (poll != NULL ? strcmp(poll, "on") == 0 : conf.dev) ?
	    "{\"poll\": true}" : "{}";
	if (read_access_token(argc, argv, token, sizeof(token)) != 0)
		goto out;
	if ((res = db_query(db, &tenant_insert, 7, v)) == NULL) {
		if (db_error(db) == DB_EUNIQUE)
			fail("tenant add: phone number id %s is already a "
			    "tenant's", v[1]);
		else
			fail("tenant add: %s", db_errmsg(db));
		goto out;
	}
	printf("%s\n", db_val(res, 0, 0));
	db_res_free(res);
	rc = 0;
out:
	explicit_bzero(token, sizeof(token));
	return rc;
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
