/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the log line assembler.
 *
 * Input: byte 0 picks the configuration: bit 0 multiline, bits 1-2
 * max_line (256, 300, 1024, 64 KiB), bits 3-4 max_streams (1, 2, 3, 4096),
 * bit 5 the smallest max_bytes. Then commands, one byte c each:
 *   c >> 6 == 0, 3: a write; payload length 1 + next byte (3: the rest of
 *     the input); bit 0 stream (stdout/stderr), bits 1-2 process, bit 3 a
 *     span is active, bit 4 the write was longer than captured (c == 3 <<
 *     6 | ...: also a write with no data, only lost bytes, if bit 5).
 *   c >> 6 == 1: tick, the clock advanced by (c & 0x3f) * 50 ms.
 *   c >> 6 == 2: process (c & 3) exits (forget); bit 5: flush all.
 * Every record must be valid UTF-8 without NUL, NUL-terminated, within
 * max_line, with one line unless multiline joined it, and with strictly
 * increasing timestamps per (process, stream).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"
#include "fuzz_check.h"

#define MS 1000000ull

struct fz {
	struct ebt_logs_config cfg;
	uint64_t last_ts[4][3];
	uint64_t records;
};

/* An independent UTF-8 check (RFC 3629), NUL refused. */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, min;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (i + need >= n)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void sink(void *ctx, const struct ebt_log_record *r)
{
	struct fz *f = ctx;
	uint64_t *last;
	int num;

	CHECK(r->line && r->line[r->len] == '\0');
	CHECK(r->len <= f->cfg.max_line);
	CHECK(r->len <= EBT_LOGS_MAX_MAX_LINE);
	CHECK(utf8_valid((const unsigned char *)r->line, r->len));
	CHECK(r->lines >= 1);
	CHECK(r->lines == 1 || f->cfg.multiline);
	CHECK(r->lines > 1 || memchr(r->line, '\n', r->len) == NULL);
	CHECK(r->stream == EBT_LOG_STDOUT || r->stream == EBT_LOG_STDERR);
	CHECK(r->tgid < 4);
	last = &f->last_ts[r->tgid][r->stream];
	CHECK(*last == 0 || r->ts_ns > *last);
	*last = r->ts_ns;
	ebt_log_severity(r->line, r->len, &num);
	CHECK(num >= 0 && num <= 24);
	f->records++;
}

static void configure(struct fz *f, uint8_t b)
{
	static const uint32_t max_line[] = { 256, 300, 1024, 64 * 1024 };
	static const uint32_t max_streams[] = { 1, 2, 3, 4096 };

	ebt_logs_config_default(&f->cfg);
	f->cfg.multiline = b & 1;
	f->cfg.max_line = max_line[(b >> 1) & 3];
	f->cfg.max_streams = max_streams[(b >> 3) & 3];
	if (b & 0x20)
		f->cfg.max_bytes = 1;
}

/* Forget: the per-process timestamps may start over. */
static void forget(struct fz *f, struct ebt_logs *l, uint32_t tgid)
{
	ebt_logs_forget(l, tgid);
	memset(f->last_ts[tgid], 0, sizeof(f->last_ts[tgid]));
}

/* Also check ebt_utf8_escape on the raw payload. */
static void check_escape(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * n + 1);
	size_t len, esc;

	CHECK(out);
	len = ebt_utf8_escape(p, n, out, &esc);
	CHECK(len >= n && len <= 4 * n && out[len] == '\0');
	CHECK(len == n + 3 * esc);
	CHECK(utf8_valid((const unsigned char *)out, len));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { 0 };
	struct ebt_logs *l;
	struct ebt_log_ctx ctx;
	uint64_t now = 1000 * 1000 * MS;
	size_t i = 1;

	if (size < 1)
		return 0;
	configure(&f, data[0]);
	l = ebt_logs_new(&f.cfg, sink, &f);
	CHECK(l);
	/* the config the assembler really uses, for the length check */
	if (f.cfg.max_line < EBT_LOGS_MIN_MAX_LINE)
		f.cfg.max_line = EBT_LOGS_MIN_MAX_LINE;
	memset(&ctx, 0x5a, sizeof(ctx));
	while (i < size) {
		uint8_t c = data[i++];
		unsigned kind = c >> 6;

		if (kind == 1) {
			now += (c & 0x3f) * 50 * MS;
			ebt_logs_tick(l, now);
		} else if (kind == 2) {
			if (c & 0x20) {
				ebt_logs_flush_all(l);
				memset(f.last_ts, 0, sizeof(f.last_ts));
			} else {
				forget(&f, l, c & 3);
			}
		} else {
			size_t n = kind == 3 ? size - i :
					       (i < size ? 1u + data[i++] : 0);
			struct ebt_log_chunk ch = {
				.tgid = (c >> 1) & 3, .tid = c,
				.stream = (uint8_t)((c & 1) + 1),
				.ts_ns = now, .ctx = c & 8 ? &ctx : NULL,
			};

			if (n > size - i)
				n = size - i;
			ch.data = kind == 3 && (c & 0x20) ? NULL : data + i;
			ch.cap_len = ch.data ? (uint32_t)n : 0;
			ch.total_len = (uint32_t)n + (c & 0x10 ? 4096 : 0);
			if (ch.data)
				check_escape(ch.data, n);
			ebt_logs_feed(l, &ch);
			i += n;
			now += MS / 10;
		}
	}
	ebt_logs_flush_all(l);
	{
		struct ebt_logs_stats st;

		ebt_logs_stats(l, &st);
		CHECK(st.streams == 0 && st.buffered_bytes == 0);
		CHECK(st.records == f.records);
		CHECK(st.bytes_dropped == 0);
	}
	ebt_logs_free(l);
	return 0;
}
