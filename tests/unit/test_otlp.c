/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP exporter: encoding (checked by unpacking with the generated
 * protobuf-c code), gzip (checked with zlib inflate), and the exporter
 * against an in-test HTTP fake with injected faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fake_http.h"
#include "otlp.h"
#include "otlp_trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
	pb_request;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;

#define unpack_request(len, buf) \
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len, buf)
#define free_request(m) \
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(m, NULL)

/* ---- span fixtures ------------------------------------------------------- */

static struct ebt_resource *make_resource(const char *service, uint32_t pid)
{
	struct ebt_resource *r = ebt_resource_new(pid);

	assert_non_null(r);
	assert_int_equal(ebt_resource_add_str(r, "service.name", service), 0);
	assert_int_equal(ebt_resource_add_int(r, "process.pid", pid), 0);
	return r;
}

static void fill_id(uint8_t *id, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		id[i] = (uint8_t)(seed + i + 1);
}

static void add_bool(struct ebt_span *s, const char *key, bool v)
{
	assert_true(s->n_attrs < EBT_SPAN_MAX_ATTRS);
	s->attrs[s->n_attrs++] = (struct ebt_attr){
		.key = key, .key_len = (uint32_t)strlen(key),
		.type = EBT_ATTR_BOOL, .num = v,
	};
}

/* Span i: server spans are roots, client spans have a parent. */
static struct ebt_span *make_span(struct ebt_resource *r, unsigned i)
{
	struct ebt_span *s = ebt_span_new();
	char name[32];

	assert_non_null(s);
	fill_id(s->trace_id, sizeof(s->trace_id), (uint8_t)(0x10 * i));
	fill_id(s->span_id, sizeof(s->span_id), (uint8_t)(0x40 + i));
	s->kind = i % 2 ? EBT_KIND_CLIENT : EBT_KIND_SERVER;
	if (s->kind == EBT_KIND_CLIENT)
		fill_id(s->parent_span_id, sizeof(s->parent_span_id), 0x80);
	snprintf(name, sizeof(name), "GET /items/%u", i);
	assert_int_equal(ebt_span_set_name(s, name), 0);
	s->start_ns = 1700000000000000000ull + i;
	s->end_ns = s->start_ns + 1000 + i;
	assert_int_equal(ebt_span_add_str(s, "http.request.method", "GET"), 0);
	assert_int_equal(ebt_span_add_int(s, "http.response.status_code",
					  200 + i), 0);
	add_bool(s, "test.flag", i % 2);
	s->resource = r ? ebt_resource_ref(r) : NULL;
	return s;
}

static const pb_kv *find_kv(pb_kv **kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i]->key, key) == 0)
			return kv[i];
	fail_msg("attribute %s missing", key);
	return NULL;
}

