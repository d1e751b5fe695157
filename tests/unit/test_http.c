/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the incremental HTTP/1.x parser (user/http_parser.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "utf8.h"

/* RFC 9110 tchar: what a method may consist of */
#define TOKEN_CHARS "!#$%&'*+-.^_`|~0123456789" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#define REC_MAX 64
#define LOG_MAX 16384

/* Everything the callbacks saw, plus an ordered text log of events. */
struct rec {
	int heads, completes, errors;
	struct http_msg head[REC_MAX];
	struct http_msg done[REC_MAX];
	enum http_error err[REC_MAX];
	struct http_stream *peer; /* response stream fed expect() per request */
	char log[LOG_MAX];
	size_t log_len;
};

static void rec_log(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->log + r->log_len, LOG_MAX - r->log_len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < LOG_MAX - r->log_len);
	r->log_len += n;
}

/* NUL-terminated within cap, no control characters, valid UTF-8. */
static void check_str(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	assert_non_null(nul);
	assert_true(ebt_utf8_text_ok(s, (size_t)(nul - s)));
}

/* What every reported message must satisfy. */
static void check_msg(const struct http_msg *m)
{
	check_str(m->method, sizeof(m->method));
	check_str(m->target, sizeof(m->target));
	check_str(m->host, sizeof(m->host));
	check_str(m->user_agent, sizeof(m->user_agent));
	check_str(m->traceparent, sizeof(m->traceparent));
	check_str(m->fwd_client, sizeof(m->fwd_client));
	check_str(m->fwd_host, sizeof(m->fwd_host));
	check_str(m->fwd_proto, sizeof(m->fwd_proto));
	assert_true(!m->fwd_proto[0] || strcmp(m->fwd_proto, "http") == 0 ||
		    strcmp(m->fwd_proto, "https") == 0);
	assert_in_range(m->version_minor, 0, 1);
	if (m->is_request) {
		assert_true(m->method[0] &&
			strspn(m->method, TOKEN_CHARS) == strlen(m->method));
		assert_non_null(m->target[0]);
		assert_null(strchr(m->target, ' '));
	} else {
		assert_in_range(m->status, 100, 599);
	}
}

static void on_head(void *ctx, const struct http_msg *m)
{
	struct rec *r = ctx;

	check_msg(m);
	if (r->heads < REC_MAX)
		r->head[r->heads] = *m;
	r->heads++;
	rec_log(r, "H %s %s %d v%d cl=%d/%llu ch=%d close=%d up=%d %s|%s|%s\n",
		m->method, m->target, m->status, m->version_minor,
		m->has_content_length, (unsigned long long)m->content_length,
		m->chunked, m->conn_close, m->upgrade, m->host, m->user_agent,
		m->traceparent);
	if (r->peer && m->is_request)
		http_stream_expect(r->peer, m->method);
}

static void on_complete(void *ctx, const struct http_msg *m)
{
	struct rec *r = ctx;

	check_msg(m);
	if (r->completes < REC_MAX)
		r->done[r->completes] = *m;
	r->completes++;
	rec_log(r, "C %s %s %d body=%llu\n", m->method, m->target, m->status,
		(unsigned long long)m->body_bytes);
}

static void on_error(void *ctx, enum http_error e)
{
	struct rec *r = ctx;

	if (r->errors < REC_MAX)
		r->err[r->errors] = e;
	r->errors++;
	rec_log(r, "E %d\n", (int)e);
}

static const struct http_callbacks cbs = { on_head, on_complete, on_error };

static struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

/* Feed data in pieces of `step` bytes (each fully captured). */
static int feed_steps(struct http_stream *s, struct rec *r, const char *d,
		      size_t len, size_t step)
{
	int n = 0;

	for (size_t i = 0; i < len; i += step) {
		size_t k = len - i < step ? len - i : step;

		n += http_stream_feed(s, (const uint8_t *)d + i, k, k, &cbs, r);
	}
	return n;
}

static int feed_str(struct http_stream *s, struct rec *r, const char *d)
{
	size_t len = strlen(d);

	return http_stream_feed(s, (const uint8_t *)d, len, len, &cbs, r);
}

/* Feed the first `cap` bytes of d while the syscall moved all of d. */
static int feed_capped(struct http_stream *s, struct rec *r, const char *d,
		       size_t cap)
{
	return http_stream_feed(s, (const uint8_t *)d, cap, strlen(d), &cbs,
				r);
}

/* One stream, one side, whole input in one feed; caller frees both. */
static struct http_stream *one_shot(enum http_side side, const char *d,
				    struct rec **out)
{
	struct http_stream *s = http_stream_new(side);
	struct rec *r = rec_new();

	assert_non_null(s);
	feed_str(s, r, d);
	*out = r;
	return s;
}

static void done(struct http_stream *s, struct rec *r)
{
	http_stream_free(s);
	free(r);
}

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* ---- requests ---------------------------------------------------------- */

static void test_simple_get(void **state)
{
	const char *req = "GET /api/users/42?x=1 HTTP/1.1\r\n"
			  "Host: example.com:8080\r\n"
			  "User-Agent: curl/8.0\r\n"
			  "traceparent: " TP "\r\n"
			  "Accept: */*\r\n\r\n";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	const struct http_msg *m = &r->head[0];

	(void)state;
	assert_int_equal(feed_str(s, r, req), 1);
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->errors, 0);
	assert_true(m->is_request);
	assert_string_equal(m->method, "GET");
	assert_string_equal(m->target, "/api/users/42?x=1");
	assert_false(m->target_truncated);
	assert_int_equal(m->version_minor, 1);
	assert_string_equal(m->host, "example.com:8080");
	assert_string_equal(m->user_agent, "curl/8.0");
	assert_string_equal(m->traceparent, TP);
	assert_false(m->has_content_length);
	assert_false(m->chunked);
	assert_false(m->conn_close);
	assert_false(m->upgrade);
	assert_int_equal(r->done[0].body_bytes, 0);
	assert_int_equal(http_stream_good_bytes(s), strlen(req));
	assert_false(http_stream_in_resync(s));
	done(s, r);
}

static void expect_fwd(const char *headers, const char *client,
		       const char *host, const char *proto)
{
	char req[1024];
	struct rec *r;
	struct http_stream *s;

	snprintf(req, sizeof(req),
		 "GET /p HTTP/1.1\r\nHost: in.local:8080\r\n%s\r\n", headers);
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	assert_string_equal(r->done[0].fwd_client, client);
	assert_string_equal(r->done[0].fwd_host, host);
	assert_string_equal(r->done[0].fwd_proto, proto);
	assert_string_equal(r->done[0].host, "in.local:8080");
	done(s, r);
}

/* What a proxy says of the original request: RFC 7239 Forwarded first,
 * else X-Forwarded-*; the first element is the client's side; values
 * that are not addresses or schemes are left out. */
static void test_forwarded_headers(void **state)
{
	(void)state;
	expect_fwd("", "", "", "");
	expect_fwd("X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n"
		   "X-Forwarded-Host: shop.example.com\r\n"
		   "X-Forwarded-Proto: https\r\n",
		   "203.0.113.7", "shop.example.com", "https");
	expect_fwd("x-forwarded-for: 203.0.113.7:51000\r\n"
		   "X-Forwarded-For: 198.51.100.1\r\n",
		   "203.0.113.7", "", "");
	expect_fwd("X-Forwarded-For: 2001:db8::1\r\n", "2001:db8::1", "", "");
	expect_fwd("X-Forwarded-For: [2001:db8::1]:443\r\n", "2001:db8::1",
		   "", "");
	expect_fwd("X-Forwarded-For: unknown, 10.0.0.1\r\n", "", "", "");
	expect_fwd("X-Forwarded-For: 1.2.3.4<script>\r\n", "", "", "");
	expect_fwd("X-Forwarded-Proto: gopher\r\n", "", "", "");
	expect_fwd("Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43\r\n",
		   "192.0.2.60", "", "http");
	expect_fwd("Forwarded: For=\"[2001:db8:cafe::17]:4711\"; "
		   "host=\"a.example:8443\"; proto=HTTPS, for=10.1.1.1\r\n",
		   "2001:db8:cafe::17", "a.example:8443", "https");
	expect_fwd("Forwarded: for=_hidden;host=\"x,y\"\r\n", "", "x,y", "");
	/* Forwarded wins, wherever it comes, and a second line is ignored */
	expect_fwd("X-Forwarded-For: 203.0.113.7\r\n"
		   "X-Forwarded-Proto: https\r\n"
		   "Forwarded: for=192.0.2.60\r\n"
		   "Forwarded: for=192.0.2.99;proto=https\r\n"
		   "X-Forwarded-Host: late.example\r\n",
		   "192.0.2.60", "", "");
}

