/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The span model handed from the span assembler to exporters.
 * A span owns its strings (in its own text room, the heap past that); its
 * resource is shared and refcounted, because exporters free spans on their
 * own thread.
 */
#ifndef EBT_SPAN_H
#define EBT_SPAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EBT_SPAN_MAX_ATTRS 20
/* Inline room for a span's strings (name and attribute values): a typical
 * HTTP span's fit, so building and freeing one is a single allocation. Sized
 * so that a new span (header, attribute slots, text room) stays within
 * 1 KiB, which glibc serves from its per-thread cache (larger chunks go
 * through the shared bins). */
#define EBT_SPAN_TEXT 264
#define EBT_RES_MAX_ATTRS 32

/* OTLP Span.SpanKind values */
enum ebt_span_kind {
	EBT_KIND_INTERNAL = 1,
	EBT_KIND_SERVER = 2,
	EBT_KIND_CLIENT = 3,
};

/* OTLP Status.StatusCode values */
enum ebt_status {
	EBT_STATUS_UNSET = 0,
	EBT_STATUS_OK = 1,
	EBT_STATUS_ERROR = 2,
};

enum ebt_attr_type {
	EBT_ATTR_STR = 0,
	EBT_ATTR_INT = 1,
	EBT_ATTR_BOOL = 2,
};

/*
 * key is a static string literal, or a heap copy (key_owned) when the key
 * came from input (OTEL_RESOURCE_ATTRIBUTES); str (if any) is owned by the
 * holder: a resource's are on the heap, a span's usually in its text room.
 */
struct ebt_attr {
	const char *key;
	char *str;
	int64_t num;
	uint8_t type; /* enum ebt_attr_type */
	bool key_owned;
	uint32_t key_len; /* strlen(key): a cheap first test when matching */
};

/* Resource of one process: created once, shared by all its spans. */
struct ebt_resource {
	atomic_int refs;
	uint32_t pid;
	struct ebt_attr attrs[EBT_RES_MAX_ATTRS];
	unsigned n_attrs;
	uint64_t key_bits; /* key_bit() (span.c) of each attribute's key */
	char *service_name; /* convenience copy of the service.name value */
};

struct ebt_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero: root span */
	char *name;
	enum ebt_span_kind kind;
	enum ebt_status status;
	uint64_t start_ns; /* unix epoch ns */
	uint64_t end_ns;   /* unix epoch ns */
	char *status_message; /* may be NULL */
	struct ebt_attr *attrs; /* attr_cap slots, in the span's own block */
	unsigned n_attrs, attr_cap;
	uint64_t key_bits; /* key_bit() (span.c) of each attribute's key */
	struct ebt_resource *resource; /* holds one reference */
	char *text; /* strings that fit (text_cap bytes); longer ones: heap */
	uint32_t text_used, text_cap;
	/* the block goes on: attribute slots, then the text room */
};

#define EBT_SPAN_NEW_BYTES                                                  \
	(sizeof(struct ebt_span) +                                          \
	 EBT_SPAN_MAX_ATTRS * sizeof(struct ebt_attr) + EBT_SPAN_TEXT)
_Static_assert(EBT_SPAN_NEW_BYTES <= 1024, "a new span fits in 1 KiB");

/* Resource lifetime (span.c) */
struct ebt_resource *ebt_resource_new(uint32_t pid);
struct ebt_resource *ebt_resource_ref(struct ebt_resource *r);
void ebt_resource_unref(struct ebt_resource *r);
/* String values (and add_dyn's keys) are stored as valid UTF-8: a byte
 * that starts no UTF-8 character becomes '?' (they come from command
 * lines, environments and file names). */
int ebt_resource_add_str(struct ebt_resource *r, const char *key,
			 const char *val);
int ebt_resource_add_int(struct ebt_resource *r, const char *key, int64_t v);
/* Like add_str, but the key is copied (for keys read from input). */
int ebt_resource_add_dyn(struct ebt_resource *r, const char *key,
			 const char *val);
const char *ebt_resource_get(const struct ebt_resource *r, const char *key);

/* Span lifetime and attributes (span.c). Keys must be string literals. */
struct ebt_span *ebt_span_new(void);
void ebt_span_free(struct ebt_span *s);
int ebt_span_set_name(struct ebt_span *s, const char *name);
/* key_len is strlen(key); the wrappers below take it where the key is a
 * literal, so the compiler counts it once, not every span. */
int ebt_span_add_kstrn(struct ebt_span *s, const char *key, size_t key_len,
		       const char *val, size_t len);
int ebt_span_add_kint(struct ebt_span *s, const char *key, size_t key_len,
		      int64_t v);

static inline int ebt_span_add_strn(struct ebt_span *s, const char *key,
				    const char *val, size_t len)
{
	return ebt_span_add_kstrn(s, key, strlen(key), val, len);
}

static inline int ebt_span_add_str(struct ebt_span *s, const char *key,
				   const char *val)
{
	return ebt_span_add_kstrn(s, key, strlen(key), val, strlen(val));
}

static inline int ebt_span_add_int(struct ebt_span *s, const char *key,
				   int64_t v)
{
	return ebt_span_add_kint(s, key, strlen(key), v);
}
const struct ebt_attr *ebt_span_find(const struct ebt_span *s,
				     const char *key);
/* Approximate heap footprint, used to bound exporter queues by bytes. */
size_t ebt_span_size(const struct ebt_span *s);
/* A copy of s in one block of the size it needs (no free attribute slots,
 * no unused text room), for a span that waits in a queue; s is consumed.
 * Returns s itself when it would not shrink much or memory is short. No
 * attribute can be added to the copy. */
struct ebt_span *ebt_span_compact(struct ebt_span *s);

/* Lower-case hex of an id into out (2*len+1 bytes). */
void ebt_hex(const uint8_t *id, size_t len, char *out);

#endif /* EBT_SPAN_H */
