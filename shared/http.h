/* shared/http.h: outgoing HTTP over a caller-owned, reused CURL handle
 * (one per thread: connections and TLS sessions stay warm). */
#ifndef WA_HTTP_H
#define WA_HTTP_H

#include <stddef.h>

#include "buf.h"

#define HTTP_USER_AGENT	"wa-backend/1.0"
#define HTTP_RESP_MAX	(4u << 20)	/* JSON answers; media is streamed */

enum http_err {
	HTTP_OK = 0,
	HTTP_ETIMEOUT,		/* connect or total timeout */
	HTTP_ECONNECT,		/* refused, DNS, TLS */
	HTTP_ETOOBIG,		/* reply over HTTP_RESP_MAX */
	HTTP_EOTHER,
};

struct http_req {
	const char	*method;	/* "GET", "POST", "DELETE" */
	const char	*url;
	const char	*bearer;	/* NULL: no Authorization header */
	const char	*content_type;	/* for body */
	const char	*body;
	size_t		 body_len;
	long		 timeout_ms;
	long		 connect_timeout_ms;
};

struct http_resp {
	long		 status;	/* 0 when no HTTP answer came */
	enum http_err	 err;
	struct buf	 body;
	char		 content_type[128];
	double		 total_ms;
	long		 retry_after;	/* Retry-After in seconds; 0: none */
};

/* Performs req; 0 when an HTTP answer (any status) arrived, else -1 with
 * resp->err set. resp->body must be freed with http_resp_free(). */
int	http_do(void *curl, const struct http_req *, struct http_resp *);
void	http_resp_free(struct http_resp *);

#endif /* WA_HTTP_H */
