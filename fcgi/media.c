/* fcgi/media.c: the steps the media handlers share: Meta's type table,
 * the tenant's credentials, the media row lookup, Graph errors, and file
 * names and MIME types made safe to store and to put in a header. */
#include "media.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "graph.h"
#include "req.h"
#include "worker.h"

#define MB			(1024u * 1024u)
#define KB			1024u

/* Meta's types and limits (reference §4); the kind follows from the type.
 * Stickers: 500 KB is the animated limit, static ones are capped at
 * 100 KB by Meta itself when sent. */
static const struct media_type media_types[] = {
	{ "image/jpeg", "image", 5 * MB, "5 MB", "jpg", "jpeg" },
	{ "image/png", "image", 5 * MB, "5 MB", "png", NULL },
	{ "video/mp4", "video", 16 * MB, "16 MB", "mp4", NULL },
	{ "video/3gpp", "video", 16 * MB, "16 MB", "3gp", "3gpp" },
	{ "audio/aac", "audio", 16 * MB, "16 MB", "aac", NULL },
	{ "audio/amr", "audio", 16 * MB, "16 MB", "amr", NULL },
	{ "audio/mpeg", "audio", 16 * MB, "16 MB", "mp3", NULL },
	{ "audio/mp4", "audio", 16 * MB, "16 MB", "m4a", NULL },
	{ "audio/ogg", "audio", 16 * MB, "16 MB", "ogg", "opus" },
	{ "text/plain", "document", 100 * MB, "100 MB", "txt", NULL },
	{ "application/pdf", "document", 100 * MB, "100 MB", "pdf", NULL },
	{ "application/msword", "document", 100 * MB, "100 MB", "doc", NULL },
	{ "application/vnd.openxmlformats-officedocument.wordprocessingml."
	    "document", "document", 100 * MB, "100 MB", "docx", NULL },
	{ "application/vnd.ms-excel", "document", 100 * MB, "100 MB", "xls",
	    NULL },
	{ "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	    "document", 100 * MB, "100 MB", "xlsx", NULL },
	{ "application/vnd.ms-powerpoint", "document", 100 * MB, "100 MB",
	    "ppt", NULL },
	{ "application/vnd.openxmlformats-officedocument.presentationml."
	    "presentation", "document", 100 * MB, "100 MB", "pptx", NULL },
	{ "image/webp", "sticker", 500 * KB, "500 KB", "webp", NULL },
};

static const struct db_stmt tenant_creds = { "api_media_tenant",
	"SELECT phone_number_id, access_token FROM tenants WHERE id = $1" };

#define MEDIA_COLS	"id, wa_media_id, mime_type, filename, size"
static const struct db_stmt media_by_id = { "api_media_by_id",
	"SELECT " MEDIA_COLS " FROM media WHERE tenant_id = $1 AND id = $2" };
static const struct db_stmt media_by_wa = { "api_media_by_wa",
	"SELECT " MEDIA_COLS " FROM media"
	" WHERE tenant_id = $1 AND wa_media_id = $2" };
/* An incoming message's media whose row the webhook did not write. */
static const struct db_stmt media_by_msg = { "api_media_by_msg",
	"SELECT NULL, media_id, media_mime, media_filename, NULL FROM messages"
	" WHERE tenant_id = $1 AND media_id = $2 AND direction = 'in'"
	" ORDER BY id DESC LIMIT 1" };

/* --- shared steps --------------------------------------------------------- */

/* 0, or the status of the error reply sent. */
int
media_creds_get(struct req *r, struct media_creds *c)
{
	const char	*v[] = { r->tenant_id };
	struct db_res	*res;
	int		 rc = 0;

	if ((res = db_query(r->w->db, &tenant_creds, 1, v)) == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1 || db_val(res, 0, 0) == NULL ||
	    db_val(res, 0, 1) == NULL)
		rc = reply_error(r, 404, "not_found", "no such tenant");
	else {
		snprintf(c->pnid, sizeof(c->pnid), "%s", db_val(res, 0, 0));
		snprintf(c->token, sizeof(c->token), "%s", db_val(res, 0, 1));
	}
	db_res_free(res);
	return rc;
}

void
media_creds_wipe(struct media_creds *c)
{
	explicit_bzero(c->token, sizeof(c->token));
}

/* Meta's media ids are digits; anything else must not reach a Graph path
 * (a decoded '?' or '#' would rewrite the request). */
static int
wa_id_valid(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n < GRAPH_MEDIA_ID_MAX &&
	    strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") == n && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0;
}

static int
row_fill(struct db_res *res, struct media_row *m)
{
	const char	*v;
	int64_t		 n;

	memset(m, 0, sizeof(*m));
	m->size = -1;
	if (db_rows(res) != 1 || (v = db_val(res, 0, 1)) == NULL ||
	    !wa_id_valid(v))
		return -1;
	snprintf(m->wa_id, sizeof(m->wa_id), "%s", v);
	if ((v = db_val(res, 0, 0)) != NULL)
		snprintf(m->id, sizeof(m->id), "%s", v);
	if ((v = db_val(res, 0, 2)) != NULL)
		snprintf(m->mime, sizeof(m->mime), "%s", v);
	if ((v = db_val(res, 0, 3)) != NULL)
		snprintf(m->filename, sizeof(m->filename), "%s", v);
	if ((v = db_val(res, 0, 4)) != NULL && str_to_i64(v, &n) == 0)
		m->size = n;
	return 0;
}

/* Our uuid, else the WhatsApp media id (of this tenant only); with
 * any_message, also an incoming message's media id. 0 found, 1 not,
 * -1 database error. */
int
media_find(struct req *r, const char *key, int any_message,
    struct media_row *m)
{
	const struct db_stmt	*order[3];
	const char		*v[] = { r->tenant_id, key };
	struct db_res		*res;
	size_t			 i, n = 0;
	int			 found;

	if (uuid_valid(key))
		order[n++] = &media_by_id;
	else if (wa_id_valid(key)) {
		order[n++] = &media_by_wa;
		if (any_message)
			order[n++] = &media_by_msg;
	}
	for (i = 0; i < n; i++) {
		if ((res = db_query(r->w->db, order[i], 2, v)) == NULL)
			return -1;
		found = row_fill(res, m) == 0;
		db_res_free(res);
		if (found)
			return 0;
	}
	return 1;
}

int
media_reply_graph(struct req *r, const struct graph_err *e, const char *what)
{
	struct graph_status	s = graph_classify(e);

	if (s.retry_after > 0)
		reply_header(r, "Retry-After: %d", s.retry_after);
	rlog(r, LOG_WARN, "media: %s: graph code=%ld http=%ld", what, e->code,
	    e->http_status);
	return reply_error(r, s.status, s.code, "WhatsApp: %s: %s", what,
	    e->message[0] != '\0' ? e->message : "failed");
}

static int
isalnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

const struct media_type *
media_type_of(const char *mime)
{
	size_t	i;

	for (i = 0; i < nitems(media_types); i++)
		if (strcmp(media_types[i].mime, mime) == 0)
			return &media_types[i];
	return NULL;
}

/* --- names and headers ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or
 * code points past U+10FFFF), else 0. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[0] == 0xe0 && s[1] < 0xa0) ||
		    (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
		    (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* What we store and show: the last path component (old browsers send
 * "C:\fakepath\x.pdf"), valid UTF-8 without control characters, at most
 * MEDIA_FILENAME_KEEP bytes; "" when nothing is left. */
void
media_filename_clean(const char *in, char *out, size_t n)
{
	const unsigned char	*s = (const unsigned char *)in;
	const char		*p;
	size_t			 k = 0, len;

	for (p = in; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			s = (const unsigned char *)p + 1;
	while (*s != '\0' && k + 5 < n && k < MEDIA_FILENAME_KEEP) {
		if ((len = utf8_len(s)) == 0 || *s < 0x20 || *s == 0x7f) {
			out[k++] = '_';
			s++;
			continue;
		}
		if (k + len > MEDIA_FILENAME_KEEP)
			break;
		memcpy(out + k, s, len);
		k += len;
		s += len;
	}
	out[k] = '\0';
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		out[0] = '\0';
}

/* attachment; filename="ascii fallback"; filename*=UTF-8''pct-encoded
 * (RFC 6266): quotes, backslashes and non-ASCII never reach the quoted
 * form, so no name can break out of the header. */
void
media_disposition_value(const char *name, char *out, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s;
	size_t			 k, len, i;

	k = (size_t)snprintf(out, n, "attachment; filename=\"");
	for (s = (const unsigned char *)name; *s != '\0' && k < 120; s++) {
		if (*s >= 0x80 && *s < 0xc0)
			continue;	/* one '_' per character, not byte */
		out[k++] = *s < 0x20 || *s >= 0x7f || *s == '"' ||
		    *s == '\\' ? '_' : (char)*s;
	}
	k += (size_t)snprintf(out + k, n - k, "\"; filename*=UTF-8''");
	for (s = (const unsigned char *)name; *s != '\0'; s += len) {
		if ((len = utf8_len(s)) == 0)
			break;
		if (k + 3 * len + 1 >= n)
			break;
		for (i = 0; i < len; i++) {
			if (isalnum_ascii(s[i]) || strchr("!#$&+-.^_`|~", s[i]))
				out[k++] = (char)s[i];
			else {
				out[k++] = '%';
				out[k++] = hex[s[i] >> 4];
				out[k++] = hex[s[i] & 15];
			}
		}
	}
	out[k] = '\0';
}

/* A MIME type fit for a response header, else NULL. */
const char *
media_mime_header(const char *m)
{
	size_t	n = m != NULL ? strlen(m) : 0;

	if (n == 0 || n > 127 || strchr(m, '/') == NULL ||
	    strspn(m, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$&^_.+-/;= \"") != n)
		return NULL;
	return m;
}

/* "Image/JPEG; q=1" -> "image/jpeg" */
void
media_mime_base(const char *in, char *out, size_t n)
{
	size_t	k = 0;

	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in != '\0' && *in != ';' && *in != ' ' && k + 1 < n; in++)
		out[k++] = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	out[k] = '\0';
}

const struct media_type *
media_type_by_ext(const char *filename)
{
	const char	*dot = strrchr(filename, '.');
	size_t		 i;

	if (dot == NULL || dot[1] == '\0')
		return NULL;
	for (i = 0; i < nitems(media_types); i++)
		if (strcasecmp(dot + 1, media_types[i].ext) == 0 ||
		    (media_types[i].ext2 != NULL &&
		    strcasecmp(dot + 1, media_types[i].ext2) == 0))
			return &media_types[i];
	return NULL;
}
