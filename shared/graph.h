/* shared/graph.h: the Graph API client: URLs, the tenant's token, Meta's
 * error envelope, and the one retry worth making. */
#ifndef WA_GRAPH_H
#define WA_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct json_object;

#define GRAPH_URL_MAX	1024

/* What went wrong, as Meta said it (or as the transport failed). */
struct graph_err {
	long	http_status;	/* 0: no answer */
	long	code;		/* Meta's error.code; 0 when none */
	long	subcode;
	char	type[64];
	char	message[512];
	char	details[512];
	char	fbtrace_id[64];
	int	timeout;	/* no answer in time */
	int	unreachable;	/* could not connect */
	long	retry_after;	/* the answer's Retry-After (s); 0: none */
};

/* How an API handler should answer a Graph failure. */
struct graph_status {
	int		 status;	/* our HTTP status */
	const char	*code;		/* our error code */
	int		 retry_after;	/* seconds, for 429; else 0 */
};

/* The total timeout of this thread's Graph calls: WA_GRAPH_TIMEOUT_MS,
 * unless graph_set_timeout() gave another (ms > 0; 0 restores it). Only
 * fcgi/test_hooks.c sets one, for one request. */
void	graph_set_timeout(long ms);
long	graph_timeout_ms(void);

/* How a Graph API call (each attempt) ended, for the metrics. */
enum graph_outcome {
	GRAPH_OK, GRAPH_CLIENT_ERROR, GRAPH_SERVER_ERROR, GRAPH_TIMEOUT,
	GRAPH_UNREACHABLE, GRAPH_OUTCOMES
};

/* fn learns every call's outcome and duration; set once, before any
 * thread calls (fcgi/main.c counts them). */
void	graph_set_observer(void (*fn)(int outcome, uint64_t us));

/* "<WA_GRAPH_URL>/<WA_GRAPH_VERSION>/<path>" */
void	graph_url(char *out, size_t n, const char *path);

/* Calls the Graph API with the tenant's token. body (JSON) may be NULL.
 * 0 on HTTP 2xx with the parsed JSON in *out (caller puts it); -1 with
 * *err filled otherwise. Transport failures and Meta's transient errors
 * are retried once after a short backoff; never a 4xx, never a timeout
 * (Meta may have acted on it). */
int	graph_call(void *curl, const char *token, const char *method,
	    const char *path, struct json_object *body,
	    struct json_object **out, struct graph_err *err);

/* POSTs a message payload to /{pnid}/messages: Meta's message id (a
 * string inside *out, which the caller puts), or NULL with *err filled.
 * A 2xx answer without an id counts as a 502. */
const char *graph_send_message(void *curl, const char *token,
	    const char *pnid, struct json_object *payload,
	    struct json_object **out, struct graph_err *err);

/* Meta's error -> our answer: 190 -> 502 graph_auth; 4, 80007, 130429,
 * 131056 -> 429; 131047 -> 409 outside_window; 131026, 133010 -> 422;
 * 100, 131008, 131009 -> 422; 5xx and no answer -> 502; timeout -> 504. */
struct graph_status graph_classify(const struct graph_err *);

/* Parses Meta's {"error":{...}} envelope from a reply body into err. */
void	graph_parse_error(const char *body, long http_status,
	    struct graph_err *err);

#endif /* WA_GRAPH_H */
