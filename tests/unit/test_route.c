/* tests/unit/test_route.c: the route pattern matcher, and which routes
 * API keys may call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apikey.h"
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

/* 1 when a key with these scopes may call method on path. */
static int
key_may(int method, const char *path, unsigned scopes)
{
	const struct route	*rt;
	struct req		 r;
	int			 known;

	memset(&r, 0, sizeof(r));
	rt = route_find(method, path, &r, &known);
	assert_non_null(rt);
	return route_key_may(rt->flags, scopes);
}

static void
route_lets_a_read_key_read_but_not_write(void **state)
{
	(void)state;
	assert_true(key_may(REQ_GET, "/api/v1/events", APIKEY_SCOPE_READ));
	assert_true(key_may(REQ_GET, "/api/v1/conversations/919876543210",
	    APIKEY_SCOPE_READ));
	assert_true(key_may(REQ_GET, "/api/v1/media/m1", APIKEY_SCOPE_READ));
	assert_false(key_may(REQ_POST, "/api/v1/send/text",
	    APIKEY_SCOPE_READ));
	assert_false(key_may(REQ_POST, "/api/v1/upload/media",
	    APIKEY_SCOPE_READ));
	assert_false(key_may(REQ_POST, "/_internal/media-upload-auth",
	    APIKEY_SCOPE_READ));
	assert_false(key_may(REQ_DELETE, "/api/v1/conversations/919876543210",
	    APIKEY_SCOPE_READ));
}

static void
route_lets_a_send_key_act_but_not_read_messages(void **state)
{
	(void)state;
	assert_true(key_may(REQ_POST, "/api/v1/send/template",
	    APIKEY_SCOPE_SEND));
	assert_true(key_may(REQ_POST, "/api/v1/messages/wamid.X/read",
	    APIKEY_SCOPE_SEND));
	assert_true(key_may(REQ_POST, "/api/v1/conversations/1234/typing",
	    APIKEY_SCOPE_SEND));
	assert_true(key_may(REQ_DELETE, "/api/v1/messages/wamid.X/reaction",
	    APIKEY_SCOPE_SEND));
	assert_false(key_may(REQ_GET, "/api/v1/events", APIKEY_SCOPE_SEND));
	assert_false(key_may(REQ_GET, "/api/v1/conversations",
	    APIKEY_SCOPE_SEND));
	/* Which tenant am I: any key. */
	assert_true(key_may(REQ_GET, "/api/v1/tenant", APIKEY_SCOPE_SEND));
	assert_true(key_may(REQ_GET, "/api/v1/tenant", APIKEY_SCOPE_READ));
}

static void
route_refuses_every_key_on_user_session_routes(void **state)
{
	unsigned	all = APIKEY_SCOPE_READ | APIKEY_SCOPE_SEND;

	(void)state;
	assert_false(key_may(REQ_POST, "/api/v1/auth/logout", all));
	assert_false(key_may(REQ_GET, "/api/v1/me", all));
	assert_false(key_may(REQ_POST, "/api/v1/ws-ticket", all));
}

/* A guard for routes added later: whatever a row says, a read-only key
 * never reaches anything but a GET, nor anything that calls Meta on a
 * write. */
static void
route_table_never_lets_a_read_key_write(void **state)
{
	const struct route	*t;
	size_t			 n, i;

	(void)state;
	t = route_table(&n);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		if (t[i].method == REQ_GET || !(t[i].flags & AUTH_USER))
			continue;
		if (route_key_may(t[i].flags, APIKEY_SCOPE_READ))
			fail_msg("%s lets a read-only key write", t[i].pattern);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_matches_literal_path),
		cmocka_unit_test(route_fills_params_for_colon_segments),
		cmocka_unit_test(route_rejects_extra_or_missing_segments),
		cmocka_unit_test(route_reads_two_params),
		cmocka_unit_test(route_lets_a_read_key_read_but_not_write),
		cmocka_unit_test(route_lets_a_send_key_act_but_not_read_messages),
		cmocka_unit_test(route_refuses_every_key_on_user_session_routes),
		cmocka_unit_test(route_table_never_lets_a_read_key_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
