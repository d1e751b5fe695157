/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spans -> ExportTraceServiceRequest (protobuf-c) and gzip (zlib).
 *
 * The message tree is built in a handful of flat arrays (one element per
 * span, attribute, group) that point into the spans' own strings: nothing
 * is copied. The arrays, the output buffers and the deflate stream belong
 * to a struct otlp_encoder and are reused from batch to batch (they grow to
 * the largest batch and stay), which keeps malloc and page faults out of a
 * steady exporter. protobuf-c does all of the wire encoding. The output
 * buffer is sized from a bound summed while the tree is built (string
 * lengths plus the most framing each field can take), not by protobuf-c's
 * sizing pass: that pass walked the whole tree a second time, about an
 * eighth of the exporter's instructions.
 */
#include "otlp.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "otlp_trace_service.pb-c.h"

/* Speed over ratio: level 1 is several times faster than the default and
 * span batches still shrink to a fraction (repeated keys and resource). */
#define OTLP_GZIP_LEVEL 1
#define GZIP_WINDOW_BITS (15 + 16) /* 16: gzip header and trailer */
#define GZIP_MEM_LEVEL 8
#define GZIP_STRATEGY Z_DEFAULT_STRATEGY

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
	pb_request;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_sspans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;

static const pb_span pb_span_init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
static const pb_status pb_status_init =
	OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
static const pb_kv pb_kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
static const pb_any pb_any_init =
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
static const pb_rspans pb_rspans_init =
	OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
static const pb_sspans pb_sspans_init =
	OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
static const pb_resource pb_resource_init =
	OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;

/* A byte buffer that only grows. */
struct buf {
	uint8_t *data;
	size_t len, cap;
};

/* The spans of one resource, and the messages that frame them. */
struct group {
	const struct ebt_resource *r;
	size_t count; /* spans; while building, the next free spans_p slot */
	pb_rspans rs;
	pb_sspans ss, *ss_p;
	pb_resource res;
};

struct span_slot {
	pb_span span;
	pb_status status;
};

struct kv_slot {
	pb_kv kv;
	pb_any any;
};

/*
 * Upper bounds of the encoded sizes: a tag (1 byte below field 16) and a
 * varint length or value (at most 10 bytes) per field; a message adds its
 * own tag and length to its fields.
 */
#define PB_FIELD_MAX 11
#define PB_KV_MAX (4 * PB_FIELD_MAX)    /* KeyValue, key, AnyValue, value */
#define PB_SPAN_MAX (24 * PB_FIELD_MAX + 16 + 8 + 8) /* without strings */
#define PB_GROUP_MAX (16 * PB_FIELD_MAX) /* ResourceSpans, ScopeSpans ... */

struct otlp_encoder {
	/* [cap_spans] each: groups in order of first appearance, spans */
	struct group *groups;
	pb_rspans **rspans_p;
	struct span_slot *spans;
	pb_span **spans_p;
	size_t *of_span; /* group index of each span */
	size_t cap_spans, n_groups;
	/* [cap_kv] each: span and resource attributes */
	struct kv_slot *kv;
	pb_kv **kv_p;
	size_t cap_kv, kv_used;
	size_t bound; /* encoded size of the tree built so far, at most */
	pb_scope scope;
	struct buf pb, gz;
	z_stream zs;
	bool zs_ready; /* deflateInit2 done: deflateReset from now on */
};

/* Room for need bytes (never leaves data NULL); contents are kept. */
static int buf_reserve(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->data && need <= b->cap)
		return 0;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Hand the buffer's memory to the caller (malloc'd) and forget it. */
static void buf_take(struct buf *b, uint8_t **out, size_t *out_len)
{
	*out = b->data;
	*out_len = b->len;
	*b = (struct buf){ 0 };
}

