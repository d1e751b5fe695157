/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental HTTP/1.x parser (contract in http.h).
 *
 * A stream holds a state (head, body by length, chunked body,
 * close-delimited body, tunnel, resync), the bytes its body still owes, the
 * FIFO of request methods (response side) and, only while a head spans
 * feeds, a bounded buffer with that head's bytes. A head wholly inside one
 * fed chunk is parsed in place. The message being framed lives on the stack
 * of the feed call and moves to the heap only if its body outlives the call.
 *
 * Heads are validated completely before on_head. Anything that does not
 * validate is reported through on_error, then the stream resynchronises:
 * bytes are dropped until the start of a later feed, or a position right
 * after a LF, where http_looks_like_request/response accepts what follows.
 * A head whose end was never captured (a big head cut by the capture
 * limit) is the exception: if its start line and whole fields validate,
 * it is reported as a message without a body (head_cut), and the stream
 * resynchronises without an error.
 *
 * Lines may end in CRLF or a bare LF. on_complete is not called for 1xx
 * interim responses, except 101, which ends the HTTP exchange (everything
 * after it is opaque). body_bytes counts payload bytes: for chunked bodies
 * the chunk data only, without chunk-size lines and trailers.
 *
 * A chunked body that a capture gap cut where the gap cannot be accounted
 * (a syscall that moved several chunks, more than BPF copies) loses its
 * framing but not its message: the stream looks for the body's end in what
 * it does see (see on_complete in http.h) and reports the message with
 * body_lost set, so the exchange is not dropped.
 */
#include "http.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HEAD_BUF_MIN 256
#define CHUNK_EXT_MAX 4096
/* A buffered head is re-checked with the prefix test while shorter. */
#define PREFIX_CHECK_LEN (HTTP_METHOD_MAX + 2)
/*
 * The end of a chunked body, looked for where a gap hid its framing
 * (ST_CHUNK_LOST): data CRLF, the last chunk ("0", any number of zeros,
 * maybe extensions), CRLF, trailer fields, CRLF. States of the matcher
 * (lost_end_step), in struct http_stream's sub:
 */
enum lost_end {
	LE_NONE,      /* nothing matched */
	LE_CR,        /* "\r" */
	LE_CRLF,      /* "\r\n": a line starts (a feed's first byte, too) */
	LE_ZERO,      /* "\r\n0", more zeros may follow */
	LE_EXT,       /* ";" after the zeros: an extension, up to CR */
	LE_ZERO_CR,   /* the last chunk's line ends */
	LE_LINE,      /* a trailer line, or the final CRLF, starts */
	LE_NAME,      /* a trailer field's name */
	LE_VALUE,     /* its value, up to CR */
	LE_VALUE_CR,  /* its line ends */
	LE_FINAL_CR,  /* the empty line that ends the body */
	LE_DONE,
};

/* Character classes, one table lookup per byte. */
enum {
	C_TCHAR = 0x01, /* RFC 7230 tchar: header names */
	C_VAL = 0x02,   /* field-content: VCHAR, SP, HTAB, obs-text */
	C_TGT = 0x04,   /* request-target: VCHAR (no SP), and bytes >= 0x80 */
	C_HEX = 0x08,
	C_DIGIT = 0x10,
	C_METH = 0x20,  /* method characters: A-Z, '-', '_' */
	C_UPPER = 0x40, /* A-Z: first method character */
	C_ALNUM = 0x80,
};

static const uint8_t ctype[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 00 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 10 */
	0x02, 0x07, 0x06, 0x07, 0x07, 0x07, 0x07, 0x07,
	0x06, 0x06, 0x07, 0x07, 0x06, 0x27, 0x07, 0x06, /* 20 */
	0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f,
	0x9f, 0x9f, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 30 */
	0x06, 0xef, 0xef, 0xef, 0xef, 0xef, 0xef, 0xe7,
	0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, /* 40 */
	0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7,
	0xe7, 0xe7, 0xe7, 0x06, 0x06, 0x06, 0x07, 0x27, /* 50 */
	0x07, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x87,
	0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87, /* 60 */
	0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87,
	0x87, 0x87, 0x87, 0x06, 0x07, 0x06, 0x07, 0x00, /* 70 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 80 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 90 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* a0 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* b0 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* c0 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* d0 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* e0 */
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06,
	0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* f0 */
};

#define IS(c, cls) (ctype[(uint8_t)(c)] & (cls))

enum pstate {
	ST_HEAD = 0,     /* expecting or collecting a message head */
	ST_BODY_LEN,     /* Content-Length body, `remaining` bytes left */
	ST_CHUNK_SIZE,   /* chunk-size line, with extensions */
	ST_CHUNK_DATA,   /* chunk data, `remaining` bytes left */
	ST_CHUNK_END,    /* CRLF closing the chunk data */
	ST_TRAILERS,     /* trailer section after the last chunk */
	ST_CHUNK_LOST,   /* chunked body whose framing a gap hid: find its end */
	ST_BODY_CLOSE,   /* response body delimited by the connection close */
	ST_MAYBE_OPAQUE, /* after a CONNECT/Upgrade request: HTTP or tunnel? */
	ST_OPAQUE,       /* tunnel or switched protocol: ignore everything */
	ST_RESYNC,       /* dropping bytes until a plausible message start */
};

/* Sub-states of the chunk-size line. */
enum { CS_FIRST = 0, CS_DIGITS, CS_WS, CS_EXT, CS_LF };

enum method_kind { MK_OTHER = 0, MK_HEAD, MK_CONNECT };

struct http_stream {
	uint8_t side;
	uint8_t state;    /* enum pstate */
	uint8_t after;    /* state once the current message completes */
	uint8_t sub;      /* chunk-size line / chunk end sub-state; bytes of
			   * enum lost_end in ST_CHUNK_LOST */
	uint8_t eol;      /* head-end scanner carry for a buffered head */
	uint8_t fifo_head;
	uint8_t fifo_len;
	uint8_t fifo[HTTP_PIPELINE_MAX]; /* enum method_kind */
	uint32_t line_len; /* chunk-size digits/extension, trailer line */
	uint32_t buf_len;
	uint32_t buf_cap;
	uint8_t *buf;       /* partial head, only while one is incomplete */
	uint64_t remaining; /* body/chunk bytes left; trailer bytes seen */
	uint64_t good;
	struct http_msg *msg; /* message whose body outlived its feed */
};

/* One call of http_stream_feed or http_stream_eof. */
struct feed {
	struct http_stream *s;
	const struct http_callbacks *cb;
	void *ctx;
	struct http_msg *m;     /* message being framed, NULL if none */
	struct http_msg *local; /* stack storage for a new message */
	int done;
	bool mid; /* these bytes end a syscall, not begin one */
};

/* Per-head parse state beyond what struct http_msg holds. */
struct head {
	struct http_msg *m;
	bool cl_seen;
	bool te_seen;
	bool close;
	bool keep_alive;
	bool framing_field; /* the last field read was Content-Length or
			     * Transfer-Encoding: it may not be folded */
};

static const char *const std_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE",
	"CONNECT", "OPTIONS", "TRACE", "PATCH",
};

