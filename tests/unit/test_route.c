/* tests/unit/test_route.c: the route pattern matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "req.h"
#include "route.h"

static void
route_matches_literal_path(void **state)
{
	struct req	r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(route_match("/api/v1/me", "/api/v1/me", &r));
	assert_int_equal(r.nparams, 0);
}

static void
route_fills_params_for_colon_segments(void **state)
{
	struct req	r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(route_match("/api/v1/messages/:id/read",
	    "/api/v1/messages/wamid.ABC=/read", &r));
	assert_string_equal(req_param(&r, "id"), "wamid.ABC=");
	assert_null(req_param(&r, "other"));
}

static void
route_rejects_extra_or_missing_segments(void **state)
{
	struct req	r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_false(route_match("/api/v1/media/:id", "/api/v1/media/x/y", &r));
	assert_false(route_match("/api/v1/media/:id", "/api/v1/media/", &r));
	assert_false(route_match("/api/v1/media/:id", "/api/v1/media", &r));
	assert_false(route_match("/api/v1/messages/:id/read",
	    "/api/v1/messages/x", &r));
	assert_false(route_match("/api/v1/me", "/api/v1/mex", &r));
	assert_false(route_match("/api/v1/mex", "/api/v1/me", &r));
}

static void
route_reads_two_params(void **state)
{
	struct req	r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(route_match("/a/:x/b/:y", "/a/1/b/22", &r));
	assert_string_equal(req_param(&r, "x"), "1");
	assert_string_equal(req_param(&r, "y"), "22");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_matches_literal_path),
		cmocka_unit_test(route_fills_params_for_colon_segments),
		cmocka_unit_test(route_rejects_extra_or_missing_segments),
		cmocka_unit_test(route_reads_two_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
