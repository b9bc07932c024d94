/* tests/unit/test_conf.c: development defaults only in dev; secrets refused
 * when missing or still the development value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"

static void
clear(void)
{
	unsetenv("WA_ENV");
	unsetenv("WA_APP_SECRET");
	unsetenv("WA_VERIFY_TOKEN");
	unsetenv("WA_JWT_SECRET");
	unsetenv("WA_TEST_HOOKS");
	setenv("WA_DATABASE_URL", "dbname=x", 1);
}

static void
conf_dev_fills_secrets(void **state)
{
	(void)state;
	clear();
	setenv("WA_ENV", "dev", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
	assert_string_equal(conf.app_secret, "dev-app-secret");
	assert_true(conf.dev);
}

static void
conf_production_refuses_missing_secrets(void **state)
{
	(void)state;
	clear();
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 3);
}

static void
conf_production_refuses_dev_values_and_short_jwt_secret(void **state)
{
	(void)state;
	clear();
	setenv("WA_APP_SECRET", "dev-app-secret", 1);
	setenv("WA_VERIFY_TOKEN", "a-real-verify-token", 1);
	setenv("WA_JWT_SECRET", "short", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 2);
	setenv("WA_APP_SECRET", "a-real-app-secret", 1);
	setenv("WA_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
}

static void
conf_rejects_out_of_range_numbers(void **state)
{
	(void)state;
	clear();
	setenv("WA_ENV", "dev", 1);
	setenv("WA_FCGI_THREADS", "0", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 1);
	setenv("WA_FCGI_THREADS", "8x", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 1);
	setenv("WA_FCGI_THREADS", "8", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
	assert_int_equal(conf.fcgi_threads, 8);
	unsetenv("WA_FCGI_THREADS");
}

static void
conf_test_hooks_off_unless_asked_and_only_in_dev(void **state)
{
	(void)state;
	clear();
	setenv("WA_ENV", "dev", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
	assert_false(conf.test_hooks_on);
	setenv("WA_TEST_HOOKS", "yes", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 1);
	setenv("WA_TEST_HOOKS", "on", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
	assert_true(conf.test_hooks_on);

	/* Production, every secret real: WA_TEST_HOOKS=on alone refused. */
	setenv("WA_ENV", "production", 1);
	setenv("WA_APP_SECRET", "a-real-app-secret", 1);
	setenv("WA_VERIFY_TOKEN", "a-real-verify-token", 1);
	setenv("WA_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 1);
	assert_false(conf.test_hooks_on);
	unsetenv("WA_TEST_HOOKS");
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
	assert_false(conf.test_hooks_on);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_dev_fills_secrets),
		cmocka_unit_test(conf_production_refuses_missing_secrets),
		cmocka_unit_test(conf_production_refuses_dev_values_and_short_jwt_secret),
		cmocka_unit_test(conf_rejects_out_of_range_numbers),
		cmocka_unit_test(conf_test_hooks_off_unless_asked_and_only_in_dev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
