/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loki push exporter: log records -> POST /loki/api/v1/push (JSON, gzip).
 *
 * submit() is called on the capture thread: it copies the record into a
 * queue bounded by bytes and never touches the network. A worker thread
 * batches by size and time, groups entries into Loki streams by label set
 * (labels from the process's resource, see loki_labels_from_resource()),
 * sorts each stream by timestamp, and posts:
 *
 *   {"streams":[{"stream":{labels},
 *                "values":[["<unix ns>","line",
 *                           {"trace_id":..,"span_id":..}]]}]}
 *
 * trace_id/span_id are structured metadata, never labels. Retries follow
 * retry_policy() (429/502/503/504, transport errors, Retry-After). A 400 or
 * 413 is not retried whole: the batch is halved, recursively, to isolate
 * and drop only the entries Loki refuses, logging Loki's reason.
 */
#ifndef EBT_LOKI_H
#define EBT_LOKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logs.h"
#include "span.h"

#define LOKI_PUSH_PATH "/loki/api/v1/push"
#define LOKI_MAX_LABELS 15     /* Loki's default max_label_names_per_series */
#define LOKI_LABEL_NAME_MAX 128
#define LOKI_LABEL_VALUE_MAX 1024 /* bytes, cut at a character boundary */

/* ---- labels -------------------------------------------------------------- */

struct loki_label {
	char *name;  /* matches [a-zA-Z_][a-zA-Z0-9_]* */
	char *value; /* valid UTF-8, not empty */
};

struct loki_labels {
	unsigned n;
	struct loki_label l[LOKI_MAX_LABELS]; /* sorted by name once finished */
	unsigned dropped; /* labels over LOKI_MAX_LABELS */
	char *key;        /* {a="x", b="y"}: identity of the stream, for logs */
};

void loki_labels_init(struct loki_labels *ls);
void loki_labels_free(struct loki_labels *ls);
/*
 * Add one label. The name is sanitised (invalid characters become '_', a
 * leading digit gets a '_' prefix), the value escaped like log lines and
 * cut to LOKI_LABEL_VALUE_MAX. Empty or NULL values and names already
 * present are skipped (first wins); past LOKI_MAX_LABELS they are counted
 * in dropped. Returns 0, or -1 on out of memory.
 */
int loki_labels_add(struct loki_labels *ls, const char *name,
		    const char *value);
/* Sort by name and build key. Returns 0, or -1 on out of memory. */
int loki_labels_finish(struct loki_labels *ls);

/*
 * The labels of one process's stdout or stderr (finished).
 * Kubernetes (k8s.pod.name or k8s.namespace.name in the resource):
 *   namespace, pod, container, app (k8s.pod.label.app.kubernetes.io/name),
 *   job (<namespace>/<container>), node_name, pod_ip (k8s.pod.ip),
 *   cluster, stream, service_name.
 * Host: host (host.name), service_name, process (process.executable.name),
 *   cluster, stream. container.id is structured metadata (container_id),
 *   never a label: container ids change with every restart.
 * cluster is the static value from the configuration (NULL: none); r may be
 * NULL (then only stream and cluster). Returns 0, or -1 on out of memory.
 */
int loki_labels_from_resource(struct loki_labels *ls,
			      const struct ebt_resource *r, int stream,
			      const char *cluster);

bool loki_label_name_valid(const char *name);
/* Sanitised name into out (outsz >= 2). Returns its length (0: empty). */
size_t loki_label_name_sanitize(const char *in, char *out, size_t outsz);

/* Push URL from loki.endpoint: kept if it ends in LOKI_PUSH_PATH, else the
 * path is appended. *out is malloc'd. Returns 0, -1 if not an http(s) URL. */
int loki_push_url(const char *endpoint, char **out);

/* ---- batches (what the worker sends; public for tests) ------------------- */

/* One queued log line (loki.c and loki_export.c). */
struct loki_entry {
	struct ebt_resource *res;         /* one reference, may be NULL */
	struct loki_labels *own;          /* explicit labels (owned), or NULL */
	const struct loki_labels *labels; /* set by loki_batch_prepare() */
	uint64_t seq;                     /* order within a batch */
	uint64_t ts_ns;
	uint8_t stream;
	bool has_ctx;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	size_t len;
	char line[]; /* NUL-terminated */
};

/* A copy of r (reference on res taken); *size: its queue footprint. */
struct loki_entry *loki_entry_new(struct ebt_resource *res,
				  const struct ebt_log_record *r,
				  size_t *size);
/* An entry with explicit, finished labels (taken over, even on failure)
 * instead of a resource's: e.g. Kubernetes events. */
struct loki_entry *loki_entry_new_labeled(struct loki_labels *labels,
					  uint64_t ts_ns, const char *line,
					  size_t len, size_t *size);
void loki_entry_free(struct loki_entry *e);
/* container.id of the entry's resource (structured metadata), or NULL. */
const char *loki_entry_container_id(const struct loki_entry *e);

struct loki_batch;

struct loki_batch *loki_batch_new(const char *cluster);
void loki_batch_free(struct loki_batch *b);
/* Copy a record (and take a reference on res, may be NULL). 0 or -1. */
int loki_batch_add(struct loki_batch *b, struct ebt_resource *res,
		   const struct ebt_log_record *r);
/* Append an entry; the batch owns it on success (0), not on -1. */
int loki_batch_push(struct loki_batch *b, struct loki_entry *e);
/* Free the entries and labels; keep the allocation for the next batch. */
void loki_batch_clear(struct loki_batch *b);
size_t loki_batch_len(const struct loki_batch *b);
/*
 * Label every entry and order the batch: by stream (label key), then by
 * timestamp, then by arrival. Returns 0, or -1 on out of memory.
 */
int loki_batch_prepare(struct loki_batch *b);
/* Push body (JSON, NUL-terminated, malloc'd) for entries [from, to). */
char *loki_batch_json(const struct loki_batch *b, size_t from, size_t to,
		      size_t *len);

/* ---- exporter ------------------------------------------------------------ */

struct loki_config {
	const char *url;          /* full push URL (see loki_push_url) */
	const char *tenant;       /* X-Scope-OrgID, may be NULL */
	const char *username;     /* basic auth, with password */
	const char *password;
	const char *bearer_token; /* or bearer auth (not both) */
	const char *cluster;      /* static "cluster" label, may be NULL */
	uint64_t timeout_ms;      /* per request; 0: 10 s */
	bool gzip;
	uint64_t queue_bytes;     /* 0: 32 MiB */
	uint64_t batch_bytes;     /* 0: 1 MiB (estimated JSON size) */
	uint64_t batch_timeout_ms; /* 0: 1 s */
	const char *ca_file;      /* https: PEM CA bundle; NULL: the system's */
	const char *cert_file;    /* https: PEM client certificate, or NULL */
	const char *key_file;     /* its private key, or NULL */
};

struct loki_stats {
	uint64_t entries_queued;   /* accepted by submit */
	uint64_t entries_sent;     /* in a request Loki answered 2xx */
	uint64_t entries_dropped_queue_full;
	uint64_t entries_rejected; /* isolated by 400/413 splitting */
	uint64_t entries_dropped_failed; /* not retryable, or given up */
	uint64_t entries_dropped_shutdown;
	uint64_t requests;
	uint64_t request_errors;   /* non-2xx or transport errors */
	uint64_t retries;
	uint64_t splits;           /* batches halved after a 400/413 */
	uint64_t queue_bytes;      /* now queued, with the batch in flight */
};

struct loki_exporter;

struct loki_exporter *loki_exporter_new(const struct loki_config *cfg,
					char *err, size_t errlen);
/*
 * Copy r (borrowed) into the queue, holding a reference on res (may be
 * NULL). One allocation; never blocks on the network. False: dropped
 * (queue full, shutting down, out of memory), counted.
 */
bool loki_exporter_submit(struct loki_exporter *e, struct ebt_resource *res,
			  const struct ebt_log_record *r);
/*
 * Queue one line with explicit labels (finished; malloc'd, taken over in
 * every case) at ts_ns. Same queue, bound and counters as submit().
 */
bool loki_exporter_submit_labeled(struct loki_exporter *e,
				  struct loki_labels *labels, uint64_t ts_ns,
				  const char *line, size_t len);
void loki_exporter_stats(struct loki_exporter *e, struct loki_stats *out);
/* Flush what it can until deadline_ms from now, stop the thread, free;
 * copy the final counters to *final if set. */
void loki_exporter_shutdown(struct loki_exporter *e, uint64_t deadline_ms,
			    struct loki_stats *final);
/*
 * The exit report of what Loki never got, by reason, written to buf (the
 * rate-limited warnings during the run may not have said the last drops).
 * Returns the length written, 0 (buf "") when no line was lost.
 */
size_t loki_stats_loss_summary(const struct loki_stats *s, char *buf,
			       size_t len);

#endif /* EBT_LOKI_H */
