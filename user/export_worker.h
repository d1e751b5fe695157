/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The export worker shared by the OTLP and Loki exporters: a queue bounded
 * by bytes, fed by submit() on the capture thread; one worker thread that
 * batches by cost (spans, JSON bytes) and age, and POSTs each batch with
 * libcurl, retrying per the exporter's delay function (retry_policy(),
 * Retry-After, backoff with jitter); counters; shutdown with a deadline and
 * a one-line report of what was lost.
 *
 * What differs between exporters (what a batch is, how it is encoded, how
 * a response is read) comes in through struct ew_ops. A batch in flight,
 * including while it waits to be retried, still counts toward queue_bytes,
 * so a slow or dead backend makes submit() drop (and count) new items
 * instead of growing memory. Errors are logged at most once per kind per
 * 10 s.
 */
#ifndef EBT_EXPORT_WORKER_H
#define EBT_EXPORT_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct ew_stats {
	uint64_t queued;   /* accepted by submit */
	uint64_t sent;     /* acknowledged by the backend */
	uint64_t rejected; /* refused one by one by the backend */
	uint64_t failed;   /* not retryable, given up, not encodable */
	uint64_t dropped_queue_full;
	uint64_t dropped_shutdown; /* still queued when the deadline hit */
	uint64_t requests;
	uint64_t request_errors; /* non-2xx or transport errors */
	uint64_t retries;
	uint64_t queue_bytes;   /* queued, with the batch in flight */
	uint64_t queue_items;   /* queued, without the batch in flight */
	uint64_t worker_cpu_ns; /* CPU time of the worker thread so far */
};

enum ew_log_kind {
	EW_LOG_TRANSPORT,
	EW_LOG_RETRY,
	EW_LOG_FAILED,
	EW_LOG_REJECTED,
	EW_LOG_RESPONSE,
	EW_LOG_ENCODE,
	EW_LOG_QUEUE_FULL,
	EW_LOG_KINDS,
};

/* What ew_send() made of a body. */
enum ew_result {
	EW_SENT,    /* 2xx: the caller accounts it (ew_account) */
	EW_REFUSED, /* ops->refused(status): the caller decides */
	EW_LOST,    /* given up or stopped: already accounted */
};

/* What ew_account() adds items to. */
enum ew_outcome {
	EW_OUT_SENT,
	EW_OUT_REJECTED,
	EW_OUT_FAILED,
	EW_OUT_SHUTDOWN,
};

/* What is fixed for one kind of exporter: names, format, callbacks. */
struct ew_ops {
	const char *name;         /* log prefix; thread "ebt-<name>" */
	const char *unit;         /* "spans", "log lines" */
	const char *content_type; /* "application/x-protobuf" */
	bool text_reason;         /* error bodies are text: log them */
	size_t min_item_bytes;    /* smallest item: bounds the ring */
	/* Lock held: the batch takes item (0) or cannot (-1, out of memory). */
	int (*take)(void *ctx, void *item);
	/* Worker thread: send the batch taken (ew_send), account it, free
	 * its items. */
	void (*send)(void *ctx);
	/* Free an item that never reached a batch. */
	void (*free_item)(void *item);
	/* Optional (NULL: retry_policy()): the delay in ms before the next
	 * attempt after a failure, -1: give up. status 0 is a transport
	 * error; retry_after may be NULL. */
	int64_t (*retry_delay)(void *ctx, int status, int attempt,
			       const char *retry_after, double jitter);
	/* Optional: true when status refuses part of the body (not retried). */
	bool (*refused)(int status);
	/* The counters as the exporter's public stats struct, into out. */
	void (*report)(void *ctx, const struct ew_stats *s, void *out);
};

/* What is set for one exporter. */
struct ew_config {
	const char *url;          /* checked by the caller: not empty */
	uint64_t timeout_ms;      /* per request; 0: 10 s */
	bool gzip;                /* bodies are gzip: say so in a header */
	uint64_t queue_bytes;     /* bound on queued item bytes; 0: 32 MiB */
	uint64_t batch_cost;      /* a batch is due at this much cost */
	uint64_t batch_timeout_ms; /* or when its oldest item waited this
				    * long; 0: 1 s */
	const char *ca_file;      /* https: PEM CAs; NULL: the system's */
	const char *cert_file;    /* https: PEM client certificate, or NULL */
	const char *key_file;     /* its key (NULL: in cert_file, if any) */
};

struct ew_worker;

/*
 * The queue and an easy handle to url with the common options and headers
 * (Content-Type, Content-Encoding, no Expect); no thread yet. ctx is the
 * exporter, passed to ops. NULL with err set on failure.
 */
struct ew_worker *ew_new(const struct ew_config *cfg,
			 const struct ew_ops *ops, void *ctx, char *err,
			 size_t errlen);
/* Before ew_start(): the handle (for more options) and more headers. */
CURL *ew_curl(struct ew_worker *w);
int ew_add_header(struct ew_worker *w, const char *header);
/* Start the worker thread. 0, or -1 with err set. */
int ew_start(struct ew_worker *w, char *err, size_t errlen);
/* Free a worker that was never started. */
void ew_free(struct ew_worker *w);

/*
 * Capture thread. Queue item (size bytes, cost toward batch_cost), or
 * count it dropped (NULL item, queue full, stopping). False: not queued;
 * the caller still owns item.
 */
bool ew_submit(struct ew_worker *w, void *item, size_t size, uint64_t cost);
/* The counters now, through ops->report into out. */
void ew_stats(struct ew_worker *w, void *out);
/*
 * Flush what it can until deadline_ms from now, stop the thread, drop what
 * is left, log what was lost, report the final counters into final if set
 * (ops->report), free the worker (not ctx).
 */
void ew_shutdown(struct ew_worker *w, uint64_t deadline_ms, void *final);

/* ---- for ops->send, on the worker thread --------------------------------- */

/* POST body (for n items) until accepted, refused, given up or stopped. */
enum ew_result ew_send(struct ew_worker *w, const void *body, size_t len,
		       size_t n);
void ew_account(struct ew_worker *w, enum ew_outcome out, uint64_t n);
/* The last response: status, body (NUL-terminated), Content-Type or NULL. */
int ew_status(const struct ew_worker *w);
const void *ew_response(struct ew_worker *w, size_t *len, const char **ctype);
/* The last response body on one line, shortened, for a log line. */
const char *ew_reason(struct ew_worker *w);
/* True when submit() dropped items (queue full) since this batch was taken. */
bool ew_dropped_since_take(struct ew_worker *w);
void ew_log(struct ew_worker *w, enum ew_log_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The exit report of what never reached the backend, by reason, into buf:
 * "N <unit> not delivered (queue full a, rejected b, failed c, at shutdown
 * d), M delivered". Returns the length written, 0 (buf "") if none was lost.
 */
size_t ew_loss_summary(const struct ew_stats *s, const char *unit, char *buf,
		       size_t len);

#endif /* EBT_EXPORT_WORKER_H */
