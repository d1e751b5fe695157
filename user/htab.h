/* SPDX-License-Identifier: Apache-2.0 */
/* A small chained hash table keyed by fixed-size byte strings. */
#ifndef EBT_HTAB_H
#define EBT_HTAB_H

#include <stdbool.h>
#include <stddef.h>

struct htab;

struct htab *htab_new(size_t key_size);
/* Frees the table; free_val (may be NULL) is called on every value. */
void htab_free(struct htab *h, void (*free_val)(void *val));
void *htab_get(const struct htab *h, const void *key);
/* Inserts or replaces; returns the replaced value (or NULL). *err on OOM. */
void *htab_put(struct htab *h, const void *key, void *val, int *err);
/* Removes key; returns its value or NULL. */
void *htab_del(struct htab *h, const void *key);
size_t htab_len(const struct htab *h);
/*
 * Calls fn on every entry; entries for which fn returns true are removed
 * (fn must then have taken care of the value).
 */
void htab_sweep(struct htab *h, bool (*fn)(const void *key, void *val,
					   void *ctx), void *ctx);

#endif /* EBT_HTAB_H */
