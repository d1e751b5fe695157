/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/net/tcp and tcp6: the TCP sockets of a network namespace. */
#ifndef EBT_TCP_TABLE_H
#define EBT_TCP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One row of /proc/PID/net/tcp or tcp6. */
struct ebt_tcp_row {
	uint64_t ino;	   /* /proc/PID/fd/N -> socket:[ino] */
	uint8_t laddr[16]; /* IPv4 as IPv4-mapped IPv6, network order */
	uint8_t raddr[16];
	uint16_t lport, rport; /* host order */
	uint16_t family;       /* AF_INET (tcp) or AF_INET6 (tcp6) */
	uint8_t state;	       /* 1 established, 10 listen (tcp_states.h) */
};

/* The TCP sockets of one network namespace, sorted by inode. */
struct ebt_tcp_table {
	struct ebt_tcp_row *rows;
	size_t n, cap;
	uint8_t listening[65536 / 8]; /* ports in listen state, by sort */
};

/* Parses one data line of the tcp (v6 false) or tcp6 table. */
bool ebt_tcp_row_parse(const char *line, bool v6, struct ebt_tcp_row *r);
/* Adds every row of a whole tcp/tcp6 file; 0, or -1 out of memory. */
int ebt_tcp_table_add(struct ebt_tcp_table *t, const char *text, bool v6);
/* Sorts by inode and notes the listened ports: call once all files are
 * added, before find and role. */
void ebt_tcp_table_sort(struct ebt_tcp_table *t);
const struct ebt_tcp_row *ebt_tcp_table_find(const struct ebt_tcp_table *t,
					     uint64_t ino);
/* EBT_ROLE_SERVER for an established socket on a port its namespace
 * listens on, EBT_ROLE_CLIENT for another established one, else
 * EBT_ROLE_UNKNOWN (not worth tracking). */
uint32_t ebt_tcp_role(const struct ebt_tcp_table *t,
		      const struct ebt_tcp_row *r);
void ebt_tcp_table_free(struct ebt_tcp_table *t);

#endif /* EBT_TCP_TABLE_H */
