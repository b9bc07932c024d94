/* tests/unit/test_buf.c: the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
buf_stays_nul_terminated_after_growth(void **state)
{
	struct buf	b = BUF_INIT;
	int		i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(strlen(b.data), 3000);
	buf_free(&b);
}

static void
buf_appendf_formats_and_reset_keeps_memory(void **state)
{
	struct buf	b = BUF_INIT;
	size_t		cap;

	(void)state;
	buf_appendf(&b, "%s=%d", "n", 42);
	assert_string_equal(b.data, "n=42");
	cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.cap, cap);
	buf_free(&b);
}

static void
buf_refuses_growth_past_max(void **state)
{
	struct buf	b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_int_equal(buf_append(&b, "x", BUF_MAX), -1);
	assert_int_equal(b.len, 1);
	buf_free(&b);
}

static void
buf_detach_hands_over_ownership(void **state)
{
	struct buf	 b = BUF_INIT;
	char		*s;

	(void)state;
	s = buf_detach(&b);
	assert_string_equal(s, "");
	free(s);
	buf_appends(&b, "hello");
	s = buf_detach(&b);
	assert_string_equal(s, "hello");
	assert_null(b.data);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_stays_nul_terminated_after_growth),
		cmocka_unit_test(buf_appendf_formats_and_reset_keeps_memory),
		cmocka_unit_test(buf_refuses_growth_past_max),
		cmocka_unit_test(buf_detach_hands_over_ownership),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
