/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log line assembler: every line shape of issue 4 (short, over the limit,
 * no trailing newline, interleaved streams, many small writes, a burst,
 * Java stack traces, invalid UTF-8, NUL, CRLF), plus lost bytes, memory
 * bounds, timestamps and severity detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "console.h"
#include "logs.h"

#define SEC 1000000000ull

struct rec {
	struct ebt_log_record r; /* r.line points to text */
	char *text;
};

struct sink {
	struct rec *v;
	size_t n, cap;
};

static void collect(void *ctx, const struct ebt_log_record *r)
{
	struct sink *k = ctx;

	assert_int_equal(r->line[r->len], '\0');
	assert_int_equal(strlen(r->line), r->len); /* no NUL inside */
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		assert_non_null(k->v);
	}
	k->v[k->n].r = *r;
	k->v[k->n].text = strndup(r->line, r->len);
	assert_non_null(k->v[k->n].text);
	k->v[k->n].r.line = k->v[k->n].text;
	k->n++;
}

static void sink_clear(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].text);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

struct fx {
	struct ebt_logs *l;
	struct sink k;
	uint64_t now;
};

static struct fx *fx_new(const struct ebt_logs_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ebt_logs_config def;

	assert_non_null(f);
	if (!cfg) {
		ebt_logs_config_default(&def);
		cfg = &def;
	}
	f->l = ebt_logs_new(cfg, collect, &f->k);
	assert_non_null(f->l);
	f->now = 1000 * SEC;
	return f;
}

static void fx_free(struct fx *f)
{
	ebt_logs_free(f->l);
	sink_clear(&f->k);
	free(f);
}

static void feed_ex(struct fx *f, uint32_t tgid, uint32_t tid, int stream,
		    const void *data, size_t n, size_t total,
		    const struct ebt_log_ctx *ctx)
{
	struct ebt_log_chunk c = {
		.tgid = tgid, .tid = tid, .stream = (uint8_t)stream,
		.ts_ns = f->now, .data = data, .cap_len = (uint32_t)n,
		.total_len = (uint32_t)total, .ctx = ctx,
	};

	ebt_logs_feed(f->l, &c);
	f->now += 1000; /* 1 us between writes */
}

static void feed(struct fx *f, int stream, const char *s)
{
	feed_ex(f, 100, 100, stream, s, strlen(s), strlen(s), NULL);
}

static void feedn(struct fx *f, int stream, const void *s, size_t n)
{
	feed_ex(f, 100, 100, stream, s, n, n, NULL);
}

static void assert_texts(const struct fx *f, size_t n, ...)
{
	va_list ap;

	if (f->k.n != n) {
		for (size_t i = 0; i < f->k.n; i++)
			print_message("record %zu: '%s'\n", i, f->k.v[i].text);
		fail_msg("%zu records, expected %zu", f->k.n, n);
	}
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(f->k.v[i].text, va_arg(ap, const char *));
	va_end(ap);
}

static struct ebt_log_ctx make_ctx(uint8_t seed)
{
	struct ebt_log_ctx c;

	memset(c.trace_id, seed, sizeof(c.trace_id));
	memset(c.span_id, (uint8_t)(seed + 1), sizeof(c.span_id));
	return c;
}

/* ---- line shapes --------------------------------------------------------- */

static void test_short_lines(void **state)
{
	struct fx *f = fx_new(NULL);
	struct ebt_logs_stats st;

	(void)state;
	feed(f, EBT_LOG_STDOUT, "hello\n");
	feed(f, EBT_LOG_STDOUT, "one\ntwo\nthree\n");
	feed(f, EBT_LOG_STDOUT, "\n"); /* an empty line is a line */
	ebt_logs_flush_all(f->l);
	assert_texts(f, 5, "hello", "one", "two", "three", "");
	for (size_t i = 0; i < f->k.n; i++) {
		assert_int_equal(f->k.v[i].r.flags, 0);
		assert_int_equal(f->k.v[i].r.lines, 1);
		assert_int_equal(f->k.v[i].r.tgid, 100);
		assert_int_equal(f->k.v[i].r.stream, EBT_LOG_STDOUT);
		assert_false(f->k.v[i].r.has_ctx);
	}
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.lines, 5);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.bytes_in, 6 + 14 + 1);
	assert_int_equal(st.streams, 0);
	assert_int_equal(st.buffered_bytes, 0);
	fx_free(f);
}

/* Without multiline, a complete line leaves at once. */
static void test_emitted_at_newline(void **state)
{
	struct ebt_logs_config cfg;
	struct fx *f;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.multiline = false;
	f = fx_new(&cfg);
	feed(f, EBT_LOG_STDOUT, "a\nb");
	assert_texts(f, 1, "a");
	feed(f, EBT_LOG_STDOUT, "c\n");
	assert_texts(f, 2, "a", "bc");
	fx_free(f);
}

