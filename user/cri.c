/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI client: unary gRPC calls to runtime.v1.RuntimeService over the
 * runtime's unix socket (libcurl: HTTP/2 with prior knowledge, the gRPC
 * length prefix from grpc.c, protobuf-c messages), and the thread that
 * keeps the container -> pod map fresh. The capture path only reads the
 * published map under a short lock.
 */
#include "cri.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cri_api.pb-c.h"
#include "grpc.h"
#include "log.h"

#define CRI_URL_BASE "http://localhost/runtime.v1.RuntimeService/"
#define STATUS_PER_REFRESH 64 /* PodSandboxStatus calls per refresh */

/* ---- one connection, unary calls ---------------------------------------- */

struct ebt_cri_conn {
	CURL *curl;
	struct curl_slist *headers;
	char *socket;
	uint64_t timeout_ms;
};

struct ebt_cri_conn *ebt_cri_conn_new(const char *socket, uint64_t timeout_ms)
{
	struct ebt_cri_conn *k = calloc(1, sizeof(*k));
	struct curl_slist *h = NULL;

	if (!k)
		return NULL;
	k->socket = strdup(socket);
	k->curl = curl_easy_init();
	k->timeout_ms = timeout_ms;
	h = curl_slist_append(h, "content-type: application/grpc");
	h = h ? curl_slist_append(h, "te: trailers") : NULL;
	h = h ? curl_slist_append(h, "user-agent: ebpftrace-cri") : NULL;
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	k->headers = h;
	if (!k->socket || !k->curl || !k->headers) {
		ebt_cri_conn_free(k);
		return NULL;
	}
	return k;
}

void ebt_cri_conn_free(struct ebt_cri_conn *k)
{
	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	curl_slist_free_all(k->headers);
	free(k->socket);
	free(k);
}

struct resp {
	uint8_t *data;
	size_t len, cap;
	bool overflow;
	struct grpc_status st;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct resp *r = ud;
	size_t n = sz * nm, cap;
	uint8_t *d;

	if (r->len + n > CRI_RESPONSE_MAX + GRPC_PREFIX_LEN) {
		r->overflow = true;
		return 0; /* aborts the transfer */
	}
	if (r->len + n > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		d = realloc(r->data, cap);
		if (!d)
			return 0;
		r->data = d;
		r->cap = cap;
	}
	memcpy(r->data + r->len, p, n);
	r->len += n;
	return n;
}

/* Headers and, after the body, the HTTP/2 trailers (grpc-status). */
static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct resp *r = ud;

	grpc_status_line(&r->st, p, sz * nm);
	return sz * nm;
}

static void setup(struct ebt_cri_conn *k, const char *url, const uint8_t *f,
		  size_t flen, struct resp *r, char *cerr)
{
	CURL *c = k->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, k->socket);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)f);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)flen);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	/* libcurl 7.88 fails the second request on a reused prior-knowledge
	 * HTTP/2 connection to grpc-go ("Error in the HTTP2 framing
	 * layer"): one connection per call (a unix socket connect, cheap at
	 * a few calls every few seconds). */
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
}

/* HTTP and gRPC status of a finished transfer; 0 when both are OK. */
static int check_status(CURL *c, const struct resp *r, const char *method,
			char *err, size_t errlen)
{
	long http = 0;
	const char *name;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200) {
		snprintf(err, errlen,
			 "%s: HTTP status %ld (not a gRPC server?)", method,
			 http);
		return -1;
	}
	if (!r->st.content_type_ok) {
		snprintf(err, errlen, "%s: not a gRPC response (content-type)",
			 method);
		return -1;
	}
	if (!r->st.have_status) {
		snprintf(err, errlen, "%s: response without grpc-status",
			 method);
		return -1;
	}
	if (r->st.code != GRPC_OK) {
		name = grpc_code_name(r->st.code);
		snprintf(err, errlen, "%s: gRPC status %s (%d)%s%s", method,
			 name ? name : "?", r->st.code,
			 r->st.message[0] ? ": " : "", r->st.message);
		return -1;
	}
	return 0;
}