/* ---- small helpers ---------------------------------------------------- */

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* p[0..n) equals the lower-case literal lit, ignoring ASCII case. */
/* p[0..n) is lit (lower case, n bytes long) in any case */
static bool ieq_n(const char *lit, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static bool ieq(const char *lit, const uint8_t *p, size_t n)
{
	return strlen(lit) == n && ieq_n(lit, p, n);
}

static inline unsigned hexval(uint8_t c)
{
	return c <= '9' ? c - '0' : lower(c) - 'a' + 10;
}

/*
 * Copy a header value for export, bounded: printable ASCII and whole UTF-8
 * characters as they are (a User-Agent may name "Café/1.0"), a tab as a
 * space, any other byte as '?'. A character that does not fit is left out
 * whole, so the result is always valid UTF-8.
 */
static void copy_clean(char *dst, size_t dstsz, const uint8_t *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		uint8_t c = v[i];
		int k = c >= 0x80 ? ebt_utf8_seq(v + i, n - i) : 1;

		if (k <= 0)
			k = 1, c = '?';
		else if (k == 1 && (c < 0x20 || c == 0x7f))
			c = c == '\t' ? ' ' : '?';
		if (o + (size_t)k > dstsz - 1)
			break;
		if (k == 1)
			dst[o] = (char)c;
		else
			memcpy(dst + o, v + i, (size_t)k);
		o += (size_t)k;
		i += (size_t)k;
	}
	dst[o] = '\0';
}

/*
 * Copy a request target into m->target: ASCII and whole UTF-8 characters
 * as sent (curl and many servers pass "/café" unescaped), any other byte
 * percent-encoded ("%E9"), so what is exported is valid UTF-8 and still
 * names the same bytes. A target that does not fit whole is cut at a
 * character and flagged; so is one the capture cut (`cut`) inside its
 * last character.
 */
static void copy_target(struct http_msg *m, const uint8_t *t, size_t tn,
			bool cut)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i = 0;

	while (i < tn) {
		int k = t[i] >= 0x80 ? ebt_utf8_seq(t + i, tn - i) : 1;
		size_t w = k > 0 ? (size_t)k : 3;

		if (o + w > HTTP_TARGET_MAX - 1 || (k < 0 && cut))
			break;
		if (k > 0) {
			memcpy(m->target + o, t + i, w);
			i += w;
		} else {
			m->target[o] = '%';
			m->target[o + 1] = hex[t[i] >> 4];
			m->target[o + 2] = hex[t[i] & 15];
			i++;
		}
		o += w;
	}
	m->target[o] = '\0';
	m->target_truncated = m->target_truncated || i < tn;
}

static bool target_start_ok(uint8_t c)
{
	return c == '/' || c == '*' || IS(c, C_ALNUM);
}

static bool std_method_prefix(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(std_methods); i++)
		if (strlen(std_methods[i]) >= n &&
		    memcmp(std_methods[i], p, n) == 0)
			return true;
	return false;
}

/* ---- start-of-message tests ------------------------------------------- */

/*
 * Is p[0..len) consistent with the start of a request line? A run of 1 to
 * HTTP_METHOD_MAX-1 method characters; if `strict`, A-Z first, then A-Z,
 * '-' or '_', and if the input ends inside that run it must be a prefix of
 * one of the nine standard methods. Not strict, any token (RFC 9110: a
 * method is a case-sensitive token; "get" is an extension method a server
 * may answer). Otherwise the run is followed by one SP and, if present, a
 * target start: '/', '*', or an ASCII letter or digit (absolute-form
 * "http://..." or authority-form "host:port").
 */
static bool request_prefix_ok(const uint8_t *p, size_t len, bool strict)
{
	uint8_t cls = strict ? C_METH : C_TCHAR;
	size_t k = 0;

	if (len == 0 || !IS(p[0], strict ? C_UPPER : C_TCHAR))
		return false;
	while (k < len && k < HTTP_METHOD_MAX && IS(p[k], cls))
		k++;
	if (k >= HTTP_METHOD_MAX)
		return false;
	if (k == len)
		return !strict || std_method_prefix(p, k);
	if (p[k] != ' ')
		return false;
	return k + 1 == len || target_start_ok(p[k + 1]);
}

/*
 * Request side: true iff request_prefix_ok(p, len, strict) above with
 * strict set, so "GE", "DELE", "GET /x" and "PROPFIND /" pass, while "XY",
 * "get /", "GET  /" and "GET\r\n" do not.
 */
bool http_looks_like_request(const uint8_t *p, size_t len)
{
	return request_prefix_ok(p, len, true);
}

/*
 * Response side: true iff len > 0 and p[0..len) is consistent with
 * "HTTP/1.0 " or "HTTP/1.1 " followed by three digits, the first one 1-5,
 * then SP, CR or LF. The input may end anywhere in that 13-byte prefix
 * ("HT" passes); bytes after it are not examined.
 */
bool http_looks_like_response(const uint8_t *p, size_t len)
{
	static const char pfx[] = "HTTP/1.";
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len && i < 7; i++)
		if (p[i] != (uint8_t)pfx[i])
			return false;
	if ((len > 7 && p[7] != '0' && p[7] != '1') ||
	    (len > 8 && p[8] != ' ') ||
	    (len > 9 && (p[9] < '1' || p[9] > '5')))
		return false;
	for (i = 10; i < len && i < 12; i++)
		if (!IS(p[i], C_DIGIT))
			return false;
	return len <= 12 || p[12] == ' ' || p[12] == '\r' || p[12] == '\n';
}

/* Resync candidates must pass the strict test. */
static bool looks_like(int side, const uint8_t *p, size_t len)
{
	return side == HTTP_SIDE_REQUEST ? http_looks_like_request(p, len)
					 : http_looks_like_response(p, len);
}

/* An incomplete head must keep passing this (any method may be typed). */
static bool head_prefix_ok(int side, const uint8_t *p, size_t len)
{
	return side == HTTP_SIDE_REQUEST ? request_prefix_ok(p, len, false)
					 : http_looks_like_response(p, len);
}

/* ---- head: start lines ------------------------------------------------ */

/* A line ends in CRLF or LF at p: the position after it, or NULL. */
static inline const uint8_t *line_end(const uint8_t *p, const uint8_t *end)
{
	if (p < end && p[0] == '\n')
		return p + 1;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return p + 2;
	return NULL;
}

/* Length of the run of class cls at p (bounded by end). */
static inline size_t span(const uint8_t *p, const uint8_t *end, uint8_t cls)
{
	const uint8_t *q = p;

	while (q < end && IS(*q, cls))
		q++;
	return q - p;
}

static bool parse_version(const uint8_t *p, const uint8_t *end,
			  struct http_msg *m)
{
	if (end - p < 8 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1'))
		return false;
	m->version_minor = p[7] - '0';
	return true;
}

/* METHOD SP request-target SP HTTP-version CRLF; *pos moves past it. */
static enum http_error parse_request_line(const uint8_t **pos,
					  const uint8_t *end,
					  struct http_msg *m)
{
	const uint8_t *l = *pos, *t;
	size_t k, tn;

