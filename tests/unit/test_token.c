/* tests/unit/test_token.c: JWT issue/verify, algorithm pinning, expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jwt.h>
#include <stdlib.h>

#include "token.h"

#define SECRET	"unit-test-secret-unit-test-secret"
#define USER	"61bebb65-5552-4e6f-bf93-3523d1f01885"

static void
token_round_trips(void **state)
{
	char			tok[TOKEN_MAX];
	struct token_claims	c;
	int64_t			exp;

	(void)state;
	assert_int_equal(token_issue(SECRET, USER, 60, tok, sizeof(tok),
	    &exp), 0);
	assert_int_equal(token_verify(SECRET, tok, &c), 0);
	assert_string_equal(c.sub, USER);
	assert_int_equal(c.exp, exp);
}

static void
token_with_other_secret_is_refused(void **state)
{
	char			tok[TOKEN_MAX];
	struct token_claims	c;

	(void)state;
	token_issue(SECRET, USER, 60, tok, sizeof(tok), NULL);
	assert_int_not_equal(token_verify("another-secret", tok, &c), 0);
}

static void
token_tampered_payload_is_refused(void **state)
{
	char			tok[TOKEN_MAX], *dot;
	struct token_claims	c;

	(void)state;
	token_issue(SECRET, USER, 60, tok, sizeof(tok), NULL);
	dot = strchr(tok, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	assert_int_not_equal(token_verify(SECRET, tok, &c), 0);
}

/* Builds a token by hand with libjwt: any algorithm, any claims. */
static void
make(char *out, size_t n, jwt_alg_t alg, long exp_delta, const char *sub)
{
	jwt_t	*jwt;
	char	*enc;

	jwt_new(&jwt);
	jwt_add_grant(jwt, "sub", sub);
	jwt_add_grant(jwt, "jti", "5a0f4f08-9ad7-4bb0-bb3c-3b68cd06675f");
	jwt_add_grant_int(jwt, "nbf", time(NULL) - 10);
	jwt_add_grant_int(jwt, "exp", time(NULL) + exp_delta);
	if (alg == JWT_ALG_NONE)
		jwt_set_alg(jwt, JWT_ALG_NONE, NULL, 0);
	else
		jwt_set_alg(jwt, alg, (const unsigned char *)SECRET,
		    strlen(SECRET));
	enc = jwt_encode_str(jwt);
	snprintf(out, n, "%s", enc);
	free(enc);
	jwt_free(jwt);
}

static void
token_expired_is_refused(void **state)
{
	char			tok[TOKEN_MAX];
	struct token_claims	c;

	(void)state;
	make(tok, sizeof(tok), JWT_ALG_HS256, -5, USER);
	assert_int_not_equal(token_verify(SECRET, tok, &c), 0);
	make(tok, sizeof(tok), JWT_ALG_HS256, 60, USER);
	assert_int_equal(token_verify(SECRET, tok, &c), 0);
}

static void
token_alg_none_and_other_hmacs_are_refused(void **state)
{
	char			tok[TOKEN_MAX];
	struct token_claims	c;

	(void)state;
	make(tok, sizeof(tok), JWT_ALG_NONE, 60, USER);
	assert_int_not_equal(token_verify(SECRET, tok, &c), 0);
	make(tok, sizeof(tok), JWT_ALG_HS512, 60, USER);
	assert_int_not_equal(token_verify(SECRET, tok, &c), 0);
}

static void
token_sub_must_be_a_uuid(void **state)
{
	char			tok[TOKEN_MAX];
	struct token_claims	c;

	(void)state;
	make(tok, sizeof(tok), JWT_ALG_HS256, 60, "admin' OR 1=1");
	assert_int_not_equal(token_verify(SECRET, tok, &c), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_round_trips),
		cmocka_unit_test(token_with_other_secret_is_refused),
		cmocka_unit_test(token_tampered_payload_is_refused),
		cmocka_unit_test(token_expired_is_refused),
		cmocka_unit_test(token_alg_none_and_other_hmacs_are_refused),
		cmocka_unit_test(token_sub_must_be_a_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
