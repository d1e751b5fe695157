/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC message framing and status trailers: pure, fuzzed (fuzz_grpc.c). */
#include "grpc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void grpc_frame_prefix(uint8_t out[GRPC_PREFIX_LEN], uint32_t len)
{
	out[0] = 0; /* not compressed */
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

enum grpc_frame_rc grpc_frame_next(const uint8_t *buf, size_t len,
				   size_t *off, size_t max,
				   const uint8_t **msg, size_t *msg_len)
{
	size_t at = *off, n;

	if (at >= len)
		return GRPC_FRAME_END;
	if (len - at < GRPC_PREFIX_LEN)
		return GRPC_FRAME_SHORT;
	if (buf[at] == 1)
		return GRPC_FRAME_COMPRESSED;
	if (buf[at] != 0)
		return GRPC_FRAME_BAD_FLAG;
	n = (size_t)buf[at + 1] << 24 | (size_t)buf[at + 2] << 16 |
	    (size_t)buf[at + 3] << 8 | (size_t)buf[at + 4];
	if (n > max)
		return GRPC_FRAME_TOO_BIG;
	if (len - at - GRPC_PREFIX_LEN < n)
		return GRPC_FRAME_SHORT;
	*msg = buf + at + GRPC_PREFIX_LEN;
	*msg_len = n;
	*off = at + GRPC_PREFIX_LEN + n;
	return GRPC_FRAME_OK;
}

const char *grpc_frame_error(enum grpc_frame_rc rc)
{
	switch (rc) {
	case GRPC_FRAME_OK:
		return "ok";
	case GRPC_FRAME_END:
		return "no message";
	case GRPC_FRAME_SHORT:
		return "message cut short";
	case GRPC_FRAME_COMPRESSED:
		return "compressed message (not negotiated)";
	case GRPC_FRAME_TOO_BIG:
		return "message too large";
	case GRPC_FRAME_BAD_FLAG:
		return "bad message flag";
	}
	return "?";
}

void grpc_status_init(struct grpc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->code = -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* grpc-message is percent-encoded; control characters are dropped. */
static void decode_message(char *out, size_t outsz, const char *v, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n && w + 1 < outsz; i++) {
		int c = (unsigned char)v[i];

		if (c == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 &&
		    hexval(v[i + 2]) >= 0) {
			c = hexval(v[i + 1]) * 16 + hexval(v[i + 2]);
			i += 2;
		}
		if (c >= 0x20 && c != 0x7f)
			out[w++] = (char)c;
	}
	out[w] = '\0';
}

/* "42" -> 42; anything else (empty, sign, junk, too long) -> -1. */
static int parse_code(const char *v, size_t n)
{
	int code = 0;

	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		code = code * 10 + (v[i] - '0');
	}
	return code;
}

static bool name_is(const char *line, size_t nlen, const char *name)
{
	return nlen == strlen(name) && strncasecmp(line, name, nlen) == 0;
}

void grpc_status_line(struct grpc_status *st, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v;
	size_t nlen, vlen;

	if (!colon)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (name_is(line, nlen, "grpc-status")) {
		st->have_status = true;
		st->code = parse_code(v, vlen);
	} else if (name_is(line, nlen, "grpc-message")) {
		decode_message(st->message, sizeof(st->message), v, vlen);
	} else if (name_is(line, nlen, "content-type")) {
		st->content_type_ok =
			vlen >= 16 && strncasecmp(v, "application/grpc", 16) == 0;
	}
}

const char *grpc_code_name(int code)
{
	static const char *const names[GRPC_CODE_MAX + 1] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};

	return code >= 0 && code <= GRPC_CODE_MAX ? names[code] : NULL;
}
