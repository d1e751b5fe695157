/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loki: label sets and sanitising, the push URL, the push JSON (parsed back
 * with cJSON), and the exporter against an in-test HTTP fake: headers and
 * auth, batching, 400 splitting down to the offending entries, 429 retry
 * with Retry-After, non-retryable errors, the queue bound.
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

#include <cjson/cJSON.h>
#include <zlib.h>

#include "fake_http.h"
#include "loki.h"

#define TS0 1700000000000000000ull

/* ---- fixtures ------------------------------------------------------------ */

static struct ebt_resource *k8s_resource(void)
{
	struct ebt_resource *r = ebt_resource_new(42);

	assert_non_null(r);
	ebt_resource_add_str(r, "service.name", "checkout");
	ebt_resource_add_str(r, "k8s.namespace.name", "shop");
	ebt_resource_add_str(r, "k8s.pod.name", "checkout-7d9f-abcde");
	ebt_resource_add_str(r, "k8s.container.name", "app");
	ebt_resource_add_str(r, "k8s.node.name", "node-1");
	ebt_resource_add_str(r, "k8s.pod.ip", "10.1.2.3");
	ebt_resource_add_dyn(r, "k8s.pod.label.app.kubernetes.io/name",
			     "checkout-api");
	ebt_resource_add_str(r, "host.name", "node-1.example");
	return r;
}

static struct ebt_resource *host_resource(const char *service)
{
	struct ebt_resource *r = ebt_resource_new(7);

	assert_non_null(r);
	ebt_resource_add_str(r, "service.name", service);
	ebt_resource_add_str(r, "host.name", "box");
	ebt_resource_add_str(r, "process.executable.name", "java");
	return r;
}

static struct ebt_log_record record(const char *line, uint64_t ts, int stream,
				    bool ctx, uint8_t seed)
{
	struct ebt_log_record r = {
		.ts_ns = ts, .tgid = 7, .tid = 7, .stream = (uint8_t)stream,
		.has_ctx = ctx, .lines = 1, .line = line, .len = strlen(line),
	};

	memset(r.trace_id, seed, sizeof(r.trace_id));
	memset(r.span_id, (uint8_t)(seed + 1), sizeof(r.span_id));
	return r;
}

static const char *label(const struct loki_labels *ls, const char *name)
{
	for (unsigned i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].name, name) == 0)
			return ls->l[i].value;
	return NULL;
}

/* ---- labels -------------------------------------------------------------- */

static void test_labels_k8s(void **state)
{
	struct ebt_resource *r = k8s_resource();
	struct loki_labels ls;

	(void)state;
	assert_int_equal(loki_labels_from_resource(&ls, r, EBT_LOG_STDERR,
						   "prod-eu"), 0);
	assert_int_equal(ls.n, 10);
	assert_string_equal(label(&ls, "namespace"), "shop");
	assert_string_equal(label(&ls, "pod"), "checkout-7d9f-abcde");
	assert_string_equal(label(&ls, "container"), "app");
	assert_string_equal(label(&ls, "app"), "checkout-api");
	assert_string_equal(label(&ls, "job"), "shop/app");
	assert_string_equal(label(&ls, "node_name"), "node-1");
	assert_string_equal(label(&ls, "pod_ip"), "10.1.2.3");
	assert_string_equal(label(&ls, "cluster"), "prod-eu");
	assert_string_equal(label(&ls, "stream"), "stderr");
	assert_string_equal(label(&ls, "service_name"), "checkout");
	assert_null(label(&ls, "host"));
	assert_null(label(&ls, "trace_id"));
	/* sorted by name, key in selector syntax */
	for (unsigned i = 1; i < ls.n; i++)
		assert_true(strcmp(ls.l[i - 1].name, ls.l[i].name) < 0);
	assert_string_equal(ls.key,
			    "{app=\"checkout-api\", cluster=\"prod-eu\", "
			    "container=\"app\", job=\"shop/app\", "
			    "namespace=\"shop\", node_name=\"node-1\", "
			    "pod=\"checkout-7d9f-abcde\", pod_ip=\"10.1.2.3\", "
			    "service_name=\"checkout\", stream=\"stderr\"}");
	loki_labels_free(&ls);
	ebt_resource_unref(r);
}

