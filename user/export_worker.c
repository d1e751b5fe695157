/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export worker: bounded queue -> worker thread -> libcurl (see the header).
 *
 * submit() (capture thread) only takes the mutex to append a pointer to a
 * ring; it never logs or touches the network. The ring doubles when full,
 * up to what queue_bytes of the smallest items need, so it allocates a few
 * times in the life of the process, then never. Each slot remembers when
 * its item arrived: a partial batch is sent once its oldest item waited
 * batch_timeout.
 */
#include "export_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "otlp.h" /* EBT_VERSION, retry_policy() */

#define EW_DEFAULT_TIMEOUT_MS 10000
#define EW_DEFAULT_QUEUE_BYTES (32ull << 20)
#define EW_DEFAULT_BATCH_TIMEOUT_MS 1000
#define EW_RING_MAX (1u << 22)
#define EW_RING_FIRST 1024 /* slots, a power of two */
#define EW_RESPONSE_MAX (64 * 1024)
#define EW_RETRY_AFTER_MAX 128
#define EW_REASON_LOGGED 300
#define EW_LOG_INTERVAL_NS (10ull * 1000000000ull)
#define NS_PER_MS 1000000ull

struct slot {
	void *item;
	size_t size;
	uint64_t cost;
	uint64_t queued_ns; /* CLOCK_MONOTONIC_COARSE */
};

struct response {
	char body[EW_RESPONSE_MAX]; /* cut, NUL-terminated */
	size_t len;
	char retry_after[EW_RETRY_AFTER_MAX];
	int status;
};

struct ew_worker {
	/* set in new(), read-only afterwards */
	struct ew_config cfg; /* url not used after new() */
	const struct ew_ops *ops;
	void *ctx;
	uint64_t batch_timeout_ns;
	size_t item_max; /* what queue_bytes of the smallest items make */

	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* queue non-empty or batch due, stop */
	struct slot *ring;
	size_t cap, head, count; /* cap: a power of two */
	uint64_t pending_cost; /* of the queued items, not the batch */
	struct ew_stats st;    /* st.queue_bytes: with the batch in flight */
	atomic_bool stopping;
	_Atomic uint64_t deadline_ns;
	bool worker_exited; /* st.worker_cpu_ns is final */

	/* set in start() */
	pthread_t thread;
	bool started;
	clockid_t worker_clock;
	bool has_worker_clock;

	/* worker thread only */
	CURL *curl;
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	size_t batch_items;
	uint64_t batch_bytes;   /* queue bytes the batch holds */
	uint64_t drops_at_take; /* queue-full drops when it was taken */
	struct response resp;
	struct ebt_ratelimit logs[EW_LOG_KINDS];
	uint64_t drops_logged;
	uint64_t rng;
};

/*
 * Singleton: libcurl's global state, initialised once per process by the
 * first worker and never cleaned up (another libcurl user may still run).
 */
static pthread_once_t ew_curl_once = PTHREAD_ONCE_INIT;
static CURLcode ew_curl_rc;

static void ew_curl_global_init(void)
{
	ew_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* CPU time of the thread behind clk (a thread CPU-time clock), in ns. */
static uint64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Arrival time of an item, on the capture path: the coarse clock costs a
 * fraction of CLOCK_MONOTONIC and lags it by at most a tick (a few ms), so
 * a partial batch may leave that much early.
 */
static uint64_t arrival_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Lock held: wait for a signal or the monotonic time deadline. */
static void wait_until(struct ew_worker *w, uint64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / 1000000000ull),
		.tv_nsec = (long)(deadline % 1000000000ull),
	};

	pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

static bool past_deadline(struct ew_worker *w)
{
	return atomic_load(&w->stopping) &&
	       ebt_now_mono_ns() >= atomic_load(&w->deadline_ns);
}

/* ---- logging and counters ------------------------------------------------ */

