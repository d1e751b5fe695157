/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Captured stdout/stderr writes (EBT_EV_LOG records) -> chunks for the
 * line assembler (logs.c), with the trace context of the writing thread.
 *
 * A write longer than one ring record arrives as pieces: every piece but
 * the last has seq 1, and hdr.conn_start_ns is the piece's offset in the
 * write. A thread is in one write at a time and BPF sends its pieces in
 * order, so they are joined per thread and fed as one chunk: a big write
 * is one write again, whatever other threads wrote meanwhile. A piece that
 * never came (ring full) cuts the write there; the rest is counted lost.
 *
 * A short-lived child (echo, cat, a shell) is often gone from /proc when
 * its lines are read: its parent (fork record) and the program it exec'd
 * (exec record) name it then, with the parent's environment and cgroup.
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "logs.h"
#include "resource.h"
#include "tracer.h"

/* A write whose last piece has not come this long after its first is
 * taken as cut (the piece was lost); pieces of one write come together. */
#define PARTS_STALE_NS 1000000000ULL
#define CAPTURE_MAX ((uint64_t)EBT_LOG_PIECES_MAX * (EBT_PAYLOAD_MAX - 1))

/* The pieces of one write, so far. */
struct log_parts {
	struct ebt_event_hdr hdr; /* of the first piece */
	uint32_t stream;
	uint32_t total; /* bytes the write moved */
	uint32_t len;   /* bytes joined */
	uint32_t cap;
	bool cut;       /* a piece is missing: nothing more is joined */
	uint8_t *buf;
};

/* What names a process once it is gone. */
struct log_proc {
	uint32_t parent;  /* 0: not seen forked */
	bool resolved;    /* its resource is built (and cached) */
	char comm[EBT_COMM_LEN]; /* "": not seen exec'd */
	char exe[EBT_EXE_LEN];   /* base name of the file it exec'd */
};

static void parts_free(void *p)
{
	struct log_parts *lp = p;

	if (lp)
		free(lp->buf);
	free(lp);
}

int ebt_logcapture_init(struct ebt_tracer *t)
{
	t->log_parts = htab_new(sizeof(uint32_t));
	t->log_procs = htab_new(sizeof(uint32_t));
	return t->log_parts && t->log_procs ? 0 : -1;
}

void ebt_logcapture_fini(struct ebt_tracer *t)
{
	htab_free(t->log_parts, parts_free);
	htab_free(t->log_procs, free);
	t->log_parts = t->log_procs = NULL;
}

static struct log_proc *proc_get(struct ebt_tracer *t, uint32_t tgid)
{
	struct log_proc *p = htab_get(t->log_procs, &tgid);
	int err = 0;

	if (p || !(p = calloc(1, sizeof(*p))))
		return p;
	htab_put(t->log_procs, &tgid, p, &err);
	if (err) {
		free(p);
		return NULL;
	}
	return p;
}

void ebt_logcapture_fork(struct ebt_tracer *t, uint32_t parent,
			 uint32_t child)
{
	struct log_proc *p;

	if (!t->logs || !(p = proc_get(t, child)))
		return;
	*p = (struct log_proc){ .parent = parent };
}

