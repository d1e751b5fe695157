/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log line assembler (user/logs.c) against random output written in odd
 * ways: several processes, each with two writer threads, writing stdout
 * and stderr at once in writes of random sizes that cut lines, CRLF pairs
 * and UTF-8 characters anywhere; lines of valid multi-byte UTF-8, invalid
 * bytes, NUL, ANSI colours, lone CRs (progress bars), tabs, empty lines and
 * lines longer than max_line; the last line of a stream without its
 * newline, flushed at the process's exit. Every stream must come out as
 * its lines, in order, each escaped as ebt_utf8_escape escapes it, split
 * (never across a character or an escape) only where longer than max_line,
 * with the thread that wrote each line's first byte and strictly
 * increasing timestamps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"

#define PROCS 3
#define STREAMS (PROCS * 2)
#define LINES_MAX 64
#define LINE_MAX_LEN 1200
#define MAX_LINE 512 /* logs.max_line for the run: long lines split */
#define ROUNDS 400

struct gen {
	uint64_t s;
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return (uint32_t)((g->s * 2685821657736338717ull) >> 32) % n;
}

/* One (process, stream): its bytes as written, and its lines. */
struct stream {
	uint32_t tgid;
	uint8_t which; /* enum ebt_log_stream */
	char bytes[LINES_MAX * (LINE_MAX_LEN + 2)];
	size_t len, at;             /* written so far */
	size_t line_at[LINES_MAX];  /* first byte of each line */
	size_t line_len[LINES_MAX]; /* its content, without the ending */
	uint32_t first_tid[LINES_MAX];
	int lines;
	/* what came out */
	char *got[LINES_MAX * 8];
	uint32_t got_flags[LINES_MAX * 8], got_tid[LINES_MAX * 8];
	int n_got;
	uint64_t last_ts;
};

/* ---- generating ---------------------------------------------------------- */

static void put(struct stream *s, const char *p, size_t n)
{
	memcpy(s->bytes + s->len, p, n);
	s->len += n;
}

