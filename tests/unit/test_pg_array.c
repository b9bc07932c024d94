/* tests/unit/test_pg_array.c: PostgreSQL array literals as the batched
 * ingest builds them (every element quoted, `"` and `\` escaped, NULL
 * bare), and the integer arrays it reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "pg_array.h"
#include "util.h"

/* The literal of these n elements. */
static void
expect_literal(const char *const *elems, size_t n, const char *want)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	pg_array_begin(&b);
	for (i = 0; i < n; i++)
		pg_array_add(&b, elems[i]);
	pg_array_end(&b);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

static void
pg_array_quotes_and_escapes(void **state)
{
	static const char *const one[] = { "a" };
	static const char *const two[] = { "a", "b c" };
	static const char *const quotes[] = { "say \"hi\"", "a\\b", "\\",
	    "\"", "\\\"" };
	/* Only NULL is NULL: the text "NULL" is quoted. */
	static const char *const nulls[] = { NULL, "NULL", NULL, "" };
	/* What array_in would otherwise read as syntax. */
	static const char *const syntax[] = { "{a,b}", " x ", "a,b", "}",
	    "\xc3\xa9\n\t'" };
	static const char *const json[] = {
	    "{\"a\":\"b\\\"c\",\"d\":[1,null]}" };

	(void)state;
	expect_literal(NULL, 0, "{}");
	expect_literal(one, nitems(one), "{\"a\"}");
	expect_literal(two, nitems(two), "{\"a\",\"b c\"}");
	expect_literal(quotes, nitems(quotes), "{\"say \\\"hi\\\"\","
	    "\"a\\\\b\",\"\\\\\",\"\\\"\",\"\\\\\\\"\"}");
	expect_literal(nulls, nitems(nulls), "{NULL,\"NULL\",NULL,\"\"}");
	expect_literal(syntax, nitems(syntax), "{\"{a,b}\",\" x \","
	    "\"a,b\",\"}\",\"\xc3\xa9\n\t'\"}");
	expect_literal(json, nitems(json), "{\"{\\\"a\\\":\\\"b\\\\\\\"c"
	    "\\\",\\\"d\\\":[1,null]}\"}");
}

/* A buffer is reused, batch after batch: begin starts afresh. */
static void
pg_array_reuses_the_buffer(void **state)
{
	struct buf	b = BUF_INIT;

	(void)state;
	pg_array_begin(&b);
	pg_array_add(&b, "old");
	pg_array_add(&b, NULL);
	pg_array_end(&b);
	pg_array_begin(&b);
	pg_array_add(&b, NULL);
	pg_array_add(&b, "new");
	pg_array_end(&b);
	assert_string_equal(buf_str(&b), "{NULL,\"new\"}");
	pg_array_begin(&b);
	pg_array_end(&b);
	assert_string_equal(buf_str(&b), "{}");
	buf_free(&b);
}

static void
pg_array_ints_reads_integer_arrays(void **state)
{
	long long	v[4];

	(void)state;
	memset(v, 0, sizeof(v));
	assert_int_equal(pg_array_ints("{}", v, nitems(v)), 0);
	assert_int_equal(pg_array_ints("{7}", v, nitems(v)), 1);
	assert_int_equal(v[0], 7);
	assert_int_equal(pg_array_ints("{1,-2,0,3}", v, nitems(v)), 4);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], -2);
	assert_int_equal(v[2], 0);
	assert_int_equal(v[3], 3);
	assert_int_equal(pg_array_ints("{9223372036854775807,"
	    "-9223372036854775808}", v, nitems(v)), 2);
	assert_true(v[0] == INT64_MAX);
	assert_true(v[1] == INT64_MIN);
	/* Exactly max elements, and none at all with max 0. */
	assert_int_equal(pg_array_ints("{1,2}", v, 2), 2);
	assert_int_equal(pg_array_ints("{}", v, 0), 0);
}

static void
pg_array_ints_refuses_anything_else(void **state)
{
	static const char *const bad[] = {
		"", "{", "}", "1,2", "{1,2", "1,2}", "{1,,2}", "{,1}", "{1,}",
		"{}}", "{}x", "{1}x", "{1} ", "{1 }", "{1;2}", "{a}", "{1a}",
		"{NULL}", "{1,NULL}", "{\"1\"}", "{1.5}", "{{1,2}}",
		"{9223372036854775808}", "{-9223372036854775809}",
		"{1,2,3,4,5}",
	};
	long long	v[4];
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(bad); i++)
		if (pg_array_ints(bad[i], v, nitems(v)) != -1)
			fail_msg("took \"%s\"", bad[i]);
	assert_int_equal(pg_array_ints(NULL, v, nitems(v)), -1);
	assert_int_equal(pg_array_ints("{1,2,3}", v, 2), -1);
	assert_int_equal(pg_array_ints("{1}", v, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pg_array_quotes_and_escapes),
		cmocka_unit_test(pg_array_reuses_the_buffer),
		cmocka_unit_test(pg_array_ints_reads_integer_arrays),
		cmocka_unit_test(pg_array_ints_refuses_anything_else),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
