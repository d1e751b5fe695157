/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection table: one entry per traced connection {tgid, fd, start}, the
 * two HTTP stream parsers of that connection, and the FIFO of requests
 * awaiting a response. Bytes not seen (lost records, bodies BPF skipped)
 * are known by stream offset: inside a body they only count, anywhere
 * else they and parser resyncs drop the pending requests: a span is
 * emitted only from heads seen whole.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "htab.h"
#include "loader.h"
#include "log.h"
#include "resource.h"
#include "tracer.h"

#define MAX_PENDING HTTP_PIPELINE_MAX
/* A body with at least this much still to come is not copied by BPF
 * (one map update saves the copies of every syscall inside it). */
#define SKIP_MIN_BYTES (64 * 1024)

enum { SIDE_REQ = 0, SIDE_RESP = 1 };

struct feed_ctx {
	struct ebt_tracer *t;
	struct ebt_conn *c;
	uint64_t ts;
	uint64_t prev_ts; /* the side's data record before this one */
	uint32_t tid;
	int side;
};

static struct ebt_conn_id conn_id(const struct ebt_event_hdr *h)
{
	struct ebt_conn_id id;

	memset(&id, 0, sizeof(id)); /* padding is part of the hash key */
	id.tgid = h->tgid;
	id.fd = h->fd;
	id.start_ns = h->conn_start_ns;
	return id;
}

void ebt_conn_drop_pending(struct ebt_tracer *t, struct ebt_conn *c)
{
	while (c->head) {
		struct ebt_exchange *x = c->head;

		c->head = x->next;
		ebt_exchange_free(x);
		t->stats.exchanges_dropped++;
	}
	c->tail = NULL;
	c->n_pending = 0;
	c->skip_resp = 0;
}

void ebt_conn_free(void *p)
{
	struct ebt_conn *c = p;

	while (c->head) {
		struct ebt_exchange *x = c->head;

		c->head = x->next;
		ebt_exchange_free(x);
	}
	http_stream_free(c->req);
	http_stream_free(c->resp);
	free(c);
}

static int reset_parsers(struct ebt_conn *c)
{
	http_stream_free(c->req);
	http_stream_free(c->resp);
	c->req = http_stream_new(HTTP_SIDE_REQUEST);
	c->resp = http_stream_new(HTTP_SIDE_RESPONSE);
	c->in_msg[0] = c->in_msg[1] = false;
	c->off_known[0] = c->off_known[1] = false;
	return c->req && c->resp ? 0 : -1;
}

static struct ebt_conn *conn_new(struct ebt_tracer *t,
				 const struct ebt_event_hdr *h, uint32_t role)
{
	struct ebt_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->id = conn_id(h);
	c->role = role;
	c->last_ns = h->ts_ns;
	if (reset_parsers(c) != 0) {
		ebt_conn_free(c);
		return NULL;
	}
	htab_put(t->conns, &c->id, c, &err);
	if (err) {
		ebt_conn_free(c);
		return NULL;
	}
	t->stats.conns_opened++;
	return c;
}

/* Loopback or unset: not one end in the host. Every network namespace
 * (every pod) has its own 127.0.0.1, and its ephemeral ports. */
static bool addr_shared(const uint8_t a[16])
{
	static const uint8_t v4[12] = {[10] = 0xff, [11] = 0xff};
	static const uint8_t zero[16], lo6[16] = {[15] = 1};

	if (memcmp(a, v4, 12) == 0)
		return a[12] == 127 || (a[12] | a[13] | a[14] | a[15]) == 0;
	return memcmp(a, zero, 16) == 0 || memcmp(a, lo6, 16) == 0;
}

/* The client's end of TCP connection c (c's own for a client, its peer's
 * for a server); false when that end is not one in the host. */
bool ebt_client_end(const struct ebt_conn *c, struct ebt_endpoint *e)
{
	bool client = c->role == EBT_ROLE_CLIENT;
	const uint8_t *addr = client ? c->tuple.laddr : c->tuple.raddr;

	if (!c->have_tuple || c->is_unix || addr_shared(addr))
		return false;
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, 16);
	e->port = client ? c->tuple.lport : c->tuple.rport;
	return true;
}

static struct htab *by_end(struct ebt_tracer *t, const struct ebt_conn *c)
{
	return c->role == EBT_ROLE_CLIENT ? t->clients_by_end
					  : t->servers_by_end;
}

/* c in the index of its role by tuple, and by client end (the last
 * connection from one end wins: a port reused to another server). */
