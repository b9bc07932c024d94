/* shared/multipart.h: a streaming multipart/form-data parser (RFC 7578,
 * RFC 2046 delimiters). Feed it the body in chunks of any size; it reports
 * each part's headers, then the part's data as ranges of the input with
 * their offsets, so a caller can hash, count or re-read a file part from
 * where the body lies (a spooled file) without ever holding it. It never
 * allocates: the whole state is the struct below. */
#ifndef WA_MULTIPART_H
#define WA_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX	200	/* RFC 2046 says 70; be lenient */
#define MULTIPART_HEADER_MAX	8192	/* one part's header block */
#define MULTIPART_NAME_MAX	256
#define MULTIPART_FILENAME_MAX	1024	/* decoded, UTF-8 */
#define MULTIPART_CTYPE_MAX	256

struct multipart_part {
	int	 index;				/* 0, 1, ... */
	char	 name[MULTIPART_NAME_MAX];
	int	 has_filename;			/* a file part */
	/* filename* (RFC 5987, UTF-8 or ISO-8859-1) wins over filename;
	 * quoted-string escapes are undone; never contains a NUL. */
	char	 filename[MULTIPART_FILENAME_MAX];
	char	 content_type[MULTIPART_CTYPE_MAX];	/* raw, trimmed; "" */
};

/* Each returns 0 to go on, anything else to stop the parse (then
 * multipart_feed returns -1 and multipart_error says "stopped"). */
struct multipart_cb {
	int	(*part_begin)(void *arg, const struct multipart_part *);
	/* [p, p+n) are the part's bytes found at offset off of the input;
	 * successive calls for one part cover one contiguous range. */
	int	(*part_data)(void *arg, const char *p, size_t n, uint64_t off);
	int	(*part_end)(void *arg, const struct multipart_part *);
};

struct multipart {
	const struct multipart_cb *cb;
	void		*arg;
	int		 state;
	const char	*err;			/* static text, NULL when fine */
	char		 delim[4 + MULTIPART_BOUNDARY_MAX + 1];	/* CRLF--b */
	uint16_t	 fail[4 + MULTIPART_BOUNDARY_MAX + 1];
	size_t		 dlen;
	size_t		 k;			/* delimiter bytes matched */
	uint64_t	 pos;			/* input bytes consumed */
	uint64_t	 emitted;		/* data reported (or skipped) up to */
	size_t		 hlen;
	char		 hdr[MULTIPART_HEADER_MAX];
	struct multipart_part part;
	int		 nparts;
};

/* The boundary of a "multipart/form-data; boundary=..." Content-Type
 * (token or quoted-string); 0, or -1 when the type is something else or
 * the boundary is missing, empty, too long or has control characters. */
int	multipart_boundary(const char *content_type, char *out, size_t n);

void	multipart_init(struct multipart *, const char *boundary,
	    const struct multipart_cb *, void *arg);
/* 0, or -1 once the input is malformed (or a callback stopped it); after
 * an error every further call returns -1. */
int	multipart_feed(struct multipart *, const char *p, size_t n);
/* At the end of the input: 0 when the close delimiter was seen. */
int	multipart_finish(struct multipart *);
const char *multipart_error(const struct multipart *);

#endif /* WA_MULTIPART_H */
