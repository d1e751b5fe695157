/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/HTTP trace exporter: bounded queue -> worker thread -> libcurl.
 *
 * submit() (capture thread) only takes the mutex to append a pointer to a
 * ring; it never allocates, logs or touches the network. The worker takes
 * up to batch_spans spans, encodes and compresses them and POSTs them,
 * retrying per retry_policy(). A batch in flight, including while it waits
 * to be retried, still counts toward queue_bytes, so a slow or dead backend
 * makes submit() drop (and count) new spans instead of growing memory.
 * Errors go to stderr, at most one line per kind per 10 s.
 */
#include "otlp.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_trace_service.pb-c.h"

#define OTLP_DEFAULT_TIMEOUT_MS 10000
#define OTLP_DEFAULT_QUEUE_BYTES (32ull << 20)
#define OTLP_DEFAULT_BATCH_SPANS 512
#define OTLP_DEFAULT_BATCH_TIMEOUT_MS 1000
#define OTLP_RING_MAX (1u << 22)
#define OTLP_RESPONSE_MAX (64 * 1024)
#define OTLP_RETRY_AFTER_MAX 128
#define OTLP_LOG_INTERVAL_NS (10ull * 1000000000ull)
#define NS_PER_MS 1000000ull

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
	pb_response;

enum log_kind {
	LOG_TRANSPORT,
	LOG_HTTP_RETRY,
	LOG_HTTP_REJECT,
	LOG_GAVE_UP,
	LOG_PARTIAL,
	LOG_RESPONSE,
	LOG_ENCODE,
	LOG_QUEUE_FULL,
	LOG_KINDS,
};

struct ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};

struct queued {
	struct ebt_span *span;
	size_t size;
};

struct response {
	uint8_t body[OTLP_RESPONSE_MAX];
	size_t len;
	char retry_after[OTLP_RETRY_AFTER_MAX];
};

struct otlp_exporter {
	/* set in new(), read-only afterwards */
	uint64_t timeout_ms;
	uint64_t queue_limit;
	uint64_t batch_timeout_ns;
	uint32_t batch_spans;
	bool gzip;

	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* queue became non-empty/full, stop, shutdown */
	struct queued *ring;
	size_t cap, head, count;
	uint64_t oldest_ns; /* arrival of the oldest queued span */
	struct otlp_stats st; /* st.queue_bytes includes the in-flight batch */
	atomic_bool stopping;
	_Atomic uint64_t deadline_ns;
	bool worker_exited; /* st.worker_cpu_ns is final */

	/* set in new() after the worker started */
	clockid_t worker_clock;
	bool has_worker_clock;

	/* worker thread only */
	pthread_t thread;
	CURL *curl;
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	struct otlp_encoder *enc; /* buffers reused from batch to batch */
	struct ebt_span **batch;
	size_t batch_n;
	size_t batch_bytes;
	struct response resp;
	struct ratelimit logs[LOG_KINDS];
	uint64_t drops_logged;
	uint64_t rng;
};

/*
 * Singleton: libcurl's global state, initialised once per process by the
 * first exporter and never cleaned up (curl_global_cleanup would race with
 * any other libcurl user still running).
 */
static pthread_once_t otlp_curl_global_once = PTHREAD_ONCE_INIT;
static CURLcode otlp_curl_global_rc;

static void otlp_curl_global_init(void)
{
	otlp_curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of the thread behind clk (a thread CPU-time clock), in ns. */
static uint64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wait_until(struct otlp_exporter *e, uint64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / 1000000000ull),
		.tv_nsec = (long)(deadline % 1000000000ull),
	};

	pthread_cond_timedwait(&e->wake, &e->lock, &ts);
}

