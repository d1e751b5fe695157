/* SPDX-License-Identifier: Apache-2.0 */
/* Adopt stage: /proc/net/tcp{,6} rows, the table, roles (adopt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "tcp_table.h"
#include "ebpftrace_events.h"

static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
	"retrnsmt   uid  timeout inode\n"
	/* 127.0.0.1:8080 listening */
	"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	"00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
	/* 127.0.0.1:8080 <- 127.0.0.1:40000: accepted */
	"   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 "
	"00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1\n"
	/* 10.0.0.5:40000 -> 10.0.0.9:5432, connected */
	"   2: 0500000A:9C40 0900000A:1538 01 00000000:00000000 00:00000000 "
	"00000000  1000        0 1002 1 0000000000000000 20 4 30 10 -1\n"
	/* closing: not adopted */
	"   3: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00000000 "
	"00000000     0        0 0 3 0000000000000000\n"
	"garbage line\n";

static const char tcp6[] =
	"  sl  local_address                         remote_address"
	"                        st tx_queue rx_queue tr tm->when retrnsmt"
	"   uid  timeout inode\n"
	/* [::]:9000 listening */
	"   0: 00000000000000000000000000000000:2328 "
	"00000000000000000000000000000000:0000 0A 00000000:00000000 "
	"00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 "
	"10 0\n"
	/* ::ffff:127.0.0.1:9000 <- ::ffff:127.0.0.1:50000 (dual stack) */
	"   1: 0000000000000000FFFF00000100007F:2328 "
	"0000000000000000FFFF00000100007F:C350 01 00000000:00000000 "
	"00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 "
	"30 10 -1\n"
	/* [::1]:50001 -> [::1]:443 */
	"   2: 00000000000000000000000001000000:C351 "
	"00000000000000000000000001000000:01BB 01 00000000:00000000 "
	"00:00000000 00000000     0        0 2003 1 0000000000000000 20 4 "
	"30 10 -1\n";

static void test_rows(void **state)
{
	static const uint8_t lo4[16] = {[10] = 0xff, [11] = 0xff, [12] = 127,
					[15] = 1};
	static const uint8_t lo6[16] = {[15] = 1};
	struct ebt_tcp_table t = {0};
	const struct ebt_tcp_row *r;

	(void)state;
	assert_int_equal(ebt_tcp_table_add(&t, tcp4, false), 0);
	assert_int_equal(ebt_tcp_table_add(&t, tcp6, true), 0);
	ebt_tcp_table_sort(&t);
	assert_int_equal(t.n, 7);
	r = ebt_tcp_table_find(&t, 1003);
	assert_non_null(r);
	assert_int_equal(r->family, AF_INET);
	assert_memory_equal(r->laddr, lo4, 16);
	assert_memory_equal(r->raddr, lo4, 16);
	assert_int_equal(r->lport, 8080);
	assert_int_equal(r->rport, 40000);
	r = ebt_tcp_table_find(&t, 1002);
	assert_int_equal(r->laddr[12], 10);
	assert_int_equal(r->laddr[15], 5);
	assert_int_equal(r->raddr[15], 9);
	assert_int_equal(r->rport, 5432);
	r = ebt_tcp_table_find(&t, 2002);
	assert_int_equal(r->family, AF_INET6);
	assert_memory_equal(r->laddr, lo4, 16);
	r = ebt_tcp_table_find(&t, 2003);
	assert_memory_equal(r->raddr, lo6, 16);
	assert_int_equal(r->rport, 443);
	assert_null(ebt_tcp_table_find(&t, 4242));
	ebt_tcp_table_free(&t);
}

static void test_roles(void **state)
{
	struct ebt_tcp_table t = {0};

	(void)state;
	assert_int_equal(ebt_tcp_table_add(&t, tcp4, false), 0);
	assert_int_equal(ebt_tcp_table_add(&t, tcp6, true), 0);
	ebt_tcp_table_sort(&t);
	assert_int_equal(ebt_tcp_role(&t, ebt_tcp_table_find(&t, 1003)),
			 EBT_ROLE_SERVER);
	assert_int_equal(ebt_tcp_role(&t, ebt_tcp_table_find(&t, 1002)),
			 EBT_ROLE_CLIENT);
	assert_int_equal(ebt_tcp_role(&t, ebt_tcp_table_find(&t, 2002)),
			 EBT_ROLE_SERVER);
	assert_int_equal(ebt_tcp_role(&t, ebt_tcp_table_find(&t, 2003)),
			 EBT_ROLE_CLIENT);
	/* a listener is not a connection */
	assert_int_equal(ebt_tcp_role(&t, ebt_tcp_table_find(&t, 1001)),
			 EBT_ROLE_UNKNOWN);
	ebt_tcp_table_free(&t);
}

static void test_bad_rows(void **state)
{
	static const char *const bad[] = {
		"",
		"   0: 0100007F:1F90",
		"   0: 0100007F:1F90 00000000:0000 0A",
		/* a v6 address in the v4 table */
		"   0: 00000000000000000000000000000000:2328 "
		"00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 5",
		"   0: 0100007F:1FFFFF 00000000:0000 0A 0:0 0:0 0 0 0 5",
		"   0: 0100007Z:1F90 00000000:0000 0A 0:0 0:0 0 0 0 5",
	};
	struct ebt_tcp_row r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ebt_tcp_row_parse(bad[i], false, &r));
	assert_true(ebt_tcp_row_parse(
		"   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 5", false,
		&r));
	assert_int_equal(r.ino, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_bad_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
