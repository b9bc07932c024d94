/* pushd/relay_reply.c: the HTTP/1.x answer nginx's publisher location
 * sends, bounded by its length: a status line, headers, then a body of
 * Content-Length bytes, in chunks, or until close. Only what nginx sends
 * is understood (no chunk extensions or trailers); anything else is
 * refused, never guessed at. */
#include "relay_reply.h"

#include <string.h>
#include <strings.h>

#include "util.h"

#define REPLY_CLEN_DIGITS	9	/* nothing we read is near 1 GB */
#define REPLY_CHUNK_DIGITS	6	/* nor a 16 MB chunk */

static int
refuse(struct relay_reply *r, const char *why)
{
	r->err = why;
	return -1;
}

/* 1 when [p, end) starts with CRLF, 0 when too short to tell, -1 if not. */
static int
crlf(const char *p, const char *end)
{
	if (p < end && *p != '\r')
		return -1;
	if (end - p < 2)
		return 0;
	return p[1] == '\n' ? 1 : -1;
}

/* The value of header name in [h, end), lines ending in CRLF, without its
 * leading blanks; its length in *vn. NULL when absent. */
static const char *
header(const char *h, const char *end, const char *name, size_t *vn)
{
	const char	*eol, *v;
	size_t		 nl = strlen(name);

	for (; h < end; h = eol + 2) {
		if ((eol = memmem(h, (size_t)(end - h), "\r\n", 2)) == NULL)
			break;
		if ((size_t)(eol - h) <= nl || h[nl] != ':' ||
		    strncasecmp(h, name, nl) != 0)
			continue;
		for (v = h + nl + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		*vn = (size_t)(eol - v);
		return v;
	}
	return NULL;
}

/* Whether the chunked body [p, end) is complete: 1 (*stop is just past
 * it), 0 (more to read), -1 (malformed). Each chunk is hex digits, CRLF,
 * data, CRLF; the last is "0" CRLF CRLF. */
static int
chunks_done(const char *p, const char *end, const char **stop)
{
	size_t	n;
	int	digits, c = 0;

	for (;;) {
		for (n = 0, digits = 0; p < end && (c = hex_digit(*p)) >= 0;
		    p++) {
			if (++digits > REPLY_CHUNK_DIGITS)
				return -1;
			n = n << 4 | (size_t)c;
		}
		if (p == end)
			return 0;
		if (digits == 0)
			return -1;
		if ((c = crlf(p, end)) <= 0)
			return c;
		p += 2;
		if (n == 0) {
			*stop = p + 2;
			return crlf(p, end);
		}
		if ((size_t)(end - p) < n)
			return 0;
		p += n;
		if ((c = crlf(p, end)) <= 0)
			return c;
		p += 2;
	}
}

/* Content-Length: 1 to REPLY_CLEN_DIGITS digits, nothing else. */
static int
content_length(const char *v, size_t vn, size_t *out)
{
	size_t	i;

	if (vn == 0 || vn > REPLY_CLEN_DIGITS)
		return -1;
	for (*out = 0, i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		*out = *out * 10 + (size_t)(v[i] - '0');
	}
	return 0;
}

int
relay_reply_parse(const char *p, size_t len, int eof, struct relay_reply *r)
{
	const char	*end = p + len, *hdr, *body, *v, *stop;
	size_t		 vn, clen;

	memset(r, 0, sizeof(*r));
	if ((body = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	hdr = (const char *)memmem(p, len, "\r\n", 2) + 2;
	body += 4;
	/* "HTTP/1.x NNN", then a reason phrase or the end of the line. */
	if (body - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r'))
		return refuse(r, "not an HTTP answer");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->keep = p[7] == '1' && ((v = header(hdr, body, "Connection",
	    &vn)) == NULL || vn < 5 || strncasecmp(v, "close", 5) != 0);
	if ((v = header(hdr, body, "Content-Length", &vn)) != NULL) {
		if (content_length(v, vn, &clen) != 0)
			return refuse(r, "bad Content-Length");
		r->len = (size_t)(body - p) + clen;
		return (size_t)(end - body) >= clen;
	}
	if ((v = header(hdr, body, "Transfer-Encoding", &vn)) != NULL &&
	    vn >= 7 && strncasecmp(v, "chunked", 7) == 0) {
		switch (chunks_done(body, end, &stop)) {
		case -1:
			return refuse(r, "bad chunked body");
		case 0:
			return 0;
		}
		r->len = (size_t)(stop - p);
		return 1;
	}
	if (r->status >= 200 && r->status != 204 && r->status != 304) {
		/* A body until close: whole when the connection ends. */
		r->keep = 0;
		r->len = len;
		return eof;
	}
	r->len = (size_t)(body - p);
	return 1;
}
