/* shared/graph_media.h: the Graph API's media calls. Upload and download
 * move the bytes in fixed-size pieces over the worker's reused CURL handle
 * (never a whole file in memory); the JSON ones go through graph_call. */
#ifndef WA_GRAPH_MEDIA_H
#define WA_GRAPH_MEDIA_H

#include <stddef.h>
#include <stdint.h>

struct graph_err;

#define GRAPH_MEDIA_ID_MAX	128

/* What to upload: size bytes of fd from offset (a spooled request body). */
struct graph_upload {
	const char	*pnid;		/* the tenant's phone-number id */
	const char	*token;
	int		 fd;
	uint64_t	 offset;
	uint64_t	 size;
	const char	*filename;
	const char	*mime;
};

/* GET /{media-id}: Meta's short-lived download URL (5 minutes: use it at
 * once, never store it) and what Meta knows of the file. */
struct graph_media_info {
	char	url[2048];
	char	mime_type[128];
	char	sha256[130];
	int64_t	file_size;		/* -1 when Meta did not say */
};

/* Receives a download: head() once before any byte (status 2xx, the
 * length or -1, Meta's Content-Type or ""), then data(); either returns
 * non-zero to abort (say, the client went away). */
struct graph_sink {
	int	(*head)(void *arg, int64_t length, const char *ctype);
	int	(*data)(void *arg, const char *p, size_t n);
	void	*arg;
};

/* POST /{pnid}/media, multipart: file, type, messaging_product. Blocks
 * until Meta answers. 0 with Meta's id in id; -1 with *err filled. */
int	graph_media_upload(void *curl, const struct graph_upload *, char *id,
	    size_t idn, struct graph_err *err);

/* 0, or -1 with *err (code 100 at HTTP 400/404: no such media, i.e. it
 * expired or was deleted: see graph_media_gone()). */
int	graph_media_info(void *curl, const char *token, const char *media_id,
	    struct graph_media_info *, struct graph_err *err);

/* DELETE /{media-id}; 0 or -1 with *err. */
int	graph_media_delete(void *curl, const char *token, const char *media_id,
	    struct graph_err *err);

/* Whether err says the media does not exist (any more) at Meta. */
int	graph_media_gone(const struct graph_err *);

/*
 * GET url with the token, streaming a 2xx body into sink. Returns 0 when
 * the whole body arrived; the HTTP status (> 0) of a non-2xx answer, whose
 * body is dropped and sink never called; -1 on a transport failure or an
 * abort, with *started telling whether sink->head() already ran (then the
 * caller's reply is under way and cannot become an error).
 */
int	graph_media_download(void *curl, const char *url, const char *token,
	    const struct graph_sink *sink, int *started);

#endif /* WA_GRAPH_MEDIA_H */
