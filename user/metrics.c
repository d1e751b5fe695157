/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics as data: one table names every series /metrics shows, with its
 * family, type, help text, labels and snapshot field. Rendering walks the
 * table; a family's # HELP and # TYPE lines come before its first series.
 * Also the liveness rule and the metrics.listen parser. No I/O here.
 */
#include "metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ebpftrace_events.h"
#include "logs.h"
#include "loki.h"
#include "otlp.h"
#include "tracer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PREFIX "ebpftrace_"

struct metric_def {
	const char *name;   /* family, without PREFIX */
	const char *type;   /* "counter" or "gauge" */
	const char *help;   /* NULL: another series of the family above */
	const char *labels; /* e.g. reason="queue_full"; NULL: none */
	size_t off;         /* uint64_t field of the snapshot */
};

#define F(m) offsetof(struct ebt_metrics_snapshot, m)
#define C "counter"
#define G "gauge"

static const struct metric_def defs[] = {
	/* kernel */
	{ "kernel_events_total", C, "Records the BPF programs wrote to the "
	  "ring buffer.", NULL, F(kernel_events) },
	{ "ringbuf_drops_total", C, "Records lost in the kernel because the "
	  "ring buffer was full (long reads and writes: fifteen sixteenths "
	  "full).", NULL, F(ringbuf_drops) },
	{ "conn_map_full_total", C, "Connections not tracked because the BPF "
	  "connection map was full.", NULL, F(conn_map_full) },
	{ "truncated_records_total", C, "Data records whose payload was cut "
	  "to the capture limit.", NULL, F(truncated_records) },
	{ "kernel_skipped_not_http_total", C, "Data syscalls on connections "
	  "classified as not HTTP, not copied.", NULL,
	  F(kernel_skipped_other) },
	{ "kernel_skipped_body_total", C, "Data syscalls inside a long HTTP "
	  "body whose length was known, not recorded.", NULL,
	  F(kernel_skipped_body) },
	{ "kernel_tls_without_socket_total", C, "TLS plaintext reads and "
	  "writes whose socket was never seen in a libssl call (memory "
	  "BIOs), not recorded.", NULL, F(kernel_tls_no_fd) },
	/* capture thread */
	{ "records_total", C, "Ring-buffer records decoded in userspace.",
	  NULL, F(records) },
	{ "bad_records_total", C, "Malformed ring-buffer records (size or "
	  "type).", NULL, F(bad_records) },
	{ "seq_gaps_total", C, "Lost data records detected as gaps in a "
	  "connection's sequence numbers (a record overtaken in the ring "
	  "by a later one of its connection is not lost).", NULL,
	  F(seq_gaps) },
	{ "parse_errors_total", C, "HTTP parser resyncs after malformed or "
	  "missing bytes.", NULL, F(parse_errors) },
	{ "connections_total", C, "Connections opened (accepted or "
	  "connected) by traced processes.", NULL, F(conns_opened) },
	{ "connections_adopted_total", C, "Of them, connections open "
	  "before the tracer started, found in /proc.", NULL,
	  F(conns_adopted) },
	{ "connections_not_http_total", C, "Connections classified as not "
	  "HTTP.", NULL, F(conns_not_http) },
	{ "exchanges_dropped_total", C, "Requests dropped without a usable "
	  "response.", NULL, F(exchanges_dropped) },
	{ "spans_total", C, "Spans made.", NULL, F(spans) },
	{ "spans_sampled_out_total", C, "Of them, spans of traces the "
	  "sampler (traces.sampler) does not export.", NULL,
	  F(spans_sampled_out) },
	{ "spans_ignored_total", C, "Requests whose path http.ignore_paths "
	  "names: no span made.", NULL, F(spans_ignored) },
	/* OTLP */
	{ "spans_exported_total", C, "Spans the OTLP backend accepted.", NULL,
	  F(spans_exported) },
	{ "spans_dropped_total", C, "Spans not exported, by reason.",
	  "reason=\"queue_full\"", F(spans_dropped_queue_full) },
	{ "spans_dropped_total", C, NULL, "reason=\"rejected\"",
	  F(spans_dropped_rejected) },
	{ "spans_dropped_total", C, NULL, "reason=\"shutdown\"",
	  F(spans_dropped_shutdown) },
	{ "export_requests_total", C, "OTLP export requests sent.", NULL,
	  F(export_requests) },
	{ "export_errors_total", C, "OTLP export requests that failed "
	  "(non-2xx or transport error).", NULL, F(export_errors) },
	{ "export_retries_total", C, "OTLP export requests retried.", NULL,
	  F(export_retries) },
	{ "export_queue_bytes", G, "Bytes of spans waiting for OTLP export, "
	  "with the batch in flight.", NULL, F(export_queue_bytes) },
	{ "export_queue_spans", G, "Spans waiting in the OTLP export queue, "
	  "without the batch in flight.", NULL, F(export_queue_spans) },
	/* logs */
	{ "log_writes_total", C, "Writes to stdout/stderr captured.", NULL,
	  F(log_writes) },
	{ "log_bytes_total", C, "Captured stdout/stderr bytes fed to the line "
	  "assembler.", NULL, F(log_bytes) },
	{ "log_records_total", C, "Log records made.", NULL, F(log_records) },
	{ "log_lines_total", C, "Lines in the log records made.", NULL,
	  F(log_lines) },
	{ "log_bytes_lost_total", C, "Bytes written to stdout/stderr but not "
	  "captured.", NULL, F(log_bytes_lost) },
	{ "log_bytes_dropped_total", C, "Captured log bytes dropped (out of "
	  "memory).", NULL, F(log_bytes_dropped) },
	/* Loki */
	{ "loki_lines_sent_total", C, "Log records Loki accepted.", NULL,
	  F(loki_lines_sent) },
	{ "loki_lines_dropped_total", C, "Log records not delivered to Loki, "
	  "by reason.", "reason=\"queue_full\"", F(loki_dropped_queue_full) },
	{ "loki_lines_dropped_total", C, NULL, "reason=\"rejected\"",
	  F(loki_dropped_rejected) },
	{ "loki_lines_dropped_total", C, NULL, "reason=\"failed\"",
	  F(loki_dropped_failed) },
	{ "loki_lines_dropped_total", C, NULL, "reason=\"shutdown\"",
	  F(loki_dropped_shutdown) },
	{ "loki_pushes_total", C, "Loki push requests sent.", NULL,
	  F(loki_pushes) },
	{ "loki_push_errors_total", C, "Loki push requests that failed "
	  "(non-2xx or transport error).", NULL, F(loki_push_errors) },
	{ "loki_push_retries_total", C, "Loki push requests retried.", NULL,
	  F(loki_push_retries) },
	{ "loki_queue_bytes", G, "Bytes of log records waiting for Loki, with "
	  "the batch in flight.", NULL, F(loki_queue_bytes) },
	/* pod metadata and selection */
	{ "cri_up", G, "1 while the CRI socket answers (pod metadata), else "
	  "0.", NULL, F(cri_up) },
	{ "k8s_up", G, "1 while the last Kubernetes API LIST or WATCH "
	  "succeeded, else 0.", NULL, F(k8s_up) },
	{ "k8s_requests_total", C, "Kubernetes API requests for this node's "
	  "pods, by kind.", "kind=\"list\"", F(k8s_lists) },
	{ "k8s_requests_total", C, NULL, "kind=\"watch\"", F(k8s_watches) },
	{ "k8s_watch_events_total", C, "Pod watch events received.", NULL,
	  F(k8s_watch_events) },
	{ "k8s_resyncs_total", C, "Full re-LISTs after 410 Gone (watch "
	  "history expired).", NULL, F(k8s_resyncs_gone) },
	{ "k8s_errors_total", C, "Kubernetes API requests that failed "
	  "(refused, timed out, non-2xx).", NULL, F(k8s_errors) },
	{ "k8s_pods", G, "Pods of this node known from the Kubernetes API.",
	  NULL, F(k8s_pods) },
	{ "selected_cgroups", G, "cgroups in the kernel filter of the pod "
	  "selection (--namespaces, --pod-selector).", NULL,
	  F(select_cgroups) },
	{ "selection_full_total", C, "Selected containers left untraced "
	  "because the cgroup filter was full.", NULL, F(select_full) },
	/* Kubernetes events to Loki */
	{ "k8s_events_leader", G, "1 while this replica ships the cluster's "
	  "Kubernetes events (holds the Lease, or single replica), else 0.",
	  NULL, F(events_leader) },
	{ "k8s_events_shipped_total", C, "Kubernetes events (and updates of "
	  "their count) queued for Loki.", NULL, F(events_shipped) },
	{ "k8s_events_not_queued_total", C, "Kubernetes events the Loki queue "
	  "refused (full).", NULL, F(events_not_queued) },
	{ "k8s_events_relists_total", C, "LISTs of the events again after a "
	  "410 Gone or a failed watch.", NULL, F(events_relists) },
	{ "k8s_events_errors_total", C, "Events and Lease requests to the "
	  "Kubernetes API that failed.", NULL, F(events_errors) },
	{ "k8s_events_leader_changes_total", C, "Times this replica took the "
	  "events Lease.", NULL, F(events_leader_changes) },
	/* state */
	{ "ready", G, "1 once the BPF programs are attached, else 0.", NULL,
	  F(ready) },
};