static void test_many_small_writes(void **state)
{
	const char *line = "GET /api/items/42 200 in 3.2ms — ok ✓";
	struct ebt_log_ctx a = make_ctx(0xaa), b = make_ctx(0xbb);
	struct fx *f = fx_new(NULL);
	uint64_t first_ts = f->now;

	(void)state;
	/* one byte per write; the span changes half way: the first wins */
	for (size_t i = 0; line[i]; i++)
		feed_ex(f, 100, 7, EBT_LOG_STDOUT, line + i, 1, 1,
			i < 10 ? &a : &b);
	feed_ex(f, 100, 8, EBT_LOG_STDOUT, "\n", 1, 1, &b);
	assert_int_equal(f->k.n, 0); /* held for multiline */
	ebt_logs_flush_all(f->l);
	assert_texts(f, 1, line);
	assert_true(f->k.v[0].r.has_ctx);
	assert_memory_equal(f->k.v[0].r.trace_id, a.trace_id, 16);
	assert_memory_equal(f->k.v[0].r.span_id, a.span_id, 8);
	assert_int_equal(f->k.v[0].r.tid, 7);
	assert_int_equal(f->k.v[0].r.ts_ns, first_ts);
	assert_int_equal(f->k.v[0].r.flags, 0);
	fx_free(f);
}

static void test_no_newline_flushed_by_tick(void **state)
{
	struct ebt_logs_config cfg;
	struct ebt_logs_stats st;
	struct fx *f;
	uint64_t t0;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.flush_timeout_ns = 500000000ull; /* 500 ms */
	f = fx_new(&cfg);
	t0 = f->now;
	feed(f, EBT_LOG_STDERR, "Password: ");
	ebt_logs_tick(f->l, t0 + 100000000ull);
	assert_int_equal(f->k.n, 0);
	ebt_logs_tick(f->l, t0 + 499000000ull);
	assert_int_equal(f->k.n, 0);
	ebt_logs_tick(f->l, t0 + 500000000ull);
	assert_texts(f, 1, "Password: ");
	assert_int_equal(f->k.v[0].r.flags, EBT_LOG_NO_NEWLINE);
	assert_int_equal(f->k.v[0].r.stream, EBT_LOG_STDERR);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.records_no_newline, 1);
	assert_int_equal(st.streams, 0); /* idle stream freed */

	/* a write in between restarts the wait */
	f->now = t0 + SEC;
	feed(f, EBT_LOG_STDOUT, "50%");
	f->now = t0 + SEC + 400000000ull;
	feed(f, EBT_LOG_STDOUT, " 100%");
	ebt_logs_tick(f->l, t0 + SEC + 600000000ull);
	assert_int_equal(f->k.n, 1);
	ebt_logs_tick(f->l, t0 + SEC + 900000000ull);
	assert_texts(f, 2, "Password: ", "50% 100%");
	fx_free(f);
}

static void test_interleaved_streams(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT, "out-1 part");
	feed(f, EBT_LOG_STDERR, "err-1 part");
	feed(f, EBT_LOG_STDOUT, " two\nout-2\n");
	feed(f, EBT_LOG_STDERR, " two\n");
	feed_ex(f, 200, 200, EBT_LOG_STDOUT, "other process\n", 14, 14, NULL);
	feed(f, EBT_LOG_STDERR, "err-2\n");
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 5);
	{
		const char *out[] = { "out-1 part two", "out-2" };
		const char *err[] = { "err-1 part two", "err-2" };
		size_t no = 0, ne = 0, other = 0;

		for (size_t i = 0; i < f->k.n; i++) {
			const struct rec *r = &f->k.v[i];

			if (r->r.tgid == 200) {
				assert_string_equal(r->text, "other process");
				other++;
			} else if (r->r.stream == EBT_LOG_STDOUT) {
				assert_string_equal(r->text, out[no++]);
			} else {
				assert_string_equal(r->text, err[ne++]);
			}
		}
		assert_int_equal(no, 2);
		assert_int_equal(ne, 2);
		assert_int_equal(other, 1);
	}
	fx_free(f);
}

static void assert_valid_utf8(const char *s, size_t n)
{
	char *copy = malloc(4 * n + 1);
	size_t esc = 99;

	assert_non_null(copy);
	assert_int_equal(ebt_utf8_escape((const uint8_t *)s, n, copy, &esc),
			 n);
	assert_int_equal(esc, 0);
	free(copy);
}

static void test_over_limit_split(void **state)
{
	struct ebt_logs_config cfg;
	struct ebt_logs_stats st;
	struct fx *f;
	char line[1001], joined[1001] = "";

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.max_line = 256;
	f = fx_new(&cfg);
	for (int i = 0; i < 1000; i++)
		line[i] = (char)('a' + i % 26);
	line[1000] = '\0';
	/* in 3 writes, the last with the newline */
	feedn(f, EBT_LOG_STDOUT, line, 300);
	feedn(f, EBT_LOG_STDOUT, line + 300, 600);
	feedn(f, EBT_LOG_STDOUT, line + 900, 100);
	feed(f, EBT_LOG_STDOUT, "\nnext\n");
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 5);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(f->k.v[i].r.len, i < 3 ? 256 : 232);
		assert_int_equal(f->k.v[i].r.flags, EBT_LOG_SPLIT);
		strcat(joined, f->k.v[i].text);
		if (i)
			assert_true(f->k.v[i].r.ts_ns > f->k.v[i - 1].r.ts_ns);
	}
	assert_string_equal(joined, line);
	assert_string_equal(f->k.v[4].text, "next");
	assert_int_equal(f->k.v[4].r.flags, 0);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.lines_split, 1);

	/* a line of exactly max_line bytes is not split */
	sink_clear(&f->k);
	feedn(f, EBT_LOG_STDOUT, line, 256);
	feed(f, EBT_LOG_STDOUT, "\n");
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 1);
	assert_int_equal(f->k.v[0].r.len, 256);
	assert_int_equal(f->k.v[0].r.flags, 0);
	fx_free(f);
}

