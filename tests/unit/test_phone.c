/* tests/unit/test_phone.c: the phone forms people type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phone.h"

static void
phone_accepts_the_forms_people_type(void **state)
{
	char	out[32];

	(void)state;
	assert_int_equal(phone_normalize("+91 98765-43210", out, sizeof(out)), 0);
	assert_string_equal(out, "919876543210");
	assert_int_equal(phone_normalize("919876543210", out, sizeof(out)), 0);
	assert_string_equal(out, "919876543210");
	assert_int_equal(phone_normalize("(91) 98765 43210", out, sizeof(out)), 0);
	assert_string_equal(out, "919876543210");
}

static void
phone_rejects_garbage_and_bad_lengths(void **state)
{
	char	out[32];

	(void)state;
	assert_int_equal(phone_normalize("abc", out, sizeof(out)), -1);
	assert_int_equal(phone_normalize("+91 98x65", out, sizeof(out)), -1);
	assert_int_equal(phone_normalize("1234567", out, sizeof(out)), -1);
	assert_int_equal(phone_normalize("1234567890123456", out,
	    sizeof(out)), -1);
	assert_int_equal(phone_normalize("", out, sizeof(out)), -1);
	assert_int_equal(phone_normalize("91+98765432", out, sizeof(out)), -1);
	assert_int_equal(phone_normalize(NULL, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phone_accepts_the_forms_people_type),
		cmocka_unit_test(phone_rejects_garbage_and_bad_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
