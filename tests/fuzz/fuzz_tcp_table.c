/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the /proc/PID/net/tcp{,6} parser (user/tcp_table.c).
 *
 * Input: a table's text (the first byte picks tcp or tcp6). Checks: every
 * row kept has a port pair, a state byte and addresses of its family (an
 * IPv4 row is IPv4-mapped); sorting keeps them all and find returns a row
 * with the inode asked for; a role is one of the three.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ebpftrace_events.h"
#include "tcp_table.h"
#include "fuzz_check.h"

static void check_row(const struct ebt_tcp_table *t,
		      const struct ebt_tcp_row *r, int v6)
{
	const struct ebt_tcp_row *f = ebt_tcp_table_find(t, r->ino);
	uint32_t role = ebt_tcp_role(t, r);

	CHECK(f && f->ino == r->ino);
	CHECK(r->family == (v6 ? AF_INET6 : AF_INET));
	if (!v6)
		CHECK(r->laddr[10] == 0xff && r->laddr[11] == 0xff &&
		      r->raddr[10] == 0xff && r->raddr[11] == 0xff);
	CHECK(role == EBT_ROLE_UNKNOWN || role == EBT_ROLE_SERVER ||
	      role == EBT_ROLE_CLIENT);
	CHECK(role == EBT_ROLE_UNKNOWN || r->state == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ebt_tcp_table t = {0};
	char *text;
	int v6;

	if (size < 1)
		return 0;
	v6 = data[0] & 1;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (ebt_tcp_table_add(&t, text, v6) == 0) {
		size_t n = t.n;

		ebt_tcp_table_sort(&t);
		CHECK(t.n == n);
		for (size_t i = 0; i < t.n; i++)
			check_row(&t, &t.rows[i], v6);
	}
	ebt_tcp_table_free(&t);
	free(text);
	return 0;
}
