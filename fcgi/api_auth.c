/* fcgi/api_auth.c: POST /api/v1/auth/login, /auth/logout, GET /api/v1/me. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "json.h"
#include "pw.h"
#include "req.h"
#include "token.h"
#include "worker.h"

static const struct db_stmt user_by_email = { "auth_user_by_email",
	"SELECT id, password_hash FROM users WHERE email = lower($1)" };

static const struct db_stmt user_tenants = { "auth_user_tenants",
	"SELECT t.id, t.name, m.role FROM memberships m"
	" JOIN tenants t ON t.id = m.tenant_id"
	" WHERE m.user_id = $1 ORDER BY t.name, t.id" };

static const struct db_stmt user_email = { "auth_user_email",
	"SELECT email FROM users WHERE id = $1" };

/* Revoking also sweeps expired entries, so the table stays small. */
static const struct db_stmt revoke = { "auth_revoke",
	"WITH sweep AS (DELETE FROM revoked_tokens WHERE expires_at < now())"
	" INSERT INTO revoked_tokens (jti, expires_at)"
	" VALUES ($1, to_timestamp($2)) ON CONFLICT DO NOTHING" };

/* [{id, name, role}] for the user; NULL when the database failed. */
static struct json_object *
tenants_of(struct req *r, const char *user_id)
{
	const char		*v[] = { user_id };
	struct db_res		*res;
	struct json_object	*arr, *t;
	int			 i;

	if ((res = db_query(r->w->db, &user_tenants, 1, v)) == NULL)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; i < db_rows(res); i++) {
		t = json_object_new_object();
		json_add_str(t, "id", db_val(res, i, 0));
		json_add_str(t, "name", db_val(res, i, 1));
		json_add_str(t, "role", db_val(res, i, 2));
		json_object_array_add(arr, t);
	}
	db_res_free(res);
	return arr;
}

/* The user's id when email and password match; "" when they don't. Runs
 * the password hash either way: a missing account costs the same time. */
static int
check_password(struct req *r, const char *email, const char *pw,
    char id[UUID_LEN + 1])
{
	const char	*v[] = { email };
	struct db_res	*res;
	const char	*hash = NULL;

	id[0] = '\0';
	if ((res = db_query(r->w->db, &user_by_email, 1, v)) == NULL)
		return -1;
	if (db_rows(res) == 1)
		hash = db_val(res, 0, 1);
	if (pw_verify(hash, pw) && hash != NULL)
		snprintf(id, UUID_LEN + 1, "%s", db_val(res, 0, 0));
	db_res_free(res);
	return 0;
}

int
api_auth_login(struct req *r)
{
	const char		*email = json_str(r->json, "email");
	const char		*pw = json_str(r->json, "password");
	char			 id[UUID_LEN + 1], token[TOKEN_MAX], when[40];
	struct json_object	*out, *tenants;
	int64_t			 exp;

	if (email == NULL || *email == '\0' || strlen(email) > 254)
		return reply_error(r, 422, "invalid_field",
		    "email: a string of 1-254 characters is required");
	if (pw == NULL || *pw == '\0' || strlen(pw) > PW_MAX_LEN)
		return reply_error(r, 422, "invalid_field",
		    "password: a non-empty string is required");
	if (check_password(r, email, pw, id) != 0)
		return reply_db_error(r);
	if (id[0] == '\0') {
		rlog(r, LOG_WARN, "login failed");
		return reply_error(r, 401, "invalid_credentials",
		    "wrong email or password");
	}
	if (token_issue(conf.jwt_secret, id, conf.session_ttl, token,
	    sizeof(token), &exp) != 0)
		return reply_error(r, 500, "internal", "could not sign token");
	if ((tenants = tenants_of(r, id)) == NULL)
		return reply_db_error(r);
	iso_time(exp * 1000000, when, sizeof(when));
	out = json_object_new_object();
	json_add_str(out, "token", token);
	json_add_str(out, "expires_at", when);
	json_object_object_add(out, "tenants", tenants);
	auth_set_cookie(r, token, conf.session_ttl);
	return reply_ok(r, out);
}

int
api_auth_logout(struct req *r)
{
	char		 exp[24];
	const char	*v[] = { r->jti, exp };

	snprintf(exp, sizeof(exp), "%lld", (long long)r->token_exp);
	if (db_exec(r->w->db, &revoke, 2, v) != 0)
		return reply_db_error(r);
	auth_set_cookie(r, NULL, 0);
	return reply_ok(r, NULL);
}

int
api_me(struct req *r)
{
	const char		*v[] = { r->user_id };
	struct json_object	*out, *user, *tenants;
	struct db_res		*res;

	if ((res = db_query(r->w->db, &user_email, 1, v)) == NULL)
		return reply_db_error(r);
	user = json_object_new_object();
	json_add_str(user, "id", r->user_id);
	json_add_str(user, "email", db_val(res, 0, 0));
	db_res_free(res);
	if ((tenants = tenants_of(r, r->user_id)) == NULL) {
		json_object_put(user);
		return reply_db_error(r);
	}
	out = json_object_new_object();
	json_object_object_add(out, "user", user);
	json_object_object_add(out, "tenants", tenants);
	return reply_ok(r, out);
}
