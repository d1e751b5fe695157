/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Span assembler: a request head opens an exchange with its trace context;
 * the matching response closes it into a server or client span.
 *
 * Trace context, in order: for server requests, the client span of a traced
 * peer on this host whose 4-tuple is this connection's reversed (n-th
 * request on both ends); for client requests, the server span active on the
 * writing thread, else (JDK HttpClient threads) the only server span in
 * flight in the process; then a valid W3C traceparent in the request;
 * otherwise a new trace.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "htab.h"
#include "jar_routes.h"
#include "resource.h"
#include "tracer.h"

void ebt_random_id(struct ebt_tracer *t, uint8_t *out, size_t len)
{
	bool zero = true;

	while (zero) {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t x = t->rng;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			t->rng = x;
			memcpy(out + i, &x, len - i < 8 ? len - i : 8);
		}
		for (size_t i = 0; i < len && zero; i++)
			zero = out[i] == 0;
	}
}

/* The exchange's strings live in the room after it (exchange_new). */
void ebt_exchange_free(struct ebt_exchange *x)
{
	free(x);
}

/* Copy s into the room at *at; NULL for an empty s unless kept. */
static char *room_str(char **at, const char *s, size_t n, bool keep_empty)
{
	char *p = *at;

	if (!n && !keep_empty)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	*at += n + 1;
	return p;
}

/* An exchange for request m, its strings in one allocation with it. */
static struct ebt_exchange *exchange_new(const struct http_msg *m)
{
	size_t lt = strlen(m->target), lh = strlen(m->host),
	       lu = strlen(m->user_agent), lc = strlen(m->fwd_client),
	       lf = strlen(m->fwd_host);
	struct ebt_exchange *x =
		calloc(1, sizeof(*x) + lt + lh + lu + lc + lf + 5);
	char *at;

	if (!x)
		return NULL;
	at = (char *)(x + 1);
	x->target = room_str(&at, m->target, lt, true);
	x->host = room_str(&at, m->host, lh, false);
	x->user_agent = room_str(&at, m->user_agent, lu, false);
	x->fwd_client = room_str(&at, m->fwd_client, lc, false);
	x->fwd_host = room_str(&at, m->fwd_host, lf, false);
	return x;
}

static struct ebt_exchange *find_index(struct ebt_conn *c, uint32_t index)
{
	for (struct ebt_exchange *x = c->head; x; x = x->next)
		if (x->index == index)
			return x;
	return NULL;
}

static struct ebt_tuple mirror(const struct ebt_tuple *tu)
{
	struct ebt_tuple peer;

	memset(&peer, 0, sizeof(peer));
	memcpy(peer.laddr, tu->raddr, 16);
	memcpy(peer.raddr, tu->laddr, 16);
	peer.lport = tu->rport;
	peer.rport = tu->lport;
	return peer;
}

/*
 * The traced connection at the other end of c, or NULL: the one in
 * by_tuple whose tuple mirrors c's or, through a destination NAT, the one
 * in by_end with c's client end. Through a NAT the client dialled another
 * address than the one the server's socket has (a Kubernetes Service's
 * virtual IP, a container's published port) and only the client's end is
 * the same on both. A candidate that mirrors a connection of its own (in
 * own, c's index) is that one's peer, not c's.
 */
static struct ebt_conn *peer_conn(const struct ebt_conn *c,
				  struct htab *by_tuple, struct htab *by_end,
				  struct htab *own)
{
	struct ebt_tuple peer;
	struct ebt_endpoint end;
	struct ebt_conn *p;

	if (!c->have_tuple || !htab_len(by_tuple))
		return NULL;
	peer = mirror(&c->tuple);
	p = htab_get(by_tuple, &peer);
	if (p || !ebt_client_end(c, &end) || !(p = htab_get(by_end, &end)))
		return p;
	peer = mirror(&p->tuple);
	return htab_get(own, &peer) ? NULL : p;
}

/* The traced client connection at the other end of server connection c. */
static struct ebt_conn *local_client(struct ebt_tracer *t,
				     const struct ebt_conn *c)
{
	return peer_conn(c, t->clients, t->clients_by_end, t->servers);
}

/* The traced server connection at the other end of client connection c. */
static struct ebt_conn *local_server(struct ebt_tracer *t,
				     const struct ebt_conn *c)
{
	return peer_conn(c, t->servers, t->servers_by_end, t->clients);
}

/* Server side: x's parent is the same request's span on the local client
 * connection cl (may be NULL). */
static bool link_to_client(struct ebt_conn *cl, struct ebt_exchange *x)
{
	struct ebt_exchange *cx = cl ? find_index(cl, x->index) : NULL;

	/* a peer that took its context from the request's traceparent (a
	 * client outside any server span, curl -H traceparent): the header
	 * is the caller's intent, and our server span follows it too */
	if (!cx || cx->from_header)
		return false;
	memcpy(x->trace_id, cx->trace_id, 16);
	memcpy(x->parent_id, cx->span_id, 8);
	x->has_parent = x->remote_parent = x->peer_client = true;
	return true;
}

/*
 * Client side, the same link the other way: the server's read of a
 * request can reach the tracer before the client's write of it (the
 * writer's syscall exit is stamped after the reader's, on another CPU), so
 * the server span began a trace of its own. A client span that is a root
 * (curl) joins that trace as the server span's parent. One with a parent
 * of its own keeps its trace; the server span moves to it at its
 * response, when it made no outbound request meanwhile.
 */
static void adopt_late_server(struct ebt_tracer *t, struct ebt_conn *c,
			      struct ebt_exchange *x)
{
	struct ebt_conn *sc;
	struct ebt_exchange *sx;