/* Splits never cut a character or an escape in two. */
static void test_split_keeps_characters(void **state)
{
	struct ebt_logs_config cfg;
	struct fx *f;
	char line[3 * 200 + 1] = "";
	size_t total = 0;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.max_line = 256;
	f = fx_new(&cfg);
	strcat(line, "x");
	for (int i = 0; i < 199; i++)
		strcat(line, "€"); /* 3 bytes each: 1 + 597 bytes */
	feed(f, EBT_LOG_STDOUT, line);
	feedn(f, EBT_LOG_STDOUT, "\xff\xff\xff\xff\xff\xff\n", 7);
	ebt_logs_flush_all(f->l);
	assert_true(f->k.n >= 3);
	for (size_t i = 0; i < f->k.n; i++) {
		assert_true(f->k.v[i].r.len <= 256);
		assert_valid_utf8(f->k.v[i].text, f->k.v[i].r.len);
		total += f->k.v[i].r.len;
		if (i + 1 < f->k.n) {
			/* no piece ends inside a \xNN escape */
			const char *t = f->k.v[i].text;
			size_t n = f->k.v[i].r.len;

			assert_false(n >= 1 && t[n - 1] == '\\');
			assert_false(n >= 2 && t[n - 2] == '\\' && t[n - 1] == 'x');
			assert_false(n >= 3 && t[n - 3] == '\\' && t[n - 2] == 'x');
		}
	}
	assert_int_equal(total, 598 + 6 * 4);
	fx_free(f);
}

static void test_burst_100k(void **state)
{
	struct ebt_logs_config cfg;
	struct ebt_logs_stats st;
	struct fx *f;
	char buf[8192];
	size_t len = 0;
	unsigned next = 0;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.multiline = false;
	f = fx_new(&cfg);
	/* 100k lines packed into 8 KiB writes, lines crossing write ends */
	for (unsigned i = 0; i < 100000; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "burst line %06u\n", i);

		for (int j = 0; j < n; j++) {
			buf[len++] = line[j];
			if (len == sizeof(buf)) {
				feedn(f, EBT_LOG_STDOUT, buf, len);
				len = 0;
			}
		}
	}
	feedn(f, EBT_LOG_STDOUT, buf, len);
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 100000);
	for (size_t i = 0; i < f->k.n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "burst line %06u", next++);
		assert_string_equal(f->k.v[i].text, want);
		if (i)
			assert_true(f->k.v[i].r.ts_ns > f->k.v[i - 1].r.ts_ns);
	}
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.records, 100000);
	assert_int_equal(st.bytes_dropped, 0);
	fx_free(f);
}

static const char *const java_trace[] = {
	"2024-05-01 12:00:00 ERROR [main] c.e.App - request failed",
	"java.lang.IllegalStateException: boom",
	"\tat com.example.App.handle(App.java:42)",
	"\tat com.example.App.main(App.java:10)",
	"Caused by: java.io.IOException: disk full",
	"\tat com.example.Store.write(Store.java:7)",
	"\t... 2 more",
	"\tSuppressed: java.lang.RuntimeException: close",
	"\t\tat com.example.Store.close(Store.java:9)",
	"\t\t... 3 common frames omitted",
	"2024-05-01 12:00:01 INFO  [main] c.e.App - recovered",
};

static void feed_java(struct fx *f)
{
	char all[1024] = "";

	for (size_t i = 0; i < sizeof(java_trace) / sizeof(java_trace[0]);
	     i++) {
		strcat(all, java_trace[i]);
		strcat(all, "\n");
	}
	/* a logger writes it in pieces */
	feedn(f, EBT_LOG_STDERR, all, 100);
	feedn(f, EBT_LOG_STDERR, all + 100, strlen(all) - 100);
}

static void test_java_stack_trace(void **state)
{
	struct ebt_logs_stats st;
	struct fx *f = fx_new(NULL);
	char want[1024] = "";

	(void)state;
	feed_java(f);
	/* logger.error(msg, e): the message line and the whole trace */
	for (size_t i = 0; i <= 9; i++) {
		strcat(want, java_trace[i]);
		if (i < 9)
			strcat(want, "\n");
	}
	ebt_logs_flush_all(f->l);
	assert_texts(f, 2, want, java_trace[10]);
	assert_int_equal(f->k.v[0].r.lines, 10);
	assert_int_equal(f->k.v[1].r.lines, 1);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.lines_joined, 9);
	assert_int_equal(st.lines, 11);
	fx_free(f);
}

/* Spring Boot's console pattern (%wEx) puts a blank line between the
 * message and the trace: one record still. A blank line before anything
 * else stays a record of its own, and nothing is held forever. */
static void test_spring_boot_blank_line_before_trace(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT,
	     "2026-11-29T06:00:00.000Z ERROR 1 --- [nio-8080-exec-1] "
	     "o.a.c.c.C.[dispatcherServlet] : Servlet.service() failed\n"
	     "\n"
	     "java.lang.RuntimeException: Expected: controller used to "
	     "showcase what happens when an exception is thrown\n"
	     "\tat org.example.CrashController.triggerException("
	     "CrashController.java:18)\n"
	     "2026-11-29T06:00:01.000Z INFO 1 --- [main] next\n"
	     "\n"
	     "plain text after a blank line\n"
	     "com.acme.Widget: looks qualified\n"
	     "last line\n"
	     "\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 7,
		     "2026-11-29T06:00:00.000Z ERROR 1 --- [nio-8080-exec-1] "
		     "o.a.c.c.C.[dispatcherServlet] : Servlet.service() failed\n"
		     "\n"
		     "java.lang.RuntimeException: Expected: controller used to "
		     "showcase what happens when an exception is thrown\n"
		     "\tat org.example.CrashController.triggerException("
		     "CrashController.java:18)",
		     "2026-11-29T06:00:01.000Z INFO 1 --- [main] next", "",
		     "plain text after a blank line",
		     "com.acme.Widget: looks qualified", "last line", "");
	assert_int_equal(f->k.v[0].r.lines, 4);
	fx_free(f);
}