static void test_sensitive_never_copied(void **state)
{
	const char *req = "GET / HTTP/1.1\r\nHost: h\r\n"
			  "Authorization: Bearer SECRET1\r\n"
			  "Cookie: sid=SECRET2\r\n"
			  "Proxy-Authorization: Basic SECRET3\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nSet-Cookie: a=SECRET4\r\n"
			   "Content-Length: 0\r\n\r\n";
	const char *secrets[] = { "SECRET1", "SECRET2", "SECRET3", "SECRET4" };
	struct rec *r1, *r2;
	struct http_stream *s1 = one_shot(HTTP_SIDE_REQUEST, req, &r1);
	struct http_stream *s2 = one_shot(HTTP_SIDE_RESPONSE, resp, &r2);

	(void)state;
	assert_int_equal(r1->completes, 1);
	assert_int_equal(r2->completes, 1);
	for (size_t i = 0; i < 4; i++) {
		assert_null(memmem(r1->head, sizeof(r1->head), secrets[i], 7));
		assert_null(memmem(r1->done, sizeof(r1->done), secrets[i], 7));
		assert_null(memmem(r2->head, sizeof(r2->head), secrets[i], 7));
		assert_null(memmem(r2->done, sizeof(r2->done), secrets[i], 7));
	}
	done(s1, r1);
	done(s2, r2);
}

static void test_pipelined_three(void **state)
{
	const char *req = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
			  "POST /two HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
			  "DELETE /three/7 HTTP/1.1\r\nHost: c\r\n\r\n";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	assert_int_equal(feed_str(s, r, req), 3);
	assert_int_equal(r->errors, 0);
	assert_string_equal(r->done[0].target, "/one");
	assert_string_equal(r->done[1].method, "POST");
	assert_true(r->done[1].has_content_length);
	assert_int_equal(r->done[1].content_length, 5);
	assert_int_equal(r->done[1].body_bytes, 5);
	assert_string_equal(r->done[2].method, "DELETE");
	assert_string_equal(r->done[2].host, "c");
	done(s, r);
}

static void test_chunked_request_ext_trailers(void **state)
{
	const char *req = "POST /up HTTP/1.1\r\nHost: h\r\n"
			  "Transfer-Encoding: chunked\r\n\r\n"
			  "4;name=value;x=\"q s\"\r\nWiki\r\n"
			  "5 ; ext\r\npedia\r\n"
			  "E\r\n in\r\n\r\nchunks.\r\n"
			  "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
			  "GET /after HTTP/1.1\r\n\r\n";
	struct rec *r;
	struct http_stream *s = one_shot(HTTP_SIDE_REQUEST, req, &r);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 2);
	assert_true(r->done[0].chunked);
	assert_false(r->done[0].has_content_length);
	assert_int_equal(r->done[0].body_bytes, 4 + 5 + 14);
	assert_string_equal(r->done[1].target, "/after");
	done(s, r);
}

static void test_http10_request(void **state)
{
	struct rec *r;
	struct http_stream *s =
		one_shot(HTTP_SIDE_REQUEST,
			 "GET /a HTTP/1.0\r\n\r\n"
			 "GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
			 "GET /c HTTP/1.1\r\nConnection: Upgrade-Insecure, close\r\n\r\n",
			 &r);

	(void)state;
	assert_int_equal(r->completes, 3);
	assert_int_equal(r->done[0].version_minor, 0);
	assert_true(r->done[0].conn_close);
	assert_false(r->done[1].conn_close);
	assert_true(r->done[2].conn_close);
	assert_int_equal(r->done[0].body_bytes, 0);
	done(s, r);
}

static void test_lf_only_and_blank_lines(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_REQUEST,
		"\r\n\r\nPOST /a HTTP/1.1\nContent-Length: 2\n\nok\r\n"
		"GET /b HTTP/1.1\nHost: x\n\n",
		&r);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->done[0].body_bytes, 2);
	assert_string_equal(r->done[1].host, "x");
	done(s, r);
}

static void test_target_truncated(void **state)
{
	size_t n = 3000;
	char *req = malloc(n + 64);
	struct rec *r;
	struct http_stream *s;

	(void)state;
	assert_non_null(req);
	strcpy(req, "GET /");
	memset(req + 5, 'a', n);
	strcpy(req + 5 + n, " HTTP/1.1\r\n\r\n");
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].target_truncated);
	assert_int_equal(strlen(r->done[0].target), HTTP_TARGET_MAX - 1);
	assert_int_equal(r->done[0].target[0], '/');
	free(req);
	done(s, r);
}

static void test_header_values_cleaned(void **state)
{
	char ua[700];
	char req[1024];
	struct rec *r;
	struct http_stream *s;

	(void)state;
	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHOST:  h\xc3\xa9s\xe9t \t\r\nuser-agent: %s\r\n"
		 "Host: second\r\n\r\n",
		 ua);
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	/* a UTF-8 character kept, a lone Latin-1 byte replaced */
	assert_string_equal(r->done[0].host, "h\xc3\xa9s?t");
	assert_int_equal(strlen(r->done[0].user_agent), HTTP_UA_MAX - 1);
	done(s, r);
}

/* A character that would not fit whole in the bound is left out whole. */
static void test_header_value_bound_keeps_characters_whole(void **state)
{
	char ua[HTTP_UA_MAX - 2];
	char req[1024];
	struct rec *r;
	struct http_stream *s;

	(void)state;
	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: %s\xe2\x82\xac\r\n\r\n",
		 ua);
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	/* 509 bytes then a 3-byte euro sign: 512 do not fit in 511 */
	assert_int_equal(strlen(r->done[0].user_agent), HTTP_UA_MAX - 3);
	done(s, r);
}

/*
 * Raw bytes >= 0x80 in a request target: not what RFC 3986 allows, but
 * curl sends "/café" as typed and Python, Go, the JDK and nginx serve it.
 * UTF-8 characters are kept, other bytes percent-encoded.
 */
static void test_target_with_raw_non_ascii_bytes(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_REQUEST,
		"GET /caf\xc3\xa9/\xe9t\xe9?q=\xe2\x82\xac HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /\xc3 HTTP/1.1\r\nHost: h\r\n\r\n",
		&r);

	(void)state;
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->errors, 0);
	assert_string_equal(r->done[0].target,
			    "/caf\xc3\xa9/%E9t%E9?q=\xe2\x82\xac");
	assert_false(r->done[0].target_truncated);
	assert_string_equal(r->done[1].target, "/%C3");
	done(s, r);
}

/* A target longer than kept is cut before a character, never inside. */
static void test_long_non_ascii_target_cut_at_a_character(void **state)
{
	static char req[HTTP_TARGET_MAX + 128];
	size_t o;
	struct rec *r;
	struct http_stream *s;

	(void)state;
	o = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + o, 'a', HTTP_TARGET_MAX - 3);
	o += HTTP_TARGET_MAX - 3;
	o += (size_t)snprintf(req + o, sizeof(req) - o,
			      "\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n");
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].target_truncated);
	assert_int_equal(strlen(r->done[0].target), HTTP_TARGET_MAX - 2);
	done(s, r);
}

/* ---- responses --------------------------------------------------------- */

static void test_response_content_length(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_RESPONSE,
		"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
		"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
		&r);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 2);
	assert_false(r->done[0].is_request);
	assert_int_equal(r->done[0].status, 200);
	assert_int_equal(r->done[0].body_bytes, 13);
	assert_int_equal(r->done[1].status, 404);
	done(s, r);
}

static void test_head_response_then_next(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_expect(s, "HEAD");
	http_stream_expect(s, "GET");
	assert_int_equal(
		feed_str(s, r,
			 "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
			 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
		2);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->done[0].content_length, 1000);
	assert_int_equal(r->done[0].body_bytes, 0);
	assert_int_equal(r->done[1].body_bytes, 2);
	done(s, r);
}

static void test_204_304_no_body(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_RESPONSE,
		"HTTP/1.1 204 No Content\r\n\r\n"
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		&r);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 3);
	assert_int_equal(r->done[0].status, 204);
	assert_int_equal(r->done[1].status, 304);
	assert_int_equal(r->done[1].body_bytes, 0);
	assert_int_equal(r->done[2].body_bytes, 3);
	done(s, r);
}

static void test_100_continue_then_200(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_expect(s, "HEAD");
	assert_int_equal(feed_str(s, r, "HTTP/1.1 100 Continue\r\n\r\n"), 0);
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->head[0].status, 100);
	assert_int_equal(
		feed_str(s, r,
			 "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
			 "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"),
		1);
	/* the HEAD entry was popped by the 200, not by the 1xx */
	assert_int_equal(r->heads, 3);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->done[0].status, 200);
	assert_int_equal(r->done[0].body_bytes, 0);
	done(s, r);
}