	if (x->has_parent)
		return;
	sc = local_server(t, c);
	sx = sc ? find_index(sc, x->index) : NULL;
	if (!sx || sx->has_parent)
		return;
	memcpy(x->trace_id, sx->trace_id, 16);
	memcpy(sx->parent_id, x->span_id, 8);
	sx->has_parent = sx->remote_parent = sx->peer_client = true;
}

/*
 * Client side, later still: the server's exchange was answered before this
 * request's record came, and its span waits (peer_wait.c). It joins this
 * span's trace as its child; a root client span joins the server's trace.
 */
static void take_waiting_server(struct ebt_tracer *t, struct ebt_conn *c,
				struct ebt_exchange *x)
{
	struct ebt_span *s;

	if (!c->have_tuple || !t->peer_wait)
		return;
	s = ebt_peer_wait_take(t, &c->tuple, x->index);
	if (!s)
		return;
	if (!x->from_header) { /* else both follow the same header */
		if (x->has_parent)
			memcpy(s->trace_id, x->trace_id, 16);
		else
			memcpy(x->trace_id, s->trace_id, 16);
		memcpy(s->parent_span_id, x->span_id, 8);
	}
	ebt_asm_export(t, s);
}

/* Server side, x answered with no local peer linked: is the traced local
 * client cl (may be NULL) still to write the request (its record late)? */
static bool client_still_to_write(const struct ebt_conn *cl,
				  const struct ebt_conn *c,
				  const struct ebt_exchange *x)
{
	return cl && !c->is_unix && cl->role == EBT_ROLE_CLIENT &&
	       !cl->not_http && cl->n_requests <= x->index;
}

/* Client side, x's span is exported: the local server's exchange, if
 * still pending (its response cut short by this client's close), learns
 * that its parent exists. */
static void mark_peer_answered(struct ebt_tracer *t, const struct ebt_conn *c,
			       const struct ebt_exchange *x)
{
	struct ebt_conn *sc = local_server(t, c);
	struct ebt_exchange *sx = sc ? find_index(sc, x->index) : NULL;

	if (sx)
		sx->peer_answered = true;
}

bool ebt_asm_cut_keeps_span(const struct ebt_conn *c)
{
	const struct ebt_exchange *x = c->head;

	return !x || !x->peer_client || x->peer_answered;
}

struct in_flight {
	struct ebt_tracer *t;
	uint32_t tgid;
	unsigned n; /* requests in flight */
	const struct ebt_thread_ctx *tc;
};

static void inflight_prune(struct ebt_tracer *t, struct ebt_thread_ctx *tc);

static bool count_in_flight(const void *key, void *val, void *ctx)
{
	struct ebt_thread_ctx *tc = val;
	struct in_flight *f = ctx;

	(void)key;
	if (tc->tgid != f->tgid || tc->inherited)
		return false;
	inflight_prune(f->t, tc);
	if (tc->n_inflight) {
		f->n += tc->n_inflight;
		f->tc = tc;
	}
	return false;
}

static bool proc_thread_comm(uint32_t tgid, uint32_t tid, char out[16])
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(out, 1, 15, f);
	fclose(f);
	while (n && out[n - 1] == '\n')
		n--;
	out[n] = '\0';
	return n > 0;
}

/*
 * What a JVM thread is, from its name (cut to 15 bytes by the kernel):
 * one of an HTTP client library's own threads, which write the requests
 * an application thread waits for (jvm_client_threads), or a
 * ForkJoinPool worker: the carriers of virtual threads
 * ("ForkJoinPool-1-worker-<n>") and the common pool. A carrier runs many
 * virtual threads in turn and one may resume on another carrier, so the
 * request a carrier read last says nothing about who writes next. Cached
 * per thread (names are read only for client requests of "java").
 */
enum jvm_thread { JVM_OTHER, JVM_HTTP_CLIENT, JVM_POOL };

/* Name prefixes of HTTP clients' I/O threads. Not OkHttp's dispatcher
 * ("OkHttp <url>" during an enqueued call): the OpenTelemetry SDK's OTLP
 * exporter writes from it, and its exports are no request's children. */
static const char *const jvm_client_threads[] = {
	"HttpClient-",	       /* JDK java.net.http: Worker, SelectorManager */
	"reactor-http-",       /* Reactor Netty (Spring WebClient) */
	"HttpClient@",	       /* Jetty HttpClient's pool */
	"httpclient-dispat",   /* Apache HttpClient 5 async I/O dispatch */
	"AsyncHttpClient-",    /* async-http-client */
};

#define THREAD_KIND_TTL_NS (300ULL * 1000000000ULL)

struct thread_kind {
	uint32_t tgid;
	enum jvm_thread kind;
	uint64_t seen_ns;
};

static enum jvm_thread jvm_kind_of_name(const char *comm)
{
	size_t n = sizeof(jvm_client_threads) / sizeof(jvm_client_threads[0]);

	for (size_t i = 0; i < n; i++)
		if (strncmp(comm, jvm_client_threads[i],
			    strlen(jvm_client_threads[i])) == 0)
			return JVM_HTTP_CLIENT;
	if (strncmp(comm, "ForkJoinPool", 12) == 0)
		return JVM_POOL;
	return JVM_OTHER;
}

static enum jvm_thread jvm_thread_kind(struct ebt_tracer *t, uint32_t tgid,
				       uint32_t tid, uint64_t now)
{
	struct thread_kind *k = htab_get(t->thread_kinds, &tid);
	char comm[16];
	int err;

	if (k && k->tgid == tgid) {
		k->seen_ns = now;
		return k->kind;
	}
	if (!(t->thread_comm ? t->thread_comm : proc_thread_comm)(tgid, tid,
								 comm))
		return JVM_OTHER;
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || (htab_put(t->thread_kinds, &tid, k, &err), err)) {
			free(k);
			return jvm_kind_of_name(comm);
		}
	}
	*k = (struct thread_kind){.tgid = tgid, .kind = jvm_kind_of_name(comm),
				  .seen_ns = now};
	return k->kind;
}

