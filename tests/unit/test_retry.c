/* SPDX-License-Identifier: Apache-2.0 */
/* retry_policy(): the table of retried statuses, backoff and Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "otlp.h"

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW ((time_t)784111777)

struct retry_case {
	int status;
	int attempt;
	const char *retry_after;
	double jitter;
	int64_t want;
};

static const struct retry_case cases[] = {
	/* not retried */
	{ 200, 1, NULL, 0.0, -1 },
	{ 204, 1, NULL, 0.0, -1 },
	{ 400, 1, NULL, 0.0, -1 },
	{ 400, 1, "5", 0.0, -1 },
	{ 401, 1, NULL, 0.0, -1 },
	{ 403, 1, NULL, 0.0, -1 },
	{ 404, 1, NULL, 0.0, -1 },
	{ 413, 1, NULL, 0.0, -1 },
	{ 413, 2, "1", 0.0, -1 },
	{ 500, 1, NULL, 0.0, -1 },
	{ 501, 1, NULL, 0.0, -1 },
	/* backoff: 500 ms * 2^(attempt-1), jitter adds up to +50% */
	{ 0, 1, NULL, 0.0, 500 },
	{ 0, 2, NULL, 0.0, 1000 },
	{ 0, 3, NULL, 0.0, 2000 },
	{ 0, 4, NULL, 0.0, 4000 },
	{ 0, 5, NULL, 0.0, 8000 },
	{ 0, 6, NULL, 0.0, -1 }, /* attempts exhausted */
	{ 0, 7, NULL, 0.0, -1 },
	{ 0, 0, NULL, 0.0, 500 }, /* attempt < 1 is the first */
	{ 429, 1, NULL, 0.0, 500 },
	{ 502, 2, NULL, 0.0, 1000 },
	{ 503, 3, NULL, 0.0, 2000 },
	{ 504, 4, NULL, 0.0, 4000 },
	{ 503, 1, NULL, 0.5, 625 },
	{ 503, 2, NULL, 0.999, 1499 },
	{ 503, 1, NULL, -3.0, 500 }, /* out-of-range jitter clamped */
	{ 503, 1, NULL, 7.0, 749 },
	/* Retry-After: delta-seconds */
	{ 503, 1, "1", 0.9, 1000 },
	{ 429, 3, "0", 0.0, 0 },
	{ 503, 1, " 7 ", 0.0, 7000 },
	{ 503, 1, "60", 0.0, 60000 },
	{ 503, 1, "61", 0.0, 60000 },      /* capped at 60 s */
	{ 503, 1, "999999999999999999999999", 0.0, 60000 },
	{ 503, 5, "2", 0.0, 2000 },
	{ 503, 6, "2", 0.0, -1 },          /* still bounded by attempts */
	/* Retry-After: HTTP-date, all three forms */
	{ 503, 1, "Sun, 06 Nov 1994 08:49:47 GMT", 0.0, 10000 },
	{ 429, 1, "Sunday, 06-Nov-94 08:49:57 GMT", 0.0, 20000 },
	{ 503, 1, "Sun Nov  6 08:49:42 1994", 0.0, 5000 },
	{ 503, 1, "Sun, 06 Nov 1994 08:40:00 GMT", 0.0, 0 }, /* past */
	{ 503, 1, "Sun, 06 Nov 1994 09:49:37 GMT", 0.0, 60000 }, /* cap */
	/* malformed Retry-After: ignored, plain backoff */
	{ 503, 1, "", 0.0, 500 },
	{ 503, 2, "soon", 0.0, 1000 },
	{ 503, 1, "-5", 0.0, 500 },
	{ 503, 1, "1.5", 0.0, 500 },
	{ 503, 1, "Sun, 06 Nov 1994 08:49:47", 0.0, 500 },
	{ 503, 1, "Sun, 06 Nov 1994 08:49:47 GMT trailing", 0.0, 500 },
};

static void test_policy_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct retry_case *c = &cases[i];
		int64_t got = retry_policy_at(c->status, c->attempt,
					      c->retry_after, c->jitter, NOW);

		if (got != c->want)
			fail_msg("case %zu: status %d attempt %d ra '%s' "
				 "jitter %.3f: got %lld want %lld",
				 i, c->status, c->attempt,
				 c->retry_after ? c->retry_after : "(null)",
				 c->jitter, (long long)got,
				 (long long)c->want);
	}
}

/* Delays grow with the attempt number and never exceed 30 s. */
static void test_backoff_monotonic(void **state)
{
	int64_t prev = 0;

	(void)state;
	assert_int_equal(retry_policy_at(503, 5, NULL, 0.999, NOW), 11996);
	for (int a = 1; a < 6; a++) {
		int64_t d = retry_policy_at(0, a, NULL, 0.999, NOW);

		assert_true(d > prev && d <= 30000);
		prev = d;
	}
}

/* Without an explicit clock: a date far in the future is capped. */
static void test_wall_clock(void **state)
{
	(void)state;
	assert_int_equal(retry_policy(503, 1, "Fri, 01 Jan 2100 00:00:00 GMT",
				      0.0),
			 60000);
	assert_int_equal(retry_policy(503, 1, "Thu, 01 Jan 1970 00:00:00 GMT",
				      0.0),
			 0);
	assert_int_equal(retry_policy(400, 1, NULL, 0.0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_backoff_monotonic),
		cmocka_unit_test(test_wall_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
