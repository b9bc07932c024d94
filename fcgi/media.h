/* fcgi/media.h: what the media handlers share: Meta's type table, the
 * tenant's Graph credentials, the media row lookup, and the helpers that
 * make names and headers safe to store and send. */
#ifndef WA_MEDIA_H
#define WA_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "graph_media.h"
#include "util.h"

struct req;
struct graph_err;

#define MEDIA_FILENAME_KEEP	200		/* bytes of a stored name */

/* One of Meta's types and its limit (reference §4). */
struct media_type {
	const char	*mime;
	const char	*kind;
	uint64_t	 max;
	const char	*max_text;
	const char	*ext, *ext2;	/* for a part without a type */
};

/* The tenant's phone number id and access token; wipe after use. */
struct media_creds {
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

/* The table's entry for a base MIME type, or for a file name's
 * extension; NULL if WhatsApp does not take it. */
const struct media_type	*media_type_of(const char *mime);
const struct media_type	*media_type_by_ext(const char *filename);

/* 0, or the status of the error reply sent. */
int	media_creds_get(struct req *, struct media_creds *);
void	media_creds_wipe(struct media_creds *);

/* Our uuid, else the WhatsApp media id (of this tenant only); with
 * any_message, also an incoming message's media id. 0 found, 1 not,
 * -1 database error. */
int	media_find(struct req *, const char *key, int any_message,
	    struct media_row *);

/* Replies with Meta's error mapped to our status; returns it. */
int	media_reply_graph(struct req *, const struct graph_err *,
	    const char *what);

void	media_filename_clean(const char *in, char *out, size_t n);
void	media_disposition_value(const char *name, char *out, size_t n);
const char	*media_mime_header(const char *m);
void	media_mime_base(const char *in, char *out, size_t n);

#endif /* WA_MEDIA_H */
