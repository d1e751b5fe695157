/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event decoder: validates each ring-buffer record against the shared
 * layouts in include/ebpftrace_events.h and dispatches it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "htab.h"
#include "loader.h"
#include "logs.h"
#include "log.h"
#include "resource.h"
#include "tracer.h"

#define THREAD_CTX_TTL_NS (300ULL * 1000000000ULL)

/* The sampler the configuration names; a ratio it cannot read is 1 (the
 * option's check refused it before). */
static int sampler_init(struct ebt_tracer *t, const struct ebt_config *cfg)
{
	double ratio = 1.0;

	if (cfg->sampler_arg)
		ebt_sampler_parse_ratio(cfg->sampler_arg, &ratio);
	return ebt_sampler_init(&t->sampler,
				(enum ebt_sampler_kind)cfg->sampler, ratio);
}

int ebt_tracer_init(struct ebt_tracer *t, const struct ebt_config *cfg,
		    ebt_span_sink sink, void *sink_ctx)
{
	memset(t, 0, sizeof(*t));
	t->cfg = cfg;
	t->sink = sink;
	t->sink_ctx = sink_ctx;
	t->mono_to_real_ns = (int64_t)(ebt_now_real_ns() - ebt_now_mono_ns());
	if (getrandom(&t->rng, sizeof(t->rng), 0) != sizeof(t->rng) || !t->rng)
		t->rng = ebt_now_real_ns() | 1;
	t->conns = htab_new(sizeof(struct ebt_conn_id));
	t->clients = htab_new(sizeof(struct ebt_tuple));
	t->servers = htab_new(sizeof(struct ebt_tuple));
	t->clients_by_end = htab_new(sizeof(struct ebt_endpoint));
	t->servers_by_end = htab_new(sizeof(struct ebt_endpoint));
	t->threads = htab_new(sizeof(uint32_t));
	t->thread_kinds = htab_new(sizeof(uint32_t));
	t->resources = ebt_resources_new(cfg->resource_attributes);
	if (!t->conns || !t->clients || !t->servers || !t->clients_by_end ||
	    !t->servers_by_end || !t->threads ||
	    !t->thread_kinds ||
	    !t->resources || sampler_init(t, cfg) != 0 ||
	    ebt_logcapture_init(t) != 0) {
		ebt_tracer_fini(t);
		return -1;
	}
	if (!cfg->routes_from_jar)
		ebt_resources_no_routes(t->resources);
	return 0;
}

void ebt_tracer_fini(struct ebt_tracer *t)
{
	htab_free(t->clients, NULL);
	htab_free(t->servers, NULL);
	htab_free(t->clients_by_end, NULL);
	htab_free(t->servers_by_end, NULL);
	htab_free(t->conns, ebt_conn_free);
	htab_free(t->threads, free);
	free(t->spare_tc);
	t->spare_tc = NULL;
	htab_free(t->thread_kinds, free);
	ebt_resources_free(t->resources);
	ebt_logcapture_fini(t);
	ebt_peer_wait_free(t);
	ebt_sampler_fini(&t->sampler);
	t->clients = t->servers = t->conns = t->threads = NULL;
	t->clients_by_end = t->servers_by_end = NULL;
	t->thread_kinds = NULL;
	t->resources = NULL;
}

/* Minimum record size per type (data records carry a variable payload). */
static size_t min_size(uint32_t type)
{
	switch (type) {
	case EBT_EV_CONN_OPEN:
		return sizeof(struct ebt_ev_conn_open);
	case EBT_EV_DATA:
	case EBT_EV_LOG:
		return offsetof(struct ebt_ev_data, payload);
	case EBT_EV_CONN_CLOSE:
		return sizeof(struct ebt_ev_close);
	case EBT_EV_PROC_EXIT:
	case EBT_EV_PROC_FORK:
		return sizeof(struct ebt_ev_proc);
	case EBT_EV_PROC_EXEC:
		return sizeof(struct ebt_ev_exec);
	default:
		return SIZE_MAX;
	}
}

/* The end bytes (EBT_DATA_END) follow the prefix, both within the record
 * and within what the syscall moved. */
