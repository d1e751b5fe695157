/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interpretation pipeline on synthetic ring-buffer records: connection
 * tracking, HTTP pairing, trace context and gap handling, without BPF.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tracer.h"

#define MAX_SPANS 64

struct capture {
	struct ebt_span *spans[MAX_SPANS];
	unsigned n;
};

static void sink(void *ctx, struct ebt_span *s)
{
	struct capture *c = ctx;

	if (c->n < MAX_SPANS)
		c->spans[c->n++] = s;
	else
		ebt_span_free(s);
}

struct fixture {
	struct ebt_config cfg;
	struct ebt_tracer t;
	struct capture cap;
	uint64_t now;
	const char *comm; /* process name of the connections opened; "app" */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cfg.query_mode = HTTP_QUERY_REDACT;
	f->now = 1000000;
	assert_int_equal(ebt_tracer_init(&f->t, &f->cfg, sink, &f->cap), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < f->cap.n; i++)
		ebt_span_free(f->cap.spans[i]);
	ebt_tracer_fini(&f->t);
	free(f);
	return 0;
}

static void hdr(struct ebt_event_hdr *h, uint32_t type, uint32_t tgid,
		uint32_t tid, uint32_t fd, uint64_t start, uint64_t ts)
{
	h->type = type;
	h->tgid = tgid;
	h->tid = tid;
	h->fd = fd;
	h->ts_ns = ts;
	h->conn_start_ns = start;
}

/* A connection between IPv4 addresses given as their four bytes (local
 * is this process's end). */
static void open_conn_at(struct fixture *f, uint32_t tgid, uint32_t fd,
			 uint32_t role, const uint8_t local[4], uint16_t lport,
			 const uint8_t remote[4], uint16_t rport)
{
	struct ebt_ev_conn_open e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, EBT_EV_CONN_OPEN, tgid, tgid, fd, fd * 100, f->now++);
	e.saddr[10] = e.saddr[11] = e.daddr[10] = e.daddr[11] = 0xff;
	memcpy(e.saddr + 12, local, 4);
	memcpy(e.daddr + 12, remote, 4);
	e.sport = lport;
	e.dport = rport;
	e.family = 2;
	e.role = role;
	strcpy(e.comm, f->comm ? f->comm : "app");
	ebt_tracer_handle(&f->t, &e, sizeof(e));
}

static void open_conn(struct fixture *f, uint32_t tgid, uint32_t fd,
		      uint32_t role, uint16_t lport, uint16_t rport)
{
	static const uint8_t lo[4] = {127, 0, 0, 1};

	open_conn_at(f, tgid, fd, role, lo, lport, lo, rport);
}

/* A data record with flags (EBT_DATA_*, in tail). */
static void data_flags(struct fixture *f, uint32_t tgid, uint32_t tid,
		       uint32_t fd, uint32_t dir, uint32_t seq,
		       const char *bytes, uint32_t flags)
{
	static struct ebt_ev_data e;
	size_t n = strlen(bytes);

	memset(&e, 0, offsetof(struct ebt_ev_data, payload));
	hdr(&e.hdr, EBT_EV_DATA, tgid, tid, fd, fd * 100, f->now += 1000);
	e.direction = dir;
	e.total_len = (uint32_t)n;
	e.cap_len = (uint32_t)n;
	e.seq = seq;
	e.tail = flags;
	memcpy(e.payload, bytes, n);
	ebt_tracer_handle(&f->t, &e, offsetof(struct ebt_ev_data, payload) + n);
}

static void data(struct fixture *f, uint32_t tgid, uint32_t tid, uint32_t fd,
		 uint32_t dir, uint32_t seq, const char *bytes)
{
	data_flags(f, tgid, tid, fd, dir, seq, bytes, 0);
}

/* Only the first cap bytes of what the syscall moved were captured. */
static void data_capped(struct fixture *f, uint32_t tgid, uint32_t fd,
			uint32_t dir, uint32_t seq, const char *bytes,
			uint32_t total)
{
	static struct ebt_ev_data e;
	size_t n = strlen(bytes);

	memset(&e, 0, offsetof(struct ebt_ev_data, payload));
	hdr(&e.hdr, EBT_EV_DATA, tgid, tgid, fd, fd * 100, f->now += 1000);
	e.direction = dir;
	e.total_len = total;
	e.cap_len = (uint32_t)n;
	e.seq = seq;
	memcpy(e.payload, bytes, n);
	ebt_tracer_handle(&f->t, &e, offsetof(struct ebt_ev_data, payload) + n);
}

static const char *attr(const struct ebt_span *s, const char *k)
{
	const struct ebt_attr *a = ebt_span_find(s, k);

	return a && a->str ? a->str : NULL;
}

/* A unix stream socket's end: identities me -> peer, name path[len]. */
static void open_unix(struct fixture *f, uint32_t tgid, uint32_t fd,
		      uint32_t role, uint64_t me, uint64_t peer,
		      const char *path, size_t len)
{
	struct ebt_ev_conn_open e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, EBT_EV_CONN_OPEN, tgid, tgid, fd, fd * 100, f->now++);
	memcpy(e.saddr, &me, 8);
	memcpy(e.daddr, &peer, 8);
	e.family = 1; /* AF_UNIX */
	e.role = role;
	memcpy(e.path, path, len);
	e.path_len = (uint32_t)len;
	strcpy(e.comm, "app");
	ebt_tracer_handle(&f->t, &e, sizeof(e));
}

/* HTTP on a unix socket: both ends linked by the socket pair, the peer is
 * the socket's name, no ports; an abstract name is shown with '@'. */
static void test_unix_socket_spans(void **state)
{
	static const char req[] = "GET /v1.45/containers/json HTTP/1.1\r\n"
				  "Host: api.moby.localhost\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				   "\r\n[]";
	struct fixture *f = *state;
	struct ebt_span *c, *s;

	open_unix(f, 10, 5, EBT_ROLE_CLIENT, 0x1000, 0x2000, "/run/a.sock", 11);
	open_unix(f, 20, 7, EBT_ROLE_SERVER, 0x2000, 0x1000, "/run/a.sock", 11);
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 0, req);
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 0, req);
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 1, resp);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 1, resp);
	assert_int_equal(f->cap.n, 2);
	s = f->cap.spans[0];
	c = f->cap.spans[1];
	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
	for (int i = 0; i < 2; i++) {
		struct ebt_span *x = f->cap.spans[i];

		assert_string_equal(attr(x, "network.transport"), "unix");
		assert_string_equal(attr(x, "network.peer.address"),
				    "/run/a.sock");
		assert_null(ebt_span_find(x, "network.peer.port"));
	}
	assert_null(ebt_span_find(s, "server.port"));
	assert_null(ebt_span_find(s, "client.address"));
	assert_string_equal(attr(s, "server.address"), "api.moby.localhost");
	assert_string_equal(attr(c, "url.full"),
			    "http://api.moby.localhost:80/v1.45/containers/json");
	/* an abstract name, and no Host header */
	open_unix(f, 10, 6, EBT_ROLE_CLIENT, 0x3000, 0x4000, "\0ctl", 4);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 0, "GET /x HTTP/1.0\r\n\r\n");
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.0 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 3);
	c = f->cap.spans[2];
	assert_string_equal(attr(c, "network.peer.address"), "@ctl");
	assert_string_equal(attr(c, "url.full"), "http://localhost:80/x");
}

/* TLS plaintext records (EBT_DATA_TLS): https on both ends, both still
 * linked by the tuple; a Host without a port: the socket's port. */
static void tls_data(struct fixture *f, uint32_t tgid, uint32_t fd,
		     uint32_t dir, uint32_t seq, const char *bytes)
{
	data_flags(f, tgid, tgid, fd, dir, seq, bytes, EBT_DATA_TLS);
}

static void test_tls_spans(void **state)
{
	static const char req[] = "GET /cart/7?x=1 HTTP/1.1\r\n"
				  "Host: shop.example\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				   "\r\nok";
	struct fixture *f = *state;
	struct ebt_span *c, *s;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8443, 40000);
	open_conn(f, 30, 6, EBT_ROLE_CLIENT, 40000, 8443);
	tls_data(f, 30, 6, EBT_DIR_EGRESS, 0, req);
	tls_data(f, 10, 5, EBT_DIR_INGRESS, 0, req);
	tls_data(f, 10, 5, EBT_DIR_EGRESS, 1, resp);
	tls_data(f, 30, 6, EBT_DIR_INGRESS, 1, resp);
	assert_int_equal(f->cap.n, 2);
	s = f->cap.spans[0];
	c = f->cap.spans[1];
	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
	assert_string_equal(attr(s, "url.scheme"), "https");
	assert_int_equal(ebt_span_find(s, "server.port")->num, 8443);
	assert_string_equal(attr(c, "url.full"),
			    "https://shop.example:8443/cart/7?x=REDACTED");
	/* the same exchange in the clear stays http */
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40001);
	data(f, 10, 10, 7, EBT_DIR_INGRESS, 0, req);
	data(f, 10, 10, 7, EBT_DIR_EGRESS, 1, resp);
	assert_int_equal(f->cap.n, 3);
	assert_string_equal(attr(f->cap.spans[2], "url.scheme"), "http");
	assert_int_equal(ebt_span_find(f->cap.spans[2], "server.port")->num,
			 8080);
}

