/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/HTTP protobuf trace exporter.
 * submit() is called on the capture thread and never blocks on the network:
 * spans go into a queue bounded by bytes; a worker thread batches, encodes
 * (protobuf-c), compresses (zlib gzip) and posts (libcurl) them, retrying per
 * retry_policy(). What does not fit is dropped and counted. The queue, the
 * thread and the retries are the export worker's (export_worker.h).
 */
#ifndef EBT_OTLP_H
#define EBT_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "span.h"

/* InstrumentationScope of every exported span. */
#define OTLP_SCOPE_NAME "ebpftrace"
#ifndef EBT_VERSION
#define EBT_VERSION "0.1.0"
#endif

struct otlp_config {
	const char *url;     /* full traces URL, e.g. http://h:4318/v1/traces */
	const char *headers; /* "k=v,k2=v2", values URL-decoded; may be NULL */
	uint64_t timeout_ms; /* per request */
	bool gzip;
	uint64_t queue_bytes;   /* bound on queued span bytes */
	uint32_t batch_spans;   /* max spans per request */
	uint64_t batch_timeout_ms; /* max wait before sending a partial batch */
	const char *ca_file;    /* https: PEM CA bundle; NULL: the system's */
	const char *cert_file;  /* https: PEM client certificate, or NULL */
	const char *key_file;   /* its private key, or NULL */
};

struct otlp_stats {
	uint64_t spans_queued;   /* accepted by submit */
	uint64_t spans_exported; /* acknowledged by the backend */
	uint64_t spans_dropped_queue_full;
	uint64_t spans_dropped_rejected; /* 400/413 or retries exhausted */
	uint64_t spans_rejected_partial; /* partial_success.rejected_spans */
	uint64_t requests;
	uint64_t request_errors; /* non-2xx or transport errors */
	uint64_t retries;
	uint64_t queue_bytes;    /* currently queued */
	uint64_t spans_dropped_shutdown; /* still queued when the deadline hit */
	uint64_t queue_spans;    /* currently queued, without the batch in flight */
	uint64_t worker_cpu_ns;  /* CPU time used by the worker thread so far */
};

struct otlp_exporter;

struct otlp_exporter *otlp_exporter_new(const struct otlp_config *cfg,
					char *err, size_t errlen);
/* Takes ownership of span. Returns false if dropped (queue full). */
bool otlp_exporter_submit(struct otlp_exporter *e, struct ebt_span *span);
void otlp_exporter_stats(struct otlp_exporter *e, struct otlp_stats *out);
/* Flush what it can until deadline_ms from now, stop the thread, free. */
void otlp_exporter_shutdown(struct otlp_exporter *e, uint64_t deadline_ms);
/* Same, and copy the final counters (after the flush) to *final if set. */
void otlp_exporter_shutdown_stats(struct otlp_exporter *e,
				  uint64_t deadline_ms,
				  struct otlp_stats *final);

/*
 * Encoder state reused from batch to batch by one thread: the message
 * arrays, the protobuf and gzip output buffers and the deflate stream grow
 * to the largest batch seen and are kept, so a steady exporter allocates
 * nothing per batch. Not thread-safe.
 */
struct otlp_encoder;

struct otlp_encoder *otlp_encoder_new(void);
void otlp_encoder_free(struct otlp_encoder *enc);
/*
 * Encode spans as an ExportTraceServiceRequest, grouped by resource
 * (pointer identity). *out points into enc and stays valid until the next
 * encode on enc. Returns 0 on success.
 */
int otlp_encoder_encode(struct otlp_encoder *enc,
			struct ebt_span *const *spans, size_t n,
			const uint8_t **out, size_t *out_len);
/* gzip (RFC 1952) via zlib; *out points into enc until the next gzip. */
int otlp_encoder_gzip(struct otlp_encoder *enc, const uint8_t *in,
		      size_t len, const uint8_t **out, size_t *out_len);

/* One-shot forms of the two above: *out is malloc'd. 0 on success. */
int otlp_encode_traces(struct ebt_span *const *spans, size_t n, uint8_t **out,
		       size_t *out_len);
int otlp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

/*
 * Retry policy. http_status is 0 for a transport error (connect refused,
 * timeout). retry_after is the Retry-After header value or NULL. attempt
 * starts at 1. jitter in [0,1). Returns delay in ms, or -1: do not retry.
 */
int64_t retry_policy(int http_status, int attempt, const char *retry_after,
		     double jitter);
/* Same with an explicit "now" (unix seconds) for HTTP-date Retry-After. */
int64_t retry_policy_at(int http_status, int attempt, const char *retry_after,
			double jitter, time_t now);

#endif /* EBT_OTLP_H */
