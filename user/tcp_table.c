/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TCP table of a network namespace, as /proc/PID/net/tcp and tcp6 print
 * it: the sockets by inode, with their addresses, ports and states, for
 * the adopt stage (adopt.c).
 */
#include "tcp_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ebpftrace_events.h"

#define TCP_ESTABLISHED 1
#define TCP_LISTEN 10

/* hex words as the kernel prints them: each 32-bit word in host order */
static bool parse_addr(const char *hex, size_t len, uint8_t out[16])
{
	char word[9] = {0};

	memset(out, 0, 16);
	if (len != 8 && len != 32)
		return false;
	for (size_t i = 0; i < len / 8; i++) {
		uint32_t w;

		memcpy(word, hex + 8 * i, 8);
		w = (uint32_t)strtoul(word, NULL, 16);
		memcpy(out + (len == 8 ? 12 : 4 * i), &w, 4);
	}
	if (len == 8)
		out[10] = out[11] = 0xff;
	return true;
}

bool ebt_tcp_row_parse(const char *line, bool v6, struct ebt_tcp_row *r)
{
	char la[33], ra[33];
	unsigned lp, rp, st;
	unsigned long long ino;

	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x "
		   "%*s %*s %*s %*s %*s %llu", la, &lp, ra, &rp, &st,
		   &ino) != 6 ||
	    strlen(la) != (v6 ? 32u : 8u) || strlen(ra) != strlen(la) ||
	    lp > 0xffff || rp > 0xffff || st > 0xff ||
	    !parse_addr(la, strlen(la), r->laddr) ||
	    !parse_addr(ra, strlen(ra), r->raddr))
		return false;
	r->lport = (uint16_t)lp;
	r->rport = (uint16_t)rp;
	r->state = (uint8_t)st;
	r->ino = ino;
	r->family = v6 ? AF_INET6 : AF_INET;
	return true;
}

static int table_push(struct ebt_tcp_table *t, const struct ebt_tcp_row *r)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct ebt_tcp_row *v = realloc(t->rows, cap * sizeof(*v));

		if (!v)
			return -1;
		t->rows = v;
		t->cap = cap;
	}
	t->rows[t->n++] = *r;
	return 0;
}

int ebt_tcp_table_add(struct ebt_tcp_table *t, const char *text, bool v6)
{
	const char *line = strchr(text, '\n'); /* the first is a heading */

	while (line && *++line) {
		struct ebt_tcp_row r;

		if (ebt_tcp_row_parse(line, v6, &r) && table_push(t, &r) != 0)
			return -1;
		line = strchr(line, '\n');
	}
	return 0;
}

static int by_ino(const void *a, const void *b)
{
	const struct ebt_tcp_row *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

void ebt_tcp_table_sort(struct ebt_tcp_table *t)
{
	memset(t->listening, 0, sizeof(t->listening));
	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].state == TCP_LISTEN)
			t->listening[t->rows[i].lport / 8] |=
				(uint8_t)(1u << (t->rows[i].lport % 8));
	if (t->n)
		qsort(t->rows, t->n, sizeof(*t->rows), by_ino);
}

const struct ebt_tcp_row *ebt_tcp_table_find(const struct ebt_tcp_table *t,
					     uint64_t ino)
{
	struct ebt_tcp_row key = {.ino = ino};

	if (!t->n)
		return NULL;
	return bsearch(&key, t->rows, t->n, sizeof(*t->rows), by_ino);
}

uint32_t ebt_tcp_role(const struct ebt_tcp_table *t,
		      const struct ebt_tcp_row *r)
{
	if (r->state != TCP_ESTABLISHED)
		return EBT_ROLE_UNKNOWN;
	return t->listening[r->lport / 8] & (1u << (r->lport % 8))
		       ? EBT_ROLE_SERVER
		       : EBT_ROLE_CLIENT;
}

void ebt_tcp_table_free(struct ebt_tcp_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n = t->cap = 0;
}
