/* shared/graph_media.c: media at the Graph API. The upload reads its file
 * part with pread() from a byte range of the spooled request body, and the
 * download hands each piece libcurl receives straight to a sink: memory
 * stays at libcurl's buffers whatever the file size. */
#include "graph_media.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "graph.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define REPLY_MAX		(64u << 10)	/* Meta's JSON answers */
#define LOW_SPEED_BYTES		1L		/* stalled when below this... */
#define LOW_SPEED_SECONDS	30L		/* ...for this long */
#define TRANSFER_MAX_MS		(30L * 60 * 1000)
/* Under nginx's fastcgi_read_timeout (600 s) for the upload location, so
 * a client hears our 504 rather than nginx's while we still work. */
#define UPLOAD_MAX_MS		(540L * 1000)

struct range {
	int		 fd;
	uint64_t	 offset, size, pos;
};

static size_t
range_read(char *out, size_t sz, size_t nitems, void *arg)
{
	struct range	*r = arg;
	size_t		 want = sz * nitems;
	ssize_t		 got;

	if (want > r->size - r->pos)
		want = (size_t)(r->size - r->pos);
	if (want == 0)
		return 0;
	do
		got = pread(r->fd, out, want, (off_t)(r->offset + r->pos));
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		log_err("graph_media: reading the upload: %s",
		    got < 0 ? strerror(errno) : "file shorter than expected");
		return CURL_READFUNC_ABORT;
	}
	r->pos += (uint64_t)got;
	return (size_t)got;
}

/* libcurl rewinds when it must send the body again (a redirect, a
 * retried connection). */
static int
range_seek(void *arg, curl_off_t off, int origin)
{
	struct range	*r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->size)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
reply_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (b->len + sz * n > REPLY_MAX || buf_append(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

static struct curl_slist *
auth_headers(const char *token)
{
	struct curl_slist	*h = NULL;
	struct buf		 line = BUF_INIT;

	buf_appendf(&line, "Authorization: Bearer %s", token);
	h = curl_slist_append(h, line.data);
	h = curl_slist_append(h, "Expect:");	/* no 100-continue wait */
	explicit_bzero(line.data, line.len);
	buf_free(&line);
	return h;
}

/* Options every media transfer shares: no signals (threads), our
 * User-Agent, stall detection instead of a total timeout that a big file
 * on a slow link would hit, http(s) only. */
static void
common_opts(CURL *curl, const char *url, struct curl_slist *h)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    conf.graph_connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TRANSFER_MAX_MS);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
}

static void
transport_err(CURLcode cc, struct graph_err *err)
{
	memset(err, 0, sizeof(*err));
	err->timeout = cc == CURLE_OPERATION_TIMEDOUT;
	err->unreachable = !err->timeout;
	snprintf(err->message, sizeof(err->message), "%s",
	    err->timeout ? "Graph API did not answer in time" :
	    "Graph API unreachable");
}

static int
upload_answer(CURL *curl, const struct buf *body, char *id, size_t idn,
    struct graph_err *err)
{
	struct json_object	*o;
	const char		*v;
	long			 status = 0;
	int			 rc = -1;

	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		graph_parse_error(buf_str(body), status, err);
		if (err->message[0] == '\0')
			snprintf(err->message, sizeof(err->message),
			    "Graph API answered HTTP %ld", status);
		return -1;
	}
	memset(err, 0, sizeof(*err));
	if ((o = json_tokener_parse(buf_str(body))) != NULL &&
	    (v = json_str(o, "id")) != NULL && *v != '\0' && strlen(v) < idn) {
		memcpy(id, v, strlen(v) + 1);
		rc = 0;
	} else {
		err->http_status = 502;
		snprintf(err->message, sizeof(err->message),
		    "Graph API answered the upload without a media id");
	}
	json_object_put(o);
	return rc;
}

int
graph_media_upload(void *handle, const struct graph_upload *up, char *id,
    size_t idn, struct graph_err *err)
{
	CURL			*curl = handle;
	struct curl_slist	*h;
	curl_mime		*mime;
	curl_mimepart		*part;
	struct range		 rg = { up->fd, up->offset, up->size, 0 };
	struct buf		 body = BUF_INIT;
	char			 url[GRAPH_URL_MAX], path[256];
	CURLcode		 cc;
	int			 rc = -1;

	snprintf(path, sizeof(path), "%s/media", up->pnid);
	graph_url(url, sizeof(url), path);
	curl_easy_reset(curl);
	h = auth_headers(up->token);
	mime = curl_mime_init(curl);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "messaging_product");
	curl_mime_data(part, "whatsapp", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "type");
	curl_mime_data(part, up->mime, CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_filename(part, up->filename);
	curl_mime_type(part, up->mime);
	curl_mime_data_cb(part, (curl_off_t)up->size, range_read, range_seek,
	    NULL, &rg);
	common_opts(curl, url, h);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, UPLOAD_MAX_MS);
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
		log_warn("graph_media: upload to %s: %s", path,
		    curl_easy_strerror(cc));
		transport_err(cc, err);
	} else
		rc = upload_answer(curl, &body, id, idn, err);
	curl_easy_reset(curl);	/* drops its pointers to mime and h */
	curl_mime_free(mime);
	curl_slist_free_all(h);
	buf_free(&body);
	return rc;
}

