/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ebpftrace: zero-instrumentation HTTP tracing from syscalls.
 * Commands are a registration table; `run` wires the pipeline:
 * BPF ring buffer -> tracer (decode, connections, HTTP, spans) -> sinks
 * (console on this thread, OTLP on its own thread); with metrics.listen,
 * a health and metrics endpoint reads counters this loop publishes.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "adopt.h"
#include "check.h"
#include "config.h"
#include "console.h"
#include "cri.h"
#include "k8s.h"
#include "k8s_events.h"
#include "loader.h"
#include "log.h"
#include "logpipe.h"
#include "metrics.h"
#include "otlp.h"
#include "remote.h"
#include "resource.h"
#include "selector.h"
#include "tracer.h"

#define EBT_VERSION "0.1.0"
#define POLL_MS 100
#define TICK_NS 1000000000ULL
#define SHUTDOWN_FLUSH_MS 5000
#define LOSS_REPORT_TICKS 10
#define TLS_SCAN_TICKS 10 /* libssl uprobes: look for new libraries */
#define CRI_REFRESH_MS 5000
#define CRI_MIN_GAP_MS 1000
#define CRI_TIMEOUT_MS 5000
#define K8S_TIMEOUT_MS 5000
#define K8S_WATCH_S 300
#define K8S_BACKOFF_MIN_MS 1000
#define K8S_BACKOFF_MAX_MS 60000
#define K8S_TOKEN_REREAD_MS 60000
#define EVENTS_LEASE_S 15
#define EVENTS_RENEW_MS 5000
#define EVENTS_RETRY_MS 2000
#define SELECT_PERIOD_MS 2000
#define SELECT_WAIT_MS 5000

/* Set by SIGINT/SIGTERM; the main loop polls it. */
static volatile sig_atomic_t stop_requested;
/* Set by the pod selection thread when it selects a new cgroup: the main
 * loop then looks for that pod's connections opened before (adopt.c). */
static atomic_bool adopt_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct sinks {
	enum ebt_format format;
	struct otlp_exporter *otlp;
};

static void emit_span(void *ctx, struct ebt_span *span)
{
	struct sinks *s = ctx;

	if (s->format != EBT_FORMAT_NONE)
		ebt_console_span(stdout, s->format, span);
	if (s->otlp)
		otlp_exporter_submit(s->otlp, span); /* takes ownership */
	else
		ebt_span_free(span);
}

static int load_config(struct ebt_config *cfg, const char *cmd, int argc,
		       char **argv)
{
	char err[512] = "";
	int rc = ebt_config_load(cfg, cmd, argc, argv, err, sizeof(err));
	enum ebt_log_level lvl;

	if (rc < 0) {
		fprintf(stderr, "ebpftrace %s: %s\n", cmd, err);
		fprintf(stderr, "Try 'ebpftrace %s --help'.\n", cmd);
		return 2;
	}
	if (rc > 0)
		return 0; /* help printed */
	if (cfg->log_level && ebt_log_level_parse(cfg->log_level, &lvl) == 0)
		ebt_log_set_level(lvl);
	return -1; /* continue */
}

static struct otlp_exporter *start_otlp(const struct ebt_config *cfg)
{
	char url[2048], err[512] = "";
	struct otlp_config oc = {0};
	struct otlp_exporter *e;

	if (cfg->otlp_traces_endpoint && cfg->otlp_traces_endpoint[0])
		snprintf(url, sizeof(url), "%s", cfg->otlp_traces_endpoint);
	else if (cfg->otlp_endpoint && cfg->otlp_endpoint[0])
		snprintf(url, sizeof(url), "%s%sv1/traces", cfg->otlp_endpoint,
			 cfg->otlp_endpoint[strlen(cfg->otlp_endpoint) - 1] ==
					 '/' ? "" : "/");
	else
		return NULL;
	oc.url = url;
	oc.headers = cfg->otlp_headers;
	oc.timeout_ms = cfg->otlp_timeout_ms;
	oc.gzip = cfg->otlp_compression == EBT_COMPRESS_GZIP;
	oc.queue_bytes = cfg->otlp_queue_bytes;
	oc.batch_spans = cfg->otlp_batch_spans;
	oc.batch_timeout_ms = cfg->otlp_batch_timeout_ms;
	oc.ca_file = cfg->otlp_ca_file;
	oc.cert_file = cfg->otlp_cert_file;
	oc.key_file = cfg->otlp_key_file;
	e = otlp_exporter_new(&oc, err, sizeof(err));
	if (!e)
		log_error("OTLP exporter: %s", err);
	else
		log_info("exporting spans to %s", url);
	return e;
}