static void free_span_arrays(struct otlp_encoder *enc)
{
	free(enc->groups);
	free(enc->rspans_p);
	free(enc->spans);
	free(enc->spans_p);
	free(enc->of_span);
	enc->groups = NULL;
	enc->rspans_p = NULL;
	enc->spans = NULL;
	enc->spans_p = NULL;
	enc->of_span = NULL;
	enc->cap_spans = 0;
}

/* Grow the per-span arrays to at least n (contents are not kept). */
static int reserve_spans(struct otlp_encoder *enc, size_t n)
{
	size_t cap = enc->cap_spans * 2 > n ? enc->cap_spans * 2 : n;

	if (n <= enc->cap_spans)
		return 0;
	free_span_arrays(enc);
	enc->groups = calloc(cap, sizeof(*enc->groups));
	enc->rspans_p = calloc(cap, sizeof(*enc->rspans_p));
	enc->spans = calloc(cap, sizeof(*enc->spans));
	enc->spans_p = calloc(cap, sizeof(*enc->spans_p));
	enc->of_span = calloc(cap, sizeof(*enc->of_span));
	if (!enc->groups || !enc->rspans_p || !enc->spans || !enc->spans_p ||
	    !enc->of_span) {
		free_span_arrays(enc);
		return -1;
	}
	enc->cap_spans = cap;
	return 0;
}

static void free_kv_arrays(struct otlp_encoder *enc)
{
	free(enc->kv);
	free(enc->kv_p);
	enc->kv = NULL;
	enc->kv_p = NULL;
	enc->cap_kv = 0;
}

/* What stays the same from batch to batch is set once, here. */
static void init_kv_slots(struct otlp_encoder *enc)
{
	for (size_t i = 0; i < enc->cap_kv; i++) {
		struct kv_slot *k = &enc->kv[i];

		k->kv = pb_kv_init;
		k->any = pb_any_init;
		k->kv.value = &k->any;
		enc->kv_p[i] = &k->kv;
	}
}

/* Grow the attribute arrays to at least n (contents are not kept). */
static int reserve_kv(struct otlp_encoder *enc, size_t n)
{
	size_t cap = enc->cap_kv * 2 > n ? enc->cap_kv * 2 : n;

	if (n <= enc->cap_kv)
		return 0;
	free_kv_arrays(enc);
	enc->kv = calloc(cap, sizeof(*enc->kv));
	enc->kv_p = calloc(cap, sizeof(*enc->kv_p));
	if (!enc->kv || !enc->kv_p) {
		free_kv_arrays(enc);
		return -1;
	}
	enc->cap_kv = cap;
	init_kv_slots(enc);
	return 0;
}

struct otlp_encoder *otlp_encoder_new(void)
{
	return calloc(1, sizeof(struct otlp_encoder));
}

void otlp_encoder_free(struct otlp_encoder *enc)
{
	if (!enc)
		return;
	free_span_arrays(enc);
	free_kv_arrays(enc);
	free(enc->pb.data);
	free(enc->gz.data);
	if (enc->zs_ready)
		deflateEnd(&enc->zs);
	free(enc);
}

static size_t group_find(struct otlp_encoder *enc,
			 const struct ebt_resource *r, size_t hint)
{
	struct group *g = enc->groups;

	if (hint < enc->n_groups && g[hint].r == r)
		return hint;
	for (size_t i = 0; i < enc->n_groups; i++)
		if (g[i].r == r)
			return i;
	g[enc->n_groups].r = r;
	g[enc->n_groups].count = 0;
	return enc->n_groups++;
}

static void group_spans(struct otlp_encoder *enc,
			struct ebt_span *const *spans, size_t n)
{
	size_t last = 0;

	enc->n_groups = 0;
	for (size_t i = 0; i < n; i++) {
		last = group_find(enc, spans[i]->resource, last);
		enc->of_span[i] = last;
		enc->groups[last].count++;
	}
}

static char *str_or_empty(const char *s)
{
	return s ? (char *)s : (char *)protobuf_c_empty_string;
}

