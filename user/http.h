/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.0 and 1.1 stream parsing, pure functions over byte buffers.
 *
 * One struct http_stream per direction of a connection: the request side
 * (bytes the client sends) and the response side (bytes the server sends).
 * Bytes are fed as the syscalls moved them; a chunk may be a prefix of what
 * the syscall really moved (total > len): the parser accounts for the
 * missing bytes where it can (inside a body) and resynchronises at the next
 * message boundary where it cannot (inside a start line or headers).
 *
 * Nothing here allocates more than the bounded header buffer, and nothing
 * reported through the callbacks is ever garbage: start lines and header
 * values are validated before they are reported.
 */
#ifndef EBT_HTTP_H
#define EBT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_METHOD_MAX 24
#define HTTP_TARGET_MAX 2048     /* longer targets are truncated (flagged) */
#define HTTP_HOST_MAX 256
#define HTTP_UA_MAX 512
#define HTTP_TRACEPARENT_MAX 64  /* "00-<32>-<16>-<2>" is 55 chars */
#define HTTP_ADDR_MAX 48         /* an IPv6 address in text is at most 45 */
#define HTTP_PROTO_MAX 8         /* "http", "https" */
#define HTTP_HEADER_SECTION_MAX (64 * 1024) /* larger: error + resync */
#define HTTP_PIPELINE_MAX 32     /* requests awaiting a response */

enum http_side {
	HTTP_SIDE_REQUEST = 0,
	HTTP_SIDE_RESPONSE = 1,
};

/* One parsed message head (request or response). */
struct http_msg {
	bool is_request;
	int version_minor; /* HTTP/1.<minor> */
	/* request */
	char method[HTTP_METHOD_MAX];
	char target[HTTP_TARGET_MAX]; /* as sent: path[?query] or absolute */
	bool target_truncated;
	char host[HTTP_HOST_MAX];
	char user_agent[HTTP_UA_MAX];
	char traceparent[HTTP_TRACEPARENT_MAX]; /* raw value, "" if absent */
	/* what a proxy in front says of the request (Forwarded, else the
	 * X-Forwarded-For/-Host/-Proto headers); "" if absent or invalid */
	char fwd_client[HTTP_ADDR_MAX]; /* original client's IP address */
	char fwd_host[HTTP_HOST_MAX];	/* host the client asked for */
	char fwd_proto[HTTP_PROTO_MAX]; /* "http" or "https" */
	bool fwd_std; /* the values came from Forwarded: X-Forwarded-* ignored */
	/* response */
	int status; /* 100..599 */
	/* framing */
	bool has_content_length;
	uint64_t content_length;
	bool chunked;
	bool conn_close; /* Connection: close (or 1.0 without keep-alive) */
	bool upgrade;    /* Upgrade header present */
	bool head_cut;   /* head's end never captured: fields may be missing */
	bool body_lost;  /* chunk framing hidden by a capture gap: size unknown */
	bool ended_before; /* body_lost, and its end was in a gap before the
			    * bytes of the feed that reported it */
	uint64_t body_bytes; /* filled in for on_complete */
};

enum http_error {
	HTTP_ERR_NONE = 0,
	HTTP_ERR_BAD_START_LINE,
	HTTP_ERR_BAD_HEADER,
	HTTP_ERR_HEADER_TOO_LARGE,
	HTTP_ERR_BAD_CHUNK,
	HTTP_ERR_GAP, /* bytes missing where framing was needed */
	HTTP_ERR_BAD_LENGTH,
};

struct http_callbacks {
	/* Head of a message parsed (for responses, also 1xx interim ones). */
	void (*on_head)(void *ctx, const struct http_msg *m);
	/*
	 * Message (head + body) fully seen. Not called for 1xx interim
	 * responses, but for 101 (the stream is opaque after it). body_bytes
	 * counts payload bytes (for chunked bodies the chunk data only).
	 * A head whose end was not captured (the syscall moved more bytes
	 * than were copied) is reported with head_cut set if its start line
	 * and whole fields validate: on_head, then on_complete at once (body
	 * unknown, body_bytes 0), then the stream skips to the next message.
	 * A chunked body whose framing a capture gap hid is reported with
	 * body_lost set (body_bytes meaningless) when its end is found: a
	 * last chunk "\r\n0\r\n\r\n" in captured bytes, a later feed that
	 * starts with a valid start line (then ended_before is set: the body
	 * ended in the gap before that feed), or (response side) the close.
	 */
	void (*on_complete)(void *ctx, const struct http_msg *m);
	/*
	 * Bytes were discarded; parser is resynchronising. A message whose
	 * head was reported and whose body breaks ends here, not in
	 * on_complete. Any callback may be NULL.
	 */
	void (*on_error)(void *ctx, enum http_error err);
};

struct http_stream; /* opaque: state, bounded header buffer, FIFO */

struct http_stream *http_stream_new(enum http_side side);
void http_stream_free(struct http_stream *s);

/*
 * Feed bytes. data holds len captured bytes; total >= len is how many bytes
 * the syscall moved (total - len bytes following data are unseen).
 * Returns the number of complete messages seen so far in this call.
 */
int http_stream_feed(struct http_stream *s, const uint8_t *data, size_t len,
		     size_t total, const struct http_callbacks *cb, void *ctx);

