/* fcgi/ws_auth.c: nginx's auth_request for /ws/{tenant_id}. Browsers cannot
 * set headers on a WebSocket, so the credential is the session cookie (from
 * our own pages) or ?ticket=, a single-use ticket from POST
 * /api/v1/ws-ticket: never a token, since URLs end up in logs. A 2xx lets
 * nginx upgrade; 401/403 refuse before any upgrade.
 *
 * The tenant checked is the one nginx subscribes the socket to: the
 * location's capture, passed as WA_WS_TENANT. The raw request URI may say
 * something else ("/ws/<own>/../<victim>" normalises to the victim), so it
 * must name the same tenant too, or the socket is refused.
 *
 * An accepted socket also subscribes to its token's session channel (the
 * X-WA-Session answer): wa-pushd deletes that channel, closing the socket,
 * once the token is revoked or expires or the membership ends
 * (schema/010_ws_sessions.sql). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "req.h"
#include "token.h"
#include "util.h"
#include "worker.h"

static const struct db_stmt session_open = { "ws_session_open",
	"SELECT wa_ws_session_open($1, $2, $3, to_timestamp($4))" };
static const struct db_stmt ticket_redeem = { "ws_ticket_redeem",
	"SELECT jti FROM wa_ws_ticket_redeem($1, $2)" };

#define WS_TICKET_MAX	80

/* 0 when the raw URI is exactly "/ws/<tenant>" (then '?' or its end). */
static int
raw_uri_names(const char *uri, const char *tenant)
{
	size_t	len = strlen(tenant);

	if (uri == NULL || strncmp(uri, "/ws/", 4) != 0)
		return -1;
	uri += 4;
	if (strncmp(uri, tenant, len) != 0)
		return -1;
	return uri[len] == '\0' || uri[len] == '?' ? 0 : -1;
}

/* The query string of the original request, for req_query(). */
static const char *
query_of(const char *uri)
{
	const char	*q = uri != NULL ? strchr(uri, '?') : NULL;

	return q != NULL ? q + 1 : "";
}

/* ?ticket=: consumed whatever happens. 0 when it opens this socket (the
 * session is recorded, r->jti set), else the status already sent. */
static int
redeem_ticket(struct req *r, const char *ticket, const char *tenant)
{
	const char	*v[] = { ticket, tenant };
	struct db_res	*res;
	int		 ok;

	if (!uuid_valid(tenant))
		return reply_error(r, 403, "forbidden", "not your tenant");
	if ((res = db_query(r->w->db, &ticket_redeem, 2, v)) == NULL)
		return reply_db_error(r);
	if ((ok = db_rows(res) == 1))
		snprintf(r->jti, sizeof(r->jti), "%s", db_val(res, 0, 0));
	db_res_free(res);
	return ok ? 0 : reply_error(r, 401, "unauthorized", "invalid, used "
	    "or expired ticket, or not for this tenant");
}

static int
open_session(struct req *r)
{
	char		 exp[24];
	const char	*v[] = { r->jti, r->tenant_id, r->user_id, exp };
	struct db_res	*res;

	snprintf(exp, sizeof(exp), "%" PRId64, r->token_exp);
	if ((res = db_query(r->w->db, &session_open, 4, v)) == NULL)
		return -1;
	db_res_free(res);
	return 0;
}

/* The session cookie, from our own pages only: 0 when it opens this socket
 * (the session is recorded, r->jti set), else the status already sent. */
static int
check_cookie(struct req *r, const char *tenant)
{
	char	token[TOKEN_MAX];
	int	rc;

	if (req_cookie(r, AUTH_COOKIE, token, sizeof(token)) != 0)
		return reply_error(r, 401, "unauthorized", "a ticket (POST "
		    "/api/v1/ws-ticket) or the session cookie is required");
	/* A page on another site must not ride the cookie into our
	 * WebSocket (cross-site WebSocket hijacking). */
	if (!auth_origin_ok(r))
		return reply_error(r, 403, "csrf",
		    "cross-site WebSocket refused (Origin check)");
	rc = auth_token_tenant(r, token, tenant);
	if (rc == 0 && open_session(r) != 0)
		rc = 503;
	if (rc == 503)
		return reply_db_error(r);
	if (rc != 0)
		return reply_error(r, rc, rc == 401 ? "unauthorized" :
		    "forbidden", rc == 401 ? "invalid or expired token" :
		    "not your tenant");
	return 0;
}

int
ws_auth_check(struct req *r)
{
	const char	*uri = req_env(r, "WA_ORIGINAL_URI");
	const char	*tenant = req_env(r, "WA_WS_TENANT");
	char		 ticket[WS_TICKET_MAX];
	int		 rc;

	if (tenant == NULL || *tenant == '\0' ||
	    raw_uri_names(uri, tenant) != 0)
		return reply_error(r, 403, "forbidden", "bad channel");
	r->query = query_of(uri);
	if (req_query(r, "ticket", ticket, sizeof(ticket)) == 0)
		rc = redeem_ticket(r, ticket, tenant);
	else
		rc = check_cookie(r, tenant);
	if (rc != 0)
		return rc;
	reply_header(r, "X-WA-Session: %s", r->jti);
	return reply_empty(r, 204);
}