#undef C
#undef G

/* Appends like snprintf at *n; keeps counting past len. */
static void put(char *buf, size_t len, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(*n < len ? buf + *n : NULL, *n < len ? len - *n : 0,
		      fmt, ap);
	va_end(ap);
	if (w > 0)
		*n += (size_t)w;
}

static uint64_t value_of(const struct ebt_metrics_snapshot *s,
			 const struct metric_def *d)
{
	uint64_t v;

	memcpy(&v, (const char *)s + d->off, sizeof(v));
	return v;
}

size_t ebt_metrics_render(const struct ebt_metrics_snapshot *s, char *buf,
			  size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++) {
		const struct metric_def *d = &defs[i];

		if (d->help)
			put(buf, len, &n, "# HELP " PREFIX "%s %s\n"
			    "# TYPE " PREFIX "%s %s\n", d->name, d->help,
			    d->name, d->type);
		put(buf, len, &n, PREFIX "%s%s%s%s %" PRIu64 "\n", d->name,
		    d->labels ? "{" : "", d->labels ? d->labels : "",
		    d->labels ? "}" : "", value_of(s, d));
	}
	return n;
}

static void fill_otlp(struct ebt_metrics_snapshot *s,
		      const struct otlp_stats *o)
{
	s->spans_exported = o->spans_exported;
	s->spans_dropped_queue_full = o->spans_dropped_queue_full;
	s->spans_dropped_rejected = o->spans_dropped_rejected;
	s->spans_dropped_shutdown = o->spans_dropped_shutdown;
	s->export_requests = o->requests;
	s->export_errors = o->request_errors;
	s->export_retries = o->retries;
	s->export_queue_bytes = o->queue_bytes;
	s->export_queue_spans = o->queue_spans;
}