void ew_log(struct ew_worker *w, enum ew_log_kind kind, const char *fmt, ...)
{
	uint64_t suppressed = 0;
	char msg[768];
	va_list ap;

	if (!ebt_ratelimit_ok(&w->logs[kind], EW_LOG_INTERVAL_NS, &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		log_warn("%s: %s (%llu similar suppressed)", w->ops->name, msg,
			 (unsigned long long)suppressed);
	else
		log_warn("%s: %s", w->ops->name, msg);
}

static void stat_add(struct ew_worker *w, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&w->lock);
	*field += n;
	pthread_mutex_unlock(&w->lock);
}

void ew_account(struct ew_worker *w, enum ew_outcome out, uint64_t n)
{
	uint64_t *field[] = {
		[EW_OUT_SENT] = &w->st.sent,
		[EW_OUT_REJECTED] = &w->st.rejected,
		[EW_OUT_FAILED] = &w->st.failed,
		[EW_OUT_SHUTDOWN] = &w->st.dropped_shutdown,
	};

	stat_add(w, field[out], n);
}

static uint64_t queue_drops(struct ew_worker *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->st.dropped_queue_full;
	pthread_mutex_unlock(&w->lock);
	return n;
}

bool ew_dropped_since_take(struct ew_worker *w)
{
	return queue_drops(w) != w->drops_at_take;
}

static void log_drops(struct ew_worker *w)
{
	uint64_t dropped = queue_drops(w);

	if (dropped == w->drops_logged)
		return;
	ew_log(w, EW_LOG_QUEUE_FULL, "queue full (%llu bytes): %llu %s "
	       "dropped so far", (unsigned long long)w->cfg.queue_bytes,
	       (unsigned long long)dropped, w->ops->unit);
	w->drops_logged = dropped;
}

static double next_jitter(struct ew_worker *w)
{
	/* xorshift64*, per worker: no shared state, no locking */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (double)((w->rng * 2685821657736338717ull) >> 11) /
	       (double)(1ull << 53);
}

/* ---- queue --------------------------------------------------------------- */

/* Lock held. Room for one more item, up to item_max: the ring doubles. */
static bool ring_room(struct ew_worker *w)
{
	size_t first = w->cap - w->head;
	struct slot *r;

	if (w->count >= w->item_max)
		return false;
	if (w->count < w->cap)
		return true;
	r = malloc(2 * w->cap * sizeof(*r));
	if (!r)
		return false;
	/* full: the items run from head to the end, then from 0 to head */
	memcpy(r, w->ring + w->head, first * sizeof(*r));
	memcpy(r + first, w->ring, w->head * sizeof(*r));
	free(w->ring);
	w->ring = r;
	w->cap *= 2;
	w->head = 0;
	return true;
}

/* Lock held, room checked. */
static void enqueue(struct ew_worker *w, void *item, size_t size,
		    uint64_t cost)
{
	bool was_due = w->pending_cost >= w->cfg.batch_cost;

	w->ring[(w->head + w->count) & (w->cap - 1)] = (struct slot){
		.item = item, .size = size, .cost = cost,
		.queued_ns = arrival_ns(),
	};
	w->count++;
	w->pending_cost += cost;
	w->st.queue_bytes += size;
	w->st.queued++;
	if (w->count == 1 || (!was_due && w->pending_cost >= w->cfg.batch_cost))
		pthread_cond_signal(&w->wake);
}

bool ew_submit(struct ew_worker *w, void *item, size_t size, uint64_t cost)
{
	bool ok, stopping;

	pthread_mutex_lock(&w->lock);
	stopping = atomic_load(&w->stopping);
	ok = item && !stopping &&
	     w->st.queue_bytes + size <= w->cfg.queue_bytes && ring_room(w);
	if (ok)
		enqueue(w, item, size, cost);
	else if (stopping)
		w->st.dropped_shutdown++;
	else
		w->st.dropped_queue_full++;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Lock held. True when a batch should be sent now; false: worker exits. */
static bool wait_for_batch(struct ew_worker *w)
{
	uint64_t due;

	for (;;) {
		if (atomic_load(&w->stopping))
			return w->count > 0 && !past_deadline(w);
		if (w->pending_cost >= w->cfg.batch_cost)
			return true;
		if (w->count == 0) {
			pthread_cond_wait(&w->wake, &w->lock);
			continue;
		}
		due = w->ring[w->head].queued_ns + w->batch_timeout_ns;
		if (ebt_now_mono_ns() >= due)
			return true;
		wait_until(w, due);
	}
}

/* Lock held. Hands items worth up to batch_cost to ops->take. */
static void take_batch(struct ew_worker *w)
{
	uint64_t cost = 0;

	w->batch_items = 0;
	w->batch_bytes = 0;
	while (w->count > 0 && cost < w->cfg.batch_cost) {
		struct slot s = w->ring[w->head];
		bool taken = w->ops->take(w->ctx, s.item) == 0;

		if (!taken && w->batch_items > 0)
			break; /* out of memory: send what we have */
		w->head = (w->head + 1) & (w->cap - 1);
		w->count--;
		w->pending_cost -= s.cost;
		w->batch_bytes += s.size;
		cost += s.cost;
		if (taken) {
			w->batch_items++;
		} else { /* not even one item fits: lose this one */
			w->st.failed++;
			w->ops->free_item(s.item);
		}
	}
	w->drops_at_take = w->st.dropped_queue_full;
}

/* After ops->send: the batch's bytes leave the queue. */
static void release_batch(struct ew_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->st.queue_bytes -= w->batch_bytes;
	pthread_mutex_unlock(&w->lock);
	w->batch_items = 0;
	w->batch_bytes = 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb;
	size_t room = sizeof(r->body) - 1 - r->len;
	size_t take = n < room ? n : room;

	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return n; /* a larger body is cut */
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

static uint64_t request_timeout_ms(struct ew_worker *w)
{
	uint64_t t = w->cfg.timeout_ms;

	if (atomic_load(&w->stopping)) {
		uint64_t now = ebt_now_mono_ns();
		uint64_t dl = atomic_load(&w->deadline_ns);
		uint64_t left = dl > now ? (dl - now) / NS_PER_MS : 0;

		if (left < t)
			t = left;
	}
	return t ? t : 1;
}

static void read_retry_after(struct ew_worker *w)
{
	struct curl_header *h;

	if (curl_easy_header(w->curl, "Retry-After", 0, CURLH_HEADER, -1,
			     &h) == CURLHE_OK && h->value)
		snprintf(w->resp.retry_after, sizeof(w->resp.retry_after),
			 "%s", h->value);
}

static bool is_2xx(int status)
{
	return status >= 200 && status <= 299;
}

/* One POST, counted. Returns the HTTP status, 0 on a transport error. */
static int post(struct ew_worker *w, const void *body, size_t len)
{
	long status = 0;
	CURLcode rc;

	w->resp.len = 0;
	w->resp.body[0] = '\0';
	w->resp.retry_after[0] = '\0';
	w->curl_err[0] = '\0';
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)len);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS,
			 (long)request_timeout_ms(w));
	rc = curl_easy_perform(w->curl);
	if (rc != CURLE_OK) {
		ew_log(w, EW_LOG_TRANSPORT, "POST failed: %s",
		       w->curl_err[0] ? w->curl_err : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
		read_retry_after(w);
	}
	w->resp.status = (int)status;
	pthread_mutex_lock(&w->lock);
	w->st.requests++;
	if (!is_2xx(w->resp.status))
		w->st.request_errors++;
	pthread_mutex_unlock(&w->lock);
	return w->resp.status;
}

int ew_status(const struct ew_worker *w)
{
	return w->resp.status;
}

const void *ew_response(struct ew_worker *w, size_t *len, const char **ctype)
{
	char *ct = NULL;

	curl_easy_getinfo(w->curl, CURLINFO_CONTENT_TYPE, &ct);
	*ctype = ct;
	*len = w->resp.len;
	return w->resp.body;
}

const char *ew_reason(struct ew_worker *w)
{
	char *p = w->resp.body;

	for (size_t i = 0; i < w->resp.len; i++)
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			p[i] = ' ';
	while (w->resp.len > 0 && p[w->resp.len - 1] == ' ')
		p[--w->resp.len] = '\0';
	if (w->resp.len > EW_REASON_LOGGED)
		memcpy(p + EW_REASON_LOGGED - 3, "...", 4);
	return w->resp.len ? p : "(no reason given)";
}

/* ---- retries ------------------------------------------------------------- */

/* Sleep delay_ms unless shutdown's deadline comes first (then false). */
static bool sleep_before_retry(struct ew_worker *w, int64_t delay_ms)
{
	uint64_t until = ebt_now_mono_ns() + (uint64_t)delay_ms * NS_PER_MS;
	bool ok = true;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		if (atomic_load(&w->stopping) &&
		    until > atomic_load(&w->deadline_ns)) {
			ok = false;
			break;
		}
		if (ebt_now_mono_ns() >= until)
			break;
		wait_until(w, until);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void log_failure(struct ew_worker *w, int status, int attempt,
			size_t n, bool retry)
{
	bool text = w->ops->text_reason;

	if (status)
		ew_log(w, retry ? EW_LOG_RETRY : EW_LOG_FAILED,
		       "HTTP %d for %zu %s, %s%s%s", status, n, w->ops->unit,
		       retry ? "will retry" : "dropped", text ? ": " : "",
		       text ? ew_reason(w) : "");
	else if (!retry)
		ew_log(w, EW_LOG_FAILED, "gave up on %zu %s after %d attempts",
		       n, w->ops->unit, attempt);
}

/* After a failed attempt: true to try again; false: lost, accounted. */
static bool retry_after_failure(struct ew_worker *w, int status,
				int attempt, size_t n)
{
	const char *ra = w->resp.retry_after[0] ? w->resp.retry_after : NULL;
	double jitter = next_jitter(w);
	int64_t delay = w->ops->retry_delay ?
		w->ops->retry_delay(w->ctx, status, attempt, ra, jitter) :
		retry_policy(status, attempt, ra, jitter);

	log_failure(w, status, attempt, n, delay >= 0);
	if (delay < 0) {
		ew_account(w, EW_OUT_FAILED, n);
		return false;
	}
	log_drops(w);
	if (!sleep_before_retry(w, delay)) {
		ew_account(w, EW_OUT_SHUTDOWN, n);
		return false;
	}
	stat_add(w, &w->st.retries, 1);
	return true;
}

enum ew_result ew_send(struct ew_worker *w, const void *body, size_t len,
		       size_t n)
{
	for (int attempt = 1;; attempt++) {
		int status;

		if (past_deadline(w)) {
			ew_account(w, EW_OUT_SHUTDOWN, n);
			return EW_LOST;
		}
		status = post(w, body, len);
		if (is_2xx(status))
			return EW_SENT;
		if (w->ops->refused && w->ops->refused(status))
			return EW_REFUSED;
		if (!retry_after_failure(w, status, attempt, n))
			return EW_LOST;
	}
}

/* ---- worker thread ------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct ew_worker *w = arg;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		if (!wait_for_batch(w)) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		take_batch(w);
		pthread_mutex_unlock(&w->lock);
		if (w->batch_items > 0)
			w->ops->send(w->ctx);
		release_batch(w);
		log_drops(w);
	}
	/* the thread's CPU clock dies with it: leave the final figure */
	pthread_mutex_lock(&w->lock);
	w->st.worker_cpu_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	w->worker_exited = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

int ew_add_header(struct ew_worker *w, const char *header)
{
	struct curl_slist *l = curl_slist_append(w->headers, header);

	if (!l)
		return -1;
	w->headers = l;
	return 0;
}

static int add_common_headers(struct ew_worker *w)
{
	char ct[128];

	snprintf(ct, sizeof(ct), "Content-Type: %s", w->ops->content_type);
	if (ew_add_header(w, ct) || (w->cfg.gzip &&
	    ew_add_header(w, "Content-Encoding: gzip")) ||
	    ew_add_header(w, "Expect:"))
		return -1;
	return 0;
}

static void set_common_options(struct ew_worker *w)
{
	curl_easy_setopt(w->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "ebpftrace/" EBT_VERSION);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->curl_err);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &w->resp);
	curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
}

