/* shared/multipart.c: multipart/form-data, streamed. Part bodies are
 * scanned for "\r\n--boundary" with KMP, so a delimiter split across two
 * chunks is found and bytes that only looked like its start are given
 * back as data (they are a prefix of the delimiter, so no copy is kept).
 * It links alone on purpose (util.h is header-only here): the fuzz target
 * builds it with no library. */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

enum {
	MP_PREAMBLE,		/* before the first delimiter: ignored */
	MP_AFTER_DELIM,		/* "--" closes; padding, CRLF opens a part */
	MP_PADDING,		/* spaces after a delimiter, then CRLF */
	MP_CR,			/* CR seen, LF must follow */
	MP_DASH,		/* one '-' seen, another must follow */
	MP_HEADERS,
	MP_BODY,
	MP_EPILOGUE,		/* after the close delimiter: ignored */
	MP_ERROR,
};

static int
fail_with(struct multipart *mp, const char *why)
{
	mp->state = MP_ERROR;
	if (mp->err == NULL)
		mp->err = why;
	return -1;
}

static int
is_lws(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_lws(const char *s)
{
	while (is_lws(*s))
		s++;
	return s;
}

/* A header or parameter token: printable, no separators we split on. */
static int
is_tchar(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f &&
	    strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/*
 * One "; key=value" parameter of a header value starting at s (at the ';'
 * or before it, after the main value). Value is a token or a
 * quoted-string with escapes undone. Returns where parsing stopped, or
 * NULL when no parameter is left; *bad is set for malformed input.
 */
static const char *
param_next(const char *s, char *key, size_t kn, char *val, size_t vn,
    int *bad)
{
	size_t	i;

	s = skip_lws(s);
	while (*s == ';')
		s = skip_lws(s + 1);
	if (*s == '\0')
		return NULL;
	for (i = 0; is_tchar(*s) && i + 1 < kn; s++)
		key[i++] = *s;
	key[i] = '\0';
	s = skip_lws(s);
	if (i == 0 || *s++ != '=') {
		*bad = 1;
		return NULL;
	}
	s = skip_lws(s);
	i = 0;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (*s == '\0' || i + 1 >= vn) {
				*bad = 1;	/* unterminated or too long */
				return NULL;
			}
			val[i++] = *s;
		}
		s++;
	} else {
		/* Lenient: anything up to ';' (browsers send raw UTF-8). */
		for (; *s != '\0' && *s != ';'; s++) {
			if (i + 1 >= vn) {
				*bad = 1;
				return NULL;
			}
			val[i++] = *s;
		}
		while (i > 0 && is_lws(val[i - 1]))
			i--;
	}
	val[i] = '\0';
	s = skip_lws(s);
	if (*s != '\0' && *s != ';')
		*bad = 1;
	return *bad ? NULL : s;
}

