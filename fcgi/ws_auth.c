/* fcgi/ws_auth.c: nginx's auth_request for /ws/{tenant_id}. Browsers cannot
 * set headers on a WebSocket, so the token comes from the session cookie or
 * ?token=. A 2xx lets nginx upgrade; 401/403 refuse before any upgrade. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "req.h"
#include "token.h"
#include "util.h"

/* "/ws/<tenant>?..." -> tenant, or -1. nginx already enforced the
 * [A-Za-z0-9_-]{1,64} shape. */
static int
tenant_from_uri(const char *uri, char *out, size_t n)
{
	size_t	len;

	if (uri == NULL || strncmp(uri, "/ws/", 4) != 0)
		return -1;
	uri += 4;
	len = strcspn(uri, "?/");
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, uri, len);
	out[len] = '\0';
	return 0;
}

/* The query string of the original request, for req_query(). */
static const char *
query_of(const char *uri)
{
	const char	*q = uri != NULL ? strchr(uri, '?') : NULL;

	return q != NULL ? q + 1 : "";
}

int
ws_auth_check(struct req *r)
{
	const char	*uri = req_env(r, "WA_ORIGINAL_URI");
	char		 tenant[72], token[TOKEN_MAX];
	int		 rc;

	if (tenant_from_uri(uri, tenant, sizeof(tenant)) != 0)
		return reply_error(r, 403, "forbidden", "bad channel");
	r->query = query_of(uri);
	if (req_query(r, "token", token, sizeof(token)) != 0) {
		if (req_cookie(r, AUTH_COOKIE, token, sizeof(token)) != 0)
			return reply_error(r, 401, "unauthorized",
			    "token required");
		/* A page on another site must not ride the cookie into our
		 * WebSocket (cross-site WebSocket hijacking). */
		if (!auth_origin_ok(r))
			return reply_error(r, 403, "csrf",
			    "cross-site WebSocket refused (Origin check)");
	}
	rc = auth_token_tenant(r, token, tenant);
	if (rc == 0)
		return reply_empty(r, 204);
	if (rc == 503)
		return reply_db_error(r);
	return reply_error(r, rc, rc == 401 ? "unauthorized" : "forbidden",
	    rc == 401 ? "invalid or expired token" : "not your tenant");
}
