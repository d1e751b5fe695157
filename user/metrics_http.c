/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The health and metrics endpoint, served by libmicrohttpd on its own
 * thread. Routes are a table: /healthz (the capture loop polled lately),
 * /readyz (BPF programs attached), /metrics (Prometheus text of the latest
 * snapshot). The listening socket is bound here, so that "address in use"
 * and friends are reported in one line before anything else starts.
 */
#include "metrics.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LISTEN_BACKLOG 64
#define MAX_CONNECTIONS 32
#define CONNECTION_TIMEOUT_S 10
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

struct reply {
	unsigned status;
	const char *type;
	char *body; /* malloc'd */
	size_t len;
};

static int reply_text(struct reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reply_text(struct reply *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	r->type = TEXT_TYPE;
	va_start(ap, fmt);
	n = vasprintf(&r->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->body = NULL;
		return -1;
	}
	r->len = (size_t)n;
	return 0;
}

static int serve_healthz(struct ebt_metrics_server *m, struct reply *r)
{
	uint64_t now = ebt_now_mono_ns();
	uint64_t last = atomic_load(&m->last_poll_ns);

	if (ebt_metrics_healthy(now, last, atomic_load(&m->started_ns)))
		return reply_text(r, MHD_HTTP_OK, "ok\n");
	if (!last)
		return reply_text(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "starting for too long\n");
	return reply_text(r, MHD_HTTP_SERVICE_UNAVAILABLE,
			  "capture loop stalled: last poll %.1fs ago\n",
			  (double)(now - last) / 1e9);
}

static int serve_readyz(struct ebt_metrics_server *m, struct reply *r)
{
	if (atomic_load(&m->ready))
		return reply_text(r, MHD_HTTP_OK, "ready\n");
	return reply_text(r, MHD_HTTP_SERVICE_UNAVAILABLE,
			  "not ready: BPF programs not attached\n");
}

static int serve_metrics(struct ebt_metrics_server *m, struct reply *r)
{
	struct ebt_metrics_snapshot s;
	size_t need;

	pthread_mutex_lock(&m->lock);
	s = m->snap;
	pthread_mutex_unlock(&m->lock);
	s.ready = atomic_load(&m->ready) ? 1 : 0;
	need = ebt_metrics_render(&s, NULL, 0);
	r->body = malloc(need + 1);
	if (!r->body)
		return -1;
	r->len = ebt_metrics_render(&s, r->body, need + 1);
	r->status = MHD_HTTP_OK;
	r->type = PROM_TYPE;
	return 0;
}

struct route {
	const char *path;
	int (*serve)(struct ebt_metrics_server *m, struct reply *r);
};

static const struct route routes[] = {
	{ "/healthz", serve_healthz },
	{ "/readyz", serve_readyz },
	{ "/metrics", serve_metrics },
};

static int route(struct ebt_metrics_server *m, const char *url,
		 const char *method, struct reply *r)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(r, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (strcmp(url, routes[i].path) == 0)
			return routes[i].serve(m, r);
	return reply_text(r, MHD_HTTP_NOT_FOUND,
			  "not found: try /healthz, /readyz or /metrics\n");
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->len, r->body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req_ctx)
{
	struct reply r = { 0 };

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_ctx;
	if (route(cls, url, method, &r) != 0)
		return MHD_NO; /* out of memory: MHD closes the connection */
	return send_reply(c, &r);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("metrics endpoint: %s", msg);
}

/*
 * A listening socket on the first address of node:port that works; else
 * -1 with *e (errno) or *gai (getaddrinfo error) set.
 */
static int bind_first(const char *node, const char *port, int *e, int *gai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int fd = -1, rc, one = 1, zero = 0;

	rc = getaddrinfo(node, port, &hints, &res);
	if (rc) {
		*gai = rc == EAI_SYSTEM ? 0 : rc;
		*e = rc == EAI_SYSTEM ? errno : 0;
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			*e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6) /* [::] takes IPv4 too */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				   sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		*e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Parse and bind listen_on. ":port" is every address: one dual-stack
 * socket on [::], or 0.0.0.0 where the host has no IPv6.
 */
static int listen_socket(const char *listen_on, char *err, size_t errlen)
{
	char host[256], port[8];
	int fd, e = 0, gai = 0;

	if (ebt_listen_parse(listen_on, host, sizeof(host), port,
			     sizeof(port)) != 0) {
		snprintf(err, errlen, "'%s' is not host:port", listen_on);
		return -1;
	}
	fd = bind_first(*host ? host : "::", port, &e, &gai);
	if (fd < 0 && !*host && e != EADDRINUSE)
		fd = bind_first("0.0.0.0", port, &e, &gai);
	if (fd < 0 && gai)
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
			 gai_strerror(gai));
	else if (fd < 0)
		snprintf(err, errlen, "cannot listen on %s: %s", listen_on,
			 strerror(e));
	return fd;
}

int ebt_metrics_server_start(struct ebt_metrics_server *m, const char *listen,
			     char *err, size_t errlen)
{
	int fd = listen_socket(listen, err, errlen);

	if (fd < 0)
		return -1;
	pthread_mutex_init(&m->lock, NULL);
	atomic_store(&m->started_ns, ebt_now_mono_ns());
	m->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
		NULL, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
		MHD_OPTION_END);
	if (!m->mhd) {
		/* fd is not closed: MHD may have closed it already; the
		 * caller exits on this error anyway. */
		snprintf(err, errlen, "cannot start the HTTP server on %s",
			 listen);
		pthread_mutex_destroy(&m->lock);
		return -1;
	}
	return 0;
}

bool ebt_metrics_server_running(const struct ebt_metrics_server *m)
{
	return m && m->mhd;
}

void ebt_metrics_server_publish(struct ebt_metrics_server *m,
				const struct ebt_metrics_snapshot *s)
{
	if (!ebt_metrics_server_running(m))
		return;
	pthread_mutex_lock(&m->lock);
	m->snap = *s;
	pthread_mutex_unlock(&m->lock);
}

void ebt_metrics_server_alive(struct ebt_metrics_server *m, uint64_t now_ns)
{
	if (ebt_metrics_server_running(m))
		atomic_store(&m->last_poll_ns, now_ns ? now_ns : 1);
}

void ebt_metrics_server_set_ready(struct ebt_metrics_server *m, bool ready)
{
	if (ebt_metrics_server_running(m))
		atomic_store(&m->ready, ready);
}

void ebt_metrics_server_stop(struct ebt_metrics_server *m)
{
	if (!ebt_metrics_server_running(m))
		return;
	MHD_stop_daemon(m->mhd); /* joins its thread, closes the socket */
	m->mhd = NULL;
	pthread_mutex_destroy(&m->lock);
}