int
graph_media_info(void *curl, const char *token, const char *media_id,
    struct graph_media_info *info, struct graph_err *err)
{
	struct json_object	*o = NULL;
	const char		*v;
	int64_t			 n;
	int			 rc = -1;

	memset(info, 0, sizeof(*info));
	info->file_size = -1;
	if (graph_call(curl, token, "GET", media_id, NULL, &o, err) != 0)
		return -1;
	if ((v = json_str(o, "url")) == NULL || strlen(v) >= sizeof(info->url)
	    || (strncmp(v, "https://", 8) != 0 &&
	    strncmp(v, "http://", 7) != 0)) {
		memset(err, 0, sizeof(*err));
		err->http_status = 502;
		snprintf(err->message, sizeof(err->message),
		    "Graph API gave no usable download URL");
		goto out;
	}
	snprintf(info->url, sizeof(info->url), "%s", v);
	if ((v = json_str(o, "mime_type")) != NULL)
		snprintf(info->mime_type, sizeof(info->mime_type), "%s", v);
	if ((v = json_str(o, "sha256")) != NULL)
		snprintf(info->sha256, sizeof(info->sha256), "%s", v);
	/* Meta's docs quote file_size as a string, its answers are numbers. */
	if (json_int(o, "file_size", &n) == 0 ||
	    ((v = json_str(o, "file_size")) != NULL && str_to_i64(v, &n) == 0))
		info->file_size = n >= 0 ? n : -1;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int
graph_media_delete(void *curl, const char *token, const char *media_id,
    struct graph_err *err)
{
	struct json_object	*o = NULL;
	int			 rc;

	rc = graph_call(curl, token, "DELETE", media_id, NULL, &o, err);
	json_object_put(o);
	return rc;
}

int
graph_media_gone(const struct graph_err *e)
{
	/* 100/33: "Object with ID ... does not exist"; what Meta says for an
	 * id past its retention, deleted, or never there. */
	return e->code == 100 && (e->subcode == 33 || e->http_status == 404);
}

struct dl {
	const struct graph_sink	*sink;
	long			 status;
	int64_t			 length;
	char			 ctype[128];
	int			 started;
};

/* Each response's headers (redirects give several): its status line
 * resets what we know. */
static size_t
dl_header(char *p, size_t sz, size_t n, void *arg)
{
	struct dl	*d = arg;
	size_t		 len = sz * n, vl;
	const char	*v;
	int64_t		 cl;
	char		 num[24];

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		v = memchr(p, ' ', len);
		d->status = v != NULL ? strtol(v + 1, NULL, 10) : 0;
		d->length = -1;
		d->ctype[0] = '\0';
		return len;
	}
	if ((v = memchr(p, ':', len)) == NULL)
		return len;
	vl = len - (size_t)(v + 1 - p);
	for (v++; vl > 0 && (*v == ' ' || *v == '\t'); v++, vl--)
		;
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
	    v[vl - 1] == ' '))
		vl--;
	if (len > 15 && strncasecmp(p, "Content-Length:", 15) == 0 &&
	    vl < sizeof(num)) {
		memcpy(num, v, vl);
		num[vl] = '\0';
		if (str_to_i64(num, &cl) == 0 && cl >= 0)
			d->length = cl;
	} else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0 &&
	    vl < sizeof(d->ctype)) {
		memcpy(d->ctype, v, vl);
		d->ctype[vl] = '\0';
	}
	return len;
}

static int
dl_start(struct dl *d)
{
	if (d->started)
		return 0;
	d->started = 1;
	return d->sink->head(d->sink->arg, d->length, d->ctype);
}

static size_t
dl_body(char *p, size_t sz, size_t n, void *arg)
{
	struct dl	*d = arg;

	if (d->status < 200 || d->status >= 300)
		return sz * n;		/* an error page: not the client's */
	if (dl_start(d) != 0 || d->sink->data(d->sink->arg, p, sz * n) != 0)
		return 0;		/* aborts: CURLE_WRITE_ERROR */
	return sz * n;
}

int
graph_media_download(void *handle, const char *url, const char *token,
    const struct graph_sink *sink, int *started)
{
	CURL			*curl = handle;
	struct curl_slist	*h;
	struct dl		 d = { sink, 0, -1, "", 0 };
	CURLcode		 cc;
	int			 rc;

	curl_easy_reset(curl);
	h = auth_headers(token);
	common_opts(curl, url, h);
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	/* The CDN may redirect; libcurl keeps our Authorization header for
	 * the original host only. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, dl_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &d);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, dl_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
	cc = curl_easy_perform(curl);
	curl_easy_reset(curl);
	curl_slist_free_all(h);
	if (cc == CURLE_OK && d.status >= 200 && d.status < 300)
		rc = dl_start(&d) == 0 ? 0 : -1;	/* an empty file */
	else if (cc == CURLE_OK)
		rc = d.status > 0 ? (int)d.status : -1;
	else {
		/* The URL is not logged: its query is a credential. */
		log_warn("graph_media: download: %s", curl_easy_strerror(cc));
		rc = -1;
	}
	*started = d.started;
	return rc;
}
