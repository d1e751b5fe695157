/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of the OTLP exporter path, in spans per CPU-second.
 * Typical HTTP server spans: 12 attributes, one shared k8s resource,
 * batches of 512 (the default batch size).
 *   otlp_bench [seconds]            encode + gzip only, on this thread;
 *                                   prints
 *                                   "otlp_encode_gzip_spans_per_cpu_second N"
 *                                   "otlp_gzip_bytes_per_span N"
 *                                   "otlp_raw_bytes_per_span N"
 *   otlp_bench post URL [spans [none]]
 *                                   the real exporter (queue, thread,
 *                                   protobuf-c, gzip, libcurl POST, freeing
 *                                   the spans) to URL, e.g. the sink of
 *                                   tests/bench/otlp_sink.py; prints
 *                                   "otlp_post_thread_spans_per_cpu_second N"
 *                                   "otlp_post_spans_per_cpu_second N"
 *                                   or, with "none" (bodies not compressed:
 *                                   otlp.compression=none), the same names
 *                                   with "post_plain" for "post"
 * The thread figure divides by the CPU time of the exporter's worker thread
 * alone (otlp_stats.worker_cpu_ns): spans encoded, compressed and posted per
 * CPU-second of that thread. The second divides by the whole process's CPU,
 * creating the spans on the main thread included, so it is a lower bound.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otlp.h"

#define BATCH 512

static const char *const paths[] = {
	"/api/v1/orders/12345", "/api/v1/users/me", "/healthz",
	"/api/v1/cart/items?limit=20", "/static/app.js", "/api/v1/search?q=shoes",
};

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ebt_resource *make_resource(void)
{
	struct ebt_resource *r = ebt_resource_new(4242);

	if (!r)
		return NULL;
	ebt_resource_add_str(r, "service.name", "checkout");
	ebt_resource_add_str(r, "k8s.namespace.name", "shop");
	ebt_resource_add_str(r, "k8s.pod.name", "checkout-7d9f8b6c5d-x2k4q");
	ebt_resource_add_str(r, "k8s.pod.uid",
			     "3f1c2a9e-6b7d-4e1a-9c2b-1d2e3f4a5b6c");
	ebt_resource_add_str(r, "k8s.container.name", "checkout");
	ebt_resource_add_str(r, "k8s.node.name", "node-a");
	ebt_resource_add_str(r, "k8s.deployment.name", "checkout");
	ebt_resource_add_str(r, "container.id",
			     "8c5e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6");
	ebt_resource_add_int(r, "process.pid", 4242);
	ebt_resource_add_str(r, "host.name", "node-a");
	ebt_resource_add_str(r, "telemetry.sdk.name", "ebpftrace");
	return r;
}

static void random_id(uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		id[i] = (uint8_t)(rand() & 0xff);
}

static struct ebt_span *make_span(struct ebt_resource *r, unsigned i)
{
	struct ebt_span *s = ebt_span_new();
	const char *path = paths[i % (sizeof(paths) / sizeof(paths[0]))];

	if (!s)
		return NULL;
	random_id(s->trace_id, sizeof(s->trace_id));
	random_id(s->span_id, sizeof(s->span_id));
	if (i % 3)
		random_id(s->parent_span_id, sizeof(s->parent_span_id));
	ebt_span_set_name(s, i % 2 ? "GET /api/v1/orders/{id}" : "GET");
	s->kind = EBT_KIND_SERVER;
	s->start_ns = 1700000000000000000ull + (uint64_t)i * 1000003;
	s->end_ns = s->start_ns + 250000 + (uint64_t)(rand() % 100000);
	ebt_span_add_str(s, "http.request.method", "GET");
	ebt_span_add_int(s, "http.response.status_code", i % 17 ? 200 : 503);
	ebt_span_add_str(s, "url.path", path);
	ebt_span_add_str(s, "url.scheme", "http");
	ebt_span_add_str(s, "server.address", "checkout.shop.svc");
	ebt_span_add_int(s, "server.port", 8080);
	ebt_span_add_str(s, "client.address", "10.244.1.17");
	ebt_span_add_str(s, "network.peer.address", "10.244.1.17");
	ebt_span_add_int(s, "network.peer.port", 40000 + (int64_t)(i % 20000));
	ebt_span_add_str(s, "http.route", "/api/v1/orders/{id}");
	ebt_span_add_str(s, "user_agent.original", "Go-http-client/1.1");
	ebt_span_add_str(s, "network.protocol.version", "1.1");
	if (i % 17 == 0)
		s->status = EBT_STATUS_ERROR;
	s->resource = ebt_resource_ref(r);
	return s;
}

