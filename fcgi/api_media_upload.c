/* fcgi/api_media_upload.c: POST /api/v1/upload/media and nginx's auth
 * subrequest for it. The bytes never stay with us: the upload is parsed
 * from the body nginx spooled to a file and sent on to Meta from a byte
 * range of that file, so memory is a few fixed buffers per request
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
#include "media.h"
#include "multipart.h"
#include "req.h"
#include "worker.h"

#define MB			(1024u * 1024u)
#define KB			1024u
#define UPLOAD_BODY_MAX		(101ull * MB)	/* nginx's limit, too */
#define READ_CHUNK		(64u * KB)
#define TYPE_FIELD_MAX		128

static const struct db_stmt media_insert = { "api_media_insert",
	"INSERT INTO media (tenant_id, wa_media_id, kind, filename, mime_type,"
	" size, sha256, direction) VALUES ($1, $2, $3, $4, $5, $6, $7, 'out')"
	" RETURNING id" };

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
	media_mime_base(u->ctype, mime, n);
	if (*mime == '\0' || strcmp(mime, "application/octet-stream") == 0)
		media_mime_base(u->type_field, mime, n);
	if ((*mt = media_type_of(mime)) == NULL && (*mime == '\0' ||
	    strcmp(mime, "application/octet-stream") == 0) &&
	    (*mt = media_type_by_ext(u->filename)) != NULL)
		snprintf(mime, n, "%s", (*mt)->mime);
	if (*mt == NULL) {
		shown = media_mime_header(mime) != NULL ? mime : "this type";
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
upload_record(struct req *r, const struct media_creds *c, const char *wa_id,
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
	struct media_creds		 c;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 sha[65], name[MEDIA_FILENAME_KEEP + 8];
	char			 fallback[32], wa_id[GRAPH_MEDIA_ID_MAX];
	int			 st;

	if (EVP_DigestFinal_ex(u->sha, md, &mdlen) != 1 || mdlen != 32)
		return reply_error(r, 500, "internal", "internal error");
	for (i = 0; i < mdlen; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	media_filename_clean(u->filename, name, sizeof(name));
	snprintf(fallback, sizeof(fallback), "file.%s", mt->ext);
	memset(&c, 0, sizeof(c));
	if ((st = media_creds_get(r, &c)) != 0)
		return st;
	up = (struct graph_upload){ c.pnid, c.token, fd, u->off, u->size,
	    *name != '\0' ? name : fallback, mime };
	if (graph_media_upload(r->w->curl, &up, wa_id, sizeof(wa_id),
	    &ge) != 0)
		st = media_reply_graph(r, &ge, "upload");
	else
		st = upload_record(r, &c, wa_id, mt, name, mime, u->size, sha);
	media_creds_wipe(&c);
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
