/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/HTTP trace exporter on the shared export worker (export_worker.c):
 * bounded queue -> worker thread -> libcurl.
 *
 * submit() (capture thread) only hands the span to the worker's queue; it
 * never logs or touches the network. The worker takes up to batch_spans
 * spans (each costs 1), encodes and compresses them with an encoder reused
 * from batch to batch and POSTs them, retrying per retry_policy(). A 2xx
 * answer may carry partial_success.rejected_spans: those are counted
 * rejected, the rest exported.
 */
#include "otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_worker.h"
#include "otlp_trace_service.pb-c.h"

#define OTLP_DEFAULT_BATCH_SPANS 512

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
	pb_response;

struct otlp_exporter {
	struct ew_worker *w;
	bool gzip;
	uint32_t batch_spans;

	/* worker thread only (take: under the worker's lock) */
	struct otlp_encoder *enc; /* buffers reused from batch to batch */
	struct ebt_span **batch;
	size_t batch_n;
};

/* ---- worker callbacks ---------------------------------------------------- */

static int take_span(void *ctx, void *item)
{
	struct otlp_exporter *e = ctx;

	if (e->batch_n >= e->batch_spans)
		return -1;
	e->batch[e->batch_n++] = item;
	return 0;
}

static void free_span(void *item)
{
	ebt_span_free(item);
}

/* partial_success.rejected_spans of a 2xx answer, at most n. */
static uint64_t partial_rejects(struct otlp_exporter *e, uint64_t n)
{
	uint64_t rejected = 0;
	const char *ct;
	size_t len;
	const uint8_t *body = ew_response(e->w, &len, &ct);
	pb_response *msg;

	if (len == 0 || (ct && !strstr(ct, "protobuf")))
		return 0;
	msg = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
		NULL, len, body);
	if (!msg) {
		ew_log(e->w, EW_LOG_RESPONSE,
		       "unparseable ExportTraceServiceResponse (%zu bytes)", len);
		return 0;
	}
	if (msg->partial_success) {
		int64_t r = msg->partial_success->rejected_spans;

		rejected = r < 0 ? 0 : (uint64_t)r > n ? n : (uint64_t)r;
		if (rejected || msg->partial_success->error_message[0])
			ew_log(e->w, EW_LOG_REJECTED,
			       "partial success: %llu of %llu spans rejected: %s",
			       (unsigned long long)rejected,
			       (unsigned long long)n,
			       msg->partial_success->error_message);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
		msg, NULL);
	return rejected;
}

/* *body points into e->enc: valid until the next batch is encoded. */
static int encode_batch(struct otlp_exporter *e, const uint8_t **body,
			size_t *len)
{
	const uint8_t *pb;
	size_t pb_len;

	if (otlp_encoder_encode(e->enc, e->batch, e->batch_n, &pb,
				&pb_len) != 0)
		return -1;
	if (!e->gzip) {
		*body = pb;
		*len = pb_len;
		return 0;
	}
	return otlp_encoder_gzip(e->enc, pb, pb_len, body, len);
}

static void free_batch(struct otlp_exporter *e)
{
	for (size_t i = 0; i < e->batch_n; i++)
		ebt_span_free(e->batch[i]);
	e->batch_n = 0;
}

/* The spans are freed once encoded: a retry resends the encoded body, so
 * a slow or failing collector holds ~60 bytes per span, not the spans. */
static void send_spans(void *ctx)
{
	struct otlp_exporter *e = ctx;
	size_t n = e->batch_n;
	const uint8_t *body;
	uint64_t rejected;
	size_t len;
	int rc = encode_batch(e, &body, &len);

	free_batch(e);
	if (rc != 0) {
		ew_log(e->w, EW_LOG_ENCODE,
		       "cannot encode %zu spans (out of memory)", n);
		ew_account(e->w, EW_OUT_FAILED, n);
		return;
	}
	if (ew_send(e->w, body, len, n) != EW_SENT)
		return;
	rejected = partial_rejects(e, n);
	ew_account(e->w, EW_OUT_SENT, n - rejected);
	ew_account(e->w, EW_OUT_REJECTED, rejected);
}

/* ---- submit and stats ---------------------------------------------------- */

bool otlp_exporter_submit(struct otlp_exporter *e, struct ebt_span *span)
{
	if (!span)
		return false;
	if (e)
		span = ebt_span_compact(span); /* it waits: only what it uses */
	if (!e || !ew_submit(e->w, span, ebt_span_size(span), 1)) {
		ebt_span_free(span);
		return false;
	}
	return true;
}

void otlp_exporter_stats(struct otlp_exporter *e, struct otlp_stats *out)
{
	ew_stats(e->w, out);
}

static void report_stats(void *ctx, const struct ew_stats *s, void *stats)
{
	struct otlp_stats *out = stats;

	(void)ctx;
	*out = (struct otlp_stats){
		.spans_queued = s->queued,
		.spans_exported = s->sent,
		.spans_dropped_queue_full = s->dropped_queue_full,
		.spans_dropped_rejected = s->failed,
		.spans_rejected_partial = s->rejected,
		.requests = s->requests,
		.request_errors = s->request_errors,
		.retries = s->retries,
		.queue_bytes = s->queue_bytes,
		.spans_dropped_shutdown = s->dropped_shutdown,
		.queue_spans = s->queue_items,
		.worker_cpu_ns = s->worker_cpu_ns,
	};
}