/* The CA bundle and client certificate of an https endpoint, if set. */
static int set_tls_files(struct ew_worker *w, char *err, size_t errlen)
{
	const struct {
		CURLoption opt;
		const char *path, *what;
	} f[] = {
		{ CURLOPT_CAINFO, w->cfg.ca_file, "CA bundle" },
		{ CURLOPT_SSLCERT, w->cfg.cert_file, "client certificate" },
		{ CURLOPT_SSLKEY, w->cfg.key_file, "client key" },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!f[i].path || !*f[i].path ||
		    curl_easy_setopt(w->curl, f[i].opt, f[i].path) == CURLE_OK)
			continue;
		snprintf(err, errlen, "%s: libcurl takes no %s file here "
			 "(built without TLS?)", w->ops->name, f[i].what);
		return -1;
	}
	return 0;
}

static int setup_curl(struct ew_worker *w, char *err, size_t errlen)
{
	const char *name = w->ops->name, *url = w->cfg.url;

	pthread_once(&ew_curl_once, ew_curl_global_init);
	if (ew_curl_rc != CURLE_OK) {
		snprintf(err, errlen, "%s: curl_global_init: %s", name,
			 curl_easy_strerror(ew_curl_rc));
		return -1;
	}
	w->curl = curl_easy_init();
	if (!w->curl || add_common_headers(w) != 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (curl_easy_setopt(w->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https") !=
		    CURLE_OK) {
		snprintf(err, errlen, "%s: bad URL '%s'", name, url);
		return -1;
	}
	set_common_options(w);
	return set_tls_files(w, err, errlen);
}

static int init_sync(struct ew_worker *w)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		pthread_cond_destroy(&w->wake);
		return -1;
	}
	return 0;
}

