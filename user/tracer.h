/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interpretation pipeline between the ring buffer and the exporters:
 * event decoder (decoder.c) -> connection table (conntrack.c) -> HTTP parser
 * (http_parser.c) -> span assembler (assembler.c) -> enrichment
 * (resource.c) -> sink. Single-threaded: runs on the capture thread.
 */
#ifndef EBT_TRACER_H
#define EBT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ebpftrace_events.h"
#include "http.h"
#include "sampler.h"
#include "span.h"

struct ebt_bpf;
struct htab;
struct ebt_resources;
struct ebt_logs;
struct ebt_peer_wait;

/* Takes ownership of the span. */
typedef void (*ebt_span_sink)(void *ctx, struct ebt_span *span);

struct ebt_tracer_stats {
	uint64_t records;        /* ring records decoded */
	uint64_t bad_records;    /* malformed records (size/type) */
	uint64_t conns_opened;
	uint64_t conns_adopted;  /* of them, open before the start (adopt.c) */
	uint64_t seq_gaps;       /* lost data records detected */
	uint64_t parse_errors;   /* parser resyncs */
	uint64_t not_http;       /* connections classified as not HTTP */
	uint64_t exchanges_dropped; /* requests without a usable response */
	uint64_t spans;          /* spans produced */
	uint64_t spans_sampled_out; /* of them, not exported (sampler) */
	uint64_t spans_ignored;  /* not made: http.ignore_paths */
	uint64_t self_conns;     /* server connections from the tracer itself */
	uint64_t log_writes;     /* stdout/stderr writes captured */
	uint64_t log_writes_skipped; /* logs.containers: not in a container */
};

struct ebt_tuple {
	uint8_t laddr[16];
	uint8_t raddr[16];
	uint16_t lport;
	uint16_t rport;
};

/* The client's end of a TCP connection, as both ends know it: its source
 * address (v4-mapped or v6) and port. */
struct ebt_endpoint {
	uint8_t addr[16];
	uint16_t port;
};

struct ebt_tracer {
	const struct ebt_config *cfg;
	struct ebt_bpf *bpf;          /* NULL in unit tests */
	struct htab *conns;           /* conn id -> struct ebt_conn* */
	struct htab *clients;         /* ebt_tuple -> struct ebt_conn* */
	struct htab *servers;         /* ebt_tuple -> struct ebt_conn* */
	/* the same, by the client's end (ebt_client_end): a client that
	 * dialled a NATed address (a Kubernetes Service) and its server */
	struct htab *clients_by_end;  /* ebt_endpoint -> struct ebt_conn* */
	struct htab *servers_by_end;  /* ebt_endpoint -> struct ebt_conn* */
	struct htab *threads;         /* tid -> struct ebt_thread_ctx* */
	struct ebt_thread_ctx *spare_tc; /* the last one a response ended,
					  * for the next request's thread */
	struct htab *thread_kinds;    /* tid -> what a JVM thread is (assembler.c) */
	struct ebt_resources *resources;
	struct ebt_logs *logs;        /* stdout/stderr lines; NULL: off */
	struct htab *log_parts;       /* tid -> pieces of a big log write */
	struct htab *log_procs;       /* tgid -> parent, exec'd program */
	struct ebt_peer_wait *peer_wait; /* server spans awaiting their local
					  * client's record (peer_wait.c) */
	struct ebt_sampler sampler;   /* which traces are exported */
	ebt_span_sink sink;
	void *sink_ctx;
	int64_t mono_to_real_ns;      /* add to bpf_ktime_get_ns() values */
	uint64_t rng;                 /* xorshift state for ids */
	struct ebt_tracer_stats stats;
	/* name of a thread (NUL-terminated, <= 15 bytes) into out; false if
	 * gone. NULL: /proc/<tgid>/task/<tid>/comm (unit tests set it). */
	bool (*thread_comm)(uint32_t tgid, uint32_t tid, char out[16]);
};

int ebt_tracer_init(struct ebt_tracer *t, const struct ebt_config *cfg,
		    ebt_span_sink sink, void *sink_ctx);
void ebt_tracer_fini(struct ebt_tracer *t);
/* Ring buffer callback: decode and process one record. Always returns 0. */
int ebt_tracer_handle(void *ctx, const void *data, size_t len);
/* Periodic housekeeping: expire idle state. now is CLOCK_MONOTONIC ns. */
void ebt_tracer_tick(struct ebt_tracer *t, uint64_t now_ns);
/* At shutdown, after the last record: export the spans still held. */
void ebt_tracer_flush(struct ebt_tracer *t);

