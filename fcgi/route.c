/* fcgi/route.c: the route table and the dispatcher that enforces each
 * row's preconditions (auth, tenant, JSON body) before its handler runs. */
#include "route.h"

#include <string.h>

#include <json-c/json.h>

#include "apikey.h"
#include "auth.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "user_slots.h"
#include "util.h"
#include "worker.h"

#define JSON_BODY_MAX	(1u << 20)
/* Every send: a tenant's JSON body, then a Graph call. */
#define SEND		(AUTH_TENANT | BODY_JSON | GRAPH_BOUND | SCOPE_SEND)

_Static_assert(SCOPE_READ == APIKEY_SCOPE_READ << ROUTE_SCOPE_SHIFT &&
    SCOPE_SEND == APIKEY_SCOPE_SEND << ROUTE_SCOPE_SHIFT,
    "route scope flags are the key's scope bits, shifted");

static const struct route routes[] = {
	/* method, pattern, handler, flags */
	{ REQ_GET,  "/healthz",                 health_get,      AUTH_NONE },
	/* Meta signs, we check (over the raw bytes: no BODY_JSON). */
	{ REQ_GET,  "/webhook",                 webhook_verify,  AUTH_NONE },
	{ REQ_POST, "/webhook",                 webhook_receive, AUTH_NONE },
	{ REQ_POST, "/api/v1/auth/login",       api_auth_login,  BODY_JSON },
	{ REQ_POST, "/api/v1/auth/logout",      api_auth_logout, AUTH_USER },
	{ REQ_GET,  "/api/v1/me",               api_me,          AUTH_USER },
	/* Any key may ask which tenant it serves. */
	{ REQ_GET,  "/api/v1/tenant",           api_tenant_get,
	    AUTH_TENANT | SCOPE_READ | SCOPE_SEND },
	{ REQ_GET,  "/api/v1/events",           api_events_list,
	    AUTH_TENANT | SCOPE_READ },
	/* Not for keys: their sockets could not be closed on revocation
	 * (schema/010_ws_sessions.sql keys sessions on a login's jti). */
	{ REQ_POST, "/api/v1/ws-ticket",        api_ws_ticket,   AUTH_TENANT },
	{ REQ_POST, "/api/v1/send/text", api_send_text, SEND },
	{ REQ_POST, "/api/v1/send/media", api_send_media, SEND },
	{ REQ_POST, "/api/v1/send/voice", api_send_voice, SEND },
	{ REQ_POST, "/api/v1/send/location", api_send_location, SEND },
	{ REQ_POST, "/api/v1/send/request_location", api_send_request_location,
	    SEND },
	{ REQ_POST, "/api/v1/send/sticker", api_send_sticker, SEND },
	{ REQ_POST, "/api/v1/send/contact", api_send_contact, SEND },
	{ REQ_POST, "/api/v1/send/catalog", api_send_catalog, SEND },
	{ REQ_POST, "/api/v1/send/product", api_send_product, SEND },
	{ REQ_POST, "/api/v1/send/products", api_send_products, SEND },
	{ REQ_POST, "/api/v1/send/reaction", api_send_reaction, SEND },
	{ REQ_POST, "/api/v1/send/template", api_send_template, SEND },
	/* Its body is larger than BODY_JSON's: the handler reads it. */
	{ REQ_POST, "/api/v1/broadcasts", api_broadcasts_create,
	    AUTH_TENANT | SCOPE_SEND },
	{ REQ_GET, "/api/v1/broadcasts/:id", api_broadcasts_get,
	    AUTH_TENANT | SCOPE_READ },
	{ REQ_POST, "/api/v1/broadcasts/:id/cancel", api_broadcasts_cancel,
	    AUTH_TENANT | SCOPE_SEND },
	{ REQ_DELETE, "/api/v1/messages/:id/reaction", api_messages_unreact,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_SEND },
	{ REQ_POST, "/api/v1/messages/:id/read", api_messages_read,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_SEND },
	{ REQ_POST, "/api/v1/conversations/:phone/typing", api_messages_typing,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_SEND },
	{ REQ_GET, "/api/v1/conversations", api_conversations_list,
	    AUTH_TENANT | SCOPE_READ },
	{ REQ_GET, "/api/v1/conversations/:phone", api_conversations_get,
	    AUTH_TENANT | SCOPE_READ },
	{ REQ_DELETE, "/api/v1/conversations/:phone", api_conversations_delete,
	    AUTH_TENANT | SCOPE_SEND },
	/* The upload's body comes spooled to a file: see nginx.conf.in. */
	{ REQ_POST, "/api/v1/upload/media", api_media_upload,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_SEND },
	{ REQ_POST, "/_internal/media-upload-auth", api_media_upload_auth,
	    AUTH_TENANT | SCOPE_SEND },
	{ REQ_GET, "/api/v1/media/:id", api_media_get,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_READ },
	{ REQ_DELETE, "/api/v1/media/:id", api_media_delete,
	    AUTH_TENANT | GRAPH_BOUND | SCOPE_SEND },
	{ REQ_GET,  "/_internal/ws-auth",       ws_auth_check,   AUTH_NONE },
	/* Only nginx's loopback metrics server passes it (nginx.conf.in). */
	{ REQ_GET,  "/_internal/metrics",       metrics_get,     AUTH_NONE },
};

size_t
route_count(void)
{
	return nitems(routes);
}

const struct route *
route_at(size_t i)
{
	return i < nitems(routes) ? &routes[i] : NULL;
}