	k = span(l, end, C_TCHAR); /* a token: extension methods too */
	if (k == 0 || k >= HTTP_METHOD_MAX || l + k == end || l[k] != ' ')
		return HTTP_ERR_BAD_START_LINE;
	t = l + k + 1;
	tn = span(t, end, C_TGT);
	if (tn == 0 || !target_start_ok(t[0]) || t + tn == end ||
	    t[tn] != ' ' || !parse_version(t + tn + 1, end, m) ||
	    !(*pos = line_end(t + tn + 9, end)))
		return HTTP_ERR_BAD_START_LINE;
	memcpy(m->method, l, k);
	m->method[k] = '\0';
	m->target_truncated = false;
	copy_target(m, t, tn, false);
	return HTTP_ERR_NONE;
}

/*
 * A request line the capture cut inside its target (no LF was captured):
 * METHOD SP target-prefix, taken only when what it gives is what the whole
 * line would: a target at least as long as we keep, or one whose path is
 * whole (its query began). The version is unknown: 1.1 is assumed.
 */
static enum http_error parse_request_line_cut(const uint8_t *l,
					      const uint8_t *end,
					      struct http_msg *m)
{
	const uint8_t *t;
	size_t k, tn;

	k = span(l, end, C_TCHAR);
	if (k == 0 || k >= HTTP_METHOD_MAX || l + k == end || l[k] != ' ')
		return HTTP_ERR_GAP;
	t = l + k + 1;
	tn = span(t, end, C_TGT);
	if (tn == 0 || t + tn != end || !target_start_ok(t[0]) || *t == '*' ||
	    (tn < HTTP_TARGET_MAX - 1 && !memchr(t, '?', tn)))
		return HTTP_ERR_GAP;
	memcpy(m->method, l, k);
	m->method[k] = '\0';
	m->target_truncated = true;
	copy_target(m, t, tn, true);
	return HTTP_ERR_NONE;
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (a missing SP is fine) */
static enum http_error parse_status_line(const uint8_t **pos,
					 const uint8_t *end,
					 struct http_msg *m)
{
	const uint8_t *l = *pos, *r;

	if (end - l < 12 || !parse_version(l, end, m) || l[8] != ' ' ||
	    l[9] < '1' || l[9] > '5' || !IS(l[10], C_DIGIT) ||
	    !IS(l[11], C_DIGIT))
		return HTTP_ERR_BAD_START_LINE;
	r = l + 12;
	if (r < end && *r == ' ')
		r += 1 + span(r + 1, end, C_VAL);
	if (!(*pos = line_end(r, end)))
		return HTTP_ERR_BAD_START_LINE;
	m->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	return HTTP_ERR_NONE;
}

/* ---- head: header fields ---------------------------------------------- */

/* Next non-empty element of a comma-separated list, OWS trimmed. */
static bool list_next(const uint8_t *v, size_t n, size_t *i,
		      const uint8_t **tok, size_t *tn)
{
	while (*i < n) {
		size_t a = *i, b;

		while (*i < n && v[*i] != ',')
			(*i)++;
		b = *i;
		if (*i < n)
			(*i)++;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b > a) {
			*tok = v + a;
			*tn = b - a;
			return true;
		}
	}
	return false;
}

/* 1*DIGIT, at most INT64_MAX (callers may store it signed). */
static bool parse_dec(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = p[i] - '0';

		if (!IS(p[i], C_DIGIT) || x > ((uint64_t)INT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*out = x;
	return true;
}

static enum http_error hdr_host(struct head *h, const uint8_t *v, size_t n)
{
	if (!h->m->host[0])
		copy_clean(h->m->host, sizeof(h->m->host), v, n);
	return HTTP_ERR_NONE;
}

static enum http_error hdr_user_agent(struct head *h, const uint8_t *v,
				      size_t n)
{
	if (!h->m->user_agent[0])
		copy_clean(h->m->user_agent, sizeof(h->m->user_agent), v, n);
	return HTTP_ERR_NONE;
}

static enum http_error hdr_traceparent(struct head *h, const uint8_t *v,
				       size_t n)
{
	if (!h->m->traceparent[0])
		copy_clean(h->m->traceparent, sizeof(h->m->traceparent), v, n);
	return HTTP_ERR_NONE;
}

/* ---- proxies: Forwarded (RFC 7239) and X-Forwarded-* ----------------- */

static bool is_addr_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == '.' || c == ':';
}

/* An IP address out of "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
 * "[2001:db8::1]:80" (quotes already gone); anything else ("unknown", an
 * obfuscated "_node") leaves out empty. */
static void addr_value(char *out, size_t outsz, const uint8_t *v, size_t n)
{
	const uint8_t *colon = memchr(v, ':', n);

	out[0] = '\0';
	if (n && v[0] == '[') {
		const uint8_t *end = memchr(v, ']', n);

		if (!end)
			return;
		v++;
		n = (size_t)(end - v);
	} else if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - v) - 1)) {
		n = (size_t)(colon - v); /* IPv4 with a port */
	}
	if (n == 0 || n >= outsz)
		return;
	for (size_t i = 0; i < n; i++)
		if (!is_addr_char(v[i]))
			return;
	memcpy(out, v, n);
	out[n] = '\0';
}

static void proto_value(char *out, const uint8_t *v, size_t n)
{
	if (ieq("https", v, n))
		memcpy(out, "https", 6);
	else if (ieq("http", v, n))
		memcpy(out, "http", 5);
}

/* The first element of a comma-separated list, quotes aware. */
static size_t first_element(const uint8_t *v, size_t n)
{
	bool quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"')
			quoted = !quoted;
		else if (v[i] == ',' && !quoted)
			return i;
	}
	return n;
}

static void trim(const uint8_t **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
	if (*n >= 2 && (*v)[0] == '"' && (*v)[*n - 1] == '"') {
		(*v)++;
		*n -= 2;
	}
}

/* One "name=value" pair of a Forwarded element. */
static void forwarded_pair(struct http_msg *m, const uint8_t *p, size_t n)
{
	const uint8_t *eq = memchr(p, '=', n), *v;
	size_t kn, vn;

	if (!eq)
		return;
	kn = (size_t)(eq - p);
	v = eq + 1;
	vn = n - kn - 1;
	trim(&p, &kn);
	trim(&v, &vn);
	if (ieq("for", p, kn))
		addr_value(m->fwd_client, sizeof(m->fwd_client), v, vn);
	else if (ieq("host", p, kn))
		copy_clean(m->fwd_host, sizeof(m->fwd_host), v, vn);
	else if (ieq("proto", p, kn))
		proto_value(m->fwd_proto, v, vn);
}

/* Forwarded: for=192.0.2.60;proto=https;host=shop, for=...: the first
 * element is the proxy nearest the client. It wins over X-Forwarded-*. */
static enum http_error hdr_forwarded(struct head *h, const uint8_t *v,
				     size_t n)
{
	struct http_msg *m = h->m;
	size_t end = first_element(v, n), i = 0;

	if (m->fwd_std)
		return HTTP_ERR_NONE; /* a later Forwarded line: farther away */
	m->fwd_std = true;
	m->fwd_client[0] = m->fwd_host[0] = m->fwd_proto[0] = '\0';
	while (i < end) {
		size_t j = i;

		while (j < end && v[j] != ';')
			j++;
		forwarded_pair(m, v + i, j - i);
		i = j + 1;
	}
	return HTTP_ERR_NONE;
}