static void apply_config(struct ew_worker *w, const struct ew_config *c,
			 size_t min_item_bytes)
{
	uint64_t max;

	w->cfg = *c;
	if (!c->timeout_ms)
		w->cfg.timeout_ms = EW_DEFAULT_TIMEOUT_MS;
	if (!c->queue_bytes)
		w->cfg.queue_bytes = EW_DEFAULT_QUEUE_BYTES;
	if (!c->batch_timeout_ms)
		w->cfg.batch_timeout_ms = EW_DEFAULT_BATCH_TIMEOUT_MS;
	w->batch_timeout_ns = w->cfg.batch_timeout_ms * NS_PER_MS;
	max = w->cfg.queue_bytes / (min_item_bytes ? min_item_bytes : 1) + 1;
	w->item_max = max < EW_RING_MAX ? (size_t)max : EW_RING_MAX;
	w->cap = EW_RING_FIRST;
	w->rng = ebt_now_mono_ns() ^ (uint64_t)(uintptr_t)w ^
		 0x9e3779b97f4a7c15ull;
	if (!w->rng)
		w->rng = 1;
}

struct ew_worker *ew_new(const struct ew_config *cfg,
			 const struct ew_ops *ops, void *ctx, char *err,
			 size_t errlen)
{
	struct ew_worker *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "%s: out of memory", ops->name);
		return NULL;
	}
	apply_config(w, cfg, ops->min_item_bytes);
	w->ops = ops;
	w->ctx = ctx;
	w->ring = calloc(w->cap, sizeof(*w->ring));
	if (!w->ring || init_sync(w) != 0) {
		snprintf(err, errlen, "%s: out of memory", ops->name);
		free(w->ring);
		free(w);
		return NULL;
	}
	if (setup_curl(w, err, errlen) != 0) {
		ew_free(w);
		return NULL;
	}
	return w;
}