/* HTTPS through a forward proxy: CONNECT in the clear, then BPF restarts
 * the connection as TLS (records from 0 again); the requests inside are
 * https to the tunnel's target port, the proxy stays the peer. */
static void test_https_in_connect_tunnel(void **state)
{
	struct fixture *f = *state;
	struct ebt_span *c;

	open_conn(f, 30, 6, EBT_ROLE_CLIENT, 40000, 3128);
	data(f, 30, 30, 6, EBT_DIR_EGRESS, 0,
	     "CONNECT api.example:8443 HTTP/1.1\r\nHost: api.example:8443"
	     "\r\n\r\n");
	data(f, 30, 30, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 Connection established\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.spans[0]->name, "CONNECT");
	tls_data(f, 30, 6, EBT_DIR_EGRESS, 0,
		 "GET /v1/rates HTTP/1.1\r\nHost: api.example\r\n\r\n");
	tls_data(f, 30, 6, EBT_DIR_INGRESS, 1,
		 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
	tls_data(f, 30, 6, EBT_DIR_EGRESS, 2,
		 "GET /v1/fx HTTP/1.1\r\nHost: api.example\r\n\r\n");
	tls_data(f, 30, 6, EBT_DIR_INGRESS, 3,
		 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 3);
	c = f->cap.spans[1];
	assert_string_equal(attr(c, "url.full"),
			    "https://api.example:8443/v1/rates");
	assert_int_equal(ebt_span_find(c, "network.peer.port")->num, 3128);
	assert_int_equal(ebt_span_find(c, "http.response.status_code")->num,
			 200);
	assert_int_equal(
		ebt_span_find(f->cap.spans[2], "http.response.status_code")->num,
		404);
}

/* A load balancer's PROXY header before the first request: skipped on
 * both ends; its client is the server span's client.address (a
 * forwarded-for header still wins). */
static void test_proxy_protocol_header(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	open_conn(f, 30, 6, EBT_ROLE_CLIENT, 40000, 8080);
	data(f, 30, 31, 6, EBT_DIR_EGRESS, 0,
	     "PROXY TCP4 203.0.113.7 10.0.0.5 51234 80\r\n"
	     "GET /a HTTP/1.1\r\nHost: shop\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0,
	     "PROXY TCP4 203.0.113.7 10.0.0.5 51234 80\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 1,
	     "GET /a HTTP/1.1\r\nHost: shop\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 2,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 30, 31, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 3,
	     "GET /b HTTP/1.1\r\nX-Forwarded-For: 198.51.100.9\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 4,
	     "HTTP/1.1 204 No Content\r\n\r\n");
	ebt_tracer_flush(&f->t); /* /b waited for a client write of it */
	assert_int_equal(f->cap.n, 3);
	assert_string_equal(attr(f->cap.spans[0], "url.path"), "/a");
	assert_string_equal(attr(f->cap.spans[0], "client.address"),
			    "203.0.113.7");
	assert_string_equal(attr(f->cap.spans[1], "url.full"),
			    "http://shop:8080/a");
	assert_string_equal(attr(f->cap.spans[2], "client.address"),
			    "198.51.100.9");
	assert_int_equal(f->t.stats.parse_errors, 0);
}

static void test_server_span(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0,
	     "GET /users/42?token=abc HTTP/1.1\r\nHost: shop:8080\r\n"
	     "Authorization: Bearer zzz\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nno");
	assert_int_equal(f->cap.n, 1);
	struct ebt_span *s = f->cap.spans[0];

	assert_string_equal(s->name, "GET /users/{id}");
	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_int_equal(s->status, EBT_STATUS_ERROR);
	assert_string_equal(attr(s, "url.path"), "/users/42");
	assert_string_equal(attr(s, "url.query"), "token=REDACTED");
	assert_string_equal(attr(s, "server.address"), "shop");
	assert_int_equal(ebt_span_find(s, "server.port")->num, 8080);
	assert_int_equal(ebt_span_find(s, "http.response.status_code")->num,
			 503);
	assert_true(s->end_ns > s->start_ns);
	for (unsigned i = 0; i < s->n_attrs; i++)
		assert_null(s->attrs[i].str ? strstr(s->attrs[i].str, "zzz")
					    : NULL);
}

/* url.full as the client sent it: an IPv6 host in brackets, the port,
 * the query (values redacted by default); a port that is not a number
 * is taken as written. */
static void test_client_url_full_shapes(void **state)
{
	struct fixture *f = *state;
	static const char *const hosts[] = {"[::1]:8443", "b:-7", "b:65535"};
	static const char *const want[] = {
		"http://[::1]:8443/p/1?q=REDACTED&r=REDACTED",
		"http://b:-7/p/1?q=REDACTED&r=REDACTED",
		"http://b:65535/p/1?q=REDACTED&r=REDACTED"};
	char req[128];

	for (uint32_t i = 0; i < 3; i++) {
		open_conn(f, 10, 6 + i, EBT_ROLE_CLIENT, 50000 + i, 9090);
		snprintf(req, sizeof(req),
			 "GET /p/1?q=1&r=2 HTTP/1.1\r\nHost: %s\r\n\r\n",
			 hosts[i]);
		data(f, 10, 11, 6 + i, EBT_DIR_EGRESS, 0, req);
		data(f, 10, 11, 6 + i, EBT_DIR_INGRESS, 1,
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		assert_int_equal(f->cap.n, i + 1);
		assert_string_equal(attr(f->cap.spans[i], "url.full"), want[i]);
	}
}

static void test_client_child_of_active_server_span(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "GET /b HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	struct ebt_span *c = f->cap.spans[0], *s = f->cap.spans[1];

	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_string_equal(c->name, "GET");
	assert_int_equal(c->status, EBT_STATUS_ERROR); /* 4xx on a client */
	assert_string_equal(attr(c, "url.full"), "http://b:9090/b");
	assert_memory_equal(c->trace_id, s->trace_id, 16);
	assert_memory_equal(c->parent_span_id, s->span_id, 8);
	assert_int_equal(s->status, EBT_STATUS_UNSET);
}

static void close_fd(struct fixture *f, uint32_t tgid, uint32_t fd);

/* A server request and the client request it makes on its thread, the
 * server's request line with extra header lines hdrs. */
static void call_through(struct fixture *f, const char *hdrs)
{
	char req[256];

	snprintf(req, sizeof(req), "GET /a HTTP/1.1\r\n%s\r\n", hdrs);
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, req);
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	close_fd(f, 10, 5);
	close_fd(f, 10, 6);
}

/* parentbased_always_on, the SDKs' default: a traceparent whose sampled
 * flag is clear drops its trace here too, the server span and the client
 * span it made (which ends first); one with the flag set, and a request
 * without one, are exported whole. */
static void test_parent_based_sampling_drops_the_whole_trace(void **state)
{
	struct fixture *f = *state;

	ebt_sampler_fini(&f->t.sampler);
	assert_int_equal(ebt_sampler_init(&f->t.sampler, EBT_SAMPLER_PB_ON, 1),
			 0);
	call_through(f, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"
			"00f067aa0ba902b7-00\r\n");
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(f->t.stats.spans, 2);
	assert_int_equal(f->t.stats.spans_sampled_out, 2);
	call_through(f, "traceparent: 00-5bf92f3577b34da6a3ce929d0e0e4736-"
			"00f067aa0ba902b7-01\r\n");
	assert_int_equal(f->cap.n, 2);
	call_through(f, "");
	assert_int_equal(f->cap.n, 4);
	assert_memory_equal(f->cap.spans[2]->parent_span_id,
			    f->cap.spans[3]->span_id, 8);
	assert_int_equal(f->t.stats.spans_sampled_out, 2);
}

/* http.ignore_paths: a request whose path (its query aside) matches a
 * glob makes no span, on the server side and on the client side; the
 * others on the same connections do. */
