/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Captured stdout/stderr records -> line assembler (logcapture.c), on
 * synthetic ring records: a big write's pieces joined per thread, a lost
 * piece, a write whose last piece never comes, and naming a child that
 * exec'd and is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logs.h"
#include "resource.h"
#include "tracer.h"

#define MAX_RECS 16
#define GONE_PID 0x3ffffff0u /* above pid_max: never a live process */

struct rec {
	char text[128];
	uint32_t tgid, tid, stream, flags;
};

struct fixture {
	struct ebt_config cfg;
	struct ebt_tracer t;
	struct rec recs[MAX_RECS];
	unsigned n;
	uint64_t now;
};

static void no_spans(void *ctx, struct ebt_span *s)
{
	(void)ctx;
	ebt_span_free(s);
}

static void collect(void *ctx, const struct ebt_log_record *r)
{
	struct fixture *f = ctx;
	struct rec *x;

	assert_true(f->n < MAX_RECS);
	x = &f->recs[f->n++];
	snprintf(x->text, sizeof(x->text), "%.*s", (int)r->len, r->line);
	x->tgid = r->tgid;
	x->tid = r->tid;
	x->stream = r->stream;
	x->flags = r->flags;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ebt_logs_config lc;

	assert_non_null(f);
	f->now = 1000000;
	assert_int_equal(ebt_tracer_init(&f->t, &f->cfg, no_spans, NULL), 0);
	ebt_logs_config_default(&lc);
	lc.multiline = false;
	f->t.logs = ebt_logs_new(&lc, collect, f);
	assert_non_null(f->t.logs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ebt_logs_free(f->t.logs);
	ebt_tracer_fini(&f->t);
	free(f);
	return 0;
}

/* One EBT_EV_LOG record: a piece at off of a write of total bytes. */
static void piece(struct fixture *f, uint32_t tgid, uint32_t tid,
		  uint64_t off, bool more, const char *data, uint32_t total)
{
	size_t n = strlen(data), size = offsetof(struct ebt_ev_data, payload) + n;
	struct ebt_ev_data *e = calloc(1, size);

	assert_non_null(e);
	e->hdr.type = EBT_EV_LOG;
	e->hdr.tgid = tgid;
	e->hdr.tid = tid;
	e->hdr.fd = 1;
	e->hdr.ts_ns = f->now;
	e->hdr.conn_start_ns = off;
	e->direction = EBT_DIR_EGRESS;
	e->role = EBT_LOG_STDOUT;
	e->total_len = total;
	e->cap_len = (uint32_t)n;
	e->seq = more;
	memcpy(e->payload, data, n);
	ebt_tracer_handle(&f->t, e, size);
	free(e);
	f->now += 1000;
}

static void whole(struct fixture *f, uint32_t tgid, uint32_t tid,
		  const char *data)
{
	piece(f, tgid, tid, 0, false, data, (uint32_t)strlen(data));
}

static void proc_event(struct fixture *f, uint32_t type, uint32_t tgid,
		       uint32_t child)
{
	struct ebt_ev_proc e = {
		.hdr = {.type = type, .tgid = tgid, .tid = tgid,
			.ts_ns = f->now},
		.child_tgid = child,
	};

	ebt_tracer_handle(&f->t, &e, sizeof(e));
}

static void assert_rec(const struct fixture *f, unsigned i, const char *text,
		       uint32_t tid, uint32_t flags)
{
	assert_true(i < f->n);
	assert_string_equal(f->recs[i].text, text);
	assert_int_equal(f->recs[i].tid, tid);
	assert_int_equal(f->recs[i].flags, flags);
}

/* Another thread's write lands between two pieces of a big write: each
 * write stays whole. */
static void test_pieces_joined_per_thread(void **state)
{
	struct fixture *f = *state;

	piece(f, 10, 11, 0, true, "hello ", 12);
	whole(f, 10, 12, "other thread\n");
	piece(f, 10, 11, 6, false, "world\n", 12);
	ebt_logs_flush_all(f->t.logs);
	assert_int_equal(f->n, 2);
	assert_rec(f, 0, "other thread", 12, 0);
	assert_rec(f, 1, "hello world", 11, 0);
	assert_int_equal(f->t.stats.log_writes, 2);
}

/* A piece lost in the ring: the write is cut where it went missing, and
 * the next write, after a last piece that ended the line, starts whole. */
static void test_lost_piece_cuts_the_write(void **state)
{
	struct fixture *f = *state;

	piece(f, 10, 11, 0, true, "line one\nline tw", 38);
	/* the piece at 16 was lost */
	piece(f, 10, 11, 32, false, "three\n", 38);
	whole(f, 10, 11, "next\n");
	ebt_logs_flush_all(f->t.logs);
	assert_int_equal(f->n, 3);
	assert_rec(f, 0, "line one", 11, 0);
	assert_rec(f, 1, "line tw", 11, EBT_LOG_TRUNCATED);
	assert_rec(f, 2, "next", 11, 0);
}

/* The first piece was lost: the later ones are counted lost, not glued
 * to whatever the stream held. */
static void test_first_piece_lost(void **state)
{
	struct fixture *f = *state;
	struct ebt_logs_stats st;

	whole(f, 10, 11, "before ");
	piece(f, 10, 11, 8191, false, "tail of a write\n", 8207);
	whole(f, 10, 11, "after\n");
	ebt_logs_flush_all(f->t.logs);
	assert_int_equal(f->n, 2);
	assert_rec(f, 0, "before ", 11, EBT_LOG_TRUNCATED);
	assert_rec(f, 1, "after", 11, EBT_LOG_TRUNCATED);
	ebt_logs_stats(f->t.logs, &st);
	assert_int_equal(st.bytes_lost, 16);
}

/* The last piece never came: the next write of the thread, the process's
 * exit or a tick a second later feeds what there is. */
static void test_write_without_its_last_piece(void **state)
{
	struct fixture *f = *state;

	piece(f, 10, 11, 0, true, "cut by a new write", 30);
	whole(f, 10, 11, "new\n");
	piece(f, 20, 21, 0, true, "cut by the exit", 30);
	proc_event(f, EBT_EV_PROC_EXIT, 20, 0);
	piece(f, 30, 31, 0, true, "cut by time", 30);
	ebt_tracer_tick(&f->t, f->now + 500000000ull);
	assert_int_equal(f->n, 3);
	ebt_tracer_tick(&f->t, f->now + 2000000000ull);
	assert_int_equal(f->n, 4);
	assert_rec(f, 0, "cut by a new write", 11, EBT_LOG_TRUNCATED);
	assert_rec(f, 1, "new", 11, EBT_LOG_TRUNCATED);
	assert_rec(f, 2, "cut by the exit", 21, EBT_LOG_TRUNCATED);
	assert_rec(f, 3, "cut by time", 31, EBT_LOG_TRUNCATED);
}

/* A child that exec'd /bin/sh (a link to dash) and is gone when its line
 * is read: named after the file it runs, as /proc/<pid>/exe would have
 * said, with its own pid, not after its parent's program. */
static void test_gone_child_named_by_its_exec(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_exec x = {
		.hdr = {.type = EBT_EV_PROC_EXEC, .tgid = GONE_PID,
			.tid = GONE_PID, .ts_ns = f->now},
		.comm = "sh",
		.exe = "dash",
	};
	struct ebt_resource *r;

	proc_event(f, EBT_EV_PROC_FORK, (uint32_t)getpid(), GONE_PID);
	ebt_tracer_handle(&f->t, &x, sizeof(x));
	whole(f, GONE_PID, GONE_PID, "from sh\n");
	r = ebt_resources_get(f->t.resources, GONE_PID, NULL);
	assert_non_null(r);
	assert_string_equal(ebt_resource_get(r, "process.executable.name"),
			    "dash");
	ebt_logs_flush_all(f->t.logs);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->recs[0].tgid, GONE_PID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pieces_joined_per_thread,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_piece_cuts_the_write,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_piece_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_write_without_its_last_piece, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_gone_child_named_by_its_exec, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