/* A throwable's first line is never joined to a line that is itself not
 * held (multiline off), nor after two blank lines. */
static void test_throwable_after_two_blank_lines(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT, "message\n\n\njava.lang.Error: x\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 4, "message", "", "", "java.lang.Error: x");
	fx_free(f);
}

/* A stack trace's first line joins only a line of the same thread and
 * request: printStackTrace in one request after a log line of another (or
 * of another thread) is a record of its own. */
static void test_throwable_joins_only_its_writer(void **state)
{
	struct ebt_log_ctx a = make_ctx(1), b = make_ctx(9);
	struct fx *f = fx_new(NULL);
	const char *m = "request a done\n", *t = "java.lang.Error: b\n";

	(void)state;
	feed_ex(f, 100, 100, EBT_LOG_STDERR, m, strlen(m), strlen(m), &a);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, t, strlen(t), strlen(t), &b);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, m, strlen(m), strlen(m), &a);
	feed_ex(f, 100, 101, EBT_LOG_STDERR, t, strlen(t), strlen(t), &a);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, m, strlen(m), strlen(m), &a);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, t, strlen(t), strlen(t), &a);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, m, strlen(m), strlen(m), NULL);
	feed_ex(f, 100, 100, EBT_LOG_STDERR, t, strlen(t), strlen(t), NULL);
	ebt_logs_flush_all(f->l);
	assert_texts(f, 6, "request a done", "java.lang.Error: b",
		     "request a done", "java.lang.Error: b",
		     "request a done\njava.lang.Error: b",
		     "request a done\njava.lang.Error: b");
	fx_free(f);
}

/* Two threads printing traces line by line, interleaved: a frame joins
 * the record of the thread that wrote it, never another thread's. */
static void test_frames_join_only_their_thread(void **state)
{
	struct fx *f = fx_new(NULL);
	const char *a1 = "Exception in thread \"a\" java.lang.Error: a\n",
		   *b1 = "Exception in thread \"b\" java.lang.Error: b\n",
		   *fa = "\tat A.run(A.java:1)\n", *fb = "\tat B.run(B.java:2)\n";

	(void)state;
	feed_ex(f, 100, 1, EBT_LOG_STDERR, a1, strlen(a1), strlen(a1), NULL);
	feed_ex(f, 100, 1, EBT_LOG_STDERR, fa, strlen(fa), strlen(fa), NULL);
	feed_ex(f, 100, 2, EBT_LOG_STDERR, b1, strlen(b1), strlen(b1), NULL);
	feed_ex(f, 100, 1, EBT_LOG_STDERR, fa, strlen(fa), strlen(fa), NULL);
	feed_ex(f, 100, 2, EBT_LOG_STDERR, fb, strlen(fb), strlen(fb), NULL);
	ebt_logs_flush_all(f->l);
	assert_texts(f, 4, "Exception in thread \"a\" java.lang.Error: a\n"
			   "\tat A.run(A.java:1)",
		     "Exception in thread \"b\" java.lang.Error: b",
		     "\tat A.run(A.java:1)", "\tat B.run(B.java:2)");
	fx_free(f);
}

/* "Downloading... " then, 3 s later, "done": one line, as the pipe has
 * it; a complete line before it still leaves after 1 s. */
static void test_partial_line_waits_longer_than_held_line(void **state)
{
	struct fx *f = fx_new(NULL);
	uint64_t t0 = f->now;

	(void)state;
	feed(f, EBT_LOG_STDOUT, "starting\nDownloading... ");
	ebt_logs_tick(f->l, t0 + SEC);
	assert_texts(f, 1, "starting");
	ebt_logs_tick(f->l, t0 + 3 * SEC);
	assert_int_equal(f->k.n, 1);
	f->now = t0 + 3 * SEC;
	feed(f, EBT_LOG_STDOUT, "done\n");
	ebt_logs_tick(f->l, f->now + SEC);
	assert_texts(f, 2, "starting", "Downloading... done");
	assert_int_equal(f->k.v[1].r.flags, 0);
	/* its first byte's write (1 ns after the line of the same write) */
	assert_int_equal(f->k.v[1].r.ts_ns, t0 + 1);
	feed(f, EBT_LOG_STDOUT, "Password: ");
	ebt_logs_tick(f->l, f->now + 4 * SEC);
	assert_int_equal(f->k.n, 2);
	ebt_logs_tick(f->l, f->now + 5 * SEC);
	assert_texts(f, 3, "starting", "Downloading... done", "Password: ");
	assert_int_equal(f->k.v[2].r.flags, EBT_LOG_NO_NEWLINE);
	fx_free(f);
}

/* One thread printing two exceptions back to back (printStackTrace in a
 * loop): two records; a logger's message then its trace: one. */