static bool thread_kind_stale(const void *key, void *val, void *ctx)
{
	struct thread_kind *k = val;

	(void)key;
	if (*(const uint64_t *)ctx - k->seen_ns < THREAD_KIND_TTL_NS)
		return false;
	free(val);
	return true;
}

void ebt_asm_tick(struct ebt_tracer *t, uint64_t now)
{
	htab_sweep(t->thread_kinds, thread_kind_stale, &now);
	ebt_sampler_expire(&t->sampler, now);
}

/*
 * The writing thread's own context says nothing: the client hands its
 * I/O to other threads (the JDK's java.net.http.HttpClient, which Spring
 * Boot 3.4+ RestTemplate/RestClient use by default, connects and writes
 * from its "HttpClient-N-Worker" threads while the request thread waits
 * without a syscall), or the thread is a virtual-thread carrier. For a
 * request written by such a thread of a process named "java": if exactly
 * one server request of the process is in flight and began before it,
 * that is the parent; with two or more nothing says which, and the client
 * span stays a root. Other threads without a server span (exporters,
 * heartbeats, schedulers) are not guessed at.
 */
static const struct ebt_thread_ctx *
sole_in_flight(struct ebt_tracer *t, const struct ebt_conn *c,
	       const struct ebt_exchange *x)
{
	struct in_flight f = {.t = t, .tgid = c->id.tgid};
	struct ebt_conn *sc;

	if (!htab_len(t->threads) || strcmp(c->comm, "java") != 0 ||
	    jvm_thread_kind(t, c->id.tgid, x->tid, x->start_ns) == JVM_OTHER)
		return NULL;
	htab_sweep(t->threads, count_in_flight, &f);
	if (f.n != 1 || f.tc->set_ns > x->start_ns)
		return NULL;
	/* still pending: not a context left behind by a dropped connection */
	sc = htab_get(t->conns, &f.tc->conn);
	return sc && find_index(sc, f.tc->index) ? f.tc : NULL;
}

/* The pending server exchange an in-flight entry names; NULL once it is
 * answered or its connection is gone. */
static struct ebt_exchange *inflight_get(struct ebt_tracer *t,
					 const struct ebt_inflight *f)
{
	struct ebt_conn *sc = htab_get(t->conns, &f->conn);

	return sc ? find_index(sc, f->index) : NULL;
}

/* Keeps only the thread's requests still waiting for their response. */
static void inflight_prune(struct ebt_tracer *t, struct ebt_thread_ctx *tc)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tc->n_inflight; i++)
		if (inflight_get(t, &tc->inflight[i]))
			tc->inflight[n++] = tc->inflight[i];
	tc->n_inflight = n;
}

/* sx's target is the client's, or ends with it (a proxy that strips a
 * prefix: location /api/ { proxy_pass http://b/; }). 2: same, 1: suffix. */
static int target_match(const struct ebt_exchange *sx,
			const struct ebt_exchange *x)
{
	size_t sl = strlen(sx->target), cl = strlen(x->target);

	if (strcmp(sx->target, x->target) == 0)
		return 2;
	return x->target[0] == '/' && sl > cl &&
	       strcmp(sx->target + sl - cl, x->target) == 0;
}

/* The in-flight request f names, if its target matches x's as well as
 * the best candidates' (match level bm) and it has no outbound request
 * yet (a proxy forwards a request once). */
static struct ebt_exchange *hint(struct ebt_tracer *t, bool has,
				 const struct ebt_inflight *f,
				 const struct ebt_exchange *x, int bm)
{
	struct ebt_exchange *sx = has ? inflight_get(t, f) : NULL;

	return sx && !sx->children && target_match(sx, x) == bm ? sx : NULL;
}

/*
 * An event-loop thread (nginx, Node) with several requests in flight: the
 * latest one read says nothing about which one this outbound request
 * serves. A proxy forwards the request's own target (or its tail), so the
 * parent is an in-flight request with that target and no outbound request
 * yet: the one the thread had read last when it opened this connection
 * (the connection's first request) or when it wrote (a pooled connection,
 * written at once), else the only candidate. Several and no hint (a
 * client library's queue: Node's http.Agent): a root span.
 */
static struct ebt_exchange *by_target(struct ebt_tracer *t,
				      const struct ebt_thread_ctx *tc,
				      const struct ebt_conn *c,
				      const struct ebt_exchange *x)
{
	struct ebt_exchange *best = NULL, *sx;
	int bm = 0, m;
	unsigned n = 0;

	for (unsigned i = 0; i < tc->n_inflight; i++) {
		sx = inflight_get(t, &tc->inflight[i]);
		m = sx ? target_match(sx, x) : 0;
		if (m > bm) {
			best = NULL;
			bm = m;
			n = 0;
		}
		if (m && m == bm && !sx->children) {
			best = sx;
			n++;
		}
	}
	if (!best)
		return NULL;
	if (x->index == 0 &&
	    (sx = hint(t, c->has_opened_for, &c->opened_for, x, bm)))
		return sx;
	if ((sx = hint(t, tc->has_last_read, &tc->last_read, x, bm)))
		return sx;
	return n == 1 ? best : NULL;
}