/* The one message of a unary response, copied out. */
static int take_message(struct resp *r, const char *method, uint8_t **out,
			size_t *out_len, char *err, size_t errlen)
{
	const uint8_t *msg = NULL;
	size_t off = 0, n = 0;
	enum grpc_frame_rc rc = grpc_frame_next(r->data, r->len, &off,
						CRI_RESPONSE_MAX, &msg, &n);

	if (rc != GRPC_FRAME_OK) {
		snprintf(err, errlen, "%s: %s", method, grpc_frame_error(rc));
		return -1;
	}
	*out = malloc(n ? n : 1);
	if (!*out) {
		snprintf(err, errlen, "%s: out of memory", method);
		return -1;
	}
	memcpy(*out, msg, n);
	*out_len = n;
	return 0;
}

int ebt_cri_call(struct ebt_cri_conn *k, const char *method,
		 const uint8_t *body, size_t len, uint8_t **resp,
		 size_t *resp_len, char *err, size_t errlen)
{
	char url[256], cerr[CURL_ERROR_SIZE] = "";
	uint8_t *frame = malloc(GRPC_PREFIX_LEN + len);
	struct resp r = {0};
	CURLcode cc;
	int rc = -1;

	*resp = NULL;
	*resp_len = 0;
	if (!frame) {
		snprintf(err, errlen, "%s: out of memory", method);
		return -1;
	}
	grpc_frame_prefix(frame, (uint32_t)len);
	if (len)
		memcpy(frame + GRPC_PREFIX_LEN, body, len);
	grpc_status_init(&r.st);
	snprintf(url, sizeof(url), CRI_URL_BASE "%s", method);
	setup(k, url, frame, GRPC_PREFIX_LEN + len, &r, cerr);
	cc = curl_easy_perform(k->curl);
	if (r.overflow)
		snprintf(err, errlen, "%s: response larger than %u bytes",
			 method, CRI_RESPONSE_MAX);
	else if (cc != CURLE_OK)
		snprintf(err, errlen, "%s: %s", method,
			 cerr[0] ? cerr : curl_easy_strerror(cc));
	else if (check_status(k->curl, &r, method, err, errlen) == 0)
		rc = take_message(&r, method, resp, resp_len, err, errlen);
	free(r.data);
	free(frame);
	return rc;
}

/* ---- the client --------------------------------------------------------- */

struct ebt_cri {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ebt_cri_map *map;  /* published; replaced whole */
	uint64_t digest;
	atomic_uint_fast64_t version;
	atomic_bool connected;
	bool stop;
	bool wake;                /* a lookup missed */
	bool has_thread;
	bool curl_init;
	pthread_t thread;
	struct ebt_cri_config cfg;
	char *socket;
	/* refresher thread only */
	struct ebt_cri_conn *conn;
	char last_err[512];
	uint64_t last_refresh_ns;
};

static struct ebt_cri *cri_alloc(void)
{
	struct ebt_cri *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->version, 0);
	atomic_init(&c->connected, false);
	return c;
}

struct ebt_cri *ebt_cri_new_passive(void)
{
	return cri_alloc();
}

void ebt_cri_publish(struct ebt_cri *c, struct ebt_cri_map *m)
{
	uint64_t d = m ? ebt_cri_map_digest(m) : 0;
	struct ebt_cri_map *old;

	pthread_mutex_lock(&c->lock);
	old = c->map;
	c->map = m;
	if (d != c->digest || !old != !m)
		atomic_fetch_add(&c->version, 1);
	c->digest = d;
	pthread_mutex_unlock(&c->lock);
	ebt_cri_map_free(old);
}

