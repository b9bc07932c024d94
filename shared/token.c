/* shared/token.c: JWTs with libjwt. The algorithm is pinned: a token that
 * names any other algorithm (say "none") is refused whatever it claims. */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#define TOKEN_LEEWAY	30	/* seconds of clock skew allowed on nbf */

int
token_issue(const char *secret, const char *sub, long ttl, char *out,
    size_t n, int64_t *exp)
{
	jwt_t		*jwt = NULL;
	char		*enc = NULL, jti[UUID_LEN + 1];
	time_t		 now = time(NULL);
	int		 rc = -1;

	if (jwt_new(&jwt) != 0)
		return -1;
	uuid_new(jti);
	if (jwt_add_grant(jwt, "sub", sub) != 0 ||
	    jwt_add_grant(jwt, "jti", jti) != 0 ||
	    jwt_add_grant_int(jwt, "iat", now) != 0 ||
	    jwt_add_grant_int(jwt, "nbf", now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", now + ttl) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0)
		goto out;
	if ((enc = jwt_encode_str(jwt)) == NULL || strlen(enc) >= n)
		goto out;
	snprintf(out, n, "%s", enc);
	if (exp != NULL)
		*exp = now + ttl;
	rc = 0;
out:
	free(enc);
	jwt_free(jwt);
	return rc;
}

static int
copy_uuid(jwt_t *jwt, const char *claim, char *dst)
{
	const char	*v = jwt_get_grant(jwt, claim);

	if (!uuid_valid(v))
		return -1;
	memcpy(dst, v, UUID_LEN + 1);
	return 0;
}

int
token_verify(const char *secret, const char *token, struct token_claims *c)
{
	jwt_t		*jwt = NULL;
	time_t		 now = time(NULL);
	long		 exp, nbf;
	int		 rc = -1;

	if (token == NULL || *token == '\0' || strlen(token) >= TOKEN_MAX)
		return -1;
	if (jwt_decode(&jwt, token, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0 || jwt == NULL)
		goto out;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	exp = jwt_get_grant_int(jwt, "exp");
	nbf = jwt_get_grant_int(jwt, "nbf");
	if (exp <= 0 || exp <= now || nbf > now + TOKEN_LEEWAY)
		goto out;
	if (copy_uuid(jwt, "sub", c->sub) != 0 ||
	    copy_uuid(jwt, "jti", c->jti) != 0)
		goto out;
	c->exp = exp;
	rc = 0;
out:
	jwt_free(jwt);
	return rc;
}