static void test_consecutive_traces_stay_apart(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDERR, "java.lang.IllegalStateException: one\n"
				"\tat A.a(A.java:1)\n");
	feed(f, EBT_LOG_STDERR, "java.lang.IllegalStateException: two\n");
	feed(f, EBT_LOG_STDERR, "\tat A.a(A.java:2)\n");
	feed(f, EBT_LOG_STDERR, "ERROR request failed\n"
				"java.lang.IllegalStateException: three\n"
				"\tat A.a(A.java:3)\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 3,
		     "java.lang.IllegalStateException: one\n\tat A.a(A.java:1)",
		     "java.lang.IllegalStateException: two\n\tat A.a(A.java:2)",
		     "ERROR request failed\n"
		     "java.lang.IllegalStateException: three\n"
		     "\tat A.a(A.java:3)");
	fx_free(f);
}

/* A fork lets out the record held for joining (the child's lines must not
 * come first), not the line still being written. */
static void test_release_held_on_fork(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT, "before the fork\npartial ");
	assert_int_equal(f->k.n, 0);
	ebt_logs_release(f->l, 100);
	assert_texts(f, 1, "before the fork");
	feed_ex(f, 101, 101, EBT_LOG_STDOUT, "child\n", 6, 6, NULL);
	ebt_logs_forget(f->l, 101);
	feed(f, EBT_LOG_STDOUT, "line\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 3, "before the fork", "child", "partial line");
	fx_free(f);
}

static void test_java_multiline_off(void **state)
{
	struct ebt_logs_config cfg;
	struct fx *f;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.multiline = false;
	f = fx_new(&cfg);
	feed_java(f);
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 11);
	for (size_t i = 0; i < 11; i++)
		assert_string_equal(f->k.v[i].text, java_trace[i]);
	fx_free(f);
}

/* Lines that only look alike do not join; a frame with nothing held is alone. */
static void test_java_not_continuations(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT, "\tat the end\n"); /* nothing held yet */
	ebt_logs_flush_all(f->l);
	feed(f, EBT_LOG_STDOUT,
	     "start\nat noon\n  attached\n... 3 more\nCaused byX\n\tat  x\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 7, "\tat the end", "start", "at noon", "  attached",
		     "... 3 more", "Caused byX", "\tat  x");
	fx_free(f);
}

/* A joined record stays within max_line: the rest starts a new record. */
static void test_java_join_bounded(void **state)
{
	struct ebt_logs_config cfg;
	struct fx *f;
	char frame[128];

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.max_line = 256;
	f = fx_new(&cfg);
	feed(f, EBT_LOG_STDOUT, "java.lang.Error: x\n");
	snprintf(frame, sizeof(frame), "\tat %0100d\n", 0);
	for (int i = 0; i < 5; i++)
		feed(f, EBT_LOG_STDOUT, frame);
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 3);
	assert_int_equal(f->k.v[0].r.lines, 3);
	assert_int_equal(f->k.v[1].r.lines, 2);
	assert_int_equal(f->k.v[2].r.lines, 1);
	for (size_t i = 0; i < f->k.n; i++)
		assert_true(f->k.v[i].r.len <= 256);
	fx_free(f);
}

static void test_invalid_utf8(void **state)
{
	struct ebt_logs_stats st;
	struct fx *f = fx_new(NULL);

	(void)state;
	feedn(f, EBT_LOG_STDOUT, "bad \xff end\n", 10);
	feedn(f, EBT_LOG_STDOUT, "overlong \xc0\xaf\n", 12);
	feedn(f, EBT_LOG_STDOUT, "surrogate \xed\xa0\x80\n", 14);
	feedn(f, EBT_LOG_STDOUT, "cut \xe2\x82\n", 7);
	feedn(f, EBT_LOG_STDOUT, "too big \xf4\x90\x80\x80\n", 13);
	feedn(f, EBT_LOG_STDOUT, "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n", 13);
	/* a character split between two writes is kept whole */
	feedn(f, EBT_LOG_STDOUT, "split \xf0\x9f", 8);
	feedn(f, EBT_LOG_STDOUT, "\x98\x80 done\n", 8);
	/* a broken sequence across writes: escaped, the next byte kept */
	feedn(f, EBT_LOG_STDOUT, "broken \xe2", 8);
	feedn(f, EBT_LOG_STDOUT, "A\n", 2);
	ebt_logs_flush_all(f->l);
	assert_texts(f, 8, "bad \\xff end", "overlong \\xc0\\xaf",
		     "surrogate \\xed\\xa0\\x80", "cut \\xe2\\x82",
		     "too big \\xf4\\x90\\x80\\x80", "ok é€😀", "split 😀 done",
		     "broken \\xe2A");
	assert_int_equal(f->k.v[0].r.flags, EBT_LOG_ESCAPED);
	assert_int_equal(f->k.v[5].r.flags, 0);
	assert_int_equal(f->k.v[6].r.flags, 0);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.bytes_escaped, 1 + 2 + 3 + 2 + 4 + 1);
	fx_free(f);
}

static void test_binary_and_nul(void **state)
{
	static const uint8_t bin[] = { 'a', 0, 'b', 0, 0, 0x80, '\n',
				       0x1b, '[', '3', '1', 'm', 'r', '\n' };
	struct fx *f = fx_new(NULL);

	(void)state;
	feedn(f, EBT_LOG_STDOUT, bin, sizeof(bin));
	ebt_logs_flush_all(f->l);
	assert_texts(f, 2, "a\\x00b\\x00\\x00\\x80", "\x1b[31mr");
	assert_int_equal(f->k.v[0].r.flags, EBT_LOG_ESCAPED);
	fx_free(f);
}