static void fill_logs(struct ebt_metrics_snapshot *s,
		      const struct ebt_logs_stats *l)
{
	s->log_bytes = l->bytes_in;
	s->log_records = l->records;
	s->log_lines = l->lines;
	s->log_bytes_lost = l->bytes_lost;
	s->log_bytes_dropped = l->bytes_dropped;
}

static void fill_loki(struct ebt_metrics_snapshot *s,
		      const struct loki_stats *k)
{
	s->loki_lines_sent = k->entries_sent;
	s->loki_dropped_queue_full = k->entries_dropped_queue_full;
	s->loki_dropped_rejected = k->entries_rejected;
	s->loki_dropped_failed = k->entries_dropped_failed;
	s->loki_dropped_shutdown = k->entries_dropped_shutdown;
	s->loki_pushes = k->requests;
	s->loki_push_errors = k->request_errors;
	s->loki_push_retries = k->retries;
	s->loki_queue_bytes = k->queue_bytes;
}

static void fill_tracer(struct ebt_metrics_snapshot *s,
			const struct ebt_tracer_stats *t)
{
	s->records = t->records;
	s->bad_records = t->bad_records;
	s->seq_gaps = t->seq_gaps;
	s->parse_errors = t->parse_errors;
	s->conns_opened = t->conns_opened;
	s->conns_adopted = t->conns_adopted;
	s->conns_not_http = t->not_http;
	s->exchanges_dropped = t->exchanges_dropped;
	s->spans = t->spans;
	s->spans_sampled_out = t->spans_sampled_out;
	s->spans_ignored = t->spans_ignored;
	s->log_writes = t->log_writes;
}

