/* pushd/relay_reply.h: nginx's answer to a publish, parsed apart from the
 * socket (relay.c reads, this decides), so it can be unit tested and
 * fuzzed (tests/fuzz/fuzz_relay_reply.c). */
#ifndef WA_RELAY_REPLY_H
#define WA_RELAY_REPLY_H

#include <stddef.h>

struct relay_reply {
	int		 status;	/* 100-599 */
	int		 keep;		/* 0: nginx closes the connection */
	size_t		 len;		/* the whole answer's bytes: what
					 * follows is the next answer */
	const char	*err;		/* why an answer was refused */
};

/* Parses the answer in the len bytes at p; eof: the connection has ended,
 * which completes a body that runs until close. 1 when the answer is whole
 * (r filled in), 0 when more bytes are needed, -1 when it is not an answer
 * we understand (r->err says why). Reads nothing outside [p, p + len). */
int	relay_reply_parse(const char *p, size_t len, int eof,
	    struct relay_reply *r);

#endif /* WA_RELAY_REPLY_H */
