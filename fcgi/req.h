/* fcgi/req.h: one HTTP request as FastCGI hands it to us, and the replies.
 * Everything hanging off a struct req dies in req_finish(). */
#ifndef WA_REQ_H
#define WA_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "util.h"

struct worker;
struct json_object;

enum req_method {
	REQ_GET = 1, REQ_POST, REQ_PUT, REQ_PATCH, REQ_DELETE, REQ_HEAD,
	REQ_OTHER
};

#define REQ_MAX_PARAMS	4
#define REQ_PATH_MAX	2048

struct req {
	void			*fcgi;		/* FCGX_Request * */
	struct worker		*w;
	enum req_method		 method;
	const char		*method_str;
	const char		*path;		/* decoded, without query */
	const char		*query;		/* raw query string */
	const char		*request_id;
	const char		*route;		/* matched pattern, for the log */
	int			 route_index;	/* its row (route_at()), or -1 */

	char			 pathbuf[REQ_PATH_MAX];	/* params point here */
	const char		*param_name[REQ_MAX_PARAMS];
	const char		*param_val[REQ_MAX_PARAMS];
	int			 nparams;

	struct buf		 body;
	struct json_object	*json;		/* set for BODY_JSON routes */

	/* Filled by auth. */
	char			 user_id[UUID_LEN + 1];
	char			 jti[UUID_LEN + 1];
	int64_t			 token_exp;
	char			 tenant_id[UUID_LEN + 1];
	char			 role[16];
	int			 via_cookie;
	/* An API key's id and scopes (APIKEY_SCOPE_*), when one was used;
	 * then user_id is empty. */
	char			 key_id[UUID_LEN + 1];
	unsigned		 key_scopes;

	struct buf		 headers;	/* extra response header lines */
	int			 status;
	int			 replied;
	uint64_t		 start_us;	/* mono_us() */
};

void		 req_serve(struct worker *, void *fcgx_request);
/* Ends a FastCGI request (FCGX_Finish_r), closing at once when nginx sent
 * nothing we left unread. */
void		 req_end(void *fcgx_request);

const char	*req_env(const struct req *, const char *name);
/* "X-Tenant-Id" -> the HTTP_X_TENANT_ID parameter. */
const char	*req_header(const struct req *, const char *name);
const char	*req_param(const struct req *, const char *name);
/* Decoded query parameter; 0 when present. */
int		 req_query(const struct req *, const char *name, char *, size_t);
int		 req_cookie(const struct req *, const char *name, char *, size_t);
/* Reads the whole body (up to max bytes); 0, or the HTTP status to answer. */
int		 req_read_body(struct req *, size_t max);
int		 req_is_json(const struct req *);

void		 reply_header(struct req *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Writes {"ok":true, ...obj} (obj consumed; NULL for just ok). */
int		 reply_ok(struct req *, struct json_object *);
int		 reply_json(struct req *, int status, struct json_object *);
int		 reply_error(struct req *, int status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int		 reply_empty(struct req *, int status);
int		 reply_text(struct req *, int status, const char *ctype,
		    const char *body, size_t n);
/* Answers a failed query: 503 when the database is away, else 500. */
int		 reply_db_error(struct req *);
/* The same for an error met on another connection (enum db_err): 503 for
 * what a retry may cure, else 500. */
int		 reply_db_failure(struct req *, int err);

struct graph_err;
/* The error body for a failed Graph call, mapped by graph_classify(), with
 * Meta's code and message under "error.graph"; sets *status and, for 429,
 * Retry-After. Returned (caller puts it) so a send can store it for an
 * idempotent replay; reply_graph_error() just answers with it. */
struct json_object *reply_graph_error_body(struct req *,
		    const struct graph_err *, int *status);
int		 reply_graph_error(struct req *, const struct graph_err *);

/* Logging with the request id. */
void		 rlog(struct req *, int level, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif /* WA_REQ_H */
