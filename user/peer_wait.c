/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server spans waiting for their local client's request record.
 *
 * When both ends of a loopback connection are traced, the server span's
 * parent is the client span of the same request (assembler.c). Under load
 * the client's write can be stamped after the server has read, answered
 * and been handled: the writer was preempted between its write and the
 * syscall's exit. The server span then finds no client exchange to link
 * to. If the client connection is known and has not yet written that
 * request, the finished span waits here, keyed by the client's 4-tuple and
 * the request's index, until the client's record arrives (it is linked
 * and exported then) or EBT_PEER_WAIT_NS passes (exported as it is).
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "tracer.h"

#define PEER_WAIT_MAX 4096

struct wait_key {
	struct ebt_tuple client;
	uint32_t index;
};

struct waiting {
	struct waiting *next; /* FIFO, oldest first: deadlines in order */
	struct ebt_span *span; /* NULL once its client took it */
	struct wait_key key;
	uint64_t deadline;
};

struct ebt_peer_wait {
	struct htab *by_key; /* wait_key -> struct waiting* */
	struct waiting *head, *tail;
	unsigned n; /* entries in the FIFO, taken ones included */
};

static struct wait_key make_key(const struct ebt_tuple *client,
				uint32_t index)
{
	struct wait_key k;

	memset(&k, 0, sizeof(k));
	k.client = *client;
	k.index = index;
	return k;
}

static struct ebt_peer_wait *wait_get(struct ebt_tracer *t)
{
	struct ebt_peer_wait *w = t->peer_wait;

	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->by_key = htab_new(sizeof(struct wait_key));
	if (!w->by_key) {
		free(w);
		return NULL;
	}
	t->peer_wait = w;
	return w;
}

int ebt_peer_wait_hold(struct ebt_tracer *t, const struct ebt_tuple *client,
		       uint32_t index, struct ebt_span *s, uint64_t now)
{
	struct ebt_peer_wait *w;
	struct waiting *e;
	int err = 0;

	ebt_peer_wait_expire(t, now);
	w = wait_get(t);
	if (!w || w->n >= PEER_WAIT_MAX)
		return -1;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->span = s;
	e->key = make_key(client, index);
	e->deadline = now + EBT_PEER_WAIT_NS;
	if (htab_get(w->by_key, &e->key) ||
	    (htab_put(w->by_key, &e->key, e, &err), err)) {
		free(e);
		return -1;
	}
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->n++;
	return 0;
}

struct ebt_span *ebt_peer_wait_take(struct ebt_tracer *t,
				    const struct ebt_tuple *client,
				    uint32_t index)
{
	struct ebt_peer_wait *w = t->peer_wait;
	struct wait_key k;
	struct waiting *e;
	struct ebt_span *s;

	if (!w || !htab_len(w->by_key))
		return NULL;
	k = make_key(client, index);
	e = htab_del(w->by_key, &k);
	if (!e)
		return NULL;
	s = e->span;
	e->span = NULL; /* the FIFO frees the entry in its turn */
	return s;
}

/* The oldest entry off the FIFO: its span exported unless taken. */
static void pop_oldest(struct ebt_tracer *t, struct ebt_peer_wait *w)
{
	struct waiting *e = w->head;

	w->head = e->next;
	if (!w->head)
		w->tail = NULL;
	w->n--;
	if (e->span) {
		htab_del(w->by_key, &e->key);
		ebt_asm_export(t, e->span);
	}
	free(e);
}

void ebt_peer_wait_expire(struct ebt_tracer *t, uint64_t now)
{
	struct ebt_peer_wait *w = t->peer_wait;

	while (w && w->head && w->head->deadline <= now)
		pop_oldest(t, w);
}

void ebt_peer_wait_free(struct ebt_tracer *t)
{
	struct ebt_peer_wait *w = t->peer_wait;

	if (!w)
		return;
	while (w->head) {
		struct waiting *e = w->head;

		w->head = e->next;
		ebt_span_free(e->span);
		free(e);
	}
	htab_free(w->by_key, NULL);
	free(w);
	t->peer_wait = NULL;
}
