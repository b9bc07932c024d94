/* shared/buf.h: a growable, always NUL-terminated byte buffer. */
#ifndef WA_BUF_H
#define WA_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* NUL-terminated whenever non-NULL */
	size_t	 len, cap;	/* len excludes the NUL */
};
#define BUF_INIT	{ NULL, 0, 0 }
#define BUF_MAX		(32u << 20)	/* stream bigger things (media) */

int	 buf_append(struct buf *, const void *, size_t);
int	 buf_appends(struct buf *, const char *);
int	 buf_appendf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct buf *);	/* keeps memory */
char	*buf_detach(struct buf *);	/* caller owns the result */
void	 buf_free(struct buf *);
const char *buf_str(const struct buf *);	/* "" when empty */

#endif /* WA_BUF_H */
