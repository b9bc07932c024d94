/* shared/pg_array.h: PostgreSQL array literals ('{"a",NULL,"b"}'), built
 * element by element: how a batch hands the database one parameter per
 * column instead of one statement per row. The literal is cast by the
 * statement (text[], jsonb[], int[], boolean[], bigint[]). */
#ifndef WA_PG_ARRAY_H
#define WA_PG_ARRAY_H

struct buf;

void	pg_array_begin(struct buf *);
/* One element; NULL is SQL NULL. Any text: quoted and escaped here. */
void	pg_array_add(struct buf *, const char *);
void	pg_array_end(struct buf *);

#endif /* WA_PG_ARRAY_H */