/* X-Forwarded-For: client, proxy1, proxy2: the first is the client. */
static enum http_error hdr_x_forwarded_for(struct head *h, const uint8_t *v,
					   size_t n)
{
	size_t e = first_element(v, n);

	trim(&v, &e);
	if (!h->m->fwd_std && !h->m->fwd_client[0])
		addr_value(h->m->fwd_client, sizeof(h->m->fwd_client), v, e);
	return HTTP_ERR_NONE;
}

static enum http_error hdr_x_forwarded_host(struct head *h, const uint8_t *v,
					    size_t n)
{
	size_t e = first_element(v, n);

	trim(&v, &e);
	if (!h->m->fwd_std && !h->m->fwd_host[0])
		copy_clean(h->m->fwd_host, sizeof(h->m->fwd_host), v, e);
	return HTTP_ERR_NONE;
}

static enum http_error hdr_x_forwarded_proto(struct head *h,
					     const uint8_t *v, size_t n)
{
	size_t e = first_element(v, n);

	trim(&v, &e);
	if (!h->m->fwd_std && !h->m->fwd_proto[0])
		proto_value(h->m->fwd_proto, v, e);
	return HTTP_ERR_NONE;
}

/* "42" or "42, 42"; every value in every Content-Length must agree. */
static enum http_error hdr_content_length(struct head *h, const uint8_t *v,
					  size_t n)
{
	const uint8_t *tok;
	size_t i = 0, tn;
	bool any = false;
	uint64_t x;

	h->framing_field = true;
	while (list_next(v, n, &i, &tok, &tn)) {
		if (!parse_dec(tok, tn, &x) ||
		    (h->cl_seen && x != h->m->content_length))
			return HTTP_ERR_BAD_LENGTH;
		h->m->content_length = x;
		h->cl_seen = true;
		any = true;
	}
	if (!any)
		return HTTP_ERR_BAD_LENGTH;
	h->m->has_content_length = true;
	return HTTP_ERR_NONE;
}

/* Only the final coding matters for framing: chunked or not. */
static enum http_error hdr_transfer_encoding(struct head *h, const uint8_t *v,
					     size_t n)
{
	const uint8_t *tok, *last = NULL;
	size_t i = 0, tn, last_n = 0;

	h->framing_field = true;
	while (list_next(v, n, &i, &tok, &tn)) {
		last = tok;
		last_n = tn;
	}
	h->te_seen = true;
	h->m->chunked = last && ieq("chunked", last, last_n);
	return HTTP_ERR_NONE;
}

static enum http_error hdr_connection(struct head *h, const uint8_t *v,
				      size_t n)
{
	const uint8_t *tok;
	size_t i = 0, tn;

	while (list_next(v, n, &i, &tok, &tn)) {
		if (ieq("close", tok, tn))
			h->close = true;
		else if (ieq("keep-alive", tok, tn))
			h->keep_alive = true;
	}
	return HTTP_ERR_NONE;
}

static enum http_error hdr_upgrade(struct head *h, const uint8_t *v, size_t n)
{
	(void)v;
	(void)n;
	h->m->upgrade = true;
	return HTTP_ERR_NONE;
}

/*
 * Headers the parser reads. Anything else, including Authorization,
 * Cookie and Set-Cookie, is validated and skipped, never copied.
 */
#define HDR(name, fn) { name, sizeof(name) - 1, fn } /* name: a literal */

static const struct hdr_handler {
	const char *name; /* lower case */
	size_t len;
	enum http_error (*fn)(struct head *h, const uint8_t *v, size_t n);
} hdr_table[] = {
	HDR("host", hdr_host),
	HDR("user-agent", hdr_user_agent),
	HDR("traceparent", hdr_traceparent),
	HDR("content-length", hdr_content_length),
	HDR("transfer-encoding", hdr_transfer_encoding),
	HDR("connection", hdr_connection),
	HDR("upgrade", hdr_upgrade),
	HDR("forwarded", hdr_forwarded),
	HDR("x-forwarded-for", hdr_x_forwarded_for),
	HDR("x-forwarded-host", hdr_x_forwarded_host),
	HDR("x-forwarded-proto", hdr_x_forwarded_proto),
};

/*
 * A line that starts with SP or HTAB continues the field before it
 * (obs-fold, RFC 9112 5.2: a recipient may replace it with SP, and servers
 * such as Python's accept it). It is passed over: the fields read here
 * keep their first line, except Content-Length and Transfer-Encoding, which
 * frame the message and may not be folded (a request smuggling vector).
 */
static enum http_error parse_fold(struct head *h, const uint8_t **pos,
				  const uint8_t *end)
{
	const uint8_t *l = *pos;

	if (h->framing_field)
		return HTTP_ERR_BAD_HEADER;
	*pos = line_end(l + span(l, end, C_VAL), end);
	return *pos ? HTTP_ERR_NONE : HTTP_ERR_BAD_HEADER;
}

/* field-name ":" OWS field-value OWS CRLF; no SP before ':' */
static enum http_error parse_header(struct head *h, const uint8_t **pos,
				    const uint8_t *end)
{
	const uint8_t *l = *pos, *a, *b;
	size_t k;

	if (l < end && (*l == ' ' || *l == '\t'))
		return parse_fold(h, pos, end);
	k = span(l, end, C_TCHAR);
	if (k == 0 || l + k == end || l[k] != ':')
		return HTTP_ERR_BAD_HEADER;
	a = l + k + 1;
	b = a + span(a, end, C_VAL);
	if (!(*pos = line_end(b, end)))
		return HTTP_ERR_BAD_HEADER;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	h->framing_field = false; /* the handlers below say otherwise */
	for (size_t i = 0; i < ARRAY_SIZE(hdr_table); i++)
		if (hdr_table[i].len == k && ieq_n(hdr_table[i].name, l, k))
			return hdr_table[i].fn(h, a, b - a);
	return HTTP_ERR_NONE;
}

/* Checks and settings once the fields of a head are read. */
static enum http_error finish_head(struct head *h)
{
	struct http_msg *m = h->m;

	if (h->te_seen && !m->chunked && m->is_request)
		return HTTP_ERR_BAD_HEADER; /* cannot be framed */
	if (h->te_seen) {
		m->has_content_length = false;
		m->content_length = 0;
	}
	m->conn_close = h->close || (m->version_minor == 0 && !h->keep_alive);
	return HTTP_ERR_NONE;
}

/* p[0..n) is a whole head: start line, fields, blank line. */
static enum http_error parse_head(struct head *h, const uint8_t *p, size_t n)
{
	const uint8_t *pos = p, *end = p + n;
	struct http_msg *m = h->m;
	enum http_error err;

	err = m->is_request ? parse_request_line(&pos, end, m)
			    : parse_status_line(&pos, end, m);
	while (!err && !line_end(pos, end))
		err = parse_header(h, &pos, end);
	return err ? err : finish_head(h);
}

/*
 * p[0..n) is the start of a head whose end was never captured: its start
 * line and whole fields up to the last LF must validate; the partial line
 * after it is ignored. A request line cut in its target may still do.
 */
