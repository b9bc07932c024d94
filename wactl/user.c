/* wactl/user.c: wactl user add, and wactl token (a JWT for scripts). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "db.h"
#include "pw.h"
#include "token.h"
#include "util.h"
#include "wactl.h"

static const struct db_stmt user_insert = { "wactl_user_insert",
	"INSERT INTO users (email, password_hash) VALUES (lower($1), $2)"
	" ON CONFLICT (email) DO NOTHING RETURNING id" };

static const struct db_stmt user_find = { "wactl_user_find",
	"SELECT id FROM users WHERE email = lower($1)" };

static const struct db_stmt member_upsert = { "wactl_member_upsert",
	"INSERT INTO memberships (user_id, tenant_id, role) VALUES ($1, $2, $3)"
	" ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = EXCLUDED.role" };

static const struct db_stmt member_check = { "wactl_member_check",
	"SELECT 1 FROM memberships WHERE user_id = $1 AND tenant_id = $2" };

/* One line from stdin, without its newline. */
static int
read_password(char *out, size_t n)
{
	if (fgets(out, (int)n, stdin) == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int
email_valid(const char *e)
{
	const char	*at = e != NULL ? strchr(e, '@') : NULL;

	return at != NULL && at != e && strchr(at + 1, '.') != NULL &&
	    strlen(e) <= 254 && strchr(e, ' ') == NULL;
}

/* The user's id in id; creates the user when password is given. */
static int
find_or_create(struct db *db, const char *email, const char *pw, int if_missing,
    char id[UUID_LEN + 1])
{
	char		 hash[PW_HASH_MAX];
	const char	*v[] = { email, hash };
	struct db_res	*res;
	int		 rc = 1;

	if (pw != NULL) {
		if (pw_hash(pw, hash, sizeof(hash)) != 0)
			return fail("user add: hashing failed");
		if ((res = db_query(db, &user_insert, 2, v)) == NULL)
			return fail("user add: %s", db_errmsg(db));
		if (db_rows(res) == 1) {
			snprintf(id, UUID_LEN + 1, "%s", db_val(res, 0, 0));
			db_res_free(res);
			return 0;
		}
		db_res_free(res);
		if (!if_missing)
			return fail("user add: %s already exists (omit "
			    "--password-stdin to add a membership)", email);
	}
	if ((res = db_query(db, &user_find, 1, v)) == NULL)
		return fail("user add: %s", db_errmsg(db));
	if (db_rows(res) == 1) {
		snprintf(id, UUID_LEN + 1, "%s", db_val(res, 0, 0));
		rc = 0;
	} else
		fail("no user %s", email);
	db_res_free(res);
	return rc;
}

int
cmd_user_add(struct db *db, int argc, char **argv)
{
	const char	*email = opt(argc, argv, "--email");
	const char	*tenant = opt(argc, argv, "--tenant");
	const char	*role = opt(argc, argv, "--role");
	char		 pw[PW_MAX_LEN + 2], id[UUID_LEN + 1];
	const char	*v[] = { id, tenant, role };
	int		 with_pw = opt_flag(argc, argv, "--password-stdin");
	int		 rc;

	if (!email_valid(email))
		return fail("user add: --email must be an email address");
	if (tenant == NULL || !uuid_valid(tenant))
		return fail("user add: --tenant must be a tenant id");
	if (role == NULL)
		v[2] = role = "agent";
	if (strcmp(role, "owner") != 0 && strcmp(role, "agent") != 0)
		return fail("user add: --role is owner or agent");
	if (with_pw && (read_password(pw, sizeof(pw)) != 0 ||
	    strlen(pw) < PW_MIN_LEN || strlen(pw) > PW_MAX_LEN))
		return fail("user add: the password (one line on stdin) must "
		    "have %d-%d characters", PW_MIN_LEN, PW_MAX_LEN);
	rc = find_or_create(db, email, with_pw ? pw : NULL,
	    opt_flag(argc, argv, "--if-missing"), id);
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		return rc;
	if (db_exec(db, &member_upsert, 3, v) != 0)
		return db_error(db) == DB_EFOREIGN ?
		    fail("user add: no tenant %s", tenant) :
		    fail("user add: %s", db_errmsg(db));
	printf("%s\n", id);
	return 0;
}

int
cmd_token(struct db *db, int argc, char **argv)
{
	const char	*email = opt(argc, argv, "--email");
	const char	*tenant = opt(argc, argv, "--tenant");
	const char	*ttl_s = opt(argc, argv, "--ttl");
	char		 id[UUID_LEN + 1], token[TOKEN_MAX];
	const char	*v[] = { id, tenant };
	struct db_res	*res;
	int64_t		 ttl = conf.session_ttl;
	int		 member;

	if (email == NULL)
		return fail("token: --email is required");
	if (ttl_s != NULL && (str_to_i64(ttl_s, &ttl) != 0 || ttl < 1 ||
	    ttl > 366 * 86400))
		return fail("token: --ttl must be 1..31622400 seconds");
	if (find_or_create(db, email, NULL, 0, id) != 0)
		return 1;
	if (tenant != NULL) {
		if (!uuid_valid(tenant))
			return fail("token: --tenant must be a tenant id");
		if ((res = db_query(db, &member_check, 2, v)) == NULL)
			return fail("token: %s", db_errmsg(db));
		member = db_rows(res) == 1;
		db_res_free(res);
		if (!member)
			return fail("token: %s is not a member of %s", email,
			    tenant);
	}
	if (token_issue(conf.jwt_secret, id, (long)ttl, token, sizeof(token),
	    NULL) != 0)
		return fail("token: signing failed");
	printf("%s\n", token);
	return 0;
}