/* RFC 5987 ext-value "charset'lang'pct-encoded" -> UTF-8; 0 or -1. */
static int
ext_value(const char *v, char *out, size_t n)
{
	const char	*q1, *q2, *s;
	size_t		 k = 0;
	int		 latin1, hi, lo;
	unsigned char	 c;

	if ((q1 = strchr(v, '\'')) == NULL ||
	    (q2 = strchr(q1 + 1, '\'')) == NULL)
		return -1;
	if ((size_t)(q1 - v) == 5 && strncasecmp(v, "utf-8", 5) == 0)
		latin1 = 0;
	else if ((size_t)(q1 - v) == 10 &&
	    strncasecmp(v, "iso-8859-1", 10) == 0)
		latin1 = 1;
	else
		return -1;
	for (s = q2 + 1; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '%') {
			if ((hi = hex_digit(s[1])) < 0 || (lo = hex_digit(s[2])) < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			s += 2;
		}
		if (c == '\0' || k + 3 >= n)
			return -1;
		if (latin1 && c >= 0x80) {
			out[k++] = (char)(0xc0 | c >> 6);
			out[k++] = (char)(0x80 | (c & 0x3f));
		} else
			out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

static int
copy_str(char *dst, size_t n, const char *src)
{
	size_t	len = strlen(src);

	if (len >= n)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* Browsers (the WHATWG form encoding, also Python's urllib3) send a '"'
 * in a file name as %22 rather than as \"; a literal "%22" in a name is
 * rarer than a quote, so it is read as one. */
static void
unescape_quotes(char *s)
{
	char	*w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] == '2' && s[2] == '2') {
			*w++ = '"';
			s += 2;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

/* Content-Disposition: form-data; name="..."; filename="..."; filename*= */
static int
disposition(struct multipart_part *pt, const char *v)
{
	char		 key[32], val[MULTIPART_FILENAME_MAX * 3];
	char		 ext[MULTIPART_FILENAME_MAX], dec[MULTIPART_FILENAME_MAX];
	const char	*s = skip_lws(v);
	int		 bad = 0, have_ext = 0, have_name = 0;

	if (strncasecmp(s, "form-data", 9) != 0 ||
	    (s[9] != '\0' && s[9] != ';' && !is_lws(s[9])))
		return -1;
	s += 9;
	while ((s = param_next(s, key, sizeof(key), val, sizeof(val),
	    &bad)) != NULL) {
		if (strcasecmp(key, "name") == 0) {
			if (copy_str(pt->name, sizeof(pt->name), val) != 0)
				return -1;
			have_name = 1;
		} else if (strcasecmp(key, "filename") == 0) {
			if (copy_str(pt->filename, sizeof(pt->filename),
			    val) != 0)
				return -1;
			unescape_quotes(pt->filename);
			pt->has_filename = 1;
		} else if (strcasecmp(key, "filename*") == 0 &&
		    ext_value(val, dec, sizeof(dec)) == 0) {
			/* Decoded aside: a later, broken filename* leaves
			 * half its bytes there, unterminated. */
			memcpy(ext, dec, strlen(dec) + 1);
			have_ext = 1;
			pt->has_filename = 1;
		}
	}
	if (bad || !have_name)
		return -1;
	if (have_ext)
		memcpy(pt->filename, ext, strlen(ext) + 1);
	return 0;
}

/* One unfolded header line "Name: value"; *cd set for the disposition. */
static int
header_line(struct multipart_part *pt, char *line, int *cd)
{
	char	*colon = strchr(line, ':'), *v, *end;

	if (colon == NULL || colon == line)
		return -1;
	*colon = '\0';
	v = (char *)skip_lws(colon + 1);
	end = v + strlen(v);
	while (end > v && is_lws(end[-1]))
		*--end = '\0';
	if (strcasecmp(line, "Content-Disposition") == 0) {
		*cd = 1;
		return disposition(pt, v);
	}
	if (strcasecmp(line, "Content-Type") == 0)
		return copy_str(pt->content_type, sizeof(pt->content_type), v);
	return 0;			/* other headers do not matter here */
}

/* The header block in mp->hdr: CRLF-terminated lines, then an empty one.
 * A line starting with a space continues the one above (obsolete folding,
 * still legal in MIME). */
static int
headers_parse(struct multipart *mp)
{
	char	*s, *eol;
	int	 cd = 0;

	memset(&mp->part, 0, sizeof(mp->part));
	mp->part.index = mp->nparts;
	mp->hdr[mp->hlen] = '\0';
	if (is_lws(mp->hdr[0]))
		return -1;
	for (s = mp->hdr; (s = strstr(s, "\r\n")) != NULL; s += 2)
		if (is_lws(s[2]))
			s[0] = s[1] = ' ';
	for (s = mp->hdr; (eol = strstr(s, "\r\n")) != NULL && eol != s;
	    s = eol + 2) {
		*eol = '\0';
		if (header_line(&mp->part, s, &cd) != 0)
			return -1;
	}
	return cd ? 0 : -1;
}

/*
 * The header block grows until its empty line. The stored text stays
 * NUL-free because headers_parse() works on strings; a NUL in a header is
 * malformed anyway.
 */
static int
headers_byte(struct multipart *mp, char c)
{
	size_t	n, i;

	if (c == '\0')
		return fail_with(mp, "NUL byte in part headers");
	if (mp->hlen + 1 >= sizeof(mp->hdr))
		return fail_with(mp, "part headers too long");
	mp->hdr[mp->hlen++] = c;
	n = mp->hlen;
	if (c != '\n' || n < 2 || mp->hdr[n - 2] != '\r')
		return 0;
	if (n != 2 && (n < 4 || memcmp(mp->hdr + n - 4, "\r\n\r\n", 4) != 0))
		return 0;
	if (n == 2)
		return fail_with(mp, "part without headers");
	for (i = 0; i < n; i++)
		if ((mp->hdr[i] == '\n' &&
		    (i == 0 || mp->hdr[i - 1] != '\r')) ||
		    (mp->hdr[i] == '\r' && mp->hdr[i + 1] != '\n'))
			return fail_with(mp, "bare CR or LF in part headers");
	if (headers_parse(mp) != 0)
		return fail_with(mp, "malformed part headers");
	if (mp->cb->part_begin != NULL &&
	    mp->cb->part_begin(mp->arg, &mp->part) != 0)
		return fail_with(mp, "stopped");
	mp->nparts++;
	mp->state = MP_BODY;
	mp->k = 0;
	mp->emitted = mp->pos + 1;	/* data starts after this byte */
	return 0;
}

/* Reports the data in [mp->emitted, upto): bytes before this chunk are
 * delimiter bytes held back (delim[0..k0)), the rest come from p. */
static int
emit(struct multipart *mp, const char *p, uint64_t start, size_t k0,
    uint64_t upto)
{
	uint64_t	 end;
	const char	*src;

	while (mp->emitted < upto) {
		if (mp->emitted < start) {
			end = upto < start ? upto : start;
			src = mp->delim + (mp->emitted - (start - k0));
		} else {
			end = upto;
			src = p + (mp->emitted - start);
		}
		if (mp->state == MP_BODY && mp->cb->part_data != NULL &&
		    mp->cb->part_data(mp->arg, src, (size_t)(end - mp->emitted),
		    mp->emitted) != 0)
			return fail_with(mp, "stopped");
		mp->emitted = end;
	}
	return 0;
}

/*
 * Scans p[0..n) for the delimiter. Returns how many bytes it consumed:
 * all of them, or up to and including a delimiter's last byte (then
 * *found is 1). Data before the delimiter is reported; -1 on error.
 */
static long
scan(struct multipart *mp, const char *p, size_t n, int *found)
{
	const char	*cr;
	uint64_t	 start = mp->pos;
	size_t		 i, k0 = mp->k;
	char		 c;

	*found = 0;
	for (i = 0; i < n; i++) {
		if (mp->k == 0) {	/* the delimiter starts with CR */
			if ((cr = memchr(p + i, '\r', n - i)) == NULL)
				break;
			i = (size_t)(cr - p);
		}
		c = p[i];
		while (mp->k > 0 && mp->delim[mp->k] != c)
			mp->k = mp->fail[mp->k];
		if (mp->delim[mp->k] == c)
			mp->k++;
		if (mp->k == mp->dlen) {
			if (mp->state == MP_BODY && emit(mp, p, start, k0,
			    start + i + 1 - mp->dlen) != 0)
				return -1;
			mp->emitted = start + i + 1;
			mp->k = 0;
			*found = 1;
			return (long)(i + 1);
		}
	}
	/* The preamble is skipped, and its first two "held" bytes are the
	 * CRLF multipart_init pretends to have seen: nothing to report. */
	if (mp->state == MP_BODY && emit(mp, p, start, k0,
	    start + n - mp->k) != 0)
		return -1;
	return (long)n;
}

static int
delimited(struct multipart *mp)
{
	if (mp->state == MP_BODY && mp->cb->part_end != NULL &&
	    mp->cb->part_end(mp->arg, &mp->part) != 0)
		return fail_with(mp, "stopped");
	mp->state = MP_AFTER_DELIM;
	return 0;
}

/* One byte between a delimiter and the next part's headers. */
static int
after_delim(struct multipart *mp, char c)
{
	switch (mp->state) {
	case MP_AFTER_DELIM:
		if (c == '-') {
			mp->state = MP_DASH;
			return 0;
		}
		/* FALLTHROUGH */
	case MP_PADDING:
		if (is_lws(c)) {
			mp->state = MP_PADDING;
			return 0;
		}
		if (c == '\r') {
			mp->state = MP_CR;
			return 0;
		}
		return fail_with(mp, "junk after a boundary");
	case MP_CR:
		if (c != '\n')
			return fail_with(mp, "CR without LF after a boundary");
		mp->state = MP_HEADERS;
		mp->hlen = 0;
		return 0;
	case MP_DASH:
		if (c != '-')
			return fail_with(mp, "junk after a boundary");
		mp->state = MP_EPILOGUE;
		return 0;
	}
	return fail_with(mp, "parser state");
}

int
multipart_feed(struct multipart *mp, const char *p, size_t n)
{
	long	used;
	int	found;

	while (n > 0) {
		switch (mp->state) {
		case MP_ERROR:
			return -1;
		case MP_EPILOGUE:
			mp->pos += n;
			return 0;
		case MP_PREAMBLE:
		case MP_BODY:
			if ((used = scan(mp, p, n, &found)) < 0)
				return -1;
			if (found && delimited(mp) != 0)
				return -1;
			break;
		case MP_HEADERS:
			if (headers_byte(mp, *p) != 0)
				return -1;
			used = 1;
			break;
		default:
			if (after_delim(mp, *p) != 0)
				return -1;
			used = 1;
			break;
		}
		p += used;
		n -= (size_t)used;
		mp->pos += (uint64_t)used;
	}
	return mp->state == MP_ERROR ? -1 : 0;
}

int
multipart_finish(struct multipart *mp)
{
	if (mp->state == MP_ERROR)
		return -1;
	if (mp->state != MP_EPILOGUE)
		return fail_with(mp, mp->state == MP_PREAMBLE ?
		    "no boundary found" : "truncated: no closing boundary");
	return 0;
}

const char *
multipart_error(const struct multipart *mp)
{
	return mp->err != NULL ? mp->err : "malformed multipart body";
}

void
multipart_init(struct multipart *mp, const char *boundary,
    const struct multipart_cb *cb, void *arg)
{
	size_t	bl = strlen(boundary), i, k;

	memset(mp, 0, sizeof(*mp));
	mp->cb = cb;
	mp->arg = arg;
	if (bl == 0 || bl > MULTIPART_BOUNDARY_MAX) {
		fail_with(mp, "bad boundary");
		return;
	}
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, bl);
	mp->dlen = 4 + bl;
	mp->delim[mp->dlen] = '\0';
	/* fail[i]: the longest proper border of delim[0..i). */
	mp->fail[0] = mp->fail[1] = 0;
	for (i = 1, k = 0; i < mp->dlen; i++) {
		while (k > 0 && mp->delim[i] != mp->delim[k])
			k = mp->fail[k];
		if (mp->delim[i] == mp->delim[k])
			k++;
		mp->fail[i + 1] = (uint16_t)k;
	}
	/* The first delimiter may open the body with no CRLF before it:
	 * start as if the CRLF had just been seen (the preamble is not
	 * data, so those two bytes are never reported). */
	mp->k = 2;
	mp->state = MP_PREAMBLE;
}

int
multipart_boundary(const char *ct, char *out, size_t n)
{
	char		 key[32], val[MULTIPART_BOUNDARY_MAX + 2];
	const char	*s;
	int		 bad = 0;
	size_t		 len, i;

	if (ct == NULL)
		return -1;
	s = skip_lws(ct);
	if (strncasecmp(s, "multipart/form-data", 19) != 0 ||
	    (s[19] != '\0' && s[19] != ';' && !is_lws(s[19])))
		return -1;
	s += 19;
	while ((s = param_next(s, key, sizeof(key), val, sizeof(val),
	    &bad)) != NULL) {
		if (strcasecmp(key, "boundary") != 0)
			continue;
		len = strlen(val);
		if (len == 0 || len > MULTIPART_BOUNDARY_MAX || len >= n)
			return -1;
		for (i = 0; i < len; i++)
			if ((unsigned char)val[i] < 0x20 ||
			    (unsigned char)val[i] == 0x7f)
				return -1;
		memcpy(out, val, len + 1);
		return 0;
	}
	return -1;
}
