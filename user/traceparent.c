/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W3C Trace Context "traceparent" header:
 *   version "-" trace-id "-" parent-id "-" trace-flags
 *   2 hex     32 hex       16 hex          2 hex       (lower-case only)
 * Version ff is invalid. Version 00 is exactly 55 characters. A higher
 * version may be longer, but then a '-' must follow the flags (fields a
 * future version appends); the first four fields are read as version 00.
 * An all-zero trace-id or parent-id is invalid.
 */
#include "http.h"
#include "span.h"

#include <string.h>

#define TP_LEN 55

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is invalid too */
}

/* n bytes from 2n lower-case hex chars; returns -1 if malformed. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int traceparent_parse(const char *s, size_t len, uint8_t trace_id[16],
		      uint8_t parent_id[8], uint8_t *flags)
{
	uint8_t ver, tid[16], pid[8], fl;

	if (!s || len < TP_LEN || unhex(s, &ver, 1) || ver == 0xff)
		return -1;
	if (ver == 0 ? len != TP_LEN : (len > TP_LEN && s[TP_LEN] != '-'))
		return -1;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-' ||
	    unhex(s + 3, tid, 16) || unhex(s + 36, pid, 8) ||
	    unhex(s + 53, &fl, 1) || all_zero(tid, 16) || all_zero(pid, 8))
		return -1;
	memcpy(trace_id, tid, 16);
	memcpy(parent_id, pid, 8);
	*flags = fl;
	return 0;
}

void traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8],
			uint8_t flags, char out[56])
{
	memcpy(out, "00-", 3);
	ebt_hex(trace_id, 16, out + 3);
	out[35] = '-';
	ebt_hex(span_id, 8, out + 36);
	out[52] = '-';
	ebt_hex(&flags, 1, out + 53);
}