/* ---- internals shared by conntrack.c and assembler.c ---- */

/* One request awaiting its response on a connection. */
struct ebt_exchange {
	struct ebt_exchange *next;
	uint32_t index;  /* n-th request on the connection, from 0 */
	uint32_t tid;    /* thread that read (server) / wrote (client) it */
	uint64_t start_ns;
	char method[HTTP_METHOD_MAX];
	int version_minor; /* of the request: HTTP/1.<minor> */
	char *target;
	char *host;
	char *user_agent;
	char *fwd_client; /* NULL unless a proxy named the client */
	char *fwd_host;	  /* NULL unless a proxy named the host */
	char fwd_proto[HTTP_PROTO_MAX];
	uint64_t req_body;
	int status;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];
	bool has_parent;
	bool remote_parent; /* from traceparent or a traced peer */
	const char *inferred_parent; /* client: why a guessed parent (NULL:
				      * the thread's only request) */
	bool from_header;     /* context from the request's traceparent */
	bool peer_client;     /* server: parent is a traced local client's span */
	bool peer_answered;   /* server: that client span was exported */
	unsigned children;
	unsigned skip_after; /* requests after this one not kept (too deep a
			      * pipeline): their responses follow its own */
	uint32_t log_lines; /* stdout/stderr lines written while active */
};

struct ebt_conn_id {
	uint32_t tgid;
	uint32_t fd;
	uint64_t start_ns;
};

/* A server request read on a thread and not yet answered. */
struct ebt_inflight {
	struct ebt_conn_id conn;
	uint32_t index;
};

struct ebt_conn {
	struct ebt_conn_id id;
	uint32_t role;
	bool have_tuple;
	bool not_http;
	bool ever_head;  /* some message head was parsed */
	bool self_checked; /* peer checked against the tracer's own ports */
	struct ebt_tuple tuple;
	bool is_unix; /* a unix stream socket: tuple holds identities */
	bool tls;     /* its records are TLS plaintext (libssl uprobes) */
	uint16_t tunnel_port; /* a CONNECT's target port: what requests made
			       * through the tunnel reach; 0 if none */
	bool proxy_checked; /* its first request bytes were looked at */
	char proxy_client[HTTP_ADDR_MAX]; /* a PROXY header's client, or "" */
	char unix_path[EBT_UNIX_PATH_MAX + 2]; /* its name; "@..." abstract */
	char comm[EBT_COMM_LEN];
	uint64_t cgroup_id;
	uint32_t next_seq;
	uint32_t late_seq; /* the record a later one overtook (late_wait) */
	bool late_wait;    /* late_seq may still come: see check_seq() */
	uint64_t last_ns;
	struct http_stream *req;
	struct http_stream *resp;
	uint64_t msg_start[2]; /* per side: ts of the first byte of msg */
	uint64_t side_ns[2];   /* per side: ts of its latest data record */
	bool in_msg[2];
	/* per direction (enum ebt_direction): stream offset of the next
	 * byte, once a record showed it; what BPF was told to skip up to */
	uint64_t next_off[2];
	bool off_known[2];
	uint64_t skip_until[2];
	uint32_t n_requests;
	struct ebt_exchange *head, *tail; /* FIFO */
	unsigned n_pending;
	unsigned skip_resp; /* responses to requests past the FIFO bound,
			     * to let go by: they pair with nothing */
	bool has_opened_for;
	struct ebt_inflight opened_for; /* client: the request its thread
					 * had read last when it connected */
};

#define EBT_THREAD_INFLIGHT 16

/* The server span active on one thread (thread-per-request servers), and
 * the requests the thread has in flight: more than one makes it an event
 * loop (nginx, Node), where the latest request is not the one an
 * outbound request serves. */
struct ebt_thread_ctx {
	uint32_t tgid;
	uint64_t set_ns;
	struct ebt_conn_id conn;
	uint32_t index;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	bool inherited; /* a child process's, from the thread that forked it:
			 * valid while that thread's request is in flight */
	unsigned n_inflight;
	struct ebt_inflight inflight[EBT_THREAD_INFLIGHT];
	bool has_last_read;
	struct ebt_inflight last_read; /* the request whose bytes (head or
					* body) the thread read last */
};

/* conntrack.c */
void ebt_conn_open(struct ebt_tracer *t, const struct ebt_ev_conn_open *e);
bool ebt_client_end(const struct ebt_conn *c, struct ebt_endpoint *e);
void ebt_conn_data(struct ebt_tracer *t, const struct ebt_ev_data *e);
void ebt_conn_close(struct ebt_tracer *t, const struct ebt_event_hdr *h);
void ebt_proc_exit(struct ebt_tracer *t, uint32_t tgid, uint64_t ts);
void ebt_proc_fork(struct ebt_tracer *t, uint32_t parent, uint32_t child);
void ebt_conn_free(void *conn);
void ebt_conn_drop_pending(struct ebt_tracer *t, struct ebt_conn *c);

