/* SPDX-License-Identifier: Apache-2.0 */
/* Chained hash table with word-at-a-time hashing and power-of-two growth. */
#include "htab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hnode {
	struct hnode *next;
	void *val;
	uint64_t hash;
	unsigned char key[]; /* key_size bytes */
};

struct htab {
	struct hnode **slots;
	size_t n_slots; /* power of two */
	size_t len;
	size_t key_size;
	struct hnode *spare; /* the last node removed, for the next put: a
			      * table whose entries come and go per request
			      * (threads, exchanges) then allocates nothing */
};

/* Final mix of 64 bits (the finaliser of MurmurHash3). */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Keys are fixed-size structs (tuples, ids): eight bytes per step, the
 * tail byte by byte, mixed once at the end. */
static uint64_t key_hash(const void *key, size_t n)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return mix64(h);
}

struct htab *htab_new(size_t key_size)
{
	struct htab *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->n_slots = 64;
	h->key_size = key_size;
	h->slots = calloc(h->n_slots, sizeof(*h->slots));
	if (!h->slots) {
		free(h);
		return NULL;
	}
	return h;
}

void htab_free(struct htab *h, void (*free_val)(void *val))
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_slots; i++) {
		struct hnode *n = h->slots[i];

		while (n) {
			struct hnode *next = n->next;

			if (free_val)
				free_val(n->val);
			free(n);
			n = next;
		}
	}
	free(h->spare);
	free(h->slots);
	free(h);
}

static struct hnode **find(const struct htab *h, const void *key,
			   uint64_t hash)
{
	struct hnode **pp = &h->slots[hash & (h->n_slots - 1)];

	while (*pp && ((*pp)->hash != hash ||
		       memcmp((*pp)->key, key, h->key_size) != 0))
		pp = &(*pp)->next;
	return pp;
}

void *htab_get(const struct htab *h, const void *key)
{
	struct hnode **pp = find(h, key, key_hash(key, h->key_size));

	return *pp ? (*pp)->val : NULL;
}

static void grow(struct htab *h)
{
	size_t n = h->n_slots * 2;
	struct hnode **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < h->n_slots; i++) {
		struct hnode *node = h->slots[i];

		while (node) {
			struct hnode *next = node->next;

			node->next = slots[node->hash & (n - 1)];
			slots[node->hash & (n - 1)] = node;
			node = next;
		}
	}
	free(h->slots);
	h->slots = slots;
	h->n_slots = n;
}

void *htab_put(struct htab *h, const void *key, void *val, int *err)
{
	uint64_t hash = key_hash(key, h->key_size);
	struct hnode **pp = find(h, key, hash);
	struct hnode *n;
	void *old;

	*err = 0;
	if (*pp) {
		old = (*pp)->val;
		(*pp)->val = val;
		return old;
	}
	n = h->spare ? h->spare : malloc(sizeof(*n) + h->key_size);
	h->spare = NULL;
	if (!n) {
		*err = -1;
		return NULL;
	}
	n->next = NULL;
	n->val = val;
	n->hash = hash;
	memcpy(n->key, key, h->key_size);
	*pp = n;
	if (++h->len > h->n_slots)
		grow(h);
	return NULL;
}

/* n has left its chain: keep it as the spare, or free it. */
static void node_release(struct htab *h, struct hnode *n)
{
	h->len--;
	if (h->spare)
		free(n);
	else
		h->spare = n;
}

void *htab_del(struct htab *h, const void *key)
{
	struct hnode **pp = find(h, key, key_hash(key, h->key_size));
	struct hnode *n = *pp;
	void *val;

	if (!n)
		return NULL;
	*pp = n->next;
	val = n->val;
	node_release(h, n);
	return val;
}

size_t htab_len(const struct htab *h)
{
	return h->len;
}

void htab_sweep(struct htab *h,
		bool (*fn)(const void *key, void *val, void *ctx), void *ctx)
{
	for (size_t i = 0; i < h->n_slots; i++) {
		struct hnode **pp = &h->slots[i];

		while (*pp) {
			struct hnode *n = *pp;

			if (fn(n->key, n->val, ctx)) {
				*pp = n->next;
				node_release(h, n);
			} else {
				pp = &n->next;
			}
		}
	}
}
