/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the HTTP/1.x stream parser and the target helpers.
 *
 * Input: byte 0 = number of plan bytes (low 4 bits) and flags (high 4);
 * then the plan bytes, then the payload. Plan byte c (cycled) cuts the
 * next feed: size 1 + (c & 0x1f), times 64 if c & 0x20; c >> 6 picks the
 * capture: 0-1 whole, 2 only the first half is captured (the rest is a
 * gap), 3 whole plus a large invented gap. No plan bytes: one feed.
 * Flag 0x10 calls eof halfway through; flag 0x20 ends with eof_cut (a
 * client's close inside a body); flag 0x40 calls end_lost (the peer's next
 * message began) after each feed whose plan byte has bit 0x08 set. The payload goes through a
 * request-side parser (whose heads feed expect() of the response side),
 * then through a response-side parser; every reported message is checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "utf8.h"
#include "fuzz_check.h"

/* RFC 9110 tchar: what a method may consist of */
#define TOKEN_CHARS "!#$%&'*+-.^_`|~0123456789" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

struct fz {
	struct http_stream *peer; /* response stream, request side only */
	enum http_side side;
};

/* NUL-terminated within cap, no control characters, valid UTF-8. */
static void check_str(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	CHECK(nul && ebt_utf8_text_ok(s, (size_t)(nul - s)));
}

/* The helpers a span assembler runs on a reported target. */
static void exercise_target(const char *target)
{
	static const enum http_query_mode modes[] = {
		HTTP_QUERY_KEEP, HTTP_QUERY_REDACT, HTTP_QUERY_DROP };
	const char *path, *query;
	size_t pl, ql, n;
	char out[HTTP_TARGET_MAX + 64];

	http_split_target(target, &path, &pl, &query, &ql);
	CHECK(path && query && pl <= strlen(target) + 1);
	n = http_route_template(path, pl, out, sizeof(out));
	CHECK(n < sizeof(out) && out[n] == '\0' && strlen(out) == n);
	for (size_t i = 0; i < 3; i++) {
		n = http_query_redact(query, ql, modes[i], out, 40);
		CHECK(n < 40 && out[n] == '\0' && strlen(out) == n);
		CHECK(modes[i] != HTTP_QUERY_DROP || n == 0);
	}
}

static void exercise_traceparent(const char *tp)
{
	uint8_t tid[16], pid[8], fl;
	char out[56];

	if (traceparent_parse(tp, strlen(tp), tid, pid, &fl) != 0)
		return;
	traceparent_format(tid, pid, fl, out);
	CHECK(strlen(out) == 55);
	CHECK(traceparent_parse(out, 55, tid, pid, &fl) == 0);
}

static void check_msg(const struct fz *z, const struct http_msg *m)
{
	check_str(m->method, sizeof(m->method));
	check_str(m->target, sizeof(m->target));
	check_str(m->host, sizeof(m->host));
	check_str(m->user_agent, sizeof(m->user_agent));
	check_str(m->traceparent, sizeof(m->traceparent));
	CHECK(m->version_minor == 0 || m->version_minor == 1);
	CHECK(m->is_request == (z->side == HTTP_SIDE_REQUEST));
	CHECK(!(m->chunked && m->has_content_length));
	CHECK(m->content_length <= INT64_MAX);
	if (m->is_request) {
		CHECK(m->method[0] &&
			strspn(m->method, TOKEN_CHARS) == strlen(m->method));
		CHECK(m->target[0] && !strchr(m->target, ' '));
		CHECK(m->status == 0);
		CHECK(http_method_normalize(m->method) != NULL);
		exercise_target(m->target);
	} else {
		CHECK(m->status >= 100 && m->status <= 599);
		CHECK(m->method[0] == '\0' && m->target[0] == '\0');
	}
	exercise_traceparent(m->traceparent);
}

static void on_head(void *ctx, const struct http_msg *m)
{
	struct fz *z = ctx;

	check_msg(z, m);
	CHECK(m->body_bytes == 0);
	if (z->peer)
		http_stream_expect(z->peer, m->method);
}

