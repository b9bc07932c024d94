/* shared/graph.c: Graph API calls (graph.facebook.com, or the simulator). */
#include "graph.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "conf.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define GRAPH_RETRY_DELAY_MS	250

static void	(*observer)(int, uint64_t);

/* This thread's timeout when a test hook set one for its request; else 0. */
static _Thread_local long timeout_override_ms;

void
graph_set_timeout(long ms)
{
	timeout_override_ms = ms;
}

long
graph_timeout_ms(void)
{
	return timeout_override_ms > 0 ? timeout_override_ms :
	    conf.graph_timeout_ms;
}

void
graph_set_observer(void (*fn)(int, uint64_t))
{
	observer = fn;
}

static void
observe(int rc, const struct graph_err *e, uint64_t start_us)
{
	int	outcome;

	if (observer == NULL)
		return;
	if (rc == 0)
		outcome = GRAPH_OK;
	else if (e->timeout)
		outcome = GRAPH_TIMEOUT;
	else if (e->unreachable)
		outcome = GRAPH_UNREACHABLE;
	else if (e->http_status >= 400 && e->http_status < 500)
		outcome = GRAPH_CLIENT_ERROR;
	else
		outcome = GRAPH_SERVER_ERROR;
	observer(outcome, mono_us() - start_us);
}

void
graph_url(char *out, size_t n, const char *path)
{
	size_t	bl = strlen(conf.graph_url);

	/* Tolerate a trailing slash in WA_GRAPH_URL and a leading one in path. */
	while (bl > 0 && conf.graph_url[bl - 1] == '/')
		bl--;
	while (*path == '/')
		path++;
	snprintf(out, n, "%.*s/%s/%s", (int)bl, conf.graph_url,
	    conf.graph_version, path);
}

static void
copy_str(struct json_object *o, const char *key, char *dst, size_t n)
{
	const char	*v = json_str(o, key);

	if (v != NULL)
		snprintf(dst, n, "%s", v);
}

void
graph_parse_error(const char *body, long http_status, struct graph_err *err)
{
	struct json_object	*root, *e, *data;
	const char		*details;
	int64_t			 v;

	memset(err, 0, sizeof(*err));
	err->http_status = http_status;
	if (body == NULL || (root = json_tokener_parse(body)) == NULL)
		return;
	if ((e = json_obj(root, "error")) != NULL) {
		if (json_int(e, "code", &v) == 0)
			err->code = (long)v;
		if (json_int(e, "error_subcode", &v) == 0)
			err->subcode = (long)v;
		copy_str(e, "type", err->type, sizeof(err->type));
		copy_str(e, "message", err->message, sizeof(err->message));
		copy_str(e, "fbtrace_id", err->fbtrace_id,
		    sizeof(err->fbtrace_id));
		/* details: an object's field, or (templates) a plain string */
		if ((data = json_obj(e, "error_data")) != NULL)
			copy_str(data, "details", err->details,
			    sizeof(err->details));
		else if ((details = json_str(e, "error_data")) != NULL)
			snprintf(err->details, sizeof(err->details), "%s",
			    details);
	}
	json_object_put(root);
}

/* Meta's transient codes (reference §5.2): worth one more try. */
static int
transient(const struct graph_err *e)
{
	static const long codes[] = { 1, 2, 131000, 131016, 131057, 133004 };
	size_t	i;

	if (e->unreachable || e->http_status >= 500)
		return 1;
	for (i = 0; i < nitems(codes); i++)
		if (e->code == codes[i])
			return 1;
	return 0;
}