static void test_labels_host(void **state)
{
	struct ebt_resource *r = host_resource("billing");
	struct loki_labels ls;

	(void)state;
	ebt_resource_add_str(r, "container.id",
			     "0123456789abcdef0123456789abcdef");
	assert_int_equal(loki_labels_from_resource(&ls, r, EBT_LOG_STDOUT,
						   NULL), 0);
	assert_int_equal(ls.n, 4);
	assert_string_equal(label(&ls, "host"), "box");
	assert_string_equal(label(&ls, "service_name"), "billing");
	assert_string_equal(label(&ls, "process"), "java");
	/* an id per container start: metadata, never a label */
	assert_null(label(&ls, "container_id"));
	assert_string_equal(label(&ls, "stream"), "stdout");
	assert_null(label(&ls, "cluster"));
	assert_null(label(&ls, "namespace"));
	loki_labels_free(&ls);

	/* no resource at all: still a valid stream */
	assert_int_equal(loki_labels_from_resource(&ls, NULL, EBT_LOG_STDOUT,
						   "c1"), 0);
	assert_int_equal(ls.n, 2);
	assert_string_equal(ls.key, "{cluster=\"c1\", stream=\"stdout\"}");
	loki_labels_free(&ls);
	ebt_resource_unref(r);
}

static void test_label_names(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "namespace", "namespace" },
		{ "k8s.pod.name", "k8s_pod_name" },
		{ "app.kubernetes.io/name", "app_kubernetes_io_name" },
		{ "9lives", "_9lives" },
		{ "with space-dash", "with_space_dash" },
		{ "_ok_", "_ok_" },
		{ "", "" },
	};
	char out[LOKI_LABEL_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(loki_label_name_sanitize(cases[i].in, out,
							  sizeof(out)),
				 strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
		if (*out)
			assert_true(loki_label_name_valid(out));
	}
	assert_false(loki_label_name_valid("9a"));
	assert_false(loki_label_name_valid("a.b"));
	assert_false(loki_label_name_valid(""));
	assert_false(loki_label_name_valid(NULL));
	assert_true(loki_label_name_valid("A_9"));
	assert_int_equal(loki_label_name_sanitize("abcdef", out, 4), 3);
	assert_string_equal(out, "abc");
}

static void test_labels_sanitised_and_capped(void **state)
{
	struct loki_labels ls;
	char big[3000];
	char name[16];

	(void)state;
	loki_labels_init(&ls);
	assert_int_equal(loki_labels_add(&ls, "a.b", "x\xff\"y"), 0);
	assert_int_equal(loki_labels_add(&ls, "a_b", "dup"), 0); /* same name */
	assert_int_equal(loki_labels_add(&ls, "empty", ""), 0);
	assert_int_equal(loki_labels_add(&ls, "null", NULL), 0);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + LOKI_LABEL_VALUE_MAX - 1, "é", 2); /* straddles the cut */
	assert_int_equal(loki_labels_add(&ls, "long", big), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "l%02d", i);
		assert_int_equal(loki_labels_add(&ls, name, "v"), 0);
	}
	assert_int_equal(ls.n, LOKI_MAX_LABELS);
	assert_int_equal(ls.dropped, 20 - (LOKI_MAX_LABELS - 2));
	assert_int_equal(loki_labels_finish(&ls), 0);
	assert_string_equal(label(&ls, "a_b"), "x\\xff\"y");
	assert_null(label(&ls, "empty"));
	assert_int_equal(strlen(label(&ls, "long")), LOKI_LABEL_VALUE_MAX - 1);
	assert_non_null(strstr(ls.key, "a_b=\"x\\\\xff\\\"y\""));
	for (unsigned i = 0; i < ls.n; i++)
		assert_true(loki_label_name_valid(ls.l[i].name));
	loki_labels_free(&ls);
}