static bool link_event_loop(struct ebt_tracer *t, struct ebt_thread_ctx *tc,
			    const struct ebt_conn *c, struct ebt_exchange *x)
{
	struct ebt_exchange *sx = by_target(t, tc, c, x);

	if (!sx)
		return false;
	memcpy(x->trace_id, sx->trace_id, 16);
	memcpy(x->parent_id, sx->span_id, 8);
	x->has_parent = true;
	x->inferred_parent = "same_target_in_flight";
	sx->children++;
	return true;
}

/* Client side: the server span active on the writing thread (by target
 * when the thread has several in flight), else the only one in flight in
 * the process. */
static bool link_thread(struct ebt_tracer *t, struct ebt_conn *c,
			struct ebt_exchange *x)
{
	struct ebt_thread_ctx *tc = htab_get(t->threads, &x->tid);
	struct ebt_conn *sc;
	struct ebt_exchange *sx;

	if (tc && tc->tgid != c->id.tgid)
		tc = NULL;
	if (tc && !tc->inherited && strcmp(c->comm, "java") == 0 &&
	    jvm_thread_kind(t, c->id.tgid, x->tid, x->start_ns) == JVM_POOL)
		tc = NULL; /* a carrier: what it read last is not the writer's */
	if (tc && !tc->inherited) {
		inflight_prune(t, tc);
		if (tc->n_inflight > 1)
			return link_event_loop(t, tc, c, x);
	}
	if (!tc && (tc = (struct ebt_thread_ctx *)sole_in_flight(t, c, x)))
		x->inferred_parent = "only_server_span_in_flight";
	if (!tc)
		return false;
	/* a request dropped unanswered (its client went away, a gap) left
	 * the thread marked: its span will never be exported, no parent */
	sc = htab_get(t->conns, &tc->conn);
	sx = sc ? find_index(sc, tc->index) : NULL;
	if (!sx)
		return false;
	memcpy(x->trace_id, tc->trace_id, 16);
	memcpy(x->parent_id, tc->span_id, 8);
	x->has_parent = true;
	sx->children++;
	return true;
}

void ebt_asm_log_lines(struct ebt_tracer *t, const struct ebt_thread_ctx *tc,
		       uint32_t lines)
{
	struct ebt_conn *c = htab_get(t->conns, &tc->conn);
	struct ebt_exchange *x = c ? find_index(c, tc->index) : NULL;

	if (x)
		x->log_lines += lines;
}

bool ebt_asm_ctx_live(struct ebt_tracer *t, const struct ebt_thread_ctx *tc)
{
	struct ebt_conn *c;

	if (!tc->inherited)
		return true;
	c = htab_get(t->conns, &tc->conn);
	return c && find_index(c, tc->index);
}

void ebt_asm_fork(struct ebt_tracer *t, uint32_t ptid, uint32_t ptgid,
		  uint32_t child)
{
	const struct ebt_thread_ctx *pc = htab_get(t->threads, &ptid);
	struct ebt_thread_ctx *tc;
	int err = 0;

	if (!pc || pc->tgid != ptgid || !ebt_asm_ctx_live(t, pc))
		return;
	tc = malloc(sizeof(*tc));
	if (!tc)
		return;
	*tc = *pc;
	tc->tgid = child;
	tc->inherited = true;
	free(htab_put(t->threads, &child, tc, &err));
	if (err)
		free(tc);
}

static void activate(struct ebt_thread_ctx *tc, const struct ebt_conn_id *id,
		     const struct ebt_exchange *x)
{
	tc->tgid = id->tgid;
	tc->inherited = false;
	tc->set_ns = x->start_ns;
	tc->conn = *id;
	tc->index = x->index;
	memcpy(tc->trace_id, x->trace_id, 16);
	memcpy(tc->span_id, x->span_id, 8);
}

/* The thread that read request bytes on c names the request it read last
 * (the connection's latest). */
void ebt_asm_server_read(struct ebt_tracer *t, const struct ebt_conn *c,
			 uint32_t tid)
{
	struct ebt_thread_ctx *tc;

	if (!c->tail || !(tc = htab_get(t->threads, &tid)) ||
	    tc->tgid != c->id.tgid || tc->inherited)
		return;
	tc->last_read = (struct ebt_inflight){.conn = c->id,
					      .index = c->tail->index};
	tc->has_last_read = true;
}

/* A thread that read a response (an upstream answered) may write next for
 * any request it holds (a client library's queue): what it read last
 * before says nothing about that write. */
void ebt_asm_client_read(struct ebt_tracer *t, const struct ebt_conn *c,
			 uint32_t tid)
{
	struct ebt_thread_ctx *tc = htab_get(t->threads, &tid);

	if (tc && tc->tgid == c->id.tgid)
		tc->has_last_read = false;
}

/* A client connection remembers the request its thread had read last. */
void ebt_asm_client_open(struct ebt_tracer *t, struct ebt_conn *c,
			 uint32_t tid)
{
	const struct ebt_thread_ctx *tc = htab_get(t->threads, &tid);

	c->has_opened_for = tc && tc->tgid == c->id.tgid && !tc->inherited &&
			    tc->has_last_read;
	if (c->has_opened_for)
		c->opened_for = tc->last_read;
}

/* A zeroed thread context: the spare one if there is one. */
static struct ebt_thread_ctx *thread_ctx_new(struct ebt_tracer *t)
{
	struct ebt_thread_ctx *tc = t->spare_tc;

	t->spare_tc = NULL;
	if (!tc)
		return calloc(1, sizeof(*tc));
	memset(tc, 0, sizeof(*tc));
	return tc;
}

/* The thread's request ended: its context is the spare, or freed. */
static void thread_ctx_end(struct ebt_tracer *t, uint32_t tid)
{
	struct ebt_thread_ctx *tc = htab_del(t->threads, &tid);

	if (t->spare_tc)
		free(tc);
	else
		t->spare_tc = tc;
}