static void index_conn(struct ebt_tracer *t, struct ebt_conn *c)
{
	struct ebt_endpoint e;
	int err;

	if (c->role != EBT_ROLE_CLIENT && c->role != EBT_ROLE_SERVER)
		return;
	htab_put(c->role == EBT_ROLE_CLIENT ? t->clients : t->servers,
		 &c->tuple, c, &err);
	if (ebt_client_end(c, &e))
		htab_put(by_end(t, c), &e, c, &err);
}

static void unindex_client(struct ebt_tracer *t, struct ebt_conn *c)
{
	struct htab *by_tuple =
		c->role == EBT_ROLE_CLIENT ? t->clients : t->servers;
	struct ebt_endpoint e;

	if (c->role == EBT_ROLE_UNKNOWN || !c->have_tuple)
		return;
	if (htab_get(by_tuple, &c->tuple) == c)
		htab_del(by_tuple, &c->tuple);
	if (ebt_client_end(c, &e) && htab_get(by_end(t, c), &e) == c)
		htab_del(by_end(t, c), &e);
}

static void conn_remove(struct ebt_tracer *t, struct ebt_conn *c)
{
	unindex_client(t, c);
	htab_del(t->conns, &c->id);
	ebt_conn_free(c);
}

/* A unix socket's name as people write it: a path, or "@name" for an
 * abstract one (its first byte is NUL); "" when unnamed. */
static void unix_name(const struct ebt_ev_conn_open *e, char *out, size_t n)
{
	size_t len = e->path_len < sizeof(e->path) ? e->path_len
						   : sizeof(e->path);
	bool abstract = len && e->path[0] == '\0';
	size_t i = abstract, o = 0;

	if (abstract)
		out[o++] = '@';
	for (; i < len && o + 1 < n && (e->path[i] || abstract); i++)
		out[o++] = e->path[i] >= 0x20 && e->path[i] < 0x7f ? e->path[i]
								   : '?';
	out[o] = '\0';
}

void ebt_conn_open(struct ebt_tracer *t, const struct ebt_ev_conn_open *e)
{
	struct ebt_conn_id id = conn_id(&e->hdr);
	struct ebt_conn *c = htab_get(t->conns, &id);

	if (!c) {
		c = conn_new(t, &e->hdr, e->role);
		if (!c)
			return;
		/* BPF counts both directions' offsets from here */
		c->off_known[0] = c->off_known[1] = true;
	}
	unindex_client(t, c); /* a tuple it had is replaced */
	memset(&c->tuple, 0, sizeof(c->tuple));
	memcpy(c->tuple.laddr, e->saddr, 16);
	memcpy(c->tuple.raddr, e->daddr, 16);
	c->tuple.lport = e->sport;
	c->tuple.rport = e->dport;
	c->have_tuple = true;
	c->is_unix = e->family == AF_UNIX;
	if (c->is_unix)
		unix_name(e, c->unix_path, sizeof(c->unix_path));
	memcpy(c->comm, e->comm, sizeof(c->comm));
	c->comm[sizeof(c->comm) - 1] = '\0';
	c->cgroup_id = e->cgroup_id;
	/* A short-lived process (a forked child making one call) may be gone
	 * from /proc by the time its first span is built: read it now. */
	ebt_resources_get(t->resources, c->id.tgid, c->comm);
	index_conn(t, c);
	if (c->role == EBT_ROLE_CLIENT)
		ebt_asm_client_open(t, c, e->hdr.tid);
}

/* The connection is not HTTP: stop parsing, and stop BPF copying it. */
static void mark_not_http(struct ebt_tracer *t, struct ebt_conn *c)
{
	if (c->not_http)
		return;
	c->not_http = true;
	t->stats.not_http++;
	ebt_conn_drop_pending(t, c);
	if (t->bpf)
		ebt_bpf_conn_set_proto(t->bpf, c->id.tgid, c->id.fd,
				       c->id.start_ns, c->tls, EBT_PROTO_OTHER);
}

/* A local server answering the tracer's own exports must not be traced. */
static bool from_tracer(struct ebt_tracer *t, struct ebt_conn *c)
{
	if (c->self_checked || !t->bpf || c->role != EBT_ROLE_SERVER ||
	    !c->have_tuple)
		return false;
	c->self_checked = true;
	if (!ebt_bpf_is_self_port(t->bpf, c->tuple.rport))
		return false;
	t->stats.self_conns++;
	return true;
}