/* Assert that pb equals make_span(_, i). */
static void check_span(const pb_span *pb, unsigned i)
{
	uint8_t id[16];
	char name[32];
	const pb_kv *kv;

	fill_id(id, 16, (uint8_t)(0x10 * i));
	assert_int_equal(pb->trace_id.len, 16);
	assert_memory_equal(pb->trace_id.data, id, 16);
	fill_id(id, 8, (uint8_t)(0x40 + i));
	assert_int_equal(pb->span_id.len, 8);
	assert_memory_equal(pb->span_id.data, id, 8);
	if (i % 2) {
		fill_id(id, 8, 0x80);
		assert_int_equal(pb->parent_span_id.len, 8);
		assert_memory_equal(pb->parent_span_id.data, id, 8);
		assert_int_equal(pb->kind,
				 OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
	} else {
		assert_int_equal(pb->parent_span_id.len, 0);
		assert_int_equal(pb->kind,
				 OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
	}
	snprintf(name, sizeof(name), "GET /items/%u", i);
	assert_string_equal(pb->name, name);
	assert_int_equal(pb->start_time_unix_nano, 1700000000000000000ull + i);
	assert_int_equal(pb->end_time_unix_nano,
			 1700000000000000000ull + i + 1000 + i);
	assert_int_equal(pb->n_attributes, 3);
	kv = find_kv(pb->attributes, pb->n_attributes, "http.request.method");
	assert_int_equal(kv->value->value_case,
			 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
	assert_string_equal(kv->value->string_value, "GET");
	kv = find_kv(pb->attributes, pb->n_attributes,
		     "http.response.status_code");
	assert_int_equal(kv->value->value_case,
			 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
	assert_int_equal(kv->value->int_value, 200 + i);
	kv = find_kv(pb->attributes, pb->n_attributes, "test.flag");
	assert_int_equal(kv->value->value_case,
			 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
	assert_int_equal(kv->value->bool_value, i % 2);
}

static const char *resource_service(
	const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs)
{
	const pb_kv *kv;

	assert_non_null(rs->resource);
	kv = find_kv(rs->resource->attributes, rs->resource->n_attributes,
		     "service.name");
	return kv->value->string_value;
}

/* ---- encode -------------------------------------------------------------- */

static void test_encode_grouping(void **state)
{
	struct ebt_resource *a = make_resource("alpha", 10);
	struct ebt_resource *b = make_resource("beta", 20);
	struct ebt_span *spans[5];
	uint8_t *buf;
	size_t len;
	pb_request *req;

	(void)state;
	/* interleaved: a0 b1 a2 b3 a4 */
	for (unsigned i = 0; i < 5; i++)
		spans[i] = make_span(i % 2 ? b : a, i);
	assert_int_equal(otlp_encode_traces(spans, 5, &buf, &len), 0);
	req = unpack_request(len, buf);
	assert_non_null(req);
	assert_int_equal(req->n_resource_spans, 2);
	assert_string_equal(resource_service(req->resource_spans[0]), "alpha");
	assert_string_equal(resource_service(req->resource_spans[1]), "beta");
	for (size_t g = 0; g < 2; g++) {
		const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs =
			req->resource_spans[g];
		const pb_kv *pid = find_kv(rs->resource->attributes,
					   rs->resource->n_attributes,
					   "process.pid");
		const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss;

		assert_int_equal(pid->value->int_value, g ? 20 : 10);
		assert_int_equal(rs->n_scope_spans, 1);
		ss = rs->scope_spans[0];
		assert_non_null(ss->scope);
		assert_string_equal(ss->scope->name, "ebpftrace");
		assert_string_equal(ss->scope->version, EBT_VERSION);
		assert_int_equal(ss->n_spans, g ? 2 : 3);
		for (size_t k = 0; k < ss->n_spans; k++)
			check_span(ss->spans[k], (unsigned)(2 * k + g));
	}
	free_request(req);
	free(buf);
	for (unsigned i = 0; i < 5; i++)
		ebt_span_free(spans[i]);
	ebt_resource_unref(a);
	ebt_resource_unref(b);
}

static void test_encode_status(void **state)
{
	struct ebt_span *spans[3];
	uint8_t *buf;
	size_t len;
	pb_request *req;
	pb_span **ps;

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		spans[i] = make_span(NULL, i);
	spans[1]->status = EBT_STATUS_ERROR;
	spans[1]->status_message = strdup("upstream 503");
	assert_non_null(spans[1]->status_message);
	spans[2]->status = EBT_STATUS_OK;
	spans[2]->kind = EBT_KIND_INTERNAL;
	assert_int_equal(otlp_encode_traces(spans, 3, &buf, &len), 0);
	req = unpack_request(len, buf);
	assert_non_null(req);
	assert_int_equal(req->n_resource_spans, 1);
	assert_null(req->resource_spans[0]->resource); /* no resource */
	ps = req->resource_spans[0]->scope_spans[0]->spans;
	assert_null(ps[0]->status); /* unset: omitted */
	assert_non_null(ps[1]->status);
	assert_int_equal(ps[1]->status->code,
			 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
	assert_string_equal(ps[1]->status->message, "upstream 503");
	assert_int_equal(ps[2]->status->code,
			 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
	assert_int_equal(ps[2]->kind,
			 OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
	free_request(req);
	free(buf);
	for (unsigned i = 0; i < 3; i++)
		ebt_span_free(spans[i]);
}

static void test_encode_empty(void **state)
{
	uint8_t *buf;
	size_t len;
	pb_request *req;

	(void)state;
	assert_int_equal(otlp_encode_traces(NULL, 0, &buf, &len), 0);
	assert_non_null(buf);
	req = unpack_request(len, buf);
	assert_non_null(req);
	assert_int_equal(req->n_resource_spans, 0);
	free_request(req);
	free(buf);
}

/* Encode with a fresh encoder: the reference for a reused one. */
static void expect_same_as_fresh(struct otlp_encoder *enc,
				 struct ebt_span *const *spans, size_t n)
{
	const uint8_t *got;
	uint8_t *want;
	size_t got_len, want_len;

	assert_int_equal(otlp_encode_traces(spans, n, &want, &want_len), 0);
	assert_int_equal(otlp_encoder_encode(enc, spans, n, &got, &got_len), 0);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(want);
}

/* Every key and value of test_encode_extremes, byte for byte. */
static void check_extreme_attrs(const pb_rspans *rs, const char *long_val,
				unsigned i)
{
	const pb_span *sp = rs->scope_spans[0]->spans[0];
	char key[16];

	for (unsigned k = 0; k < EBT_SPAN_MAX_ATTRS; k++) {
		const pb_kv *kv = sp->attributes[k];

		snprintf(key, sizeof(key), "span.key.%u", k);
		assert_string_equal(kv->key, key);
		if (k % 2)
			assert_int_equal(kv->value->int_value, -1 - (int64_t)k);
		else
			assert_string_equal(kv->value->string_value,
					    long_val + k * 100);
	}
	for (unsigned k = 0; k < EBT_RES_MAX_ATTRS; k++) {
		const pb_kv *kv = rs->resource->attributes[k];

		snprintf(key, sizeof(key), "res.key.%u", k);
		assert_string_equal(kv->key, key);
		if (k % 2)
			assert_true(kv->value->int_value == INT64_MIN + k);
		else
			assert_string_equal(kv->value->string_value,
					    i % 3 ? long_val : "");
	}
}

/* The output buffer is sized by a bound summed while the tree is built:
 * shapes that need the most framing (negative ints take 10-byte varints,
 * long heap strings, every attribute slot, a resource per span) must fit
 * and come out whole. The encoder aborts if the bound is ever short. */
static void test_encode_extremes(void **state)
{
	struct otlp_encoder *enc = otlp_encoder_new();
	struct ebt_resource *r[64];
	struct ebt_span *spans[64];
	static char rkeys[EBT_RES_MAX_ATTRS][16], skeys[EBT_SPAN_MAX_ATTRS][16];
	char long_val[3000];
	const uint8_t *out;
	size_t len;
	pb_request *req;

	(void)state;
	memset(long_val, 'v', sizeof(long_val) - 1);
	long_val[sizeof(long_val) - 1] = 0;
	/* keys are kept by pointer (literals in the tracer): one each */
	for (unsigned k = 0; k < EBT_RES_MAX_ATTRS; k++)
		snprintf(rkeys[k], sizeof(rkeys[k]), "res.key.%u", k);
	for (unsigned k = 0; k < EBT_SPAN_MAX_ATTRS; k++)
		snprintf(skeys[k], sizeof(skeys[k]), "span.key.%u", k);
	for (unsigned i = 0; i < 64; i++) {
		r[i] = ebt_resource_new(i + 1);
		for (unsigned k = 0; k < EBT_RES_MAX_ATTRS; k++) {
			if (k % 2)
				ebt_resource_add_int(r[i], rkeys[k], INT64_MIN + k);
			else
				ebt_resource_add_str(r[i], rkeys[k],
						     i % 3 ? long_val : "");
		}
		spans[i] = ebt_span_new();
		memset(spans[i]->trace_id, 0xff, sizeof(spans[i]->trace_id));
		memset(spans[i]->span_id, 0xff, sizeof(spans[i]->span_id));
		memset(spans[i]->parent_span_id, 0xff, 8);
		ebt_span_set_name(spans[i], i % 2 ? long_val : "");
		spans[i]->kind = EBT_KIND_CLIENT;
		spans[i]->start_ns = UINT64_MAX - 1;
		spans[i]->end_ns = UINT64_MAX;
		spans[i]->status = EBT_STATUS_ERROR;
		for (unsigned k = 0; k < EBT_SPAN_MAX_ATTRS; k++) {
			if (k % 2)
				ebt_span_add_int(spans[i], skeys[k],
						 -1 - (int64_t)k);
			else
				ebt_span_add_str(spans[i], skeys[k],
						 long_val + k * 100);
		}
		spans[i]->resource = r[i];
	}
	assert_int_equal(otlp_encoder_encode(enc, spans, 64, &out, &len), 0);
	req = unpack_request(len, out);
	assert_non_null(req);
	assert_int_equal(opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(req), len);
	assert_int_equal(req->n_resource_spans, 64);
	for (unsigned i = 0; i < 64; i++) {
		pb_span *sp = req->resource_spans[i]->scope_spans[0]->spans[0];

		assert_int_equal(sp->n_attributes, EBT_SPAN_MAX_ATTRS);
		assert_int_equal(strlen(sp->name), i % 2 ? strlen(long_val) : 0);
		assert_int_equal(req->resource_spans[i]->resource->n_attributes,
				 EBT_RES_MAX_ATTRS);
		check_extreme_attrs(req->resource_spans[i], long_val, i);
	}
	free_request(req);
	for (unsigned i = 0; i < 64; i++)
		ebt_span_free(spans[i]); /* drops the resource reference */
	otlp_encoder_free(enc);
}

/* Batches of other shapes in between leave nothing behind. */
static void test_encoder_reuse(void **state)
{
	struct ebt_resource *a = make_resource("alpha", 10);
	struct ebt_resource *b = make_resource("beta", 20);
	struct otlp_encoder *enc = otlp_encoder_new();
	struct ebt_span *spans[40];
	const uint8_t *out;
	size_t len;
	pb_request *req;

	(void)state;
	assert_non_null(enc);
	for (unsigned i = 0; i < 40; i++)
		spans[i] = make_span(i < 5 ? (i % 2 ? b : a) : NULL, i);
	spans[1]->status = EBT_STATUS_ERROR;
	expect_same_as_fresh(enc, spans, 5);
	expect_same_as_fresh(enc, spans + 5, 3); /* no resource, no status */
	expect_same_as_fresh(enc, spans, 40);    /* grows every array */
	expect_same_as_fresh(enc, spans, 0);
	assert_int_equal(otlp_encoder_encode(enc, spans, 5, &out, &len), 0);
	req = unpack_request(len, out);
	assert_non_null(req);
	assert_int_equal(req->n_resource_spans, 2);
	assert_string_equal(resource_service(req->resource_spans[1]), "beta");
	assert_non_null(req->resource_spans[0]->scope_spans[0]->spans[0]);
	assert_null(req->resource_spans[0]->scope_spans[0]->spans[0]->status);
	assert_non_null(req->resource_spans[1]->scope_spans[0]->spans[0]->status);
	check_span(req->resource_spans[1]->scope_spans[0]->spans[1], 3);
	free_request(req);
	for (unsigned i = 0; i < 40; i++)
		ebt_span_free(spans[i]);
	otlp_encoder_free(enc);
	ebt_resource_unref(a);
	ebt_resource_unref(b);
}

/* ---- gzip ---------------------------------------------------------------- */

static int gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *olen)
{
	z_stream zs = { 0 };
	size_t cap = 4096;
	int rc;

	*out = malloc(cap);
	if (!*out || inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (zs.total_out == cap) {
			uint8_t *n = realloc(*out, cap * 2);

			if (!n)
				break;
			*out = n;
			cap *= 2;
		}
		zs.next_out = *out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		rc = inflate(&zs, Z_NO_FLUSH);
	} while (rc == Z_OK);
	*olen = zs.total_out;
	inflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -1;
}

static void test_gzip_roundtrip(void **state)
{
	size_t n = 300000, glen, rlen;
	uint8_t *in = malloc(n), *gz, *back;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++) /* half text-like, half noise */
		in[i] = i < n / 2 ? (uint8_t)("GET /api "[i % 9]) :
				    (uint8_t)((i * 2654435761u) >> 13);
	assert_int_equal(otlp_gzip(in, n, &gz, &glen), 0);
	assert_true(glen > 18 && glen < n);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(gunzip(gz, glen, &back, &rlen), 0);
	assert_int_equal(rlen, n);
	assert_memory_equal(back, in, n);
	free(back);
	free(gz);
	assert_int_equal(otlp_gzip(in, 0, &gz, &glen), 0); /* empty input */
	assert_int_equal(gunzip(gz, glen, &back, &rlen), 0);
	assert_int_equal(rlen, 0);
	free(back);
	free(gz);
	free(in);
}

/* One deflate stream, reset per member: each output stands alone. */
static void test_encoder_gzip_reuse(void **state)
{
	static const char *const inputs[] = {
		"GET /api GET /api GET /api", "", "x", "POST /orders POST /orders",
	};
	struct otlp_encoder *enc = otlp_encoder_new();
	const uint8_t *gz;
	uint8_t *back;
	size_t glen, rlen;

	(void)state;
	assert_non_null(enc);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t n = strlen(inputs[i]);

		assert_int_equal(otlp_encoder_gzip(enc, (const uint8_t *)inputs[i],
						   n, &gz, &glen), 0);
		assert_int_equal(gunzip(gz, glen, &back, &rlen), 0);
		assert_int_equal(rlen, n);
		assert_memory_equal(back, inputs[i], n);
		free(back);
	}
	otlp_encoder_free(enc);
}

/* ---- in-test HTTP fake --------------------------------------------------- */

enum fake_mode {
	FAKE_OK,            /* 200 */
	FAKE_503_THEN_OK,   /* 503 + Retry-After: 1, then 200 */
	FAKE_BAD_REQUEST,   /* 400 */
	FAKE_SILENT,        /* accepts, reads, never answers */
	FAKE_PARTIAL,       /* 200 with partial_success rejected_spans=2 */
};

struct fake {
	struct fake_http h; /* first: the answer callback casts back */
	enum fake_mode mode;
};

static void respond_ok(int fd, bool partial)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	uint8_t body[256];
	char head[256];
	size_t n;

	ps.rejected_spans = 2;
	ps.error_message = "spans too old";
	if (partial)
		r.partial_success = &ps;
	n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&r, body);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
	fake_http_write_str(fd, head);
	fake_http_write(fd, body, n);
}

static void answer(struct fake_http *h, int fd, const uint8_t *body,
		   size_t body_len, int nth)
{
	struct fake *f = (struct fake *)h;

	(void)body;
	(void)body_len;
	switch (f->mode) {
	case FAKE_503_THEN_OK:
		if (nth == 1)
			fake_http_write_str(fd, "HTTP/1.1 503 Service Unavailable\r\n"
					    "Retry-After: 1\r\nContent-Length: 0\r\n"
					    "Connection: close\r\n\r\n");
		else
			respond_ok(fd, false);
		break;
	case FAKE_BAD_REQUEST:
		fake_http_write_str(fd, "HTTP/1.1 400 Bad Request\r\n"
				    "Content-Length: 0\r\nConnection: close\r\n\r\n");
		break;
	case FAKE_SILENT:
		fake_http_hold(h, fd);
		break;
	case FAKE_PARTIAL:
		respond_ok(fd, true);
		break;
	case FAKE_OK:
	default:
		respond_ok(fd, false);
		break;
	}
}

static struct fake *fake_start(enum fake_mode mode)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mode = mode;
	fake_http_start(&f->h, answer);
	return f;
}

static void fake_stop(struct fake *f)
{
	fake_http_stop(&f->h);
	free(f);
}

/* ---- exporter ------------------------------------------------------------ */

struct exp_fixture {
	struct otlp_config cfg;
	char url[64];
	struct ebt_resource *res;
};

static void fixture_init(struct exp_fixture *x, uint16_t port)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->url, sizeof(x->url), "http://127.0.0.1:%u/v1/traces",
		 port);
	x->cfg.url = x->url;
	x->cfg.timeout_ms = 2000;
	x->cfg.gzip = true;
	x->cfg.queue_bytes = 1 << 20;
	x->cfg.batch_spans = 4;
	x->cfg.batch_timeout_ms = 50;
	x->res = make_resource("svc", 1);
}