/* A run of text: ASCII words, UTF-8 characters, or odd bytes. */
static void put_piece(struct gen *g, struct stream *s)
{
	static const char *const v[] = {
		"word ", "caf\xc3\xa9 ", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\t", "\x1b[31mred\x1b[0m", "progress 10%\r", "\xff", "\xc0\xaf",
		"\xed\xa0\x80", "\xe2\x82", "\x80", "\\x41", "{\"level\":\"info\"}",
		"    at com.example.Foo.bar(Foo.java:1)", "\r"
	};
	const char *p = v[rnd(g, sizeof(v) / sizeof(v[0]))];

	if (rnd(g, 40) == 0)
		put(s, "", 1); /* NUL */
	else
		put(s, p, strlen(p));
}

static void make_line(struct gen *g, struct stream *s)
{
	size_t want = rnd(g, 8) == 0 ? LINE_MAX_LEN - 8 : rnd(g, 120);
	int i = s->lines++;

	s->line_at[i] = s->len;
	while (s->len - s->line_at[i] < want && rnd(g, 30))
		put_piece(g, s);
	/* a CR before the newline would make it a CRLF ending */
	while (s->len > s->line_at[i] && s->bytes[s->len - 1] == '\r')
		s->len--;
	s->line_len[i] = s->len - s->line_at[i];
}

static void make_stream(struct gen *g, struct stream *s, uint32_t tgid,
			uint8_t which)
{
	memset(s, 0, sizeof(*s));
	s->tgid = tgid;
	s->which = which;
	for (int n = 1 + (int)rnd(g, LINES_MAX); n > 0; n--) {
		make_line(g, s);
		if (n > 1 || rnd(g, 3)) {
			bool crlf = rnd(g, 4) == 0;

			put(s, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		} else if (!s->line_len[s->lines - 1]) {
			s->lines--; /* nothing written: no record */
		}
	}
}

/* ---- writing ------------------------------------------------------------- */

/* Note the writer of each line whose first byte this write holds. */
static void note_first_bytes(struct stream *s, size_t from, size_t to,
			     uint32_t tid)
{
	for (int i = 0; i < s->lines; i++)
		if (s->line_at[i] >= from && s->line_at[i] < to)
			s->first_tid[i] = tid;
}

static void write_some(struct gen *g, struct ebt_logs *l, struct stream *s,
		       uint64_t *now)
{
	size_t n = 1 + rnd(g, rnd(g, 4) ? 64 : 4000);
	uint32_t tid = s->tgid + rnd(g, 2); /* two threads */
	struct ebt_log_chunk c = {
		.tgid = s->tgid, .tid = tid, .stream = s->which,
		.data = (const uint8_t *)s->bytes + s->at,
	};

	if (n > s->len - s->at)
		n = s->len - s->at;
	c.cap_len = c.total_len = (uint32_t)n;
	c.ts_ns = (*now += 1 + rnd(g, 3) * 1000);
	note_first_bytes(s, s->at, s->at + n, tid);
	ebt_logs_feed(l, &c);
	s->at += n;
}

/* ---- checking ------------------------------------------------------------ */

static struct stream *stream_of(struct stream *all, uint32_t tgid,
				uint8_t which)
{
	for (int i = 0; i < STREAMS; i++)
		if (all[i].tgid == tgid && all[i].which == which)
			return &all[i];
	return NULL;
}

static void collect(void *ctx, const struct ebt_log_record *r)
{
	struct stream *s = stream_of(ctx, r->tgid, r->stream);

	assert_non_null(s);
	assert_true(s->n_got < LINES_MAX * 8);
	assert_true(r->len <= MAX_LINE);
	assert_int_equal(strlen(r->line), r->len);
	assert_true(r->ts_ns > s->last_ts);
	s->last_ts = r->ts_ns;
	s->got_flags[s->n_got] = r->flags;
	s->got_tid[s->n_got] = r->tid;
	s->got[s->n_got] = strndup(r->line, r->len);
	assert_non_null(s->got[s->n_got]);
	s->n_got++;
}

/* Records from *k on that make line i (pieces flagged split, joined). */
static void check_line(struct stream *s, int i, int *k)
{
	char want[4 * LINE_MAX_LEN + 1];
	size_t wlen = ebt_utf8_escape((const uint8_t *)s->bytes + s->line_at[i],
				      s->line_len[i], want, NULL);
	size_t off = 0;

	assert_true(*k < s->n_got);
	assert_int_equal(s->got_tid[*k], s->first_tid[i]);
	for (;;) {
		size_t n = strlen(s->got[*k]);
		bool split = s->got_flags[*k] & EBT_LOG_SPLIT;

		if (off + n > wlen || memcmp(want + off, s->got[*k], n))
			fail_msg("tgid %u stream %u line %d: got '%s' at %zu of"
				 " '%s'", s->tgid, s->which, i, s->got[*k], off,
				 want);
		off += n;
		(*k)++;
		if (!split || off == wlen || *k == s->n_got)
			break;
	}
	assert_int_equal(off, wlen);
}

static void check_stream(struct stream *s)
{
	int k = 0;

	for (int i = 0; i < s->lines; i++)
		check_line(s, i, &k);
	assert_int_equal(k, s->n_got);
	for (int i = 0; i < s->n_got; i++)
		free(s->got[i]);
}

/* ---- a round: all streams written at once, then the processes exit ------ */

static bool all_written(const struct stream *all)
{
	for (int i = 0; i < STREAMS; i++)
		if (all[i].at < all[i].len)
			return false;
	return true;
}

static void run_round(uint64_t seed, struct stream *all)
{
	struct gen g = {.s = seed * 0x9e3779b97f4a7c15ull + 7};
	struct ebt_logs_config cfg;
	struct ebt_logs *l;
	uint64_t now = 1000000000000ull;

	ebt_logs_config_default(&cfg);
	cfg.max_line = MAX_LINE;
	cfg.multiline = false;
	l = ebt_logs_new(&cfg, collect, all);
	assert_non_null(l);
	for (int i = 0; i < STREAMS; i++)
		make_stream(&g, &all[i], 1000 + 10 * (uint32_t)(i / 2),
			    i % 2 ? EBT_LOG_STDERR : EBT_LOG_STDOUT);
	while (!all_written(all)) {
		struct stream *s = &all[rnd(&g, STREAMS)];

		if (s->at < s->len)
			write_some(&g, l, s, &now);
		if (rnd(&g, 50) == 0)
			ebt_logs_tick(l, now);
	}
	for (int p = 0; p < PROCS; p++)
		ebt_logs_forget(l, 1000 + 10 * (uint32_t)p);
	for (int i = 0; i < STREAMS; i++)
		check_stream(&all[i]);
	ebt_logs_free(l);
}

static void test_random_writers(void **state)
{
	struct stream *all = calloc(STREAMS, sizeof(*all));

	(void)state;
	assert_non_null(all);
	for (uint64_t seed = 1; seed <= ROUNDS; seed++)
		run_round(seed, all);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