static void test_ignored_paths_make_no_span(void **state)
{
	struct fixture *f = *state;
	static char hz[] = "/healthz", act[] = "/actuator/*";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const char *const reqs[] = {
		"GET /healthz HTTP/1.1\r\n\r\n",
		"GET /actuator/health/liveness?probe=1 HTTP/1.1\r\n\r\n",
		"GET /healthz/deep HTTP/1.1\r\n\r\n",
		"GET http://b:9090/healthz HTTP/1.1\r\n\r\n",
	};

	f->cfg.ignore_paths[0] = hz;
	f->cfg.ignore_paths[1] = act;
	f->cfg.n_ignore_paths = 2;
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	open_conn(f, 20, 6, EBT_ROLE_CLIENT, 50000, 9090);
	for (uint32_t i = 0; i < 4; i++) {
		data(f, 10, 11, 5, EBT_DIR_INGRESS, 2 * i, reqs[i]);
		data(f, 10, 11, 5, EBT_DIR_EGRESS, 2 * i + 1, ok);
		data(f, 20, 20, 6, EBT_DIR_EGRESS, 2 * i, reqs[i]);
		data(f, 20, 20, 6, EBT_DIR_INGRESS, 2 * i + 1, ok);
	}
	assert_int_equal(f->t.stats.spans_ignored, 6);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[0]->name, "GET /healthz/deep");
	assert_string_equal(attr(f->cap.spans[1], "url.full"),
			    "http://127.0.0.1:9090/healthz/deep");
	f->cfg.n_ignore_paths = 0;
}

/* Threads 12 and 13 are the JDK HttpClient's worker and selector. */
static bool fake_comm(uint32_t tgid, uint32_t tid, char out[16])
{
	(void)tgid;
	if (tid == 12 || tid == 13)
		strcpy(out, "HttpClient-1-Wo");
	else if (tid == 15)
		strcpy(out, "OkHttp http://1");
	else if (tid == 30 || tid == 31)
		strcpy(out, "ForkJoinPool-1-");
	else
		strcpy(out, "java");
	return true;
}

/* java.net.http.HttpClient: the request thread (11) waits while a worker
 * thread (12) writes the request: the only server span in flight of the
 * process is the parent, marked as inferred. */
static void test_client_on_worker_thread_sole_server_span(void **state)
{
	struct fixture *f = *state;

	f->t.thread_comm = fake_comm;
	f->comm = "java";

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 12, 6, EBT_DIR_EGRESS, 0,
	     "GET /b HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 13, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	struct ebt_span *c = f->cap.spans[0], *s = f->cap.spans[1];

	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_memory_equal(c->trace_id, s->trace_id, 16);
	assert_memory_equal(c->parent_span_id, s->span_id, 8);
	assert_string_equal(attr(c, "ebpftrace.parent.inferred"),
			    "only_server_span_in_flight");
}

/* Virtual threads: carriers 30 and 31 run them in turn, and one resumes
 * on either. With two server requests in flight, a client request written
 * on the carrier that read the other one is not its child (it was before:
 * the carrier's latest read); with one in flight, it is, from any carrier. */
static void test_client_on_virtual_thread_carriers(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[8];
	struct ebt_span *c;

	f->t.thread_comm = fake_comm;
	f->comm = "java";
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40001);
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 30, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	data(f, 10, 31, 7, EBT_DIR_INGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 30, 6, EBT_DIR_EGRESS, 0, "GET /b-down HTTP/1.1\r\n\r\n");
	data(f, 10, 31, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	assert_memory_equal(f->cap.spans[0]->parent_span_id, zero, 8);
	/* /b is answered: /a alone is in flight, its call from carrier 31 */
	data(f, 10, 31, 7, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 31, 6, EBT_DIR_EGRESS, 2, "GET /a-down HTTP/1.1\r\n\r\n");
	data(f, 10, 30, 6, EBT_DIR_INGRESS, 3,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 30, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 4);
	c = f->cap.spans[2];
	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_memory_equal(c->parent_span_id, f->cap.spans[3]->span_id, 8);
	assert_string_equal(attr(c, "ebpftrace.parent.inferred"),
			    "only_server_span_in_flight");
}

/* The same shape in a process that is not a JVM: no thread name is read
 * and no parent is guessed. */
static void test_client_on_worker_thread_not_a_jvm(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[8];

	f->t.thread_comm = fake_comm;
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 12, 6, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 13, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	assert_memory_equal(f->cap.spans[0]->parent_span_id, zero, 8);
	assert_null(attr(f->cap.spans[0], "ebpftrace.parent.inferred"));
}

/* Two server spans in flight (or none, or one of another process): a
 * worker thread's client span is not given a guessed parent. */
static void test_client_on_worker_thread_ambiguous(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[8];

	f->t.thread_comm = fake_comm;
	f->comm = "java";

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40001);
	open_conn(f, 20, 5, EBT_ROLE_SERVER, 8080, 40002);
	data(f, 20, 21, 5, EBT_DIR_INGRESS, 0, "GET /other HTTP/1.1\r\n\r\n");
	/* process 10: no server span in flight yet; 20's does not count */
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 12, 6, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 13, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	/* process 10: two in flight */
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	data(f, 10, 14, 7, EBT_DIR_INGRESS, 0, "GET /c HTTP/1.1\r\n\r\n");
	data(f, 10, 12, 6, EBT_DIR_EGRESS, 2, "GET /d HTTP/1.1\r\n\r\n");
	data(f, 10, 13, 6, EBT_DIR_INGRESS, 3,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	/* one in flight, but the writer is not an HttpClient thread (an
	 * exporter's own thread): not attached to the request */
	data(f, 10, 14, 7, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	open_conn(f, 10, 8, EBT_ROLE_CLIENT, 50001, 4318);
	data(f, 10, 15, 8, EBT_DIR_EGRESS, 0,
	     "POST /v1/traces HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 15, 8, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 4);
	struct ebt_span *server = f->cap.spans[2];

	assert_int_equal(server->kind, EBT_KIND_SERVER);
	f->cap.spans[2] = f->cap.spans[3];
	f->cap.spans[3] = server;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f->cap.spans[i]->kind, EBT_KIND_CLIENT);
		assert_memory_equal(f->cap.spans[i]->parent_span_id, zero, 8);
		assert_null(attr(f->cap.spans[i],
				 "ebpftrace.parent.inferred"));
	}
}

static void test_local_peer_link_by_tuple(void **state)
{
	struct fixture *f = *state;

	/* client pid 20 port 50001 -> server pid 30 port 8080 */
	open_conn(f, 20, 7, EBT_ROLE_CLIENT, 50001, 8080);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 8080, 50001);
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, "GET /x HTTP/1.1\r\n\r\n");
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, "GET /x HTTP/1.1\r\n\r\n");
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	struct ebt_span *s = f->cap.spans[0], *c = f->cap.spans[1];

	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
}

static const uint8_t POD_A[4] = {10, 244, 0, 5}, POD_B[4] = {10, 244, 0, 7},
		     SVC_VIP[4] = {10, 96, 0, 10}, POD_C[4] = {10, 244, 0, 9},
		     LOOPBACK[4] = {127, 0, 0, 1};

/* One exchange, GET path, on client connection (20, fd 7) and server
 * connection (30, fd 8); the server reads first when server_first. */
static void exchange_20_30(struct fixture *f, const char *path,
			   bool server_first)
{
	char req[64];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
	if (!server_first)
		data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, req);
	if (server_first)
		data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
}

/* Both connections closed, the spans let go. */
static void end_20_30(struct fixture *f)
{
	close_fd(f, 20, 7);
	close_fd(f, 30, 8);
	for (size_t i = 0; i < f->cap.n; i++)
		ebt_span_free(f->cap.spans[i]);
	f->cap.n = 0;
}

static const struct ebt_span *span_of_kind(struct fixture *f, int kind)
{
	for (size_t i = 0; i < f->cap.n; i++)
		if ((int)f->cap.spans[i]->kind == kind)
			return f->cap.spans[i];
	fail_msg("no span of kind %d", kind);
	return NULL;
}

/* A Kubernetes Service: the client dialled the virtual IP, kube-proxy's
 * DNAT sent it to the pod. Only the client's end is the same on both
 * sides; the server span is still the client span's child, whichever
 * side's record comes first. */
static void test_local_peer_link_through_dnat(void **state)
{
	struct fixture *f = *state;

	for (int server_first = 0; server_first < 2; server_first++) {
		open_conn_at(f, 20, 7, EBT_ROLE_CLIENT, POD_A, 50001, SVC_VIP, 80);
		open_conn_at(f, 30, 8, EBT_ROLE_SERVER, POD_B, 8080, POD_A, 50001);
		exchange_20_30(f, "/svc", server_first);
		const struct ebt_span *s = span_of_kind(f, EBT_KIND_SERVER),
				      *c = span_of_kind(f, EBT_KIND_CLIENT);

		assert_memory_equal(s->trace_id, c->trace_id, 16);
		assert_memory_equal(s->parent_span_id, c->span_id, 8);
		end_20_30(f);
	}
}

