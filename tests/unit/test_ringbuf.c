/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ebt_ring_walk() on memory laid out like the kernel's ring data area:
 * records that wrap past the end come out whole, discarded records are
 * passed over, a record still being written stops the walk, and the
 * consumer position moves record by record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/bpf.h>

#include "ringbuf.h"

#define SIZE 64u /* data bytes: a power of two, like the kernel's */

struct seen {
	int n;
	size_t len[8];
	uint8_t bytes[8][SIZE];
	int fail_at; /* handler returns -5 on this record (1-based), or 0 */
};

static int record(void *ctx, const void *data, size_t len)
{
	struct seen *s = ctx;

	s->n++;
	if (s->fail_at == s->n)
		return -5;
	s->len[s->n - 1] = len;
	memcpy(s->bytes[s->n - 1], data, len);
	return 0;
}

/* Write a record with header flags at stream position pos, its payload
 * bytes counting up from first; returns the next record's position. */
static uint64_t put(uint8_t *ring, uint64_t pos, uint32_t len, uint32_t flags,
		    uint8_t first)
{
	uint32_t hdr[2] = { len | flags, 0 };

	memcpy(ring + (pos & (SIZE - 1)), hdr, sizeof(hdr));
	for (uint32_t i = 0; i < len; i++)
		ring[(pos + 8 + i) & (SIZE - 1)] = (uint8_t)(first + i);
	return pos + ((len + 8 + 7) & ~7u);
}

static void assert_counting(const struct seen *s, int i, size_t len,
			    uint8_t first)
{
	assert_int_equal(s->len[i], len);
	for (size_t k = 0; k < len; k++)
		assert_int_equal(s->bytes[i][k], (uint8_t)(first + k));
}

static void test_wrapped_record_is_whole(void **state)
{
	uint8_t ring[SIZE] = { 0 };
	struct ebt_ring_scratch sc = { 0 };
	struct seen s = { 0 };
	uint64_t cons = 40, prod = 40;

	(void)state;
	prod = put(ring, prod, 5, 0, 10);   /* 40..53 */
	prod = put(ring, prod, 20, 0, 100); /* 56: payload 64..83 wraps */
	assert_int_equal(ebt_ring_walk(ring, SIZE, &cons, prod, &sc, record,
				       &s),
			 2);
	assert_counting(&s, 0, 5, 10);
	assert_counting(&s, 1, 20, 100);
	assert_int_equal(cons, prod);
	free(sc.buf);
}

static void test_discard_and_busy(void **state)
{
	uint8_t ring[SIZE] = { 0 };
	struct ebt_ring_scratch sc = { 0 };
	struct seen s = { 0 };
	uint64_t cons = 0, prod = 0, busy;

	(void)state;
	prod = put(ring, prod, 3, BPF_RINGBUF_DISCARD_BIT, 1);
	prod = put(ring, prod, 4, 0, 50);
	busy = prod;
	prod = put(ring, prod, 6, BPF_RINGBUF_BUSY_BIT, 70);
	assert_int_equal(ebt_ring_walk(ring, SIZE, &cons, prod, &sc, record,
				       &s),
			 1);
	assert_counting(&s, 0, 4, 50);
	assert_int_equal(cons, busy); /* waits for the busy one */
	put(ring, busy, 6, 0, 70);   /* committed */
	assert_int_equal(ebt_ring_walk(ring, SIZE, &cons, prod, &sc, record,
				       &s),
			 1);
	assert_counting(&s, 1, 6, 70);
	assert_int_equal(cons, prod);
	free(sc.buf);
}

static void test_handler_error_stops(void **state)
{
	uint8_t ring[SIZE] = { 0 };
	struct ebt_ring_scratch sc = { 0 };
	struct seen s = { .fail_at = 2 };
	uint64_t cons = 0, prod = 0, second;

	(void)state;
	prod = put(ring, prod, 8, 0, 1);
	second = prod;
	prod = put(ring, prod, 8, 0, 2);
	prod = put(ring, prod, 8, 0, 3);
	assert_int_equal(ebt_ring_walk(ring, SIZE, &cons, prod, &sc, record,
				       &s),
			 -5);
	/* the failed record counts as consumed; the third is left */
	assert_int_equal(cons, second + 16);
	free(sc.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrapped_record_is_whole),
		cmocka_unit_test(test_discard_and_busy),
		cmocka_unit_test(test_handler_error_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