/* x joins the thread's requests in flight (the oldest leaves a full
 * list) and becomes its active one. */
static void set_thread_active(struct ebt_tracer *t, struct ebt_conn *c,
			      const struct ebt_exchange *x)
{
	struct ebt_thread_ctx *tc = htab_get(t->threads, &x->tid);
	int err;

	if (!tc) {
		tc = thread_ctx_new(t);
		if (!tc)
			return;
		htab_put(t->threads, &x->tid, tc, &err);
		if (err) {
			free(tc);
			return;
		}
	}
	if (tc->tgid != c->id.tgid || tc->inherited) {
		tc->n_inflight = 0;
		tc->has_last_read = false;
	}
	inflight_prune(t, tc);
	if (tc->n_inflight == EBT_THREAD_INFLIGHT)
		memmove(tc->inflight, tc->inflight + 1,
			--tc->n_inflight * sizeof(tc->inflight[0]));
	tc->inflight[tc->n_inflight++] =
		(struct ebt_inflight){.conn = c->id, .index = x->index};
	activate(tc, &c->id, x);
}

/* x was answered (and left its connection's list): if it was the active
 * request, the latest one still in flight on the thread takes over. */
static void clear_thread_active(struct ebt_tracer *t, struct ebt_conn *c,
				const struct ebt_exchange *x)
{
	struct ebt_thread_ctx *tc = htab_get(t->threads, &x->tid);
	const struct ebt_inflight *f;
	struct ebt_exchange *next = NULL;

	if (!tc || tc->index != x->index ||
	    memcmp(&tc->conn, &c->id, sizeof(c->id)) != 0) {
		if (tc && !tc->inherited)
			inflight_prune(t, tc);
		return;
	}
	if (tc->inherited) {
		thread_ctx_end(t, x->tid);
		return;
	}
	inflight_prune(t, tc);
	f = tc->n_inflight ? &tc->inflight[tc->n_inflight - 1] : NULL;
	next = f ? inflight_get(t, f) : NULL;
	if (next)
		activate(tc, &f->conn, next);
	else
		thread_ctx_end(t, x->tid);
}

static void set_context(struct ebt_tracer *t, struct ebt_conn *c,
			struct ebt_exchange *x, const struct http_msg *m)
{
	uint8_t flags;

	ebt_random_id(t, x->span_id, 8);
	/* What the kernel showed first: when the traced process carries its
	 * own instrumentation (the OTel Java agent), the traceparent it
	 * writes names the agent's spans, not ours; honouring it split our
	 * server -> client -> server chain across the two tracers' traces. */
	if (c->role == EBT_ROLE_SERVER ? link_to_client(local_client(t, c), x)
				       : link_thread(t, c, x))
		return;
	if (m->traceparent[0] &&
	    traceparent_parse(m->traceparent, strlen(m->traceparent),
			      x->trace_id, x->parent_id, &flags) == 0) {
		x->has_parent = x->remote_parent = x->from_header = true;
		ebt_sampler_note_parent(&t->sampler, x->trace_id, flags & 1,
					x->start_ns);
		return;
	}
	ebt_random_id(t, x->trace_id, 16);
}

/* len bytes of src into dst (size n > 0), cut to fit, NUL-terminated:
 * snprintf("%.*s") without the format parsing, on the per-span path. */
static void copy_n(char *dst, size_t n, const char *src, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Is x's path one that http.ignore_paths leaves without a span? */
static bool path_ignored(const struct ebt_tracer *t,
			 const struct ebt_exchange *x)
{
	const char *path, *query;
	size_t plen, qlen;
	char p[HTTP_TARGET_MAX];

	if (!t->cfg || !t->cfg->n_ignore_paths)
		return false;
	http_split_target(x->target, &path, &plen, &query, &qlen);
	copy_n(p, sizeof(p), path, plen);
	for (unsigned i = 0; i < t->cfg->n_ignore_paths; i++)
		if (fnmatch(t->cfg->ignore_paths[i], p, 0) == 0)
			return true;
	return false;
}

void ebt_asm_request(struct ebt_tracer *t, struct ebt_conn *c,
		     const struct http_msg *m, uint64_t ts, uint32_t tid)
{
	struct ebt_exchange *x = exchange_new(m);

	if (!x)
		return;
	x->index = c->n_requests++;
	x->tid = tid;
	x->start_ns = ts;
	copy_n(x->method, sizeof(x->method), m->method, strlen(m->method));
	x->version_minor = m->version_minor;
	memcpy(x->fwd_proto, m->fwd_proto, sizeof(x->fwd_proto));
	x->req_body = m->has_content_length ? m->content_length : 0;
	set_context(t, c, x, m);
	if (c->role == EBT_ROLE_SERVER)
		set_thread_active(t, c, x);
	else {
		adopt_late_server(t, c, x);
		take_waiting_server(t, c, x);
	}
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->n_pending++;
}

/* Only the last request head seen can be the one completing, and only if
 * its response has not come yet (a server may answer before the body). */
void ebt_asm_request_done(struct ebt_conn *c, const struct http_msg *m)
{
	struct ebt_exchange *x = c->tail;

	if (!m->chunked || !x || x->index + 1 != c->n_requests)
		return;
	x->req_body = m->body_lost ? 0 : m->body_bytes;
}

/* Dotted IPv4 into out (at least 16 bytes): a span has two addresses,
 * and inet_ntop formats through sprintf. */
static void ipv4_str(const uint8_t a[4], char *out)
{
	char *p = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

/* IPv6 text, or dotted IPv4 for an IPv4-mapped address. */
static void addr_str(const uint8_t a[16], char *out, size_t n)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};

	if (memcmp(a, mapped, 12) == 0 && n >= INET_ADDRSTRLEN)
		ipv4_str(a + 12, out);
	else if (!inet_ntop(AF_INET6, a, out, (socklen_t)n) && n)
		out[0] = '\0';
}

