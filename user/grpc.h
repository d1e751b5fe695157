/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gRPC over HTTP/2 framing, as pure functions over bytes (fuzzed): the
 * 5-byte length prefix of each message (1 byte compressed flag, 4 bytes
 * big-endian length) and the grpc-status / grpc-message headers or
 * trailers of a response. The transport (libcurl, HTTP/2 over a unix
 * socket) is in cri.c; protobuf encoding is protobuf-c's.
 */
#ifndef EBT_GRPC_H
#define EBT_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GRPC_PREFIX_LEN 5
#define GRPC_MESSAGE_MAX 256 /* bytes of grpc-message kept */

/* gRPC status codes used by name in messages. */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_CODE_MAX = 16,
};

/* What the header/trailer lines of one response said. */
struct grpc_status {
	bool have_status;              /* a grpc-status line was seen */
	int code;                      /* its value; -1 if malformed */
	char message[GRPC_MESSAGE_MAX]; /* grpc-message, percent-decoded */
	bool content_type_ok;          /* content-type application/grpc* */
};

/* Writes the 5-byte prefix of an uncompressed message of len bytes. */
void grpc_frame_prefix(uint8_t out[GRPC_PREFIX_LEN], uint32_t len);

enum grpc_frame_rc {
	GRPC_FRAME_OK = 1,      /* *msg, *msg_len set; *off advanced */
	GRPC_FRAME_END = 0,     /* no bytes left at *off */
	GRPC_FRAME_SHORT = -1,  /* a prefix or message cut short */
	GRPC_FRAME_COMPRESSED = -2, /* compressed flag set (not negotiated) */
	GRPC_FRAME_TOO_BIG = -3,    /* length over max */
	GRPC_FRAME_BAD_FLAG = -4,   /* flag byte neither 0 nor 1 */
};

/*
 * The next message of a response body at *off: buf[*off..len). Messages
 * longer than max are refused. Pure, never reads past len.
 */
enum grpc_frame_rc grpc_frame_next(const uint8_t *buf, size_t len,
				   size_t *off, size_t max,
				   const uint8_t **msg, size_t *msg_len);

/* "short message", ...: what a grpc_frame_rc means, for log lines. */
const char *grpc_frame_error(enum grpc_frame_rc rc);

void grpc_status_init(struct grpc_status *st);
/*
 * One header or trailer line as libcurl hands it ("name: value\r\n", no
 * NUL terminator). Lines other than grpc-status, grpc-message and
 * content-type are ignored. Pure.
 */
void grpc_status_line(struct grpc_status *st, const char *line, size_t len);

/* "UNAVAILABLE", ...; "code <n>" style names are not made: NULL. */
const char *grpc_code_name(int code);

#endif /* EBT_GRPC_H */
