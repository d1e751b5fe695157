/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The export worker's queue on its own: batching by cost, order kept while
 * the ring grows and wraps, the ring's bound, shutdown losses and their
 * summary. The sender here records items instead of posting them, so no
 * HTTP is involved (the exporters' tests cover that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export_worker.h"

#define MAX_ITEMS 6000
#define MAX_BATCH 64

struct sink {
	struct ew_worker *w;
	uintptr_t batch[MAX_BATCH];
	size_t batch_n;
	uintptr_t seen[MAX_ITEMS];
	size_t seen_n;
	size_t batches;
	size_t largest;
	unsigned first_send_ms; /* the first send stalls this long */
	size_t freed;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int sink_take(void *ctx, void *item)
{
	struct sink *k = ctx;

	if (k->batch_n == MAX_BATCH)
		return -1;
	k->batch[k->batch_n++] = (uintptr_t)item;
	return 0;
}

static void sink_send(void *ctx)
{
	struct sink *k = ctx;

	if (k->batches++ == 0 && k->first_send_ms)
		sleep_ms(k->first_send_ms);
	for (size_t i = 0; i < k->batch_n && k->seen_n < MAX_ITEMS; i++)
		k->seen[k->seen_n++] = k->batch[i];
	if (k->batch_n > k->largest)
		k->largest = k->batch_n;
	ew_account(k->w, EW_OUT_SENT, k->batch_n);
	k->batch_n = 0;
}

static void free_item(void *item)
{
	(void)item; /* items are numbers, not allocations */
}

static void report(void *ctx, const struct ew_stats *s, void *out)
{
	(void)ctx;
	*(struct ew_stats *)out = *s;
}

static const struct ew_ops ops = {
	.name = "test",
	.unit = "items",
	.content_type = "text/plain",
	.min_item_bytes = 1,
	.take = sink_take,
	.send = sink_send,
	.free_item = free_item,
	.report = report,
};

static struct ew_worker *start(struct sink *k, struct ew_config *c,
			       const struct ew_ops *o)
{
	char err[256];

	c->url = "http://127.0.0.1:1/"; /* never contacted */
	k->w = ew_new(c, o, k, err, sizeof(err));
	if (!k->w || ew_start(k->w, err, sizeof(err)) != 0)
		fail_msg("worker: %s", err);
	return k->w;
}

/* Thousands queued behind a stalled send: the ring grows (while its head
 * is not at 0), every item is sent once, in order, in batches of cost. */
static void test_order_kept_while_ring_grows(void **state)
{
	struct ew_config c = { .queue_bytes = 1 << 20, .batch_cost = 50,
			       .batch_timeout_ms = 10 };
	struct sink *k = calloc(1, sizeof(*k));
	struct ew_stats st;

	(void)state;
	assert_non_null(k);
	k->first_send_ms = 200;
	start(k, &c, &ops);
	for (uintptr_t i = 1; i <= 5000; i++)
		assert_true(ew_submit(k->w, (void *)i, 1, 1));
	ew_stats(k->w, &st);
	assert_true(st.queue_items > 4000); /* the worker was stalled */
	ew_shutdown(k->w, 5000, &st);
	assert_int_equal(st.queued, 5000);
	assert_int_equal(st.sent, 5000);
	assert_int_equal(st.queue_bytes, 0);
	assert_int_equal(k->seen_n, 5000);
	for (size_t i = 0; i < k->seen_n; i++)
		assert_int_equal(k->seen[i], i + 1);
	assert_int_equal(k->largest, 50);
	free(k);
}

/* The ring holds what queue_bytes of the smallest items need, no more. */
static void test_ring_bound_and_shutdown_losses(void **state)
{
	struct ew_config c = { .queue_bytes = 1000, .batch_cost = 1000,
			       .batch_timeout_ms = 60000 };
	struct ew_ops o = ops;
	struct sink *k = calloc(1, sizeof(*k));
	struct ew_stats st;
	char buf[256];
	unsigned ok = 0;
	size_t n;

	(void)state;
	assert_non_null(k);
	o.min_item_bytes = 100; /* at most 1000 / 100 + 1 = 11 slots */
	start(k, &c, &o);
	for (uintptr_t i = 1; i <= 20; i++)
		ok += ew_submit(k->w, (void *)i, 1, 1);
	assert_int_equal(ok, 11);
	assert_false(ew_submit(k->w, NULL, 1, 1)); /* no item: dropped */
	ew_shutdown(k->w, 0, &st);
	assert_int_equal(st.queued, 11);
	assert_int_equal(st.dropped_queue_full, 10);
	assert_int_equal(st.dropped_shutdown, 11);
	assert_int_equal(st.queue_bytes, 0);
	n = ew_loss_summary(&st, "items", buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "21 items not delivered (queue full 10, "
			    "rejected 0, failed 0, at shutdown 11), 0 "
			    "delivered");
	free(k);
}

/* A batch is due at batch_cost, or when its oldest item waited long. */
static void test_batch_due_by_cost_or_age(void **state)
{
	struct ew_config c = { .queue_bytes = 1 << 20, .batch_cost = 100,
			       .batch_timeout_ms = 300 };
	struct sink *k = calloc(1, sizeof(*k));
	struct ew_stats st;

	(void)state;
	assert_non_null(k);
	start(k, &c, &ops);
	assert_true(ew_submit(k->w, (void *)1, 1, 60));
	assert_true(ew_submit(k->w, (void *)2, 1, 60)); /* 120 >= 100: due */
	sleep_ms(100);
	ew_stats(k->w, &st);
	assert_int_equal(st.sent, 2);
	assert_true(ew_submit(k->w, (void *)3, 1, 1));
	sleep_ms(100);
	ew_stats(k->w, &st);
	assert_int_equal(st.sent, 2); /* not yet 300 ms old */
	sleep_ms(400);
	ew_stats(k->w, &st);
	assert_int_equal(st.sent, 3);
	ew_shutdown(k->w, 1000, &st);
	assert_int_equal(k->batches, 2);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_kept_while_ring_grows),
		cmocka_unit_test(test_ring_bound_and_shutdown_losses),
		cmocka_unit_test(test_batch_due_by_cost_or_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
