/* tests/unit/test_apikey.c: API keys' shape, hash and scope lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "apikey.h"

static void
apikey_new_makes_distinct_wak_keys_whose_hash_is_stored(void **state)
{
	char	k1[APIKEY_LEN + 1], k2[APIKEY_LEN + 1];
	char	p1[APIKEY_PREFIX_LEN + 1], p2[APIKEY_PREFIX_LEN + 1];
	char	h1[APIKEY_HASH_HEX + 1], h2[APIKEY_HASH_HEX + 1];
	char	again[APIKEY_HASH_HEX + 1];

	(void)state;
	assert_int_equal(apikey_new(k1, p1, h1), 0);
	assert_int_equal(apikey_new(k2, p2, h2), 0);
	assert_true(apikey_shape_ok(k1));
	assert_int_equal(strncmp(k1, "wak_", 4), 0);
	assert_int_equal(strncmp(k1, p1, APIKEY_PREFIX_LEN), 0);
	assert_int_equal(strlen(p1), 12);
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(h1, h2);
	assert_int_equal(apikey_hash(k1, again), 0);
	assert_string_equal(h1, again);
	assert_null(strstr(h1, k1 + 4));
}

static void
apikey_hash_is_sha256_hex(void **state)
{
	char	h[APIKEY_HASH_HEX + 1];

	(void)state;
	assert_int_equal(apikey_hash("abc", h), 0);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

static void
apikey_shape_ok_refuses_anything_but_wak_and_64_hex(void **state)
{
	char	k[APIKEY_LEN + 1], p[APIKEY_PREFIX_LEN + 1];
	char	h[APIKEY_HASH_HEX + 1];

	(void)state;
	assert_int_equal(apikey_new(k, p, h), 0);
	assert_false(apikey_shape_ok(NULL));
	assert_false(apikey_shape_ok(""));
	assert_false(apikey_shape_ok("wak_"));
	assert_false(apikey_shape_ok(p));
	k[10] = 'G';
	assert_false(apikey_shape_ok(k));
	k[10] = 'A';			/* upper case is not what we mint */
	assert_false(apikey_shape_ok(k));
	k[10] = 'a';
	assert_true(apikey_shape_ok(k));
	k[0] = 'x';
	assert_false(apikey_shape_ok(k));
}

static void
apikey_scopes_parse_reads_lists_and_postgres_arrays(void **state)
{
	unsigned	b;

	(void)state;
	assert_int_equal(apikey_scopes_parse("read", &b), 0);
	assert_int_equal(b, APIKEY_SCOPE_READ);
	assert_int_equal(apikey_scopes_parse("send", &b), 0);
	assert_int_equal(b, APIKEY_SCOPE_SEND);
	assert_int_equal(apikey_scopes_parse("send,read", &b), 0);
	assert_int_equal(b, APIKEY_SCOPE_SEND | APIKEY_SCOPE_READ);
	assert_int_equal(apikey_scopes_parse("{read,send}", &b), 0);
	assert_int_equal(b, APIKEY_SCOPE_SEND | APIKEY_SCOPE_READ);
	assert_int_equal(apikey_scopes_parse("read,read", &b), 0);
	assert_int_equal(b, APIKEY_SCOPE_READ);
}

static void
apikey_scopes_parse_refuses_unknown_or_empty_scopes(void **state)
{
	static const char *const bad[] = { "", "{}", "write", "read,",
	    ",read", "read,,send", "reads", "rea", "read send", "{read",
	    "read}", "{read}x", "READ" };
	unsigned	b;
	size_t		i;

	(void)state;
	assert_int_equal(apikey_scopes_parse(NULL, &b), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (apikey_scopes_parse(bad[i], &b) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
apikey_scopes_array_writes_a_postgres_literal(void **state)
{
	char	out[32];

	(void)state;
	assert_int_equal(apikey_scopes_array(APIKEY_SCOPE_READ, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "{read}");
	assert_int_equal(apikey_scopes_array(APIKEY_SCOPE_READ |
	    APIKEY_SCOPE_SEND, out, sizeof(out)), 0);
	assert_string_equal(out, "{read,send}");
	assert_int_equal(apikey_scopes_array(0, out, sizeof(out)), -1);
	assert_int_equal(apikey_scopes_array(APIKEY_SCOPE_READ |
	    APIKEY_SCOPE_SEND, out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    apikey_new_makes_distinct_wak_keys_whose_hash_is_stored),
		cmocka_unit_test(apikey_hash_is_sha256_hex),
		cmocka_unit_test(
		    apikey_shape_ok_refuses_anything_but_wak_and_64_hex),
		cmocka_unit_test(
		    apikey_scopes_parse_reads_lists_and_postgres_arrays),
		cmocka_unit_test(
		    apikey_scopes_parse_refuses_unknown_or_empty_scopes),
		cmocka_unit_test(apikey_scopes_array_writes_a_postgres_literal),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
