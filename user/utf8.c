/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 validation (see utf8.h). */
#include "utf8.h"

#include <string.h>

int ebt_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xBF;
	int len;

	if (b < 0x80)
		return b ? 1 : 0;
	if (b < 0xC2)
		return 0;
	if (b < 0xE0) {
		len = 2;
	} else if (b < 0xF0) {
		len = 3;
		lo = b == 0xE0 ? 0xA0 : 0x80;
		hi = b == 0xED ? 0x9F : 0xBF;
	} else if (b < 0xF5) {
		len = 4;
		lo = b == 0xF0 ? 0x90 : 0x80;
		hi = b == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return len;
}

bool ebt_utf8_text_ok(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < n;) {
		int k = ebt_utf8_seq(p + i, n - i);

		if (k <= 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)))
			return false;
		i += (size_t)k;
	}
	return true;
}

char *ebt_utf8_fix(char *s)
{
	uint8_t *p = (uint8_t *)s;
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n;) {
		int k = p[i] < 0x80 ? 1 : ebt_utf8_seq(p + i, n - i);

		if (k <= 0) {
			p[i] = '?';
			k = 1;
		}
		i += (size_t)k;
	}
	return s;
}