/* ---- logging (worker thread only) --------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void log_limited(struct otlp_exporter *e, enum log_kind kind,
			const char *fmt, ...)
{
	struct ratelimit *rl = &e->logs[kind];
	uint64_t now = now_ns();
	va_list ap;

	if (rl->last_ns && now - rl->last_ns < OTLP_LOG_INTERVAL_NS) {
		rl->suppressed++;
		return;
	}
	fputs("ebpftrace: otlp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (rl->suppressed)
		fprintf(stderr, " (%llu similar suppressed)",
			(unsigned long long)rl->suppressed);
	fputc('\n', stderr);
	rl->last_ns = now;
	rl->suppressed = 0;
}

static void log_drops(struct otlp_exporter *e)
{
	uint64_t dropped;

	pthread_mutex_lock(&e->lock);
	dropped = e->st.spans_dropped_queue_full;
	pthread_mutex_unlock(&e->lock);
	if (dropped == e->drops_logged)
		return;
	log_limited(e, LOG_QUEUE_FULL,
		    "queue full (%llu bytes): %llu spans dropped so far",
		    (unsigned long long)e->queue_limit,
		    (unsigned long long)dropped);
	e->drops_logged = dropped;
}

/* ---- stats helpers ------------------------------------------------------- */

static void stat_add(struct otlp_exporter *e, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&e->lock);
	*field += n;
	pthread_mutex_unlock(&e->lock);
}

static double next_jitter(struct otlp_exporter *e)
{
	/* xorshift64*, per exporter: no shared state, no locking */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return (double)((e->rng * 2685821657736338717ull) >> 11) /
	       (double)(1ull << 53);
}

/* ---- queue --------------------------------------------------------------- */

bool otlp_exporter_submit(struct otlp_exporter *e, struct ebt_span *span)
{
	size_t size;
	bool ok;

	if (!span)
		return false;
	if (!e) {
		ebt_span_free(span);
		return false;
	}
	size = ebt_span_size(span);
	pthread_mutex_lock(&e->lock);
	ok = !atomic_load(&e->stopping) && e->count < e->cap &&
	     e->st.queue_bytes + size <= e->queue_limit;
	if (ok) {
		e->ring[(e->head + e->count) % e->cap] =
			(struct queued){ .span = span, .size = size };
		e->count++;
		e->st.queue_bytes += size;
		e->st.spans_queued++;
		if (e->count == 1)
			e->oldest_ns = now_ns();
		if (e->count == 1 || e->count == e->batch_spans)
			pthread_cond_signal(&e->wake);
	} else if (atomic_load(&e->stopping)) {
		e->st.spans_dropped_shutdown++;
	} else {
		e->st.spans_dropped_queue_full++;
	}
	pthread_mutex_unlock(&e->lock);
	if (!ok)
		ebt_span_free(span);
	return ok;
}

static bool past_deadline(struct otlp_exporter *e)
{
	return atomic_load(&e->stopping) &&
	       now_ns() >= atomic_load(&e->deadline_ns);
}

/* Lock held. True when a batch should be sent now; false: worker exits. */
static bool wait_for_batch(struct otlp_exporter *e)
{
	for (;;) {
		if (atomic_load(&e->stopping))
			return e->count > 0 && !past_deadline(e);
		if (e->count >= e->batch_spans)
			return true;
		if (e->count == 0) {
			pthread_cond_wait(&e->wake, &e->lock);
			continue;
		}
		if (now_ns() >= e->oldest_ns + e->batch_timeout_ns)
			return true;
		wait_until(e, e->oldest_ns + e->batch_timeout_ns);
	}
}

/* Lock held. Moves up to batch_spans spans from the ring to e->batch. */
static void take_batch(struct otlp_exporter *e)
{
	e->batch_n = 0;
	e->batch_bytes = 0;
	while (e->count > 0 && e->batch_n < e->batch_spans) {
		struct queued *q = &e->ring[e->head];

		e->batch[e->batch_n++] = q->span;
		e->batch_bytes += q->size;
		e->head = (e->head + 1) % e->cap;
		e->count--;
	}
}