/* Not through a NAT: the client's end is the same as that of a server
 * connection that is not its peer (an ephemeral port reused toward
 * another server, here pod C's, which mirrors the client exactly), and
 * loopback ends, which every pod has its own of. No link. */
static void test_no_nat_link_to_someone_elses_peer(void **state)
{
	struct fixture *f = *state;
	const struct ebt_span *s, *c;

	open_conn_at(f, 20, 7, EBT_ROLE_CLIENT, POD_A, 50001, POD_C, 9090);
	open_conn_at(f, 40, 9, EBT_ROLE_SERVER, POD_C, 9090, POD_A, 50001);
	open_conn_at(f, 30, 8, EBT_ROLE_SERVER, POD_B, 8080, POD_A, 50001);
	exchange_20_30(f, "/other", false);
	s = span_of_kind(f, EBT_KIND_SERVER);
	c = span_of_kind(f, EBT_KIND_CLIENT);
	assert_memory_not_equal(s->trace_id, c->trace_id, 16);
	end_20_30(f);
	open_conn_at(f, 20, 7, EBT_ROLE_CLIENT, LOOPBACK, 50002, LOOPBACK, 80);
	open_conn_at(f, 30, 8, EBT_ROLE_SERVER, LOOPBACK, 8080, LOOPBACK, 50002);
	exchange_20_30(f, "/loopback", false);
	s = span_of_kind(f, EBT_KIND_SERVER);
	c = span_of_kind(f, EBT_KIND_CLIENT);
	assert_memory_not_equal(s->trace_id, c->trace_id, 16);
}

/* The server's read came before the client's write (the writer's syscall
 * exit stamped later, on another CPU), and the server (a proxy) wrote its
 * upstream request meanwhile: the root client span joins the server's
 * trace as its parent, and the upstream span stays in that trace. */
static void test_local_peer_client_record_late(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 20, 7, EBT_ROLE_CLIENT, 50001, 8080);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 8080, 50001);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, "GET /x HTTP/1.1\r\n\r\n");
	open_conn(f, 30, 9, EBT_ROLE_CLIENT, 50002, 9090);
	data(f, 30, 30, 9, EBT_DIR_EGRESS, 0,
	     "GET /x HTTP/1.1\r\nHost: up:9090\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, "GET /x HTTP/1.1\r\n\r\n");
	data(f, 30, 30, 9, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 3);
	struct ebt_span *up = f->cap.spans[0], *s = f->cap.spans[1],
			*c = f->cap.spans[2];

	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
	assert_memory_equal(up->trace_id, s->trace_id, 16);
	assert_memory_equal(up->parent_span_id, s->span_id, 8);
	for (int k = 0; k < 8; k++)
		assert_int_equal(c->parent_span_id[k], 0);
}

static const char ok_empty[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* Client pid 20 (fd 7) and server pid 30 (fd 8) on one loopback
 * connection; the server reads req and answers before any client record. */
static void server_answers_first(struct fixture *f, const char *req)
{
	open_conn(f, 20, 7, EBT_ROLE_CLIENT, 50001, 8080);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 8080, 50001);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1, ok_empty);
}

/* Later still: the server answered, and was handled, before the client's
 * write of the request came (the client preempted between its write and
 * the syscall's exit, under load). The server span waits for it, then is
 * the root client span's child, in one trace. */
static void test_local_peer_client_record_after_the_answer(void **state)
{
	struct fixture *f = *state;

	server_answers_first(f, "GET /x HTTP/1.1\r\n\r\n");
	assert_int_equal(f->cap.n, 0); /* waiting for the client's record */
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, "GET /x HTTP/1.1\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1, ok_empty);
	assert_int_equal(f->cap.n, 2);
	struct ebt_span *s = f->cap.spans[0], *c = f->cap.spans[1];

	assert_int_equal(s->kind, EBT_KIND_SERVER);
	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
}

/* The same with a client inside a server span of its own (a proxy): the
 * waiting server span moves into the proxy's trace. */
static void test_late_peer_record_of_a_proxy(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 20, 5, EBT_ROLE_SERVER, 80, 40000);
	data(f, 20, 20, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	server_answers_first(f, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1, ok_empty);
	data(f, 20, 20, 5, EBT_DIR_EGRESS, 1, ok_empty);
	assert_int_equal(f->cap.n, 3);
	struct ebt_span *b = f->cap.spans[0], *c = f->cap.spans[1],
			*a = f->cap.spans[2];

	assert_memory_equal(c->parent_span_id, a->span_id, 8);
	assert_memory_equal(b->trace_id, a->trace_id, 16);
	assert_memory_equal(b->parent_span_id, c->span_id, 8);
}

/* A waiting server span whose client never writes that request (its record
 * lost) is exported as it is when the wait ends, and at shutdown. */
static void test_waiting_server_span_ends_its_wait(void **state)
{
	struct fixture *f = *state;

	server_answers_first(f, "GET /x HTTP/1.1\r\n\r\n");
	ebt_tracer_tick(&f->t, f->now + EBT_PEER_WAIT_NS / 2);
	assert_int_equal(f->cap.n, 0);
	ebt_tracer_tick(&f->t, f->now + EBT_PEER_WAIT_NS);
	assert_int_equal(f->cap.n, 1);
	for (int k = 0; k < 8; k++)
		assert_int_equal(f->cap.spans[0]->parent_span_id[k], 0);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 2, "GET /y HTTP/1.1\r\n\r\n");
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 3, ok_empty);
	assert_int_equal(f->cap.n, 1);
	ebt_tracer_flush(&f->t);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[1]->name, "GET /y");
}

/* The app's own instrumentation (an agent) wrote a traceparent into its
 * outgoing request: our client span is still the child of our server span
 * on that thread, and the traced peer's server span the child of our
 * client span, so our chain stays in one trace. */
static void test_own_links_before_app_traceparent(void **state)
{
	struct fixture *f = *state;
	static const char req[] =
		"GET /b HTTP/1.1\r\ntraceparent: "
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 9090, 50000);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0, req);
	data(f, 30, 31, 8, EBT_DIR_INGRESS, 0, req);
	data(f, 30, 31, 8, EBT_DIR_EGRESS, 1, ok);
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1, ok);
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1, ok);
	assert_int_equal(f->cap.n, 3);
	struct ebt_span *down = f->cap.spans[0], *c = f->cap.spans[1],
			*s = f->cap.spans[2];

	assert_int_equal(down->kind, EBT_KIND_SERVER);
	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_memory_equal(c->trace_id, s->trace_id, 16);
	assert_memory_equal(c->parent_span_id, s->span_id, 8);
	assert_memory_equal(down->trace_id, s->trace_id, 16);
	assert_memory_equal(down->parent_span_id, c->span_id, 8);
}

/* The peer's client record (written inside its server span) is handled
 * after the server's request: the server span first takes the header,
 * then our client span at the end. */
static void test_late_local_peer_beats_traceparent(void **state)
{
	struct fixture *f = *state;
	static const char req[] =
		"GET /x HTTP/1.1\r\ntraceparent: "
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	open_conn(f, 20, 5, EBT_ROLE_SERVER, 80, 40000);
	data(f, 20, 20, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	open_conn(f, 20, 7, EBT_ROLE_CLIENT, 50001, 8080);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 8080, 50001);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, req);
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1, ok);
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1, ok);
	assert_int_equal(f->cap.n, 2);
	assert_memory_equal(f->cap.spans[0]->trace_id, f->cap.spans[1]->trace_id,
			    16);
	assert_memory_equal(f->cap.spans[0]->parent_span_id,
			    f->cap.spans[1]->span_id, 8);
}

/* curl -H traceparent, both ends traced: the client outside any server
 * span takes the header, and the server follows the header too. */
static void test_header_from_root_client_is_honoured(void **state)
{
	struct fixture *f = *state;
	static const char req[] =
		"GET /x HTTP/1.1\r\ntraceparent: "
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char hex[33];

	open_conn(f, 20, 7, EBT_ROLE_CLIENT, 50001, 8080);
	open_conn(f, 30, 8, EBT_ROLE_SERVER, 8080, 50001);
	data(f, 20, 20, 7, EBT_DIR_EGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_INGRESS, 0, req);
	data(f, 30, 30, 8, EBT_DIR_EGRESS, 1, ok);
	data(f, 20, 20, 7, EBT_DIR_INGRESS, 1, ok);
	assert_int_equal(f->cap.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		ebt_hex(f->cap.spans[i]->trace_id, 16, hex);
		assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
		ebt_hex(f->cap.spans[i]->parent_span_id, 8, hex);
		assert_string_equal(hex, "00f067aa0ba902b7");
	}
}

