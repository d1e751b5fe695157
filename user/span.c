/* SPDX-License-Identifier: Apache-2.0 */
/* Span and resource objects: allocation, attributes, lifetime. */
#include "span.h"
#include "utf8.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void attr_clear(struct ebt_attr *a)
{
	free(a->str);
	a->str = NULL;
	if (a->key_owned) {
		free((char *)a->key);
		a->key_owned = false;
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

/* Does attribute a have this key, of length len? */
static bool key_is(const struct ebt_attr *a, const char *key, size_t len)
{
	/* keys are mostly literals: the same pointer, or another length */
	return a->key == key ||
	       (a->key_len == len && memcmp(a->key, key, len) == 0);
}

/* The bit of an attribute holder's key_bits that a key sets: from its
 * length and its first, middle and last bytes, so that keys of one
 * length (the semantic conventions have several) mostly have bits of
 * their own. */
static uint64_t key_bit(const char *key, size_t len)
{
	const unsigned char *k = (const unsigned char *)key;
	unsigned h = (unsigned)len;

	if (len)
		h += 5u * k[0] + 7u * k[len / 2] + 3u * k[len - 1];
	return 1ull << (h % 64);
}

/* The attribute with this key, or the next free one (given the key); its
 * old value is left for the caller to release. bits (see struct
 * ebt_span) spares the search for a key no attribute may have: a span's
 * attributes are all added once, each with a bit of its own, mostly. */
static struct ebt_attr *find_or_add(struct ebt_attr *arr, unsigned *n,
				    unsigned max, uint64_t *bits,
				    const char *key, size_t len)
{
	uint64_t bit = key_bit(key, len);
	struct ebt_attr *a;

	for (unsigned i = 0; (*bits & bit) && i < *n; i++)
		if (key_is(&arr[i], key, len))
			return &arr[i];
	if (*n >= max)
		return NULL;
	*bits |= bit;
	a = &arr[(*n)++];
	a->key = key;
	a->key_len = (uint32_t)len;
	a->key_owned = false;
	a->str = NULL;
	return a;
}

/* A resource attribute to (re)set: its old heap value is freed. */
static struct ebt_attr *res_attr(struct ebt_resource *r, const char *key)
{
	struct ebt_attr *a =
		find_or_add(r->attrs, &r->n_attrs, EBT_RES_MAX_ATTRS,
			    &r->key_bits, key, strlen(key));

	if (a) {
		free(a->str);
		a->str = NULL;
	}
	return a;
}

/* Point a at str (already owned by the attribute's holder). A key copied
 * from input stays: it is the same text, and it is freed with a. */
static int set_str(struct ebt_attr *a, const char *key, char *str)
{
	if (!a || !str)
		return -1;
	if (!a->key_owned)
		a->key = key;
	a->type = EBT_ATTR_STR;
	a->num = 0;
	a->str = str;
	return 0;
}

static int set_int(struct ebt_attr *a, const char *key, int64_t v)
{
	if (!a)
		return -1;
	if (!a->key_owned)
		a->key = key;
	a->type = EBT_ATTR_INT;
	a->str = NULL;
	a->num = v;
	return 0;
}

int ebt_resource_add_str(struct ebt_resource *r, const char *key,
			 const char *val)
{
	struct ebt_attr *a = res_attr(r, key);

	if (set_str(a, key, ebt_utf8_fix(strdup(val))) != 0)
		return -1;
	if (strcmp(key, "service.name") == 0) {
		free(r->service_name);
		r->service_name = ebt_utf8_fix(strdup(val));
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
		ebt_utf8_fix(k);
		a = &r->attrs[r->n_attrs++];
		a->key = k;
		a->key_len = (uint32_t)strlen(k);
		r->key_bits |= key_bit(k, a->key_len);
		a->key_owned = true;
		a->str = NULL;
	}
	free(a->str);
	a->str = NULL;
	if (set_str(a, a->key, ebt_utf8_fix(strdup(val))) != 0)
		return -1;
	if (strcmp(key, "service.name") == 0) {
		free(r->service_name);
		r->service_name = ebt_utf8_fix(strdup(val));
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
	return set_int(res_attr(r, key), key, v);
}

/* Zeroed but for the attribute slots and the text room (most of its
 * kilobyte), which are written before they are read (n_attrs, text_used). */
struct ebt_span *ebt_span_new(void)
{
	struct ebt_span *s = malloc(EBT_SPAN_NEW_BYTES);

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->attrs = (struct ebt_attr *)(s + 1);
	s->attr_cap = EBT_SPAN_MAX_ATTRS;
	s->text = (char *)(s->attrs + EBT_SPAN_MAX_ATTRS);
	s->text_cap = EBT_SPAN_TEXT;
	return s;
}

static bool in_text(const struct ebt_span *s, const char *p)
{
	uintptr_t a = (uintptr_t)p, t = (uintptr_t)s->text;

	return a >= t && a < t + s->text_cap;
}

/* Release a string of s: nothing to do for one in its text room. */
static void span_str_free(const struct ebt_span *s, char *p)
{
	if (p && !in_text(s, p))
		free(p);
}

/* A NUL-terminated copy of val[0..len) owned by s: in its text room while
 * that has space, else on the heap. */
static char *span_strndup(struct ebt_span *s, const char *val, size_t len)
{
	char *p;

	len = strnlen(val, len);
	if (len < s->text_cap - s->text_used) {
		p = s->text + s->text_used;
		s->text_used += (uint32_t)len + 1;
	} else if (!(p = malloc(len + 1))) {
		return NULL;
	}
	memcpy(p, val, len);
	p[len] = '\0';
	return p;
}

void ebt_span_free(struct ebt_span *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_attrs; i++)
		span_str_free(s, s->attrs[i].str);
	span_str_free(s, s->name);
	span_str_free(s, s->status_message);
	ebt_resource_unref(s->resource);
	free(s);
}

int ebt_span_set_name(struct ebt_span *s, const char *name)
{
	char *n = span_strndup(s, name, strlen(name));

	if (!n)
		return -1;
	span_str_free(s, s->name);
	s->name = n;
	return 0;
}

/* The span attribute to (re)set: its old value is released. */
static struct ebt_attr *span_attr(struct ebt_span *s, const char *key,
				  size_t key_len)
{
	struct ebt_attr *a =
		find_or_add(s->attrs, &s->n_attrs, s->attr_cap,
			    &s->key_bits, key, key_len);

	if (a) {
		span_str_free(s, a->str);
		a->str = NULL;
	}
	return a;
}

int ebt_span_add_kstrn(struct ebt_span *s, const char *key, size_t key_len,
		       const char *val, size_t len)
{
	struct ebt_attr *a = span_attr(s, key, key_len);

	return a ? set_str(a, key, span_strndup(s, val, len)) : -1;
}

int ebt_span_add_kint(struct ebt_span *s, const char *key, size_t key_len,
		      int64_t v)
{
	return set_int(span_attr(s, key, key_len), key, v);
}

const struct ebt_attr *ebt_span_find(const struct ebt_span *s, const char *key)
{
	for (unsigned i = 0; i < s->n_attrs; i++)
		if (strcmp(s->attrs[i].key, key) == 0)
			return &s->attrs[i];
	return NULL;
}

/* The span's own block: header, attribute slots, text room. */
static size_t block_size(const struct ebt_span *s)
{
	return sizeof(*s) + s->attr_cap * sizeof(struct ebt_attr) +
	       s->text_cap;
}

size_t ebt_span_size(const struct ebt_span *s)
{
	size_t n = block_size(s);

	if (s->name && !in_text(s, s->name))
		n += strlen(s->name) + 1;
	for (unsigned i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].str && !in_text(s, s->attrs[i].str))
			n += strlen(s->attrs[i].str) + 1;
	return n;
}

/* p moved with the text room of s to text (a string on the heap stays). */
static char *rebase(const struct ebt_span *s, char *text, char *p)
{
	return p && in_text(s, p) ? text + (p - s->text) : p;
}

/* Less saved than this is not worth a copy of the span. */
#define COMPACT_MIN_SAVING 128

struct ebt_span *ebt_span_compact(struct ebt_span *s)
{
	size_t attrs = s->n_attrs * sizeof(struct ebt_attr);
	size_t need = sizeof(*s) + attrs + s->text_used;
	struct ebt_span *c;

	/* heap strings stay where they are: only the block can shrink */
	if (need + COMPACT_MIN_SAVING > block_size(s) || !(c = malloc(need)))
		return s;
	*c = *s;
	c->attrs = (struct ebt_attr *)(c + 1);
	c->attr_cap = s->n_attrs;
	memcpy(c->attrs, s->attrs, attrs);
	c->text = (char *)c->attrs + attrs;
	c->text_cap = s->text_used;
	memcpy(c->text, s->text, s->text_used);
	for (unsigned i = 0; i < c->n_attrs; i++)
		c->attrs[i].str = rebase(s, c->text, c->attrs[i].str);
	c->name = rebase(s, c->text, s->name);
	c->status_message = rebase(s, c->text, s->status_message);
	free(s); /* its strings, the resource reference: all c's now */
	return c;
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