static void on_complete(void *ctx, const struct http_msg *m)
{
	const struct fz *z = ctx;

	check_msg(z, m);
	if (m->has_content_length && !m->body_lost)
		CHECK(m->body_bytes == 0 || m->body_bytes == m->content_length);
	CHECK(m->is_request || m->status >= 200 || m->status == 101);
}

static void on_error(void *ctx, enum http_error e)
{
	(void)ctx;
	CHECK(e > HTTP_ERR_NONE && e <= HTTP_ERR_BAD_LENGTH);
}

static const struct http_callbacks cbs = { on_head, on_complete, on_error };

static void run_side(struct http_stream *s, struct fz *z, const uint8_t *plan,
		     size_t nplan, unsigned flags, const uint8_t *p,
		     size_t len)
{
	uint64_t captured = 0;
	size_t i = 0, k = 0;

	while (i < len) {
		uint8_t c = nplan ? plan[k++ % nplan] : 0;
		size_t piece = nplan ? (1 + (c & 0x1f)) * (c & 0x20 ? 64 : 1)
				     : len;
		size_t cap, total, end = 0;
		int done;

		if (piece > len - i)
			piece = len - i;
		cap = piece;
		total = piece;
		if (c >> 6 == 2)
			cap = piece / 2;
		else if (c >> 6 == 3)
			total = piece + ((size_t)(c & 0x1f) << 12);
		if (c >> 6 == 2 && (c & 0x10)) /* the end seen too */
			end = piece - cap < 8 ? piece - cap : 8;
		done = http_stream_feed(s, p + i, cap, total - end, &cbs, z);
		CHECK(done >= 0);
		done = http_stream_feed_end(s, p + i + piece - end, end, &cbs, z);
		CHECK(done >= 0);
		if ((flags & 4) && (c & 0x08))
			http_stream_end_lost(s, &cbs, z);
		captured += cap + end;
		CHECK(http_stream_good_bytes(s) <= captured);
		i += piece;
		if ((flags & 1) && i >= len / 2 && i - piece < len / 2)
			http_stream_eof(s, &cbs, z);
	}
	if (flags & 2)
		http_stream_eof_cut(s, &cbs, z);
	http_stream_eof(s, &cbs, z);
	CHECK(!http_stream_in_resync(s));
}

/* A PROXY header is never longer than the input, and its client is a
 * NUL-terminated address (digits, hex, '.', ':') or "". */
static void check_proxy_header(const uint8_t *data, size_t size)
{
	char client[48];
	size_t k = http_proxy_header(data, size, client, sizeof(client));

	CHECK(k <= size);
	check_str(client, sizeof(client));
	CHECK(strspn(client, "0123456789abcdefABCDEF.:") == strlen(client));
	CHECK(k || !client[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_stream *req, *resp;
	struct fz zq, zr;
	size_t nplan;
	unsigned flags;

	if (size < 1)
		return 0;
	nplan = data[0] & 0x0f;
	flags = data[0] >> 4;
	if (nplan > size - 1)
		nplan = size - 1;
	http_looks_like_request(data, size);
	http_looks_like_response(data, size);
	check_proxy_header(data, size);
	check_proxy_header(data + 1, size - 1);
	req = http_stream_new(HTTP_SIDE_REQUEST);
	resp = http_stream_new(HTTP_SIDE_RESPONSE);
	CHECK(req && resp);
	zq = (struct fz){ .peer = resp, .side = HTTP_SIDE_REQUEST };
	zr = (struct fz){ .peer = NULL, .side = HTTP_SIDE_RESPONSE };
	run_side(req, &zq, data + 1, nplan, flags, data + 1 + nplan,
		 size - 1 - nplan);
	run_side(resp, &zr, data + 1, nplan, flags, data + 1 + nplan,
		 size - 1 - nplan);
	http_stream_free(req);
	http_stream_free(resp);
	return 0;
}