CURL *ew_curl(struct ew_worker *w)
{
	return w->curl;
}

int ew_start(struct ew_worker *w, char *err, size_t errlen)
{
	char name[16];

	errno = pthread_create(&w->thread, NULL, worker_main, w);
	if (errno != 0) {
		snprintf(err, errlen, "%s: cannot start worker: %s",
			 w->ops->name, strerror(errno));
		return -1;
	}
	w->started = true;
	snprintf(name, sizeof(name), "ebt-%s", w->ops->name);
	pthread_setname_np(w->thread, name); /* for top -H, perf */
	w->has_worker_clock =
		pthread_getcpuclockid(w->thread, &w->worker_clock) == 0;
	return 0;
}

void ew_free(struct ew_worker *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->headers);
	free(w->ring);
	free(w);
}

/* ---- stats and shutdown -------------------------------------------------- */

void ew_stats(struct ew_worker *w, void *out)
{
	struct ew_stats st;

	pthread_mutex_lock(&w->lock);
	st = w->st;
	st.queue_items = w->count;
	/* under the lock the worker has not exited, so its clock is valid */
	if (!w->worker_exited && w->has_worker_clock)
		st.worker_cpu_ns = cpu_ns(w->worker_clock);
	pthread_mutex_unlock(&w->lock);
	w->ops->report(w->ctx, &st, out);
}