static void test_crlf(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	feed(f, EBT_LOG_STDOUT, "dos line\r\nnext\r");
	feed(f, EBT_LOG_STDOUT, "\nprogress 10%\rprogress 90%\n\r\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 4, "dos line", "next", "progress 10%\rprogress 90%",
		     "");
	fx_free(f);
}

/* ---- capture losses, bounds, lifetimes ---------------------------------- */

static void test_truncated_capture(void **state)
{
	struct ebt_logs_stats st;
	struct fx *f = fx_new(NULL);

	(void)state;
	/* a 10000-byte write of which 12 bytes were captured */
	feed_ex(f, 100, 100, EBT_LOG_STDOUT, "first\nsecond", 12, 10000,
		NULL);
	feed(f, EBT_LOG_STDOUT, "tail of something\nclean\n");
	/* a lost record: no data at all */
	feed_ex(f, 100, 100, EBT_LOG_STDOUT, NULL, 0, 500, NULL);
	feed(f, EBT_LOG_STDOUT, "after\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 5, "first", "second", "tail of something", "clean",
		     "after");
	assert_int_equal(f->k.v[0].r.flags, 0);
	assert_int_equal(f->k.v[1].r.flags, EBT_LOG_TRUNCATED);
	assert_int_equal(f->k.v[2].r.flags, EBT_LOG_TRUNCATED);
	assert_int_equal(f->k.v[3].r.flags, 0);
	assert_int_equal(f->k.v[4].r.flags, EBT_LOG_TRUNCATED);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.bytes_lost, 10000 - 12 + 500);
	assert_int_equal(st.records_truncated, 3);
	fx_free(f);
}

/* A cut write that BPF saw end in '\n' ended its line: the next line is
 * whole, not flagged as missing its start. */
static void test_truncated_write_ending_line(void **state)
{
	struct ebt_log_chunk c = {
		.tgid = 100, .tid = 100, .stream = EBT_LOG_STDOUT,
		.data = (const uint8_t *)"big line st", .cap_len = 11,
		.total_len = 9000, .ends_line = true,
	};
	struct fx *f = fx_new(NULL);

	(void)state;
	c.ts_ns = f->now;
	ebt_logs_feed(f->l, &c);
	f->now += 1000;
	feed(f, EBT_LOG_STDOUT, "next line\n");
	c.ends_line = false; /* the same cut write, ending mid-line */
	c.ts_ns = f->now;
	ebt_logs_feed(f->l, &c);
	f->now += 1000;
	feed(f, EBT_LOG_STDOUT, "rest of it\n");
	ebt_logs_flush_all(f->l);
	assert_texts(f, 4, "big line st", "next line", "big line st",
		     "rest of it");
	assert_int_equal(f->k.v[0].r.flags, EBT_LOG_TRUNCATED);
	assert_int_equal(f->k.v[1].r.flags, 0);
	assert_int_equal(f->k.v[2].r.flags, EBT_LOG_TRUNCATED);
	assert_int_equal(f->k.v[3].r.flags, EBT_LOG_TRUNCATED);
	fx_free(f);
}

static void test_memory_bound(void **state)
{
	struct ebt_logs_config cfg;
	struct ebt_logs_stats st;
	struct fx *f;
	char part[200];

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.max_line = 1024;
	cfg.max_bytes = 8192;
	f = fx_new(&cfg);
	memset(part, 'p', sizeof(part));
	/* 500 processes each leave half a line */
	for (uint32_t pid = 1; pid <= 500; pid++) {
		feed_ex(f, pid, pid, EBT_LOG_STDOUT, part, sizeof(part),
			sizeof(part), NULL);
		ebt_logs_stats(f->l, &st);
		assert_true(st.buffered_bytes <= cfg.max_bytes);
	}
	ebt_logs_stats(f->l, &st);
	assert_true(st.forced_flushes > 400);
	assert_int_equal(st.bytes_dropped, 0);
	ebt_logs_flush_all(f->l);
	/* nothing lost: every half line came out, oldest first */
	assert_int_equal(f->k.n, 500);
	for (size_t i = 0; i < f->k.n; i++) {
		assert_int_equal(f->k.v[i].r.tgid, i + 1);
		assert_int_equal(f->k.v[i].r.len, sizeof(part));
		assert_int_equal(f->k.v[i].r.flags, EBT_LOG_NO_NEWLINE);
	}
	fx_free(f);
}

static void test_stream_limit(void **state)
{
	struct ebt_logs_config cfg;
	struct ebt_logs_stats st;
	struct fx *f;

	(void)state;
	ebt_logs_config_default(&cfg);
	cfg.max_streams = 4;
	f = fx_new(&cfg);
	for (uint32_t pid = 1; pid <= 10; pid++)
		feed_ex(f, pid, pid, EBT_LOG_STDOUT, "x", 1, 1, NULL);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.streams, 4);
	assert_int_equal(st.streams_evicted, 6);
	assert_int_equal(f->k.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(f->k.v[i].r.tgid, i + 1);
	fx_free(f); /* frees buffered streams without emitting */
}

static void test_forget_process(void **state)
{
	struct ebt_logs_stats st;
	struct fx *f = fx_new(NULL);

	(void)state;
	feed_ex(f, 5, 5, EBT_LOG_STDOUT, "bye", 3, 3, NULL);
	feed_ex(f, 5, 5, EBT_LOG_STDERR, "err\n", 4, 4, NULL);
	feed_ex(f, 6, 6, EBT_LOG_STDOUT, "stay", 4, 4, NULL);
	ebt_logs_forget(f->l, 5);
	assert_int_equal(f->k.n, 2);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.streams, 1);
	ebt_logs_forget(f->l, 77); /* unknown: nothing */
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 3);
	assert_string_equal(f->k.v[2].text, "stay");
	fx_free(f);
}