static size_t str_len(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Only the oneof case and its member change: the rest is set once. */
static void set_any(pb_any *v, const struct ebt_attr *a)
{
	switch (a->type) {
	case EBT_ATTR_INT:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = a->num;
		break;
	case EBT_ATTR_BOOL:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = a->num != 0;
		break;
	case EBT_ATTR_STR:
	default:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = str_or_empty(a->str);
		break;
	}
}

/* Take n KeyValues from the pool for attrs; returns their pointers. */
static pb_kv **take_attrs(struct otlp_encoder *enc,
			  const struct ebt_attr *attrs, unsigned n)
{
	pb_kv **out = &enc->kv_p[enc->kv_used];

	for (unsigned i = 0; i < n; i++) {
		struct kv_slot *k = &enc->kv[enc->kv_used++];

		k->kv.key = str_or_empty(attrs[i].key);
		set_any(&k->any, &attrs[i]);
		enc->bound += PB_KV_MAX + str_len(attrs[i].key) +
			      (attrs[i].type == EBT_ATTR_STR
				       ? str_len(attrs[i].str)
				       : 0);
	}
	return out;
}

static bool id_is_zero(const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (id[i])
			return false;
	return true;
}

static void fill_status(struct span_slot *slot, const struct ebt_span *s)
{
	slot->status = pb_status_init;
	slot->status.code =
		(Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
	slot->status.message = str_or_empty(s->status_message);
	slot->span.status = &slot->status;
}

static void fill_span(struct otlp_encoder *enc, struct span_slot *slot,
		      const struct ebt_span *s)
{
	pb_span *p = &slot->span;

	*p = pb_span_init;
	p->trace_id.data = (uint8_t *)s->trace_id;
	p->trace_id.len = sizeof(s->trace_id);
	p->span_id.data = (uint8_t *)s->span_id;
	p->span_id.len = sizeof(s->span_id);
	if (!id_is_zero(s->parent_span_id, sizeof(s->parent_span_id))) {
		p->parent_span_id.data = (uint8_t *)s->parent_span_id;
		p->parent_span_id.len = sizeof(s->parent_span_id);
	}
	p->name = str_or_empty(s->name);
	p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
	p->start_time_unix_nano = s->start_ns;
	p->end_time_unix_nano = s->end_ns;
	p->n_attributes = s->n_attrs;
	p->attributes = take_attrs(enc, s->attrs, s->n_attrs);
	if (s->status != EBT_STATUS_UNSET || s->status_message)
		fill_status(slot, s);
	enc->bound += PB_SPAN_MAX + str_len(s->name) +
		      str_len(s->status_message);
}

/* Frame group g around its n spans, which go to spans_p[first...]. */
static void fill_group(struct otlp_encoder *enc, struct group *g,
		       size_t first)
{
	g->ss = pb_sspans_init;
	g->ss.scope = &enc->scope;
	g->ss.n_spans = g->count;
	g->ss.spans = &enc->spans_p[first];
	g->ss_p = &g->ss;

	g->rs = pb_rspans_init;
	g->rs.n_scope_spans = 1;
	g->rs.scope_spans = &g->ss_p;
	if (g->r) {
		g->res = pb_resource_init;
		g->res.n_attributes = g->r->n_attrs;
		g->res.attributes = take_attrs(enc, g->r->attrs,
					       g->r->n_attrs);
		g->rs.resource = &g->res;
	}
	g->count = first; /* from now on: the group's next spans_p slot */
}

static void build_tree(struct otlp_encoder *enc,
		       struct ebt_span *const *spans, size_t n)
{
	size_t off = 0;

	enc->kv_used = 0;
	enc->scope = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	enc->scope.name = OTLP_SCOPE_NAME;
	enc->scope.version = EBT_VERSION;
	enc->bound = PB_GROUP_MAX + enc->n_groups *
		(PB_GROUP_MAX + strlen(OTLP_SCOPE_NAME) + strlen(EBT_VERSION));
	for (size_t gi = 0; gi < enc->n_groups; gi++) {
		struct group *g = &enc->groups[gi];
		size_t c = g->count;

		fill_group(enc, g, off);
		enc->rspans_p[gi] = &g->rs;
		off += c;
	}
	for (size_t i = 0; i < n; i++) {
		struct group *g = &enc->groups[enc->of_span[i]];

		fill_span(enc, &enc->spans[i], spans[i]);
		enc->spans_p[g->count++] = &enc->spans[i].span;
	}
}

static size_t count_kv(const struct otlp_encoder *enc,
		       struct ebt_span *const *spans, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += spans[i]->n_attrs;
	for (size_t gi = 0; gi < enc->n_groups; gi++)
		if (enc->groups[gi].r)
			k += enc->groups[gi].r->n_attrs;
	return k;
}

static int pack_request(struct otlp_encoder *enc)
{
	pb_request req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	size_t len;

	req.n_resource_spans = enc->n_groups;
	req.resource_spans = enc->rspans_p;
	if (buf_reserve(&enc->pb, enc->bound) != 0)
		return -1;
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, enc->pb.data);
	if (len > enc->bound)
		abort(); /* the bound is wrong: memory past the buffer is gone */
	enc->pb.len = len;
	return 0;
}

int otlp_encoder_encode(struct otlp_encoder *enc,
			struct ebt_span *const *spans, size_t n,
			const uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	enc->pb.len = 0;
	if (reserve_spans(enc, n) != 0)
		return -1;
	group_spans(enc, spans, n);
	if (reserve_kv(enc, count_kv(enc, spans, n)) != 0)
		return -1;
	build_tree(enc, spans, n);
	if (pack_request(enc) != 0)
		return -1;
	*out = enc->pb.data;
	*out_len = enc->pb.len;
	return 0;
}

/* A deflate stream ready for a new gzip member. */
static int gzip_start(struct otlp_encoder *enc)
{
	if (enc->zs_ready)
		return deflateReset(&enc->zs) == Z_OK ? 0 : -1;
	if (deflateInit2(&enc->zs, OTLP_GZIP_LEVEL, Z_DEFLATED,
			 GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
			 GZIP_STRATEGY) != Z_OK)
		return -1;
	enc->zs_ready = true;
	return 0;
}

int otlp_encoder_gzip(struct otlp_encoder *enc, const uint8_t *in,
		      size_t len, const uint8_t **out, size_t *out_len)
{
	z_stream *zs = &enc->zs;
	uLong bound;

	*out = NULL;
	*out_len = 0;
	enc->gz.len = 0;
	if (len > UINT_MAX || gzip_start(enc) != 0)
		return -1;
	bound = deflateBound(zs, (uLong)len);
	if (bound > UINT_MAX || buf_reserve(&enc->gz, bound) != 0)
		return -1;
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	zs->next_out = enc->gz.data;
	zs->avail_out = (uInt)bound;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return -1;
	enc->gz.len = zs->total_out;
	*out = enc->gz.data;
	*out_len = enc->gz.len;
	return 0;
}

int otlp_encode_traces(struct ebt_span *const *spans, size_t n, uint8_t **out,
		       size_t *out_len)
{
	struct otlp_encoder *enc = otlp_encoder_new();
	const uint8_t *p;
	size_t len;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (enc && otlp_encoder_encode(enc, spans, n, &p, &len) == 0) {
		buf_take(&enc->pb, out, out_len);
		rc = 0;
	}
	otlp_encoder_free(enc);
	return rc;
}

int otlp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	struct otlp_encoder *enc = otlp_encoder_new();
	const uint8_t *p;
	size_t n;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (enc && otlp_encoder_gzip(enc, in, len, &p, &n) == 0) {
		buf_take(&enc->gz, out, out_len);
		rc = 0;
	}
	otlp_encoder_free(enc);
	return rc;
}
