/* tests/unit/test_user_slots.c: the per-user cap on requests waiting on
 * Meta. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "user_slots.h"

#define ALICE	"00000000-0000-0000-0000-00000000000a"
#define BOB	"00000000-0000-0000-0000-00000000000b"

static int
table_of_8_capped_at_2(void **state)
{
	(void)state;
	user_slots_init(8, 2);
	return 0;
}

static int
table_free(void **state)
{
	(void)state;
	user_slots_free();
	return 0;
}

static void
user_slots_refuse_a_user_past_the_cap(void **state)
{
	int	a1, a2;

	(void)state;
	assert_true((a1 = user_slots_take(ALICE)) >= 0);
	assert_true((a2 = user_slots_take(ALICE)) >= 0);
	assert_int_equal(user_slots_take(ALICE), -1);
	user_slots_give(a1);
	user_slots_give(a2);
}

static void
user_slots_keep_other_users_free_of_ones_cap(void **state)
{
	int	a1, a2, b;

	(void)state;
	a1 = user_slots_take(ALICE);
	a2 = user_slots_take(ALICE);
	assert_true((b = user_slots_take(BOB)) >= 0);
	assert_int_not_equal(b, a1);
	user_slots_give(b);
	user_slots_give(a1);
	user_slots_give(a2);
}

static void
user_slots_take_again_after_a_give(void **state)
{
	int	a1, a2, a3;

	(void)state;
	a1 = user_slots_take(ALICE);
	a2 = user_slots_take(ALICE);
	user_slots_give(a2);
	assert_true((a3 = user_slots_take(ALICE)) >= 0);
	user_slots_give(a3);
	user_slots_give(a1);
	user_slots_give(-1);		/* a request that held nothing */
}

static void
user_slots_default_cap_is_a_quarter_of_the_threads(void **state)
{
	(void)state;
	assert_int_equal(user_slots_default_cap(32), 8);
	assert_int_equal(user_slots_default_cap(4), 1);
	assert_int_equal(user_slots_default_cap(1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_slots_refuse_a_user_past_the_cap),
		cmocka_unit_test(user_slots_keep_other_users_free_of_ones_cap),
		cmocka_unit_test(user_slots_take_again_after_a_give),
		cmocka_unit_test(
		    user_slots_default_cap_is_a_quarter_of_the_threads),
	};

	return cmocka_run_group_tests(tests, table_of_8_capped_at_2,
	    table_free);
}