static void test_101_switching_is_opaque(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_RESPONSE,
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n\r\n\x81\x05hello"
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		&r);

	(void)state;
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->errors, 0);
	assert_true(r->done[0].upgrade);
	feed_str(s, r, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(r->heads, 1);
	assert_false(http_stream_in_resync(s));
	done(s, r);
}

static void test_connect_tunnel(void **state)
{
	struct http_stream *rs = http_stream_new(HTTP_SIDE_RESPONSE);
	struct http_stream *qs = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *rr = rec_new(), *qr = rec_new();
	const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	(void)state;
	qr->peer = rs;
	feed_str(qs, qr, "CONNECT example.com:443 HTTP/1.1\r\n"
			 "Host: example.com:443\r\n\r\n");
	http_stream_feed(qs, (const uint8_t *)tls, sizeof(tls) - 1,
			 sizeof(tls) - 1, &cbs, qr);
	feed_str(qs, qr, "GET / HTTP/1.1\r\n\r\n"); /* inside the tunnel */
	assert_int_equal(qr->completes, 1);
	assert_int_equal(qr->errors, 0);
	assert_string_equal(qr->done[0].target, "example.com:443");
	feed_str(rs, rr, "HTTP/1.1 200 Connection Established\r\n\r\n");
	http_stream_feed(rs, (const uint8_t *)tls, sizeof(tls) - 1,
			 sizeof(tls) - 1, &cbs, rr);
	assert_int_equal(rr->completes, 1);
	assert_int_equal(rr->errors, 0);
	assert_int_equal(rr->done[0].body_bytes, 0);
	done(qs, qr);
	done(rs, rr);
}

static void test_upgrade_request_then_frames(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

	(void)state;
	feed_str(s, r, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		       "Connection: Upgrade\r\n\r\n");
	http_stream_feed(s, (const uint8_t *)frame, sizeof(frame) - 1,
			 sizeof(frame) - 1, &cbs, r);
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].upgrade);
	assert_int_equal(r->errors, 0);
	/* an Upgrade the server declined: the next request is still parsed */
	done(s, r);
	s = http_stream_new(HTTP_SIDE_REQUEST);
	r = rec_new();
	feed_str(s, r, "GET /x HTTP/1.1\r\nUpgrade: h2c\r\n\r\n");
	feed_str(s, r, "GET /y HTTP/1.1\r\n\r\n");
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

static void test_close_delimited_eof(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	assert_int_equal(feed_str(s, r, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n"
					"part one,"),
			 0);
	assert_int_equal(feed_str(s, r, " part two"), 0);
	assert_int_equal(r->heads, 1);
	assert_true(r->head[0].conn_close);
	assert_int_equal(r->completes, 0);
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->done[0].body_bytes, 18);
	assert_int_equal(r->errors, 0);
	/* HTTP/1.1 without length nor chunked is close-delimited too */
	feed_str(s, r, "HTTP/1.1 200 OK\r\n\r\nabc");
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->done[1].body_bytes, 3);
	done(s, r);
}

/* A close as the tracer handles it: the cut, then eof. */
static bool cut_then_eof(struct http_stream *s, struct rec *r)
{
	bool cut = http_stream_eof_cut(s, &cbs, r);

	http_stream_eof(s, &cbs, r);
	return cut;
}

/* A client that closes inside a body (it stopped reading a download):
 * the response is completed with its size unknown; a close between
 * messages or inside a head completes nothing, nor does plain eof. */
static void test_eof_cut_inside_body(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	feed_str(s, r, "HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\nxyz");
	assert_true(cut_then_eof(s, r));
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->done[0].status, 200);
	assert_true(r->done[0].body_lost);
	feed_str(s, r, "HTTP/1.1 206 Partial\r\nTransfer-Encoding: chunked\r\n"
		       "\r\n10\r\n0123");
	assert_true(cut_then_eof(s, r));
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->done[1].status, 206);
	assert_true(r->done[1].body_lost);
	/* in the trailers: the body was whole */
	feed_str(s, r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		       "\r\n2\r\nab\r\n0\r\nX-Sum: 1\r\n");
	assert_true(cut_then_eof(s, r));
	assert_int_equal(r->completes, 3);
	assert_false(r->done[2].body_lost);
	assert_int_equal(r->done[2].body_bytes, 2);
	/* nothing half-read, or a head cut short: nothing to complete */
	assert_false(cut_then_eof(s, r));
	feed_str(s, r, "HTTP/1.1 200 OK\r\nContent-Le");
	assert_false(cut_then_eof(s, r));
	assert_int_equal(r->completes, 3);
	/* plain eof still drops a body cut short */
	feed_str(s, r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nxyz");
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->completes, 3);
	/* the request side is never completed by a close */
	done(s, r);
	s = http_stream_new(HTTP_SIDE_REQUEST);
	r = rec_new();
	feed_str(s, r, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nxyz");
	assert_false(cut_then_eof(s, r));
	assert_int_equal(r->completes, 0);
	assert_int_equal(r->errors, 0);
	assert_false(http_stream_eof_cut(NULL, NULL, NULL));
	done(s, r);
}

static void test_transfer_encoding_variants(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_RESPONSE,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
		"Content-Length: 999\r\n\r\n2\r\nab\r\n0\r\n\r\n"
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
		&r);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].chunked);
	assert_false(r->done[0].has_content_length);
	assert_int_equal(r->done[0].body_bytes, 2);
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->done[1].body_bytes, 3);
	done(s, r);
	/* a request body that cannot be framed is an error */
	s = one_shot(HTTP_SIDE_REQUEST,
		     "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &r);
	assert_int_equal(r->heads, 0);
	assert_int_equal(r->errors, 1);
	assert_int_equal(r->err[0], HTTP_ERR_BAD_HEADER);
	done(s, r);
}