struct run_stats {
	uint64_t kernel[EBT_STAT__COUNT];
	struct ebt_select_stats sel;
	struct otlp_stats otlp;
	struct ebt_logs_stats logs;
	struct loki_stats loki;
};

static void write_log_stats(FILE *f, const struct run_stats *r)
{
	fprintf(f,
		",\"log_writes_bytes\":%" PRIu64 ",\"log_records\":%" PRIu64
		",\"log_lines_split\":%" PRIu64 ",\"log_records_truncated\":%"
		PRIu64 ",\"log_bytes_lost\":%" PRIu64 ",\"log_bytes_dropped\":%"
		PRIu64 ",\"loki_entries_sent\":%" PRIu64
		",\"loki_entries_dropped\":%" PRIu64 ",\"loki_errors\":%" PRIu64,
		r->logs.bytes_in, r->logs.records, r->logs.lines_split,
		r->logs.records_truncated, r->logs.bytes_lost,
		r->logs.bytes_dropped, r->loki.entries_sent,
		r->loki.entries_dropped_queue_full + r->loki.entries_rejected +
			r->loki.entries_dropped_failed +
			r->loki.entries_dropped_shutdown,
		r->loki.request_errors);
}

static void write_stats(const char *path, const struct run_stats *r,
			const struct ebt_tracer *t)
{
	const uint64_t *k = r->kernel;
	struct otlp_stats o = r->otlp;
	FILE *f;

	f = path ? fopen(path, "w") : stderr;
	if (!f) {
		log_error("cannot write stats to %s: %s", path,
			  strerror(errno));
		return;
	}
	fprintf(f,
		"{\"events\":%" PRIu64 ",\"ringbuf_drops\":%" PRIu64
		",\"conn_map_full\":%" PRIu64 ",\"truncated\":%" PRIu64
		",\"skipped_not_http\":%" PRIu64
		",\"skipped_body\":%" PRIu64 ",\"tls_no_socket\":%" PRIu64
		",\"records\":%" PRIu64
		",\"bad_records\":%" PRIu64 ",\"seq_gaps\":%" PRIu64
		",\"parse_errors\":%" PRIu64 ",\"not_http\":%" PRIu64
		",\"conns_adopted\":%" PRIu64 ",\"exchanges_dropped\":%" PRIu64
		",\"spans\":%" PRIu64 ",\"spans_sampled_out\":%" PRIu64
		",\"spans_ignored\":%" PRIu64
		",\"spans_exported\":%" PRIu64 ",\"spans_dropped\":%" PRIu64
		",\"export_errors\":%" PRIu64,
		k[EBT_STAT_EVENTS], k[EBT_STAT_RB_DROPS], k[EBT_STAT_CONN_FULL],
		k[EBT_STAT_TRUNCATED], k[EBT_STAT_SKIPPED_OTHER],
		k[EBT_STAT_SKIPPED_BODY], k[EBT_STAT_TLS_NO_FD],
		t->stats.records, t->stats.bad_records, t->stats.seq_gaps,
		t->stats.parse_errors, t->stats.not_http,
		t->stats.conns_adopted, t->stats.exchanges_dropped,
		t->stats.spans, t->stats.spans_sampled_out,
		t->stats.spans_ignored, o.spans_exported,
		o.spans_dropped_queue_full + o.spans_dropped_rejected +
			o.spans_dropped_shutdown,
		o.request_errors);
	write_log_stats(f, r);
	fprintf(f, ",\"selection\":{\"scans\":%" PRIu64 ",\"added\":%" PRIu64
		",\"removed\":%" PRIu64 ",\"full\":%" PRIu64
		",\"selected\":%u}}\n", r->sel.scans, r->sel.added,
		r->sel.removed, r->sel.full, r->sel.selected);
	if (path)
		fclose(f);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Say in the log when the kernel side lost records since the last call. */
static void report_losses(struct ebt_bpf *bpf, uint64_t *last_drops,
			  uint64_t *last_full)
{
	uint64_t k[EBT_STAT__COUNT];

	ebt_bpf_stats(bpf, k);
	if (k[EBT_STAT_RB_DROPS] > *last_drops)
		log_warn("ring buffer full: %" PRIu64 " records lost (total "
			 "%" PRIu64 "); bytes lost inside a body are counted by "
			 "offset, exchanges whose heads were lost get no span",
			 k[EBT_STAT_RB_DROPS] - *last_drops,
			 k[EBT_STAT_RB_DROPS]);
	if (k[EBT_STAT_CONN_FULL] > *last_full)
		log_warn("connection map full: %" PRIu64 " connections not "
			 "tracked", k[EBT_STAT_CONN_FULL] - *last_full);
	*last_drops = k[EBT_STAT_RB_DROPS];
	*last_full = k[EBT_STAT_CONN_FULL];
}

/* What `run` owns; the loop and the metrics endpoint read from it. */
struct run_parts {
	struct ebt_bpf *bpf;
	struct ebt_tracer *tracer;
	struct sinks *sinks;
	struct ebt_logpipe *logs;
	struct ebt_cri *cri;          /* NULL: off */
	struct ebt_k8s *k8s;          /* NULL: off */
	struct ebt_select_sync *sel;  /* NULL: no pod selection */
	struct ebt_kevents *events;   /* NULL: events not shipped here */
	struct ebt_metrics_server metrics; /* not running: endpoint off */
	bool adopt;                   /* adopt_open_connections */
	bool tracer_up;               /* ebt_tracer_init() succeeded */
};

/* Pod metadata sources and pod selection, for /metrics. */
static void fill_events(struct ebt_kevents *k,
			struct ebt_metrics_snapshot *s)
{
	struct ebt_kevents_stats es;

	if (!k)
		return;
	ebt_kevents_get_stats(k, &es);
	s->events_leader = es.leader;
	s->events_shipped = es.shipped;
	s->events_not_queued = es.not_queued;
	s->events_relists = es.relists;
	s->events_errors = es.errors;
	s->events_leader_changes = es.leader_changes;
}

static void fill_meta(const struct run_parts *p,
		      struct ebt_metrics_snapshot *s)
{
	struct ebt_k8s_stats ks;
	struct ebt_select_stats ss;

	s->cri_up = p->cri && ebt_cri_connected(p->cri);
	if (p->k8s) {
		ebt_k8s_get_stats(p->k8s, &ks);
		s->k8s_up = ebt_k8s_synced(p->k8s);
		s->k8s_lists = ks.lists;
		s->k8s_watches = ks.watches;
		s->k8s_watch_events = ks.events;
		s->k8s_resyncs_gone = ks.resyncs_gone;
		s->k8s_errors = ks.errors;
		s->k8s_pods = ks.pods;
	}
	if (p->sel) {
		ebt_select_sync_stats(p->sel, &ss);
		s->select_cgroups = ss.selected;
		s->select_full = ss.full;
	}
	fill_events(p->events, s);
}

static void gather_stats(const struct run_parts *p, struct run_stats *st)
{
	memset(st, 0, sizeof(*st));
	ebt_bpf_stats(p->bpf, st->kernel);
	if (p->sinks->otlp)
		otlp_exporter_stats(p->sinks->otlp, &st->otlp);
	if (p->logs->logs)
		ebt_logs_stats(p->logs->logs, &st->logs);
	if (p->logs->loki)
		loki_exporter_stats(p->logs->loki, &st->loki);
}

/* Copy the counters to the endpoint (about once per second). */
static void publish_metrics(struct run_parts *p)
{
	struct ebt_metrics_snapshot snap;
	struct run_stats st;

	if (!ebt_metrics_server_running(&p->metrics))
		return;
	gather_stats(p, &st);
	ebt_metrics_fill(&snap, st.kernel, &p->tracer->stats, &st.otlp,
			 &st.logs, &st.loki);
	fill_meta(p, &snap);
	ebt_metrics_server_publish(&p->metrics, &snap);
}

/* Connections the selected processes opened before the programs were
 * attached (adopt.c); pods selected later are scanned when they are. */
static void adopt_open_conns(struct ebt_tracer *t, struct ebt_bpf *bpf)
{
	unsigned n = ebt_adopt_scan(bpf, "/proc", ebt_tracer_handle, t);

	t->stats.conns_adopted += n;
	if (n)
		log_info("tracing: %u connection%s opened before the start "
			 "adopted (traced from their next request)", n,
			 n == 1 ? "" : "s");
}

/* uprobes on the TLS libraries mapped now (tls.c): at the start, and
 * every TLS_SCAN_TICKS for libraries loaded or containers started since. */
static void scan_tls(struct ebt_bpf *bpf)
{
	ebt_bpf_tls_scan(bpf, "/proc"); /* the loader names each file */
}

/* The pod selection's setter: a cgroup selected now may hold connections
 * opened before. */
static int select_cgroup(void *ctx, uint64_t cgroup_id, bool on)
{
	int rc = ebt_bpf_cgroup_set(ctx, cgroup_id, on);

	if (rc == 0 && on)
		atomic_store(&adopt_requested, true);
	return rc;
}

static void main_loop(struct run_parts *p, uint64_t duration_ms)
{
	uint64_t start = ebt_now_mono_ns(), last_tick = start;
	uint64_t drops = 0, full = 0, ticks = 0;
	uint64_t end = duration_ms ? start + duration_ms * 1000000ULL : 0;

	publish_metrics(p);
	while (!stop_requested) {
		uint64_t now;
		int n = ebt_bpf_poll(p->bpf, POLL_MS);

		if (n < 0) {
			log_error("ring buffer poll failed: %s", strerror(-n));
			break;
		}
		now = ebt_now_mono_ns();
		ebt_peer_wait_expire(p->tracer, now); /* 250 ms, not a tick */
		ebt_console_flush(stdout, p->sinks->format);
		ebt_metrics_server_alive(&p->metrics, now);
		if (end && now >= end)
			break;
		if (now - last_tick >= TICK_NS) {
			if (atomic_exchange(&adopt_requested, false) && p->adopt)
				adopt_open_conns(p->tracer, p->bpf);
			ebt_tracer_tick(p->tracer, now);
			last_tick = now;
			publish_metrics(p);
			if (++ticks % LOSS_REPORT_TICKS == 0)
				report_losses(p->bpf, &drops, &full);
			if (ticks % TLS_SCAN_TICKS == 0)
				scan_tls(p->bpf);
		}
	}
}

/* Pod metadata from the CRI socket; NULL when cri.socket is unset. */
static struct ebt_cri *start_cri(const struct ebt_config *cfg,
				 struct ebt_resources *resources)
{
	struct ebt_cri_config cc = {
		.socket = cfg->cri_socket, .refresh_ms = CRI_REFRESH_MS,
		.min_gap_ms = CRI_MIN_GAP_MS, .timeout_ms = CRI_TIMEOUT_MS,
	};
	struct ebt_cri *cri;

	if (!cfg->cri_socket || !cfg->cri_socket[0])
		return NULL;
	cri = ebt_cri_start(&cc);
	if (!cri)
		log_warn("CRI client: out of memory; no pod metadata");
	ebt_resources_set_cri(resources, cri, NULL);
	return cri;
}

/* Where the API server is: the kubeconfig, else in-cluster. 1: not
 * configured (auto stays off), 0: cc filled, -1: error printed. */
static int k8s_settings(const struct ebt_config *cfg,
			struct ebt_k8s_conn_cfg *cc)
{
	bool on = strcmp(cfg->k8s_enabled, "true") == 0;
	const char *kc = cfg->k8s_kubeconfig;
	char err[512] = "";

	if (kc && kc[0]) {
		if (ebt_kubeconfig_load(kc, cc, err, sizeof(err)) != 0) {
			fprintf(stderr, "ebpftrace run: k8s.kubeconfig: %s\n",
				err);
			return -1;
		}
		if (err[0])
			log_warn("kubeconfig %s: %s", kc, err);
		return 0;
	}
	if (ebt_k8s_incluster(NULL, cc, err, sizeof(err)) == 0)
		return 0;
	if (on) {
		fprintf(stderr, "ebpftrace run: k8s.enabled is true but %s; "
			"set k8s.kubeconfig (--kubeconfig, KUBECONFIG)\n", err);
		return -1;
	}
	log_debug("Kubernetes API off: %s", err);
	return 1;
}

/* Pod metadata from the Kubernetes API. 0 (maybe *out NULL: off) or -1. */
static int start_k8s(const struct ebt_config *cfg,
		     struct ebt_resources *resources, struct ebt_k8s **out)
{
	struct ebt_k8s_config kc = {
		.node = cfg->k8s_node_name, .timeout_ms = K8S_TIMEOUT_MS,
		.watch_s = K8S_WATCH_S, .backoff_min_ms = K8S_BACKOFF_MIN_MS,
		.backoff_max_ms = K8S_BACKOFF_MAX_MS,
		.token_reread_ms = K8S_TOKEN_REREAD_MS,
	};
	struct ebt_k8s_conn_cfg cc;
	char host[256] = "";
	int rc;

	*out = NULL;
	if (strcmp(cfg->k8s_enabled, "false") == 0)
		return 0;
	rc = k8s_settings(cfg, &cc);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!kc.node || !kc.node[0]) {
		gethostname(host, sizeof(host) - 1);
		kc.node = host;
	}
	*out = ebt_k8s_start(&kc, &cc);
	if (!*out)
		log_warn("Kubernetes API client: out of memory; no owner "
			 "metadata");
	else
		log_info("Kubernetes API: pods of node %s", kc.node);
	ebt_resources_set_k8s(resources, *out, kc.node);
	return 0;
}

