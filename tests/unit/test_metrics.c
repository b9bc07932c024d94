/* tests/unit/test_metrics.c: the counters' slots and indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "req.h"

static void
status_index_names_known_codes_and_lumps_the_rest(void **state)
{
	(void)state;
	assert_int_equal(metrics_status_codes[metrics_status_index(200)], 200);
	assert_int_equal(metrics_status_codes[metrics_status_index(429)], 429);
	assert_int_equal(metrics_status_index(418), METRICS_STATUSES - 1);
	assert_int_equal(metrics_status_index(0), METRICS_STATUSES - 1);
}

static void
bucket_index_takes_the_first_bound_not_below(void **state)
{
	(void)state;
	assert_int_equal(metrics_bucket_index(0), 0);
	assert_int_equal(metrics_bucket_index(5000), 0);
	assert_int_equal(metrics_bucket_index(5001), 1);
	assert_int_equal(metrics_bucket_index(10000000), METRICS_BUCKETS - 2);
	assert_int_equal(metrics_bucket_index(10000001), METRICS_BUCKETS - 1);
}

static pid_t
dead_pid(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* A replaced responder carries on from the counts of the one it replaces:
 * a dead process's slot of the same pool is taken, not a fresh one. */
static void
new_process_takes_a_dead_slot_of_its_pool_and_keeps_its_counts(void **state)
{
	char			 path[] = "/tmp/wa-metrics-test-XXXXXX";
	struct metrics_slot	*s;
	struct req		 r;
	struct stat		 st;
	size_t			 n;
	int			 fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_int_equal(metrics_init(path, "api"), 0);
	assert_int_equal(stat(path, &st), 0);
	s = metrics_slots(&n);
	assert_int_equal(n, METRICS_SLOTS);
	assert_int_equal(s[0].pid, getpid());
	assert_int_equal(s[0].pool, METRICS_POOL_API);

	memset(&r, 0, sizeof(r));
	r.route_index = -1;
	r.status = 404;
	r.start_us = mono_us();
	metrics_request(&r);
	assert_int_equal(s[0].requests[0][metrics_status_index(404)], 1);

	/* Slot 1: a webhook responder that has died, with counts. */
	s[1].pool = METRICS_POOL_WEBHOOK;
	s[1].webhooks_stored = 41;
	s[1].pid = dead_pid();
	assert_int_equal(metrics_init(path, "webhook"), 0);
	s = metrics_slots(&n);
	assert_int_equal(s[1].pid, getpid());
	assert_int_equal(s[2].pid, 0);
	metrics_webhook((const int64_t[]){ 1, 0, 0, 0, 2 }, 5);
	assert_int_equal(s[1].webhooks_stored, 42);
	assert_int_equal(s[1].webhook[METRICS_WH_DUPLICATES], 2);
	assert_int_equal(s[0].requests[0][metrics_status_index(404)], 1);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    status_index_names_known_codes_and_lumps_the_rest),
		cmocka_unit_test(bucket_index_takes_the_first_bound_not_below),
		cmocka_unit_test(
		    new_process_takes_a_dead_slot_of_its_pool_and_keeps_its_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
