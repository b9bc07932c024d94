/* fcgi/req.c: struct req over libfcgi: parameters, body, cookies, replies,
 * and the one log line per request. */
#include "req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "wa_msg.h"
#include "worker.h"

#define FCGX(r)	((FCGX_Request *)(r)->fcgi)

static const struct {
	int		 code;
	const char	*text;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 413, "Payload Too Large" }, { 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Entity" }, { 429, "Too Many Requests" },
	{ 500, "Internal Server Error" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

static const char *
reason(int code)
{
	size_t	i;

	for (i = 0; i < nitems(reasons); i++)
		if (reasons[i].code == code)
			return reasons[i].text;
	return "Unknown";
}

const char *
req_env(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, FCGX(r)->envp);
}

const char *
req_header(const struct req *r, const char *name)
{
	char	key[128] = "HTTP_";
	size_t	i, n = 5;

	for (i = 0; name[i] != '\0' && n < sizeof(key) - 1; i++, n++)
		key[n] = name[i] == '-' ? '_' :
		    (char)((name[i] >= 'a' && name[i] <= 'z') ?
		    name[i] - 32 : name[i]);
	key[n] = '\0';
	if (strcmp(key, "HTTP_CONTENT_TYPE") == 0)
		return req_env(r, "CONTENT_TYPE");
	return req_env(r, key);
}

/* Decodes %XX and '+' from [s, s+n) into out; -1 if it does not fit or
 * decodes to a NUL byte. */
static int
url_decode(const char *s, size_t n, char *out, size_t on)
{
	size_t	i, k = 0;
	int	hi, lo;
	char	c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && (hi = hex_digit(s[i + 1])) >= 0 &&
		    (lo = hex_digit(s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || k + 1 >= on)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

int
req_query(const struct req *r, const char *name, char *out, size_t n)
{
	const char	*p = r->query, *amp, *eq;
	size_t		 nl = strlen(name);

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		eq = memchr(p, '=', amp != NULL ? (size_t)(amp - p) : strlen(p));
		if (eq != NULL && (size_t)(eq - p) == nl &&
		    strncmp(p, name, nl) == 0) {
			size_t vl = amp != NULL ? (size_t)(amp - eq - 1) :
			    strlen(eq + 1);
			return url_decode(eq + 1, vl, out, n);
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return -1;
}

/* The name of the query parameter [p, p+n) for an error message: as sent
 * when it is a plain name, else a generic one (raw input is never echoed). */
static void
param_name(const char *p, size_t n, char *out, size_t on)
{
	size_t	nl = strcspn(p, "=&");

	if (nl > n)
		nl = n;
	if (nl == 0 || nl >= on || nl > 32 || strspn(p,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    < nl)
		snprintf(out, on, "a query parameter");
	else
		snprintf(out, on, "%.*s", (int)nl, p);
}

/* Every name=value of the query string must decode to UTF-8 text without
 * NUL: PostgreSQL refuses anything else with an error we could only answer
 * with 500, and a C string would end at the NUL. 0, or -1 with the
 * offending parameter named in bad. */
static int
query_valid(const char *q, char *bad, size_t bn)
{
	char	*dec;
	size_t	 n;
	int	 rc = 0;

	if (q == NULL || *q == '\0')
		return 0;
	dec = xmalloc(strlen(q) + 1);	/* decoding never grows */
	for (; rc == 0 && *q != '\0'; q += n + (q[n] == '&')) {
		n = strcspn(q, "&");
		if (url_decode(q, n, dec, n + 1) != 0 ||
		    !wa_msg_utf8_valid(dec, strlen(dec))) {
			param_name(q, n, bad, bn);
			rc = -1;
		}
	}
	free(dec);
	return rc;
}

int
req_cookie(const struct req *r, const char *name, char *out, size_t n)
{
	const char	*c = req_env(r, "HTTP_COOKIE"), *end;
	size_t		 nl = strlen(name), vl;

	while (c != NULL && *c != '\0') {
		while (*c == ' ' || *c == ';')
			c++;
		end = strchr(c, ';');
		if (strncmp(c, name, nl) == 0 && c[nl] == '=') {
			vl = end != NULL ? (size_t)(end - c - nl - 1) :
			    strlen(c + nl + 1);
			if (vl + 1 > n)
				return -1;
			memcpy(out, c + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		c = end;
	}
	return -1;
}

int
req_read_body(struct req *r, size_t max)
{
	const char	*cl = req_env(r, "CONTENT_LENGTH");
	int64_t		 len = 0;
	char		 chunk[16384];
	int		 got;

	if (cl != NULL && *cl != '\0' && (str_to_i64(cl, &len) != 0 ||
	    len < 0))
		return 400;
	if ((size_t)len > max)
		return 413;
	while (r->body.len < (size_t)len) {
		size_t want = (size_t)len - r->body.len;

		got = FCGX_GetStr(chunk, want < sizeof(chunk) ?
		    (int)want : (int)sizeof(chunk), FCGX(r)->in);
		if (got <= 0)
			return 400;	/* client went away mid-body */
		if (buf_append(&r->body, chunk, (size_t)got) != 0)
			return 413;
	}
	return 0;
}

int
req_is_json(const struct req *r)
{
	const char	*ct = req_env(r, "CONTENT_TYPE");
	size_t		 n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void
reply_header(struct req *r, const char *fmt, ...)
{
	va_list	ap;
	char	line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_appendf(&r->headers, "%s\r\n", line);
}

/* The header block is formatted here, not with FCGX_FPrintF: libfcgi's
 * own printf knows no size modifiers such as %zu. */
static void
write_head(struct req *r, int status, const char *ctype, size_t len)
{
	struct buf	h = BUF_INIT;

	buf_appendf(&h, "Status: %d %s\r\n", status, reason(status));
	if (ctype != NULL)
		buf_appendf(&h, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		    ctype, len);
	if (r->request_id != NULL)
		buf_appendf(&h, "X-Request-Id: %s\r\n", r->request_id);
	buf_appends(&h, "Cache-Control: no-store\r\n");
	if (r->headers.len > 0)
		buf_append(&h, r->headers.data, r->headers.len);
	buf_appends(&h, "\r\n");
	FCGX_PutStr(h.data, (int)h.len, FCGX(r)->out);
	buf_free(&h);
	r->status = status;
	r->replied = 1;
}

int
reply_text(struct req *r, int status, const char *ctype, const char *body,
    size_t n)
{
	write_head(r, status, ctype, n);
	if (n > 0)
		FCGX_PutStr(body, (int)n, FCGX(r)->out);
	return status;
}

int
reply_json(struct req *r, int status, struct json_object *obj)
{
	const char	*s;
	size_t		 n;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	reply_text(r, status, "application/json", s, n);
	json_object_put(obj);
	return status;
}

int
reply_ok(struct req *r, struct json_object *obj)
{
	struct json_object	*out = json_object_new_object();

	json_object_object_add(out, "ok", json_object_new_boolean(1));
	if (obj != NULL) {
		json_object_object_foreach(obj, k, v)
			json_object_object_add(out, k, json_object_get(v));
		json_object_put(obj);
	}
	return reply_json(r, 200, out);
}

int
reply_error(struct req *r, int status, const char *code, const char *fmt, ...)
{
	struct json_object	*out, *err;
	char			 msg[512];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(out, "ok", json_object_new_boolean(0));
	json_object_object_add(out, "error", err);
	if (r->request_id != NULL)
		json_object_object_add(out, "request_id",
		    json_object_new_string(r->request_id));
	return reply_json(r, status, out);
}

int
reply_empty(struct req *r, int status)
{
	write_head(r, status, NULL, 0);
	return status;
}

int
reply_db_error(struct req *r)
{
	return reply_db_failure(r, db_error(r->w->db));
}

int
reply_db_failure(struct req *r, int err)
{
	if (err == DB_EUNAVAIL)
		return reply_error(r, 503, "database_unavailable",
		    "the database is unavailable, retry later");
	if (err == DB_ERETRY)
		return reply_error(r, 503, "database_busy",
		    "the database asked for a retry, retry later");
	return reply_error(r, 500, "internal", "internal error");
}

void
rlog(struct req *r, int level, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "rid=%s %s", r->request_id != NULL ? r->request_id :
	    "-", msg);
}

static enum req_method
parse_method(const char *m)
{
	static const struct { const char *s; enum req_method m; } t[] = {
		{ "GET", REQ_GET }, { "POST", REQ_POST }, { "PUT", REQ_PUT },
		{ "PATCH", REQ_PATCH }, { "DELETE", REQ_DELETE },
		{ "HEAD", REQ_HEAD },
	};
	size_t	i;

	for (i = 0; m != NULL && i < nitems(t); i++)
		if (strcmp(m, t[i].s) == 0)
			return t[i].m;
	return REQ_OTHER;
}

static void
req_init(struct req *r, struct worker *w, void *fcgx)
{
	static char	 path_fallback[] = "/";
	const char	*uri;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgx;
	r->w = w;
	r->start_us = mono_us();
	r->route_index = -1;
	r->method_str = req_env(r, "REQUEST_METHOD");
	r->method = parse_method(r->method_str);
	r->request_id = req_env(r, "REQUEST_ID");
	r->query = req_env(r, "QUERY_STRING");
	/* nginx's DOCUMENT_URI is decoded and normalized (no "..", no "//"). */
	if ((uri = req_env(r, "DOCUMENT_URI")) == NULL || *uri != '/')
		uri = path_fallback;
	r->path = uri;
}

static void
req_finish(struct req *r)
{
	log_msg(LOG_INFO, "rid=%s tenant=%s %s %s route=%s status=%d ms=%lld",
	    r->request_id != NULL ? r->request_id : "-",
	    r->tenant_id[0] != '\0' ? r->tenant_id : "-",
	    r->method_str != NULL ? r->method_str : "-", r->path,
	    r->route != NULL ? r->route : "-", r->status,
	    (long long)((mono_us() - r->start_us) / 1000));
	metrics_request(r);
	json_object_put(r->json);
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Reads the request's input to its end (the FastCGI stdin stream's empty
 * record), throwing away whatever the handler left unread: 1 when the end
 * was reached. */
static int
input_drained(FCGX_Request *fr)
{
	char	chunk[16384];

	if (fr->ipcFd < 0 || fr->in == NULL)
		return 0;
	while (FCGX_GetStr(chunk, (int)sizeof(chunk), fr->in) > 0)
		;
	return FCGX_HasSeenEOF(fr->in) == EOF;
}

void
req_end(void *fcgx)
{
	FCGX_Request	*fr = fcgx;

	/* A reply sent before the body was read (a refusal) must not close
	 * the socket while nginx is still writing the body: nginx's write
	 * fails and it answers 502 in place of our reply. So read the input
	 * to its end first. Then nothing more comes from nginx, and the
	 * socket can close at once ("detached" skips libfcgi's lingering
	 * close: shutdown, poll, read and a wait, per request). */
	fr->detached = input_drained(fr);
	FCGX_Finish_r(fr);
}

void
req_serve(struct worker *w, void *fcgx)
{
	struct req	r;
	char		bad[40];

	req_init(&r, w, fcgx);
	if (query_valid(r.query, bad, sizeof(bad)) != 0)
		reply_error(&r, 400, "bad_request", "%s: not valid UTF-8 "
		    "text once decoded", bad);
	else
		route_dispatch(&r);
	if (!r.replied)
		reply_error(&r, 500, "internal", "no reply");
	req_finish(&r);
}

struct json_object *
reply_graph_error_body(struct req *r, const struct graph_err *e, int *status)
{
	struct graph_status	 gs = graph_classify(e);
	struct json_object	*out, *err, *g;

	g = json_object_new_object();
	json_add_int(g, "code", e->code);
	json_add_str(g, "message", e->message);
	if (e->details[0] != '\0')
		json_add_str(g, "details", e->details);
	if (e->fbtrace_id[0] != '\0')
		json_add_str(g, "fbtrace_id", e->fbtrace_id);
	if (e->http_status != 0)
		json_add_int(g, "http_status", e->http_status);
	err = json_object_new_object();
	json_add_str(err, "code", gs.code);
	json_add_str(err, "message", e->message[0] != '\0' ? e->message :
	    "the Graph API call failed");
	json_object_object_add(err, "graph", g);
	out = json_object_new_object();
	json_add_bool(out, "ok", 0);
	json_object_object_add(out, "error", err);
	if (r->request_id != NULL)
		json_add_str(out, "request_id", r->request_id);
	if (gs.retry_after > 0)
		reply_header(r, "Retry-After: %d", gs.retry_after);
	*status = gs.status;
	return out;
}

int
reply_graph_error(struct req *r, const struct graph_err *e)
{
	struct json_object	*body;
	int			 status;

	body = reply_graph_error_body(r, e, &status);
	return reply_json(r, status, body);
}