/* Kubernetes events to Loki (k8s.events.enabled). 0 (maybe *out NULL:
 * off) or -1 with the reason printed. */
static int start_events(const struct ebt_config *cfg,
			struct loki_exporter *loki, struct ebt_kevents **out)
{
	struct ebt_kevents_config ec = {
		.leader_election = cfg->k8s_events_leader_election,
		.lease_ns = cfg->k8s_events_lease_namespace,
		.lease_name = cfg->k8s_events_lease_name,
		.identity = cfg->k8s_events_identity && cfg->k8s_events_identity[0]
				    ? cfg->k8s_events_identity : cfg->k8s_node_name,
		.cluster = cfg->cluster, .timeout_ms = K8S_TIMEOUT_MS,
		.watch_s = K8S_WATCH_S, .backoff_min_ms = K8S_BACKOFF_MIN_MS,
		.backoff_max_ms = K8S_BACKOFF_MAX_MS,
		.token_reread_ms = K8S_TOKEN_REREAD_MS, .lease_s = EVENTS_LEASE_S,
		.renew_ms = EVENTS_RENEW_MS, .retry_ms = EVENTS_RETRY_MS,
	};
	struct ebt_k8s_conn_cfg cc;
	int rc;

	*out = NULL;
	if (!cfg->k8s_events_enabled)
		return 0;
	if (!loki) {
		fprintf(stderr, "ebpftrace run: k8s.events.enabled needs "
			"loki.endpoint: the events are pushed to Loki\n");
		return -1;
	}
	rc = strcmp(cfg->k8s_enabled, "false") == 0 ? 1 :
	     k8s_settings(cfg, &cc);
	if (rc > 0)
		fprintf(stderr, "ebpftrace run: k8s.events.enabled needs the "
			"Kubernetes API: set k8s.kubeconfig (--kubeconfig, "
			"KUBECONFIG) or run in a cluster, and k8s.enabled not "
			"false\n");
	if (rc != 0)
		return -1;
	*out = ebt_kevents_start(&ec, &cc, loki);
	if (!*out) {
		fprintf(stderr, "ebpftrace run: events: out of memory\n");
		return -1;
	}
	return 0;
}