/* Host header "name[:port]" or "[v6]:port" -> name and port. */
static void split_host(const char *host, char *name, size_t n, int *port)
{
	const char *colon;

	*port = 0;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		size_t len = end ? (size_t)(end - host - 1) : strlen(host + 1);

		copy_n(name, n, host + 1, len);
		colon = end ? strchr(end, ':') : NULL;
	} else {
		colon = strrchr(host, ':');
		copy_n(name, n, host,
		       colon ? (size_t)(colon - host) : strlen(host));
	}
	if (colon)
		*port = atoi(colon + 1);
}

static void add_common(struct ebt_span *s, const struct ebt_exchange *x,
		       const struct http_msg *m, const char *method)
{
	ebt_span_add_str(s, "http.request.method", method);
	if (strcmp(method, x->method) != 0)
		ebt_span_add_str(s, "http.request.method_original", x->method);
	if (m->status)
		ebt_span_add_int(s, "http.response.status_code", m->status);
	/* a 1.0 request answered "HTTP/1.1 ..." is a 1.0 exchange: the
	 * server only advertises what it could do (RFC 9110, 6.2) */
	ebt_span_add_str(s, "network.protocol.version",
			 m->version_minor == 0 || x->version_minor == 0 ?
				 "1.0" :
				 "1.1");
	if (x->user_agent)
		ebt_span_add_str(s, "user_agent.original", x->user_agent);
	if (x->req_body)
		ebt_span_add_int(s, "http.request.body.size",
				 (int64_t)x->req_body);
	if (m->body_bytes && !m->body_lost)
		ebt_span_add_int(s, "http.response.body.size",
				 (int64_t)m->body_bytes);
	if (x->log_lines)
		ebt_span_add_int(s, "ebpftrace.log_lines", x->log_lines);
}

/* The host a request names: an absolute-form target's ("GET http://h/p",
 * as sent to a forward proxy) wins over Host (RFC 9112, 3.2.2); *dflt
 * tells that a port it leaves out is the scheme's, not the socket's. */
static const char *request_host(const struct ebt_exchange *x, char *buf,
				size_t n, bool *dflt)
{
	const char *auth;
	size_t len;

	http_target_authority(x->target, &auth, &len);
	*dflt = len > 0;
	if (!len)
		return x->host;
	copy_n(buf, n, auth, len);
	return buf;
}

/* The request's scheme: an absolute-form target's, else the
 * connection's (TLS or not). */
static const char *url_scheme(const struct ebt_conn *c,
			      const struct ebt_exchange *x)
{
	if (strncasecmp(x->target, "https://", 8) == 0)
		return "https";
	if (strncasecmp(x->target, "http://", 7) == 0)
		return "http";
	return c->tls ? "https" : "http";
}

/* The default port of the scheme a proxy forwarded, else the request's. */
static int default_port(const struct ebt_conn *c,
			const struct ebt_exchange *x, bool forwarded)
{
	const char *scheme = forwarded ? x->fwd_proto : url_scheme(c, x);

	return strcmp(scheme, "https") == 0 ? 443 : 80;
}

/* server.address/port: what a proxy in front says the client asked for,
 * else the request's target or Host header, else the local socket. */
static void add_server_address(struct ebt_span *s, const struct ebt_conn *c,
			       const struct ebt_exchange *x, const char *local)
{
	char name[HTTP_HOST_MAX], uri_host[HTTP_HOST_MAX];
	bool dflt = x->fwd_host != NULL;
	const char *host = x->fwd_host ? x->fwd_host :
			   request_host(x, uri_host, sizeof(uri_host), &dflt);
	int port = 0;

	if (host)
		split_host(host, name, sizeof(name), &port);
	if (dflt && !port)
		port = default_port(c, x, x->fwd_host != NULL);
	ebt_span_add_str(s, "server.address", host ? name : local);
	if (port || !c->is_unix)
		ebt_span_add_int(s, "server.port",
				 port ? port : c->tuple.lport);
}

/* The peer of a unix stream socket: its name, no port (the transport is
 * named, as OpenTelemetry asks for anything but TCP). */
static void add_unix_peer(struct ebt_span *s, const struct ebt_conn *c)
{
	ebt_span_add_str(s, "network.transport", "unix");
	if (c->unix_path[0])
		ebt_span_add_str(s, "network.peer.address", c->unix_path);
}

static void add_server_attrs(struct ebt_tracer *t, struct ebt_span *s,
			     const struct ebt_conn *c,
			     const struct ebt_exchange *x, const char *route)
{
	const char *path, *query;
	size_t plen, qlen;
	char buf[HTTP_TARGET_MAX], local[64], peer[64];

	http_split_target(x->target, &path, &plen, &query, &qlen);
	if (plen)
		ebt_span_add_strn(s, "url.path", path, plen);
	if (qlen && http_query_redact(query, qlen, t->cfg->query_mode, buf,
				      sizeof(buf)))
		ebt_span_add_str(s, "url.query", buf);
	ebt_span_add_str(s, "url.scheme",
			 x->fwd_proto[0] ? x->fwd_proto : url_scheme(c, x));
	if (route[0])
		ebt_span_add_str(s, "http.route", route);
	addr_str(c->tuple.laddr, local, sizeof(local));
	addr_str(c->tuple.raddr, peer, sizeof(peer));
	add_server_address(s, c, x, c->is_unix ? c->unix_path : local);
	if (x->fwd_client)
		ebt_span_add_str(s, "client.address", x->fwd_client);
	else if (c->proxy_client[0])
		ebt_span_add_str(s, "client.address", c->proxy_client);
	if (c->is_unix)
		add_unix_peer(s, c);
	else if (c->have_tuple) {
		if (!x->fwd_client && !c->proxy_client[0])
			ebt_span_add_str(s, "client.address", peer);
		ebt_span_add_str(s, "network.peer.address", peer);
		ebt_span_add_int(s, "network.peer.port", c->tuple.rport);
	}
}

