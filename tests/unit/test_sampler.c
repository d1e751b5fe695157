/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for head sampling (user/sampler.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sampler.h"

/* A trace id whose last 8 bytes (the part ratio sampling reads, big
 * endian) are low; the first 8 are arbitrary. */
static const uint8_t *id(uint64_t low)
{
	static uint8_t out[16];

	memset(out, 0xab, 8);
	for (int i = 15; i >= 8; i--, low >>= 8)
		out[i] = (uint8_t)low;
	return out;
}

static bool keeps(enum ebt_sampler_kind k, double ratio, uint64_t low)
{
	struct ebt_sampler s;
	bool r;

	assert_int_equal(ebt_sampler_init(&s, k, ratio), 0);
	r = ebt_sampler_keep(&s, id(low));
	ebt_sampler_fini(&s);
	return r;
}

/* The OpenTelemetry Java SDK's rule: |random part| < ratio * INT64_MAX,
 * computed in doubles (0.5 -> 2^62), INT64_MIN's absolute value negative. */
static void test_ratio_as_the_java_sdk(void **state)
{
	(void)state;
	assert_true(keeps(EBT_SAMPLER_RATIO, 0.5, 0));
	assert_true(keeps(EBT_SAMPLER_RATIO, 0.5, 0x3fffffffffffffffull));
	assert_false(keeps(EBT_SAMPLER_RATIO, 0.5, 0x4000000000000000ull));
	assert_true(keeps(EBT_SAMPLER_RATIO, 0.5, 0xc000000000000001ull));
	assert_false(keeps(EBT_SAMPLER_RATIO, 0.5, 0xc000000000000000ull));
	assert_true(keeps(EBT_SAMPLER_RATIO, 0.5, 0x8000000000000000ull));
	assert_false(keeps(EBT_SAMPLER_RATIO, 0.5, 0x7fffffffffffffffull));
	assert_false(keeps(EBT_SAMPLER_RATIO, 0.0, 0));
	assert_false(keeps(EBT_SAMPLER_RATIO, 0.0, 0x8000000000000000ull));
	assert_true(keeps(EBT_SAMPLER_RATIO, 1.0, 0x7fffffffffffffffull));
	assert_true(keeps(EBT_SAMPLER_PB_RATIO, 0.25, 0x1fffffffffffffffull));
	assert_false(keeps(EBT_SAMPLER_PB_RATIO, 0.25, 0x2000000000000000ull));
}

static void test_on_and_off(void **state)
{
	(void)state;
	assert_true(keeps(EBT_SAMPLER_ALWAYS_ON, 0.0, 0x7fffffffffffffffull));
	assert_true(keeps(EBT_SAMPLER_PB_ON, 0.0, 0x7fffffffffffffffull));
	assert_false(keeps(EBT_SAMPLER_ALWAYS_OFF, 1.0, 0));
	assert_false(keeps(EBT_SAMPLER_PB_OFF, 1.0, 0));
}

/* Parent-based: a traceparent's sampled flag decides its trace, whatever
 * the root sampler would; the others are the root sampler's; a verdict
 * is forgotten after its time to live. Not parent-based: flags ignored. */
static void test_parent_based(void **state)
{
	struct ebt_sampler s;
	uint8_t a[16], b[16], c[16];
	const uint64_t t0 = 1000;

	(void)state;
	memcpy(a, id(1), 16);
	memcpy(b, id(2), 16);
	memcpy(c, id(0x7000000000000000ull), 16);
	assert_int_equal(ebt_sampler_init(&s, EBT_SAMPLER_PB_RATIO, 0.5), 0);
	ebt_sampler_note_parent(&s, a, false, t0);
	ebt_sampler_note_parent(&s, c, true, t0);
	assert_false(ebt_sampler_keep(&s, a));
	assert_true(ebt_sampler_keep(&s, b));
	assert_true(ebt_sampler_keep(&s, c)); /* the ratio alone: dropped */
	ebt_sampler_note_parent(&s, a, true, t0 + 1); /* as the root says */
	assert_true(ebt_sampler_keep(&s, a));
	ebt_sampler_expire(&s, t0 + EBT_SAMPLER_TTL_NS - 1);
	assert_true(ebt_sampler_keep(&s, c));
	ebt_sampler_expire(&s, t0 + EBT_SAMPLER_TTL_NS);
	assert_false(ebt_sampler_keep(&s, c));
	ebt_sampler_fini(&s);

	assert_int_equal(ebt_sampler_init(&s, EBT_SAMPLER_RATIO, 0.5), 0);
	ebt_sampler_note_parent(&s, a, false, t0);
	ebt_sampler_note_parent(&s, c, true, t0);
	assert_true(ebt_sampler_keep(&s, a));
	assert_false(ebt_sampler_keep(&s, c));
	ebt_sampler_fini(&s);
}

static void test_parse_ratio(void **state)
{
	static const char *const bad[] = {
		"", "abc", "-0.1", "1.01", "nan", "inf", "0.5x", " ", "2",
	};
	double d = -1;

	(void)state;
	assert_true(ebt_sampler_parse_ratio("0", &d) && d == 0.0);
	assert_true(ebt_sampler_parse_ratio("1", &d) && d == 1.0);
	assert_true(ebt_sampler_parse_ratio("0.25", &d) && d == 0.25);
	assert_true(ebt_sampler_parse_ratio("1e-1", &d) && d == 0.1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ebt_sampler_parse_ratio(bad[i], &d));
	assert_false(ebt_sampler_parse_ratio(NULL, &d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratio_as_the_java_sdk),
		cmocka_unit_test(test_on_and_off),
		cmocka_unit_test(test_parent_based),
		cmocka_unit_test(test_parse_ratio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