static void test_traceparent_wins(void **state)
{
	struct fixture *f = *state;
	char hex[33];

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0,
	     "GET / HTTP/1.1\r\ntraceparent: "
	     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	ebt_hex(f->cap.spans[0]->trace_id, 16, hex);
	assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
	ebt_hex(f->cap.spans[0]->parent_span_id, 8, hex);
	assert_string_equal(hex, "00f067aa0ba902b7");
}

/* A connection whose open record was not seen: its stream offsets are
 * unknown, so a lost record could have held anything. */
static void test_seq_gap_drops_pending_request(void **state)
{
	struct fixture *f = *state;

	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	/* record 1 lost */
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 2,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(f->t.stats.seq_gaps, 1);
	/* the connection recovers at the next request */
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 3, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 4,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.spans[0]->name, "GET /b");
}

static void test_garbage_marks_not_http(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "\x01\x02\x03\x04garbage\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(f->t.stats.not_http, 1);
}

/*
 * The first request's head is bigger than the capture (a 10 KB cookie):
 * the connection stays HTTP, that request still makes a span from its
 * start line, and the next keep-alive request is traced as usual.
 */
static void test_head_bigger_than_capture(void **state)
{
	struct fixture *f = *state;
	const char *big = "GET /big HTTP/1.1\r\nHost: shop\r\nCookie: aaaa";

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data_capped(f, 10, 5, EBT_DIR_INGRESS, 0, big, 10000);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 1, "aaaa\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 2,
	     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 3, "GET /next HTTP/1.1\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 4,
	     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->t.stats.not_http, 0);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[0]->name, "GET /big");
	assert_string_equal(attr(f->cap.spans[0], "server.address"), "shop");
	assert_string_equal(f->cap.spans[1]->name, "GET /next");
	assert_int_equal(ebt_span_find(f->cap.spans[1],
				       "http.response.status_code")->num,
			 404);
	/* the second span starts at its own request, not at the first one */
	assert_true(f->cap.spans[1]->start_ns > f->cap.spans[0]->end_ns);
}

/* A response head written in more iovecs than BPF copies. */
static void test_response_head_bigger_than_capture(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 0, "GET /vec HTTP/1.1\r\n\r\n");
	data_capped(f, 10, 5, EBT_DIR_EGRESS, 1,
		    "HTTP/1.1 503 Busy\r\nX-H0: v\r\nX-H1: v\r\n", 900);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 2, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 3,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[0]->name, "GET /vec");
	assert_int_equal(f->cap.spans[0]->status, EBT_STATUS_ERROR);
	assert_string_equal(f->cap.spans[1]->name, "GET /b");
}

/* After garbage the next request's span starts at that request. */
static void test_start_after_resync(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 2, "GET /b HTTP/1.1\r\nBad\r\n\r\n");
	f->now += 1000000000;
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 3, "GET /c HTTP/1.1\r\n\r\n");
	/* a lenient server answers the request the parser rejected: that
	 * response is let go by, it is not /c's */
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 4,
	     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 5,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[1]->name, "GET /c");
	assert_int_equal(ebt_span_find(f->cap.spans[1],
				       "http.response.status_code")->num,
			 200);
	assert_true(f->cap.spans[1]->end_ns - f->cap.spans[1]->start_ns <
		    1000000000);
}

static void test_malformed_records_counted(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_data e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, EBT_EV_DATA, 1, 1, 1, 1, 1);
	e.cap_len = 100;
	e.total_len = 50; /* cap > total: invalid */
	ebt_tracer_handle(&f->t, &e, sizeof(e));
	ebt_tracer_handle(&f->t, &e, 3); /* shorter than a header */
	e.hdr.type = 99;
	ebt_tracer_handle(&f->t, &e, sizeof(e));
	assert_int_equal(f->t.stats.bad_records, 3);
}

static void test_close_ends_close_delimited_response(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_close c;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /old HTTP/1.0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1, "HTTP/1.0 200 OK\r\n\r\nbody");
	assert_int_equal(f->cap.n, 0);
	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, EBT_EV_CONN_CLOSE, 10, 11, 5, 500, f->now += 10);
	ebt_tracer_handle(&f->t, &c, sizeof(c));
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.spans[0]->name, "GET /old");
}

static void close_fd(struct fixture *f, uint32_t tgid, uint32_t fd)
{
	struct ebt_ev_close c;

	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, EBT_EV_CONN_CLOSE, tgid, tgid, fd, fd * 100, f->now += 10);
	ebt_tracer_handle(&f->t, &c, sizeof(c));
}

/* A client that read a download's head and part of its body, then closed
 * (requests' stream=True then close, curl | head): its span has the status,
 * ends at the last bytes read and has no body size. So has a server's
 * whose response was cut short (an untraced client went away). */
static void test_client_closes_inside_body(void **state)
{
	struct fixture *f = *state;
	struct ebt_span *c;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 8080);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 0,
	     "GET /big HTTP/1.1\r\nHost: b:8080\r\n\r\n");
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\nxyz");
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 2, "more");
	assert_int_equal(f->cap.n, 0);
	close_fd(f, 10, 6);
	assert_int_equal(f->cap.n, 1);
	c = f->cap.spans[0];
	assert_int_equal(c->kind, EBT_KIND_CLIENT);
	assert_string_equal(attr(c, "url.full"), "http://b:8080/big");
	assert_int_equal(ebt_span_find(c, "http.response.status_code")->num, 200);
	assert_null(ebt_span_find(c, "http.response.body.size"));
	/* it ends at the close (the server's writes fail from then on), not
	 * at the last bytes read */
	assert_int_equal(c->end_ns - c->start_ns, 2010);
	open_conn(f, 20, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 20, 20, 5, EBT_DIR_INGRESS, 0, "GET /big HTTP/1.1\r\n\r\n");
	data(f, 20, 20, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\nxyz");
	close_fd(f, 20, 5);
	assert_int_equal(f->cap.n, 2);
	assert_int_equal(f->cap.spans[1]->kind, EBT_KIND_SERVER);
	assert_null(ebt_span_find(f->cap.spans[1], "http.response.body.size"));
}

/* A traced local client and server: the client stops reading the
 * download and closes, the server's writes fail and it closes: both spans,
 * the server's under the client's. A client that gave up before any answer
 * has an error span (connection_closed), and the server's late answer, cut
 * short, is its child. */
static void test_local_pair_cut_short(void **state)
{
	static const char head[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\nxyz";
	struct fixture *f = *state;

	for (int gave_up = 0; gave_up < 2; gave_up++) {
		uint16_t cport = (uint16_t)(50000 + gave_up);
		unsigned n = f->cap.n;

		open_conn(f, 10, 6, EBT_ROLE_CLIENT, cport, 8080);
		open_conn(f, 20, 5, EBT_ROLE_SERVER, 8080, cport);
		data(f, 10, 10, 6, EBT_DIR_EGRESS, 0,
		     "GET /dl HTTP/1.1\r\nHost: b:8080\r\n\r\n");
		data(f, 20, 20, 5, EBT_DIR_INGRESS, 0,
		     "GET /dl HTTP/1.1\r\nHost: b:8080\r\n\r\n");
		if (!gave_up)
			data(f, 20, 20, 5, EBT_DIR_EGRESS, 1, head);
		if (!gave_up)
			data(f, 10, 10, 6, EBT_DIR_INGRESS, 1, head);
		close_fd(f, 10, 6);
		if (gave_up)
			data(f, 20, 20, 5, EBT_DIR_EGRESS, 1, head);
		close_fd(f, 20, 5);
		assert_int_equal(f->cap.n, n + 2);
		assert_int_equal(f->cap.spans[n]->status,
				 gave_up ? EBT_STATUS_ERROR : EBT_STATUS_UNSET);
		assert_int_equal(f->cap.spans[n]->kind, EBT_KIND_CLIENT);
		assert_int_equal(f->cap.spans[n + 1]->kind, EBT_KIND_SERVER);
		assert_memory_equal(f->cap.spans[n + 1]->parent_span_id,
				    f->cap.spans[n]->span_id, 8);
		assert_memory_equal(f->cap.spans[n + 1]->trace_id,
				    f->cap.spans[n]->trace_id, 16);
	}
}

/* Through a forward proxy (curl -x): the target names the origin, whose
 * port is the scheme's when left out, never the proxy's; credentials in
 * the authority are not exported. */
static void test_absolute_form_through_proxy(void **state)
{
	struct fixture *f = *state;
	struct ebt_span *c, *s;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 3128);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "GET http://u:pw@example.com/a/7?k=v HTTP/1.1\r\n"
	     "Host: example.com\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	open_conn(f, 20, 5, EBT_ROLE_SERVER, 3128, 40000);
	data(f, 20, 21, 5, EBT_DIR_INGRESS, 0,
	     "GET http://example.com:8081/a HTTP/1.1\r\nHost: other\r\n\r\n");
	data(f, 20, 21, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	c = f->cap.spans[0];
	s = f->cap.spans[1];
	assert_string_equal(attr(c, "url.full"),
			    "http://example.com:80/a/7?k=REDACTED");
	assert_string_equal(attr(c, "server.address"), "example.com");
	assert_int_equal(ebt_span_find(c, "server.port")->num, 80);
	assert_int_equal(ebt_span_find(c, "network.peer.port")->num, 3128);
	assert_string_equal(s->name, "GET /a");
	assert_string_equal(attr(s, "url.path"), "/a");
	assert_string_equal(attr(s, "server.address"), "example.com");
	assert_int_equal(ebt_span_find(s, "server.port")->num, 8081);
}

static void test_options_asterisk(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "OPTIONS * HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(attr(f->cap.spans[0], "url.full"),
			    "http://b:9090");
}