static bool data_ok(const struct ebt_ev_data *e, size_t len)
{
	size_t end = ebt_data_end_len(e);

	return e->cap_len + end < EBT_PAYLOAD_MAX &&
	       (uint64_t)e->cap_len + end <= e->total_len &&
	       offsetof(struct ebt_ev_data, payload) + e->cap_len + end <= len &&
	       e->direction <= EBT_DIR_EGRESS;
}

/* A process runs a new program: it is named anew, by the record once it
 * is gone from /proc. */
static void proc_exec(struct ebt_tracer *t, const struct ebt_ev_exec *e)
{
	char comm[EBT_COMM_LEN], exe[EBT_EXE_LEN];

	memcpy(comm, e->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = '\0';
	memcpy(exe, e->exe, sizeof(exe));
	exe[sizeof(exe) - 1] = '\0';
	ebt_resources_exec(t->resources, e->hdr.tgid, comm, exe, e->args,
			   e->args_len < sizeof(e->args) ? e->args_len
							 : sizeof(e->args));
	ebt_logcapture_exec(t, e);
}

static void proc_fork(struct ebt_tracer *t, const struct ebt_ev_proc *e)
{
	if (t->bpf && t->cfg->n_pids)
		ebt_bpf_pid_inherit(t->bpf, e->hdr.tgid, e->child_tgid);
	ebt_proc_fork(t, e->hdr.tgid, e->child_tgid);
	ebt_asm_fork(t, e->hdr.tid, e->hdr.tgid, e->child_tgid);
	ebt_logcapture_fork(t, e->hdr.tgid, e->child_tgid);
	ebt_logs_release(t->logs, e->hdr.tgid);
}

int ebt_tracer_handle(void *ctx, const void *data, size_t len)
{
	struct ebt_tracer *t = ctx;
	const struct ebt_event_hdr *h = data;

	t->stats.records++;
	if (len < sizeof(*h) || len < min_size(h->type)) {
		t->stats.bad_records++;
		return 0;
	}
	switch (h->type) {
	case EBT_EV_CONN_OPEN:
		ebt_conn_open(t, data);
		break;
	case EBT_EV_LOG:
		if (!data_ok(data, len)) {
			t->stats.bad_records++;
			break;
		}
		ebt_log_write(t, data);
		break;
	case EBT_EV_DATA:
		if (!data_ok(data, len)) {
			t->stats.bad_records++;
			break;
		}
		ebt_conn_data(t, data);
		break;
	case EBT_EV_CONN_CLOSE:
		ebt_conn_close(t, h);
		break;
	case EBT_EV_PROC_EXIT:
		if (t->logs) {
			ebt_logcapture_exit(t, h->tgid);
			ebt_logs_forget(t->logs, h->tgid);
		}
		ebt_proc_exit(t, h->tgid, h->ts_ns);
		free(htab_del(t->threads, &h->tgid)); /* its main thread */
		if (t->bpf && t->cfg->n_pids)
			ebt_bpf_pid_forget(t->bpf, h->tgid);
		break;
	case EBT_EV_PROC_EXEC:
		proc_exec(t, data);
		break;
	default: /* EBT_EV_PROC_FORK */
		proc_fork(t, data);
		break;
	}
	return 0;
}

static bool thread_expired(const void *key, void *val, void *ctx)
{
	const struct ebt_thread_ctx *tc = val;
	uint64_t now = *(const uint64_t *)ctx;

	(void)key;
	if (now - tc->set_ns < THREAD_CTX_TTL_NS)
		return false;
	free(val);
	return true;
}

void ebt_tracer_flush(struct ebt_tracer *t)
{
	ebt_peer_wait_expire(t, UINT64_MAX);
}

void ebt_tracer_tick(struct ebt_tracer *t, uint64_t now_ns)
{
	htab_sweep(t->threads, thread_expired, &now_ns);
	ebt_asm_tick(t, now_ns);
	ebt_peer_wait_expire(t, now_ns);
	ebt_logcapture_tick(t, now_ns);
	if (t->logs)
		ebt_logs_tick(t->logs,
			      (uint64_t)((int64_t)now_ns + t->mono_to_real_ns));
}
