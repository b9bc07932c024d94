/* tests/fuzz/fuzz_relay_reply.c: libFuzzer target for pushd/relay_reply.c,
 * wa-pushd's parser of nginx's answers. The input is the answer, in a
 * buffer of exactly its size (no NUL after it: an over-read is an ASan
 * report). Besides not crashing, a prefix must agree with the whole: once
 * an answer is complete or refused, more bytes cannot change that, nor
 * where it ends (the next pipelined answer starts there). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
parse(const uint8_t *data, size_t n, int eof, struct relay_reply *r)
{
	char	*copy = malloc(n > 0 ? n : 1);
	int	 rc;

	memcpy(copy, data, n);
	rc = relay_reply_parse(copy, n, eof, r);
	free(copy);
	if (rc < -1 || rc > 1 || (rc == 1 && (r->status < 100 ||
	    r->status > 599 || r->len > n)) || (rc == -1 && r->err == NULL))
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_reply	whole, part;
	int			rc_whole, rc_part;

	rc_whole = parse(data, size, 0, &whole);
	rc_part = parse(data, size / 2, 0, &part);
	if (rc_part != 0 && (rc_part != rc_whole ||
	    (rc_part == 1 && (part.status != whole.status ||
	    (part.keep && part.len != whole.len)))))
		abort();
	/* The connection ended here: a complete answer stays complete. */
	if (parse(data, size, 1, &part) < rc_whole)
		abort();
	return 0;
}