int
route_match(const char *pattern, const char *path, struct req *r)
{
	const char	*p = pattern;
	char		*s;
	size_t		 n;

	if ((n = strlen(path)) >= sizeof(r->pathbuf))
		return 0;
	memcpy(r->pathbuf, path, n + 1);
	s = r->pathbuf;
	r->nparams = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == ':') {	/* ":name" takes one non-empty segment */
			const char *name = p + 1;
			char *seg = s;

			while (*p != '\0' && *p != '/')
				p++;
			while (*s != '\0' && *s != '/')
				s++;
			if (s == seg || r->nparams == REQ_MAX_PARAMS)
				return 0;
			/* Pattern names end at '/' or NUL: copy-free trick,
			 * the names are read only up to that point. */
			r->param_name[r->nparams] = name;
			r->param_val[r->nparams++] = seg;
			if (*s == '/') {
				*s++ = '\0';
				if (*p != '/')
					return 0;
				p++;
			}
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return *p == '\0' && *s == '\0';
}

const char *
req_param(const struct req *r, const char *name)
{
	size_t	nl = strlen(name);
	int	i;

	for (i = 0; i < r->nparams; i++)
		if (strncmp(r->param_name[i], name, nl) == 0 &&
		    (r->param_name[i][nl] == '/' ||
		    r->param_name[i][nl] == '\0'))
			return r->param_val[i];
	return NULL;
}

int
route_json_body(struct req *r, size_t max)
{
	char	err[128];
	int	st;

	if (!req_is_json(r))
		return reply_error(r, 415, "unsupported_media_type",
		    "Content-Type must be application/json");
	if ((st = req_read_body(r, max)) != 0)
		return st == 413 ? reply_error(r, 413, "payload_too_large",
		    "body over %zu bytes", max) :
		    reply_error(r, 400, "bad_request", "unreadable body");
	if ((r->json = json_parse(r->body.data, r->body.len, err,
	    sizeof(err))) == NULL)
		return reply_error(r, 400, "invalid_json", "%s", err);
	if (!json_object_is_type(r->json, json_type_object))
		return reply_error(r, 400, "invalid_json",
		    "the body must be a JSON object");
	return 0;
}

/* A user may keep only a few of this process's threads waiting on Meta,
 * so a hung Graph API cannot starve the inbox (theirs or anyone's). Checked
 * before the body is read and before anything is written or sent; the
 * worker gives the slot back when the request ends (main.c). */
static int
take_user_slot(struct req *r)
{
	/* A key counts as a user of its own: its id is a uuid too. */
	const char	*who = r->key_id[0] != '\0' ? r->key_id : r->user_id;

	if ((r->w->user_slot = user_slots_take(who)) >= 0)
		return 0;
	reply_header(r, "Retry-After: %d", USER_SLOTS_RETRY_AFTER);
	return reply_error(r, 429, "rate_limited", "too many requests waiting "
	    "on WhatsApp for this user; retry shortly");
}

const struct route *
route_table(size_t *n)
{
	*n = nitems(routes);
	return routes;
}

int
route_key_may(unsigned flags, unsigned key_scopes)
{
	return ((flags >> ROUTE_SCOPE_SHIFT) & key_scopes) != 0;
}

/* An API key on a route it may not call: the wrong scope, or a route for
 * people (a login's own session, its WebSocket tickets). */
static int
refuse_key(const struct route *rt, struct req *r)
{
	if ((rt->flags & (SCOPE_READ | SCOPE_SEND)) == 0)
		return reply_error(r, 403, "forbidden", "%s is for user "
		    "sessions only, not API keys", rt->pattern);
	return reply_error(r, 403, "insufficient_scope", "this API key needs "
	    "the %s scope for %s", (rt->flags & SCOPE_SEND) ? "send" : "read",
	    rt->pattern);
}

static int
run(const struct route *rt, struct req *r)
{
	int	st;

	r->route = rt->pattern;
	r->route_index = (int)(rt - routes);
	if ((rt->flags & AUTH_USER) && (st = auth_request(r,
	    (rt->flags & AUTH_TENANT) == AUTH_TENANT)) != 0)
		return st;
	if (r->key_id[0] != '\0' && !route_key_may(rt->flags, r->key_scopes))
		return refuse_key(rt, r);
	if ((rt->flags & GRAPH_BOUND) && (st = take_user_slot(r)) != 0)
		return st;
	if ((rt->flags & BODY_JSON) && (st = route_json_body(r, JSON_BODY_MAX)) != 0)
		return st;
	return rt->handler(r);
}

const struct route *
route_find(int method, const char *path, struct req *r, int *path_known)
{
	size_t	i;

	*path_known = 0;
	for (i = 0; i < nitems(routes); i++) {
		if (!route_match(routes[i].pattern, path, r))
			continue;
		*path_known = 1;
		if (routes[i].method == method ||
		    (routes[i].method == REQ_GET && method == REQ_HEAD))
			return &routes[i];
	}
	return NULL;
}

void
route_dispatch(struct req *r)
{
	const struct route	*rt;
	int			 path_known;

	if ((rt = route_find((int)r->method, r->path, r, &path_known)) != NULL)
		run(rt, r);
	else if (path_known)
		reply_error(r, 405, "method_not_allowed", "%s not allowed on %s",
		    r->method_str != NULL ? r->method_str : "?", r->path);
	else
		reply_error(r, 404, "not_found", "no route for %s", r->path);
}