void ebt_metrics_fill(struct ebt_metrics_snapshot *s, const uint64_t *kernel,
		      const struct ebt_tracer_stats *t,
		      const struct otlp_stats *o,
		      const struct ebt_logs_stats *l,
		      const struct loki_stats *k)
{
	memset(s, 0, sizeof(*s));
	if (kernel) {
		s->kernel_events = kernel[EBT_STAT_EVENTS];
		s->ringbuf_drops = kernel[EBT_STAT_RB_DROPS];
		s->conn_map_full = kernel[EBT_STAT_CONN_FULL];
		s->truncated_records = kernel[EBT_STAT_TRUNCATED];
		s->kernel_skipped_other = kernel[EBT_STAT_SKIPPED_OTHER];
		s->kernel_skipped_body = kernel[EBT_STAT_SKIPPED_BODY];
		s->kernel_tls_no_fd = kernel[EBT_STAT_TLS_NO_FD];
	}
	fill_tracer(s, t);
	if (o)
		fill_otlp(s, o);
	if (l)
		fill_logs(s, l);
	if (k)
		fill_loki(s, k);
}

bool ebt_metrics_healthy(uint64_t now_ns, uint64_t last_poll_ns,
			 uint64_t started_ns)
{
	if (last_poll_ns == 0)
		return now_ns < started_ns ||
		       now_ns - started_ns <= EBT_METRICS_STARTUP_NS;
	return now_ns < last_poll_ns ||
	       now_ns - last_poll_ns <= EBT_METRICS_STALE_NS;
}

/* ---- metrics.listen ---- */

static bool copy_part(const char *b, size_t n, char *out, size_t outlen)
{
	if (!out)
		return true;
	if (n >= outlen)
		return false;
	memcpy(out, b, n);
	out[n] = '\0';
	return true;
}

/* Decimal 1-65535, nothing else. */
static bool valid_port(const char *p)
{
	unsigned long v = 0;

	if (!*p || strlen(p) > 5)
		return false;
	for (const char *c = p; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A name or IPv4 address ([A-Za-z0-9.-]), or an IPv6 address in []. */
static bool valid_host(const char *h, size_t n, bool bracketed)
{
	const char *ok = bracketed ? "0123456789abcdefABCDEF:." :
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789.-";

	if (bracketed && n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr(ok, h[i]) || h[i] == '\0')
			return false;
	return n < 254;
}

int ebt_listen_parse(const char *v, char *host, size_t hostlen, char *port,
		     size_t portlen)
{
	const char *colon, *h = v;
	bool bracketed = v[0] == '[';
	size_t hn;

	if (bracketed) {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':')
			return -1;
		h = v + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(v, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -1;
		hn = (size_t)(colon - v);
	}
	if (!valid_host(h, hn, bracketed) || !valid_port(colon + 1))
		return -1;
	if (!copy_part(h, hn, host, hostlen) ||
	    !copy_part(colon + 1, strlen(colon + 1), port, portlen))
		return -1;
	return 0;
}
