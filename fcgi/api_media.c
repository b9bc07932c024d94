/* fcgi/api_media.c: GET and DELETE /api/v1/media/:id. A download is
 * streamed from Meta's short-lived URL to the client as it arrives, so
 * memory is a few fixed buffers per request whatever the file size;
 * uploads are in api_media_upload.c, the shared steps in media.c. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>

#include "db.h"
#include "graph.h"
#include "graph_media.h"
#include "handlers.h"
#include "media.h"
#include "req.h"
#include "worker.h"

static const struct db_stmt media_delete = { "api_media_delete",
	"DELETE FROM media WHERE tenant_id = $1 AND id = $2" };

/* --- GET /api/v1/media/:id ------------------------------------------------ */

struct dl {
	struct req			*r;
	const struct media_row		*m;
	const struct graph_media_info	*info;
};

/* The reply's head, once Meta's answer is known to be the file. */
static int
dl_head(void *arg, int64_t length, const char *ctype)
{
	struct dl		*d = arg;
	const struct media_type	*mt;
	const char		*mime;
	char			 name[MEDIA_FILENAME_KEEP + 8], base[128];
	char			 value[900];

	if ((mime = media_mime_header(d->info->mime_type)) == NULL &&
	    (mime = media_mime_header(d->m->mime)) == NULL &&
	    (mime = media_mime_header(ctype)) == NULL)
		mime = "application/octet-stream";
	media_filename_clean(d->m->filename, name, sizeof(name));
	if (*name == '\0') {
		media_mime_base(mime, base, sizeof(base));
		mt = media_type_of(base);
		snprintf(name, sizeof(name), "media-%s%s%s", d->m->wa_id,
		    mt != NULL ? "." : "", mt != NULL ? mt->ext : "");
	}
	media_disposition_value(name, value, sizeof(value));
	reply_header(d->r, "Content-Type: %s", mime);
	if (length >= 0)
		reply_header(d->r, "Content-Length: %" PRId64, length);
	reply_header(d->r, "Content-Disposition: %s", value);
	reply_empty(d->r, 200);
	return 0;
}

static int
dl_data(void *arg, const char *p, size_t n)
{
	struct dl	*d = arg;

	/* A failed write is the client gone: stop downloading. */
	return FCGX_PutStr(p, (int)n, ((FCGX_Request *)d->r->fcgi)->out) ==
	    (int)n ? 0 : -1;
}

static int
reply_gone(struct req *r)
{
	return reply_error(r, 410, "media_gone", "the media is no longer "
	    "available at WhatsApp (it expired or was deleted there): "
	    "upload it again");
}

/*
 * Resolves Meta's URL and streams the file. A 404 from the download URL
 * means it expired between the two calls (or Meta wants a fresh one):
 * resolve again once. Nothing of the URL is kept past this request.
 */
static int
media_stream(struct req *r, const struct media_creds *c,
    const struct media_row *m)
{
	struct graph_media_info	 info;
	struct graph_err	 ge;
	const struct graph_sink	 sink = { dl_head, dl_data, NULL };
	struct graph_sink	 s = sink;
	struct dl		 d = { r, m, &info };
	int			 attempt, rc = -1, started = 0;

	s.arg = &d;
	for (attempt = 0; attempt < 2; attempt++) {
		if (graph_media_info(r->w->curl, c->token, m->wa_id, &info,
		    &ge) != 0)
			return graph_media_gone(&ge) ? reply_gone(r) :
			    media_reply_graph(r, &ge, "media lookup");
		if (r->method == REQ_HEAD) {
			dl_head(&d, info.file_size, "");
			return 200;
		}
		rc = graph_media_download(r->w->curl, info.url, c->token, &s,
		    &started);
		if (rc != 404 && rc != 403 && rc != 410)
			break;
	}
	if (rc == 0)
		return 200;
	if (started) {
		/* Headers are out: all we can do is cut the body short,
		 * which the client sees against Content-Length. */
		rlog(r, LOG_WARN, "media: download of %s broke off", m->wa_id);
		return 200;
	}
	if (rc == 410)
		return reply_gone(r);
	rlog(r, LOG_WARN, "media: download of %s failed: %d", m->wa_id, rc);
	if (rc > 0)
		return reply_error(r, 502, "graph_download_failed",
		    "WhatsApp refused the download (HTTP %d)", rc);
	return reply_error(r, 502, "graph_download_failed",
	    "the download from WhatsApp failed");
}

/* The :id media of this tenant and the tenant's Graph credentials; 0, or
 * the status of the error reply sent. any_message: also an incoming
 * message's WhatsApp media id without a row of ours. */
static int
media_and_creds(struct req *r, int any_message, struct media_row *m,
    struct media_creds *c)
{
	switch (media_find(r, req_param(r, "id"), any_message, m)) {
	case -1:
		return reply_db_error(r);
	case 1:
		return reply_error(r, 404, "not_found", "no such media");
	}
	memset(c, 0, sizeof(*c));
	return media_creds_get(r, c);
}

int
api_media_get(struct req *r)
{
	struct media_row	m;
	struct media_creds	c;
	int			st;

	if ((st = media_and_creds(r, 1, &m, &c)) != 0)
		return st;
	st = media_stream(r, &c, &m);
	media_creds_wipe(&c);
	return st;
}

/* --- DELETE /api/v1/media/:id --------------------------------------------- */

int
api_media_delete(struct req *r)
{
	struct media_row	 m;
	struct media_creds	 c;
	struct graph_err	 ge;
	const char		*v[2];
	int			 st;

	if ((st = media_and_creds(r, 0, &m, &c)) != 0)
		return st;
	/* Already gone at Meta (expired, deleted elsewhere): only our
	 * record is left to delete. */
	if (graph_media_delete(r->w->curl, c.token, m.wa_id, &ge) != 0 &&
	    !graph_media_gone(&ge))
		st = media_reply_graph(r, &ge, "delete");
	else {
		v[0] = r->tenant_id;
		v[1] = m.id;
		st = db_exec(r->w->db, &media_delete, 2, v) != 0 ?
		    reply_db_error(r) : reply_empty(r, 204);
	}
	media_creds_wipe(&c);
	return st;
}
