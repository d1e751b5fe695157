/* SPDX-License-Identifier: Apache-2.0 */
/* Span and resource objects: allocation, attributes, lifetime. */
#include "span.h"

#include <stdlib.h>
#include <string.h>

static void attr_clear(struct ebt_attr *a)
{
	free(a->str);
	a->str = NULL;
	if (a->owned_key) {
		free(a->owned_key);
		a->owned_key = NULL;
		a->key = NULL;
	}
}

struct ebt_resource *ebt_resource_new(uint32_t pid)
{
	struct ebt_resource *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	atomic_init(&r->refs, 1);
	r->pid = pid;
	return r;
}

struct ebt_resource *ebt_resource_ref(struct ebt_resource *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void ebt_resource_unref(struct ebt_resource *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < r->n_attrs; i++)
		attr_clear(&r->attrs[i]);
	free(r->service_name);
	free(r);
}

static struct ebt_attr *next_attr(struct ebt_attr *arr, unsigned *n,
				  unsigned max, const char *key)
{
	for (unsigned i = 0; i < *n; i++) {
		const char *k = arr[i].key;

		/* keys are mostly literals: same pointer, or differ early */
		if (k == key || (k[0] == key[0] && strcmp(k, key) == 0)) {
			free(arr[i].str);
			arr[i].str = NULL;
			return &arr[i];
		}
	}
	if (*n >= max)
		return NULL;
	return &arr[(*n)++];
}

static int set_str(struct ebt_attr *a, const char *key, const char *val,
		   size_t len)
{
	if (!a)
		return -1;
	a->key = key;
	a->type = EBT_ATTR_STR;
	a->num = 0;
	a->str = strndup(val, len);
	return a->str ? 0 : -1;
}

static int set_int(struct ebt_attr *a, const char *key, int64_t v)
{
	if (!a)
		return -1;
	a->key = key;
	a->type = EBT_ATTR_INT;
	a->str = NULL;
	a->num = v;
	return 0;
}

int ebt_resource_add_str(struct ebt_resource *r, const char *key,
			 const char *val)
{
	struct ebt_attr *a =
		next_attr(r->attrs, &r->n_attrs, EBT_RES_MAX_ATTRS, key);

	if (set_str(a, key, val, strlen(val)) != 0)
		return -1;
	if (strcmp(key, "service.name") == 0) {
		free(r->service_name);
		r->service_name = strdup(val);
	}
	return 0;
}

int ebt_resource_add_dyn(struct ebt_resource *r, const char *key,
			 const char *val)
{
	struct ebt_attr *a = NULL;
	char *k = NULL;

	for (unsigned i = 0; i < r->n_attrs && !a; i++)
		if (strcmp(r->attrs[i].key, key) == 0)
			a = &r->attrs[i];
	if (!a) {
		if (r->n_attrs >= EBT_RES_MAX_ATTRS || !(k = strdup(key)))
			return -1;
		a = &r->attrs[r->n_attrs++];
		a->owned_key = k;
	}
	free(a->str);
	if (set_str(a, a->owned_key ? a->owned_key : a->key, val,
		    strlen(val)) != 0)
		return -1;
	if (strcmp(key, "service.name") == 0) {
		free(r->service_name);
		r->service_name = strdup(val);
	}
	return 0;
}

const char *ebt_resource_get(const struct ebt_resource *r, const char *key)
{
	for (unsigned i = 0; i < r->n_attrs; i++)
		if (strcmp(r->attrs[i].key, key) == 0)
			return r->attrs[i].str ? r->attrs[i].str : "";
	return NULL;
}

int ebt_resource_add_int(struct ebt_resource *r, const char *key, int64_t v)
{
	return set_int(next_attr(r->attrs, &r->n_attrs, EBT_RES_MAX_ATTRS, key),
		       key, v);
}

struct ebt_span *ebt_span_new(void)
{
	return calloc(1, sizeof(struct ebt_span));
}

void ebt_span_free(struct ebt_span *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_attrs; i++)
		attr_clear(&s->attrs[i]);
	free(s->name);
	free(s->status_message);
	ebt_resource_unref(s->resource);
	free(s);
}

int ebt_span_set_name(struct ebt_span *s, const char *name)
{
	char *n = strdup(name);

	if (!n)
		return -1;
	free(s->name);
	s->name = n;
	return 0;
}

int ebt_span_add_strn(struct ebt_span *s, const char *key, const char *val,
		      size_t len)
{
	return set_str(next_attr(s->attrs, &s->n_attrs, EBT_SPAN_MAX_ATTRS, key),
		       key, val, len);
}

int ebt_span_add_str(struct ebt_span *s, const char *key, const char *val)
{
	return ebt_span_add_strn(s, key, val, strlen(val));
}

int ebt_span_add_int(struct ebt_span *s, const char *key, int64_t v)
{
	return set_int(next_attr(s->attrs, &s->n_attrs, EBT_SPAN_MAX_ATTRS, key),
		       key, v);
}

const struct ebt_attr *ebt_span_find(const struct ebt_span *s, const char *key)
{
	for (unsigned i = 0; i < s->n_attrs; i++)
		if (strcmp(s->attrs[i].key, key) == 0)
			return &s->attrs[i];
	return NULL;
}

size_t ebt_span_size(const struct ebt_span *s)
{
	size_t n = sizeof(*s) + (s->name ? strlen(s->name) + 1 : 0);

	for (unsigned i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].str)
			n += strlen(s->attrs[i].str) + 1;
	return n;
}

void ebt_hex(const uint8_t *id, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0xf];
	}
	out[2 * len] = '\0';
}