static void test_push_url(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "http://loki:3100", "http://loki:3100/loki/api/v1/push" },
		{ "http://loki:3100/", "http://loki:3100/loki/api/v1/push" },
		{ "https://gw.example/tenant-a",
		  "https://gw.example/tenant-a/loki/api/v1/push" },
		{ "http://127.0.0.1:3100/loki/api/v1/push",
		  "http://127.0.0.1:3100/loki/api/v1/push" },
	};
	char *url;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(loki_push_url(cases[i].in, &url), 0);
		assert_string_equal(url, cases[i].out);
		free(url);
	}
	assert_int_equal(loki_push_url("ftp://loki", &url), -1);
	assert_null(url);
	assert_int_equal(loki_push_url("", &url), -1);
	assert_int_equal(loki_push_url(NULL, &url), -1);
}

/* ---- push JSON ----------------------------------------------------------- */

static cJSON *find_stream(cJSON *streams, const char *svc, const char *st)
{
	cJSON *s;

	cJSON_ArrayForEach(s, streams) {
		cJSON *lab = cJSON_GetObjectItem(s, "stream");
		cJSON *a = cJSON_GetObjectItem(lab, "service_name");
		cJSON *b = cJSON_GetObjectItem(lab, "stream");

		if (cJSON_IsString(a) && cJSON_IsString(b) &&
		    strcmp(a->valuestring, svc) == 0 &&
		    strcmp(b->valuestring, st) == 0)
			return s;
	}
	return NULL;
}

static void test_json_body(void **state)
{
	struct ebt_resource *a = host_resource("alpha");
	struct ebt_resource *a2 = host_resource("alpha"); /* same labels */
	struct ebt_resource *b = host_resource("beta");
	struct loki_batch *bt = loki_batch_new("c1");
	struct ebt_log_record r;
	cJSON *root, *streams, *s, *v, *meta;
	char *json;
	size_t len = 0;

	(void)state;
	assert_non_null(bt);
	/* out of order within a stream, interleaved streams */
	r = record("a3", TS0 + 3, EBT_LOG_STDOUT, true, 0x11);
	assert_int_equal(loki_batch_add(bt, a, &r), 0);
	r = record("b1", TS0 + 1, EBT_LOG_STDOUT, false, 0);
	assert_int_equal(loki_batch_add(bt, b, &r), 0);
	r = record("a1", TS0 + 1, EBT_LOG_STDOUT, false, 0);
	assert_int_equal(loki_batch_add(bt, a2, &r), 0);
	r = record("a-err \"quoted\" \\ \x01", TS0 + 2, EBT_LOG_STDERR, true,
		   0x22);
	assert_int_equal(loki_batch_add(bt, a, &r), 0);
	r = record("a2", TS0 + 2, EBT_LOG_STDOUT, false, 0);
	assert_int_equal(loki_batch_add(bt, a, &r), 0);
	r = record("a2-same-ts", TS0 + 2, EBT_LOG_STDOUT, false, 0);
	assert_int_equal(loki_batch_add(bt, a2, &r), 0);
	assert_int_equal(loki_batch_len(bt), 6);
	assert_int_equal(loki_batch_prepare(bt), 0);
	json = loki_batch_json(bt, 0, 6, &len);
	assert_non_null(json);
	assert_int_equal(strlen(json), len);

	root = cJSON_Parse(json);
	assert_non_null(root);
	streams = cJSON_GetObjectItem(root, "streams");
	assert_true(cJSON_IsArray(streams));
	assert_int_equal(cJSON_GetArraySize(streams), 3);

	s = find_stream(streams, "alpha", "stdout");
	assert_non_null(s);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "stream"),
						"cluster")->valuestring, "c1");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "stream"),
					"trace_id"));
	v = cJSON_GetObjectItem(s, "values");
	assert_int_equal(cJSON_GetArraySize(v), 4);
	{
		const char *want[] = { "a1", "a2", "a2-same-ts", "a3" };
		const char *ts[] = { "1700000000000000001",
				     "1700000000000000002",
				     "1700000000000000002",
				     "1700000000000000003" };

		for (int i = 0; i < 4; i++) {
			cJSON *e = cJSON_GetArrayItem(v, i);

			assert_string_equal(cJSON_GetArrayItem(e, 0)->valuestring,
					    ts[i]);
			assert_string_equal(cJSON_GetArrayItem(e, 1)->valuestring,
					    want[i]);
			assert_int_equal(cJSON_GetArraySize(e), i == 3 ? 3 : 2);
		}
	}
	meta = cJSON_GetArrayItem(cJSON_GetArrayItem(v, 3), 2);
	assert_string_equal(cJSON_GetObjectItem(meta, "trace_id")->valuestring,
			    "11111111111111111111111111111111");
	assert_string_equal(cJSON_GetObjectItem(meta, "span_id")->valuestring,
			    "1212121212121212");
	assert_int_equal(cJSON_GetArraySize(meta), 2);

	s = find_stream(streams, "alpha", "stderr");
	assert_non_null(s);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "values"), 0);
	assert_string_equal(cJSON_GetArrayItem(v, 1)->valuestring,
			    "a-err \"quoted\" \\ \x01");
	s = find_stream(streams, "beta", "stdout");
	assert_non_null(s);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "values")), 1);
	cJSON_Delete(root);
	free(json);

	/* a sub-range is a body of its own */
	json = loki_batch_json(bt, 1, 2, NULL);
	root = cJSON_Parse(json);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "streams")),
			 1);
	cJSON_Delete(root);
	free(json);

	loki_batch_free(bt);
	ebt_resource_unref(a);
	ebt_resource_unref(a2);
	ebt_resource_unref(b);
}