/* More requests in flight than are kept: this one is not, and its
 * response, which follows the last kept one's, goes by unpaired (else each
 * later response would pair with an earlier request). It keeps its index:
 * the n-th request on both ends links a local peer. */
static void overflow(struct ebt_tracer *t, struct ebt_conn *c)
{
	c->tail->skip_after++;
	c->n_requests++;
	t->stats.exchanges_dropped++;
}

/* A final response belongs to the oldest request in flight. */
static void pair_response(struct feed_ctx *f, const struct http_msg *m,
			  uint64_t end)
{
	if (f->c->skip_resp) {
		f->c->skip_resp--;
		return;
	}
	ebt_asm_response(f->t, f->c, m, end);
}

/* The port of a CONNECT target (authority form: host:port), or 0. */
static uint16_t tunnel_port(const char *target)
{
	const char *colon = strrchr(target, ':');
	char *end;
	unsigned long port;

	if (!colon || !colon[1])
		return 0;
	port = strtoul(colon + 1, &end, 10);
	return *end == '\0' && port <= 65535 ? (uint16_t)port : 0;
}

static const struct http_callbacks parser_cb;

/* A request began while the response before it was in a body whose end
 * a capture gap hid: that body ended with the last response bytes seen. */
static void end_lost_response(struct feed_ctx *req)
{
	struct ebt_conn *c = req->c;
	struct feed_ctx f = {.t = req->t, .c = c, .ts = c->side_ns[SIDE_RESP],
			     .prev_ts = c->side_ns[SIDE_RESP], .side = SIDE_RESP};

	http_stream_end_lost(c->resp, &parser_cb, &f);
}

static void on_head(void *ctx, const struct http_msg *m)
{
	struct feed_ctx *f = ctx;

	if (!f->c->ever_head && from_tracer(f->t, f->c)) {
		mark_not_http(f->t, f->c);
		return;
	}
	f->c->ever_head = true;
	if (f->side == SIDE_REQ && strcmp(m->method, "CONNECT") == 0)
		f->c->tunnel_port = tunnel_port(m->target);
	if (f->side == SIDE_REQ) {
		end_lost_response(f);
		if (f->c->n_pending >= MAX_PENDING)
			overflow(f->t, f->c);
		else
			ebt_asm_request(f->t, f->c, m,
					f->c->msg_start[SIDE_REQ], f->tid);
		http_stream_expect(f->c->resp, m->method);
	} else if (m->status == 101) {
		pair_response(f, m, f->ts);
		mark_not_http(f->t, f->c); /* upgraded: opaque from here */
	}
}

static void on_complete(void *ctx, const struct http_msg *m)
{
	struct feed_ctx *f = ctx;
	/* a body whose end a gap hid, found when the next message began:
	 * it ended with the side's previous record, not this one */
	uint64_t end = m->ended_before && f->prev_ts ? f->prev_ts : f->ts;

	f->c->in_msg[f->side] = false;
	f->c->msg_start[f->side] = f->ts;
	if (f->side == SIDE_RESP && m->status >= 200)
		pair_response(f, m, end);
	else if (f->side == SIDE_REQ)
		ebt_asm_request_done(f->c, m);
	/* a CONNECT tunnel is open: its bytes are not parsed on either side
	 * (requests read in it would wait for answers never parsed, and
	 * parent the proxy's outbound calls with spans never exported) */
	if (f->side == SIDE_RESP && http_stream_opaque(f->c->resp))
		mark_not_http(f->t, f->c);
}

/* Bytes not captured or a head too big: what was seen looked like HTTP. */
static bool capture_limit(enum http_error err)
{
	return err == HTTP_ERR_GAP || err == HTTP_ERR_HEADER_TOO_LARGE;
}

/*
 * A request whose start line was good but whose fields the parser rejects
 * (a character a lenient server lets through, a Content-Length list that
 * disagrees) gets no span, but the server answers it, or closes: its
 * response, which comes after those of the requests before it, is let go
 * by, and the requests around it keep their own.
 */
static void skip_rejected_request(struct ebt_conn *c)
{
	if (c->tail)
		c->tail->skip_after++;
	else
		c->skip_resp++;
}