/* Waits (bounded) for the first pod view, so that the first selection
 * already sees the pods that run now. */
static void wait_pod_view(struct ebt_cri *cri, struct ebt_k8s *k8s)
{
	for (int ms = 0; ms < SELECT_WAIT_MS; ms += POLL_MS) {
		if ((cri && ebt_cri_connected(cri)) || (k8s && ebt_k8s_synced(k8s)))
			return;
		usleep(POLL_MS * 1000);
	}
	log_warn("pod selection: no pod metadata yet (CRI socket or API "
		 "server not answering); pods are selected once it arrives");
}

/* Pod selection (--namespaces, --exclude-namespaces, --pod-selector):
 * keeps the kernel's cgroup filter on the selected pods. */
static int start_select(const struct ebt_config *cfg, struct ebt_pod_filter *f,
			struct ebt_cri *cri, struct ebt_k8s *k8s,
			struct ebt_bpf *bpf, struct ebt_select_sync **out)
{
	struct ebt_select_sync_config sc = {
		.filter = f, .cri = cri, .k8s = k8s, .set = select_cgroup,
		.set_ctx = bpf, .max_ids = ebt_bpf_cgroup_capacity(),
		.period_ms = SELECT_PERIOD_MS,
	};
	char err[256];

	*out = NULL;
	if (!ebt_config_has_pod_filter(cfg))
		return 0;
	if (!cri && !k8s) {
		fprintf(stderr, "ebpftrace run: pod selection needs pod "
			"metadata: set cri.socket or give the Kubernetes API "
			"(k8s.kubeconfig, or run in a cluster)\n");
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->include = (const char *const *)cfg->namespaces;
	f->n_include = cfg->n_namespaces;
	f->exclude = (const char *const *)cfg->exclude_namespaces;
	f->n_exclude = cfg->n_exclude_namespaces;
	if (cfg->pod_selector &&
	    ebt_labelsel_parse(cfg->pod_selector, &f->sel, err, sizeof(err))) {
		fprintf(stderr, "ebpftrace run: filter.pod_selector: %s\n", err);
		return -1;
	}
	wait_pod_view(cri, k8s);
	if (!(*out = ebt_select_sync_start(&sc))) {
		fprintf(stderr, "ebpftrace run: pod selection could not start "
			"(no cgroup2 mount, or out of memory)\n");
		return -1;
	}
	return 0;
}

static int start_metrics(struct run_parts *p, const struct ebt_config *cfg)
{
	char err[512] = "";

	if (!cfg->metrics_listen)
		return 0;
	if (ebt_metrics_server_start(&p->metrics, cfg->metrics_listen, err,
				     sizeof(err)) != 0) {
		fprintf(stderr, "ebpftrace run: metrics.listen: %s\n", err);
		return -1;
	}
	log_info("health and metrics on http://%s/metrics",
		 cfg->metrics_listen);
	return 0;
}

/* The stages events flow into: the span sinks, the assembler, pod
 * metadata, the log pipes and Kubernetes events. 0, or -1 once the error
 * is said; what started is stopped by drain_outputs() and free_pipeline(). */
static int start_pipeline(struct run_parts *p, const struct ebt_config *cfg,
			  const char *cmd)
{
	char err[512] = "";

	if (start_metrics(p, cfg) != 0)
		return -1;
	p->sinks->format = cfg->format;
	p->sinks->otlp = start_otlp(cfg);
	if (ebt_tracer_init(p->tracer, cfg, emit_span, p->sinks) != 0) {
		fprintf(stderr, "ebpftrace %s: out of memory\n", cmd);
		return -1;
	}
	p->tracer_up = true;
	p->cri = start_cri(cfg, p->tracer->resources);
	if (start_k8s(cfg, p->tracer->resources, &p->k8s) != 0)
		return -1;
	if (ebt_logpipe_start(p->logs, cfg, p->tracer->resources, err,
			      sizeof(err)) != 0) {
		fprintf(stderr, "ebpftrace %s: logs: %s\n", cmd, err);
		return -1;
	}
	p->tracer->logs = p->logs->logs;
	return start_events(cfg, p->logs->loki, &p->events);
}

/* Programs detached first, so that nothing more arrives; the kernel's
 * and the selection's counters go to st (NULL: not wanted). Spans held
 * for a late peer record are let go. */
static void stop_capture(struct run_parts *p, struct run_stats *st)
{
	struct ebt_select_sync *sel = p->sel;

	p->sel = NULL;
	if (sel && st)
		ebt_select_sync_stats(sel, &st->sel);
	ebt_select_sync_stop(sel);
	if (p->bpf && st)
		ebt_bpf_stats(p->bpf, st->kernel);
	ebt_bpf_stop(p->bpf);
	p->bpf = NULL;
	p->tracer->bpf = NULL;
	if (p->tracer_up)
		ebt_tracer_flush(p->tracer);
}

/* The BPF side: the programs attached, TLS libraries found, connections
 * open before the start adopted, pod selection (podf must outlive it). */
static int start_capture(struct run_parts *p, const struct ebt_config *cfg,
			 struct ebt_pod_filter *podf, const char *cmd)
{
	char err[512] = "";