static bool is_full_id(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') ||
		      (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == CRI_ID_MAX;
}

struct ebt_pod *ebt_cri_lookup(struct ebt_cri *c, const char *container_id,
			       char *ctr, size_t ctrsz)
{
	struct ebt_pod *p;

	if (!c || !container_id)
		return NULL;
	pthread_mutex_lock(&c->lock);
	p = ebt_cri_map_lookup(c->map, container_id, ctr, ctrsz);
	if (!p && c->has_thread && is_full_id(container_id)) {
		c->wake = true;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

uint64_t ebt_cri_version(struct ebt_cri *c)
{
	return c ? atomic_load(&c->version) : 0;
}

bool ebt_cri_connected(struct ebt_cri *c)
{
	return c && atomic_load(&c->connected);
}

/* ---- refresher thread --------------------------------------------------- */

/* Why the socket cannot be used, before trying it; 0 when it looks fine. */
static int precheck_socket(const char *path, bool *missing, char *err,
			   size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		*missing = errno == ENOENT;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "not a unix socket");
		return -1;
	}
	if (access(path, R_OK | W_OK) != 0) {
		snprintf(err, errlen, "%s (the tracer needs read-write access "
			 "to the socket: run as root)", strerror(errno));
		return -1;
	}
	return 0;
}

static int call_empty(struct ebt_cri *c, const char *method, uint8_t **out,
		      size_t *out_len, char *err, size_t errlen)
{
	return ebt_cri_call(c->conn, method, NULL, 0, out, out_len, err,
			    errlen);
}

/* Ask PodSandboxStatus for the IPs of pods seen for the first time. */
static void fetch_ips(struct ebt_cri *c, struct ebt_cri_map *m)
{
	char ids[STATUS_PER_REFRESH][CRI_ID_MAX + 1];
	size_t n = ebt_cri_map_need_status(m, ids, STATUS_PER_REFRESH);

	for (size_t i = 0; i < n; i++) {
		Runtime__V1__PodSandboxStatusRequest rq =
			RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		uint8_t body[128], *out = NULL;
		size_t len, out_len = 0;
		char err[256];

		rq.pod_sandbox_id = ids[i];
		if (runtime__v1__pod_sandbox_status_request__get_packed_size(
			    &rq) > sizeof(body))
			continue;
		len = runtime__v1__pod_sandbox_status_request__pack(&rq, body);
		if (ebt_cri_call(c->conn, "PodSandboxStatus", body, len, &out,
				 &out_len, err, sizeof(err)) == 0)
			ebt_cri_map_set_status(m, out, out_len);
		else
			log_debug("CRI: %s", err);
		free(out);
	}
}

static int refresh_once(struct ebt_cri *c, bool *missing, char *err,
			size_t errlen)
{
	uint8_t *pods = NULL, *ctrs = NULL;
	size_t plen = 0, clen = 0;
	struct ebt_cri_map *m = NULL;
	bool truncated = false;

	if (precheck_socket(c->socket, missing, err, errlen) != 0)
		return -1;
	if (!c->conn)
		c->conn = ebt_cri_conn_new(c->socket, c->cfg.timeout_ms);
	if (!c->conn) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (call_empty(c, "ListPodSandbox", &pods, &plen, err, errlen) == 0 &&
	    call_empty(c, "ListContainers", &ctrs, &clen, err, errlen) == 0)
		m = ebt_cri_map_build(pods, plen, ctrs, clen, c->map,
				      &truncated, err, errlen);
	free(pods);
	free(ctrs);
	if (!m)
		return -1;
	if (truncated)
		log_warn("CRI: more than %u pods or %u containers on this "
			 "node; the rest have no pod metadata", CRI_MAX_PODS,
			 CRI_MAX_CONTAINERS);
	fetch_ips(c, m);
	ebt_cri_publish(c, m);
	return 0;
}

static void report(struct ebt_cri *c, int rc, bool missing, const char *err)
{
	if (rc == 0) {
		if (!atomic_load(&c->connected) || c->last_err[0])
			log_info("CRI: pod metadata from %s (%zu pods, %zu "
				 "containers)", c->socket,
				 ebt_cri_map_pods(c->map),
				 ebt_cri_map_containers(c->map));
		atomic_store(&c->connected, true);
		c->last_err[0] = '\0';
		return;
	}
	if (strcmp(err, c->last_err) == 0)
		return; /* said once; said again only when it changes */
	snprintf(c->last_err, sizeof(c->last_err), "%s", err);
	ebt_log(missing && strcmp(c->socket, CRI_DEFAULT_SOCKET) == 0 ?
			EBT_LOG_INFO : EBT_LOG_WARN,
		"CRI socket %s: %s; spans and log streams get no pod metadata "
		"(k8s.*) until it answers, tracing continues. Check that "
		"containerd runs with its CRI plugin and that the socket is "
		"mounted, or set cri.socket (--cri-socket, "
		"EBPFTRACE_CRI_SOCKET; --cri-socket= turns this off). "
		"Retrying every %gs.", c->socket, err,
		(double)c->cfg.refresh_ms / 1000.0);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleeps until the period is over, a miss wants a refresh, or stop. */
static bool wait_next(struct ebt_cri *c)
{
	uint64_t period = c->cfg.refresh_ms * 1000000ULL;
	uint64_t gap = c->cfg.min_gap_ms * 1000000ULL;
	bool stop;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t now = mono_ns(), until = c->last_refresh_ns + period;
		struct timespec ts;

		if (c->stop || now >= until ||
		    (c->wake && now >= c->last_refresh_ns + gap))
			break;
		if (c->wake && c->last_refresh_ns + gap < until)
			until = c->last_refresh_ns + gap;
		ts.tv_sec = (time_t)(until / 1000000000ULL);
		ts.tv_nsec = (long)(until % 1000000000ULL);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	c->wake = false;
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return !stop;
}

static void *refresher(void *arg)
{
	struct ebt_cri *c = arg;

	do {
		char err[512] = "";
		bool missing = false;
		int rc = refresh_once(c, &missing, err, sizeof(err));

		c->last_refresh_ns = mono_ns();
		if (rc != 0) { /* a new connection next time */
			ebt_cri_conn_free(c->conn);
			c->conn = NULL;
		}
		report(c, rc, missing, err);
	} while (wait_next(c));
	return NULL;
}

struct ebt_cri *ebt_cri_start(const struct ebt_cri_config *cfg)
{
	struct ebt_cri *c = cri_alloc();

	if (!c)
		return NULL;
	c->cfg = *cfg;
	curl_global_init(CURL_GLOBAL_DEFAULT); /* thread-safe, refcounted */
	c->curl_init = true;
	c->socket = strdup(cfg->socket);
	c->has_thread = c->socket != NULL;
	if (!c->socket ||
	    pthread_create(&c->thread, NULL, refresher, c) != 0) {
		c->has_thread = false;
		ebt_cri_stop(c);
		return NULL;
	}
	return c;
}

void ebt_cri_stop(struct ebt_cri *c)
{
	if (!c)
		return;
	if (c->has_thread) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	ebt_cri_conn_free(c->conn);
	ebt_cri_map_free(c->map);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c->socket);
	if (c->curl_init)
		curl_global_cleanup();
	free(c);
}

struct ebt_cri_map *ebt_cri_fetch(const char *socket, uint64_t timeout_ms,
				  char *err, size_t errlen)
{
	struct ebt_cri_conn *k = ebt_cri_conn_new(socket, timeout_ms);
	uint8_t *pods = NULL, *ctrs = NULL;
	size_t plen = 0, clen = 0;
	struct ebt_cri_map *m = NULL;
	bool truncated = false;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ebt_cri_call(k, "ListPodSandbox", NULL, 0, &pods, &plen, err,
			 errlen) == 0 &&
	    ebt_cri_call(k, "ListContainers", NULL, 0, &ctrs, &clen, err,
			 errlen) == 0)
		m = ebt_cri_map_build(pods, plen, ctrs, clen, NULL, &truncated,
				      err, errlen);
	free(pods);
	free(ctrs);
	ebt_cri_conn_free(k);
	return m;
}
