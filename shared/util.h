/* shared/util.h: tiny helpers every file may use. */
#ifndef WA_UTIL_H
#define WA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define UUID_LEN	36

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 uuid_valid(const char *);
int	 uuid_new(char out[UUID_LEN + 1]);
int64_t	 now_us(void);		/* wall clock, microseconds */
int64_t	 now_ms(void);		/* monotonic, milliseconds */
uint64_t mono_us(void);		/* monotonic, microseconds: durations */
/* ISO 8601 UTC with microseconds, as the seed spec shows: "...T12:00:00.000000Z". */
void	 iso_time(int64_t unix_us, char *out, size_t n);
int	 str_to_i64(const char *, int64_t *);
int	 str_eq_ct(const char *, const char *);	/* constant time */

/* One hex digit's value, or -1 (URL and RFC 5987 percent-decoding). */
static inline int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* WA_UTIL_H */