	install_signals();
	p->bpf = ebt_bpf_start(cfg, ebt_tracer_handle, p->tracer, err,
			       sizeof(err));
	if (!p->bpf) {
		fprintf(stderr, "ebpftrace %s: %s\n", cmd, err);
		return -1;
	}
	p->tracer->bpf = p->bpf;
	scan_tls(p->bpf);
	p->adopt = cfg->adopt_open && !cfg->hook_only;
	if (p->adopt)
		adopt_open_conns(p->tracer, p->bpf);
	if (start_select(cfg, podf, p->cri, p->k8s, p->bpf, &p->sel) != 0) {
		stop_capture(p, NULL);
		return -1;
	}
	return 0;
}

/* Shipped events first (they push to Loki), then the log pipes and the
 * exporters, each given SHUTDOWN_FLUSH_MS to send what they hold. */
static void drain_outputs(struct run_parts *p, struct run_stats *st)
{
	ebt_kevents_stop(p->events);
	p->events = NULL;
	ebt_logpipe_stop(p->logs, SHUTDOWN_FLUSH_MS, &st->logs, &st->loki);
	if (p->sinks->otlp)
		otlp_exporter_shutdown_stats(p->sinks->otlp, SHUTDOWN_FLUSH_MS,
					     &st->otlp);
	p->sinks->otlp = NULL;
}

static void free_pipeline(struct run_parts *p)
{
	if (p->tracer_up)
		ebt_tracer_fini(p->tracer);
	p->tracer_up = false;
	ebt_cri_stop(p->cri);
	ebt_k8s_stop(p->k8s);
	p->cri = NULL;
	p->k8s = NULL;
	ebt_metrics_server_stop(&p->metrics);
}

/* The tracer itself, for `run` and `attach`. */
static int trace(const struct ebt_config *cfg, const char *cmd)
{
	struct sinks sinks = {0};
	struct ebt_tracer tracer;
	struct ebt_logpipe logs = {0};
	struct ebt_pod_filter podf;
	struct run_stats st;
	struct run_parts parts = { .tracer = &tracer, .sinks = &sinks,
				   .logs = &logs };
	char err[512] = "";
	int rc = 1;

	memset(&st, 0, sizeof(st));
	if (ebt_check_required(err, sizeof(err)) != 0)
		fprintf(stderr, "ebpftrace %s: %s\n", cmd, err);
	else if (start_pipeline(&parts, cfg, cmd) == 0 &&
		 start_capture(&parts, cfg, &podf, cmd) == 0) {
		ebt_metrics_server_set_ready(&parts.metrics, true);
		log_info("tracing: programs attached, ready%s; Ctrl-C to stop",
			 cfg->hook_only ? " (hook-only benchmark mode)" : "");
		main_loop(&parts, cfg->duration_ms);
		ebt_metrics_server_set_ready(&parts.metrics, false);
		stop_capture(&parts, &st);
		rc = 0;
	}
	drain_outputs(&parts, &st);
	if (rc == 0)
		write_stats(cfg->stats_file, &st, &tracer);
	free_pipeline(&parts);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct ebt_config cfg;
	int rc = load_config(&cfg, "run", argc, argv);

	if (rc < 0)
		rc = trace(&cfg, "run");
	ebt_config_free(&cfg);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct ebt_config cfg;
	int rc = load_config(&cfg, "check", argc, argv);

	if (rc < 0)
		rc = ebt_check_run(stdout, cfg.cri_socket);
	ebt_config_free(&cfg);
	return rc;
}

/* A pod of this node is traced here; another node's through a tracer
 * pod there (remote.h), which this process follows until Ctrl-C. */
static int attach(struct ebt_config *cfg)
{
	char err[512] = "";
	int rc = ebt_attach_resolve(cfg, err, sizeof(err));

	if (rc == 0)
		return trace(cfg, "attach");
	if (rc == EBT_ATTACH_ELSEWHERE && ebt_remote_mode(cfg) != REMOTE_NEVER) {
		log_debug("attach: not on this node (%s): remote attach", err);
		install_signals();
		return ebt_remote_attach(cfg, &stop_requested, err);
	}
	fprintf(stderr, "ebpftrace attach: %s\n", err);
	return 1;
}

static int cmd_attach(int argc, char **argv)
{
	struct ebt_config cfg;
	int rc = load_config(&cfg, "attach", argc, argv);

	if (rc < 0)
		rc = attach(&cfg);
	ebt_config_free(&cfg);
	return rc;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("ebpftrace %s\n", EBT_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

struct command {
	const char *name;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{"run", "trace HTTP on this host; print and/or export spans", cmd_run},
	{"check", "report whether this kernel and process can run the tracer",
	 cmd_check},
	{"attach", "trace one pod (on this node, or on its node through a "
		   "tracer pod) or container",
	 cmd_attach},
	{"version", "print the version", cmd_version},
	{"help", "show help for a command", cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Installed as kubectl-ebpftrace, kubectl runs it as `kubectl ebpftrace`
 * with the arguments that follow. */
static const char *prog_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "kubectl-ebpftrace") == 0 ? "kubectl ebpftrace" :
	       "ebpftrace";
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out, "usage: %s <command> [options]\n\n"
		     "Zero-instrumentation HTTP tracing from syscalls.\n\n"
		     "commands:\n", prog);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'%s <command> --help' lists its options.\n", prog);
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < N_COMMANDS; i++)
			if (strcmp(argv[1], commands[i].name) == 0 &&
			    commands[i].fn != cmd_help &&
			    commands[i].fn != cmd_version) {
				ebt_config_usage(stdout, argv[1]);
				return 0;
			}
	}
	usage(stdout, prog_name(argv[0]));
	return 0;
}

/* Span and log lines to a pipe or file go out in 64 KiB writes (the main
 * loop flushes after each ring-buffer drain); a terminal stays line by
 * line. */
#define STDOUT_BUFFER (64 * 1024)

int main(int argc, char **argv)
{
	const char *prog = prog_name(argv[0]);

	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, STDOUT_BUFFER);
	if (argc < 2) {
		usage(stderr, prog);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(1, argv);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n\n", prog, argv[1]);
	usage(stderr, prog);
	return 2;
}