static const struct ew_ops otlp_ops = {
	.name = "otlp",
	.unit = "spans",
	.content_type = "application/x-protobuf",
	/* every span takes at least its header (compacted, no attributes) */
	.min_item_bytes = sizeof(struct ebt_span),
	.take = take_span,
	.send = send_spans,
	.free_item = free_span,
	.report = report_stats,
};

/* ---- setup --------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* An RFC 9110 token: a valid header field name. */
static bool is_token(const char *s, int len)
{
	if (len <= 0)
		return false;
	for (int i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* "k=v": percent-decode both, validate, append "k: v" to the list. */
static int add_header(struct otlp_exporter *e, char *kv, char *err,
		      size_t errlen)
{
	char *eq = strchr(kv, '='), *key = NULL, *val = NULL, *line = NULL;
	int klen = 0, vlen = 0, rc = -1;

	if (!eq) {
		snprintf(err, errlen, "otlp headers: '%s' is not key=value", kv);
		return -1;
	}
	*eq = '\0';
	key = curl_easy_unescape(ew_curl(e->w), trim(kv), 0, &klen);
	val = curl_easy_unescape(ew_curl(e->w), trim(eq + 1), 0, &vlen);
	if (!key || !val)
		goto out;
	if (!is_token(key, klen)) {
		snprintf(err, errlen, "otlp headers: bad header name '%s'", kv);
		goto out;
	}
	if (strcspn(val, "\r\n") != (size_t)vlen) {
		snprintf(err, errlen, "otlp headers: bad value for '%s'", key);
		goto out;
	}
	/* "Name;" makes curl send an empty value ("Name:" would remove it) */
	if (asprintf(&line, vlen ? "%s: %s" : "%s;", key, val) < 0) {
		line = NULL;
		goto out;
	}
	rc = ew_add_header(e->w, line);
out:
	if (rc != 0 && !err[0])
		snprintf(err, errlen, "otlp headers: out of memory");
	free(line);
	curl_free(key);
	curl_free(val);
	return rc;
}

static int build_headers(struct otlp_exporter *e, const char *spec,
			 char *err, size_t errlen)
{
	char *copy, *save = NULL;
	int rc = 0;

	if (!spec || !*spec)
		return 0;
	copy = strdup(spec);
	if (!copy) {
		snprintf(err, errlen, "otlp: out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*trim(tok))
			rc = add_header(e, trim(tok), err, errlen);
	}
	free(copy);
	return rc;
}

static void apply_config(struct otlp_exporter *e, const struct otlp_config *c,
			 struct ew_config *wc)
{
	e->gzip = c->gzip;
	e->batch_spans = c->batch_spans ? c->batch_spans :
					  OTLP_DEFAULT_BATCH_SPANS;
	*wc = (struct ew_config){
		.url = c->url,
		.timeout_ms = c->timeout_ms,
		.gzip = c->gzip,
		.queue_bytes = c->queue_bytes,
		.batch_cost = e->batch_spans,
		.batch_timeout_ms = c->batch_timeout_ms,
		.ca_file = c->ca_file,
		.cert_file = c->cert_file,
		.key_file = c->key_file,
	};
}

static void exporter_free(struct otlp_exporter *e)
{
	free(e->batch);
	otlp_encoder_free(e->enc);
	free(e);
}

struct otlp_exporter *otlp_exporter_new(const struct otlp_config *cfg,
					char *err, size_t errlen)
{
	struct otlp_exporter *e;
	struct ew_config wc;

	err[0] = '\0';
	if (!cfg || !cfg->url || !*cfg->url) {
		snprintf(err, errlen, "otlp: no endpoint URL");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "otlp: out of memory");
		return NULL;
	}
	apply_config(e, cfg, &wc);
	e->batch = calloc(e->batch_spans, sizeof(*e->batch));
	e->enc = otlp_encoder_new();
	if (!e->batch || !e->enc) {
		snprintf(err, errlen, "otlp: out of memory");
		exporter_free(e);
		return NULL;
	}
	e->w = ew_new(&wc, &otlp_ops, e, err, errlen);
	if (!e->w || build_headers(e, cfg->headers, err, errlen) != 0 ||
	    ew_start(e->w, err, errlen) != 0) {
		ew_free(e->w);
		exporter_free(e);
		return NULL;
	}
	return e;
}

void otlp_exporter_shutdown_stats(struct otlp_exporter *e,
				  uint64_t deadline_ms,
				  struct otlp_stats *final)
{
	if (!e)
		return;
	ew_shutdown(e->w, deadline_ms, final);
	exporter_free(e);
}

void otlp_exporter_shutdown(struct otlp_exporter *e, uint64_t deadline_ms)
{
	otlp_exporter_shutdown_stats(e, deadline_ms, NULL);
}