/* container.id: structured metadata on every line, with or without a trace
 * context; the stream's labels stay those of the service. */
static void test_json_container_metadata(void **state)
{
	static const char id[] = "3f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b"
				 "7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
	struct ebt_resource *c = host_resource("alpha");
	struct loki_batch *bt = loki_batch_new(NULL);
	struct ebt_log_record r;
	cJSON *root, *s, *v, *meta;
	char *json;

	(void)state;
	ebt_resource_add_dyn(c, "container.id", id);
	r = record("plain", TS0 + 1, EBT_LOG_STDOUT, false, 0);
	assert_int_equal(loki_batch_add(bt, c, &r), 0);
	r = record("traced", TS0 + 2, EBT_LOG_STDOUT, true, 0x11);
	assert_int_equal(loki_batch_add(bt, c, &r), 0);
	assert_int_equal(loki_batch_prepare(bt), 0);
	json = loki_batch_json(bt, 0, 2, NULL);
	root = cJSON_Parse(json);
	assert_non_null(root);
	s = find_stream(cJSON_GetObjectItem(root, "streams"), "alpha",
			"stdout");
	assert_non_null(s);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "stream"),
					"container_id"));
	v = cJSON_GetObjectItem(s, "values");
	meta = cJSON_GetArrayItem(cJSON_GetArrayItem(v, 0), 2);
	assert_int_equal(cJSON_GetArraySize(meta), 1);
	assert_string_equal(
		cJSON_GetObjectItem(meta, "container_id")->valuestring, id);
	meta = cJSON_GetArrayItem(cJSON_GetArrayItem(v, 1), 2);
	assert_int_equal(cJSON_GetArraySize(meta), 3);
	assert_string_equal(
		cJSON_GetObjectItem(meta, "container_id")->valuestring, id);
	assert_non_null(cJSON_GetObjectItem(meta, "trace_id"));
	cJSON_Delete(root);
	free(json);
	loki_batch_free(bt);
	ebt_resource_unref(c);
}

/* Lines are JSON-escaped by the push encoder: quotes, backslashes and
 * control characters round-trip; UTF-8 is kept as it is; an empty range is
 * an empty streams array. */