static void on_error(void *ctx, enum http_error err)
{
	struct feed_ctx *f = ctx;
	/* these come after a good start line: the message was HTTP */
	bool had_start = err == HTTP_ERR_BAD_HEADER ||
			 err == HTTP_ERR_BAD_LENGTH;

	f->t->stats.parse_errors++;
	if (f->side == SIDE_REQ && had_start)
		skip_rejected_request(f->c);
	else
		ebt_conn_drop_pending(f->t, f->c);
	/* the next message starts later: not at the broken one's first byte */
	f->c->in_msg[f->side] = false;
	f->c->msg_start[f->side] = f->ts;
	if (!f->c->ever_head && !capture_limit(err) && !had_start)
		mark_not_http(f->t, f->c);
}

static const struct http_callbacks parser_cb = {
	.on_head = on_head,
	.on_complete = on_complete,
	.on_error = on_error,
};

static struct ebt_conn *lookup_for_data(struct ebt_tracer *t,
					const struct ebt_ev_data *e)
{
	struct ebt_conn_id id = conn_id(&e->hdr);
	struct ebt_conn *c = htab_get(t->conns, &id);

	if (!c) /* its open record was lost: track it without a tuple */
		c = conn_new(t, &e->hdr, e->role);
	return c;
}

/* Bytes BPF did not record (inside a long body) went by before e. */
static void feed_skipped(struct ebt_conn *c, const struct ebt_ev_data *e,
			 struct http_stream *s, struct feed_ctx *f)
{
	unsigned dir = e->direction & 1;

	if (c->off_known[dir] && e->off > c->next_off[dir])
		http_stream_gap(s, e->off - c->next_off[dir], &parser_cb, f);
}

/* The record's bytes after the first pre: its prefix, then the syscall's
 * end when BPF sent it (EBT_DATA_END). */
static void feed_record(struct http_stream *s, const struct ebt_ev_data *e,
			size_t pre, struct feed_ctx *f)
{
	size_t end = ebt_data_end_len(e);

	http_stream_feed(s, e->payload + pre, e->cap_len - pre,
			 e->total_len - pre - end, &parser_cb, f);
	if (end)
		http_stream_feed_end(s, e->payload + e->cap_len, end,
				     &parser_cb, f);
}

static void advance_offset(struct ebt_conn *c, const struct ebt_ev_data *e)
{
	unsigned dir = e->direction & 1;
	uint64_t end = e->off + e->total_len;

	if (!c->off_known[dir] || end > c->next_off[dir])
		c->next_off[dir] = end;
	c->off_known[dir] = true;
}

/*
 * Records of this connection were lost (the ring was full). Where both
 * directions' stream offsets are known, the bytes they held show up as an
 * offset jump in their own direction and are accounted there, like a
 * skipped body: a body's bytes only count, anything else breaks that
 * side's framing (see http_stream_gap). Otherwise nothing tells what was
 * lost: the pending requests go and both parsers start again.
 */
static int lost_records(struct ebt_tracer *t, struct ebt_conn *c)
{
	t->stats.seq_gaps++;
	if (c->off_known[0] && c->off_known[1])
		return 0;
	ebt_conn_drop_pending(t, c);
	return reset_parsers(c);
}

/*
 * Two threads on two CPUs can move bytes of one connection at once: Go's
 * server reads the next request while the write of the response is still
 * in its sys_exit. Each record takes its number, then its place in the
 * ring, and the later number may get there first. So a record one past
 * the next expected, with both offsets known, is taken as it comes and
 * the one it skipped may follow: then it is fed too when its bytes are
 * still next in its direction (they are: the overtaking record went the
 * other way), and nothing was lost. A missing record is counted only once
 * another record shows it is not coming. Sets the next number expected.
 * 0: feed e; else let it go.
 */
static int check_seq(struct ebt_tracer *t, struct ebt_conn *c,
		     const struct ebt_ev_data *e)
{
	unsigned dir = e->direction & 1;

	if (c->late_wait) {
		c->late_wait = false;
		if (e->seq == c->late_seq) { /* next_seq is already past it */
			if (e->off == c->next_off[dir])
				return 0;
			t->stats.seq_gaps++; /* its bytes went as a gap */
			return 1;
		}
		t->stats.seq_gaps++;
	}
	if (e->seq == c->next_seq + 1 && c->off_known[0] && c->off_known[1]) {
		c->late_wait = true;
		c->late_seq = c->next_seq;
	} else if (e->seq != c->next_seq && lost_records(t, c) != 0) {
		return -1;
	}
	c->next_seq = e->seq + 1;
	return 0;
}

