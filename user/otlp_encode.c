/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spans -> ExportTraceServiceRequest (protobuf-c) and gzip (zlib).
 *
 * The message tree is built in a handful of flat arrays per call (one
 * element per span, attribute, group) that point into the spans' own
 * strings: nothing is copied, and everything is freed right after the
 * pack. protobuf-c does all of the wire encoding.
 */
#include "otlp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "otlp_trace_service.pb-c.h"

/* Speed over ratio: level 1 is several times faster than the default and
 * span batches still shrink to a fraction (repeated keys and resource). */
#define OTLP_GZIP_LEVEL 1
#define GZIP_WINDOW_BITS (15 + 16) /* 16: gzip header and trailer */
#define GZIP_MEM_LEVEL 8

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

/* Spans grouped by resource, in order of first appearance. */
struct groups {
	size_t n;
	const struct ebt_resource **res; /* [n] */
	size_t *count;                   /* [n] spans per group */
	size_t *of_span;                 /* [n spans] group index */
};

/* The flat arrays the message tree lives in. */
struct tree {
	pb_rspans *rspans, **rspans_p;
	pb_sspans *sspans, **sspans_p;
	pb_resource *res;
	pb_span *spans, **spans_p;
	pb_status *status;
	pb_kv *kv, **kv_p;
	pb_any *any;
	size_t kv_used;
	pb_scope scope;
};

static void groups_free(struct groups *g)
{
	free(g->res);
	free(g->count);
	free(g->of_span);
}

static size_t group_find(struct groups *g, const struct ebt_resource *r,
			 size_t hint)
{
	if (hint < g->n && g->res[hint] == r)
		return hint;
	for (size_t i = 0; i < g->n; i++)
		if (g->res[i] == r)
			return i;
	g->res[g->n] = r;
	g->count[g->n] = 0;
	return g->n++;
}

static int group_spans(struct ebt_span *const *spans, size_t n,
		       struct groups *g)
{
	size_t last = 0;

	g->n = 0;
	g->res = calloc(n, sizeof(*g->res));
	g->count = calloc(n, sizeof(*g->count));
	g->of_span = calloc(n, sizeof(*g->of_span));
	if (!g->res || !g->count || !g->of_span)
		return -1;
	for (size_t i = 0; i < n; i++) {
		last = group_find(g, spans[i]->resource, last);
		g->of_span[i] = last;
		g->count[last]++;
	}
	return 0;
}

static void tree_free(struct tree *t)
{
	free(t->rspans);
	free(t->rspans_p);
	free(t->sspans);
	free(t->sspans_p);
	free(t->res);
	free(t->spans);
	free(t->spans_p);
	free(t->status);
	free(t->kv);
	free(t->kv_p);
	free(t->any);
}

static int tree_alloc(struct tree *t, size_t n_spans, size_t n_groups,
		      size_t n_kv)
{
	t->rspans = calloc(n_groups, sizeof(*t->rspans));
	t->rspans_p = calloc(n_groups, sizeof(*t->rspans_p));
	t->sspans = calloc(n_groups, sizeof(*t->sspans));
	t->sspans_p = calloc(n_groups, sizeof(*t->sspans_p));
	t->res = calloc(n_groups, sizeof(*t->res));
	t->spans = calloc(n_spans, sizeof(*t->spans));
	t->spans_p = calloc(n_spans, sizeof(*t->spans_p));
	t->status = calloc(n_spans, sizeof(*t->status));
	/* +1: calloc(0) may return NULL */
	t->kv = calloc(n_kv + 1, sizeof(*t->kv));
	t->kv_p = calloc(n_kv + 1, sizeof(*t->kv_p));
	t->any = calloc(n_kv + 1, sizeof(*t->any));
	if (!t->rspans || !t->rspans_p || !t->sspans || !t->sspans_p ||
	    !t->res || !t->spans || !t->spans_p || !t->status || !t->kv ||
	    !t->kv_p || !t->any)
		return -1;
	t->kv_used = 0;
	return 0;
}

static char *str_or_empty(const char *s)
{
	return s ? (char *)s : (char *)protobuf_c_empty_string;
}

