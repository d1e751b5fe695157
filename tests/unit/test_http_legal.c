/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Randomised legal HTTP/1.x exchanges (user/http_parser.c): a seeded
 * generator writes connections of requests and responses in the forms
 * RFC 9110/9112 allow and real peers send (any header name case, optional
 * whitespace, obs-text, leading zeros in lengths, chunk extensions with
 * quoted strings and BWS, trailers, 1xx interim responses, HEAD, 204, 304,
 * a close-delimited last response, empty lines before a request, pipelined
 * requests), feeds them in random pieces as syscalls would move them, and
 * checks that every message completes with its method, target, status and
 * body size, in order, with no error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define EXCHANGES_MAX 24
#define CONNECTIONS 3000
#define STREAM_MAX (EXCHANGES_MAX * 12 * 1024)
/* what BPF copies of a syscall (include/ebpftrace_events.h) */
#define CAPTURE_MAX 8191
#define CAPTURE_END 32
#define CAPTURE_PREFIX (CAPTURE_MAX - CAPTURE_END)

/* xorshift64*: the same exchanges on every run (the seed is printed) */
struct gen {
	uint64_t s;
	bool capped; /* syscalls longer than a capture are cut as BPF cuts them */
	void *trace;
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return (uint32_t)((g->s * 2685821657736338717ull) >> 32) % n;
}

static bool chance(struct gen *g, unsigned percent)
{
	return rnd(g, 100) < percent;
}

static const char *pick(struct gen *g, const char *const *v, size_t n)
{
	return v[rnd(g, (uint32_t)n)];
}
#define PICK(g, v) pick(g, v, sizeof(v) / sizeof(v[0]))

#define HEADS_MAX (3 * EXCHANGES_MAX) /* interim responses' too */

struct buf {
	char *p;
	size_t len;
	size_t mark[EXCHANGES_MAX]; /* end of each message */
	int heads;
	size_t head_at[HEADS_MAX], head_len[HEADS_MAX];
};

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, STREAM_MAX - b->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < STREAM_MAX - b->len);
	b->len += (size_t)n;
}