static enum http_error parse_head_cut(struct head *h, const uint8_t *p,
				      size_t n)
{
	const uint8_t *lf = memrchr(p, '\n', n), *pos = p, *end;
	struct http_msg *m = h->m;
	enum http_error err;

	if (!lf)
		return m->is_request ? parse_request_line_cut(p, p + n, m)
				     : HTTP_ERR_GAP;
	end = lf + 1;
	err = m->is_request ? parse_request_line(&pos, end, m)
			    : parse_status_line(&pos, end, m);
	while (!err && pos < end)
		err = parse_header(h, &pos, end);
	return err ? err : finish_head(h);
}

/*
 * Offset just past the blank line that ends a head in p[0..n), or 0.
 * *eol carries the scanner across feeds: 0 inside a line, 1 right after a
 * LF, 2 after LF CR.
 */
static size_t head_end(const uint8_t *p, size_t n, uint8_t *eol)
{
	size_t i = 0;
	uint8_t st = *eol;

	while (i < n) {
		if (st) {
			if (p[i] == '\n')
				return i + 1;
			if (p[i] == '\r' && st == 1) {
				st = 2;
				i++;
				continue;
			}
		}
		const uint8_t *lf = memchr(p + i, '\n', n - i);

		if (!lf) {
			*eol = 0;
			return 0;
		}
		i = lf - p + 1;
		st = 1;
	}
	*eol = st;
	return 0;
}

/* ---- messages and callbacks ------------------------------------------- */

static void msg_init(struct http_msg *m, bool is_request)
{
	m->is_request = is_request;
	m->version_minor = 1;
	m->method[0] = '\0';
	m->target[0] = '\0';
	m->target_truncated = false;
	m->host[0] = '\0';
	m->user_agent[0] = '\0';
	m->traceparent[0] = '\0';
	m->fwd_client[0] = m->fwd_host[0] = m->fwd_proto[0] = '\0';
	m->fwd_std = false;
	m->status = 0;
	m->has_content_length = false;
	m->content_length = 0;
	m->chunked = false;
	m->conn_close = false;
	m->upgrade = false;
	m->head_cut = false;
	m->body_lost = false;
	m->ended_before = false;
	m->body_bytes = 0;
}

#define COPY_STR(d, m, f) memcpy((d)->f, (m)->f, strlen((m)->f) + 1)

/* Field by field: the strings are mostly short, the struct is ~3 KB. */
static void msg_copy(struct http_msg *d, const struct http_msg *m)
{
	_Static_assert(sizeof(struct http_msg) ==
			       48 + HTTP_METHOD_MAX + HTTP_TARGET_MAX +
				       HTTP_HOST_MAX + HTTP_UA_MAX +
				       HTTP_TRACEPARENT_MAX + HTTP_ADDR_MAX +
				       HTTP_HOST_MAX + HTTP_PROTO_MAX,
		       "struct http_msg changed: update msg_copy");
	msg_init(d, m->is_request);
	d->version_minor = m->version_minor;
	COPY_STR(d, m, method);
	COPY_STR(d, m, target);
	d->target_truncated = m->target_truncated;
	COPY_STR(d, m, host);
	COPY_STR(d, m, user_agent);
	COPY_STR(d, m, traceparent);
	COPY_STR(d, m, fwd_client);
	COPY_STR(d, m, fwd_host);
	COPY_STR(d, m, fwd_proto);
	d->fwd_std = m->fwd_std;
	d->status = m->status;
	d->has_content_length = m->has_content_length;
	d->content_length = m->content_length;
	d->chunked = m->chunked;
	d->conn_close = m->conn_close;
	d->upgrade = m->upgrade;
	d->head_cut = m->head_cut;
	d->body_lost = m->body_lost;
	d->ended_before = m->ended_before;
	d->body_bytes = m->body_bytes;
}

/* The buffer may hold credentials (Authorization, Cookie): wipe it. */
static void buf_free(struct http_stream *s)
{
	if (s->buf)
		explicit_bzero(s->buf, s->buf_len);
	free(s->buf);
	s->buf = NULL;
	s->buf_len = 0;
	s->buf_cap = 0;
}

/* Append to the head buffer; fails past HTTP_HEADER_SECTION_MAX. */
static int buf_append(struct http_stream *s, const uint8_t *p, size_t n)
{
	size_t need = (size_t)s->buf_len + n;

	if (need > HTTP_HEADER_SECTION_MAX)
		return -1;
	if (need > s->buf_cap) {
		size_t cap = s->buf_cap ? s->buf_cap : HEAD_BUF_MIN;
		uint8_t *nb;

		while (cap < need)
			cap *= 2;
		if (cap > HTTP_HEADER_SECTION_MAX)
			cap = HTTP_HEADER_SECTION_MAX;
		nb = realloc(s->buf, cap);
		if (!nb)
			return -1;
		s->buf = nb;
		s->buf_cap = cap;
	}
	memcpy(s->buf + s->buf_len, p, n);
	s->buf_len = need;
	return 0;
}

static void drop_msg(struct feed *f)
{
	free(f->s->msg);
	f->s->msg = NULL;
	f->m = NULL;
}

/* Report err, drop partial state, resync; returns where to resume. */
static size_t fail(struct feed *f, enum http_error err, size_t resume)
{
	buf_free(f->s);
	drop_msg(f);
	f->s->state = ST_RESYNC;
	if (f->cb && f->cb->on_error)
		f->cb->on_error(f->ctx, err);
	return resume;
}

static void complete(struct feed *f)
{
	f->s->state = f->s->after;
	if (f->m && f->cb && f->cb->on_complete)
		f->cb->on_complete(f->ctx, f->m);
	f->done++;
	drop_msg(f);
}

static void add_body(struct feed *f, uint64_t n)
{
	if (f->m)
		f->m->body_bytes += n;
}

static void begin_len(struct http_stream *s, uint64_t n)
{
	s->state = ST_BODY_LEN;
	s->remaining = n;
}

static void begin_chunked(struct http_stream *s)
{
	s->state = ST_CHUNK_SIZE;
	s->sub = CS_FIRST;
	s->line_len = 0;
}

static enum method_kind fifo_pop(struct http_stream *s)
{
	enum method_kind k;

	if (!s->fifo_len)
		return MK_OTHER;
	k = s->fifo[s->fifo_head];
	s->fifo_head = (s->fifo_head + 1) % HTTP_PIPELINE_MAX;
	s->fifo_len--;
	return k;
}

static void start_request(struct feed *f)
{
	struct http_stream *s = f->s;
	struct http_msg *m = f->m;

	s->after = (m->upgrade || strcmp(m->method, "CONNECT") == 0) ?
			   ST_MAYBE_OPAQUE :
			   ST_HEAD;
	if (f->cb && f->cb->on_head)
		f->cb->on_head(f->ctx, m);
	if (m->chunked)
		begin_chunked(s);
	else if (m->content_length)
		begin_len(s, m->content_length);
	else
		complete(f);
}

static void start_response(struct feed *f)
{
	struct http_stream *s = f->s;
	struct http_msg *m = f->m;
	enum method_kind kind = MK_OTHER;

	if (m->status >= 200 || m->status == 101)
		kind = fifo_pop(s);
	s->after = ST_HEAD;
	if (f->cb && f->cb->on_head)
		f->cb->on_head(f->ctx, m);
	if (m->status < 200 && m->status != 101) {
		f->m = NULL; /* interim: the final response follows */
	} else if (m->status == 101 ||
		   (kind == MK_CONNECT && m->status < 300)) {
		s->after = ST_OPAQUE;
		complete(f);
	} else if (kind == MK_HEAD || m->status == 204 || m->status == 304) {
		complete(f);
	} else if (m->chunked) {
		begin_chunked(s);
	} else if (m->has_content_length) {
		if (m->content_length)
			begin_len(s, m->content_length);
		else
			complete(f);
	} else {
		s->state = ST_BODY_CLOSE;
	}
}