/*
 * The last len bytes a syscall moved, after a feed whose total left them
 * unseen (the capture took a prefix and the end, not the middle). Fed
 * where the stream is inside a body, whose end or chunk framing they may
 * hold, or at the first byte of a message (a body ended right before
 * them); elsewhere let go like the unseen bytes before them. Returns the
 * messages completed.
 */
int http_stream_feed_end(struct http_stream *s, const uint8_t *data,
			 size_t len, const struct http_callbacks *cb, void *ctx);

/* Peer closed: completes a close-delimited response body, drops partials. */
void http_stream_eof(struct http_stream *s, const struct http_callbacks *cb,
		     void *ctx);

/*
 * Response side, the connection ends inside a body whose head was reported
 * (a client that stopped reading a download and closed, or whose process
 * is gone): completes the message with body_lost set, since its status is
 * known and the exchange happened, and returns true. http_stream_eof is
 * still to be called.
 */
bool http_stream_eof_cut(struct http_stream *s,
			 const struct http_callbacks *cb, void *ctx);

/*
 * The peer's next message began (a request after the response this stream
 * is in): a chunked body whose framing a capture gap hid (body_lost) has
 * ended, before the bytes fed last at the latest. Completes it with
 * ended_before set and returns true; false (nothing done) elsewhere. Once
 * a client that waits for each response sends its next request, the one
 * before has been answered whole, whether or not its end was seen and
 * however the next response's head is then written (the status line
 * alone, a byte at a time): without this, such a head would be taken into
 * the lost body and the response after it paired with its request.
 */
bool http_stream_end_lost(struct http_stream *s,
			  const struct http_callbacks *cb, void *ctx);

/*
 * Response side only: tell the parser the method of the next request in
 * order (pipelining FIFO), so HEAD and CONNECT responses are framed right.
 */
void http_stream_expect(struct http_stream *s, const char *method);

/*
 * count bytes went by unseen (the capture skipped them): as if fed with
 * nothing captured. Inside a body of known length they only count.
 */
void http_stream_gap(struct http_stream *s, uint64_t count,
		     const struct http_callbacks *cb, void *ctx);

/* Bytes of the current Content-Length body, or of the current chunk's
 * data, still to come; 0 when the stream is not inside one. */
uint64_t http_stream_body_left(const struct http_stream *s);

/* True while the stream has consumed bytes it could not frame (resync). */
bool http_stream_in_resync(const struct http_stream *s);

/* True once the stream is a tunnel (after 101, or 2xx to CONNECT). */
bool http_stream_opaque(const struct http_stream *s);

/* Number of bytes of valid HTTP seen so far (for classification). */
uint64_t http_stream_good_bytes(const struct http_stream *s);

/*
 * Quick check: could these first bytes start an HTTP/1.x message? A prefix
 * shorter than a method or status line passes if it is consistent with one
 * ("GE", "HTTP/1."); the exact rules are documented in http_parser.c.
 */
/*
 * A PROXY protocol header (v1 text or v2 binary, as HAProxy, AWS NLB and
 * others put before a proxied connection's first byte) at the start of
 * p[0..len): its length, with the original client's address in client
 * (NUL-terminated, "" when the header names none, e.g. a LOCAL health
 * check); 0 when p does not start with a whole one.
 */
size_t http_proxy_header(const uint8_t *p, size_t len, char *client,
			 size_t client_len);
bool http_looks_like_request(const uint8_t *p, size_t len);
bool http_looks_like_response(const uint8_t *p, size_t len);

/* ---- route templating (route.c) ---- */
/*
 * Low-cardinality route from a request path (query already stripped):
 * numeric, UUID and hex-id segments become {id}, {uuid}, {hex}... .
 * Writes a NUL-terminated string into out; returns its length.
 */
size_t http_route_template(const char *path, size_t len, char *out,
			   size_t outsz);

/* host[:port] of an absolute-form target ("http://h:81/p"), else empty. */
void http_target_authority(const char *target, const char **auth,
			   size_t *len);

/* Split a request target into path and query (no allocation). */
void http_split_target(const char *target, const char **path,
		       size_t *path_len, const char **query, size_t *query_len);

enum http_query_mode {
	HTTP_QUERY_KEEP = 0,   /* export the query string as sent */
	HTTP_QUERY_REDACT = 1, /* keep keys, replace every value by REDACTED */
	HTTP_QUERY_DROP = 2,   /* do not export the query string */
};
/* Returns length written to out (NUL-terminated), 0 for DROP or empty. */
size_t http_query_redact(const char *q, size_t len, enum http_query_mode mode,
			 char *out, size_t outsz);

/* True for headers whose values must never be exported. */
bool http_header_is_sensitive(const char *name, size_t len);

/* OTel semconv: known methods as is, others as "_OTHER". */
const char *http_method_normalize(const char *method);

/* ---- W3C trace context (traceparent.c) ---- */
/* Returns 0 if s is a valid traceparent; fills ids and flags. */
int traceparent_parse(const char *s, size_t len, uint8_t trace_id[16],
		      uint8_t parent_id[8], uint8_t *flags);
/* Writes "00-<trace>-<span>-<flags>" (55 chars + NUL) into out[56]. */
void traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8],
			uint8_t flags, char out[56]);

#endif /* EBT_HTTP_H */
