/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for W3C traceparent parsing and formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static int parse(const char *s)
{
	uint8_t t[16], p[8], f;

	return traceparent_parse(s, strlen(s), t, p, &f);
}

static void test_valid(void **state)
{
	static const uint8_t want_t[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3,
					    0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d,
					    0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t want_p[8] = { 0x00, 0xf0, 0x67, 0xaa,
					   0x0b, 0xa9, 0x02, 0xb7 };
	const char *s = "00-" TID "-" PID "-01";
	uint8_t t[16], p[8], f = 0;

	(void)state;
	assert_int_equal(strlen(s), 55);
	assert_int_equal(traceparent_parse(s, 55, t, p, &f), 0);
	assert_memory_equal(t, want_t, 16);
	assert_memory_equal(p, want_p, 8);
	assert_int_equal(f, 1);
	assert_int_equal(parse("00-" TID "-" PID "-00"), 0);
	assert_int_equal(parse("00-" TID "-" PID "-ff"), 0);
}

static void test_invalid(void **state)
{
	uint8_t t[16] = { 0 }, p[8] = { 0 }, f = 7;

	(void)state;
	assert_int_equal(parse(""), -1);
	assert_int_equal(parse("00-" TID "-" PID "-0"), -1);
	assert_int_equal(parse("00-" TID "-" PID "-01-"), -1);
	assert_int_equal(parse("00-" TID "-" PID "-01x"), -1);
	assert_int_equal(parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01"),
			 -1);
	assert_int_equal(parse("00-" TID "-00F067AA0BA902B7-01"), -1);
	assert_int_equal(parse("00-" TID "-" PID "-0A"), -1);
	assert_int_equal(parse("00-00000000000000000000000000000000-" PID "-01"),
			 -1);
	assert_int_equal(parse("00-" TID "-0000000000000000-01"), -1);
	assert_int_equal(parse("ff-" TID "-" PID "-01"), -1);
	assert_int_equal(parse("0g-" TID "-" PID "-01"), -1);
	assert_int_equal(parse("00_" TID "-" PID "-01"), -1);
	assert_int_equal(parse("00-" TID "_" PID "-01"), -1);
	assert_int_equal(parse("00-" TID "-" PID "_01"), -1);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e473z-" PID "-01"),
			 -1);
	assert_int_equal(parse(" 00-" TID "-" PID "-01"), -1);
	assert_int_equal(traceparent_parse(NULL, 55, t, p, &f), -1);
	/* outputs untouched on failure */
	assert_int_equal(parse("00-" TID "-0000000000000000-01"), -1);
	assert_int_equal(f, 7);
	assert_int_equal(t[0], 0);
	/* len counts, not the NUL */
	assert_int_equal(traceparent_parse("00-" TID "-" PID "-01", 54, t, p, &f),
			 -1);
}

static void test_future_versions(void **state)
{
	(void)state;
	assert_int_equal(parse("01-" TID "-" PID "-01"), 0);
	assert_int_equal(parse("cc-" TID "-" PID "-01-what-the-future-holds"),
			 0);
	assert_int_equal(parse("cc-" TID "-" PID "-01-"), 0);
	assert_int_equal(parse("cc-" TID "-" PID "-01x"), -1);
	assert_int_equal(parse("cc-" TID "-" PID "-0"), -1);
	assert_int_equal(parse("fe-00000000000000000000000000000000-" PID "-01"),
			 -1);
}

static void test_format_roundtrip(void **state)
{
	const uint8_t t[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
				0xfe, 0xff };
	const uint8_t s[8] = { 0xa0, 0xb1, 0, 0, 0, 0, 0, 0x01 };
	uint8_t t2[16], s2[8], f2;
	char out[56];

	(void)state;
	memset(out, 'x', sizeof(out));
	traceparent_format(t, s, 0x01, out);
	assert_string_equal(
		out, "00-0102030405060708090a0b0c0d0efeff-a0b1000000000001-01");
	assert_int_equal(traceparent_parse(out, strlen(out), t2, s2, &f2), 0);
	assert_memory_equal(t, t2, 16);
	assert_memory_equal(s, s2, 8);
	assert_int_equal(f2, 1);
	traceparent_format(t, s, 0xab, out);
	assert_string_equal(out + 52, "-ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_future_versions),
		cmocka_unit_test(test_format_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