/* p[0..n) is a whole head: validate, report, set up body framing. */
static enum http_error head_parsed(struct feed *f, const uint8_t *p, size_t n)
{
	struct head h = { .m = f->local };
	enum http_error err;

	msg_init(h.m, f->s->side == HTTP_SIDE_REQUEST);
	err = parse_head(&h, p, n);
	if (err)
		return err;
	f->s->good += n;
	f->m = h.m;
	if (h.m->is_request)
		start_request(f);
	else
		start_response(f);
	return HTTP_ERR_NONE;
}

/*
 * The buffered head's end was never captured (the syscall moved more bytes
 * than were copied): report what its whole lines say, as a message without
 * a body, then skip to the next message. False if they do not validate.
 */
static bool head_cut(struct feed *f)
{
	struct http_stream *s = f->s;
	struct head h = { .m = f->local };

	if (!h.m || !s->buf_len)
		return false;
	msg_init(h.m, s->side == HTTP_SIDE_REQUEST);
	if (parse_head_cut(&h, s->buf, s->buf_len) != HTTP_ERR_NONE ||
	    (!h.m->is_request && h.m->status < 200))
		return false;
	h.m->head_cut = true;
	s->good += s->buf_len;
	buf_free(s);
	if (!h.m->is_request)
		fifo_pop(s);
	f->m = h.m;
	s->after = ST_RESYNC;
	if (f->cb && f->cb->on_head)
		f->cb->on_head(f->ctx, h.m);
	complete(f);
	return true;
}

/* ---- per-state steps -------------------------------------------------- */

/*
 * A head still incomplete whose start line is whole: that line must
 * parse. A text protocol that is not HTTP (memcached's "get key", Redis
 * inline commands) fails at its first line, not after a header section's
 * worth of bytes.
 */
static bool start_line_ok(int side, const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n), *pos = p;
	struct http_msg m;

	if (!lf)
		return true;
	return (side == HTTP_SIDE_REQUEST
			? parse_request_line(&pos, lf + 1, &m)
			: parse_status_line(&pos, lf + 1, &m)) == HTTP_ERR_NONE;
}

/* Did the bytes appended after the first old ones end the first line? */
static bool first_line_ended(const struct http_stream *s, size_t old)
{
	return !memchr(s->buf, '\n', old) &&
	       memchr(s->buf + old, '\n', s->buf_len - old);
}

static size_t head_start(struct feed *f, const uint8_t *d, size_t pos,
			 size_t len)
{
	struct http_stream *s = f->s;
	uint8_t eol = 0;
	size_t n = len - pos;
	size_t e = head_end(d + pos, n, &eol);
	enum http_error err;

	if (e) {
		err = e > HTTP_HEADER_SECTION_MAX ?
			      HTTP_ERR_HEADER_TOO_LARGE :
			      head_parsed(f, d + pos, e);
		return err ? fail(f, err, pos + 1) : pos + e;
	}
	if (!head_prefix_ok(s->side, d + pos, n) ||
	    !start_line_ok(s->side, d + pos, n))
		return fail(f, HTTP_ERR_BAD_START_LINE, pos + 1);
	if (buf_append(s, d + pos, n) != 0)
		return fail(f, HTTP_ERR_HEADER_TOO_LARGE, pos + 1);
	s->eol = eol;
	return len;
}

static size_t head_more(struct feed *f, const uint8_t *d, size_t pos,
			size_t len)
{
	struct http_stream *s = f->s;
	size_t e = head_end(d + pos, len - pos, &s->eol), old = s->buf_len;
	enum http_error err;

	if (buf_append(s, d + pos, e ? e : len - pos) != 0)
		return fail(f, HTTP_ERR_HEADER_TOO_LARGE, pos);
	if (!e) {
		if ((s->buf_len < PREFIX_CHECK_LEN &&
		     !head_prefix_ok(s->side, s->buf, s->buf_len)) ||
		    (first_line_ended(s, old) &&
		     !start_line_ok(s->side, s->buf, s->buf_len)))
			return fail(f, HTTP_ERR_BAD_START_LINE, pos);
		return len;
	}
	err = head_parsed(f, s->buf, s->buf_len);
	buf_free(s);
	return err ? fail(f, err, pos) : pos + e;
}

static size_t do_head(struct feed *f, const uint8_t *d, size_t pos,
		      size_t len)
{
	if (f->s->buf_len)
		return head_more(f, d, pos, len);
	/* empty lines between messages are ignored */
	while (pos < len && (d[pos] == '\r' || d[pos] == '\n'))
		pos++;
	return pos < len ? head_start(f, d, pos, len) : len;
}

/* Consume up to avail body bytes owed by `remaining`. */
static size_t body_take(struct feed *f, size_t avail)
{
	struct http_stream *s = f->s;
	size_t n = s->remaining < avail ? (size_t)s->remaining : avail;

	s->remaining -= n;
	s->good += n;
	add_body(f, n);
	return n;
}

static size_t do_body_len(struct feed *f, size_t pos, size_t len)
{
	pos += body_take(f, len - pos);
	if (!f->s->remaining)
		complete(f);
	return pos;
}

static int chunk_eol(struct http_stream *s, uint8_t c)
{
	if (c == '\n')
		return 1;
	if (c != '\r')
		return -1;
	s->sub = CS_LF;
	return 0;
}

/* After the size digits: BWS, extensions, then the line end. */
static int chunk_after_size(struct http_stream *s, uint8_t c)
{
	if (c == ' ' || c == '\t') {
		s->sub = CS_WS;
		return 0;
	}
	if (c == ';') {
		s->sub = CS_EXT;
		s->line_len = 0;
		return 0;
	}
	return chunk_eol(s, c);
}

/* One byte of a chunk-size line: 0 more, 1 line done, -1 malformed. */
static inline int chunk_size_byte(struct http_stream *s, uint8_t c)
{
	switch (s->sub) {
	case CS_FIRST:
		if (!IS(c, C_HEX))
			return -1;
		s->remaining = hexval(c);
		s->line_len = 1;
		s->sub = CS_DIGITS;
		return 0;
	case CS_DIGITS:
		if (!IS(c, C_HEX))
			return chunk_after_size(s, c);
		if (++s->line_len > 16)
			return -1; /* would overflow 64 bits */
		s->remaining = s->remaining << 4 | hexval(c);
		return 0;
	case CS_WS:
		return chunk_after_size(s, c);
	case CS_EXT:
		if (c == '\r' || c == '\n')
			return chunk_eol(s, c);
		if (!IS(c, C_VAL) || ++s->line_len > CHUNK_EXT_MAX)
			return -1;
		return 0;
	default: /* CS_LF */
		return c == '\n' ? 1 : -1;
	}
}

