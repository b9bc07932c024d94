/* shared/pg_array.c: see pg_array.h. Every element is double-quoted, with
 * `"` and `\` escaped by a backslash: the one form array_in() reads the
 * same for every element type. */
#include "pg_array.h"

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