/* assembler.c */
/* Forgets what it knew of threads not seen for five minutes. */
void ebt_asm_tick(struct ebt_tracer *t, uint64_t now_ns);
void ebt_asm_request(struct ebt_tracer *t, struct ebt_conn *c,
		     const struct http_msg *m, uint64_t ts, uint32_t tid);
void ebt_asm_response(struct ebt_tracer *t, struct ebt_conn *c,
		      const struct http_msg *m, uint64_t ts);
/* Requests left unanswered at the connection's close or the process's
 * exit (ts), client or server side: error spans without a status code. */
void ebt_asm_unanswered(struct ebt_tracer *t, struct ebt_conn *c,
			uint64_t ts);
/* A request's body was read whole: its size, for a chunked body. */
void ebt_asm_request_done(struct ebt_conn *c, const struct http_msg *m);
void ebt_exchange_free(struct ebt_exchange *x);
void ebt_random_id(struct ebt_tracer *t, uint8_t *out, size_t len);
/* Count log lines written on a thread against its active server span. */
void ebt_asm_log_lines(struct ebt_tracer *t, const struct ebt_thread_ctx *tc,
		       uint32_t lines);
/* A process forked by thread ptid of ptgid: while that thread serves a
 * request, the child's writes carry its trace context. */
void ebt_asm_fork(struct ebt_tracer *t, uint32_t ptid, uint32_t ptgid,
		  uint32_t child);
/* Is tc still the context of a request in flight? */
bool ebt_asm_ctx_live(struct ebt_tracer *t, const struct ebt_thread_ctx *tc);
/* A server connection that ends inside a response body keeps the span of
 * its oldest pending exchange unless that exchange's parent is a local
 * traced client's span never exported (the client gave up before the
 * answer: a span under it would name a parent nobody has). */
bool ebt_asm_cut_keeps_span(const struct ebt_conn *c);
void ebt_asm_server_read(struct ebt_tracer *t, const struct ebt_conn *c,
			 uint32_t tid);
void ebt_asm_client_open(struct ebt_tracer *t, struct ebt_conn *c,
			 uint32_t tid);
void ebt_asm_client_read(struct ebt_tracer *t, const struct ebt_conn *c,
			 uint32_t tid);

/* Counts and hands a finished span to the sink. */
void ebt_asm_export(struct ebt_tracer *t, struct ebt_span *s);

/* peer_wait.c: a server span whose local client's request record has not
 * come yet waits for it, at most EBT_PEER_WAIT_NS. */
#define EBT_PEER_WAIT_NS (250ULL * 1000000ULL)
/* 0: s is held (and owned) until taken or expired; -1: not held (full,
 * or out of memory), the caller still owns it. */
int ebt_peer_wait_hold(struct ebt_tracer *t, const struct ebt_tuple *client,
		       uint32_t index, struct ebt_span *s, uint64_t now);
/* The span held for request index of the client connection with this
 * tuple, now the caller's; NULL if none. */
struct ebt_span *ebt_peer_wait_take(struct ebt_tracer *t,
				    const struct ebt_tuple *client,
				    uint32_t index);
/* Exports the held spans whose wait ended by now (UINT64_MAX: all). */
void ebt_peer_wait_expire(struct ebt_tracer *t, uint64_t now);
void ebt_peer_wait_free(struct ebt_tracer *t);

/* logcapture.c: EBT_EV_LOG records -> the line assembler (t->logs) */
int ebt_logcapture_init(struct ebt_tracer *t);
void ebt_logcapture_fini(struct ebt_tracer *t);
void ebt_log_write(struct ebt_tracer *t, const struct ebt_ev_data *e);
/* Parent and program of a process, to name it once it is gone. */
void ebt_logcapture_fork(struct ebt_tracer *t, uint32_t parent,
			 uint32_t child);
void ebt_logcapture_exec(struct ebt_tracer *t, const struct ebt_ev_exec *e);
/* Feed the writes whose last piece did not come: of a process that
 * exited (and forget it), or (tick) older than a second. */
void ebt_logcapture_exit(struct ebt_tracer *t, uint32_t tgid);
void ebt_logcapture_tick(struct ebt_tracer *t, uint64_t now_mono_ns);

#endif /* EBT_TRACER_H */