/* After the worker has stopped: whatever is still queued is lost. */
static void drop_leftovers(struct ew_worker *w)
{
	while (w->count > 0) {
		struct slot *s = &w->ring[w->head];

		w->ops->free_item(s->item);
		w->st.queue_bytes -= s->size;
		w->st.dropped_shutdown++;
		w->head = (w->head + 1) & (w->cap - 1);
		w->count--;
	}
	w->pending_cost = 0;
}

size_t ew_loss_summary(const struct ew_stats *s, const char *unit, char *buf,
		       size_t len)
{
	uint64_t lost = s->dropped_queue_full + s->rejected + s->failed +
			s->dropped_shutdown;
	int n;

	if (len > 0)
		buf[0] = '\0';
	if (lost == 0 || len == 0)
		return 0;
	n = snprintf(buf, len,
		     "%llu %s not delivered (queue full %llu, rejected %llu, "
		     "failed %llu, at shutdown %llu), %llu delivered",
		     (unsigned long long)lost, unit,
		     (unsigned long long)s->dropped_queue_full,
		     (unsigned long long)s->rejected,
		     (unsigned long long)s->failed,
		     (unsigned long long)s->dropped_shutdown,
		     (unsigned long long)s->sent);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

void ew_shutdown(struct ew_worker *w, uint64_t deadline_ms, void *final)
{
	struct ew_stats st;
	char msg[256];

	pthread_mutex_lock(&w->lock);
	atomic_store(&w->deadline_ns,
		     ebt_now_mono_ns() + deadline_ms * NS_PER_MS);
	atomic_store(&w->stopping, true);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);

	pthread_mutex_lock(&w->lock);
	drop_leftovers(w);
	st = w->st;
	pthread_mutex_unlock(&w->lock);
	if (ew_loss_summary(&st, w->ops->unit, msg, sizeof(msg)) > 0)
		log_warn("%s: %s", w->ops->name, msg);
	if (final)
		w->ops->report(w->ctx, &st, final);
	ew_free(w);
}