static struct otlp_exporter *start_exporter(struct exp_fixture *x)
{
	char err[256];
	struct otlp_exporter *e = otlp_exporter_new(&x->cfg, err, sizeof(err));

	if (!e)
		fail_msg("otlp_exporter_new: %s", err);
	return e;
}

static void submit_n(struct otlp_exporter *e, struct exp_fixture *x,
		     unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_true(otlp_exporter_submit(e, make_span(x->res, i)));
}

typedef bool (*stats_pred)(const struct otlp_stats *s, uint64_t arg);

static bool exported_at_least(const struct otlp_stats *s, uint64_t n)
{
	return s->spans_exported >= n && s->queue_bytes == 0;
}

static bool rejected_at_least(const struct otlp_stats *s, uint64_t n)
{
	return s->spans_dropped_rejected >= n && s->queue_bytes == 0;
}

static bool retried_at_least(const struct otlp_stats *s, uint64_t n)
{
	return s->retries >= n;
}

static bool settled(const struct otlp_stats *s, uint64_t n)
{
	return s->spans_exported + s->spans_rejected_partial >= n &&
	       s->queue_bytes == 0;
}

/* Poll the stats until pred holds (or 10 s pass: then fail). */
static void wait_stats(struct otlp_exporter *e, stats_pred pred, uint64_t arg,
		       struct otlp_stats *out)
{
	uint64_t until = fake_mono_ns() + 10000000000ull;