/* The size of a chunked request body is known once it has been read. */
static void test_chunked_request_body_size(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0,
	     "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "3\r\nabc\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 1, "4\r\ndefg\r\n0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 2,
	     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(
		ebt_span_find(f->cap.spans[0], "http.request.body.size")->num,
		7);
}

/* A record at stream offset off of which cap bytes were captured. */
static void data_at(struct fixture *f, uint32_t dir, uint32_t seq,
		    uint64_t off, const char *bytes, uint32_t total)
{
	static struct ebt_ev_data e;
	size_t n = strlen(bytes);

	memset(&e, 0, offsetof(struct ebt_ev_data, payload));
	hdr(&e.hdr, EBT_EV_DATA, 10, 11, 5, 500, f->now += 1000);
	e.direction = dir;
	e.total_len = total;
	e.cap_len = (uint32_t)n;
	e.seq = seq;
	e.off = off;
	memcpy(e.payload, bytes, n);
	ebt_tracer_handle(&f->t, &e, offsetof(struct ebt_ev_data, payload) + n);
}

/* A server sends a body of size bytes after its head: the first write
 * (head and 64 KiB) is recorded, the next unseen 64 KiB writes are not,
 * the one that ends the body is (record tail_seq); then the connection
 * carries a next request. The offsets place the bytes not seen. */
static void long_body_with_hole(struct fixture *f, uint32_t size,
				unsigned unseen, uint32_t tail_seq)
{
	char head[64];
	uint64_t hl = (uint64_t)snprintf(
		head, sizeof(head),
		"HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", size);
	uint64_t tail_off = hl + (uint64_t)(unseen + 1) * 65536;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data_at(f, EBT_DIR_INGRESS, 0, 0, "GET /dl HTTP/1.1\r\n\r\n", 20);
	data_at(f, EBT_DIR_EGRESS, 1, 0, head, (uint32_t)hl + 65536);
	data_at(f, EBT_DIR_EGRESS, tail_seq, tail_off, "tail",
		(uint32_t)(hl + size - tail_off));
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(ebt_span_find(f->cap.spans[0],
				       "http.response.body.size")->num,
			 size);
	data_at(f, EBT_DIR_INGRESS, tail_seq + 1, 20,
		"GET /next HTTP/1.1\r\n\r\n", 22);
	data_at(f, EBT_DIR_EGRESS, tail_seq + 2, hl + size,
		"HTTP/1.1 204 No Content\r\n\r\n", 27);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(attr(f->cap.spans[1], "url.path"), "/next");
	assert_int_equal(f->t.stats.parse_errors, 0);
}

/* BPF records nothing inside a long body: the offsets jump, the skipped
 * bytes count into the body, and the next request on the connection is
 * parsed from its first byte. */
static void test_skipped_body_counts_by_offset(void **state)
{
	struct fixture *f = *state;

	/* 14 writes of 64 KiB not recorded, then the last one */
	long_body_with_hole(f, 1000000, 14, 2);
}

/* The ring was full for two records inside a long body: the offsets
 * show where their bytes went, so the exchange still makes its span. */
static void test_lost_body_records_keep_the_span(void **state)
{
	struct fixture *f = *state;

	/* records 2 and 3 (64 KiB each) lost */
	long_body_with_hole(f, 200000, 2, 4);
	assert_int_equal(f->t.stats.seq_gaps, 1);
}

/* Go's server reads the next request while the write of the response
 * is still in its sys_exit on the other CPU: the request's record, with
 * the later number, reaches the ring first. Nothing was lost. */
static void test_record_overtaken_in_the_ring(void **state)
{
	struct fixture *f = *state;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint32_t n = (uint32_t)strlen(ok);

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data_at(f, EBT_DIR_INGRESS, 0, 0, "GET /a HTTP/1.1\r\n\r\n", 19);
	data_at(f, EBT_DIR_INGRESS, 2, 19, "GET /b HTTP/1.1\r\n\r\n", 19);
	data_at(f, EBT_DIR_EGRESS, 1, 0, ok, n);
	data_at(f, EBT_DIR_EGRESS, 3, n, ok, n);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(attr(f->cap.spans[0], "url.path"), "/a");
	assert_string_equal(attr(f->cap.spans[1], "url.path"), "/b");
	assert_int_equal(f->t.stats.seq_gaps, 0);
	assert_int_equal(f->t.stats.parse_errors, 0);
}

/* Overtaken by a record, then the connection closed: it never came. */
static void test_overtaken_record_missing_at_close(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data_at(f, EBT_DIR_INGRESS, 0, 0, "GET /a HTTP/1.1\r\n\r\n", 19);
	data_at(f, EBT_DIR_INGRESS, 2, 19, "GET /b HTTP/1.1\r\n\r\n", 19);
	assert_int_equal(f->t.stats.seq_gaps, 0);
	close_fd(f, 10, 5);
	assert_int_equal(f->t.stats.seq_gaps, 1);
}

/* A lost record that held a response head: that exchange and the one
 * pending when the loss shows (the next response starts after unknown
 * bytes) get no span, nothing is paired wrongly, and the connection
 * recovers at the next exchange. */
static void test_lost_response_head_pairs_nothing_wrongly(void **state)
{
	struct fixture *f = *state;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint32_t ol = (uint32_t)strlen(ok);

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data_at(f, EBT_DIR_INGRESS, 0, 0, "GET /a HTTP/1.1\r\n\r\n", 19);
	/* record 1, the answer to /a, lost */
	data_at(f, EBT_DIR_INGRESS, 2, 19, "GET /b HTTP/1.1\r\n\r\n", 19);
	assert_int_equal(f->t.stats.seq_gaps, 0); /* record 1 may still come */
	data_at(f, EBT_DIR_EGRESS, 3, ol, ok, ol);
	assert_int_equal(f->t.stats.seq_gaps, 1); /* it did not */
	assert_int_equal(f->cap.n, 0);
	data_at(f, EBT_DIR_INGRESS, 4, 38, "GET /c HTTP/1.1\r\n\r\n", 19);
	data_at(f, EBT_DIR_EGRESS, 5, 2 * ol, ok, ol);
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(attr(f->cap.spans[0], "url.path"), "/c");
	assert_int_equal(f->t.stats.seq_gaps, 1); /* counted once */
}

/* A lost record that held a whole request: its answer finds nothing
 * pending, and the next request is parsed from its first byte. */
static void test_lost_request_record(void **state)
{
	struct fixture *f = *state;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint32_t ol = (uint32_t)strlen(ok);

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	/* record 0, request /a, lost */
	data_at(f, EBT_DIR_EGRESS, 1, 0, ok, ol);
	data_at(f, EBT_DIR_INGRESS, 2, 19, "GET /b HTTP/1.1\r\n\r\n", 19);
	data_at(f, EBT_DIR_EGRESS, 3, ol, ok, ol);
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(attr(f->cap.spans[0], "url.path"), "/b");
}

/* A close-delimited body ends with its last bytes, also when the client
 * closes long after reading them, or never closes (it exits). */