/* A text cut out of a larger one: not NUL-terminated. */
struct span_text {
	const char *p;
	size_t len;
};

/* A string being built in a fixed buffer, cut (not overrun) when full. */
struct text_buf {
	char *p;
	size_t n, len; /* size (> 0), length so far */
};

static void tb_put(struct text_buf *b, const char *s, size_t len)
{
	if (len > b->n - 1 - b->len)
		len = b->n - 1 - b->len;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void tb_int(struct text_buf *b, int v)
{
	char d[12];
	size_t i = sizeof(d);
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 1);
	if (v < 0)
		d[--i] = '-';
	tb_put(b, d + i, sizeof(d) - i);
}

/* scheme://name:port/path?query, an IPv6 name in brackets: the client's
 * url.full, built without printf's format parsing (it is on every client
 * span). */
static void url_full(char *url, size_t n, const char *scheme,
		     const char *name, int port, struct span_text path,
		     const char *query)
{
	struct text_buf b = {url, n, 0};
	bool v6 = strchr(name, ':') != NULL;

	tb_put(&b, scheme, strlen(scheme));
	tb_put(&b, v6 ? "://[" : "://", v6 ? 4 : 3);
	tb_put(&b, name, strlen(name));
	tb_put(&b, v6 ? "]:" : ":", v6 ? 2 : 1);
	tb_int(&b, port);
	tb_put(&b, path.p, path.len);
	if (query[0]) {
		tb_put(&b, "?", 1);
		tb_put(&b, query, strlen(query));
	}
}

static void add_client_attrs(struct ebt_tracer *t, struct ebt_span *s,
			     const struct ebt_conn *c,
			     const struct ebt_exchange *x)
{
	const char *path, *query;
	size_t plen, qlen;
	char q[HTTP_TARGET_MAX], name[HTTP_HOST_MAX], peer[64];
	char url[HTTP_TARGET_MAX + HTTP_HOST_MAX + 32], uri_host[HTTP_HOST_MAX];
	bool dflt;
	const char *host = request_host(x, uri_host, sizeof(uri_host), &dflt);
	const char *own = c->is_unix ? "localhost" : peer; /* without a host */
	int port = 0;

	addr_str(c->tuple.raddr, peer, sizeof(peer));
	if (host)
		split_host(host, name, sizeof(name), &port);
	else
		copy_n(name, sizeof(name), own, strlen(own));
	if (!port && c->tls && c->tunnel_port)
		port = c->tunnel_port;
	else if (!port)
		port = dflt || c->is_unix ? default_port(c, x, false)
					  : c->tuple.rport;
	http_split_target(x->target, &path, &plen, &query, &qlen);
	if (plen == 1 && path[0] == '*')
		plen = 0; /* OPTIONS *: the server as a whole, no path */
	q[0] = '\0';
	if (qlen)
		http_query_redact(query, qlen, t->cfg->query_mode, q,
				  sizeof(q));
	url_full(url, sizeof(url), url_scheme(c, x), name, port,
		 (struct span_text){path, plen}, q);
	ebt_span_add_str(s, "url.full", url);
	if (x->inferred_parent)
		ebt_span_add_str(s, "ebpftrace.parent.inferred",
				 x->inferred_parent);
	ebt_span_add_str(s, "server.address", name);
	ebt_span_add_int(s, "server.port", port);
	if (c->is_unix)
		add_unix_peer(s, c);
	else if (c->have_tuple) {
		ebt_span_add_str(s, "network.peer.address", peer);
		ebt_span_add_int(s, "network.peer.port", c->tuple.rport);
	}
}

static void set_name_status(struct ebt_span *s, const struct ebt_conn *c,
			    const char *method, const char *route, int status)
{
	char name[HTTP_TARGET_MAX + 32];
	bool server = c->role != EBT_ROLE_CLIENT;
	const char *m = strcmp(method, "_OTHER") == 0 ? "HTTP" : method;

	if (server && route[0]) {
		size_t ml = strlen(m);

		copy_n(name, sizeof(name), m, ml);
		if (ml + 1 < sizeof(name)) {
			name[ml] = ' ';
			copy_n(name + ml + 1, sizeof(name) - ml - 1, route,
			       strlen(route));
		}
		ebt_span_set_name(s, name);
	} else {
		ebt_span_set_name(s, m);
	}
	s->kind = server ? EBT_KIND_SERVER : EBT_KIND_CLIENT;
	if (status >= 500 || (!server && status >= 400)) {
		char code[8];

		s->status = EBT_STATUS_ERROR;
		snprintf(code, sizeof(code), "%d", status);
		ebt_span_add_str(s, "error.type", code);
	}
}

/* A server span's route: the mapping its app declares for the path (a
 * Spring MVC jar's, under its context path, as the OpenTelemetry Java
 * agent reports it), else the path templated. */
/* Is path[0..len) prefix ("/shop", or "") or under it? *n: its length. */
static bool under(const char *path, size_t len, const char *prefix,
		  size_t *n)
{
	*n = strlen(prefix);
	return len >= *n && memcmp(path, prefix, *n) == 0 &&
	       (len == *n || path[*n] == '/');
}

