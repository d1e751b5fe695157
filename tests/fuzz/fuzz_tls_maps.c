/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the /proc/PID/maps line reader of the TLS stage
 * (user/tls.c). Checks: a path found lies inside the line, starts with
 * '/', holds no newline, and its last component starts with libssl.so
 * or libgnutls.so.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	const char *p, *base;
	size_t len = 0;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	p = ebt_tls_maps_lib(line, &len);
	if (p) {
		CHECK(p >= line && p + len <= line + strlen(line));
		CHECK(p[0] == '/' && len > 0);
		CHECK(!memchr(p, '\n', len));
		base = p;
		for (size_t i = 0; i < len; i++)
			if (p[i] == '/')
				base = p + i + 1;
		CHECK(((size_t)(p + len - base) >= 9 &&
		       strncmp(base, "libssl.so", 9) == 0) ||
		      ((size_t)(p + len - base) >= 12 &&
		       strncmp(base, "libgnutls.so", 12) == 0));
	}
	free(line);
	return 0;
}