static void test_json_escaping(void **state)
{
	static const char line[] = "say \"hi\" C:\\tmp\ttab\nnl \x01\x1f "
				   "caf\xc3\xa9 </x>";
	struct ebt_resource *a = host_resource("alpha");
	struct loki_batch *bt = loki_batch_new(NULL);
	struct ebt_log_record r;
	cJSON *root, *s, *v, *meta;
	size_t len;
	char *json;

	(void)state;
	r = record(line, TS0 + 1, EBT_LOG_STDERR, true, 0xab);
	assert_int_equal(loki_batch_add(bt, a, &r), 0);
	assert_int_equal(loki_batch_prepare(bt), 0);
	json = loki_batch_json(bt, 0, 1, &len);
	assert_non_null(json);
	assert_int_equal(strlen(json), len);
	assert_non_null(strstr(json, "\\u0001\\u001f"));
	root = cJSON_Parse(json);
	assert_non_null(root);
	s = find_stream(cJSON_GetObjectItem(root, "streams"), "alpha",
			"stderr");
	assert_non_null(s);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "values"), 0);
	assert_int_equal(cJSON_GetArraySize(v), 3);
	assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring,
			    "1700000000000000001");
	assert_string_equal(cJSON_GetArrayItem(v, 1)->valuestring, line);
	meta = cJSON_GetArrayItem(v, 2);
	assert_string_equal(cJSON_GetObjectItem(meta, "trace_id")->valuestring,
			    "abababababababababababababababab");
	assert_string_equal(cJSON_GetObjectItem(meta, "span_id")->valuestring,
			    "acacacacacacacac");
	cJSON_Delete(root);
	free(json);

	json = loki_batch_json(bt, 1, 1, &len);
	assert_non_null(json);
	assert_string_equal(json, "{\"streams\":[]}");
	free(json);
	loki_batch_free(bt);
	ebt_resource_unref(a);
}

/* ---- HTTP fake ----------------------------------------------------------- */

enum fake_mode {
	FAKE_OK,          /* 204 */
	FAKE_MARKER_400,  /* 400 for bodies holding MARKER, else 204 */
	FAKE_429_ONCE,    /* 429 Retry-After: 0, then 204 */
	FAKE_500_ONCE,    /* 500 (Loki starting), then 204 */
	FAKE_401,         /* 401 always */
	FAKE_SILENT,      /* never answers */
};

#define MARKER "BAD-MARKER"

struct fake {
	struct fake_http h;  /* first: the answer callback casts back */
	enum fake_mode mode;
	char **lines;        /* lines of accepted requests, in order (h.lock) */
	size_t n_lines, cap_lines;
};

static char *gunzip(const uint8_t *in, size_t len)
{
	z_stream z = { 0 };
	size_t cap = 4 * len + 1024, out_len = 0;
	char *out = malloc(cap);
	int rc;

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (out_len + 1 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		z.next_out = (Bytef *)out + out_len;
		z.avail_out = (uInt)(cap - out_len - 1);
		rc = inflate(&z, Z_NO_FLUSH);
		out_len = cap - 1 - z.avail_out;
	} while (rc == Z_OK);
	assert_int_equal(rc, Z_STREAM_END);
	inflateEnd(&z);
	out[out_len] = '\0';
	return out;
}

static void add_line(struct fake *f, const char *s)
{
	if (f->n_lines == f->cap_lines) {
		f->cap_lines = f->cap_lines ? 2 * f->cap_lines : 256;
		f->lines = realloc(f->lines, f->cap_lines * sizeof(char *));
		assert_non_null(f->lines);
	}
	f->lines[f->n_lines++] = strdup(s);
}

/* Accepted: remember every line, in body order. */
static void store_lines(struct fake *f, const char *json)
{
	cJSON *root = cJSON_Parse(json), *s, *v;

	assert_non_null(root);
	pthread_mutex_lock(&f->h.lock);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(root, "streams"))
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(s, "values"))
			add_line(f, cJSON_GetArrayItem(v, 1)->valuestring);
	pthread_mutex_unlock(&f->h.lock);
	cJSON_Delete(root);
}

