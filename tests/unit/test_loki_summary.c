/* SPDX-License-Identifier: Apache-2.0 */
/* loki_stats_loss_summary(): the exit report of undelivered log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loki.h"

static void test_nothing_lost_says_nothing(void **state)
{
	struct loki_stats s = { .entries_sent = 42, .request_errors = 3 };
	char buf[128] = "junk";

	(void)state;
	assert_int_equal(loki_stats_loss_summary(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_every_reason_is_counted(void **state)
{
	struct loki_stats s = {
		.entries_sent = 7,
		.entries_dropped_queue_full = 1,
		.entries_rejected = 2,
		.entries_dropped_failed = 3,
		.entries_dropped_shutdown = 4,
	};
	const char *want = "10 log lines not delivered (queue full 1, "
			   "rejected 2, failed 3, at shutdown 4), 7 delivered";
	char buf[256];

	(void)state;
	assert_int_equal(loki_stats_loss_summary(&s, buf, sizeof(buf)),
			 strlen(want));
	assert_string_equal(buf, want);
}

static void test_only_shutdown_losses(void **state)
{
	struct loki_stats s = { .entries_dropped_shutdown = 5 };
	char buf[256];

	(void)state;
	assert_true(loki_stats_loss_summary(&s, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "5 log lines not delivered"));
	assert_non_null(strstr(buf, "at shutdown 5"));
}

static void test_small_buffer_is_cut(void **state)
{
	struct loki_stats s = { .entries_dropped_failed = 12345 };
	char buf[8];

	(void)state;
	assert_int_equal(loki_stats_loss_summary(&s, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "12345 l");
	assert_int_equal(loki_stats_loss_summary(&s, buf, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_lost_says_nothing),
		cmocka_unit_test(test_every_reason_is_counted),
		cmocka_unit_test(test_only_shutdown_losses),
		cmocka_unit_test(test_small_buffer_is_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
