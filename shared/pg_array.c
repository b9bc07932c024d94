/* shared/pg_array.c: see pg_array.h. Every element is double-quoted, with
 * `"` and `\` escaped by a backslash: the one form array_in() reads the
 * same for every element type. */
#include "pg_array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
pg_array_begin(struct buf *b)
{
	buf_reset(b);
	buf_append(b, "{", 1);
}

void
pg_array_add(struct buf *b, const char *s)
{
	size_t	n;

	if (b->len > 1)
		buf_append(b, ",", 1);
	if (s == NULL) {
		buf_append(b, "NULL", 4);
		return;
	}
	buf_append(b, "\"", 1);
	while (*s != '\0') {
		n = strcspn(s, "\"\\");
		buf_append(b, s, n);
		s += n;
		if (*s != '\0') {
			buf_append(b, "\\", 1);
			buf_append(b, s++, 1);
		}
	}
	buf_append(b, "\"", 1);
}

void
pg_array_end(struct buf *b)
{
	buf_append(b, "}", 1);
}

long
pg_array_ints(const char *s, long long *out, size_t max)
{
	char	*end;
	size_t	 n = 0;

	if (s == NULL || *s++ != '{')
		return -1;
	if (*s == '}')
		return s[1] == '\0' ? 0 : -1;
	for (;;) {
		if (n == max)
			return -1;
		errno = 0;
		out[n++] = strtoll(s, &end, 10);
		if (end == s || errno != 0)
			return -1;
		s = end;
		if (*s == '}')
			return s[1] == '\0' ? (long)n : -1;
		if (*s++ != ',')
			return -1;
	}
}