static void release_batch(struct otlp_exporter *e)
{
	for (size_t i = 0; i < e->batch_n; i++)
		ebt_span_free(e->batch[i]);
	pthread_mutex_lock(&e->lock);
	e->st.queue_bytes -= e->batch_bytes;
	pthread_mutex_unlock(&e->lock);
	e->batch_n = 0;
	e->batch_bytes = 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb;
	size_t room = sizeof(r->body) - r->len;

	memcpy(r->body + r->len, data, n < room ? n : room);
	r->len += n < room ? n : room;
	return n; /* a partial_success larger than 64 KiB is truncated */
}

/* Abort a request that outlives the shutdown deadline. */
static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln,
		       curl_off_t ult, curl_off_t uln)
{
	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return past_deadline(arg) ? 1 : 0;
}

static uint64_t request_timeout_ms(struct otlp_exporter *e)
{
	uint64_t t = e->timeout_ms;

	if (atomic_load(&e->stopping)) {
		uint64_t now = now_ns(), dl = atomic_load(&e->deadline_ns);
		uint64_t left = dl > now ? (dl - now) / NS_PER_MS : 0;

		if (left < t)
			t = left;
	}
	return t ? t : 1;
}

static void read_retry_after(struct otlp_exporter *e)
{
	struct curl_header *h;

	e->resp.retry_after[0] = '\0';
	if (curl_easy_header(e->curl, "Retry-After", 0, CURLH_HEADER, -1,
			     &h) == CURLHE_OK && h->value)
		snprintf(e->resp.retry_after, sizeof(e->resp.retry_after),
			 "%s", h->value);
}

/* One POST. Returns the HTTP status, 0 on a transport error. */
static int post(struct otlp_exporter *e, const uint8_t *body, size_t len)
{
	long status = 0;
	CURLcode rc;

	e->resp.len = 0;
	e->resp.retry_after[0] = '\0';
	e->curl_err[0] = '\0';
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)len);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS,
			 (long)request_timeout_ms(e));
	rc = curl_easy_perform(e->curl);
	if (rc != CURLE_OK) {
		log_limited(e, LOG_TRANSPORT, "POST failed: %s",
			    e->curl_err[0] ? e->curl_err :
					     curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	read_retry_after(e);
	return (int)status;
}

static bool is_protobuf_response(struct otlp_exporter *e)
{
	char *ct = NULL;

	curl_easy_getinfo(e->curl, CURLINFO_CONTENT_TYPE, &ct);
	return !ct || strstr(ct, "protobuf") != NULL;
}

/* 2xx: account exported spans, minus partial_success.rejected_spans. */
static void on_accepted(struct otlp_exporter *e)
{
	uint64_t n = e->batch_n, rejected = 0;
	pb_response *msg;

	if (e->resp.len > 0 && is_protobuf_response(e)) {
		msg = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
			NULL, e->resp.len, e->resp.body);
		if (!msg) {
			log_limited(e, LOG_RESPONSE,
				    "unparseable ExportTraceServiceResponse (%zu bytes)",
				    e->resp.len);
		} else if (msg->partial_success) {
			int64_t r = msg->partial_success->rejected_spans;

			rejected = r < 0 ? 0 : (uint64_t)r > n ? n : (uint64_t)r;
			if (rejected || msg->partial_success->error_message[0])
				log_limited(e, LOG_PARTIAL,
					    "partial success: %llu of %llu spans rejected: %s",
					    (unsigned long long)rejected,
					    (unsigned long long)n,
					    msg->partial_success->error_message);
		}
		if (msg)
			opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
				msg, NULL);
	}
	pthread_mutex_lock(&e->lock);
	e->st.spans_exported += n - rejected;
	e->st.spans_rejected_partial += rejected;
	pthread_mutex_unlock(&e->lock);
}

/* ---- batch send with retries ------------------------------------------- */

