/* fcgi/route.h: the route table and what each row demands. */
#ifndef WA_ROUTE_H
#define WA_ROUTE_H

#include <stddef.h>

struct req;

/* Preconditions a route states once; route_dispatch() enforces them. */
#define AUTH_NONE	0x00	/* public, or the handler checks itself */
#define AUTH_USER	0x01	/* a valid token (bearer or cookie) */
#define AUTH_TENANT	0x03	/* ... and X-Tenant-Id naming one of theirs */
#define BODY_JSON	0x10	/* a JSON object body, parsed into r->json */
/* The handler may call Meta: counts against the user's cap of such requests
 * in flight (user_slots.h); needs AUTH_USER. */
#define GRAPH_BOUND	0x20
/* Which API keys may call it: one holding any scope named here. A route
 * naming none is for user sessions only; a key gets 403 there. */
#define ROUTE_SCOPE_SHIFT	6
#define SCOPE_READ	0x40	/* APIKEY_SCOPE_READ << ROUTE_SCOPE_SHIFT */
#define SCOPE_SEND	0x80	/* APIKEY_SCOPE_SEND << ROUTE_SCOPE_SHIFT */

struct route {
	int		 method;	/* enum req_method */
	const char	*pattern;	/* "/api/v1/messages/:id/read" */
	int		(*handler)(struct req *);
	unsigned	 flags;
};

/* Matches path against pattern, filling r's params on success. */
int	route_match(const char *pattern, const char *path, struct req *r);
/* The row for method and path (HEAD finds GET's), filling r's params; NULL,
 * with *path_known set when the path exists for another method. */
const struct route *route_find(int method, const char *path, struct req *r,
	    int *path_known);
/* The whole table, for unit tests that check it row by row. */
const struct route *route_table(size_t *n);
/* 1 when an API key with these scopes (APIKEY_SCOPE_*) may call a route
 * with these flags. */
int	route_key_may(unsigned flags, unsigned key_scopes);
void	route_dispatch(struct req *);
/* Reads a JSON object body of at most max bytes into r->json: 0, or the
 * status of the error replied (415, 413, 400). Routes flagged BODY_JSON get
 * it done for them with the usual limit; a route with a larger limit calls
 * it itself. */
int	route_json_body(struct req *, size_t max);
/* The table's rows, in order (the metrics' route labels). */
size_t	route_count(void);
const struct route *route_at(size_t);

#endif /* WA_ROUTE_H */