/* The refusal mode's answer to request nth, or NULL: accept it. */
static const char *refusal(struct fake *f, const char *json, int nth)
{
	switch (f->mode) {
	case FAKE_MARKER_400:
		return strstr(json, MARKER) ?
			       "HTTP/1.1 400 Bad Request\r\nContent-Length: 35"
			       "\r\nConnection: close\r\n\r\n"
			       "entry with " MARKER " refused\nmore\n" :
			       NULL;
	case FAKE_429_ONCE:
		return nth > 1 ? NULL :
				 "HTTP/1.1 429 Too Many Requests\r\n"
				 "Retry-After: 0\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n";
	case FAKE_500_ONCE:
		return nth > 1 ? NULL :
				 "HTTP/1.1 500 Internal Server Error\r\n"
				 "Content-Length: 11\r\nConnection: close"
				 "\r\n\r\nempty ring\n";
	case FAKE_401:
		return "HTTP/1.1 401 Unauthorized\r\n"
		       "Content-Length: 4\r\nConnection: close\r\n\r\nnope";
	default:
		return NULL;
	}
}

static void answer(struct fake_http *h, int fd, const uint8_t *body,
		   size_t body_len, int nth)
{
	struct fake *f = (struct fake *)h;
	char *json;
	const char *no;

	if (f->mode == FAKE_SILENT) {
		fake_http_hold(h, fd);
		return;
	}
	pthread_mutex_lock(&h->lock);
	json = strcasestr(h->headers, "\r\nContent-Encoding: gzip") ?
		       gunzip(body, body_len) :
		       strndup((const char *)body, body_len);
	pthread_mutex_unlock(&h->lock);
	no = refusal(f, json, nth);
	if (no) {
		fake_http_write_str(fd, no);
	} else {
		store_lines(f, json);
		fake_http_write_str(fd, "HTTP/1.1 204 No Content\r\n"
				    "Connection: close\r\n\r\n");
	}
	free(json);
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
	for (size_t i = 0; i < f->n_lines; i++)
		free(f->lines[i]);
	free(f->lines);
	free(f);
}

/* ---- exporter ------------------------------------------------------------ */

struct exp_fixture {
	struct loki_config cfg;
	char url[96];
	struct ebt_resource *res;
};

static void fixture_init(struct exp_fixture *x, uint16_t port)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->url, sizeof(x->url),
		 "http://127.0.0.1:%u/loki/api/v1/push", port);
	x->cfg.url = x->url;
	x->cfg.timeout_ms = 2000;
	x->cfg.gzip = true;
	x->cfg.queue_bytes = 1 << 20;
	x->cfg.batch_bytes = 1 << 20;
	x->cfg.batch_timeout_ms = 50;
	x->cfg.cluster = "test";
	x->res = host_resource("svc");
}

static struct loki_exporter *start(struct exp_fixture *x)
{
	char err[256];
	struct loki_exporter *e = loki_exporter_new(&x->cfg, err, sizeof(err));

	if (!e)
		fail_msg("loki_exporter_new: %s", err);
	return e;
}

/* Lines "line NNNN"; with markers, every i % 7 == 3 also holds MARKER. */
static void submit_lines(struct loki_exporter *e, struct exp_fixture *x,
			 unsigned from, unsigned n, bool markers)
{
	for (unsigned i = from; i < from + n; i++) {
		char line[64];
		struct ebt_log_record r;
		bool bad = markers && i % 7 == 3;

		snprintf(line, sizeof(line), "line %04u%s", i, bad ? " " MARKER : "");
		r = record(line, TS0 + i, EBT_LOG_STDOUT, i % 2, (uint8_t)i);
		assert_true(loki_exporter_submit(e, x->res, &r));
	}
}

typedef bool (*stats_pred)(const struct loki_stats *s, uint64_t arg);

static bool done_at_least(const struct loki_stats *s, uint64_t n)
{
	return s->entries_sent + s->entries_rejected +
		       s->entries_dropped_failed >= n &&
	       s->queue_bytes == 0;
}

static void wait_stats(struct loki_exporter *e, stats_pred pred, uint64_t arg,
		       struct loki_stats *out)
{
	uint64_t until = fake_mono_ns() + 10000000000ull;

	do {
		loki_exporter_stats(e, out);
		if (pred(out, arg))
			return;
		fake_sleep_ms(10);
	} while (fake_mono_ns() < until);
	fail_msg("stats not reached: sent %llu rejected %llu failed %llu "
		 "requests %llu",
		 (unsigned long long)out->entries_sent,
		 (unsigned long long)out->entries_rejected,
		 (unsigned long long)out->entries_dropped_failed,
		 (unsigned long long)out->requests);
}