/* *body points into e->enc: valid until the next batch is encoded. */
static int encode_batch(struct otlp_exporter *e, const uint8_t **body,
			size_t *len)
{
	const uint8_t *pb;
	size_t pb_len;

	if (otlp_encoder_encode(e->enc, e->batch, e->batch_n, &pb,
				&pb_len) != 0)
		return -1;
	if (!e->gzip) {
		*body = pb;
		*len = pb_len;
		return 0;
	}
	return otlp_encoder_gzip(e->enc, pb, pb_len, body, len);
}

/* Sleep delay_ms unless shutdown's deadline comes first (then false). */
static bool sleep_before_retry(struct otlp_exporter *e, int64_t delay_ms)
{
	uint64_t until = now_ns() + (uint64_t)delay_ms * NS_PER_MS;
	bool ok = true;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		if (atomic_load(&e->stopping) &&
		    until > atomic_load(&e->deadline_ns)) {
			ok = false;
			break;
		}
		if (now_ns() >= until)
			break;
		wait_until(e, until);
	}
	pthread_mutex_unlock(&e->lock);
	return ok;
}

/* After a failed attempt: true to try again, false when the batch is lost. */
static bool handle_failure(struct otlp_exporter *e, int status, int attempt)
{
	const char *ra = e->resp.retry_after[0] ? e->resp.retry_after : NULL;
	int64_t delay = retry_policy(status, attempt, ra, next_jitter(e));

	if (status)
		log_limited(e, delay < 0 ? LOG_HTTP_REJECT : LOG_HTTP_RETRY,
			    "HTTP %d for %zu spans%s", status, e->batch_n,
			    delay < 0 ? ", dropped" : ", will retry");
	if (delay < 0) {
		if (!status)
			log_limited(e, LOG_GAVE_UP,
				    "gave up on %zu spans after %d attempts",
				    e->batch_n, attempt);
		stat_add(e, &e->st.spans_dropped_rejected, e->batch_n);
		return false;
	}
	log_drops(e);
	if (!sleep_before_retry(e, delay)) {
		stat_add(e, &e->st.spans_dropped_shutdown, e->batch_n);
		return false;
	}
	stat_add(e, &e->st.retries, 1);
	return true;
}

static void send_batch(struct otlp_exporter *e)
{
	const uint8_t *body;
	size_t len;

	if (encode_batch(e, &body, &len) != 0) {
		log_limited(e, LOG_ENCODE, "cannot encode %zu spans (out of memory)",
			    e->batch_n);
		stat_add(e, &e->st.spans_dropped_rejected, e->batch_n);
		return;
	}
	for (int attempt = 1;; attempt++) {
		int status;

		if (past_deadline(e)) {
			stat_add(e, &e->st.spans_dropped_shutdown, e->batch_n);
			break;
		}
		status = post(e, body, len);
		pthread_mutex_lock(&e->lock);
		e->st.requests++;
		if (status < 200 || status > 299)
			e->st.request_errors++;
		pthread_mutex_unlock(&e->lock);
		if (status >= 200 && status <= 299) {
			on_accepted(e);
			break;
		}
		if (!handle_failure(e, status, attempt))
			break;
	}
}

