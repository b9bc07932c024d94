/* fcgi/api_media.c: POST /api/v1/upload/media, GET and DELETE
 * /api/v1/media/:id. The bytes never stay with us: an upload is parsed
 * from the body nginx spooled to a file and sent on to Meta from a byte
 * range of that file; a download is streamed from Meta's short-lived URL
 * to the client as it arrives. Memory is a few fixed buffers per request
 * whatever the file size. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "db.h"
#include "graph.h"
#include "graph_media.h"
#include "handlers.h"
#include "json.h"
#include "multipart.h"
#include "req.h"
#include "worker.h"

#define MB			(1024u * 1024u)
#define KB			1024u
#define UPLOAD_BODY_MAX		(101ull * MB)	/* nginx's limit, too */
#define READ_CHUNK		(64u * KB)
#define FILENAME_KEEP		200		/* bytes of a stored name */
#define TYPE_FIELD_MAX		128

/* Meta's types and limits (reference §4); the kind follows from the type.
 * Stickers: 500 KB is the animated limit, static ones are capped at
 * 100 KB by Meta itself when sent. */
static const struct media_type {
	const char	*mime;
	const char	*kind;
	uint64_t	 max;
	const char	*max_text;
	const char	*ext, *ext2;	/* for a part without a type */
} media_types[] = {
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

static const struct db_stmt media_insert = { "api_media_insert",
	"INSERT INTO media (tenant_id, wa_media_id, kind, filename, mime_type,"
	" size, sha256, direction) VALUES ($1, $2, $3, $4, $5, $6, $7, 'out')"
	" RETURNING id" };

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

static const struct db_stmt media_delete = { "api_media_delete",
	"DELETE FROM media WHERE tenant_id = $1 AND id = $2" };

struct creds {
	char	pnid[64];
	char	token[1024];
};

struct media_row {
	char	id[UUID_LEN + 1];	/* "" for a messages-only match */
	char	wa_id[GRAPH_MEDIA_ID_MAX];
	char	mime[128];
	char	filename[1024];
	int64_t	size;			/* -1 unknown */
};

/* --- shared steps --------------------------------------------------------- */

/* 0, or the status of the error reply sent. */
static int
creds_get(struct req *r, struct creds *c)
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

static void
creds_wipe(struct creds *c)
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
static int
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

static int
reply_graph(struct req *r, const struct graph_err *e, const char *what)
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

static const struct media_type *
type_of(const char *mime)
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
 * FILENAME_KEEP bytes; "" when nothing is left. */
static void
filename_clean(const char *in, char *out, size_t n)
{
	const unsigned char	*s = (const unsigned char *)in;
	const char		*p;
	size_t			 k = 0, len;

	for (p = in; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			s = (const unsigned char *)p + 1;
	while (*s != '\0' && k + 5 < n && k < FILENAME_KEEP) {
		if ((len = utf8_len(s)) == 0 || *s < 0x20 || *s == 0x7f) {
			out[k++] = '_';
			s++;
			continue;
		}
		if (k + len > FILENAME_KEEP)
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
static void
disposition_value(const char *name, char *out, size_t n)
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
static const char *
mime_header(const char *m)
{
	size_t	n = m != NULL ? strlen(m) : 0;

	if (n == 0 || n > 127 || strchr(m, '/') == NULL ||
	    strspn(m, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$&^_.+-/;= \"") != n)
		return NULL;
	return m;
}

/* "Image/JPEG; q=1" -> "image/jpeg" */
static void
mime_base(const char *in, char *out, size_t n)
{
	size_t	k = 0;

	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in != '\0' && *in != ';' && *in != ' ' && k + 1 < n; in++)
		out[k++] = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	out[k] = '\0';
}

static const struct media_type *
type_by_ext(const char *filename)
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

/* --- POST /api/v1/upload/media -------------------------------------------- */

/* What the parse found. Only the file part's place in the body is kept:
 * its bytes are hashed and counted on the way, and sent on from there. */
struct upload {
	EVP_MD_CTX	*sha;
	int		 files;		/* parts named "file" */
	int		 cur;		/* 1: in the file part, 2: in "type" */
	uint64_t	 off, size;
	char		 filename[MULTIPART_FILENAME_MAX];
	char		 ctype[MULTIPART_CTYPE_MAX];
	char		 type_field[TYPE_FIELD_MAX];
	size_t		 type_len;
};

static int
up_begin(void *arg, const struct multipart_part *p)
{
	struct upload	*u = arg;

	u->cur = 0;
	if (strcmp(p->name, "file") == 0) {
		if (u->files++ > 0)
			return -1;	/* which one would the caller mean? */
		u->cur = 1;
		memcpy(u->filename, p->filename, sizeof(u->filename));
		memcpy(u->ctype, p->content_type, sizeof(u->ctype));
	} else if (strcmp(p->name, "type") == 0) {
		u->cur = 2;
		u->type_len = 0;
	}
	return 0;			/* other fields are ignored */
}

static int
up_data(void *arg, const char *d, size_t n, uint64_t off)
{
	struct upload	*u = arg;
	size_t		 room;

	if (u->cur == 1) {
		if (u->size == 0)
			u->off = off;
		u->size += n;
		return EVP_DigestUpdate(u->sha, d, n) == 1 ? 0 : -1;
	}
	if (u->cur == 2) {
		room = sizeof(u->type_field) - 1 - u->type_len;
		if (n > room)
			n = room;
		memcpy(u->type_field + u->type_len, d, n);
		u->type_len += n;
		u->type_field[u->type_len] = '\0';
	}
	return 0;
}

static int
up_end(void *arg, const struct multipart_part *p)
{
	struct upload	*u = arg;

	(void)p;
	u->cur = 0;
	return 0;
}

/* The body's fd: the file nginx spooled it to (WA_BODY_FILE, see the
 * nginx location), else the FastCGI stream copied to an unnamed temporary
 * file, so a deployment without that location still streams. -1 with
 * *st set to the status of the error reply sent. */
static int
body_open(struct req *r, int *st)
{
	const char	*path = req_env(r, "WA_BODY_FILE");
	const char	*cl = req_env(r, "CONTENT_LENGTH");
	char		 chunk[READ_CHUNK];
	int64_t		 len = 0, done = 0;
	int		 fd, got;

	if (path != NULL && *path != '\0') {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			rlog(r, LOG_ERR, "media: open body file: %s",
			    strerror(errno));
			*st = reply_error(r, 500, "internal", "internal error");
		}
		return fd;
	}
	if (cl == NULL || str_to_i64(cl, &len) != 0 || len < 0) {
		*st = reply_error(r, 400, "bad_request",
		    "Content-Length is required");
		return -1;
	}
	if ((uint64_t)len > UPLOAD_BODY_MAX) {
		*st = reply_error(r, 413, "payload_too_large",
		    "the body is over %llu bytes", UPLOAD_BODY_MAX);
		return -1;
	}
	if ((fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		rlog(r, LOG_ERR, "media: temporary file: %s", strerror(errno));
		*st = reply_error(r, 500, "internal", "internal error");
		return -1;
	}
	while (done < len) {
		got = FCGX_GetStr(chunk, len - done < (int64_t)sizeof(chunk) ?
		    (int)(len - done) : (int)sizeof(chunk),
		    ((FCGX_Request *)r->fcgi)->in);
		if (got <= 0 || write(fd, chunk, (size_t)got) != got) {
			close(fd);
			*st = reply_error(r, 400, "bad_request",
			    "the body could not be read");
			return -1;
		}
		done += got;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* 0, or the status of the error reply sent. */
static int
upload_parse(struct req *r, int fd, const char *boundary, struct upload *u)
{
	static const struct multipart_cb cb = { up_begin, up_data, up_end };
	struct multipart	 mp;
	char			 chunk[READ_CHUNK];
	ssize_t			 got;
	int			 bad = 0;

	multipart_init(&mp, boundary, &cb, u);
	for (;;) {
		if ((got = read(fd, chunk, sizeof(chunk))) < 0 &&
		    errno == EINTR)
			continue;
		if (got < 0) {
			rlog(r, LOG_ERR, "media: read body: %s",
			    strerror(errno));
			return reply_error(r, 500, "internal",
			    "internal error");
		}
		if (got == 0 || (bad = multipart_feed(&mp, chunk,
		    (size_t)got) != 0))
			break;
	}
	if (bad || multipart_finish(&mp) != 0) {
		if (u->files > 1)
			return reply_error(r, 400, "bad_request",
			    "more than one part named \"file\"");
		return reply_error(r, 400, "bad_request",
		    "malformed multipart body: %s", multipart_error(&mp));
	}
	return 0;
}

/* The type: the file part's Content-Type, else a "type" field, else the
 * file name's extension; then Meta's table decides. 0 or the status. */
static int
upload_check(struct req *r, struct upload *u, char *mime, size_t n,
    const struct media_type **mt)
{
	const char	*shown;

	if (u->files == 0)
		return reply_error(r, 422, "invalid_field",
		    "file: required (a multipart part named \"file\")");
	mime_base(u->ctype, mime, n);
	if (*mime == '\0' || strcmp(mime, "application/octet-stream") == 0)
		mime_base(u->type_field, mime, n);
	if ((*mt = type_of(mime)) == NULL && (*mime == '\0' ||
	    strcmp(mime, "application/octet-stream") == 0) &&
	    (*mt = type_by_ext(u->filename)) != NULL)
		snprintf(mime, n, "%s", (*mt)->mime);
	if (*mt == NULL) {
		shown = mime_header(mime) != NULL ? mime : "this type";
		return reply_error(r, 415, "unsupported_media_type",
		    "file: %s is not a media type WhatsApp accepts (images:"
		    " jpeg, png; video: mp4, 3gpp; audio: aac, amr, mpeg, mp4,"
		    " ogg; documents: txt, pdf, Office; stickers: webp)",
		    *mime != '\0' ? shown : "no type given:");
	}
	if (u->size == 0)
		return reply_error(r, 422, "invalid_field", "file: empty");
	if (u->size > (*mt)->max)
		return reply_error(r, 413, "payload_too_large",
		    "file: %" PRIu64 " bytes is over WhatsApp's %s limit for "
		    "%s (%s)", u->size, (*mt)->max_text, (*mt)->kind, mime);
	return 0;
}

static int
upload_record(struct req *r, const struct creds *c, const char *wa_id,
    const struct media_type *mt, const char *name, const char *mime,
    uint64_t size, const char *sha)
{
	struct json_object	*o;
	struct graph_err	 ge;
	struct db_res		*res;
	char			 sz[24];
	const char		*v[] = { r->tenant_id, wa_id, mt->kind,
	    *name != '\0' ? name : NULL, mime, sz, sha };

	snprintf(sz, sizeof(sz), "%" PRIu64, size);
	if ((res = db_query(r->w->db, &media_insert, 7, v)) == NULL ||
	    db_rows(res) != 1) {
		db_res_free(res);
		/* Unrecorded, the upload would sit at Meta for 30 days. */
		if (graph_media_delete(r->w->curl, c->token, wa_id, &ge) != 0)
			rlog(r, LOG_WARN, "media: orphan %s left at Meta",
			    wa_id);
		return reply_db_error(r);
	}
	o = json_object_new_object();
	json_add_str(o, "media_id", db_val(res, 0, 0));
	json_add_str(o, "filename", *name != '\0' ? name : NULL);
	json_add_str(o, "mime_type", mime);
	json_add_str(o, "kind", mt->kind);
	json_add_int(o, "size", (int64_t)size);
	json_add_str(o, "sha256", sha);
	db_res_free(res);
	return reply_ok(r, o);
}

static int
upload_send(struct req *r, struct upload *u, int fd, const char *mime,
    const struct media_type *mt)
{
	struct graph_upload	 up;
	struct graph_err	 ge;
	struct creds		 c;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 sha[65], name[FILENAME_KEEP + 8];
	char			 fallback[32], wa_id[GRAPH_MEDIA_ID_MAX];
	int			 st;

	if (EVP_DigestFinal_ex(u->sha, md, &mdlen) != 1 || mdlen != 32)
		return reply_error(r, 500, "internal", "internal error");
	for (i = 0; i < mdlen; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	filename_clean(u->filename, name, sizeof(name));
	snprintf(fallback, sizeof(fallback), "file.%s", mt->ext);
	memset(&c, 0, sizeof(c));
	if ((st = creds_get(r, &c)) != 0)
		return st;
	up = (struct graph_upload){ c.pnid, c.token, fd, u->off, u->size,
	    *name != '\0' ? name : fallback, mime };
	if (graph_media_upload(r->w->curl, &up, wa_id, sizeof(wa_id),
	    &ge) != 0)
		st = reply_graph(r, &ge, "upload");
	else
		st = upload_record(r, &c, wa_id, mt, name, mime, u->size, sha);
	creds_wipe(&c);
	return st;
}

/* nginx's auth_request for uploads: the route's AUTH_TENANT check, run
 * before nginx reads (and spools) a body of up to 101 MB, so strangers
 * cannot fill the disk. The upload itself checks again. */
int
api_media_upload_auth(struct req *r)
{
	return reply_empty(r, 204);
}

int
api_media_upload(struct req *r)
{
	const struct media_type	*mt = NULL;
	const char		*ct = req_env(r, "CONTENT_TYPE");
	struct upload		 u;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			 mime[MULTIPART_CTYPE_MAX];
	int			 fd = -1, st;

	if (multipart_boundary(ct, boundary, sizeof(boundary)) != 0)
		return ct != NULL && strncasecmp(ct, "multipart/form-data",
		    19) == 0 ? reply_error(r, 400, "bad_request",
		    "multipart/form-data without a usable boundary") :
		    reply_error(r, 415, "unsupported_media_type",
		    "Content-Type must be multipart/form-data");
	memset(&u, 0, sizeof(u));
	if ((u.sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(u.sha, EVP_sha256(), NULL) != 1) {
		st = reply_error(r, 500, "internal", "internal error");
		goto out;
	}
	if ((fd = body_open(r, &st)) < 0)
		goto out;
	if ((st = upload_parse(r, fd, boundary, &u)) != 0 ||
	    (st = upload_check(r, &u, mime, sizeof(mime), &mt)) != 0)
		goto out;
	st = upload_send(r, &u, fd, mime, mt);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(u.sha);
	return st;
}

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
	char			 name[FILENAME_KEEP + 8], base[128];
	char			 value[900];

	if ((mime = mime_header(d->info->mime_type)) == NULL &&
	    (mime = mime_header(d->m->mime)) == NULL &&
	    (mime = mime_header(ctype)) == NULL)
		mime = "application/octet-stream";
	filename_clean(d->m->filename, name, sizeof(name));
	if (*name == '\0') {
		mime_base(mime, base, sizeof(base));
		mt = type_of(base);
		snprintf(name, sizeof(name), "media-%s%s%s", d->m->wa_id,
		    mt != NULL ? "." : "", mt != NULL ? mt->ext : "");
	}
	disposition_value(name, value, sizeof(value));
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
media_stream(struct req *r, const struct creds *c, const struct media_row *m)
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
			    reply_graph(r, &ge, "media lookup");
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

int
api_media_get(struct req *r)
{
	struct media_row	m;
	struct creds		c;
	int			st;

	switch (media_find(r, req_param(r, "id"), 1, &m)) {
	case -1:
		return reply_db_error(r);
	case 1:
		return reply_error(r, 404, "not_found", "no such media");
	}
	memset(&c, 0, sizeof(c));
	if ((st = creds_get(r, &c)) != 0)
		return st;
	st = media_stream(r, &c, &m);
	creds_wipe(&c);
	return st;
}

/* --- DELETE /api/v1/media/:id --------------------------------------------- */

int
api_media_delete(struct req *r)
{
	struct media_row	 m;
	struct creds		 c;
	struct graph_err	 ge;
	const char		*v[2];
	int			 st;

	switch (media_find(r, req_param(r, "id"), 0, &m)) {
	case -1:
		return reply_db_error(r);
	case 1:
		return reply_error(r, 404, "not_found", "no such media");
	}
	memset(&c, 0, sizeof(c));
	if ((st = creds_get(r, &c)) != 0)
		return st;
	/* Already gone at Meta (expired, deleted elsewhere): only our
	 * record is left to delete. */
	if (graph_media_delete(r->w->curl, c.token, m.wa_id, &ge) != 0 &&
	    !graph_media_gone(&ge))
		st = reply_graph(r, &ge, "delete");
	else {
		v[0] = r->tenant_id;
		v[1] = m.id;
		st = db_exec(r->w->db, &media_delete, 2, v) != 0 ?
		    reply_db_error(r) : reply_empty(r, 204);
	}
	creds_wipe(&c);
	return st;
}