static void test_close_delimited_ends_at_last_byte(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_close c;
	struct ebt_ev_proc e;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0, "GET /a HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1, "HTTP/1.0 200 OK\r\n\r\nbody");
	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, EBT_EV_CONN_CLOSE, 10, 11, 6, 600, f->now += 2000000000);
	ebt_tracer_handle(&f->t, &c, sizeof(c));
	open_conn(f, 10, 7, EBT_ROLE_CLIENT, 50001, 9090);
	data(f, 10, 11, 7, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 7, EBT_DIR_INGRESS, 1, "HTTP/1.0 200 OK\r\n\r\nbody");
	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, EBT_EV_PROC_EXIT, 10, 10, 0, 0, f->now += 1000000000);
	ebt_tracer_handle(&f->t, &e, sizeof(e));
	assert_int_equal(f->cap.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(ebt_span_find(f->cap.spans[i],
					       "http.response.body.size")->num,
				 4);
		assert_true(f->cap.spans[i]->end_ns - f->cap.spans[i]->start_ns <
			    10000);
	}
}

/* A client request the connection closed on before any answer is a failed
 * call: an error span ending at the close, no status code; also when the
 * process exits without closing. So is a server's unanswered request (the
 * process exited while serving it): a server span, the parent of the call
 * it was making. */
static void test_unanswered_request_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_close c;
	struct ebt_ev_proc e;
	const struct ebt_span *s;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "POST /a HTTP/1.1\r\nHost: b:9090\r\nContent-Length: 2\r\n\r\nhi");
	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, EBT_EV_CONN_CLOSE, 10, 11, 6, 600, f->now += 3000000000);
	ebt_tracer_handle(&f->t, &c, sizeof(c));
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /s HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 7, EBT_ROLE_CLIENT, 50001, 9090);
	data(f, 10, 11, 7, EBT_DIR_EGRESS, 0, "GET /b HTTP/1.1\r\n\r\n");
	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, EBT_EV_PROC_EXIT, 10, 10, 0, 0, f->now += 1000000000);
	ebt_tracer_handle(&f->t, &e, sizeof(e));
	assert_int_equal(f->cap.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		s = f->cap.spans[i];
		assert_int_equal(s->status, EBT_STATUS_ERROR);
		assert_string_equal(attr(s, "error.type"), "connection_closed");
		assert_null(ebt_span_find(s, "http.response.status_code"));
		assert_string_equal(attr(s, "network.protocol.version"), "1.1");
		assert_true(s->end_ns - s->start_ns >= 1000000000ull);
	}
	s = f->cap.spans[0];
	assert_string_equal(s->name, "POST");
	assert_int_equal(s->kind, EBT_KIND_CLIENT);
	assert_int_equal(ebt_span_find(s, "http.request.body.size")->num, 2);
	assert_true(s->end_ns - s->start_ns >= 3000000000ull);
	/* the exit ends the other two, in no set order */
	const struct ebt_span *srv = f->cap.spans[1], *cli = f->cap.spans[2];

	if (srv->kind != EBT_KIND_SERVER) {
		srv = f->cap.spans[2];
		cli = f->cap.spans[1];
	}
	assert_int_equal(srv->kind, EBT_KIND_SERVER);
	assert_string_equal(srv->name, "GET /s");
	assert_string_equal(attr(cli, "url.full"), "http://127.0.0.1:9090/b");
	assert_memory_equal(cli->trace_id, srv->trace_id, 16);
	assert_memory_equal(cli->parent_span_id, srv->span_id, 8);
}

/* "GET / HTTP/1.0" answered "HTTP/1.1 200": the exchange is HTTP/1.0. */
static void test_http10_request_answered_as_11(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /old HTTP/1.0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 2, "GET /new HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 3,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(attr(f->cap.spans[0], "network.protocol.version"),
			    "1.0");
	assert_string_equal(attr(f->cap.spans[1], "network.protocol.version"),
			    "1.1");
}

/* curl reads a big chunked body 16 kB at a time; the last read was cut
 * too, so the last chunk was never seen: the next response (one request
 * later, after the connection idled) ends it, but it ended with the last
 * read of its own bytes. */
static void test_lost_chunk_end_is_its_last_read(void **state)
{
	struct fixture *f = *state;
	uint64_t last_read;

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0, "GET /big HTTP/1.1\r\n\r\n");
	data_capped(f, 10, 6, EBT_DIR_INGRESS, 1,
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "1000\r\nxx", 16384);
	data_capped(f, 10, 6, EBT_DIR_INGRESS, 2, "xxxx", 12000);
	last_read = f->now;
	f->now += 3000000000ULL; /* idle in the client's pool */
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 3, "GET /next HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 4,
	     "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_int_equal(f->cap.spans[0]->end_ns - f->t.mono_to_real_ns,
			 last_read);
	assert_null(ebt_span_find(f->cap.spans[0], "http.response.body.size"));
	assert_int_equal(ebt_span_find(f->cap.spans[1],
				       "http.response.status_code")->num,
			 204);
}

/* 40 pipelined requests, more than are kept in flight: the first 32 are
 * paired with their own responses, the rest go by, and the exchange after
 * them on the connection is right again. */
static void test_pipeline_deeper_than_kept(void **state)
{
	struct fixture *f = *state;
	static char reqs[40 * 40], resps[40 * 64];
	size_t rn = 0, sn = 0;

	for (int i = 0; i < 40; i++) {
		rn += (size_t)sprintf(reqs + rn, "GET /p/%d HTTP/1.1\r\n\r\n", i);
		sn += (size_t)sprintf(resps + sn,
				      "HTTP/1.1 200 OK\r\nContent-Length: %d"
				      "\r\n\r\n%*s", i + 1, i + 1, "x");
	}
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, reqs);
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1, resps);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 2, "GET /after HTTP/1.1\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 3,
	     "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 33);
	for (int i = 0; i < 32; i++) {
		char path[16];

		sprintf(path, "/p/%d", i);
		assert_string_equal(attr(f->cap.spans[i], "url.path"), path);
		assert_int_equal(ebt_span_find(f->cap.spans[i],
					       "http.response.body.size")->num,
				 i + 1);
	}
	assert_string_equal(attr(f->cap.spans[32], "url.path"), "/after");
	assert_int_equal(ebt_span_find(f->cap.spans[32],
				       "http.response.status_code")->num,
			 204);
}

/* The request a thread read was closed without an answer (an error
 * span): a request the thread writes later is not its child. */
static void test_no_parent_from_a_dropped_request(void **state)
{
	struct fixture *f = *state;
	struct ebt_ev_close c;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0, "GET /gone HTTP/1.1\r\n\r\n");
	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, EBT_EV_CONN_CLOSE, 10, 11, 5, 500, f->now += 10);
	ebt_tracer_handle(&f->t, &c, sizeof(c));
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "GET /later HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_int_equal(f->cap.spans[0]->kind, EBT_KIND_SERVER);
	assert_int_equal(f->cap.spans[0]->status, EBT_STATUS_ERROR);
	assert_int_equal(f->cap.spans[1]->kind, EBT_KIND_CLIENT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(f->cap.spans[1]->parent_span_id[i], 0);
}

/* A forward proxy's CONNECT tunnel carrying plain HTTP: one CONNECT
 * span; what goes through the tunnel is not parsed, and the proxy's own
 * call upstream has no parent that is never exported. */
static void test_connect_tunnel_is_not_parsed(void **state)
{
	struct fixture *f = *state;

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 3128, 40000);
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 0,
	     "CONNECT origin:80 HTTP/1.1\r\nHost: origin:80\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 1,
	     "HTTP/1.1 200 Connection established\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_INGRESS, 2, "GET /in HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 80);
	data(f, 10, 11, 6, EBT_DIR_EGRESS, 0,
	     "GET /in HTTP/1.1\r\nHost: origin\r\n\r\n");
	data(f, 10, 11, 6, EBT_DIR_INGRESS, 1,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	data(f, 10, 11, 5, EBT_DIR_EGRESS, 3,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[0]->name, "CONNECT");
	assert_null(ebt_span_find(f->cap.spans[0], "http.route"));
	assert_null(ebt_span_find(f->cap.spans[0], "url.path"));
	assert_int_equal(f->cap.spans[1]->kind, EBT_KIND_CLIENT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(f->cap.spans[1]->parent_span_id[i], 0);
}

static const char OK0[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* The span whose url.path (server) or url.full (client) is v. */
static struct ebt_span *span_at(struct fixture *f, enum ebt_span_kind kind,
				const char *v)
{
	for (unsigned i = 0; i < f->cap.n; i++) {
		struct ebt_span *s = f->cap.spans[i];
		const char *u = attr(s, kind == EBT_KIND_SERVER ? "url.path"
							      : "url.full");

		if (s->kind == kind && u && strcmp(u, v) == 0)
			return s;
	}
	fail_msg("no span at %s", v);
	return NULL;
}

static void assert_child(const struct ebt_span *c, const struct ebt_span *s)
{
	assert_memory_equal(c->trace_id, s->trace_id, 16);
	assert_memory_equal(c->parent_span_id, s->span_id, 8);
	assert_string_equal(attr(c, "ebpftrace.parent.inferred"),
			    "same_target_in_flight");
}

/* An nginx worker (one thread, tid 10) reads two requests (fds 5, 7),
 * connects upstream for each (fds 6, 8) and writes the upstream requests
 * once the connects complete, in the other order: each goes under the
 * request it forwards, not under the latest one read. */
static void event_loop_two_requests(struct fixture *f, const char *a,
				    const char *b)
{
	char req[128];

	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", a);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 0, req);
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40001);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", b);
	data(f, 10, 10, 7, EBT_DIR_INGRESS, 0, req);
	open_conn(f, 10, 8, EBT_ROLE_CLIENT, 50001, 9090);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: b:9090\r\n\r\n",
		 b);
	data(f, 10, 10, 8, EBT_DIR_EGRESS, 0, req);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: b:9090\r\n\r\n",
		 a);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 0, req);
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 1, OK0);
	data(f, 10, 10, 8, EBT_DIR_INGRESS, 1, OK0);
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 1, OK0);
	data(f, 10, 10, 7, EBT_DIR_EGRESS, 1, OK0);
	assert_int_equal(f->cap.n, 4);
}