static int
call_once(void *curl, const char *token, const char *method, const char *url,
    const char *body, struct json_object **out, struct graph_err *err)
{
	struct http_req	 req = { method, url, token,
	    body != NULL ? "application/json" : NULL, body,
	    body != NULL ? strlen(body) : 0, graph_timeout_ms(),
	    conf.graph_connect_timeout_ms };
	struct http_resp resp;
	uint64_t	 start_us = mono_us();
	int		 rc = -1;

	memset(err, 0, sizeof(*err));
	if (http_do(curl, &req, &resp) != 0) {
		err->timeout = resp.err == HTTP_ETIMEOUT;
		err->unreachable = resp.err == HTTP_ECONNECT;
		snprintf(err->message, sizeof(err->message), "%s",
		    err->timeout ? "Graph API did not answer in time" :
		    "Graph API unreachable");
		goto out;
	}
	if (resp.status >= 200 && resp.status < 300) {
		*out = json_tokener_parse(buf_str(&resp.body));
		if (*out != NULL) {
			rc = 0;
			goto out;
		}
		snprintf(err->message, sizeof(err->message),
		    "Graph API answered %ld with a body that is not JSON",
		    resp.status);
		err->http_status = 502;
		goto out;
	}
	graph_parse_error(buf_str(&resp.body), resp.status, err);
	err->retry_after = resp.retry_after;
	if (err->message[0] == '\0')
		snprintf(err->message, sizeof(err->message),
		    "Graph API answered HTTP %ld", resp.status);
out:
	http_resp_free(&resp);
	observe(rc, err, start_us);
	return rc;
}

int
graph_call(void *curl, const char *token, const char *method,
    const char *path, struct json_object *body, struct json_object **out,
    struct graph_err *err)
{
	char			 url[GRAPH_URL_MAX];
	const char		*text = NULL;
	struct timespec		 pause = { 0, GRAPH_RETRY_DELAY_MS * 1000000L };
	int			 rc;

	*out = NULL;
	graph_url(url, sizeof(url), path);
	if (body != NULL)
		text = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = call_once(curl, token, method, url, text, out, err);
	if (rc != 0 && !err->timeout && transient(err)) {
		log_info("graph: %s %s: transient error (code %ld, HTTP %ld), "
		    "retrying once", method, path, err->code, err->http_status);
		nanosleep(&pause, NULL);
		rc = call_once(curl, token, method, url, text, out, err);
	}
	return rc;
}

struct graph_status
graph_classify(const struct graph_err *e)
{
	struct graph_status	s = { 502, "graph_error", 0 };

	if (e->timeout)
		return (struct graph_status){ 504, "graph_timeout", 0 };
	if (e->unreachable)
		return (struct graph_status){ 502, "graph_unreachable", 0 };
	switch (e->code) {
	case 0:
		break;
	case 190:
		return (struct graph_status){ 502, "graph_auth", 0 };
	case 4:
	case 80007:
	case 130429:
	case 131056:
		return (struct graph_status){ 429, "rate_limited",
		    e->code == 131056 ? 6 : 1 };
	case 131047:
		return (struct graph_status){ 409, "outside_window", 0 };
	case 131026:
	case 133010:
		return (struct graph_status){ 422, "undeliverable", 0 };
	case 100:
	case 131008:
	case 131009:
	case 131053:
	case 131021:
		return (struct graph_status){ 422, "graph_invalid_parameter",
		    0 };
	default:
		if (e->http_status >= 400 && e->http_status < 500)
			return (struct graph_status){ 422, "graph_rejected",
			    0 };
	}
	return s;
}

const char *
graph_send_message(void *curl, const char *token, const char *pnid,
    struct json_object *payload, struct json_object **out,
    struct graph_err *err)
{
	struct json_object	*msgs;
	const char		*wamid = NULL;
	char			 path[96];

	snprintf(path, sizeof(path), "%s/messages", pnid);
	if (graph_call(curl, token, "POST", path, payload, out, err) != 0)
		return NULL;
	if ((msgs = json_arr(*out, "messages")) != NULL &&
	    json_object_array_length(msgs) > 0)
		wamid = json_str(json_object_array_get_idx(msgs, 0), "id");
	if (wamid == NULL) {
		memset(err, 0, sizeof(*err));
		err->http_status = 502;
		snprintf(err->message, sizeof(err->message), "Graph API "
		    "accepted the message without returning its id");
	}
	return wamid;
}