static void set_any(pb_any *v, const struct ebt_attr *a)
{
	*v = pb_any_init;
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

/* Take n KeyValues from the pool for attrs; returns the pointer array. */
static pb_kv **take_attrs(struct tree *t, const struct ebt_attr *attrs,
			  unsigned n)
{
	pb_kv **out = &t->kv_p[t->kv_used];

	for (unsigned i = 0; i < n; i++) {
		size_t k = t->kv_used++;

		t->kv[k] = pb_kv_init;
		t->kv[k].key = str_or_empty(attrs[i].key);
		set_any(&t->any[k], &attrs[i]);
		t->kv[k].value = &t->any[k];
		t->kv_p[k] = &t->kv[k];
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

static void fill_span(struct tree *t, size_t i, const struct ebt_span *s)
{
	pb_span *p = &t->spans[i];

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
	p->attributes = take_attrs(t, s->attrs, s->n_attrs);
	if (s->status != EBT_STATUS_UNSET || s->status_message) {
		t->status[i] = pb_status_init;
		t->status[i].code =
			(Opentelemetry__Proto__Trace__V1__Status__StatusCode)
				s->status;
		t->status[i].message = str_or_empty(s->status_message);
		p->status = &t->status[i];
	}
}

static void fill_group(struct tree *t, size_t gi,
		       const struct ebt_resource *r, pb_span **spans,
		       size_t n)
{
	pb_rspans *rs = &t->rspans[gi];
	pb_sspans *ss = &t->sspans[gi];

	*ss = pb_sspans_init;
	ss->scope = &t->scope;
	ss->n_spans = n;
	ss->spans = spans;
	t->sspans_p[gi] = ss;

	*rs = pb_rspans_init;
	rs->n_scope_spans = 1;
	rs->scope_spans = &t->sspans_p[gi];
	if (r) {
		t->res[gi] = pb_resource_init;
		t->res[gi].n_attributes = r->n_attrs;
		t->res[gi].attributes = take_attrs(t, r->attrs, r->n_attrs);
		rs->resource = &t->res[gi];
	}
	t->rspans_p[gi] = rs;
}

static void build_tree(struct tree *t, struct ebt_span *const *spans,
		       size_t n, const struct groups *g)
{
	size_t *next = g->count; /* reused as per-group write cursors */
	size_t off = 0;

	t->scope = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	t->scope.name = OTLP_SCOPE_NAME;
	t->scope.version = EBT_VERSION;
	for (size_t gi = 0; gi < g->n; gi++) {
		size_t c = next[gi];

		fill_group(t, gi, g->res[gi], &t->spans_p[off], c);
		next[gi] = off;
		off += c;
	}
	for (size_t i = 0; i < n; i++) {
		fill_span(t, i, spans[i]);
		t->spans_p[next[g->of_span[i]]++] = &t->spans[i];
	}
}

static size_t count_kv(struct ebt_span *const *spans, size_t n,
		       const struct groups *g)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += spans[i]->n_attrs;
	for (size_t gi = 0; gi < g->n; gi++)
		if (g->res[gi])
			k += g->res[gi]->n_attrs;
	return k;
}

static int pack_request(const struct tree *t, size_t n_groups, uint8_t **out,
			size_t *out_len)
{
	pb_request req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	size_t len;
	uint8_t *buf;

	req.n_resource_spans = n_groups;
	req.resource_spans = t->rspans_p;
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	*out_len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
	*out = buf;
	return *out_len == len ? 0 : -1;
}

int otlp_encode_traces(struct ebt_span *const *spans, size_t n, uint8_t **out,
		       size_t *out_len)
{
	struct groups g = { 0 };
	struct tree t = { 0 };
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (n == 0)
		return pack_request(&t, 0, out, out_len);
	if (group_spans(spans, n, &g) != 0)
		goto out;
	if (tree_alloc(&t, n, g.n, count_kv(spans, n, &g)) != 0)
		goto out;
	build_tree(&t, spans, n, &g);
	rc = pack_request(&t, g.n, out, out_len);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
out:
	tree_free(&t);
	groups_free(&g);
	return rc;
}

int otlp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs = { 0 };
	uLong bound;
	uint8_t *buf;
	int zrc;

	*out = NULL;
	*out_len = 0;
	if (len > UINT_MAX)
		return -1;
	if (deflateInit2(&zs, OTLP_GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW_BITS,
			 GZIP_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&zs, (uLong)len);
	buf = malloc(bound);
	if (!buf) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	zrc = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		free(buf);
		*out_len = 0;
		return -1;
	}
	*out = buf;
	return 0;
}