static void test_event_loop_parent_by_target(void **state)
{
	struct fixture *f = *state;

	event_loop_two_requests(f, "/a", "/b");
	assert_child(span_at(f, EBT_KIND_CLIENT, "http://b:9090/a"),
		     span_at(f, EBT_KIND_SERVER, "/a"));
	assert_child(span_at(f, EBT_KIND_CLIENT, "http://b:9090/b"),
		     span_at(f, EBT_KIND_SERVER, "/b"));
}

/* Same target twice: the request read last when the connection opened. */
static void test_event_loop_same_target_by_connect(void **state)
{
	struct fixture *f = *state;
	struct ebt_span *c6 = NULL, *s5 = NULL;

	event_loop_two_requests(f, "/same", "/same");
	for (unsigned i = 0; i < f->cap.n; i++) {
		struct ebt_span *s = f->cap.spans[i];
		const struct ebt_attr *port = ebt_span_find(s, "network.peer.port");

		if (s->kind == EBT_KIND_CLIENT && i == 0)
			c6 = s; /* fd 6's response came first */
		if (s->kind == EBT_KIND_SERVER && port && port->num == 40000)
			s5 = s;
	}
	assert_non_null(c6);
	assert_non_null(s5);
	assert_child(c6, s5);
}

/* A proxy that strips a prefix forwards the target's tail; a target no
 * request in flight has gives no parent (a root, not a guess). */
static void test_event_loop_suffix_or_root(void **state)
{
	struct fixture *f = *state;
	struct ebt_span *root;

	event_loop_two_requests(f, "/api/x", "/api/other");
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40002);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 0, "GET /api/y HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40003);
	data(f, 10, 10, 7, EBT_DIR_INGRESS, 0, "GET /api/z HTTP/1.1\r\n\r\n");
	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50002, 9090);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 0,
	     "GET /y HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 1, OK0);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 2,
	     "GET /health HTTP/1.1\r\nHost: b:9090\r\n\r\n");
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 3, OK0);
	data(f, 10, 10, 5, EBT_DIR_EGRESS, 1, OK0);
	data(f, 10, 10, 7, EBT_DIR_EGRESS, 1, OK0);
	assert_int_equal(f->cap.n, 8);
	assert_child(span_at(f, EBT_KIND_CLIENT, "http://b:9090/api/x"),
		     span_at(f, EBT_KIND_SERVER, "/api/x"));
	assert_child(span_at(f, EBT_KIND_CLIENT, "http://b:9090/y"),
		     span_at(f, EBT_KIND_SERVER, "/api/y"));
	root = span_at(f, EBT_KIND_CLIENT, "http://b:9090/health");
	for (int k = 0; k < 8; k++)
		assert_int_equal(root->parent_span_id[k], 0);
	assert_null(attr(root, "ebpftrace.parent.inferred"));
}

/* Node's http.Agent with two sockets (6, 8) and four requests to one
 * target: A and B go out at once, C and D wait in the agent's queue and
 * go out when responses come back. The request read last (D) is not the
 * one written then: A and B are linked, C and D (nothing tells them
 * apart) are roots, never a second child of A, B or D. */
static void test_event_loop_client_queue(void **state)
{
	struct fixture *f = *state;
	static const char up[] = "GET /same HTTP/1.1\r\nHost: b:9090\r\n\r\n";
	static const char req[] = "GET /same HTTP/1.1\r\n\r\n";

	open_conn(f, 10, 6, EBT_ROLE_CLIENT, 50000, 9090);
	open_conn(f, 10, 8, EBT_ROLE_CLIENT, 50001, 9090);
	open_conn(f, 10, 5, EBT_ROLE_SERVER, 8080, 40000);
	data(f, 10, 10, 5, EBT_DIR_INGRESS, 0, req);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 0, up);		/* A */
	open_conn(f, 10, 7, EBT_ROLE_SERVER, 8080, 40001);
	data(f, 10, 10, 7, EBT_DIR_INGRESS, 0, req);
	data(f, 10, 10, 8, EBT_DIR_EGRESS, 0, up);		/* B */
	open_conn(f, 10, 9, EBT_ROLE_SERVER, 8080, 40002);
	data(f, 10, 10, 9, EBT_DIR_INGRESS, 0, req);
	open_conn(f, 10, 11, EBT_ROLE_SERVER, 8080, 40003);
	data(f, 10, 10, 11, EBT_DIR_INGRESS, 0, req);
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 1, OK0);
	data(f, 10, 10, 6, EBT_DIR_EGRESS, 2, up);		/* C */
	data(f, 10, 10, 8, EBT_DIR_INGRESS, 1, OK0);
	data(f, 10, 10, 8, EBT_DIR_EGRESS, 2, up);		/* D */
	data(f, 10, 10, 6, EBT_DIR_INGRESS, 3, OK0);
	data(f, 10, 10, 8, EBT_DIR_INGRESS, 3, OK0);
	for (uint32_t fd = 5; fd <= 11; fd += 2)
		data(f, 10, 10, fd, EBT_DIR_EGRESS, 1, OK0);
	assert_int_equal(f->cap.n, 8);
	/* clients in the order their responses came: A, B, C, D */
	struct ebt_span *cl[4], *sv[4];
	unsigned nc = 0, ns = 0;

	for (unsigned i = 0; i < f->cap.n; i++) {
		if (f->cap.spans[i]->kind == EBT_KIND_CLIENT)
			cl[nc++] = f->cap.spans[i];
		else
			sv[ns++] = f->cap.spans[i];
	}
	assert_int_equal(nc, 4);
	assert_int_equal(ns, 4);
	assert_memory_equal(cl[0]->parent_span_id, sv[0]->span_id, 8);
	assert_child(cl[1], sv[1]);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(cl[2]->parent_span_id[k], 0);
		assert_int_equal(cl[3]->parent_span_id[k], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_url_full_shapes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_span, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_client_child_of_active_server_span, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_client_on_worker_thread_sole_server_span, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_client_on_worker_thread_ambiguous, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_event_loop_parent_by_target, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_event_loop_same_target_by_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_event_loop_suffix_or_root, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_event_loop_client_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_client_on_worker_thread_not_a_jvm, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_client_on_virtual_thread_carriers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket_spans, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_proxy_protocol_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_spans, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_https_in_connect_tunnel,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_peer_link_by_tuple,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_parent_based_sampling_drops_the_whole_trace, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ignored_paths_make_no_span,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_peer_link_through_dnat,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_nat_link_to_someone_elses_peer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_local_peer_client_record_late, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_local_peer_client_record_after_the_answer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_late_peer_record_of_a_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_waiting_server_span_ends_its_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_own_links_before_app_traceparent, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_late_local_peer_beats_traceparent, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_header_from_root_client_is_honoured, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_traceparent_wins, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_seq_gap_drops_pending_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_marks_not_http,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_bigger_than_capture,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_response_head_bigger_than_capture, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_start_after_resync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_records_counted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_client_closes_inside_body, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_local_pair_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_close_ends_close_delimited_response, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_absolute_form_through_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_asterisk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_lost_body_records_keep_the_span, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_record_overtaken_in_the_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_overtaken_record_missing_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lost_response_head_pairs_nothing_wrongly, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_lost_request_record, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_skipped_body_counts_by_offset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_request_body_size,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_close_delimited_ends_at_last_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unanswered_request_is_an_error, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_http10_request_answered_as_11, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lost_chunk_end_is_its_last_read, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_deeper_than_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_parent_from_a_dropped_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_connect_tunnel_is_not_parsed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