static void span_route(struct ebt_tracer *t, const struct ebt_conn *c,
		       const char *method, const char *path, size_t plen,
		       int status, char *route, size_t n)
{
	struct ebt_app_routes app;
	const char *mapped = NULL;
	size_t cn, sn;

	if (c->role == EBT_ROLE_SERVER &&
	    ebt_resources_routes(t->resources, c->id.tgid, &app) &&
	    under(path, plen, app.context_path, &cn) &&
	    under(path + cn, plen - cn, app.routes->servlet_path, &sn)) {
		cn += sn; /* the agent's routes leave the servlet path out */
		mapped = ebt_routes_match(app.routes, method, path + cn,
					  plen - cn);
		if (!mapped)
			mapped = ebt_routes_fallback(app.routes, app.web,
						     method, path + cn,
						     plen - cn, status);
	}
	if (mapped && !mapped[0])
		route[0] = '\0'; /* no route: the span is named by its method */
	else if (mapped)
		snprintf(route, n, "%s%s", app.context_path, mapped);
	else
		http_route_template(path, plen, route, n);
}

static struct ebt_span *build_span(struct ebt_tracer *t,
				   const struct ebt_conn *c,
				   const struct ebt_exchange *x,
				   const struct http_msg *m, uint64_t end)
{
	struct ebt_span *s = ebt_span_new();
	const char *method = http_method_normalize(x->method);
	const char *path, *query;
	size_t plen, qlen;
	char route[HTTP_TARGET_MAX];

	if (!s)
		return NULL;
	memcpy(s->trace_id, x->trace_id, 16);
	memcpy(s->span_id, x->span_id, 8);
	if (x->has_parent)
		memcpy(s->parent_span_id, x->parent_id, 8);
	s->start_ns = (uint64_t)((int64_t)x->start_ns + t->mono_to_real_ns);
	s->end_ns = (uint64_t)((int64_t)end + t->mono_to_real_ns);
	s->resource = ebt_resource_ref(
		ebt_resources_get(t->resources, c->id.tgid, c->comm));
	http_split_target(x->target, &path, &plen, &query, &qlen);
	route[0] = '\0'; /* CONNECT host:port has no path, no route */
	if (plen)
		span_route(t, c, method, path, plen, m->status, route,
			   sizeof(route));
	set_name_status(s, c, method, route, m->status);
	add_common(s, x, m, method);
	if (c->role == EBT_ROLE_CLIENT)
		add_client_attrs(t, s, c, x);
	else
		add_server_attrs(t, s, c, x, route);
	return s;
}

/* The oldest pending exchange, taken off the FIFO; NULL if none. */
static struct ebt_exchange *pop_exchange(struct ebt_conn *c)
{
	struct ebt_exchange *x = c->head;

	if (!x)
		return NULL;
	c->head = x->next;
	if (!c->head)
		c->tail = NULL;
	c->n_pending--;
	return x;
}

void ebt_asm_export(struct ebt_tracer *t, struct ebt_span *s)
{
	t->stats.spans++;
	if (!ebt_sampler_keep(&t->sampler, s->trace_id)) {
		t->stats.spans_sampled_out++;
		ebt_span_free(s);
		return;
	}
	t->sink(t->sink_ctx, s);
}

void ebt_asm_response(struct ebt_tracer *t, struct ebt_conn *c,
		      const struct http_msg *m, uint64_t ts)
{
	struct ebt_exchange *x = pop_exchange(c);
	struct ebt_conn *cl = NULL; /* a local client the span waits for */
	struct ebt_span *s;
	uint32_t index;

	if (!x)
		return; /* response to a request we did not see */
	c->skip_resp += x->skip_after;
	if (c->role == EBT_ROLE_SERVER) {
		clear_thread_active(t, c, x);
		/* peer's record came late, or is later still */
		if ((!x->has_parent || x->from_header) && !x->children) {
			cl = local_client(t, c);
			if (link_to_client(cl, x) ||
			    !client_still_to_write(cl, c, x))
				cl = NULL;
		}
	} else {
		mark_peer_answered(t, c, x);
	}
	index = x->index;
	if (path_ignored(t, x)) {
		t->stats.spans_ignored++;
		ebt_exchange_free(x);
		return;
	}
	s = build_span(t, c, x, m, ts);
	ebt_exchange_free(x);
	if (!s)
		return;
	if (cl && ebt_peer_wait_hold(t, &cl->tuple, index, s, ts) == 0)
		return;
	ebt_asm_export(t, s);
}

/*
 * Requests still waiting when their connection closed or their process
 * exited: each is a span ending then, an error with error.type
 * "connection_closed" and no status code. On the client side (the server
 * closed or reset the connection, or the client gave up on it) that is
 * what an instrumented client reports for a failed call; on the server
 * side (it closed without a word: a crash, a dropped request, a process
 * killed mid-request) the request still happened and took that long.
 */
void ebt_asm_unanswered(struct ebt_tracer *t, struct ebt_conn *c,
			uint64_t ts)
{
	static const struct http_msg no_response = {.version_minor = 1};
	struct ebt_exchange *x;

	if (c->role != EBT_ROLE_CLIENT && c->role != EBT_ROLE_SERVER)
		return;
	while ((x = pop_exchange(c))) {
		struct ebt_span *s;

		if (c->role == EBT_ROLE_CLIENT)
			mark_peer_answered(t, c, x);
		if (path_ignored(t, x)) {
			t->stats.spans_ignored++;
			ebt_exchange_free(x);
			continue;
		}
		s = build_span(t, c, x, &no_response,
			       ts > x->start_ns ? ts : x->start_ns);
		ebt_exchange_free(x);
		if (!s)
			continue;
		s->status = EBT_STATUS_ERROR;
		ebt_span_add_str(s, "error.type", "connection_closed");
		ebt_asm_export(t, s);
	}
}