static void test_pipelined_fifo(void **state)
{
	struct http_stream *q = http_stream_new(HTTP_SIDE_REQUEST);
	struct http_stream *p = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *qr = rec_new(), *pr = rec_new();

	(void)state;
	qr->peer = p;
	feed_str(q, qr, "HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
			"HEAD /c HTTP/1.1\r\n\r\n");
	assert_int_equal(qr->completes, 3);
	assert_int_equal(
		feed_str(p, pr,
			 "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
			 "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"
			 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
		3);
	assert_int_equal(pr->errors, 0);
	assert_int_equal(pr->done[1].body_bytes, 4);
	assert_int_equal(pr->done[2].body_bytes, 0);
	/* FIFO empty: an ordinary response again */
	assert_int_equal(feed_str(p, pr, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"),
			 0);
	assert_int_equal(feed_str(p, pr, "x"), 1);
	done(q, qr);
	done(p, pr);
}

static void test_fifo_full(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n";

	(void)state;
	for (int i = 0; i < HTTP_PIPELINE_MAX; i++)
		http_stream_expect(s, "HEAD");
	http_stream_expect(s, "HEAD"); /* FIFO full: dropped */
	for (int i = 0; i < HTTP_PIPELINE_MAX; i++)
		assert_int_equal(feed_str(s, r, resp), 1);
	/* the dropped entry is an ordinary response: its body is awaited */
	assert_int_equal(feed_str(s, r, resp), 0);
	assert_int_equal(feed_str(s, r, "z"), 1);
	assert_int_equal(r->done[HTTP_PIPELINE_MAX].body_bytes, 1);
	assert_int_equal(r->errors, 0);
	/* the request side ignores expect() */
	done(s, r);
	s = http_stream_new(HTTP_SIDE_REQUEST);
	r = rec_new();
	http_stream_expect(s, "HEAD");
	assert_int_equal(feed_str(s, r, "POST / HTTP/1.1\r\n"
					"Content-Length: 1\r\n\r\nx"),
			 1);
	done(s, r);
}

/* ---- splitting --------------------------------------------------------- */

static const char *exch_req =
	"GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\ntraceparent: " TP
	"\r\n\r\n"
	"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
	"HEAD /d HTTP/1.1\r\n\r\n"
	"GET /e HTTP/1.0\r\n\r\n";

static const char *exch_resp =
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	"HTTP/1.1 100 Continue\r\n\r\n"
	"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	"3\r\nabc\r\n10;x=y\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
	"HTTP/1.1 204 No Content\r\n\r\n"
	"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	"HTTP/1.0 200 OK\r\n\r\nclose-delimited body";

/* Run one side with the given piece sizes (cycled); returns the log. */
static struct rec *run_split(enum http_side side, const char *d,
			     const size_t *steps, size_t nsteps)
{
	static const char *methods[] = { "GET", "POST", "PUT", "HEAD", "GET" };
	struct http_stream *s = http_stream_new(side);
	struct rec *r = rec_new();
	size_t len = strlen(d), i = 0, k = 0;

	if (side == HTTP_SIDE_RESPONSE)
		for (size_t j = 0; j < 5; j++)
			http_stream_expect(s, methods[j]);
	while (i < len) {
		size_t n = steps[k++ % nsteps];

		if (n > len - i)
			n = len - i;
		http_stream_feed(s, (const uint8_t *)d + i, n, n, &cbs, r);
		i += n;
	}
	http_stream_eof(s, &cbs, r);
	http_stream_free(s);
	return r;
}

static void check_splits(enum http_side side, const char *d, int completes)
{
	size_t len = strlen(d), whole = len, one = 1;
	struct rec *ref = run_split(side, d, &whole, 1);
	struct rec *r;

	assert_int_equal(ref->completes, completes);
	assert_int_equal(ref->errors, 0);
	r = run_split(side, d, &one, 1);
	assert_string_equal(r->log, ref->log);
	free(r);
	for (size_t cut = 1; cut < len; cut++) {
		size_t steps[2] = { cut, len };

		r = run_split(side, d, steps, 2);
		assert_string_equal(r->log, ref->log);
		free(r);
	}
	srand(7);
	for (int round = 0; round < 200; round++) {
		size_t steps[8];

		for (size_t j = 0; j < 8; j++)
			steps[j] = 1 + rand() % 40;
		r = run_split(side, d, steps, 8);
		assert_string_equal(r->log, ref->log);
		free(r);
	}
	free(ref);
}

static void test_each_byte_split_requests(void **state)
{
	(void)state;
	check_splits(HTTP_SIDE_REQUEST, exch_req, 5);
}

static void test_each_byte_split_responses(void **state)
{
	(void)state;
	check_splits(HTTP_SIDE_RESPONSE, exch_resp, 5);
}

/* ---- gaps -------------------------------------------------------------- */

static void test_gap_in_body_ok(void **state)
{
	const char *req = "POST /big HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	uint8_t body[600] = { 0 };
	size_t hl = strlen(req);

	(void)state;
	/* head + 100 body bytes captured of a 500-byte write */
	char first[1024];

	memcpy(first, req, hl);
	memset(first + hl, 'b', 100);
	assert_int_equal(http_stream_feed(s, (const uint8_t *)first, hl + 100,
					  hl + 500, &cbs, r),
			 0);
	assert_int_equal(r->heads, 1);
	/* the remaining 500 bytes: 10 captured */
	assert_int_equal(http_stream_feed(s, body, 10, 500, &cbs, r), 1);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->done[0].body_bytes, 1000);
	assert_int_equal(feed_str(s, r, "GET /next HTTP/1.1\r\n\r\n"), 1);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* What BPF skipped inside a long body (http_stream_gap) only counts; what
 * is left of the body is known (http_stream_body_left) so BPF can be told. */
static void test_skipped_body_bytes(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nab";
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			      "\r\n100000\r\nxy";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	assert_int_equal(http_stream_body_left(s), 0);
	assert_int_equal(feed_str(s, r, resp), 0);
	assert_int_equal(http_stream_body_left(s), 1000000 - 2);
	http_stream_gap(s, 500000, &cbs, r);
	assert_int_equal(http_stream_body_left(s), 500000 - 2);
	http_stream_gap(s, 499990, &cbs, r);
	assert_int_equal(r->completes, 0);
	assert_int_equal(feed_str(s, r, "12345678"), 1);
	assert_int_equal(r->done[0].body_bytes, 1000000);
	assert_int_equal(http_stream_body_left(s), 0);
	/* chunk data: the rest of the chunk, then its framing as usual */
	assert_int_equal(feed_str(s, r, chunked), 0);
	assert_int_equal(http_stream_body_left(s), 0x100000 - 2);
	http_stream_gap(s, 0x100000 - 3, &cbs, r);
	assert_int_equal(feed_str(s, r, "z\r\n0\r\n\r\n"), 1);
	assert_int_equal(r->done[1].body_bytes, 0x100000);
	assert_int_equal(r->errors, 0);
	http_stream_gap(NULL, 10, &cbs, r);
	assert_int_equal(http_stream_body_left(NULL), 0);
	done(s, r);
}

static void test_gap_in_chunk_data_ok(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n400\r\nxxxxxxxx";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	/* 8 of 0x400 chunk bytes captured, 0x400 - 8 missing */
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp),
			 strlen(resp) + 0x400 - 8, &cbs, r);
	assert_int_equal(r->errors, 0);
	assert_int_equal(feed_str(s, r, "\r\n0\r\n\r\n"), 1);
	assert_int_equal(r->done[0].body_bytes, 0x400);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* A read that moved several chunks, more than was captured: the framing
 * is gone, the message is not; its end is the last chunk seen later. */
static void test_gap_across_chunk_boundary(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n10\r\nxxxx";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp),
			 strlen(resp) + 100, &cbs, r);
	assert_int_equal(r->errors, 0);
	assert_false(http_stream_in_resync(s));
	/* text that only looks like the end is not: "0" must follow CRLF */
	assert_int_equal(feed_str(s, r, "x0\r\n\r\nrest\r\n0\r\n0\r\n"), 0);
	assert_int_equal(feed_str(s, r, "\r\n"), 1);
	assert_true(r->done[0].body_lost);
	assert_false(r->done[0].ended_before); /* in this feed */
	assert_int_equal(r->done[0].status, 200);
	assert_int_equal(feed_str(s, r, "HTTP/1.1 204 No Content\r\n\r\n"), 1);
	assert_false(r->done[1].body_lost);
	assert_int_equal(r->done[1].status, 204);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* The end of a body whose framing a gap hid, with what RFC 9112 allows
 * there: zeros, an extension on the last chunk, trailer fields. */
static void test_lost_chunks_end_with_trailers(void **state)
{
	static const char *const ends[] = {
		"\r\n0\r\nX-Checksum: abc\r\n\r\n",
		"\r\n000;sig=\"a;b\"\r\n\r\n",
		"\r\n0;x\r\nA: 1\r\nB-c:\r\n\r\n",
		"\r\n0\r\n0\r\n\r\n",
	};
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n1000\r\nxxxx";

	(void)state;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
		struct rec *r = rec_new();

		http_stream_feed(s, (const uint8_t *)resp, strlen(resp),
				 strlen(resp) + 9000, &cbs, r);
		/* text that only looks like an end is not one */
		assert_int_equal(feed_str(s, r, "\r\n0\r\nnot a field\r\n"
					  "\r\n0;\nX\r\n"), 0);
		assert_int_equal(feed_str(s, r, ends[i]), 1);
		assert_true(r->done[0].body_lost);
		assert_int_equal(feed_str(s, r, "HTTP/1.1 204 No\r\n\r\n"), 1);
		assert_int_equal(r->done[1].status, 204);
		assert_int_equal(r->errors, 0);
		done(s, r);
	}
}

/* A client that waits for each answer sent its next request: the body
 * whose end a gap hid ended before it, and the next response is parsed
 * from its first byte even when its head comes a few bytes at a time. */
static void test_lost_body_ended_by_next_request(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n1000\r\nxxxx";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp),
			 strlen(resp) + 9000, &cbs, r);
	assert_false(http_stream_end_lost(NULL, &cbs, r));
	assert_true(http_stream_end_lost(s, &cbs, r));
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].body_lost && r->done[0].ended_before);
	assert_false(http_stream_end_lost(s, &cbs, r)); /* not in a body now */
	assert_int_equal(feed_str(s, r, "HTTP/1.1 4"), 0);
	assert_int_equal(feed_str(s, r, "04 Not Found\r\nContent-Le"), 0);
	assert_int_equal(feed_str(s, r, "ngth: 2\r\n\r\nno"), 1);
	assert_int_equal(r->done[1].status, 404);
	assert_int_equal(r->done[1].body_bytes, 2);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* The end of the body fell in a gap too: a later read that starts with a
 * valid start line ends it; one that only starts like one does not. */
