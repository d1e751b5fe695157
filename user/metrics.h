/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health and metrics endpoint (metrics.listen).
 * metrics.c: the snapshot of counters the capture loop publishes, its
 * Prometheus text rendering, the liveness rule and the parser of
 * `host:port` values; all pure functions.
 * metrics_http.c: the libmicrohttpd server, on its own thread, answering
 * /healthz, /readyz and /metrics from the latest published snapshot. The
 * capture loop only copies a snapshot in (once per second) and stores a
 * heartbeat time (every poll); it never waits on a scrape.
 */
#ifndef EBT_METRICS_H
#define EBT_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ebt_tracer_stats;
struct otlp_stats;
struct ebt_logs_stats;
struct loki_stats;
struct MHD_Daemon;

/* /healthz fails once the capture loop has not polled for this long. */
#define EBT_METRICS_STALE_NS (5ULL * 1000000000ULL)
/* Before the loop first polls (BPF loading), it may take this long. */
#define EBT_METRICS_STARTUP_NS (60ULL * 1000000000ULL)

/* Every value /metrics shows; plain numbers, copied as a whole. */
struct ebt_metrics_snapshot {
	/* kernel side (per-CPU counters of the BPF programs) */
	uint64_t kernel_events;
	uint64_t ringbuf_drops;
	uint64_t conn_map_full;
	uint64_t truncated_records;
	uint64_t kernel_skipped_other;
	uint64_t kernel_skipped_body;
	uint64_t kernel_tls_no_fd;
	/* capture thread */
	uint64_t records;
	uint64_t bad_records;
	uint64_t seq_gaps;
	uint64_t parse_errors;
	uint64_t conns_opened;
	uint64_t conns_adopted;
	uint64_t conns_not_http;
	uint64_t exchanges_dropped;
	uint64_t spans_sampled_out;
	uint64_t spans_ignored;
	uint64_t spans;
	/* OTLP exporter */
	uint64_t spans_exported;
	uint64_t spans_dropped_queue_full;
	uint64_t spans_dropped_rejected;
	uint64_t spans_dropped_shutdown;
	uint64_t export_requests;
	uint64_t export_errors;
	uint64_t export_retries;
	uint64_t export_queue_bytes;
	uint64_t export_queue_spans;
	/* log path: line assembler and Loki exporter */
	uint64_t log_writes;
	uint64_t log_bytes;
	uint64_t log_records;
	uint64_t log_lines;
	uint64_t log_bytes_lost;
	uint64_t log_bytes_dropped;
	uint64_t loki_lines_sent;
	uint64_t loki_dropped_queue_full;
	uint64_t loki_dropped_rejected;
	uint64_t loki_dropped_failed;
	uint64_t loki_dropped_shutdown;
	uint64_t loki_pushes;
	uint64_t loki_push_errors;
	uint64_t loki_push_retries;
	uint64_t loki_queue_bytes;
	/* pod metadata (CRI, Kubernetes API) and pod selection; main.c */
	uint64_t cri_up;          /* 1 while the CRI socket answers */
	uint64_t k8s_up;          /* 1 while the last LIST/WATCH worked */
	uint64_t k8s_lists;
	uint64_t k8s_watches;
	uint64_t k8s_watch_events;
	uint64_t k8s_resyncs_gone;
	uint64_t k8s_errors;
	uint64_t k8s_pods;
	uint64_t select_cgroups;  /* cgroups in the pod-selection filter */
	uint64_t select_full;     /* selected containers the filter lacked room for */
	/* Kubernetes events shipper (k8s_events.h); main.c */
	uint64_t events_leader;   /* 1 while this replica ships events */
	uint64_t events_shipped;
	uint64_t events_not_queued;
	uint64_t events_relists;
	uint64_t events_errors;
	uint64_t events_leader_changes;
	/* state */
	uint64_t ready; /* 1 once the BPF programs are attached */
};

/*
 * Fill s from the stage counters; kernel has EBT_STAT__COUNT entries.
 * Any pointer but s and t may be NULL (that stage is off: zeros).
 */
void ebt_metrics_fill(struct ebt_metrics_snapshot *s, const uint64_t *kernel,
		      const struct ebt_tracer_stats *t,
		      const struct otlp_stats *o,
		      const struct ebt_logs_stats *l,
		      const struct loki_stats *k);

/*
 * Prometheus text exposition format 0.0.4: # HELP and # TYPE, then the
 * samples of each family. Like snprintf: writes at most len bytes (always
 * NUL-terminated when len > 0) and returns the full length it needs.
 */
size_t ebt_metrics_render(const struct ebt_metrics_snapshot *s, char *buf,
			  size_t len);

/*
 * Liveness: the loop polled within EBT_METRICS_STALE_NS, or, before its
 * first poll (last_poll_ns 0), the endpoint started within
 * EBT_METRICS_STARTUP_NS. Monotonic nanoseconds.
 */
bool ebt_metrics_healthy(uint64_t now_ns, uint64_t last_poll_ns,
			 uint64_t started_ns);

/*
 * "host:port", ":port" (every interface) or "[v6addr]:port"; port 1-65535.
 * host gets the host without brackets ("" for every interface), port the
 * digits. 0 ok, -1 malformed or a buffer too small.
 */
int ebt_listen_parse(const char *v, char *host, size_t hostlen, char *port,
		     size_t portlen);

/* ---- the server (metrics_http.c); owned by `run` ---- */

struct ebt_metrics_server {
	struct MHD_Daemon *mhd;          /* NULL: not running */
	pthread_mutex_t lock;            /* guards snap */
	struct ebt_metrics_snapshot snap;
	_Atomic uint64_t last_poll_ns;   /* capture loop heartbeat */
	_Atomic uint64_t started_ns;
	atomic_bool ready;
};

/*
 * Bind listen (a metrics.listen value) and start serving. 0 ok; -1 with a
 * one-line reason in err (address in use, cannot resolve, ...).
 * m must be zeroed before; stop() is safe whether or not start succeeded.
 */
int ebt_metrics_server_start(struct ebt_metrics_server *m, const char *listen,
			     char *err, size_t errlen);
bool ebt_metrics_server_running(const struct ebt_metrics_server *m);
/* Capture loop: copy in the latest counters (short mutex section). */
void ebt_metrics_server_publish(struct ebt_metrics_server *m,
				const struct ebt_metrics_snapshot *s);
/* Capture loop: it polled at now_ns (monotonic); one atomic store. */
void ebt_metrics_server_alive(struct ebt_metrics_server *m, uint64_t now_ns);
void ebt_metrics_server_set_ready(struct ebt_metrics_server *m, bool ready);
void ebt_metrics_server_stop(struct ebt_metrics_server *m);

#endif /* EBT_METRICS_H */