static void *worker_main(void *arg)
{
	struct otlp_exporter *e = arg;

	for (;;) {
		pthread_mutex_lock(&e->lock);
		if (!wait_for_batch(e)) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		take_batch(e);
		pthread_mutex_unlock(&e->lock);
		send_batch(e);
		release_batch(e);
		log_drops(e);
	}
	/* the thread's CPU clock dies with it: leave the final figure */
	pthread_mutex_lock(&e->lock);
	e->st.worker_cpu_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	e->worker_exited = true;
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* An RFC 9110 token: a valid header field name. */
static bool is_token(const char *s, int len)
{
	if (len <= 0)
		return false;
	for (int i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* "k=v": percent-decode both, validate, append "k: v" to the list. */
static int add_header(struct otlp_exporter *e, char *kv, char *err,
		      size_t errlen)
{
	char *eq = strchr(kv, '='), *key = NULL, *val = NULL, *line = NULL;
	int klen = 0, vlen = 0, rc = -1;
	struct curl_slist *l;

	if (!eq) {
		snprintf(err, errlen, "otlp headers: '%s' is not key=value", kv);
		return -1;
	}
	*eq = '\0';
	key = curl_easy_unescape(e->curl, trim(kv), 0, &klen);
	val = curl_easy_unescape(e->curl, trim(eq + 1), 0, &vlen);
	if (!key || !val)
		goto out;
	if (!is_token(key, klen)) {
		snprintf(err, errlen, "otlp headers: bad header name '%s'", kv);
		goto out;
	}
	if (strcspn(val, "\r\n") != (size_t)vlen) {
		snprintf(err, errlen, "otlp headers: bad value for '%s'", key);
		goto out;
	}
	/* "Name;" makes curl send an empty value ("Name:" would remove it) */
	if (asprintf(&line, vlen ? "%s: %s" : "%s;", key, val) < 0) {
		line = NULL;
		goto out;
	}
	l = curl_slist_append(e->headers, line);
	if (l) {
		e->headers = l;
		rc = 0;
	}
out:
	if (rc != 0 && !err[0])
		snprintf(err, errlen, "otlp headers: out of memory");
	free(line);
	curl_free(key);
	curl_free(val);
	return rc;
}

static int add_fixed_header(struct otlp_exporter *e, const char *h)
{
	struct curl_slist *l = curl_slist_append(e->headers, h);

	if (!l)
		return -1;
	e->headers = l;
	return 0;
}

static int build_headers(struct otlp_exporter *e, const char *spec,
			 char *err, size_t errlen)
{
	char *copy, *save = NULL;
	int rc = 0;

	if (add_fixed_header(e, "Content-Type: application/x-protobuf") ||
	    (e->gzip && add_fixed_header(e, "Content-Encoding: gzip")) ||
	    add_fixed_header(e, "Expect:")) {
		snprintf(err, errlen, "otlp: out of memory");
		return -1;
	}
	if (!spec || !*spec)
		return 0;
	copy = strdup(spec);
	if (!copy) {
		snprintf(err, errlen, "otlp: out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*trim(tok))
			rc = add_header(e, trim(tok), err, errlen);
	}
	free(copy);
	return rc;
}

static int setup_curl(struct otlp_exporter *e, const struct otlp_config *cfg,
		      char *err, size_t errlen)
{
	pthread_once(&otlp_curl_global_once, otlp_curl_global_init);
	if (otlp_curl_global_rc != CURLE_OK) {
		snprintf(err, errlen, "otlp: curl_global_init: %s",
			 curl_easy_strerror(otlp_curl_global_rc));
		return -1;
	}
	e->curl = curl_easy_init();
	if (!e->curl) {
		snprintf(err, errlen, "otlp: curl_easy_init failed");
		return -1;
	}
	if (build_headers(e, cfg->headers, err, errlen) != 0)
		return -1;
	if (curl_easy_setopt(e->curl, CURLOPT_URL, cfg->url) != CURLE_OK ||
	    curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https") !=
		    CURLE_OK) {
		snprintf(err, errlen, "otlp: bad endpoint URL '%s'", cfg->url);
		return -1;
	}
	curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "ebpftrace/" EBT_VERSION);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, e->curl_err);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &e->resp);
	curl_easy_setopt(e->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e->curl, CURLOPT_XFERINFODATA, e);
	return 0;
}

static void apply_config(struct otlp_exporter *e, const struct otlp_config *c)
{
	uint64_t cap;

	e->timeout_ms = c->timeout_ms ? c->timeout_ms : OTLP_DEFAULT_TIMEOUT_MS;
	e->queue_limit = c->queue_bytes ? c->queue_bytes :
					  OTLP_DEFAULT_QUEUE_BYTES;
	e->batch_spans = c->batch_spans ? c->batch_spans :
					  OTLP_DEFAULT_BATCH_SPANS;
	e->batch_timeout_ns = (c->batch_timeout_ms ? c->batch_timeout_ms :
				OTLP_DEFAULT_BATCH_TIMEOUT_MS) * NS_PER_MS;
	e->gzip = c->gzip;
	/* every span takes at least sizeof(struct ebt_span) queue bytes */
	cap = e->queue_limit / sizeof(struct ebt_span) + 1;
	e->cap = cap < OTLP_RING_MAX ? cap : OTLP_RING_MAX;
	e->rng = now_ns() ^ (uint64_t)(uintptr_t)e ^ 0x9e3779b97f4a7c15ull;
	if (!e->rng)
		e->rng = 1;
}

static int init_sync(struct otlp_exporter *e)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&e->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&e->lock, NULL) != 0) {
		pthread_cond_destroy(&e->wake);
		return -1;
	}
	return 0;
}