static void test_chunk_lost_ends_at_next_head(void **state)
{
	const char *req = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			  "\r\n1000\r\nabcd";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)req, strlen(req), 20000, &cbs, r);
	assert_int_equal(r->heads, 1);
	assert_int_equal(feed_capped(s, r, "GET the rest of the text " "and more", 10), 0);
	assert_int_equal(feed_str(s, r, "A b\r\n"), 0);
	/* a whole start line, but no whole head: body text too */
	assert_int_equal(feed_str(s, r, "GET /in/body HTTP/1.1\r\nmore text"), 0);
	assert_int_equal(feed_str(s, r, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"), 2);
	assert_true(r->done[0].body_lost);
	assert_true(r->done[0].ended_before); /* in the gap before /next */
	assert_string_equal(r->done[0].target, "/up");
	assert_string_equal(r->done[1].target, "/next");
	assert_false(r->done[1].body_lost);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* A gap right after a chunk's data, then a read that starts with the last
 * chunk: the CRLF before it was in the gap. */
static void test_chunk_lost_last_chunk_at_feed_start(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n2000\r\nxx";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp), 9000, &cbs, r);
	assert_int_equal(feed_str(s, r, "0\r\n\r\nHTTP/1.1 200 OK\r\n"
					"Content-Length: 2\r\n\r\nok"), 2);
	assert_true(r->done[0].body_lost);
	assert_int_equal(r->done[1].body_bytes, 2);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* ... and the close ends it when nothing else does. */
static void test_chunk_lost_ends_at_eof(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n8\r\nxx";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp), 9000, &cbs, r);
	assert_int_equal(r->completes, 0);
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->completes, 1);
	assert_true(r->done[0].body_lost);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* A syscall's prefix, its unseen middle, then its last end bytes, as
 * conntrack feeds a record that carries the end (EBT_DATA_END). */
static int feed_prefix_end(struct http_stream *s, struct rec *r,
			   const char *d, size_t total, size_t cap, size_t end)
{
	int n = http_stream_feed(s, (const uint8_t *)d, cap, total - end, &cbs,
				 r);

	return n + http_stream_feed_end(s, (const uint8_t *)d + total - end,
					end, &cbs, r);
}

/* One long chunk in one write, its framing before and after it: the end
 * bytes hold the CRLF after its data and the last chunk, so the body is
 * framed exactly, and ends with this write. */
static void test_chunk_end_bytes_keep_the_framing(void **state)
{
	static char resp[20100];
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();
	int n;

	(void)state;
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n4e20\r\n");
	memset(resp + n, 'x', 20000);
	strcpy(resp + n + 20000, "\r\n0\r\n\r\n");
	assert_int_equal(feed_prefix_end(s, r, resp, strlen(resp), 8159, 32), 1);
	assert_false(r->done[0].body_lost);
	assert_int_equal(r->done[0].body_bytes, 20000);
	assert_int_equal(feed_str(s, r, "HTTP/1.1 204 No Content\r\n\r\n"), 1);
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* Many chunks in one read: the framing is lost in the middle, but the
 * last chunk in the end bytes ends the body with this read. */
static void test_chunk_end_bytes_end_a_lost_body(void **state)
{
	static char resp[40000];
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();
	size_t n;

	(void)state;
	n = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 30; i++) {
		n += (size_t)snprintf(resp + n, sizeof(resp) - n, "3e8\r\n");
		memset(resp + n, 'c', 1000);
		n += 1000;
		n += (size_t)snprintf(resp + n, sizeof(resp) - n, "\r\n");
	}
	n += (size_t)snprintf(resp + n, sizeof(resp) - n, "0\r\n\r\n");
	assert_int_equal(feed_prefix_end(s, r, resp, n, 8159, 32), 1);
	assert_true(r->done[0].body_lost);
	assert_false(r->done[0].ended_before);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* End bytes after a head longer than the capture (cut) are let go:
 * never read as a start line. */
static void test_end_bytes_after_a_cut_head_are_let_go(void **state)
{
	static char req[12000];
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	size_t n;

	(void)state;
	n = (size_t)snprintf(req, sizeof(req), "GET /long HTTP/1.1\r\nX: ");
	memset(req + n, 'v', 10000);
	n += 10000;
	n += (size_t)snprintf(req + n, sizeof(req) - n,
			      "\r\n\r\nGET /no HTTP/1.1\r\nHost: h\r\n\r\n");
	feed_prefix_end(s, r, req, n, 8159, 32);
	assert_int_equal(r->heads, 1);
	assert_string_equal(r->head[0].target, "/long");
	assert_int_equal(feed_str(s, r, "GET /yes HTTP/1.1\r\n\r\n"), 1);
	assert_int_equal(r->heads, 2);
	assert_string_equal(r->head[1].target, "/yes");
	done(s, r);
}

/* A body that ends right where the end bytes begin: they are the next
 * request's first bytes, and its head goes on in the next read. */
static void test_end_bytes_start_the_next_message(void **state)
{
	static char req[20000];
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	size_t n;

	(void)state;
	n = (size_t)snprintf(req, sizeof(req), "POST /a HTTP/1.1\r\n"
			     "Content-Length: 12000\r\n\r\n");
	memset(req + n, 'b', 12000);
	n += 12000;
	n += (size_t)snprintf(req + n, sizeof(req) - n,
			      "GET /second/one/with/a/long/path");
	assert_int_equal(feed_prefix_end(s, r, req, n, 8159, 32), 1);
	assert_int_equal(r->done[0].body_bytes, 12000);
	assert_int_equal(feed_str(s, r, " HTTP/1.1\r\nHost: h\r\n\r\n"), 1);
	assert_int_equal(r->heads, 2);
	assert_string_equal(r->head[1].target, "/second/one/with/a/long/path");
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* Whole chunked request: body_bytes is the chunk data, not lost. */
static void test_chunked_request_body_size(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(HTTP_SIDE_REQUEST,
		"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n10000\r\n", &r);

	(void)state;
	assert_int_equal(r->completes, 0);
	assert_int_equal(http_stream_feed(s, (const uint8_t *)"abc", 3,
					  0x10000, &cbs, r), 0);
	assert_int_equal(feed_str(s, r, "\r\n0\r\n\r\n"), 1);
	assert_int_equal(r->done[0].body_bytes, 5 + 0x10000);
	assert_false(r->done[0].body_lost);
	done(s, r);
}

static void test_gap_in_headers_then_recovery(void **state)
{
	const char *req = "GET /lost HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaa";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	/* a head cut by the capture: its whole lines are reported */
	assert_int_equal(http_stream_feed(s, (const uint8_t *)req, strlen(req),
					  strlen(req) + 5000, &cbs, r),
			 1);
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->errors, 0);
	assert_string_equal(r->head[0].target, "/lost");
	assert_string_equal(r->head[0].host, "h");
	assert_true(r->head[0].head_cut);
	assert_int_equal(r->done[0].body_bytes, 0);
	/* the rest of that request, then the next one in the same write */
	assert_int_equal(feed_str(s, r, "aaaa\r\nAccept: x\r\n\r\n"
					"GET /found HTTP/1.1\r\n\r\n"),
			 1);
	assert_int_equal(r->heads, 2);
	assert_string_equal(r->head[1].target, "/found");
	assert_false(r->head[1].head_cut);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* A response head bigger than the capture, with a body, then the next. */
static void test_response_head_cut(void **state)
{
	const char *resp = "HTTP/1.1 201 Created\r\nX-A: 1\r\nX-B: 2";
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	http_stream_expect(s, "GET");
	http_stream_expect(s, "HEAD");
	assert_int_equal(http_stream_feed(s, (const uint8_t *)resp,
					  strlen(resp), strlen(resp) + 9000,
					  &cbs, r),
			 1);
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->head[0].status, 201);
	assert_true(r->head[0].head_cut);
	assert_int_equal(r->completes, 1);
	/* the rest of its head and its body, then a HEAD response */
	assert_int_equal(feed_str(s, r, "22\r\nContent-Length: 14\r\n\r\n"
					"body with\nLF\n"),
			 0);
	assert_int_equal(feed_str(s, r, "HTTP/1.1 200 OK\r\n"
					"Content-Length: 99\r\n\r\n"),
			 1);
	assert_int_equal(r->completes, 2);
	assert_int_equal(r->done[1].status, 200);
	assert_int_equal(r->errors, 0);
	done(s, r);
}

/* PROXY protocol v1 and v2 headers: their length and the client. */
static void test_proxy_headers(void **state)
{
	static const uint8_t v2[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7, 10, 0, 0,
		5, 0xc8, 0x22, 0x00, 0x50, 'G', 'E', 'T'};
	static const struct {
		const char *d;
		size_t len;
		const char *client;
	} v1[] = {
		{ "PROXY TCP4 203.0.113.7 10.0.0.5 51234 80\r\nGET /", 42,
		  "203.0.113.7" },
		{ "PROXY TCP6 2001:db8::7 2001:db8::5 51234 80\r\n", 45,
		  "2001:db8::7" },
		{ "PROXY UNKNOWN\r\nGET /", 15, "" },
		{ "PROXY TCP4 not-an-ip 10.0.0.5 1 2\r\n", 35, "" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0, "" }, /* no CR */
		{ "PROXY TCP4 1.2.3.4", 0, "" },             /* cut */
		{ "GET / HTTP/1.1\r\n\r\n", 0, "" },
	};
	uint8_t v2_local[16];
	char client[48];

	(void)state;
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		assert_int_equal(http_proxy_header((const uint8_t *)v1[i].d,
						   strlen(v1[i].d), client,
						   sizeof(client)),
				 v1[i].len);
		assert_string_equal(client, v1[i].client);
	}
	assert_int_equal(http_proxy_header(v2, sizeof(v2), client,
					   sizeof(client)), 28);
	assert_string_equal(client, "203.0.113.7");
	/* cut before its addresses end; a LOCAL command (health check) */
	assert_int_equal(http_proxy_header(v2, 20, client, sizeof(client)), 0);
	memcpy(v2_local, v2, 16);
	v2_local[12] = 0x20;
	v2_local[14] = v2_local[15] = 0;
	assert_int_equal(http_proxy_header(v2_local, 16, client,
					   sizeof(client)), 16);
	assert_string_equal(client, "");
}

/* A request line longer than the capture: what a whole line would give. */
static void test_request_line_cut(void **state)
{
	static const char *const heads[] = { "GET /", "POST /search?q=" };
	size_t n = 9000;
	char *req = malloc(n + 64);

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < 2; i++) {
		struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
		struct rec *r = rec_new();
		size_t h = strlen(heads[i]);

		strcpy(req, heads[i]);
		memset(req + h, 'a', n);
		strcpy(req + h + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(feed_capped(s, r, req, i ? 1500 : 8192), 1);
		assert_int_equal(r->errors, 0);
		assert_true(r->done[0].target_truncated);
		assert_string_equal(r->done[0].method, i ? "POST" : "GET");
		assert_memory_equal(r->done[0].target, strchr(req, '/'),
				    strlen(r->done[0].target));
		assert_int_equal(strlen(r->done[0].target),
				 i ? 1500 - 5 : HTTP_TARGET_MAX - 1);
		/* the next request is found as usual */
		assert_int_equal(feed_str(s, r, "GET /next HTTP/1.1\r\n\r\n"), 1);
		assert_string_equal(r->done[1].target, "/next");
		done(s, r);
	}
	free(req);
}

/* Cut heads that do not validate, or say nothing final, are errors. */
static void test_head_cut_not_reported(void **state)
{
	static const struct {
		int side;
		const char *d;
	} cases[] = {
		{ HTTP_SIDE_REQUEST, "GET /only-the-start-li" },
		{ HTTP_SIDE_REQUEST, "GET /x?y=1 HTTP/1.1 and more" },
		{ HTTP_SIDE_REQUEST, "GET *?x=1" },
		{ HTTP_SIDE_REQUEST, "GET /x HTTP/1.1\r\nBad Header\r\nxx" },
		{ HTTP_SIDE_REQUEST, "GET /x HTTP/1.1\r\n"
				     "Transfer-Encoding: gzip\r\nX" },
		{ HTTP_SIDE_RESPONSE, "HTTP/1.1 100 Continue\r\nX-A: b\r\nX" },
		{ HTTP_SIDE_RESPONSE, "HTTP/1.1 200 OK\r\nX-\x01: b\r\nX" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_stream *s = http_stream_new(cases[i].side);
		struct rec *r = rec_new();
		size_t n = strlen(cases[i].d);

		http_stream_feed(s, (const uint8_t *)cases[i].d, n, n + 100,
				 &cbs, r);
		assert_int_equal(r->heads, 0);
		assert_int_equal(r->errors, 1);
		assert_int_equal(r->err[0], HTTP_ERR_GAP);
		done(s, r);
	}
}

static void test_gap_at_message_boundary(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	const char *req = "GET /a HTTP/1.1\r\n\r\n";

	(void)state;
	/* a complete request, then bytes of an unseen one */
	assert_int_equal(feed_capped(s, r, "GET /a HTTP/1.1\r\n\r\nGET /b HTT",
				     strlen(req)),
			 1);
	assert_int_equal(r->errors, 1);
	assert_int_equal(r->err[0], HTTP_ERR_GAP);
	assert_int_equal(feed_str(s, r, "GET /c HTTP/1.1\r\n\r\n"), 1);
	assert_string_equal(r->done[1].target, "/c");
	done(s, r);
}

static void test_gap_in_close_delimited(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();
	const char *resp = "HTTP/1.1 200 OK\r\n\r\nabcdef";

	(void)state;
	http_stream_feed(s, (const uint8_t *)resp, strlen(resp), 8000, &cbs, r);
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->done[0].body_bytes, 8000 - 19);
	done(s, r);
}

/* ---- resync and hostile input ------------------------------------------ */

static void test_garbage_then_request(void **state)
{
	struct rec *r;
	struct http_stream *s = one_shot(
		HTTP_SIDE_REQUEST,
		"\x01\x02garbage line\r\nmore junk\r\nGET /ok HTTP/1.1\r\n\r\n",
		&r);

	(void)state;
	assert_int_equal(r->errors, 1);
	assert_int_equal(r->err[0], HTTP_ERR_BAD_START_LINE);
	assert_int_equal(r->completes, 1);
	assert_string_equal(r->done[0].target, "/ok");
	assert_false(http_stream_in_resync(s));
	assert_int_equal(http_stream_good_bytes(s),
			 strlen("GET /ok HTTP/1.1\r\n\r\n"));
	done(s, r);
}

static void test_garbage_then_later_feed(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();

	(void)state;
	feed_str(s, r, "\x16\x03\x01 binary stuff HTTP/1.1 200 OK");
	assert_int_equal(r->errors, 1);
	assert_true(http_stream_in_resync(s));
	feed_str(s, r, "still not http\r\n");
	assert_true(http_stream_in_resync(s));
	assert_int_equal(feed_str(s, r, "HTTP/1.1 500 Oops\r\n"
					"Content-Length: 1\r\n\r\n!"),
			 1);
	assert_int_equal(r->done[0].status, 500);
	assert_int_equal(r->errors, 1);
	done(s, r);
}

static void test_mid_stream_start(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	/* the tracer attached while a body was being sent */
	feed_str(s, r, "\"name\": \"x\", \"n\": 42}");
	feed_str(s, r, "\r\n");
	assert_int_equal(r->heads, 0);
	assert_int_equal(feed_str(s, r, "POST /api HTTP/1.1\r\n"
					"Content-Length: 2\r\n\r\n{}"),
			 1);
	assert_int_equal(r->errors, 1);
	done(s, r);
}

static void test_bad_start_lines(void **state)
{
	static const char *bad_req[] = {
		"(GET) / HTTP/1.1\r\n\r\n",
		"G@T / HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.2\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1 x\r\n\r\n",
		"GET /\x01 HTTP/1.1\r\n\r\n",
		"GET /a\0b HTTP/1.1\r\n\r\n",
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		"ABCDEFGHIJKLMNOPQRSTUVWXY / HTTP/1.1\r\n\r\n",
		"GET \x7f HTTP/1.1\r\n\r\n",
	};
	static const char *bad_resp[] = {
		"HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 600 X\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",  "HTTP/1.1 200 O\x01K\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
	};
	struct rec *r;
	struct http_stream *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
		size_t len = strlen(bad_req[i]);

		if (i == 7)
			len = 22; /* embedded NUL */
		s = http_stream_new(HTTP_SIDE_REQUEST);
		r = rec_new();
		http_stream_feed(s, (const uint8_t *)bad_req[i], len, len, &cbs,
				 r);
		assert_int_equal(r->heads, 0);
		assert_true(r->errors >= 1);
		assert_int_equal(r->err[0], HTTP_ERR_BAD_START_LINE);
		done(s, r);
	}
	for (size_t i = 0; i < sizeof(bad_resp) / sizeof(bad_resp[0]); i++) {
		s = one_shot(HTTP_SIDE_RESPONSE, bad_resp[i], &r);
		assert_int_equal(r->heads, 0);
		assert_true(r->errors >= 1);
		assert_int_equal(r->err[0], HTTP_ERR_BAD_START_LINE);
		done(s, r);
	}
}

/* Feed d byte by byte (or whole); no eof: the errors of what came. */
static struct rec *feed_no_eof(enum http_side side, const char *d,
			       bool bytewise)
{
	struct http_stream *s = http_stream_new(side);
	struct rec *r = rec_new();
	size_t len = strlen(d), step = bytewise ? 1 : len;

	if (side == HTTP_SIDE_RESPONSE)
		http_stream_expect(s, "GET");
	for (size_t i = 0; i < len; i += step)
		http_stream_feed(s, (const uint8_t *)d + i, step, step, &cbs,
				 r);
	http_stream_free(s);
	return r;
}

/* A head still incomplete fails as soon as its start line is whole and
 * bad (a text protocol of words: memcached, Redis inline), not after a
 * header section's worth of bytes; a good one waits for its end. */
static void test_whole_bad_start_line_of_incomplete_head(void **state)
{
	static const char *bad_req[] = {
		"get user:1\r\n", "set user:1 0 0 5\r\nhello\r\n",
		"SET key value\r\n", "GET /x HTTP/1.1 extra\nHost: a\n",
	};
	static const char *good_req[] = {
		"get /x HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.0\n",
		"M-SEARCH * HTTP/1.1\r\nMan: x\r\n",
	};
	struct rec *r;

	(void)state;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
			r = feed_no_eof(HTTP_SIDE_REQUEST, bad_req[i], bytewise);
			assert_true(r->errors >= 1);
			assert_int_equal(r->err[0], HTTP_ERR_BAD_START_LINE);
			assert_int_equal(r->heads, 0);
			free(r);
		}
		for (size_t i = 0; i < sizeof(good_req) / sizeof(good_req[0]); i++) {
			r = feed_no_eof(HTTP_SIDE_REQUEST, good_req[i],
					bytewise);
			assert_int_equal(r->errors, 0);
			free(r);
		}
		r = feed_no_eof(HTTP_SIDE_RESPONSE, "HTTP/1.1 200 O\x01K\r\n",
				bytewise);
		assert_true(r->errors >= 1);
		free(r);
		r = feed_no_eof(HTTP_SIDE_RESPONSE, "HTTP/1.1 200 OK\r\nA: b\r\n",
				bytewise);
		assert_int_equal(r->errors, 0);
		free(r);
	}
}

