/* wactl/apikey.c: wactl apikey add | list | revoke. A key is printed once,
 * when it is made; the database keeps only its hash. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "apikey.h"
#include "db.h"
#include "util.h"
#include "wactl.h"

#define NAME_MAX_LEN	100

static const struct db_stmt key_add = { "wactl_apikey_add",
	"SELECT wa_api_key_add($1, $2, $3, decode($4, 'hex'), $5::text[])" };

static const struct db_stmt key_list = { "wactl_apikey_list",
	"SELECT id, prefix, name, array_to_string(scopes, ','),"
	" to_char(created_at AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" coalesce(to_char(last_used_at AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'),"
	" coalesce(to_char(revoked_at AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"
	" FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id" };

static const struct db_stmt key_revoke = { "wactl_apikey_revoke",
	"SELECT id FROM wa_api_key_revoke($1)" };

/* Printable, one line, so `apikey list` stays one key per line. */
static int
name_valid(const char *s)
{
	size_t	n = s != NULL ? strlen(s) : 0;
	size_t	i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
cmd_apikey_add(struct db *db, int argc, char **argv)
{
	const char	*tenant = opt(argc, argv, "--tenant");
	const char	*name = opt(argc, argv, "--name");
	const char	*scope = opt(argc, argv, "--scope");
	char		 key[APIKEY_LEN + 1], prefix[APIKEY_PREFIX_LEN + 1];
	char		 hash[APIKEY_HASH_HEX + 1], scopes[32];
	const char	*v[] = { tenant, name, prefix, hash, scopes };
	struct db_res	*res;
	unsigned	 bits;
	int		 rc = 1;

	if (tenant == NULL || !uuid_valid(tenant))
		return fail("apikey add: --tenant must be a tenant id");
	if (!name_valid(name))
		return fail("apikey add: --name must be 1-%d printable "
		    "characters", NAME_MAX_LEN);
	/* Least privilege: a key reads unless it is asked to send. */
	if (apikey_scopes_parse(scope != NULL ? scope : "read", &bits) != 0 ||
	    apikey_scopes_array(bits, scopes, sizeof(scopes)) != 0)
		return fail("apikey add: --scope is a list of send and read, "
		    "e.g. send,read");
	if (apikey_new(key, prefix, hash) != 0)
		return fail("apikey add: hashing failed");
	if ((res = db_query(db, &key_add, 5, v)) == NULL) {
		if (db_error(db) == DB_EFOREIGN)
			fail("apikey add: no tenant %s", tenant);
		else
			fail("apikey add: %s", db_errmsg(db));
		goto out;
	}
	/* The key alone on stdout, for scripts; the rest is for the eye. */
	printf("%s\n", key);
	fprintf(stderr, "wactl: key %s (%s, scopes %s) for tenant %s: store "
	    "it now, it cannot be shown again\n", db_val(res, 0, 0), prefix,
	    scopes, tenant);
	db_res_free(res);
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
cmd_apikey_list(struct db *db, int argc, char **argv)
{
	const char	*tenant = opt(argc, argv, "--tenant");
	const char	*v[] = { tenant };
	struct db_res	*res;
	int		 i, j;

	if (tenant == NULL || !uuid_valid(tenant))
		return fail("apikey list: --tenant must be a tenant id");
	if ((res = db_query(db, &key_list, 1, v)) == NULL)
		return fail("apikey list: %s", db_errmsg(db));
	/* id, prefix, name, scopes, created, last used, revoked ("-": never) */
	for (i = 0; i < db_rows(res); i++)
		for (j = 0; j < 7; j++)
			printf("%s%c", db_val(res, i, j), j < 6 ? '\t' : '\n');
	db_res_free(res);
	return 0;
}

int
cmd_apikey_revoke(struct db *db, int argc, char **argv)
{
	const char	*ref = argc >= 1 ? argv[0] : NULL;
	struct db_res	*res;
	int		 n;

	if (ref == NULL || *ref == '\0' || strlen(ref) > UUID_LEN)
		return fail("apikey revoke: give a key's id or its prefix "
		    "(wak_ and 8 hex digits, as apikey list shows)");
	if ((res = db_query(db, &key_revoke, 1, &ref)) == NULL)
		return fail("apikey revoke: %s", db_errmsg(db));
	if ((n = db_rows(res)) == 1)
		printf("%s\n", db_val(res, 0, 0));
	db_res_free(res);
	if (n == 0)
		return fail("apikey revoke: no key %s", ref);
	if (n > 1)
		return fail("apikey revoke: %d keys share the prefix %s: "
		    "revoke one by its id", n, ref);
	return 0;
}