static void assert_conserved(const struct loki_stats *s)
{
	assert_int_equal(s->entries_queued,
			 s->entries_sent + s->entries_rejected +
				 s->entries_dropped_failed +
				 s->entries_dropped_shutdown);
	assert_int_equal(s->queue_bytes, 0);
}

static void test_export_ok_headers_and_order(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.tenant = "team-a";
	x.cfg.username = "user";
	x.cfg.password = "secret";
	e = start(&x);
	submit_lines(e, &x, 0, 50, false);
	wait_stats(e, done_at_least, 50, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.entries_sent, 50);
	assert_conserved(&st);
	assert_int_equal(f->n_lines, 50);
	for (size_t i = 0; i < 50; i++) {
		char want[32];

		snprintf(want, sizeof(want), "line %04zu", i);
		assert_string_equal(f->lines[i], want);
	}
	assert_non_null(strstr(f->h.headers, "POST /loki/api/v1/push HTTP/1.1"));
	assert_non_null(strcasestr(f->h.headers, "\r\nX-Scope-OrgID: team-a"));
	assert_non_null(strcasestr(f->h.headers, "\r\nContent-Type: application/json"));
	assert_non_null(strcasestr(f->h.headers, "\r\nContent-Encoding: gzip"));
	/* base64("user:secret") */
	assert_non_null(strstr(f->h.headers,
			       "\r\nAuthorization: Basic dXNlcjpzZWNyZXQ="));
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_bearer_and_batches(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.bearer_token = "tok123";
	x.cfg.gzip = false;
	x.cfg.batch_bytes = 1000; /* ~10 lines of ~100 JSON bytes */
	x.cfg.batch_timeout_ms = 5000;
	e = start(&x);
	submit_lines(e, &x, 0, 100, false);
	wait_stats(e, done_at_least, 100, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.entries_sent, 100);
	assert_true(st.requests >= 8);
	assert_int_equal(f->n_lines, 100);
	for (size_t i = 0; i < 100; i++) {
		char want[32];

		snprintf(want, sizeof(want), "line %04zu", i);
		assert_string_equal(f->lines[i], want);
	}
	assert_non_null(strstr(f->h.headers, "\r\nAuthorization: Bearer tok123"));
	assert_null(strcasestr(f->h.headers, "Content-Encoding"));
	assert_null(strcasestr(f->h.headers, "X-Scope-OrgID"));
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* 400: only the entries carrying the marker are dropped, each once. */
static void test_export_400_split(void **state)
{
	struct fake *f = fake_start(FAKE_MARKER_400);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;
	unsigned bad = 0;
	size_t k = 0;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_timeout_ms = 200;
	e = start(&x);
	submit_lines(e, &x, 0, 100, true);
	for (unsigned i = 0; i < 100; i++)
		bad += i % 7 == 3;
	wait_stats(e, done_at_least, 100, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.entries_rejected, bad);
	assert_int_equal(st.entries_sent, 100 - bad);
	assert_true(st.splits > 0);
	assert_conserved(&st);
	assert_int_equal(f->n_lines, 100 - bad);
	for (unsigned i = 0; i < 100; i++) {
		char want[32];

		if (i % 7 == 3)
			continue;
		snprintf(want, sizeof(want), "line %04u", i);
		assert_string_equal(f->lines[k++], want);
	}
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_429_retry(void **state)
{
	struct fake *f = fake_start(FAKE_429_ONCE);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	e = start(&x);
	submit_lines(e, &x, 0, 10, false);
	wait_stats(e, done_at_least, 10, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.entries_sent, 10);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.request_errors, 1);
	assert_int_equal(f->n_lines, 10);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* Loki answers 500 while it starts: retried like a 503. */
static void test_export_500_retried(void **state)
{
	struct fake *f = fake_start(FAKE_500_ONCE);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	e = start(&x);
	submit_lines(e, &x, 0, 5, false);
	wait_stats(e, done_at_least, 5, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.entries_sent, 5);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.retries, 1);
	assert_conserved(&st);
	assert_int_equal(f->n_lines, 5);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* Not retryable (401): dropped at once, counted. */
static void test_export_401_dropped(void **state)
{
	struct fake *f = fake_start(FAKE_401);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;

	(void)state;
	fixture_init(&x, f->h.port);
	e = start(&x);
	submit_lines(e, &x, 0, 5, false);
	wait_stats(e, done_at_least, 5, &st);
	loki_exporter_shutdown(e, 1000, &st);
	assert_int_equal(st.entries_dropped_failed, 5);
	assert_int_equal(st.entries_sent, 0);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.retries, 0);
	assert_conserved(&st);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

/* A hung Loki: the queue fills to its bound, the rest is counted. */
static void test_export_queue_bound(void **state)
{
	struct fake *f = fake_start(FAKE_SILENT);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;
	unsigned accepted = 0;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.queue_bytes = 16 * 1024;
	x.cfg.batch_timeout_ms = 10;
	x.cfg.timeout_ms = 60000;
	e = start(&x);
	for (unsigned i = 0; i < 2000; i++) {
		char line[100];
		struct ebt_log_record r;

		snprintf(line, sizeof(line), "%090u", i);
		r = record(line, TS0 + i, EBT_LOG_STDOUT, false, 0);
		accepted += loki_exporter_submit(e, x.res, &r);
		loki_exporter_stats(e, &st);
		assert_true(st.queue_bytes <= x.cfg.queue_bytes);
	}
	loki_exporter_stats(e, &st);
	assert_true(accepted > 10);
	assert_true(accepted < 2000);
	assert_int_equal(st.entries_dropped_queue_full, 2000 - accepted);
	assert_int_equal(st.entries_queued, accepted);
	loki_exporter_shutdown(e, 300, &st);
	assert_int_equal(st.entries_dropped_shutdown, accepted);
	assert_conserved(&st);
	/* after shutdown began, nothing is accepted: checked by counters */
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void test_export_batch_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_OK);
	struct exp_fixture x;
	struct loki_exporter *e;
	struct loki_stats st;
	uint64_t t0;

	(void)state;
	fixture_init(&x, f->h.port);
	x.cfg.batch_timeout_ms = 300;
	e = start(&x);
	t0 = fake_mono_ns();
	submit_lines(e, &x, 0, 3, false);
	fake_sleep_ms(100);
	assert_int_equal(fake_http_requests(&f->h), 0); /* waits for more */
	wait_stats(e, done_at_least, 3, &st);
	assert_true(fake_mono_ns() - t0 >= 250000000ull);
	assert_int_equal(st.requests, 1);
	loki_exporter_shutdown(e, 1000, NULL);
	fake_stop(f);
	ebt_resource_unref(x.res);
}

static void expect_config_error(struct loki_config *c, const char *needle)
{
	char err[256];

	assert_null(loki_exporter_new(c, err, sizeof(err)));
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_export_bad_config(void **state)
{
	struct loki_config c = { .url = "http://127.0.0.1:1/loki/api/v1/push" };

	(void)state;
	c.username = "u";
	c.bearer_token = "t";
	expect_config_error(&c, "not both");
	c.username = NULL;
	c.bearer_token = NULL;
	c.password = "p";
	expect_config_error(&c, "needs a username");
	c.password = NULL;
	c.tenant = "a\r\nInjected: 1";
	expect_config_error(&c, "line breaks");
	c.tenant = NULL;
	c.url = NULL;
	expect_config_error(&c, "no push URL");
	expect_config_error(NULL, "no configuration");
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_labels_k8s),
		T(test_labels_host),
		T(test_label_names),
		T(test_labels_sanitised_and_capped),
		T(test_push_url),
		T(test_json_body),
		T(test_json_container_metadata),
		T(test_json_escaping),
		T(test_export_ok_headers_and_order),
		T(test_export_bearer_and_batches),
		T(test_export_400_split),
		T(test_export_429_retry),
		T(test_export_500_retried),
		T(test_export_401_dropped),
		T(test_export_queue_bound),
		T(test_export_batch_timeout),
		T(test_export_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
