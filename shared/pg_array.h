/* shared/pg_array.h: PostgreSQL array literals ('{"a",NULL,"b"}'), built
 * element by element: how a batch hands the database one parameter per
 * column instead of one statement per row. The literal is cast by the
 * statement (text[], jsonb[], int[], boolean[], bigint[]). */
#ifndef WA_PG_ARRAY_H
#define WA_PG_ARRAY_H

#include <stddef.h>

struct buf;

void	pg_array_begin(struct buf *);
/* One element; NULL is SQL NULL. Any text: quoted and escaped here. */
void	pg_array_add(struct buf *, const char *);
void	pg_array_end(struct buf *);

/* Reads an integer array's text ("{1,-2,3}", no NULLs) into out: the
 * number of elements, or -1 when it is not that or has more than max. */
long	pg_array_ints(const char *, long long *out, size_t max);

#endif /* WA_PG_ARRAY_H */