	do {
		otlp_exporter_stats(e, out);
		if (pred(out, arg))
			return;
		fake_sleep_ms(10);
	} while (fake_mono_ns() < until);
	fail_msg("stats condition not reached: exported %llu rejected %llu "
		 "retries %llu requests %llu",
		 (unsigned long long)out->spans_exported,
		 (unsigned long long)out->spans_dropped_rejected,
		 (unsigned long long)out->retries,
		 (unsigned long long)out->requests);
}

/* Every accepted span is accounted for exactly once after shutdown. */
static void assert_conserved(const struct otlp_stats *s)
{
	assert_int_equal(s->spans_queued,
			 s->spans_exported + s->spans_rejected_partial +
				 s->spans_dropped_rejected +
				 s->spans_dropped_shutdown);
	assert_int_equal(s->queue_bytes, 0);
}

static size_t body_span_count(struct fake *f)
{
	uint8_t *raw;
	size_t raw_len, n = 0;
	pb_request *req;

	pthread_mutex_lock(&f->h.lock);
	assert_int_equal(gunzip(f->h.body, f->h.body_len, &raw, &raw_len), 0);
	pthread_mutex_unlock(&f->h.lock);
	req = unpack_request(raw_len, raw);
	assert_non_null(req);
	for (size_t i = 0; i < req->n_resource_spans; i++)
		for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
			n += req->resource_spans[i]->scope_spans[j]->n_spans;
	free_request(req);
	free(raw);
	return n;
}