/* A long body ahead: tell BPF where it ends, only its length matters. */
static void skip_body(struct ebt_tracer *t, struct ebt_conn *c, unsigned dir,
		      const struct http_stream *s)
{
	uint64_t left = http_stream_body_left(s), until;

	if (!t->bpf || left < SKIP_MIN_BYTES || !c->off_known[dir])
		return;
	until = c->next_off[dir] + left;
	if (until <= c->skip_until[dir])
		return;
	c->skip_until[dir] = until;
	ebt_bpf_skip_set(t->bpf, c->id.tgid, c->id.fd, c->id.start_ns,
			 c->skip_until);
}

/* A load balancer's PROXY header before the connection's first request
 * byte: skipped (its length), its client kept for the server spans. */
static size_t proxy_header(struct ebt_conn *c, const struct ebt_ev_data *e)
{
	unsigned dir = e->direction & 1;

	if (c->proxy_checked || !c->off_known[dir] || e->off != 0)
		return 0;
	c->proxy_checked = true;
	return http_proxy_header(e->payload, e->cap_len, c->proxy_client,
				 sizeof(c->proxy_client));
}

/*
 * BPF switched the connection to TLS plaintext: at its first record, or
 * after the clear bytes were let go (a CONNECT tunnel, whose target port
 * stays for the requests made through it). Record numbers and offsets
 * start again from 0, and so do the parsers.
 */
static int restart_as_tls(struct ebt_tracer *t, struct ebt_conn *c)
{
	c->tls = true;
	if (c->next_seq == 0 && !c->ever_head)
		return 0;
	ebt_conn_drop_pending(t, c);
	c->not_http = false;
	c->ever_head = false;
	c->next_seq = 0;
	c->late_wait = false;
	c->skip_until[0] = c->skip_until[1] = 0;
	return reset_parsers(c);
}

void ebt_conn_data(struct ebt_tracer *t, const struct ebt_ev_data *e)
{
	struct ebt_conn *c = lookup_for_data(t, e);
	struct feed_ctx f = {.t = t, .c = c, .ts = e->hdr.ts_ns,
			     .tid = e->hdr.tid};
	struct http_stream *s;
	size_t pre;

	bool to_tls = c && (e->tail & EBT_DATA_TLS) && !c->tls;

	if (!c || (c->not_http && !to_tls))
		return;
	c->last_ns = e->hdr.ts_ns;
	if (to_tls && restart_as_tls(t, c) != 0)
		return;
	if (check_seq(t, c, e) != 0)
		return;
	f.side = (e->direction == EBT_DIR_INGRESS) ==
			 (c->role != EBT_ROLE_CLIENT) ? SIDE_REQ : SIDE_RESP;
	if (!c->in_msg[f.side]) {
		c->in_msg[f.side] = true;
		c->msg_start[f.side] = e->hdr.ts_ns;
	}
	f.prev_ts = c->side_ns[f.side];
	c->side_ns[f.side] = e->hdr.ts_ns;
	s = f.side == SIDE_REQ ? c->req : c->resp;
	feed_skipped(c, e, s, &f);
	pre = f.side == SIDE_REQ ? proxy_header(c, e) : 0;
	feed_record(s, e, pre, &f);
	advance_offset(c, e);
	if (f.side == SIDE_REQ && c->role == EBT_ROLE_SERVER)
		ebt_asm_server_read(t, c, e->hdr.tid);
	else if (f.side == SIDE_RESP && c->role == EBT_ROLE_CLIENT)
		ebt_asm_client_read(t, c, e->hdr.tid);
	if (http_stream_in_resync(s)) /* skipped bytes start no message */
		c->in_msg[f.side] = false;
	else if (!c->not_http)
		skip_body(t, c, e->direction & 1, s);
}

/* The connection ends (close at close_ns, or its process is gone, which
 * closes it too: 0): a body delimited by the close ends with the last
 * bytes seen, not at the close, which a client may make long after reading
 * them. A close inside a response body ends the exchange there, its body
 * size unknown, since the answer was given (see ebt_asm_cut_keeps_span):
 * at the client's close (it stopped reading a download; the server's
 * writes fail from then on), or the server's last bytes written. */
static void conn_eof(struct ebt_tracer *t, struct ebt_conn *c,
		     uint64_t close_ns)
{
	struct feed_ctx f = {.t = t, .c = c, .ts = c->last_ns,
			     .side = SIDE_RESP};
	bool client = c->role == EBT_ROLE_CLIENT;

	if (c->late_wait) { /* overtaken by a record, and never came */
		c->late_wait = false;
		t->stats.seq_gaps++;
	}
	if (c->not_http)
		return;
	if (client && close_ns)
		f.ts = close_ns;
	if (client || ebt_asm_cut_keeps_span(c))
		http_stream_eof_cut(c->resp, &parser_cb, &f);
	f.ts = c->last_ns;
	http_stream_eof(c->resp, &parser_cb, &f);
}