/* One batch, as the exporter's worker does it (encoder state reused). */
static int run_once(struct otlp_encoder *enc, struct ebt_span **spans,
		    size_t *bytes, size_t *raw_bytes)
{
	const uint8_t *pb, *gz;

	if (otlp_encoder_encode(enc, spans, BATCH, &pb, raw_bytes) != 0 ||
	    otlp_encoder_gzip(enc, pb, *raw_bytes, &gz, bytes) != 0)
		return -1;
	return 0;
}

/* Submit n fresh spans, waiting (not dropping) when the queue is full. */
static int post_spans(struct otlp_exporter *e, struct ebt_resource *r,
		      unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ebt_span *s = make_span(r, i);

		if (!s)
			return -1;
		while (!otlp_exporter_submit(e, s)) {
			usleep(200);
			if (!(s = make_span(r, i)))
				return -1;
		}
	}
	return 0;
}

static int run_post(const char *url, unsigned n, bool gzip)
{
	const char *mode = gzip ? "post" : "post_plain";
	struct otlp_config cfg = {
		.url = url, .timeout_ms = 10000, .gzip = gzip,
		.queue_bytes = 64 << 20, .batch_spans = BATCH,
		.batch_timeout_ms = 200,
	};
	struct ebt_resource *r = make_resource();
	struct otlp_stats st = {0};
	struct otlp_exporter *e;
	char err[256];
	double t0, t1;

	if (!r || !(e = otlp_exporter_new(&cfg, err, sizeof(err)))) {
		fprintf(stderr, "otlp_bench: %s\n", r ? err : "out of memory");
		return 1;
	}
	t0 = cpu_seconds();
	if (post_spans(e, r, n) != 0)
		return 1;
	otlp_exporter_shutdown_stats(e, 60000, &st);
	t1 = cpu_seconds();
	ebt_resource_unref(r);
	fprintf(stderr, "otlp_bench: %llu of %u spans exported in %llu requests "
		"(%llu errors), %.2f cpu-s (exporter thread %.2f)\n",
		(unsigned long long)st.spans_exported, n,
		(unsigned long long)st.requests,
		(unsigned long long)st.request_errors, t1 - t0,
		(double)st.worker_cpu_ns / 1e9);
	if (st.spans_exported != n || st.worker_cpu_ns == 0)
		return 1;
	printf("otlp_%s_thread_spans_per_cpu_second %.0f\n", mode,
	       (double)n * 1e9 / (double)st.worker_cpu_ns);
	printf("otlp_%s_spans_per_cpu_second %.0f\n", mode,
	       (double)n / (t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	struct ebt_span *spans[BATCH];
	struct ebt_resource *r = make_resource();
	struct otlp_encoder *enc = otlp_encoder_new();
	uint64_t n = 0;
	size_t gz_bytes = 0, raw_bytes = 0;
	double t0, t1;
	int rc = 0;

	if (argc > 2 && strcmp(argv[1], "post") == 0) {
		otlp_encoder_free(enc);
		ebt_resource_unref(r);
		return run_post(argv[2],
				argc > 3 ? (unsigned)atoi(argv[3]) : 500000,
				!(argc > 4 && strcmp(argv[4], "none") == 0));
	}
	if (!r || !enc)
		return 1;
	srand(1);
	for (unsigned i = 0; i < BATCH; i++)
		if (!(spans[i] = make_span(r, i)))
			return 1;
	t0 = cpu_seconds();
	do {
		if (run_once(enc, spans, &gz_bytes, &raw_bytes) != 0) {
			rc = 1;
			break;
		}
		n += BATCH;
		t1 = cpu_seconds();
	} while (t1 - t0 < secs);
	if (rc == 0) {
		fprintf(stderr, "otlp_bench: %llu spans, %.2f cpu-s, %.1f gzip bytes/span\n",
			(unsigned long long)n, t1 - t0, (double)gz_bytes / BATCH);
		printf("otlp_encode_gzip_spans_per_cpu_second %.0f\n",
		       (double)n / (t1 - t0));
		printf("otlp_gzip_bytes_per_span %.1f\n",
		       (double)gz_bytes / BATCH);
		printf("otlp_raw_bytes_per_span %.1f\n",
		       (double)raw_bytes / BATCH);
	}
	for (unsigned i = 0; i < BATCH; i++)
		ebt_span_free(spans[i]);
	otlp_encoder_free(enc);
	ebt_resource_unref(r);
	return rc;
}