static void test_extension_method(void **state)
{
	size_t one = 1;
	struct rec *r = run_split(HTTP_SIDE_REQUEST,
				  "PROPFIND /dav HTTP/1.1\r\nDepth: 1\r\n\r\n",
				  &one, 1);

	(void)state;
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 1);
	assert_string_equal(r->done[0].method, "PROPFIND");
	free(r);
}

static void expect_header_error(const char *req, enum http_error e)
{
	struct rec *r;
	struct http_stream *s = one_shot(HTTP_SIDE_REQUEST, req, &r);

	assert_int_equal(r->heads, 0);
	assert_true(r->errors >= 1);
	assert_int_equal(r->err[0], e);
	done(s, r);
}

static void test_bad_headers(void **state)
{
	(void)state;
	expect_header_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\nName : v\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\n: v\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	/* framing fields may not be folded (smuggling) */
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n"
			    "\r\nhello",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n"
			    "\tchunked\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\nA: b\r\n fold\x01\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
	expect_header_error("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n",
			    HTTP_ERR_BAD_HEADER);
}

/* obs-fold: a server may accept it (RFC 9112 5.2), so the request counts;
 * a field keeps its first line. A whitespace line right after the start
 * line is passed over too. Extension methods are tokens, "get" included. */
static void test_folded_fields_and_token_methods(void **state)
{
	struct rec *r;
	struct http_stream *s;

	(void)state;
	s = one_shot(HTTP_SIDE_REQUEST,
		     "GET /a HTTP/1.1\r\nHost: example.com\r\n"
		     "X-Long: one,\r\n two,\r\n\tthree\r\n"
		     "User-Agent: agent/1\r\n (folded)\r\n\r\n"
		     "GET /b HTTP/1.1\r\n \t stray\r\nHost: b\r\n\r\n",
		     &r);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->heads, 2);
	assert_string_equal(r->head[0].host, "example.com");
	assert_string_equal(r->head[0].user_agent, "agent/1");
	assert_string_equal(r->head[1].target, "/b");
	assert_string_equal(r->head[1].host, "b");
	done(s, r);
	s = one_shot(HTTP_SIDE_REQUEST,
		     "get /x HTTP/1.1\r\n\r\nM-SEARCH * HTTP/1.1\r\n\r\n"
		     "purge /y HTTP/1.0\r\n\r\n",
		     &r);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->heads, 3);
	assert_string_equal(r->head[0].method, "get");
	assert_string_equal(r->head[1].method, "M-SEARCH");
	assert_string_equal(r->head[2].method, "purge");
	done(s, r);
}