static void test_export_retry_after(void **state)
{
	struct fake *f = fake_start(FAKE_503_THEN_OK);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	uint64_t cpu;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.headers = " X-Scope-OrgID=tenant%201 , Authorization=Basic%20YWJj=,";
	e = start_exporter(&x);
	submit_n(e, &x, 4); /* one full batch */
	wait_stats(e, exported_at_least, 4, &st);
	assert_int_equal(st.spans_exported, 4);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.request_errors, 1);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.spans_dropped_rejected, 0);
	assert_int_equal(fake_http_requests(&f->h), 2);
	/* Retry-After: 1 honoured (not the 500 ms backoff) */
	assert_true(f->h.req_ns[1] - f->h.req_ns[0] >= 950000000ull);
	assert_non_null(strstr(f->h.headers, "POST /v1/traces HTTP/1.1\r\n"));
	assert_non_null(strstr(f->h.headers,
			       "\r\nContent-Type: application/x-protobuf\r\n"));
	assert_non_null(strstr(f->h.headers, "\r\nContent-Encoding: gzip\r\n"));
	assert_non_null(strstr(f->h.headers, "\r\nX-Scope-OrgID: tenant 1\r\n"));
	assert_non_null(strstr(f->h.headers, "\r\nAuthorization: Basic YWJj=\r\n"));
	assert_int_equal(body_span_count(f), 4);
	cpu = st.worker_cpu_ns; /* the worker's own clock, while it runs */
	assert_true(cpu > 0);
	otlp_exporter_shutdown_stats(e, 1000, &st);
	assert_int_equal(st.spans_exported, 4);
	assert_true(st.worker_cpu_ns >= cpu); /* left by the worker at exit */
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_bad_request(void **state)
{
	struct fake *f = fake_start(FAKE_BAD_REQUEST);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_spans = 3;
	e = start_exporter(&x);
	submit_n(e, &x, 3);
	wait_stats(e, rejected_at_least, 3, &st);
	fake_sleep_ms(800); /* longer than any first backoff: no retry comes */
	otlp_exporter_stats(e, &st);
	assert_int_equal(st.spans_dropped_rejected, 3);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.request_errors, 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(fake_http_requests(&f->h), 1);
	otlp_exporter_shutdown_stats(e, 1000, &st);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_SILENT);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	uint64_t t0;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.timeout_ms = 200;
	x.cfg.batch_spans = 2;
	e = start_exporter(&x);
	submit_n(e, &x, 2);
	wait_stats(e, retried_at_least, 1, &st);
	assert_true(st.request_errors >= 1);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(st.spans_dropped_rejected, 0);
	assert_int_equal(st.queue_bytes > 0, 1); /* in flight, still counted */
	t0 = fake_mono_ns();
	otlp_exporter_shutdown_stats(e, 300, &st);
	/* deadline 300 ms; in-flight requests are aborted within ~1 s */
	assert_true(fake_mono_ns() - t0 < 1800000000ull);
	assert_int_equal(st.spans_dropped_shutdown, 2);
	assert_int_equal(st.spans_exported, 0);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_partial_success(void **state)
{
	struct fake *f = fake_start(FAKE_PARTIAL);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_spans = 5;
	x.cfg.gzip = false;
	e = start_exporter(&x);
	submit_n(e, &x, 5);
	wait_stats(e, settled, 5, &st);
	assert_int_equal(st.spans_rejected_partial, 2);
	assert_int_equal(st.spans_exported, 3);
	assert_int_equal(st.request_errors, 0);
	assert_null(strstr(f->h.headers, "Content-Encoding"));
	otlp_exporter_shutdown_stats(e, 1000, &st);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* A partial batch goes out after batch_timeout_ms, as one request. */
static void test_export_batch_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	uint64_t t0;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_spans = 100;
	x.cfg.batch_timeout_ms = 200;
	e = start_exporter(&x);
	t0 = fake_mono_ns();
	submit_n(e, &x, 3);
	wait_stats(e, exported_at_least, 3, &st);
	assert_true(f->h.req_ns[0] - t0 >= 180000000ull);
	assert_int_equal(st.requests, 1);
	assert_int_equal(body_span_count(f), 3);
	otlp_exporter_shutdown_stats(e, 1000, &st);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* Shutdown sends what is queued without waiting for the batch timeout. */
static void test_export_shutdown_flush(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_spans = 4;
	x.cfg.batch_timeout_ms = 60000;
	e = start_exporter(&x);
	submit_n(e, &x, 10); /* two full batches, two spans left over */
	otlp_exporter_shutdown_stats(e, 3000, &st);
	assert_int_equal(st.spans_exported, 10);
	assert_int_equal(st.spans_dropped_shutdown, 0);
	assert_int_equal(fake_http_requests(&f->h), 3);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* Unreachable backend, small queue: drops are counted, submit never waits. */
static void test_export_queue_bound(void **state)
{
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	struct ebt_span *probe;
	uint64_t worst = 0, limit;
	unsigned accepted = 0, n = 3000;

	(void)state;
	fixture_init(&x, fake_http_closed_port());
	probe = ebt_span_compact(make_span(x.res, 1)); /* as queued */
	limit = 10 * ebt_span_size(probe);
	ebt_span_free(probe);
	x.cfg.queue_bytes = limit;
	x.cfg.batch_timeout_ms = 10;
	e = start_exporter(&x);
	for (unsigned i = 0; i < n; i++) {
		struct ebt_span *s = make_span(x.res, i % 8);
		uint64_t t0 = fake_mono_ns(), dt;

		accepted += otlp_exporter_submit(e, s);
		dt = fake_mono_ns() - t0;
		worst = dt > worst ? dt : worst;
		otlp_exporter_stats(e, &st);
		assert_true(st.queue_bytes <= limit);
	}
	otlp_exporter_stats(e, &st);
	assert_int_equal(st.spans_queued, accepted);
	assert_int_equal(st.spans_queued + st.spans_dropped_queue_full, n);
	assert_true(st.spans_dropped_queue_full >= n - 20);
	assert_true(worst < 50000000ull); /* 50 ms, generous for sanitizers */
	assert_int_equal(st.spans_exported, 0);
	otlp_exporter_shutdown_stats(e, 100, &st);
	assert_int_equal(st.spans_exported, 0);
	assert_true(st.request_errors >= 1);
	assert_conserved(&st);
	ebt_resource_unref(x.res);
}

/* Run shutdown with stderr going to a file; returns what it wrote. */
static char *shutdown_stderr(struct otlp_exporter *e, uint64_t deadline_ms,
			     struct otlp_stats *st)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out = calloc(1, 8192);

	assert_non_null(f);
	assert_non_null(out);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	otlp_exporter_shutdown_stats(e, deadline_ms, st);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	out[fread(out, 1, 8191, f)] = '\0';
	fclose(f);
	return out;
}

/* At shutdown, the spans the backend never got are said in one line. */
static void test_export_shutdown_says_loss(void **state)
{
	const char *want = "otlp: 3 spans not delivered (queue full 0, "
			   "rejected 0, failed 0, at shutdown 3), 0 delivered";
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	char *err;

	(void)state;
	fixture_init(&x, fake_http_closed_port());
	x.cfg.batch_timeout_ms = 60000; /* nothing goes out before shutdown */
	e = start_exporter(&x);
	submit_n(e, &x, 3);
	err = shutdown_stderr(e, 100, &st);
	assert_int_equal(st.spans_dropped_shutdown, 3);
	assert_conserved(&st);
	if (!strstr(err, want))
		fail_msg("no '%s' in stderr: %s", want, err);
	free(err);
	ebt_resource_unref(x.res);
}

/* Nothing lost: nothing said. */
static void test_export_shutdown_quiet_without_loss(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct otlp_exporter *e;
	struct otlp_stats st;
	char *err;

	(void)state;
	fixture_init(&x, f->h.port);
	e = start_exporter(&x);
	submit_n(e, &x, 4);
	wait_stats(e, exported_at_least, 4, &st);
	err = shutdown_stderr(e, 1000, &st);
	assert_int_equal(st.spans_exported, 4);
	assert_null(strstr(err, "not delivered"));
	free(err);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void expect_config_error(const char *url, const char *headers,
				const char *want)
{
	struct otlp_config cfg = { .url = url, .headers = headers };
	char err[256] = "";
	struct otlp_exporter *e = otlp_exporter_new(&cfg, err, sizeof(err));

	if (e) {
		otlp_exporter_shutdown(e, 0);
		fail_msg("accepted url '%s' headers '%s'", url,
			 headers ? headers : "(null)");
	}
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_export_bad_config(void **state)
{
	const char *url = "http://127.0.0.1:1/v1/traces";

	(void)state;
	expect_config_error(NULL, NULL, "no endpoint");
	expect_config_error("", NULL, "no endpoint");
	expect_config_error(url, "novalue", "key=value");
	expect_config_error(url, "a=1,bad name=2", "bad header name");
	expect_config_error(url, "x-a=1%0D%0AInjected: yes", "bad value");
	expect_config_error(url, "%3A=1", "bad header name");
	expect_config_error(url, "=1", "bad header name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_grouping),
		cmocka_unit_test(test_encode_status),
		cmocka_unit_test(test_encode_empty),
		cmocka_unit_test(test_encoder_reuse),
		cmocka_unit_test(test_encode_extremes),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_encoder_gzip_reuse),
		cmocka_unit_test(test_export_retry_after),
		cmocka_unit_test(test_export_bad_request),
		cmocka_unit_test(test_export_timeout),
		cmocka_unit_test(test_export_partial_success),
		cmocka_unit_test(test_export_batch_timeout),
		cmocka_unit_test(test_export_shutdown_flush),
		cmocka_unit_test(test_export_queue_bound),
		cmocka_unit_test(test_export_shutdown_says_loss),
		cmocka_unit_test(test_export_shutdown_quiet_without_loss),
		cmocka_unit_test(test_export_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