static size_t do_chunk_size(struct feed *f, const uint8_t *d, size_t pos,
			    size_t len)
{
	struct http_stream *s = f->s;
	size_t start = pos;

	while (pos < len) {
		int r = chunk_size_byte(s, d[pos++]);

		if (r < 0)
			return fail(f, HTTP_ERR_BAD_CHUNK, pos - 1);
		if (r > 0) {
			s->state = s->remaining ? ST_CHUNK_DATA : ST_TRAILERS;
			s->line_len = 0;
			break;
		}
	}
	s->good += pos - start;
	return pos;
}

static size_t do_chunk_data(struct feed *f, size_t pos, size_t len)
{
	pos += body_take(f, len - pos);
	if (!f->s->remaining) {
		f->s->state = ST_CHUNK_END;
		f->s->sub = 0;
	}
	return pos;
}

static size_t do_chunk_end(struct feed *f, const uint8_t *d, size_t pos)
{
	struct http_stream *s = f->s;

	if (d[pos] == '\r' && s->sub == 0) {
		s->sub = 1;
	} else if (d[pos] == '\n') {
		begin_chunked(s);
	} else {
		return fail(f, HTTP_ERR_BAD_CHUNK, pos);
	}
	s->good++;
	return pos + 1;
}

/* Trailer fields are skipped (bounded, printable); a blank line ends. */
static size_t do_trailers(struct feed *f, const uint8_t *d, size_t pos,
			  size_t len)
{
	struct http_stream *s = f->s;
	size_t start = pos;

	while (pos < len) {
		uint8_t c = d[pos++];

		if (c == '\n') {
			if (s->line_len == 0) {
				s->good += pos - start;
				complete(f);
				return pos;
			}
			s->line_len = 0;
		} else if (c != '\r') {
			if (!IS(c, C_VAL) ||
			    ++s->remaining > HTTP_HEADER_SECTION_MAX)
				return fail(f, HTTP_ERR_BAD_CHUNK, pos - 1);
			s->line_len++;
		}
	}
	s->good += pos - start;
	return pos;
}

/* A gap hid the chunk framing: the message goes on, its size is unknown.
 * Whatever preceded the gap may have ended in CRLF: a feed that starts
 * with the last chunk ("0\r\n\r\n") ends the body. */
static void lose_chunks(struct feed *f)
{
	f->s->state = ST_CHUNK_LOST;
	f->s->sub = LE_CRLF;
	if (f->m)
		f->m->body_lost = true;
}

/* Where the matcher of a lost body's end is once c follows state k: a
 * byte that does not fit starts over (at LE_CR if it is a CR). */
static uint8_t lost_end_step(uint8_t k, uint8_t c)
{
	switch (k) {
	case LE_CR:
		if (c == '\n')
			return LE_CRLF;
		break;
	case LE_CRLF:
		if (c == '0')
			return LE_ZERO;
		break;
	case LE_ZERO:
		if (c == '0')
			return LE_ZERO;
		if (c == ';')
			return LE_EXT;
		if (c == '\r')
			return LE_ZERO_CR;
		break;
	case LE_EXT:
		if (c == '\r')
			return LE_ZERO_CR;
		if (c != '\n')
			return LE_EXT;
		break;
	case LE_ZERO_CR:
	case LE_VALUE_CR:
		if (c == '\n')
			return LE_LINE;
		break;
	case LE_LINE: /* after CRLF: "0" may start the last chunk again */
		if (c == '\r')
			return LE_FINAL_CR;
		if (c == '0')
			return LE_ZERO;
		if (IS(c, C_TCHAR))
			return LE_NAME;
		break;
	case LE_NAME:
		if (IS(c, C_TCHAR))
			return LE_NAME;
		if (c == ':')
			return LE_VALUE;
		break;
	case LE_VALUE:
		if (c == '\r')
			return LE_VALUE_CR;
		if (c != '\n')
			return LE_VALUE;
		break;
	case LE_FINAL_CR:
		if (c == '\n')
			return LE_DONE;
		break;
	default:
		break;
	}
	return c == '\r' ? LE_CR : LE_NONE;
}

/* Does p[0..n) start with a whole, valid head for this side? Body bytes
 * at the start of a read could look like a start line; a whole head with
 * its blank line is much less likely. */
static bool starts_message(int side, const uint8_t *p, size_t n)
{
	struct http_msg m;
	struct head h = { .m = &m };
	uint8_t eol = 0;
	size_t e;

	if (!looks_like(side, p, n))
		return false;
	e = head_end(p, n, &eol);
	msg_init(&m, side == HTTP_SIDE_REQUEST);
	return e && parse_head(&h, p, e) == HTTP_ERR_NONE;
}

/* Chunked body without framing: ends at the first end seen (lost_end), or
 * (the next message began in a gap) at a feed that starts a message. */
static size_t do_chunk_lost(struct feed *f, const uint8_t *d, size_t pos,
			    size_t len)
{
	struct http_stream *s = f->s;
	size_t start = pos;

	if (pos == 0 && !f->mid && starts_message(s->side, d, len)) {
		if (f->m)
			f->m->ended_before = true;
		complete(f);
		return pos;
	}
	while (pos < len) {
		s->sub = lost_end_step(s->sub, d[pos++]);
		if (s->sub == LE_DONE) {
			s->good += pos - start;
			complete(f);
			return pos;
		}
	}
	s->good += pos - start;
	return pos;
}

/* After CONNECT or Upgrade: more HTTP, or the tunnel's own bytes? */
static size_t do_maybe_opaque(struct feed *f, const uint8_t *d, size_t pos,
			      size_t len)
{
	while (pos < len && (d[pos] == '\r' || d[pos] == '\n'))
		pos++;
	if (pos < len)
		f->s->state = head_prefix_ok(f->s->side, d + pos, len - pos) ?
				      ST_HEAD :
				      ST_OPAQUE;
	return pos;
}

/* Candidates: the start of a feed, right after a LF (including at pos). */
static size_t do_resync(struct feed *f, const uint8_t *d, size_t pos,
			size_t len)
{
	int side = f->s->side;
	const uint8_t *lf;

	if ((pos == 0 || d[pos - 1] == '\n') &&
	    looks_like(side, d + pos, len - pos))
		goto found;
	while ((lf = memchr(d + pos, '\n', len - pos))) {
		pos = lf - d + 1;
		if (pos < len && looks_like(side, d + pos, len - pos))
			goto found;
	}
	return len;
found:
	f->s->state = ST_HEAD;
	return pos;
}

static size_t step(struct feed *f, const uint8_t *d, size_t pos, size_t len)
{
	switch (f->s->state) {
	case ST_HEAD:
		return do_head(f, d, pos, len);
	case ST_BODY_LEN:
		return do_body_len(f, pos, len);
	case ST_CHUNK_SIZE:
		return do_chunk_size(f, d, pos, len);
	case ST_CHUNK_DATA:
		return do_chunk_data(f, pos, len);
	case ST_CHUNK_END:
		return do_chunk_end(f, d, pos);
	case ST_TRAILERS:
		return do_trailers(f, d, pos, len);
	case ST_CHUNK_LOST:
		return do_chunk_lost(f, d, pos, len);
	case ST_BODY_CLOSE:
		f->s->good += len - pos;
		add_body(f, len - pos);
		return len;
	case ST_MAYBE_OPAQUE:
		return do_maybe_opaque(f, d, pos, len);
	case ST_RESYNC:
		return do_resync(f, d, pos, len);
	default: /* ST_OPAQUE */
		return len;
	}
}