static void test_nul_in_header(void **state)
{
	const char req[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	http_stream_feed(s, (const uint8_t *)req, sizeof(req) - 1,
			 sizeof(req) - 1, &cbs, r);
	assert_int_equal(r->heads, 0);
	assert_int_equal(r->err[0], HTTP_ERR_BAD_HEADER);
	done(s, r);
}

static void test_content_length_checks(void **state)
{
	struct rec *r;
	struct http_stream *s;

	(void)state;
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	expect_header_error("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	expect_header_error(
		"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
		HTTP_ERR_BAD_LENGTH);
	expect_header_error(
		"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
		HTTP_ERR_BAD_LENGTH);
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
			    "Content-Length: 6\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	expect_header_error("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
			    HTTP_ERR_BAD_LENGTH);
	/* identical duplicates are fine */
	s = one_shot(HTTP_SIDE_REQUEST,
		     "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		     "content-length: 3, 3\r\n\r\nabc",
		     &r);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->done[0].body_bytes, 3);
	done(s, r);
}

static void test_lying_content_length(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_RESPONSE);
	struct rec *r = rec_new();
	static uint8_t chunk[4096];
	const char *head = "HTTP/1.1 200 OK\r\n"
			   "Content-Length: 9223372036854775807\r\n\r\n";

	(void)state;
	feed_str(s, r, head);
	feed_str(s, r, "abc");
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->head[0].content_length, INT64_MAX);
	for (int i = 0; i < 256; i++) /* 1 MB captured, 1 GB claimed */
		assert_int_equal(http_stream_feed(s, chunk, sizeof(chunk),
						  sizeof(chunk) << 10, &cbs, r),
				 0);
	assert_int_equal(r->completes, 0);
	assert_int_equal(r->errors, 0);
	assert_int_equal(http_stream_good_bytes(s),
			 strlen(head) + 3 + 256 * 4096);
	http_stream_eof(s, &cbs, r); /* dropped, not completed */
	assert_int_equal(r->completes, 0);
	done(s, r);
}

static void test_header_limit(void **state)
{
	size_t big = HTTP_HEADER_SECTION_MAX;
	char *req = malloc(big + 64);
	struct rec *r;
	struct http_stream *s;
	size_t n;

	(void)state;
	assert_non_null(req);
	/* just under the limit: accepted, in one feed and byte-chunked */
	n = sprintf(req, "GET / HTTP/1.1\r\nX: ");
	memset(req + n, 'v', big - n - 4);
	strcpy(req + big - 4, "\r\n\r\n");
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 1);
	done(s, r);
	s = http_stream_new(HTTP_SIDE_REQUEST);
	r = rec_new();
	feed_steps(s, r, req, big, 1000);
	assert_int_equal(r->completes, 1);
	done(s, r);
	/* one byte more: rejected both ways */
	memset(req + n, 'v', big - n - 3);
	strcpy(req + big - 3, "\r\n\r\n");
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->completes, 0);
	assert_int_equal(r->err[0], HTTP_ERR_HEADER_TOO_LARGE);
	done(s, r);
	s = http_stream_new(HTTP_SIDE_REQUEST);
	r = rec_new();
	feed_steps(s, r, req, big + 1, 1000);
	assert_int_equal(r->completes, 0);
	assert_int_equal(r->err[0], HTTP_ERR_HEADER_TOO_LARGE);
	done(s, r);
	free(req);
}

static void test_one_megabyte_header(void **state)
{
	size_t big = 1 << 20;
	char *req = malloc(big + 128);
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();
	struct mallinfo2 before = mallinfo2();
	size_t n, peak = 0;

	(void)state;
	assert_non_null(req);
	n = sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + n, 'a', big);
	n += big;
	n += sprintf(req + n, "\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
	for (size_t i = 0; i < n; i += 4096) {
		size_t k = n - i < 4096 ? n - i : 4096;
		struct mallinfo2 now;

		http_stream_feed(s, (const uint8_t *)req + i, k, k, &cbs, r);
		now = mallinfo2();
		if (now.uordblks > before.uordblks &&
		    now.uordblks - before.uordblks > peak)
			peak = now.uordblks - before.uordblks;
	}
	/* bounded: the head buffer never grows past the limit */
	assert_true(peak <= HTTP_HEADER_SECTION_MAX + 8192);
	assert_int_equal(r->err[0], HTTP_ERR_HEADER_TOO_LARGE);
	assert_int_equal(r->errors, 1);
	assert_int_equal(r->completes, 1);
	assert_string_equal(r->done[0].target, "/next");
	done(s, r);
	/* in one feed: rejected without buffering */
	s = one_shot(HTTP_SIDE_REQUEST, req, &r);
	assert_int_equal(r->err[0], HTTP_ERR_HEADER_TOO_LARGE);
	assert_int_equal(r->completes, 1);
	done(s, r);
	free(req);
}

