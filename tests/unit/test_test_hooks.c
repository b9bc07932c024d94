/* tests/unit/test_test_hooks.c: X-WA-Test-Graph-Timeout-Ms changes the
 * Graph timeout of one request, and only when WA_TEST_HOOKS is on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "conf.h"
#include "graph.h"
#include "test_hooks.h"

static char *with_header[] = {
	"REQUEST_METHOD=POST",
	"HTTP_X_WA_TEST_GRAPH_TIMEOUT_MS=1000",
	NULL
};

static void
load(const char *hooks)
{
	unsetenv("WA_TEST_HOOKS");
	setenv("WA_ENV", "dev", 1);
	setenv("WA_DATABASE_URL", "dbname=x", 1);
	setenv("WA_GRAPH_TIMEOUT_MS", "15000", 1);
	if (hooks != NULL)
		setenv("WA_TEST_HOOKS", hooks, 1);
	assert_int_equal(conf_check("t", CONF_FCGI, 1), 0);
}

static void
header_ignored_without_the_setting(void **state)
{
	(void)state;
	load(NULL);
	test_hooks_begin(with_header);
	assert_int_equal(graph_timeout_ms(), 15000);
	test_hooks_end();
}

static void
header_sets_the_timeout_for_one_request(void **state)
{
	(void)state;
	load("on");
	test_hooks_begin(with_header);
	assert_int_equal(graph_timeout_ms(), 1000);
	test_hooks_end();
	assert_int_equal(graph_timeout_ms(), 15000);
}

static void
out_of_range_values_are_ignored(void **state)
{
	char	*low[] = { "HTTP_X_WA_TEST_GRAPH_TIMEOUT_MS=5", NULL };
	char	*junk[] = { "HTTP_X_WA_TEST_GRAPH_TIMEOUT_MS=1s", NULL };

	(void)state;
	load("on");
	test_hooks_begin(low);
	assert_int_equal(graph_timeout_ms(), 15000);
	test_hooks_begin(junk);
	assert_int_equal(graph_timeout_ms(), 15000);
	test_hooks_end();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_ignored_without_the_setting),
		cmocka_unit_test(header_sets_the_timeout_for_one_request),
		cmocka_unit_test(out_of_range_values_are_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