void ebt_conn_close(struct ebt_tracer *t, const struct ebt_event_hdr *h)
{
	struct ebt_conn_id id = conn_id(h);
	struct ebt_conn *c = htab_get(t->conns, &id);

	if (!c)
		return;
	conn_eof(t, c, h->ts_ns);
	ebt_asm_unanswered(t, c, h->ts_ns);
	if (t->bpf && (c->skip_until[0] || c->skip_until[1]))
		ebt_bpf_skip_delete(t->bpf, id.tgid, id.fd);
	ebt_conn_drop_pending(t, c);
	conn_remove(t, c);
}

struct exit_sweep {
	struct ebt_tracer *t;
	uint32_t tgid;
	uint64_t ts;
};

static bool conn_of_tgid(const void *key, void *val, void *ctx)
{
	const struct ebt_conn_id *id = key;
	struct exit_sweep *x = ctx;
	struct ebt_conn *c = val;

	if (id->tgid != x->tgid)
		return false;
	conn_eof(x->t, c, 0); /* exit closed it: a client may never call close */
	ebt_asm_unanswered(x->t, c, x->ts);
	unindex_client(x->t, c);
	if (x->t->bpf)
		ebt_bpf_conn_delete(x->t->bpf, id->tgid, id->fd);
	x->t->stats.exchanges_dropped += c->n_pending;
	ebt_conn_free(c);
	return true;
}

void ebt_proc_exit(struct ebt_tracer *t, uint32_t tgid, uint64_t ts)
{
	struct exit_sweep x = {.t = t, .tgid = tgid, .ts = ts};

	htab_sweep(t->conns, conn_of_tgid, &x);
	if (t->bpf)
		ebt_bpf_fds_forget(t->bpf, tgid);
	ebt_resources_forget(t->resources, tgid);
}

#define FORK_COPY_MAX 256

struct fork_scan {
	uint32_t parent;
	struct ebt_conn *found[FORK_COPY_MAX];
	unsigned n;
};

static bool collect_parent(const void *key, void *val, void *ctx)
{
	const struct ebt_conn_id *id = key;
	struct fork_scan *fs = ctx;

	if (id->tgid == fs->parent && fs->n < FORK_COPY_MAX)
		fs->found[fs->n++] = val;
	return false;
}

/* The child of a fork shares the parent's sockets (e.g. a server that
 * accepts, then forks a process to serve the connection). BPF copied the
 * entries when the fork happened, before the child ran; a copy made here,
 * later, would bring back what the child's exec or exit has swept since. */
static void copy_to_child(struct ebt_tracer *t, const struct ebt_conn *p,
			  uint32_t child)
{
	struct ebt_event_hdr h = {.tgid = child, .tid = child, .fd = p->id.fd,
				  .ts_ns = p->last_ns,
				  .conn_start_ns = p->id.start_ns};
	struct ebt_conn *c;

	if (p->not_http || htab_get(t->conns, &(struct ebt_conn_id){
			   .tgid = child, .fd = p->id.fd,
			   .start_ns = p->id.start_ns}))
		return;
	c = conn_new(t, &h, p->role);
	if (!c)
		return;
	c->tuple = p->tuple;
	c->have_tuple = p->have_tuple;
	memcpy(c->comm, p->comm, sizeof(c->comm));
	c->cgroup_id = p->cgroup_id;
	c->next_seq = p->next_seq;
	memcpy(c->next_off, p->next_off, sizeof(c->next_off));
	memcpy(c->off_known, p->off_known, sizeof(c->off_known));
}

void ebt_proc_fork(struct ebt_tracer *t, uint32_t parent, uint32_t child)
{
	struct fork_scan fs = {.parent = parent};

	ebt_resources_note_fork(t->resources, child, parent);
	if (htab_len(t->conns) == 0)
		return;
	htab_sweep(t->conns, collect_parent, &fs);
	for (unsigned i = 0; i < fs.n; i++)
		copy_to_child(t, fs.found[i], child);
	/* The child may exit before its span is built: read /proc now. */
	if (fs.n)
		ebt_resources_get_forked(t->resources, child, parent,
					 fs.found[0]->comm);
}