static void exporter_free(struct otlp_exporter *e, bool sync)
{
	if (sync) {
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->wake);
	}
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	free(e->ring);
	free(e->batch);
	otlp_encoder_free(e->enc);
	free(e);
}

struct otlp_exporter *otlp_exporter_new(const struct otlp_config *cfg,
					char *err, size_t errlen)
{
	struct otlp_exporter *e;

	err[0] = '\0';
	if (!cfg || !cfg->url || !*cfg->url) {
		snprintf(err, errlen, "otlp: no endpoint URL");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "otlp: out of memory");
		return NULL;
	}
	apply_config(e, cfg);
	e->ring = calloc(e->cap, sizeof(*e->ring));
	e->batch = calloc(e->batch_spans, sizeof(*e->batch));
	e->enc = otlp_encoder_new();
	if (!e->ring || !e->batch || !e->enc) {
		snprintf(err, errlen, "otlp: out of memory");
		exporter_free(e, false);
		return NULL;
	}
	if (setup_curl(e, cfg, err, errlen) != 0) {
		exporter_free(e, false);
		return NULL;
	}
	if (init_sync(e) != 0) {
		snprintf(err, errlen, "otlp: cannot initialise locks");
		exporter_free(e, false);
		return NULL;
	}
	errno = pthread_create(&e->thread, NULL, worker_main, e);
	if (errno != 0) {
		snprintf(err, errlen, "otlp: cannot start worker: %s",
			 strerror(errno));
		exporter_free(e, true);
		return NULL;
	}
	pthread_setname_np(e->thread, "ebt-otlp"); /* for top -H, perf */
	e->has_worker_clock =
		pthread_getcpuclockid(e->thread, &e->worker_clock) == 0;
	return e;
}

void otlp_exporter_stats(struct otlp_exporter *e, struct otlp_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->st;
	out->queue_spans = e->count;
	/* under the lock the worker has not exited, so its clock is valid */
	if (!e->worker_exited && e->has_worker_clock)
		out->worker_cpu_ns = cpu_ns(e->worker_clock);
	pthread_mutex_unlock(&e->lock);
}

/* After the worker has stopped: whatever is still queued is lost. */
static void drop_leftovers(struct otlp_exporter *e)
{
	while (e->count > 0) {
		struct queued *q = &e->ring[e->head];

		ebt_span_free(q->span);
		e->st.queue_bytes -= q->size;
		e->st.spans_dropped_shutdown++;
		e->head = (e->head + 1) % e->cap;
		e->count--;
	}
}

void otlp_exporter_shutdown_stats(struct otlp_exporter *e,
				  uint64_t deadline_ms,
				  struct otlp_stats *final)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	atomic_store(&e->deadline_ns, now_ns() + deadline_ms * NS_PER_MS);
	atomic_store(&e->stopping, true);
	pthread_cond_broadcast(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&e->lock);
	drop_leftovers(e);
	if (final)
		*final = e->st;
	pthread_mutex_unlock(&e->lock);
	exporter_free(e, true);
}

void otlp_exporter_shutdown(struct otlp_exporter *e, uint64_t deadline_ms)
{
	otlp_exporter_shutdown_stats(e, deadline_ms, NULL);
}
