/* shared/token.h: session tokens: HS256 JWTs signed with WA_JWT_SECRET. */
#ifndef WA_TOKEN_H
#define WA_TOKEN_H

#include <stdint.h>

#include "util.h"

#define TOKEN_MAX	1024

struct token_claims {
	char	sub[UUID_LEN + 1];	/* user id */
	char	jti[UUID_LEN + 1];	/* token id, for logout */
	int64_t	exp;
};

/* Signs a token for user `sub` valid `ttl` seconds; 0 or -1. */
int	token_issue(const char *secret, const char *sub, long ttl,
	    char *out, size_t n, int64_t *exp);
/* 0 when the signature, the algorithm (HS256 only), exp, nbf and the
 * claims' shapes are all good. */
int	token_verify(const char *secret, const char *token,
	    struct token_claims *);

#endif /* WA_TOKEN_H */
