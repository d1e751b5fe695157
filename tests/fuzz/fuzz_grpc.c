/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what the CRI client reads from the runtime's
 * socket: gRPC response bodies (user/grpc.c frame parser), header and
 * trailer lines (grpc-status, grpc-message), and the protobuf messages
 * inside the frames as the CRI map decodes them (user/cri_map.c).
 *
 * Input: byte 0 picks how the rest is used; the rest is a response body.
 * Checks: frames never extend past the input and the offset only grows;
 * a status code is -1 or 0..999; the message stays NUL-terminated within
 * its buffer; a map built from arbitrary messages answers lookups of
 * every container it lists with a pod whose strings are set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri.h"
#include "grpc.h"
#include "fuzz_check.h"

static void frames(const uint8_t *d, size_t n, const uint8_t **m1,
		   size_t *l1, const uint8_t **m2, size_t *l2)
{
	size_t off = 0, prev = 0, len;
	const uint8_t *msg;
	int k = 0;

	*m1 = *m2 = NULL;
	*l1 = *l2 = 0;
	while (grpc_frame_next(d, n, &off, 1u << 20, &msg, &len) ==
	       GRPC_FRAME_OK) {
		CHECK(off > prev && off <= n);
		CHECK(msg >= d && msg + len <= d + n);
		prev = off;
		if (k == 0) {
			*m1 = msg;
			*l1 = len;
		} else if (k == 1) {
			*m2 = msg;
			*l2 = len;
		}
		k++;
	}
}

static void status_lines(const uint8_t *d, size_t n)
{
	struct grpc_status st;
	size_t start = 0;

	grpc_status_init(&st);
	for (size_t i = 0; i <= n; i++) {
		if (i == n || d[i] == '\n') {
			grpc_status_line(&st, (const char *)d + start,
					 i - start);
			start = i + 1;
		}
	}
	CHECK(st.code >= -1 && st.code <= 999);
	CHECK(memchr(st.message, '\0', sizeof(st.message)) != NULL);
}

static void map(const uint8_t *m1, size_t l1, const uint8_t *m2, size_t l2)
{
	char err[128], ids[4][CRI_ID_MAX + 1], name[CRI_NAME_MAX + 1];
	bool trunc;
	struct ebt_cri_map *m = ebt_cri_map_build(m1, l1, m2, l2, NULL,
						  &trunc, err, sizeof(err));
	size_t n;

	if (!m)
		return;
	n = ebt_cri_map_need_status(m, ids, 4);
	for (size_t i = 0; i < n; i++) {
		struct ebt_pod *p;

		CHECK(strlen(ids[i]) <= CRI_ID_MAX);
		ebt_cri_map_set_status(m, m2 ? m2 : m1, m2 ? l2 : l1);
		p = ebt_cri_map_lookup(m, ids[i], name, sizeof(name));
		ebt_pod_unref(p); /* a sandbox id is rarely a container id */
	}
	(void)ebt_cri_map_digest(m);
	ebt_cri_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *m1, *m2;
	size_t l1, l2;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		status_lines(data + 1, size - 1);
		return 0;
	}
	frames(data + 1, size - 1, &m1, &l1, &m2, &l2);
	if (m1)
		map(m1, l1, m2, l2);
	return 0;
}