/* gap bytes followed the captured ones: account or give up framing. */
static void account_gap(struct feed *f, uint64_t gap)
{
	struct http_stream *s = f->s;
	uint64_t n;

	switch (s->state) {
	case ST_BODY_LEN:
		n = gap < s->remaining ? gap : s->remaining;
		s->remaining -= n;
		add_body(f, n);
		if (s->remaining)
			return;
		complete(f);
		if (n == gap || s->state == ST_OPAQUE)
			return;
		break;
	case ST_CHUNK_DATA:
		if (gap > s->remaining) {
			lose_chunks(f);
			return;
		}
		s->remaining -= gap;
		add_body(f, gap);
		if (!s->remaining) {
			s->state = ST_CHUNK_END;
			s->sub = 0;
		}
		return;
	case ST_CHUNK_SIZE:
	case ST_CHUNK_END:
	case ST_TRAILERS:
	case ST_CHUNK_LOST:
		lose_chunks(f);
		return;
	case ST_BODY_CLOSE:
		add_body(f, gap);
		return;
	case ST_OPAQUE:
	case ST_RESYNC:
		return;
	case ST_HEAD:
		if (head_cut(f))
			return;
		break;
	default:
		break;
	}
	fail(f, HTTP_ERR_GAP, 0);
}

/* A message still in progress moves off this call's stack. */
static void persist(struct feed *f)
{
	struct http_stream *s = f->s;

	if (!f->m || f->m == s->msg)
		return;
	s->msg = malloc(sizeof(*s->msg));
	if (s->msg)
		msg_copy(s->msg, f->m);
	/* out of memory: framing goes on, on_complete is skipped */
}

static void feed_init(struct feed *f, struct http_stream *s,
		      const struct http_callbacks *cb, void *ctx)
{
	*f = (struct feed){.s = s, .cb = cb, .ctx = ctx, .m = s->msg};
}

/* ---- public API ------------------------------------------------------- */

struct http_stream *http_stream_new(enum http_side side)
{
	struct http_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->side = side == HTTP_SIDE_RESPONSE ? HTTP_SIDE_RESPONSE
					     : HTTP_SIDE_REQUEST;
	s->state = ST_HEAD;
	s->after = ST_HEAD;
	return s;
}

void http_stream_free(struct http_stream *s)
{
	if (!s)
		return;
	buf_free(s);
	free(s->msg);
	free(s);
}

int http_stream_feed(struct http_stream *s, const uint8_t *data, size_t len,
		     size_t total, const struct http_callbacks *cb, void *ctx)
{
	struct http_msg local;
	struct feed f;
	size_t pos = 0;

	if (!s || (!data && len))
		return 0;
	feed_init(&f, s, cb, ctx);
	f.local = &local;
	if (s->state == ST_RESYNC && looks_like(s->side, data, len))
		s->state = ST_HEAD; /* the start of a later feed */
	while (pos < len)
		pos = step(&f, data, pos, len);
	if (total > len)
		account_gap(&f, total - len);
	persist(&f);
	return f.done;
}

void http_stream_gap(struct http_stream *s, uint64_t count,
		     const struct http_callbacks *cb, void *ctx)
{
	struct http_msg local;
	struct feed f;

	if (!s || !count)
		return;
	feed_init(&f, s, cb, ctx);
	f.local = &local;
	account_gap(&f, count);
	persist(&f);
}

uint64_t http_stream_body_left(const struct http_stream *s)
{
	if (!s || (s->state != ST_BODY_LEN && s->state != ST_CHUNK_DATA))
		return 0;
	return s->remaining;
}

void http_stream_eof(struct http_stream *s, const struct http_callbacks *cb,
		     void *ctx)
{
	struct feed f;

	if (!s)
		return;
	feed_init(&f, s, cb, ctx);
	if (s->state == ST_BODY_CLOSE || s->state == ST_CHUNK_LOST) {
		s->after = ST_HEAD;
		complete(&f);
	}
	buf_free(s);
	drop_msg(&f);
	s->state = ST_HEAD;
	s->after = ST_HEAD;
	s->fifo_len = 0;
	s->fifo_head = 0;
}

/* Inside a body framed by length or chunks (not by the close). */
static bool in_framed_body(const struct http_stream *s)
{
	switch (s->state) {
	case ST_BODY_LEN:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_DATA:
	case ST_CHUNK_END:
	case ST_TRAILERS:
		return true;
	default:
		return false;
	}
}

/* Inside a body, however it is framed. */
static bool in_body(const struct http_stream *s)
{
	return in_framed_body(s) || s->state == ST_CHUNK_LOST ||
	       s->state == ST_BODY_CLOSE;
}

int http_stream_feed_end(struct http_stream *s, const uint8_t *data,
			 size_t len, const struct http_callbacks *cb, void *ctx)
{
	struct http_msg local;
	struct feed f;
	size_t pos = 0;

	/* at a message's first byte (a body ended right before them), they
	 * start the next head; in a cut head or a resync they are let go */
	if (!s || !data ||
	    !(in_body(s) || (s->state == ST_HEAD && !s->buf_len)))
		return 0;
	feed_init(&f, s, cb, ctx);
	f.local = &local;
	f.mid = true;
	while (pos < len)
		pos = step(&f, data, pos, len);
	persist(&f);
	return f.done;
}

bool http_stream_eof_cut(struct http_stream *s,
			 const struct http_callbacks *cb, void *ctx)
{
	struct feed f;

	if (!s || s->side != HTTP_SIDE_RESPONSE || !s->msg ||
	    !in_framed_body(s))
		return false;
	feed_init(&f, s, cb, ctx);
	/* in the trailers the body was whole */
	if (s->state != ST_TRAILERS)
		f.m->body_lost = true;
	s->after = ST_HEAD;
	complete(&f);
	buf_free(s);
	return true;
}

bool http_stream_end_lost(struct http_stream *s,
			  const struct http_callbacks *cb, void *ctx)
{
	struct feed f;

	if (!s || s->state != ST_CHUNK_LOST)
		return false;
	feed_init(&f, s, cb, ctx);
	if (f.m)
		f.m->ended_before = true;
	complete(&f);
	return true;
}

void http_stream_expect(struct http_stream *s, const char *method)
{
	enum method_kind k = MK_OTHER;

	if (!s || s->side != HTTP_SIDE_RESPONSE ||
	    s->fifo_len >= HTTP_PIPELINE_MAX)
		return; /* a full FIFO drops the newest entry */
	if (method && strcmp(method, "HEAD") == 0)
		k = MK_HEAD;
	else if (method && strcmp(method, "CONNECT") == 0)
		k = MK_CONNECT;
	s->fifo[(s->fifo_head + s->fifo_len) % HTTP_PIPELINE_MAX] = k;
	s->fifo_len++;
}

bool http_stream_opaque(const struct http_stream *s)
{
	return s && s->state == ST_OPAQUE;
}

bool http_stream_in_resync(const struct http_stream *s)
{
	return s && s->state == ST_RESYNC;
}

uint64_t http_stream_good_bytes(const struct http_stream *s)
{
	return s ? s->good : 0;
}