static void put_bytes(struct buf *b, const char *d, size_t n)
{
	assert_true(n < STREAM_MAX - b->len);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* What one exchange must come out as. */
struct want {
	char method[16];
	char target[128];
	int minor;
	uint64_t req_body;
	int status;
	uint64_t resp_body;
	bool head; /* HEAD: the response has no body whatever it says */
};

/* ---- pieces of messages -------------------------------------------------- */

/* A header name in any case: field names are case-insensitive. */
static void put_name(struct gen *g, struct buf *b, const char *name)
{
	for (const char *c = name; *c; c++) {
		int k = rnd(g, 3);
		char x = k == 0 ? (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c)
		       : k == 1 ? (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c)
				: *c;
		put(b, "%c", x);
	}
}

/* OWS: nothing, spaces or tabs */
static const char *ows(struct gen *g)
{
	static const char *const v[] = { "", "", "", " ", "  ", "\t", " \t" };

	return PICK(g, v);
}

/* "Name:" OWS value OWS CRLF */
static void put_field(struct gen *g, struct buf *b, const char *name,
		      const char *value)
{
	put_name(g, b, name);
	put(b, ":%s%s%s\r\n", chance(g, 85) ? " " : ows(g), value, ows(g));
}

/* A field value with spaces inside, quoted strings, obs-text (UTF-8 or
 * Latin-1 bytes: legal, if discouraged) and visible characters. */
static void put_odd_field(struct gen *g, struct buf *b)
{
	static const char *const names[] = {
		"X-Request-Id", "Accept", "Accept-Language", "Cache-Control",
		"X-Empty", "Link", "Via", "ETag", "X-Custom_Under", "If-None-Match",
		"Warning", "X-Dup"
	};
	static const char *const values[] = {
		"text/html, application/xhtml+xml;q=0.9, */*;q=0.8",
		"", "\"quoted \\\" string\"", "caf\xc3\xa9 \xe2\x9c\x93",
		"latin1 \xe9\xe8", "a\tb  c", "W/\"xyzzy\"", "1.1 proxy (x y)",
		"</a.css>; rel=preload; as=style", "no-cache, no-store",
		"!#$%&'*+-.^_`|~", "199 - \"Miscellaneous warning\""
	};

	put_field(g, b, PICK(g, names), PICK(g, values));
}

static void put_odd_fields(struct gen *g, struct buf *b)
{
	for (int n = (int)rnd(g, 5); n > 0; n--)
		put_odd_field(g, b);
}

/* body bytes that look like HTTP now and then: a parser that looks for
 * message starts inside a known-length body would stop there */
static void put_body(struct gen *g, struct buf *b, uint64_t n)
{
	static const char *const tricks[] = {
		"\r\n\r\n", "HTTP/1.1 200 OK\r\n", "GET / HTTP/1.1\r\n\r\n",
		"0\r\n\r\n", "\r\n", "\0\0\xff"
	};

	while (n > 0) {
		const char *t = PICK(g, tricks);
		size_t k = strlen(t) ? strlen(t) : 1;

		if (!g->capped && chance(g, 10) && k <= n) {
			put_bytes(b, t, k);
			n -= k;
		} else {
			put_bytes(b, "abcdefghijklmnopqrstuvwxyz" + rnd(g, 26), 1);
			n--;
		}
	}
}

/* chunk-ext: BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] */
static void put_chunk_ext(struct gen *g, struct buf *b)
{
	static const char *const v[] = {
		";a", ";name=value", ";q=\"x;y=\\\"z\\\"\"", " ; bws = 1",
		";a=1;b=2", ";sig=\"\""
	};

	if (chance(g, 20))
		put(b, "%s", PICK(g, v));
}

/* A chunked body of random chunks; returns its data size. */
static uint64_t put_chunked(struct gen *g, struct buf *b)
{
	uint64_t total = 0;

	for (int n = (int)rnd(g, 5); n > 0; n--) {
		uint32_t k = 1 + rnd(g, chance(g, 20) ? 9000 : 300);

		put(b, chance(g, 20) ? "%04X" : chance(g, 50) ? "%x" : "%X", k);
		put_chunk_ext(g, b);
		put(b, "\r\n");
		put_body(g, b, k);
		put(b, "\r\n");
		total += k;
	}
	put(b, chance(g, 20) ? "000" : "0");
	put_chunk_ext(g, b);
	put(b, "\r\n");
	if (chance(g, 20))
		put_field(g, b, "X-Checksum", "abc123");
	put(b, "\r\n");
	return total;
}

static const char *chunked_te(struct gen *g)
{
	static const char *const v[] = {
		"chunked", "chunked", "Chunked", "CHUNKED", "gzip, chunked",
		"gzip,chunked", "identity, chunked"
	};

	return PICK(g, v);
}

/* Content-Length, sometimes with leading zeros; then the body. */
static void put_sized(struct gen *g, struct buf *b, uint64_t n, bool body)
{
	char v[32];

	snprintf(v, sizeof(v), chance(g, 10) ? "00%" PRIu64 : "%" PRIu64, n);
	put_field(g, b, "Content-Length", v);
	put_odd_fields(g, b);
	put(b, "\r\n");
	if (body)
		put_body(g, b, n);
}

/* ---- requests ------------------------------------------------------------ */

static void make_target(struct gen *g, char *t, size_t cap)
{
	static const char *const segs[] = {
		"api", "users", "42", "a%20b", "~me", "x:y@z", "caf%C3%A9",
		"a;p=1", "!$&'()*+,=", "-._", "v1.2"
	};
	static const char *const queries[] = {
		"", "", "?q=1", "?a=b&c=d/e?f", "?", "?x=%20&y"
	};
	size_t n = 0;

	if (chance(g, 3)) {
		snprintf(t, cap, "http://example.com:8080/abs?x=1");
		return;
	}
	for (int k = 1 + (int)rnd(g, 4); k > 0; k--)
		n += (size_t)snprintf(t + n, cap - n, "/%s", PICK(g, segs));
	snprintf(t + n, cap - n, "%s", PICK(g, queries));
}

static void pick_method(struct gen *g, struct want *w)
{
	static const char *const v[] = {
		"GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH",
		"HEAD", "HEAD", "OPTIONS", "PROPFIND", "M-SEARCH", "PURGE"
	};

	snprintf(w->method, sizeof(w->method), "%s", PICK(g, v));
	w->head = strcmp(w->method, "HEAD") == 0;
}

/* The request's body: none, sized (0 included) or chunked. */
static void put_request_body(struct gen *g, struct buf *b, struct want *w)
{
	bool bodied = strchr("PD", w->method[0]) && strcmp(w->method, "PROPFIND");
	int kind = bodied ? (int)rnd(g, 3) : chance(g, 10) ? 1 : 0;

	if (kind == 2 && w->minor == 1) {
		put_field(g, b, "Transfer-Encoding", chunked_te(g));
		put_odd_fields(g, b);
		put(b, "\r\n");
		w->req_body = put_chunked(g, b);
		return;
	}
	if (kind == 0) {
		put_odd_fields(g, b);
		put(b, "\r\n");
		return;
	}
	w->req_body = bodied ? rnd(g, chance(g, 20) ? 20000 : 400) : 0;
	put_sized(g, b, w->req_body, true);
}

static void put_request(struct gen *g, struct buf *b, struct want *w,
			bool first)
{
	pick_method(g, w);
	make_target(g, w->target, sizeof(w->target));
	if (strcmp(w->method, "OPTIONS") == 0 && chance(g, 30))
		snprintf(w->target, sizeof(w->target), "*");
	w->minor = chance(g, 15) ? 0 : 1;
	if (first && chance(g, 10))
		put(b, "\r\n"); /* a recipient ignores empty lines before it */
	put(b, "%s %s HTTP/1.%d\r\n", w->method, w->target, w->minor);
	put_field(g, b, "Host", "example.com");
	if (chance(g, 50))
		put_field(g, b, "User-Agent", "gen/1.0 (x; y)");
	if (w->minor == 0)
		put_field(g, b, "Connection", "keep-alive");
	put_request_body(g, b, w);
}

/* ---- responses ----------------------------------------------------------- */

/* interim responses: 100 Continue, 102 Processing, 103 Early Hints */
static void put_interim(struct gen *g, struct buf *b)
{
	static const int codes[] = { 100, 102, 103 };

	for (int n = chance(g, 10) ? 1 + (int)rnd(g, 2) : 0; n > 0; n--) {
		put(b, "HTTP/1.1 %d %s\r\n", codes[rnd(g, 3)],
		    chance(g, 50) ? "Continue" : "");
		if (chance(g, 50))
			put_field(g, b, "Link", "</s.css>; rel=preload");
		put(b, "\r\n");
	}
}

static int pick_status(struct gen *g)
{
	static const int v[] = {
		200, 200, 200, 201, 202, 204, 206, 301, 302, 304, 400, 401,
		404, 409, 418, 429, 500, 502, 503, 599
	};

	return v[rnd(g, sizeof(v) / sizeof(v[0]))];
}

/* sized: framed by Content-Length or nothing, so it may be HTTP/1.0,
 * which has no chunked framing (RFC 9112 6.1) */
static void put_status_line(struct gen *g, struct buf *b, struct want *w,
			    bool close, bool sized)
{
	static const char *const reasons[] = {
		"OK", "", "Not Found", "I'm a teapot", "R\xe9sum\xe9 ok",
		"with  two\tspaces"
	};
	int minor = sized && !close && chance(g, 10) ? 0 : 1;

	put(b, "HTTP/1.%d %d %s\r\n", minor, w->status, PICK(g, reasons));
	if (chance(g, 50))
		put_field(g, b, "Server", "gen");
	if (minor == 0)
		put_field(g, b, "Connection", "keep-alive");
	if (close)
		put_field(g, b, "Connection", "close");
}

/* Last on the connection: may end at the close instead of a length
 * (returns true then). */
static bool put_response(struct gen *g, struct buf *b, struct want *w,
			 bool last)
{
	int kind = (int)rnd(g, last ? 3 : 2);
	uint64_t n = rnd(g, chance(g, 20) ? 30000 : 500);
	bool bodiless;

	put_interim(g, b);
	w->status = pick_status(g);
	bodiless = w->head || w->status == 204 || w->status == 304;
	if (bodiless)
		kind = w->status == 204 || chance(g, 50) ? 3 : 0;
	put_status_line(g, b, w, kind == 2, kind != 1);
	if (kind == 3) { /* no framing fields at all */
		put_odd_fields(g, b);
		put(b, "\r\n");
	} else if (kind == 1) {
		put_field(g, b, "Transfer-Encoding", chunked_te(g));
		put_odd_fields(g, b);
		put(b, "\r\n");
		w->resp_body = put_chunked(g, b);
	} else if (kind == 2) {
		put(b, "\r\n");
		put_body(g, b, n);
		w->resp_body = n;
	} else {
		put_sized(g, b, n, !bodiless);
		w->resp_body = bodiless ? 0 : n;
	}
	return kind == 2;
}

/* ---- a connection -------------------------------------------------------- */

struct conn {
	int n;
	struct want want[EXCHANGES_MAX];
	struct buf req, resp;
	bool close_delimited; /* the last response ends at the close */
};

/* Where the heads of b's messages are: a head ends at the first empty
 * line after its start (field values hold no CRLF), an interim response's
 * head is followed by the next head. */
static void find_heads(struct buf *b, int n)
{
	size_t at = 0;

	b->heads = 0;
	for (int i = 0; i < n; i++) {
		while (at < b->mark[i] && (b->p[at] == '\r' || b->p[at] == '\n'))
			at++;
		for (;;) {
			char *e = memmem(b->p + at, b->len - at, "\r\n\r\n", 4);
			bool interim = strncmp(b->p + at, "HTTP/1.1 1", 10) == 0;

			assert_non_null(e);
			assert_true(b->heads < HEADS_MAX);
			b->head_at[b->heads] = at;
			b->head_len[b->heads++] = (size_t)(e + 4 - (b->p + at));
			if (!interim)
				break;
			at = (size_t)(e + 4 - b->p);
		}
		at = b->mark[i];
	}
}

static void make_conn(struct gen *g, struct conn *c)
{
	c->n = 1 + (int)rnd(g, chance(g, 30) ? EXCHANGES_MAX : 4);
	c->req.len = c->resp.len = 0;
	memset(c->want, 0, sizeof(c->want));
	for (int i = 0; i < c->n; i++) {
		put_request(g, &c->req, &c->want[i], i == 0);
		c->req.mark[i] = c->req.len;
		c->close_delimited =
			put_response(g, &c->resp, &c->want[i], i == c->n - 1);
		c->resp.mark[i] = c->resp.len;
	}
	find_heads(&c->req, c->n);
	find_heads(&c->resp, c->n);
}

/* ---- feeding and checking ------------------------------------------------ */

/* What the callbacks saw on one side. */
struct seen {
	int n, errors;
	struct http_msg m[EXCHANGES_MAX];
	struct http_stream *peer; /* request side: the response stream */
};

static void on_head(void *ctx, const struct http_msg *m)
{
	struct seen *s = ctx;

	if (m->is_request && s->peer)
		http_stream_expect(s->peer, m->method);
}

static void on_complete(void *ctx, const struct http_msg *m)
{
	struct seen *s = ctx;

	if (getenv("LEGAL_TRACE"))
		fprintf(stderr, "  complete %s %d body %" PRIu64 "\n", m->method,
			m->status, m->body_bytes);

	if (s->n < EXCHANGES_MAX)
		s->m[s->n] = *m;
	s->n++;
}

static void on_error(void *ctx, enum http_error e)
{
	struct seen *s = ctx;

	if (getenv("LEGAL_TRACE"))
		fprintf(stderr, "  error %d\n", (int)e);
	s->errors++;
}

static const struct http_callbacks cbs = { on_head, on_complete, on_error };

/* A syscall's worth: mostly small or a typical buffer, now and then big. */
static size_t piece(struct gen *g)
{
	switch (rnd(g, 4)) {
	case 0:
		return 1 + rnd(g, 16);
	case 1:
		return 1 + rnd(g, 1500);
	case 2:
		return 1 + rnd(g, 8192);
	default:
		return 65536;
	}
}

/* One syscall of k bytes at d: whole, or as the capture keeps a long one
 * (its first bytes and its last EBT_DATA_END_LEN, include/ebpftrace_events.h,
 * fed as user/conntrack.c feeds them) */
static void feed_piece(struct gen *g, struct http_stream *st, const char *d,
		       size_t k, struct seen *s)
{
	const uint8_t *u = (const uint8_t *)d;

	if (getenv("LEGAL_TRACE"))
		fprintf(stderr, "feed %s %zu: %.20s\n",
			st == g->trace ? "resp" : "req", k, d);
	if (!g->capped || k <= CAPTURE_MAX) {
		http_stream_feed(st, u, k, k, &cbs, s);
		return;
	}
	http_stream_feed(st, u, CAPTURE_PREFIX, k - CAPTURE_END, &cbs, s);
	http_stream_feed_end(st, u + k - CAPTURE_END, CAPTURE_END, &cbs, s);
}

/* The length of the head starting at at, else 0. */
static size_t head_at(const struct buf *b, size_t at)
{
	for (int i = 0; i < b->heads; i++)
		if (b->head_at[i] == at)
			return b->head_len[i];
	return 0;
}

/* Feed b from *at up to end, in random pieces. Where the capture cuts,
 * a head is written whole (with what follows it, or not), as servers and
 * clients do: what tells a message's start after bytes the capture hid is
 * a syscall that begins with a whole head. */
static void feed_to(struct gen *g, struct http_stream *st, struct buf *b,
		    size_t *at, size_t end, struct seen *s)
{
	while (*at < end) {
		size_t k = piece(g), h = g->capped ? head_at(b, *at) : 0;

		if (k < h)
			k = h;
		if (k > end - *at)
			k = end - *at;
		feed_piece(g, st, b->p + *at, k, s);
		*at += k;
	}
}

/* Both sides of c, the client up to three requests ahead. Not where the
 * capture cuts: after bytes it hid, the response parser cannot know how
 * many responses went by unseen, so the methods of the requests pipelined
 * meanwhile (a HEAD's answer has no body) may no longer line up with the
 * responses; a client that waits for each answer has none pipelined. */
static void feed_conn(struct gen *g, struct conn *c, struct http_stream *q,
		      struct http_stream *r, struct seen *sq, struct seen *sr)
{
	size_t qat = 0, rat = 0;

	for (int i = 0; i < c->n; i++) {
		int ahead = i + (g->capped ? 0 : (int)rnd(g, 4));

		if (ahead >= c->n)
			ahead = c->n - 1;
		feed_to(g, q, &c->req, &qat, c->req.mark[ahead], sq);
		feed_to(g, r, &c->resp, &rat, c->resp.mark[i], sr);
	}
	if (c->close_delimited)
		http_stream_eof(r, &cbs, sr);
}

static void dump(const char *what, const struct buf *b)
{
	fprintf(stderr, "--- %s (%zu bytes)\n", what, b->len);
	for (size_t i = 0; i < b->len && i < 4096; i++) {
		unsigned char ch = (unsigned char)b->p[i];

		if (ch == '\n' || (ch >= 0x20 && ch < 0x7f))
			fputc(ch, stderr);
		else
			fprintf(stderr, "\\x%02x", ch);
	}
	fputc('\n', stderr);
}

static bool exchange_ok(const struct want *w, const struct http_msg *q,
			const struct http_msg *r)
{
	return strcmp(q->method, w->method) == 0 &&
	       strcmp(q->target, w->target) == 0 &&
	       q->version_minor == w->minor && q->body_bytes == w->req_body &&
	       r->status == w->status && r->body_bytes == w->resp_body;
}

static bool conn_ok(const struct conn *c, const struct seen *sq,
		    const struct seen *sr)
{
	if (sq->n != c->n || sr->n != c->n || sq->errors || sr->errors)
		return false;
	for (int i = 0; i < c->n; i++)
		if (!exchange_ok(&c->want[i], &sq->m[i], &sr->m[i])) {
			fprintf(stderr, "exchange %d: %s %s body %" PRIu64
				" -> %d body %" PRIu64 "\n", i, sq->m[i].method,
				sq->m[i].target, sq->m[i].body_bytes,
				sr->m[i].status, sr->m[i].body_bytes);
			return false;
		}
	return true;
}

/* Reported where a capture hid bytes: each message must be the next
 * wanted one, or one after it (those between were hidden), with its fields;
 * its body size too unless the gap hid it. */
static bool req_matches(const struct want *w, const struct http_msg *m)
{
	return strcmp(m->method, w->method) == 0 &&
	       strcmp(m->target, w->target) == 0 &&
	       m->version_minor == w->minor &&
	       (m->body_lost || m->head_cut || m->body_bytes == w->req_body);
}

static bool resp_matches(const struct want *w, const struct http_msg *m)
{
	return m->status == w->status &&
	       (m->body_lost || m->head_cut || m->body_bytes == w->resp_body);
}

static bool in_order(const struct conn *c, const struct seen *s, bool req)
{
	int j = 0;

	for (int i = 0; i < s->n && i < EXCHANGES_MAX; i++, j++) {
		while (j < c->n && !(req ? req_matches(&c->want[j], &s->m[i])
					 : resp_matches(&c->want[j], &s->m[i])))
			j++;
		if (j == c->n) {
			fprintf(stderr, "%s %d (%s %s %d body %" PRIu64
				"%s%s) is none of the exchanges left\n",
				req ? "request" : "response", i, s->m[i].method,
				s->m[i].target, s->m[i].status, s->m[i].body_bytes,
				s->m[i].body_lost ? " lost" : "",
				s->m[i].head_cut ? " cut" : "");
			return false;
		}
	}
	return s->n <= c->n;
}

/* One connection from seed: true when the parser got all of it right. */
static bool run_conn(uint64_t seed, bool capped, struct conn *c)
{
	struct gen g = {.s = seed * 0x9e3779b97f4a7c15ull + 1, .capped = capped};
	struct http_stream *q = http_stream_new(HTTP_SIDE_REQUEST);
	struct http_stream *r = http_stream_new(HTTP_SIDE_RESPONSE);
	struct seen *sq = calloc(1, sizeof(*sq)), *sr = calloc(1, sizeof(*sr));
	bool ok;

	assert_true(q && r && sq && sr);
	sq->peer = r;
	g.trace = r;
	make_conn(&g, c);
	feed_conn(&g, c, q, r, sq, sr);
	ok = capped ? in_order(c, sq, true) && in_order(c, sr, false)
		    : conn_ok(c, sq, sr);
	if (!ok) {
		fprintf(stderr, "seed %" PRIu64 ": %d exchanges, parsed %d/%d,"
			" errors %d/%d\n", seed, c->n, sq->n, sr->n,
			sq->errors, sr->errors);
		for (int i = 0; i < c->n; i++)
			fprintf(stderr, "want %d: %s %s body %" PRIu64 " -> %d body %"
				PRIu64 " | got %d body %" PRIu64 "%s%s\n", i,
				c->want[i].method, c->want[i].target,
				c->want[i].req_body, c->want[i].status,
				c->want[i].resp_body, sr->m[i].status,
				sr->m[i].body_bytes, sr->m[i].body_lost ? " lost" : "",
				sr->m[i].ended_before ? " before" : "");
		dump("requests", &c->req);
		dump("responses", &c->resp);
	}
	http_stream_free(q);
	http_stream_free(r);
	free(sq);
	free(sr);
	return ok;
}

/* CONNECTIONS seeded connections; how many the parser got wrong. */
static int run_all(bool capped)
{
	struct conn *c = calloc(1, sizeof(*c));
	int bad = 0;

	assert_non_null(c);
	c->req.p = malloc(STREAM_MAX);
	c->resp.p = malloc(STREAM_MAX);
	assert_true(c->req.p && c->resp.p);
	uint64_t first = getenv("LEGAL_SEED") ? strtoull(getenv("LEGAL_SEED"), NULL, 10) : 1;

	for (uint64_t seed = first; seed <= CONNECTIONS && bad < 3; seed++)
		bad += !run_conn(seed, capped, c);
	free(c->req.p);
	free(c->resp.p);
	free(c);
	return bad;
}

static void test_random_legal_connections(void **state)
{
	(void)state;
	assert_int_equal(run_all(false), 0);
}

/* The same connections as the tracer sees them: a syscall longer than a
 * capture is its first bytes and its last ones. Messages may be lost in
 * what was not copied; none may be wrong. */
static void test_random_legal_connections_captured(void **state)
{
	(void)state;
	assert_int_equal(run_all(true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_legal_connections),
		cmocka_unit_test(test_random_legal_connections_captured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
