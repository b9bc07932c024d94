/* tests/fuzz/fuzz_multipart.c: libFuzzer target for shared/multipart.c.
 * Input: a Content-Type line, '\n', then the body; the body is fed in
 * chunks whose sizes come from the Content-Type's length, so splits land
 * everywhere. Checks that data offsets are contiguous and in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct state {
	const char	*body;
	size_t		 len;
	uint64_t	 next;
	int		 in_part;
};

static int
on_begin(void *arg, const struct multipart_part *p)
{
	struct state	*s = arg;

	if (s->in_part || memchr(p->filename, '\0', sizeof(p->filename)) ==
	    NULL)
		abort();
	s->in_part = 1;
	s->next = UINT64_MAX;
	return 0;
}

static int
on_data(void *arg, const char *d, size_t n, uint64_t off)
{
	struct state	*s = arg;

	if (!s->in_part || n == 0 || off + n > s->len ||
	    (s->next != UINT64_MAX && off != s->next) ||
	    memcmp(s->body + off, d, n) != 0)
		abort();
	s->next = off + n;
	return 0;
}

static int
on_end(void *arg, const struct multipart_part *p)
{
	struct state	*s = arg;

	(void)p;
	if (!s->in_part)
		abort();
	s->in_part = 0;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct multipart_cb cb = { on_begin, on_data, on_end };
	struct multipart	 mp;
	struct state		 s;
	char			 ct[512], boundary[MULTIPART_BOUNDARY_MAX + 1];
	const uint8_t		*nl = memchr(data, '\n', size);
	size_t			 cl, i, n, step;

	if (nl == NULL || (cl = (size_t)(nl - data)) >= sizeof(ct))
		return 0;
	memcpy(ct, data, cl);
	ct[cl] = '\0';
	if (multipart_boundary(ct, boundary, sizeof(boundary)) != 0)
		return 0;
	memset(&s, 0, sizeof(s));
	s.body = (const char *)nl + 1;
	s.len = size - cl - 1;
	step = 1 + cl % 17;
	multipart_init(&mp, boundary, &cb, &s);
	for (i = 0; i < s.len; i += n) {
		n = s.len - i < step ? s.len - i : step;
		if (multipart_feed(&mp, s.body + i, n) != 0)
			return 0;
		step = step * 7 % 61 + 1;
	}
	if (multipart_finish(&mp) == 0 && s.in_part)
		abort();	/* closed without ending the last part */
	return 0;
}
