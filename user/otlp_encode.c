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

#include "gzip.h"
#include "otlp_trace_service.pb-c.h"

/* Speed over ratio: level 1 is several times faster than the default and
 * span batches still shrink to a fraction (repeated keys and resource). */
#define OTLP_GZIP_LEVEL 1
/* Raw deflate: the gzip header and trailer are written here (gzip.c),
 * with a CRC several times faster than the one zlib's wrapper computes. */
#define GZIP_WINDOW_BITS (-15)
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

static const pb_span pb_span_init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
static const pb_status pb_status_init =
	OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
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

/*
 * Upper bounds of the encoded sizes: a tag (1 byte below field 16) and a
 * varint length or value (at most 10 bytes) per field; a message adds its
 * own tag and length to its fields.
 */
#define PB_FIELD_MAX 11
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
	/* [cap_kv] each: span and resource attributes, encoded in kv_bytes
	 * (at kv_off[i]) and handed to protobuf-c as unknown fields */
	ProtobufCMessageUnknownField *kv;
	size_t *kv_off;
	size_t cap_kv, kv_used;
	struct buf kv_bytes;
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
	free(enc->kv_off);
	enc->kv = NULL;
	enc->kv_off = NULL;
	enc->cap_kv = 0;
}

/* Grow the attribute arrays to at least n (contents are not kept). */
static int reserve_kv(struct otlp_encoder *enc, size_t n)
{
	size_t cap = enc->cap_kv * 2 > n ? enc->cap_kv * 2 : n;

	if (n <= enc->cap_kv)
		return 0;
	free_kv_arrays(enc);
	enc->kv = calloc(cap, sizeof(*enc->kv));
	enc->kv_off = calloc(cap, sizeof(*enc->kv_off));
	if (!enc->kv || !enc->kv_off) {
		free_kv_arrays(enc);
		return -1;
	}
	enc->cap_kv = cap;
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
	free(enc->kv_bytes.data);
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

/*
 * Attributes are encoded here, not by protobuf-c: its generic packer walks
 * every field of AnyValue's oneof and packs each KeyValue and AnyValue as
 * a nested message, which was most of its share of the exporter's CPU.
 * Each encoded KeyValue goes to protobuf-c as an unknown field of its
 * Span (field 9) or Resource (field 1): it writes the field's tag and
 * copies the bytes (a length prefix, then the message) as they are.
 */
#define PB_SPAN_ATTRIBUTES 9
#define PB_RESOURCE_ATTRIBUTES 1
#define PB_KV_KEY 1
#define PB_KV_VALUE 2
#define PB_ANY_STRING 1
#define PB_ANY_BOOL 2
#define PB_ANY_INT 3

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* A field's tag byte (every field here is below 16). */
static uint8_t *put_tag(uint8_t *p, unsigned field, ProtobufCWireType wt)
{
	*p++ = (uint8_t)(field << 3 | wt);
	return p;
}

static uint8_t *put_len_field(uint8_t *p, unsigned field, size_t len)
{
	return put_varint(put_tag(p, field, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED),
			  len);
}

/* AnyValue of a: its size, and (when p is not NULL) its bytes at p. */
static size_t put_any(uint8_t *p, const struct ebt_attr *a, size_t slen)
{
	uint64_t v = a->type == EBT_ATTR_BOOL ? (a->num != 0) : (uint64_t)a->num;
	unsigned field = a->type == EBT_ATTR_BOOL ? PB_ANY_BOOL : PB_ANY_INT;

	if (a->type != EBT_ATTR_INT && a->type != EBT_ATTR_BOOL) {
		if (p) {
			p = put_len_field(p, PB_ANY_STRING, slen);
			if (slen)
				memcpy(p, a->str, slen);
		}
		return 1 + varint_len(slen) + slen;
	}
	if (p)
		put_varint(put_tag(p, field, PROTOBUF_C_WIRE_TYPE_VARINT), v);
	return 1 + varint_len(v);
}

/* Encode a as one unknown field of tag field: KeyValue{key, value}. */
static int encode_kv(struct otlp_encoder *enc, const struct ebt_attr *a,
		     unsigned field)
{
	size_t klen = a->key ? a->key_len : 0;
	size_t slen = a->type == EBT_ATTR_STR && a->str ? strlen(a->str) : 0;
	size_t any = put_any(NULL, a, slen);
	size_t kv = 1 + varint_len(klen) + klen + 1 + varint_len(any) + any;
	size_t total = varint_len(kv) + kv;
	struct buf *b = &enc->kv_bytes;
	uint8_t *p;

	if (buf_reserve(b, b->len + total) != 0)
		return -1;
	p = put_len_field(put_varint(b->data + b->len, kv), PB_KV_KEY, klen);
	if (klen)
		memcpy(p, a->key, klen);
	put_any(put_len_field(p + klen, PB_KV_VALUE, any), a, slen);
	enc->kv[enc->kv_used] = (ProtobufCMessageUnknownField){
		.tag = field, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
		.len = total,
	};
	enc->kv_off[enc->kv_used++] = b->len;
	b->len += total;
	enc->bound += 1 + total;
	return 0;
}

/* Encode n attributes as unknown fields of message m (tag field). */
static int take_attrs(struct otlp_encoder *enc, ProtobufCMessage *m,
		      const struct ebt_attr *attrs, unsigned n,
		      unsigned field)
{
	m->n_unknown_fields = n;
	m->unknown_fields = n ? &enc->kv[enc->kv_used] : NULL;
	for (unsigned i = 0; i < n; i++)
		if (encode_kv(enc, &attrs[i], field) != 0)
			return -1;
	return 0;
}

/* The encoded bytes have their final place: point the fields at them. */
static void place_attrs(struct otlp_encoder *enc)
{
	for (size_t i = 0; i < enc->kv_used; i++)
		enc->kv[i].data = enc->kv_bytes.data + enc->kv_off[i];
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

static int fill_span(struct otlp_encoder *enc, struct span_slot *slot,
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
	if (s->status != EBT_STATUS_UNSET || s->status_message)
		fill_status(slot, s);
	enc->bound += PB_SPAN_MAX + str_len(s->name) +
		      str_len(s->status_message);
	return take_attrs(enc, &p->base, s->attrs, s->n_attrs,
			  PB_SPAN_ATTRIBUTES);
}

/* Frame group g around its n spans, which go to spans_p[first...]. */
static int fill_group(struct otlp_encoder *enc, struct group *g,
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
	g->count = first; /* from now on: the group's next spans_p slot */
	if (!g->r)
		return 0;
	g->res = pb_resource_init;
	g->rs.resource = &g->res;
	return take_attrs(enc, &g->res.base, g->r->attrs, g->r->n_attrs,
			  PB_RESOURCE_ATTRIBUTES);
}

static int build_tree(struct otlp_encoder *enc,
		      struct ebt_span *const *spans, size_t n)
{
	size_t off = 0;

	enc->kv_used = 0;
	enc->kv_bytes.len = 0;
	enc->scope = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	enc->scope.name = OTLP_SCOPE_NAME;
	enc->scope.version = EBT_VERSION;
	enc->bound = PB_GROUP_MAX + enc->n_groups *
		(PB_GROUP_MAX + strlen(OTLP_SCOPE_NAME) + strlen(EBT_VERSION));
	for (size_t gi = 0; gi < enc->n_groups; gi++) {
		struct group *g = &enc->groups[gi];
		size_t c = g->count;

		if (fill_group(enc, g, off) != 0)
			return -1;
		enc->rspans_p[gi] = &g->rs;
		off += c;
	}
	for (size_t i = 0; i < n; i++) {
		struct group *g = &enc->groups[enc->of_span[i]];

		if (fill_span(enc, &enc->spans[i], spans[i]) != 0)
			return -1;
		enc->spans_p[g->count++] = &enc->spans[i].span;
	}
	place_attrs(enc);
	return 0;
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
	if (build_tree(enc, spans, n) != 0 || pack_request(enc) != 0)
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
	if (bound > UINT_MAX ||
	    buf_reserve(&enc->gz, EBT_GZIP_HEADER + bound + EBT_GZIP_TRAILER))
		return -1;
	ebt_gzip_header(enc->gz.data);
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	zs->next_out = enc->gz.data + EBT_GZIP_HEADER;
	zs->avail_out = (uInt)bound;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return -1;
	ebt_gzip_trailer(zs->next_out, ebt_crc32(0, in, len), len);
	enc->gz.len = EBT_GZIP_HEADER + zs->total_out + EBT_GZIP_TRAILER;
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