static void test_timestamps_increase(void **state)
{
	struct fx *f = fx_new(NULL);
	uint64_t t = f->now;

	(void)state;
	feed(f, EBT_LOG_STDOUT, "a\nb\nc\n");
	f->now = t; /* a clock that did not move */
	feed(f, EBT_LOG_STDOUT, "d\n");
	ebt_logs_flush_all(f->l);
	assert_int_equal(f->k.n, 4);
	assert_int_equal(f->k.v[0].r.ts_ns, t);
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(f->k.v[i].r.ts_ns, t + i);
	fx_free(f);
}

static void test_bad_input_ignored(void **state)
{
	struct ebt_logs_stats st;
	struct fx *f = fx_new(NULL);
	struct ebt_log_chunk c = { .stream = 3, .data = (const uint8_t *)"x\n",
				   .cap_len = 2, .total_len = 2 };

	(void)state;
	ebt_logs_feed(f->l, &c);
	ebt_logs_feed(f->l, NULL);
	ebt_logs_feed(NULL, &c);
	ebt_logs_tick(NULL, 0);
	ebt_logs_stats(f->l, &st);
	assert_int_equal(st.chunks, 0);
	assert_null(ebt_logs_new(NULL, NULL, NULL));
	fx_free(f);
}

static void test_config_clamped(void **state)
{
	struct ebt_logs_config cfg = { .max_line = 1, .max_bytes = 10 };
	struct fx *f;
	char big[600];

	(void)state;
	f = fx_new(&cfg);
	memset(big, 'b', sizeof(big));
	feedn(f, EBT_LOG_STDOUT, big, sizeof(big));
	feed(f, EBT_LOG_STDOUT, "\n");
	ebt_logs_flush_all(f->l);
	/* max_line raised to the minimum of 256: 256 + 256 + 88 */
	assert_int_equal(f->k.n, 3);
	assert_int_equal(f->k.v[0].r.len, EBT_LOGS_MIN_MAX_LINE);
	fx_free(f);
}

/* ---- pure helpers -------------------------------------------------------- */

static void test_utf8_escape(void **state)
{
	char out[64];
	size_t esc;

	(void)state;
	assert_int_equal(ebt_utf8_escape((const uint8_t *)"abc", 3, out, &esc),
			 3);
	assert_string_equal(out, "abc");
	assert_int_equal(esc, 0);
	ebt_utf8_escape((const uint8_t *)"a\0\xfe\xc3\xa9\xe2", 6, out, &esc);
	assert_string_equal(out, "a\\x00\\xfe\xc3\xa9\\xe2");
	assert_int_equal(esc, 3);
	assert_int_equal(ebt_utf8_escape((const uint8_t *)"", 0, out, NULL), 0);
	assert_string_equal(out, "");
}

static void test_severity(void **state)
{
	static const struct {
		const char *line;
		const char *text;
		int num;
	} cases[] = {
		{ "2024-05-01 12:00:00 ERROR [main] failed", "ERROR", 17 },
		{ "[WARN] disk almost full", "WARN", 13 },
		{ "ts=1 level=info msg=hello", "INFO", 9 },
		{ "{\"time\":1,\"level\":\"debug\",\"msg\":\"x\"}", "DEBUG", 5 },
		{ "{\"severity\": \"WARNING\"}", "WARN", 13 },
		{ "lvl=crit something", "FATAL", 21 },
		{ "SEVERE: Servlet failed", "ERROR", 17 },
		{ "May 01 FATAL boom", "FATAL", 21 },
		{ "I/O error reading file", NULL, 0 },       /* lower case */
		{ "ERRORS=3 INFORMATION", NULL, 0 },         /* not words */
		{ "sublevel=error", NULL, 0 },               /* not the key */
		{ "plain text", NULL, 0 },
		{ "", NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int num = -1;
		const char *t = ebt_log_severity(cases[i].line,
						 strlen(cases[i].line), &num);

		if (cases[i].text == NULL) {
			if (t)
				fail_msg("'%s' gave %s", cases[i].line, t);
		} else {
			assert_non_null(t);
			assert_string_equal(t, cases[i].text);
		}
		assert_int_equal(num, cases[i].num);
	}
}

/* ---- console ------------------------------------------------------------- */

static char *console_capture(enum ebt_format fmt,
			     const struct ebt_log_record *r,
			     const struct ebt_resource *res)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ebt_console_log(f, fmt, r, res);
	fclose(f);
	return buf;
}

static const char *json_attr(cJSON *attrs, const char *key, const char *type)
{
	cJSON *a;

	cJSON_ArrayForEach(a, attrs) {
		if (strcmp(cJSON_GetObjectItem(a, "key")->valuestring, key))
			continue;
		a = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"), type);
		if (cJSON_IsString(a))
			return a->valuestring;
		return cJSON_IsTrue(a) ? "true" : "?";
	}
	return NULL;
}

