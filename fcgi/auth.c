/* fcgi/auth.c: bearer or cookie JWTs, revocation, tenant membership and
 * the CSRF origin check, in one database round trip per request; or an
 * API key (Bearer wak_...), which names its own tenant. */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apikey.h"
#include "conf.h"
#include "db.h"
#include "req.h"
#include "token.h"
#include "worker.h"

/* One row when the user exists and the token is not revoked; role is the
 * membership in $2 (NULL when not a member or no tenant asked). */
static const struct db_stmt auth_lookup = { "auth_lookup",
	"SELECT m.role FROM users u"
	" LEFT JOIN memberships m ON m.user_id = u.id AND m.tenant_id = $2"
	" WHERE u.id = $1 AND NOT EXISTS"
	" (SELECT 1 FROM revoked_tokens t WHERE t.jti = $3)" };

/* The live key with this SHA-256 (schema/012_api_keys.sql). */
static const struct db_stmt key_lookup = { "auth_key_lookup",
	"SELECT id, tenant_id, scopes FROM wa_api_key_auth(decode($1, 'hex'))" };

enum { AUTH_OK = 0, AUTH_NOUSER = 401, AUTH_NOTMEMBER = 403,
	AUTH_DBDOWN = 503 };

static int
lookup(struct req *r, const struct token_claims *c, const char *tenant)
{
	const char	*v[] = { c->sub, tenant, c->jti };
	struct db_res	*res;
	const char	*role;
	int		 rc;

	if ((res = db_query(r->w->db, &auth_lookup, 3, v)) == NULL)
		return AUTH_DBDOWN;
	if (db_rows(res) != 1)
		rc = AUTH_NOUSER;
	else if (tenant != NULL && (role = db_val(res, 0, 0)) == NULL)
		rc = AUTH_NOTMEMBER;
	else {
		rc = AUTH_OK;
		memcpy(r->user_id, c->sub, sizeof(r->user_id));
		memcpy(r->jti, c->jti, sizeof(r->jti));
		r->token_exp = c->exp;
		if (tenant != NULL) {
			snprintf(r->tenant_id, sizeof(r->tenant_id), "%s",
			    tenant);
			snprintf(r->role, sizeof(r->role), "%s",
			    db_val(res, 0, 0));
		}
	}
	db_res_free(res);
	return rc;
}

int
auth_token_tenant(struct req *r, const char *token, const char *tenant)
{
	struct token_claims	c;

	if (token_verify(conf.jwt_secret, token, &c) != 0)
		return AUTH_NOUSER;
	if (tenant != NULL && !uuid_valid(tenant))
		return AUTH_NOTMEMBER;
	return lookup(r, &c, tenant);
}

/* Scheme, host and port of this server as a browser names it. */
int
auth_origin_ok(struct req *r)
{
	const char	*origin = req_header(r, "Origin");
	const char	*host = req_env(r, "WA_HOST"), *rest;

	if (origin == NULL || *origin == '\0')
		return 0;	/* browsers send Origin on every unsafe request */
	if (conf.public_origin != NULL && *conf.public_origin != '\0')
		return strcmp(origin, conf.public_origin) == 0;
	if (strncmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return 0;
	return host != NULL && strcasecmp(rest, host) == 0;
}

/* An API key: 0 when it is live and, if X-Tenant-Id is given, names the
 * key's own tenant (r's key and tenant then set), else the status sent.
 * Scopes are the route's business (route.c). */
static int
auth_key(struct req *r, const char *key)
{
	const char	*tenant = req_header(r, "X-Tenant-Id");
	char		 hash[APIKEY_HASH_HEX + 1];
	const char	*v[] = { hash };
	struct db_res	*res;
	int		 found;

	if (!apikey_shape_ok(key) || apikey_hash(key, hash) != 0)
		return reply_error(r, 401, "unauthorized",
		    "invalid or revoked API key");
	if ((res = db_query(r->w->db, &key_lookup, 1, v)) == NULL)
		return reply_db_error(r);
	if ((found = db_rows(res) == 1)) {
		snprintf(r->key_id, sizeof(r->key_id), "%s", db_val(res, 0, 0));
		snprintf(r->tenant_id, sizeof(r->tenant_id), "%s",
		    db_val(res, 0, 1));
		if (apikey_scopes_parse(db_val(res, 0, 2), &r->key_scopes) != 0)
			r->key_scopes = 0;	/* the table's CHECK forbids it */
	}
	db_res_free(res);
	if (!found)
		return reply_error(r, 401, "unauthorized",
		    "invalid or revoked API key");
	snprintf(r->role, sizeof(r->role), "api_key");
	/* The key says which tenant; a header naming another is a mistake
	 * (or a probe) that must not pass silently. */
	if (tenant != NULL && *tenant != '\0' &&
	    strcasecmp(tenant, r->tenant_id) != 0)
		return reply_error(r, 403, "forbidden",
		    "this API key belongs to another tenant");
	return 0;
}

static int
is_unsafe(const struct req *r)
{
	return r->method != REQ_GET && r->method != REQ_HEAD;
}

int
auth_request(struct req *r, int want_tenant)
{
	const char	*authz = req_header(r, "Authorization");
	const char	*tenant = NULL;
	char		 cookie[TOKEN_MAX];
	const char	*token = NULL;
	int		 rc;

	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		token = authz + 7;
		if (strncmp(token, APIKEY_TAG, 4) == 0)
			return auth_key(r, token);
	} else if (req_cookie(r, AUTH_COOKIE, cookie, sizeof(cookie)) == 0) {
		token = cookie;
		r->via_cookie = 1;
	}
	if (token == NULL)
		return reply_error(r, 401, "unauthorized",
		    "missing bearer token or session cookie");
	if (r->via_cookie && is_unsafe(r) && !auth_origin_ok(r))
		return reply_error(r, 403, "csrf",
		    "cross-site request refused (Origin check)");
	if (want_tenant) {
		tenant = req_header(r, "X-Tenant-Id");
		if (tenant == NULL || *tenant == '\0')
			return reply_error(r, 400, "tenant_required",
			    "X-Tenant-Id header is required");
	}
	switch ((rc = auth_token_tenant(r, token, tenant))) {
	case AUTH_OK:
		return 0;
	case AUTH_NOUSER:
		return reply_error(r, 401, "unauthorized",
		    "invalid, expired or revoked token");
	case AUTH_NOTMEMBER:
		return reply_error(r, 403, "forbidden",
		    "you are not a member of this tenant");
	default:
		return reply_db_error(r);
	}
}

void
auth_set_cookie(struct req *r, const char *token, long max_age)
{
	reply_header(r, "Set-Cookie: %s=%s; Path=/; Max-Age=%ld; HttpOnly; "
	    "SameSite=Strict%s", AUTH_COOKIE, token != NULL ? token : "",
	    token != NULL ? max_age : 0L, conf.dev ? "" : "; Secure");
}