void ebt_logcapture_exec(struct ebt_tracer *t, const struct ebt_ev_exec *e)
{
	struct log_proc *p;

	if (!t->logs || !(p = proc_get(t, e->hdr.tgid)))
		return;
	memcpy(p->comm, e->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	memcpy(p->exe, e->exe, sizeof(p->exe));
	p->exe[sizeof(p->exe) - 1] = '\0';
	p->resolved = false; /* the tracer forgot what named the old one */
}

/* The process that wrote: itself while in /proc, else named after the
 * program it exec'd, with its parent's environment and cgroup. */
static struct ebt_resource *writer(struct ebt_tracer *t, uint32_t tgid)
{
	struct log_proc *p = htab_get(t->log_procs, &tgid);
	const char *comm;

	if (!p)
		return ebt_resources_get(t->resources, tgid, NULL);
	comm = p->comm[0] ? p->comm : NULL;
	if (p->resolved || !p->parent)
		return ebt_resources_get(t->resources, tgid, comm);
	p->resolved = true;
	if (comm)
		return ebt_resources_get_execd(t->resources, tgid, p->parent,
					       comm, p->exe[0] ? p->exe : comm);
	return ebt_resources_get_forked(t->resources, tgid, p->parent, NULL);
}

/* One write (or what was captured of it) to the line assembler. */
static void feed(struct ebt_tracer *t, const struct ebt_event_hdr *h,
		 uint32_t stream, const uint8_t *data, uint32_t cap,
		 uint32_t total, bool ends_line)
{
	struct ebt_thread_ctx *tc = htab_get(t->threads, &h->tid);
	struct ebt_resource *r;
	struct ebt_log_ctx ctx;
	struct ebt_log_chunk c = {
		.tgid = h->tgid, .tid = h->tid, .stream = (uint8_t)stream,
		.ts_ns = (uint64_t)((int64_t)h->ts_ns + t->mono_to_real_ns),
		.data = data, .cap_len = cap, .total_len = total,
		.ends_line = ends_line,
	};

	t->stats.log_writes++;
	/* resolve the process now: it may be gone when its lines flush */
	r = writer(t, h->tgid);
	if (!ebt_config_has_filter(t->cfg) && t->cfg->logs_containers &&
	    !(r && ebt_resource_get(r, "container.id"))) {
		t->stats.log_writes_skipped++;
		return;
	}
	if (tc && tc->tgid == h->tgid && ebt_asm_ctx_live(t, tc)) {
		uint32_t lines = 0;

		for (uint32_t i = 0; i < cap; i++)
			lines += data[i] == '\n';
		if (lines)
			ebt_asm_log_lines(t, tc, lines);
		memcpy(ctx.trace_id, tc->trace_id, 16);
		memcpy(ctx.span_id, tc->span_id, 8);
		c.ctx = &ctx;
	}
	ebt_logs_feed(t->logs, &c);
}

/* Feed what was joined; ends_line: the write's last byte was '\n'. */
static void parts_done(struct ebt_tracer *t, struct log_parts *lp,
		       bool ends_line)
{
	htab_del(t->log_parts, &lp->hdr.tid);
	feed(t, &lp->hdr, lp->stream, lp->buf, lp->len, lp->total,
	     lp->len < lp->total && ends_line);
	parts_free(lp);
}

static void parts_start(struct ebt_tracer *t, const struct ebt_ev_data *e)
{
	struct log_parts *lp = calloc(1, sizeof(*lp));
	int err = 0;

	if (lp) {
		lp->cap = (uint32_t)(e->total_len < CAPTURE_MAX ? e->total_len
							       : CAPTURE_MAX);
		lp->buf = malloc(lp->cap ? lp->cap : 1);
	}
	if (!lp || !lp->buf) {
		parts_free(lp);
		feed(t, &e->hdr, e->role, NULL, 0, e->total_len, false);
		return;
	}
	lp->hdr = e->hdr;
	lp->stream = e->role;
	lp->total = e->total_len;
	htab_put(t->log_parts, &e->hdr.tid, lp, &err);
	if (err) {
		parts_free(lp);
		feed(t, &e->hdr, e->role, NULL, 0, e->total_len, false);
	}
}

/* A piece after the first: join it, or note that one is missing. */
static void parts_add(struct log_parts *lp, const struct ebt_ev_data *e)
{
	uint64_t off = e->hdr.conn_start_ns;

	if (off != lp->len || e->role != lp->stream ||
	    e->total_len != lp->total || lp->len + e->cap_len > lp->cap)
		lp->cut = true;
	if (lp->cut)
		return;
	memcpy(lp->buf + lp->len, e->payload, e->cap_len);
	lp->len += e->cap_len;
}

/* The last piece: did the write end with '\n'? (known when its end was
 * captured, or reported in tail when it was not) */
static bool last_ends_line(const struct ebt_ev_data *e)
{
	uint64_t end = e->hdr.conn_start_ns + e->cap_len;

	if (e->tail)
		return e->tail == (uint32_t)'\n' + 1;
	return end == e->total_len && e->cap_len &&
	       e->payload[e->cap_len - 1] == '\n';
}

void ebt_log_write(struct ebt_tracer *t, const struct ebt_ev_data *e)
{
	struct log_parts *lp = htab_get(t->log_parts, &e->hdr.tid);
	bool first = e->hdr.conn_start_ns == 0;

	if (!t->logs || (e->role != 1 && e->role != 2))
		return;
	if (lp && first) /* a new write: the last piece of the one before
			  * was lost */
		parts_done(t, lp, false);
	if (first && !e->seq) {
		feed(t, &e->hdr, e->role, e->payload, e->cap_len,
		     e->total_len, e->tail == (uint32_t)'\n' + 1);
		return;
	}
	if (first) {
		parts_start(t, e);
		lp = htab_get(t->log_parts, &e->hdr.tid);
	} else if (!lp) { /* the write's first piece was lost */
		feed(t, &e->hdr, e->role, NULL, 0, e->cap_len, false);
		return;
	}
	if (!lp)
		return;
	parts_add(lp, e);
	if (!e->seq)
		parts_done(t, lp, last_ends_line(e));
}

struct parts_sweep {
	struct ebt_tracer *t;
	uint32_t tgid;   /* 0: any */
	uint64_t before; /* first piece older than this (mono ns) */
	struct log_parts *found[64];
	unsigned n;
};

static bool collect_parts(const void *key, void *val, void *ctx)
{
	struct parts_sweep *ps = ctx;
	struct log_parts *lp = val;

	(void)key;
	if ((ps->tgid && lp->hdr.tgid != ps->tgid) ||
	    lp->hdr.ts_ns >= ps->before || ps->n >= 64)
		return false;
	ps->found[ps->n++] = lp;
	return false;
}

/* Writes whose last piece will not come: feed what they have. */
static void parts_flush(struct ebt_tracer *t, uint32_t tgid, uint64_t before)
{
	struct parts_sweep ps;

	do {
		ps = (struct parts_sweep){ .t = t, .tgid = tgid,
					   .before = before };
		htab_sweep(t->log_parts, collect_parts, &ps);
		for (unsigned i = 0; i < ps.n; i++)
			parts_done(t, ps.found[i], false);
	} while (ps.n == 64);
}

void ebt_logcapture_exit(struct ebt_tracer *t, uint32_t tgid)
{
	if (t->log_parts && htab_len(t->log_parts))
		parts_flush(t, tgid, UINT64_MAX);
	if (t->log_procs)
		free(htab_del(t->log_procs, &tgid));
}

void ebt_logcapture_tick(struct ebt_tracer *t, uint64_t now_mono_ns)
{
	if (t->log_parts && htab_len(t->log_parts) &&
	    now_mono_ns > PARTS_STALE_NS)
		parts_flush(t, 0, now_mono_ns - PARTS_STALE_NS);
}