static void test_bad_chunks(void **state)
{
	static const char *bad[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"11111111111111111\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabcX\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3;a\x01\r\nabc\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"-3\r\nabc\r\n",
	};
	struct rec *r;
	struct http_stream *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = one_shot(HTTP_SIDE_RESPONSE, bad[i], &r);
		assert_int_equal(r->heads, 1);
		assert_int_equal(r->completes, 0);
		assert_int_equal(r->errors, 1);
		assert_int_equal(r->err[0], HTTP_ERR_BAD_CHUNK);
		/* recovery at the next response */
		feed_str(s, r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		assert_int_equal(r->completes, 1);
		done(s, r);
	}
	/* a huge (but 16-digit) chunk is only counted */
	s = one_shot(HTTP_SIDE_RESPONSE,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "7fffffffffffffff\r\nabc",
		     &r);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->completes, 0);
	done(s, r);
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void test_random_binary(void **state)
{
	static uint8_t buf[1 << 16];
	uint32_t seed = 12345;

	(void)state;
	for (int side = 0; side < 2; side++) {
		struct http_stream *s = http_stream_new(side);
		struct rec *r = rec_new();

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = xorshift(&seed);
		for (size_t i = 0; i < sizeof(buf);) {
			size_t k = 1 + xorshift(&seed) % 3000;
			size_t gap = xorshift(&seed) % 4 == 0 ? 100 : 0;

			if (k > sizeof(buf) - i)
				k = sizeof(buf) - i;
			http_stream_feed(s, buf + i, k, k + gap, &cbs, r);
			i += k;
		}
		http_stream_eof(s, &cbs, r);
		assert_int_equal(r->heads, 0);
		assert_int_equal(r->completes, 0);
		assert_true(r->errors > 0);
		done(s, r);
	}
}

static void test_eof_drops_partial(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	struct rec *r = rec_new();

	(void)state;
	feed_str(s, r, "GET /partial HTTP/1.1\r\nHo");
	http_stream_eof(s, &cbs, r);
	feed_str(s, r, "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
	http_stream_eof(s, &cbs, r);
	assert_int_equal(r->heads, 1);
	assert_int_equal(r->completes, 0);
	assert_int_equal(feed_str(s, r, "GET /whole HTTP/1.1\r\n\r\n"), 1);
	assert_string_equal(r->done[0].target, "/whole");
	assert_int_equal(r->errors, 0);
	done(s, r);
}

static void test_null_callbacks_and_args(void **state)
{
	struct http_stream *s = http_stream_new(HTTP_SIDE_REQUEST);
	const char *req = "GET / HTTP/1.1\r\n\r\nxx\r\n";

	(void)state;
	assert_int_equal(http_stream_feed(s, (const uint8_t *)req, strlen(req),
					  strlen(req), NULL, NULL),
			 1);
	assert_int_equal(http_stream_feed(NULL, NULL, 0, 0, NULL, NULL), 0);
	http_stream_eof(NULL, NULL, NULL);
	http_stream_expect(NULL, "GET");
	assert_false(http_stream_in_resync(NULL));
	assert_int_equal(http_stream_good_bytes(NULL), 0);
	http_stream_free(NULL);
	http_stream_free(s);
}

/* ---- cost (printed, not asserted) -------------------------------------- */

static int counter;

static void count_cb(void *ctx, const struct http_msg *m)
{
	(void)ctx;
	counter += m->status;
}

static void test_timing(void **state)
{
	static const char req[] =
		"GET /api/users/123 HTTP/1.1\r\nHost: localhost:8080\r\n"
		"User-Agent: wrk/4.2\r\nAccept: */*\r\n\r\n";
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
		"Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
		"Hello, World!";
	const struct http_callbacks c = { count_cb, count_cb, NULL };
	struct http_stream *q = http_stream_new(HTTP_SIDE_REQUEST);
	struct http_stream *p = http_stream_new(HTTP_SIDE_RESPONSE);
	struct timespec a, b;
	int n = 200000, got = 0;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		got += http_stream_feed(q, (const uint8_t *)req,
					sizeof(req) - 1, sizeof(req) - 1, &c,
					NULL);
		http_stream_expect(p, "GET");
		got += http_stream_feed(p, (const uint8_t *)resp,
					sizeof(resp) - 1, sizeof(resp) - 1, &c,
					NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(got, 2 * n);
	printf("http parser: %.0f ns per request/response pair\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	/* head and body in two writes (JDK HttpServer style) */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		http_stream_feed(q, (const uint8_t *)req, sizeof(req) - 1,
				 sizeof(req) - 1, &c, NULL);
		http_stream_feed(p, (const uint8_t *)resp, sizeof(resp) - 14,
				 sizeof(resp) - 14, &c, NULL);
		http_stream_feed(p, (const uint8_t *)resp + sizeof(resp) - 14,
				 13, 13, &c, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("http parser: %.0f ns per pair, response in two writes\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	http_stream_free(q);
	http_stream_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_forwarded_headers),
		cmocka_unit_test(test_sensitive_never_copied),
		cmocka_unit_test(test_pipelined_three),
		cmocka_unit_test(test_chunked_request_ext_trailers),
		cmocka_unit_test(test_http10_request),
		cmocka_unit_test(test_lf_only_and_blank_lines),
		cmocka_unit_test(test_target_truncated),
		cmocka_unit_test(test_header_values_cleaned),
		cmocka_unit_test(test_header_value_bound_keeps_characters_whole),
		cmocka_unit_test(test_target_with_raw_non_ascii_bytes),
		cmocka_unit_test(test_long_non_ascii_target_cut_at_a_character),
		cmocka_unit_test(test_response_content_length),
		cmocka_unit_test(test_head_response_then_next),
		cmocka_unit_test(test_204_304_no_body),
		cmocka_unit_test(test_100_continue_then_200),
		cmocka_unit_test(test_101_switching_is_opaque),
		cmocka_unit_test(test_connect_tunnel),
		cmocka_unit_test(test_upgrade_request_then_frames),
		cmocka_unit_test(test_close_delimited_eof),
		cmocka_unit_test(test_eof_cut_inside_body),
		cmocka_unit_test(test_transfer_encoding_variants),
		cmocka_unit_test(test_pipelined_fifo),
		cmocka_unit_test(test_fifo_full),
		cmocka_unit_test(test_each_byte_split_requests),
		cmocka_unit_test(test_each_byte_split_responses),
		cmocka_unit_test(test_gap_in_body_ok),
		cmocka_unit_test(test_skipped_body_bytes),
		cmocka_unit_test(test_gap_in_chunk_data_ok),
		cmocka_unit_test(test_gap_across_chunk_boundary),
		cmocka_unit_test(test_lost_chunks_end_with_trailers),
		cmocka_unit_test(test_lost_body_ended_by_next_request),
		cmocka_unit_test(test_chunk_lost_ends_at_next_head),
		cmocka_unit_test(test_chunk_lost_last_chunk_at_feed_start),
		cmocka_unit_test(test_chunk_lost_ends_at_eof),
		cmocka_unit_test(test_chunk_end_bytes_keep_the_framing),
		cmocka_unit_test(test_chunk_end_bytes_end_a_lost_body),
		cmocka_unit_test(test_end_bytes_after_a_cut_head_are_let_go),
		cmocka_unit_test(test_end_bytes_start_the_next_message),
		cmocka_unit_test(test_chunked_request_body_size),
		cmocka_unit_test(test_gap_in_headers_then_recovery),
		cmocka_unit_test(test_response_head_cut),
		cmocka_unit_test(test_request_line_cut),
		cmocka_unit_test(test_proxy_headers),
		cmocka_unit_test(test_head_cut_not_reported),
		cmocka_unit_test(test_gap_at_message_boundary),
		cmocka_unit_test(test_gap_in_close_delimited),
		cmocka_unit_test(test_garbage_then_request),
		cmocka_unit_test(test_garbage_then_later_feed),
		cmocka_unit_test(test_mid_stream_start),
		cmocka_unit_test(test_bad_start_lines),
		cmocka_unit_test(test_extension_method),
		cmocka_unit_test(test_whole_bad_start_line_of_incomplete_head),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_folded_fields_and_token_methods),
		cmocka_unit_test(test_nul_in_header),
		cmocka_unit_test(test_content_length_checks),
		cmocka_unit_test(test_lying_content_length),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_one_megabyte_header),
		cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_random_binary),
		cmocka_unit_test(test_eof_drops_partial),
		cmocka_unit_test(test_null_callbacks_and_args),
		cmocka_unit_test(test_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