static void test_console_json(void **state)
{
	struct ebt_resource *res = ebt_resource_new(9);
	const char *line = "2024-05-01 ERROR boom\n\tat a.b(C.java:1)";
	struct ebt_log_record r = {
		.ts_ns = 1714564800123456789ull, .tgid = 9, .tid = 11,
		.stream = EBT_LOG_STDERR, .has_ctx = true,
		.flags = EBT_LOG_ESCAPED, .lines = 2, .line = line,
		.len = strlen(line),
	};
	cJSON *o, *attrs;
	char *out;

	(void)state;
	assert_non_null(res);
	ebt_resource_add_str(res, "service.name", "shop");
	memset(r.trace_id, 0xab, 16);
	memset(r.span_id, 0xcd, 8);
	out = console_capture(EBT_FORMAT_JSON, &r, res);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
	o = cJSON_Parse(out);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "timeUnixNano")->valuestring,
			    "1714564800123456789");
	assert_string_equal(cJSON_GetObjectItem(o, "severityText")->valuestring,
			    "ERROR");
	assert_int_equal(cJSON_GetObjectItem(o, "severityNumber")->valueint, 17);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "body"),
						"stringValue")->valuestring,
			    line);
	assert_string_equal(cJSON_GetObjectItem(o, "traceId")->valuestring,
			    "abababababababababababababababab");
	assert_string_equal(cJSON_GetObjectItem(o, "spanId")->valuestring,
			    "cdcdcdcdcdcdcdcd");
	attrs = cJSON_GetObjectItem(o, "attributes");
	assert_string_equal(json_attr(attrs, "log.iostream", "stringValue"),
			    "stderr");
	assert_string_equal(json_attr(attrs, "thread.id", "intValue"), "11");
	assert_string_equal(json_attr(attrs, "ebpftrace.log.lines", "intValue"),
			    "2");
	assert_string_equal(json_attr(attrs, "ebpftrace.log.escaped",
				      "boolValue"), "true");
	assert_null(json_attr(attrs, "ebpftrace.log.split", "boolValue"));
	assert_string_equal(json_attr(cJSON_GetObjectItem(
					      cJSON_GetObjectItem(o, "resource"),
					      "attributes"),
				      "service.name", "stringValue"),
			    "shop");
	cJSON_Delete(o);
	free(out);

	/* no span, no level: empty ids and severity, stdout */
	r.has_ctx = false;
	r.stream = EBT_LOG_STDOUT;
	r.line = "plain";
	r.len = 5;
	r.lines = 1;
	r.flags = 0;
	out = console_capture(EBT_FORMAT_JSON, &r, NULL);
	o = cJSON_Parse(out);
	assert_string_equal(cJSON_GetObjectItem(o, "traceId")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItem(o, "spanId")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItem(o, "severityText")->valuestring,
			    "");
	assert_int_equal(cJSON_GetObjectItem(o, "severityNumber")->valueint, 0);
	assert_string_equal(json_attr(cJSON_GetObjectItem(o, "attributes"),
				      "log.iostream", "stringValue"),
			    "stdout");
	cJSON_Delete(o);
	free(out);
	ebt_resource_unref(res);
}

static void test_console_text(void **state)
{
	struct ebt_resource *res = ebt_resource_new(9);
	const char *line = "java.lang.Error: x\n\tat a.b(C.java:1)";
	struct ebt_log_record r = {
		.ts_ns = 1714564800123456789ull, .stream = EBT_LOG_STDERR,
		.has_ctx = true, .lines = 2, .line = line, .len = strlen(line),
	};
	char *out;

	(void)state;
	ebt_resource_add_str(res, "service.name", "shop");
	memset(r.trace_id, 0x01, 16);
	memset(r.span_id, 0x02, 8);
	out = console_capture(EBT_FORMAT_TEXT, &r, res);
	assert_string_equal(out,
			    "12:00:00.123 LOG    stderr shop                 "
			    "trace=01010101010101010101010101010101 "
			    "span=0202020202020202 | java.lang.Error: x\n"
			    "    \tat a.b(C.java:1)\n");
	free(out);
	r.has_ctx = false;
	out = console_capture(EBT_FORMAT_TEXT, &r, NULL);
	assert_non_null(strstr(out, " LOG    stderr -                    "
				    "trace=- span=- | java.lang.Error"));
	free(out);
	out = console_capture(EBT_FORMAT_NONE, &r, NULL);
	assert_string_equal(out, "");
	free(out);
	ebt_resource_unref(res);
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_short_lines),
		T(test_emitted_at_newline),
		T(test_many_small_writes),
		T(test_no_newline_flushed_by_tick),
		T(test_interleaved_streams),
		T(test_over_limit_split),
		T(test_split_keeps_characters),
		T(test_burst_100k),
		T(test_java_stack_trace),
		T(test_spring_boot_blank_line_before_trace),
		T(test_throwable_after_two_blank_lines),
		T(test_throwable_joins_only_its_writer),
		T(test_frames_join_only_their_thread),
		T(test_release_held_on_fork),
		T(test_consecutive_traces_stay_apart),
		T(test_partial_line_waits_longer_than_held_line),
		T(test_java_multiline_off),
		T(test_java_not_continuations),
		T(test_java_join_bounded),
		T(test_invalid_utf8),
		T(test_binary_and_nul),
		T(test_crlf),
		T(test_truncated_capture),
		T(test_truncated_write_ending_line),
		T(test_memory_bound),
		T(test_stream_limit),
		T(test_forget_process),
		T(test_timestamps_increase),
		T(test_bad_input_ignored),
		T(test_config_clamped),
		T(test_utf8_escape),
		T(test_severity),
		T(test_console_json),
		T(test_console_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
