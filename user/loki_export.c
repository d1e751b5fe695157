/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loki push exporter: bounded queue -> worker thread -> libcurl.
 *
 * submit() (capture thread) copies the record into one allocation and
 * appends it to a FIFO under the mutex. The worker waits until the queued
 * entries are worth batch_bytes of JSON or the oldest has waited
 * batch_timeout, takes a batch, groups and sorts it (loki.c) and POSTs it.
 * The batch in flight still counts toward queue_bytes, so a slow or dead
 * Loki makes submit() drop (and count) new lines instead of growing memory.
 *
 * Failures:
 * - 2xx: sent.
 * - 400/413: Loki refused some entries (it stores the valid entries of a
 *   request and answers 400 for the rest). The range is halved and both
 *   halves sent again, recursively, down to single entries, which are then
 *   dropped with Loki's reason logged. Loki ignores an exact re-push of an
 *   entry it already holds (same stream, timestamp, line and metadata), so
 *   re-sending the valid half does not duplicate it. At most SPLIT_BUDGET
 *   halvings per batch: a batch with many bad entries costs a bounded
 *   number of requests; ranges still failing then are dropped whole.
 * - otherwise retry_policy() decides (429/502/503/504 and transport
 *   errors, exponential backoff with jitter, Retry-After); a 500 counts as
 *   a 503, as Loki answers 500 while it starts. When it gives up
 *   on a retryable failure, the batch is still kept and retried at the last
 *   delay as long as the queue has not had to drop anything since the batch
 *   was taken: holding it costs nothing while there is room, so an outage
 *   longer than the policy's attempts loses nothing that fits in the queue.
 *   Other statuses (401, 403, 404, 501, ...) drop the batch.
 * Errors are logged at most once per kind per 10 s.
 */
#include "loki.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "otlp.h" /* retry_policy(), otlp_gzip() */

#define LOKI_DEFAULT_TIMEOUT_MS 10000
#define LOKI_DEFAULT_QUEUE_BYTES (32ull << 20)
#define LOKI_DEFAULT_BATCH_BYTES (1ull << 20)
#define LOKI_DEFAULT_BATCH_TIMEOUT_MS 1000
#define LOKI_ENTRY_JSON_OVERHEAD 40  /* ["<ts>","",] */
#define LOKI_META_JSON_OVERHEAD 80   /* {"trace_id":"..","span_id":".."} */
#define LOKI_CTR_JSON_OVERHEAD 84    /* ,"container_id":"<64 hex>" */
#define LOKI_SPLIT_BUDGET 64
#define LOKI_REASON_MAX 4096
#define LOKI_REASON_LOGGED 300
#define LOKI_RETRY_AFTER_MAX 128
#define LOKI_LOG_INTERVAL_NS (10ull * 1000000000ull)
#define NS_PER_MS 1000000ull

enum log_kind {
	LOG_TRANSPORT,
	LOG_RETRY,
	LOG_REJECTED,
	LOG_FAILED,
	LOG_ENCODE,
	LOG_QUEUE_FULL,
	LOG_KINDS,
};

enum retry_verdict {
	RETRY,
	GIVE_UP,
	STOPPED, /* shutdown deadline reached while waiting */
};

struct response {
	char body[LOKI_REASON_MAX];
	size_t len;
	char retry_after[LOKI_RETRY_AFTER_MAX];
};

struct loki_exporter {
	/* set in new(), read-only afterwards */
	uint64_t timeout_ms;
	uint64_t queue_limit;
	uint64_t batch_bytes;
	uint64_t batch_timeout_ns;
	bool gzip;

	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* entries arrived, batch full, stop */
	struct loki_entry *head, *tail;
	uint64_t pending_json;  /* estimated JSON bytes of queued entries */
	size_t pending;         /* queued entries (not in flight) */
	struct loki_stats st;   /* st.queue_bytes: with the batch in flight */
	atomic_bool stopping;
	_Atomic uint64_t deadline_ns;

	/* worker thread only */
	pthread_t thread;
	CURL *curl;
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	struct loki_batch *batch;
	uint64_t batch_queue_bytes; /* queue bytes the batch holds */
	uint64_t drops_at_take;     /* queue-full drops when it was taken */
	int64_t last_delay_ms;
	struct response resp;
	struct ebt_ratelimit logs[LOG_KINDS];
	uint64_t drops_logged;
	uint64_t rng;
};

/*
 * Singleton: libcurl's global state, initialised once per process by the
 * first exporter and never cleaned up (another libcurl user may still run).
 */
static pthread_once_t loki_curl_global_once = PTHREAD_ONCE_INIT;
static CURLcode loki_curl_global_rc;

static void loki_curl_global_init(void)
{
	loki_curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wait_until(struct loki_exporter *e, uint64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / 1000000000ull),
		.tv_nsec = (long)(deadline % 1000000000ull),
	};

	pthread_cond_timedwait(&e->wake, &e->lock, &ts);
}

/* ---- logging and stats (worker thread) ----------------------------------- */

__attribute__((format(printf, 3, 4)))
static void log_limited(struct loki_exporter *e, enum log_kind kind,
			const char *fmt, ...)
{
	uint64_t suppressed = 0;
	char msg[768];
	va_list ap;

	if (!ebt_ratelimit_ok(&e->logs[kind], LOKI_LOG_INTERVAL_NS,
			      &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		log_warn("loki: %s (%llu similar suppressed)", msg,
			 (unsigned long long)suppressed);
	else
		log_warn("loki: %s", msg);
}

static void stat_add(struct loki_exporter *e, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&e->lock);
	*field += n;
	pthread_mutex_unlock(&e->lock);
}

static uint64_t queue_drops(struct loki_exporter *e)
{
	uint64_t n;

	pthread_mutex_lock(&e->lock);
	n = e->st.entries_dropped_queue_full;
	pthread_mutex_unlock(&e->lock);
	return n;
}

static void log_drops(struct loki_exporter *e)
{
	uint64_t dropped = queue_drops(e);

	if (dropped == e->drops_logged)
		return;
	log_limited(e, LOG_QUEUE_FULL,
		    "queue full (%llu bytes): %llu log lines dropped so far",
		    (unsigned long long)e->queue_limit,
		    (unsigned long long)dropped);
	e->drops_logged = dropped;
}

static double next_jitter(struct loki_exporter *e)
{
	/* xorshift64*, per exporter */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return (double)((e->rng * 2685821657736338717ull) >> 11) /
	       (double)(1ull << 53);
}

/* ---- queue --------------------------------------------------------------- */

static uint64_t json_cost(const struct loki_entry *en)
{
	return en->len + LOKI_ENTRY_JSON_OVERHEAD +
	       (en->has_ctx ? LOKI_META_JSON_OVERHEAD : 0) +
	       (loki_entry_container_id(en) ? LOKI_CTR_JSON_OVERHEAD : 0);
}

/* Lock held. */
static void enqueue(struct loki_exporter *e, struct loki_entry *en,
		    size_t size)
{
	en->next = NULL;
	if (e->tail)
		e->tail->next = en;
	else
		e->head = en;
	e->tail = en;
	en->queued_ns = ebt_now_mono_ns();
	e->pending++;
	e->pending_json += json_cost(en);
	e->st.queue_bytes += size;
	e->st.entries_queued++;
	if (e->pending == 1 || e->pending_json >= e->batch_bytes)
		pthread_cond_signal(&e->wake);
}

bool loki_exporter_submit(struct loki_exporter *e, struct ebt_resource *res,
			  const struct ebt_log_record *r)
{
	struct loki_entry *en;
	size_t size = 0;
	bool ok;

	if (!e || !r)
		return false;
	en = loki_entry_new(res, r, &size);
	pthread_mutex_lock(&e->lock);
	ok = en && !atomic_load(&e->stopping) &&
	     e->st.queue_bytes + size <= e->queue_limit;
	if (ok)
		enqueue(e, en, size);
	else if (atomic_load(&e->stopping))
		e->st.entries_dropped_shutdown++;
	else
		e->st.entries_dropped_queue_full++;
	pthread_mutex_unlock(&e->lock);
	if (!ok)
		loki_entry_free(en);
	return ok;
}

static bool past_deadline(struct loki_exporter *e)
{
	return atomic_load(&e->stopping) &&
	       ebt_now_mono_ns() >= atomic_load(&e->deadline_ns);
}

/* Lock held. True when a batch should be sent now; false: worker exits. */
static bool wait_for_batch(struct loki_exporter *e)
{
	uint64_t due;

	for (;;) {
		if (atomic_load(&e->stopping))
			return e->pending > 0 && !past_deadline(e);
		if (e->pending_json >= e->batch_bytes)
			return true;
		if (e->pending == 0) {
			pthread_cond_wait(&e->wake, &e->lock);
			continue;
		}
		due = e->head->queued_ns + e->batch_timeout_ns;
		if (ebt_now_mono_ns() >= due)
			return true;
		wait_until(e, due);
	}
}

/* Lock held. Moves entries worth up to batch_bytes of JSON to the batch. */
static void take_batch(struct loki_exporter *e)
{
	uint64_t json = 0;

	e->batch_queue_bytes = 0;
	while (e->head && json < e->batch_bytes) {
		struct loki_entry *en = e->head;
		bool pushed = loki_batch_push(e->batch, en) == 0;

		if (!pushed && loki_batch_len(e->batch) > 0)
			break; /* out of memory: send what we have */
		e->head = en->next;
		if (!e->head)
			e->tail = NULL;
		en->next = NULL;
		e->pending--;
		e->pending_json -= json_cost(en);
		e->batch_queue_bytes += sizeof(*en) + en->len + 1;
		json += json_cost(en);
		if (!pushed) { /* not even one entry fits: lose this one */
			e->st.entries_dropped_failed++;
			loki_entry_free(en);
		}
	}
	e->drops_at_take = e->st.entries_dropped_queue_full;
}

static void release_batch(struct loki_exporter *e)
{
	loki_batch_clear(e->batch);
	pthread_mutex_lock(&e->lock);
	e->st.queue_bytes -= e->batch_queue_bytes;
	pthread_mutex_unlock(&e->lock);
	e->batch_queue_bytes = 0;
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
	return n;
}

static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln,
		       curl_off_t ult, curl_off_t uln)
{
	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return past_deadline(arg) ? 1 : 0;
}

static uint64_t request_timeout_ms(struct loki_exporter *e)
{
	uint64_t t = e->timeout_ms;

	if (atomic_load(&e->stopping)) {
		uint64_t now = ebt_now_mono_ns();
		uint64_t dl = atomic_load(&e->deadline_ns);
		uint64_t left = dl > now ? (dl - now) / NS_PER_MS : 0;

		if (left < t)
			t = left;
	}
	return t ? t : 1;
}

static void read_retry_after(struct loki_exporter *e)
{
	struct curl_header *h;

	if (curl_easy_header(e->curl, "Retry-After", 0, CURLH_HEADER, -1,
			     &h) == CURLHE_OK && h->value)
		snprintf(e->resp.retry_after, sizeof(e->resp.retry_after),
			 "%s", h->value);
}

/* One POST. Returns the HTTP status, 0 on a transport error. */
static int post(struct loki_exporter *e, const void *body, size_t len)
{
	long status = 0;
	CURLcode rc;

	e->resp.len = 0;
	e->resp.body[0] = '\0';
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

/* Loki's error text, on one line, shortened for the log. */
static const char *reason(struct loki_exporter *e)
{
	char *p = e->resp.body;

	for (size_t i = 0; i < e->resp.len; i++)
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			p[i] = ' ';
	while (e->resp.len > 0 && p[e->resp.len - 1] == ' ')
		p[--e->resp.len] = '\0';
	if (e->resp.len > LOKI_REASON_LOGGED)
		memcpy(p + LOKI_REASON_LOGGED - 3, "...", 4);
	return e->resp.len ? p : "(no reason given)";
}

/* ---- sending ------------------------------------------------------------- */

static int encode(struct loki_exporter *e, size_t lo, size_t hi,
		  uint8_t **body, size_t *len)
{
	size_t json_len = 0;
	char *json = loki_batch_json(e->batch, lo, hi, &json_len);
	int rc;

	if (!json)
		return -1;
	if (!e->gzip) {
		*body = (uint8_t *)json;
		*len = json_len;
		return 0;
	}
	rc = otlp_gzip((const uint8_t *)json, json_len, body, len);
	free(json);
	return rc;
}

/* Sleep delay_ms unless shutdown's deadline comes first (then false). */
static bool sleep_before_retry(struct loki_exporter *e, int64_t delay_ms)
{
	uint64_t until = ebt_now_mono_ns() + (uint64_t)delay_ms * NS_PER_MS;
	bool ok = true;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		if (atomic_load(&e->stopping) &&
		    until > atomic_load(&e->deadline_ns)) {
			ok = false;
			break;
		}
		if (ebt_now_mono_ns() >= until)
			break;
		wait_until(e, until);
	}
	pthread_mutex_unlock(&e->lock);
	return ok;
}

/*
 * Loki answers 500 for transient states (no ingester in its ring while it
 * starts, an ingester failing), which retry_policy() does not retry: for
 * the policy, a Loki 500 is a 503.
 */
static int policy_status(int status)
{
	return status == 500 ? 503 : status;
}

/* The delay before the next attempt, or -1 to give up (see top). */
static int64_t retry_delay(struct loki_exporter *e, int http_status,
			   int attempt)
{
	const char *ra = e->resp.retry_after[0] ? e->resp.retry_after : NULL;
	double jitter = next_jitter(e);
	int status = policy_status(http_status);
	int64_t d = retry_policy(status, attempt, ra, jitter);
	int64_t first;

	if (d >= 0) {
		e->last_delay_ms = d;
		return d;
	}
	first = retry_policy(status, 1, ra, jitter);
	if (first < 0 || queue_drops(e) != e->drops_at_take)
		return -1;
	return ra ? first : e->last_delay_ms;
}

static enum retry_verdict after_failure(struct loki_exporter *e, int status,
					int attempt, size_t n)
{
	int64_t delay = retry_delay(e, status, attempt);

	if (delay < 0) {
		if (status)
			log_limited(e, LOG_FAILED,
				    "HTTP %d for %zu log lines, dropped: %s",
				    status, n, reason(e));
		else
			log_limited(e, LOG_FAILED, "gave up on %zu log lines "
				    "after %d attempts", n, attempt);
		return GIVE_UP;
	}
	if (status)
		log_limited(e, LOG_RETRY,
			    "HTTP %d for %zu log lines, will retry: %s", status,
			    n, reason(e));
	log_drops(e);
	if (!sleep_before_retry(e, delay))
		return STOPPED;
	stat_add(e, &e->st.retries, 1);
	return RETRY;
}

static void send_range(struct loki_exporter *e, size_t lo, size_t hi,
		       int *budget);

/* 400/413 for [lo, hi): halve it, or drop it when it cannot be halved. */
static void reject_or_split(struct loki_exporter *e, int status, size_t lo,
			    size_t hi, int *budget)
{
	size_t n = hi - lo;

	if (n == 1 || *budget <= 0) {
		log_limited(e, LOG_REJECTED,
			    "HTTP %d: Loki refused %zu log line%s, dropped: %s",
			    status, n, n == 1 ? "" : "s", reason(e));
		stat_add(e, &e->st.entries_rejected, n);
		return;
	}
	(*budget)--;
	stat_add(e, &e->st.splits, 1);
	send_range(e, lo, lo + n / 2, budget);
	send_range(e, lo + n / 2, hi, budget);
}

static bool is_2xx(int status)
{
	return status >= 200 && status <= 299;
}

static void send_range(struct loki_exporter *e, size_t lo, size_t hi,
		       int *budget)
{
	size_t n = hi - lo, len;
	uint8_t *body;

	if (encode(e, lo, hi, &body, &len) != 0) {
		log_limited(e, LOG_ENCODE, "cannot encode %zu log lines "
			    "(out of memory)", n);
		stat_add(e, &e->st.entries_dropped_failed, n);
		return;
	}
	for (int attempt = 1;; attempt++) {
		enum retry_verdict v;
		int status;

		if (past_deadline(e)) {
			stat_add(e, &e->st.entries_dropped_shutdown, n);
			break;
		}
		status = post(e, body, len);
		pthread_mutex_lock(&e->lock);
		e->st.requests++;
		if (!is_2xx(status))
			e->st.request_errors++;
		pthread_mutex_unlock(&e->lock);
		if (is_2xx(status)) {
			stat_add(e, &e->st.entries_sent, n);
			break;
		}
		if (status == 400 || status == 413) {
			free(body);
			body = NULL;
			reject_or_split(e, status, lo, hi, budget);
			break;
		}
		v = after_failure(e, status, attempt, n);
		if (v == RETRY)
			continue;
		stat_add(e, v == STOPPED ? &e->st.entries_dropped_shutdown :
					   &e->st.entries_dropped_failed, n);
		break;
	}
	free(body);
}

static void send_batch(struct loki_exporter *e)
{
	size_t n = loki_batch_len(e->batch);
	int budget = LOKI_SPLIT_BUDGET;

	if (loki_batch_prepare(e->batch) != 0) {
		log_limited(e, LOG_ENCODE, "cannot label %zu log lines "
			    "(out of memory)", n);
		stat_add(e, &e->st.entries_dropped_failed, n);
		return;
	}
	send_range(e, 0, n, &budget);
}

static void *worker_main(void *arg)
{
	struct loki_exporter *e = arg;

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
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static int add_header(struct loki_exporter *e, const char *h)
{
	struct curl_slist *l = curl_slist_append(e->headers, h);

	if (!l)
		return -1;
	e->headers = l;
	return 0;
}

static int build_headers(struct loki_exporter *e,
			 const struct loki_config *cfg)
{
	char *tenant = NULL;
	int rc;

	if (add_header(e, "Content-Type: application/json") ||
	    (e->gzip && add_header(e, "Content-Encoding: gzip")) ||
	    add_header(e, "Expect:"))
		return -1;
	if (!cfg->tenant || !*cfg->tenant)
		return 0;
	if (asprintf(&tenant, "X-Scope-OrgID: %s", cfg->tenant) < 0)
		return -1;
	rc = add_header(e, tenant);
	free(tenant);
	return rc;
}

static int check_config(const struct loki_config *cfg, char *err,
			size_t errlen)
{
	bool basic = (cfg->username && *cfg->username) ||
		     (cfg->password && *cfg->password);
	bool bearer = cfg->bearer_token && *cfg->bearer_token;

	if (!cfg->url || !*cfg->url) {
		snprintf(err, errlen, "loki: no push URL");
		return -1;
	}
	if (basic && bearer) {
		snprintf(err, errlen, "loki: set either username/password "
			 "or bearer_token, not both");
		return -1;
	}
	if (basic && !(cfg->username && *cfg->username)) {
		snprintf(err, errlen, "loki: a password needs a username");
		return -1;
	}
	if (has_crlf(cfg->tenant) || has_crlf(cfg->username) ||
	    has_crlf(cfg->password) || has_crlf(cfg->bearer_token)) {
		snprintf(err, errlen, "loki: line breaks in tenant or "
			 "credentials");
		return -1;
	}
	return 0;
}

static void setup_auth(struct loki_exporter *e, const struct loki_config *c)
{
	if (c->bearer_token && *c->bearer_token) {
		curl_easy_setopt(e->curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(e->curl, CURLOPT_XOAUTH2_BEARER,
				 c->bearer_token);
	} else if (c->username && *c->username) {
		curl_easy_setopt(e->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(e->curl, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(e->curl, CURLOPT_PASSWORD,
				 c->password ? c->password : "");
	}
}

static int setup_curl(struct loki_exporter *e, const struct loki_config *cfg,
		      char *err, size_t errlen)
{
	pthread_once(&loki_curl_global_once, loki_curl_global_init);
	if (loki_curl_global_rc != CURLE_OK) {
		snprintf(err, errlen, "loki: curl_global_init: %s",
			 curl_easy_strerror(loki_curl_global_rc));
		return -1;
	}
	e->curl = curl_easy_init();
	if (!e->curl || build_headers(e, cfg) != 0) {
		snprintf(err, errlen, "loki: out of memory");
		return -1;
	}
	if (curl_easy_setopt(e->curl, CURLOPT_URL, cfg->url) != CURLE_OK ||
	    curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https") !=
		    CURLE_OK) {
		snprintf(err, errlen, "loki: bad push URL '%s'", cfg->url);
		return -1;
	}
	setup_auth(e, cfg);
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

static void apply_config(struct loki_exporter *e, const struct loki_config *c)
{
	e->timeout_ms = c->timeout_ms ? c->timeout_ms : LOKI_DEFAULT_TIMEOUT_MS;
	e->queue_limit = c->queue_bytes ? c->queue_bytes :
					  LOKI_DEFAULT_QUEUE_BYTES;
	e->batch_bytes = c->batch_bytes ? c->batch_bytes :
					  LOKI_DEFAULT_BATCH_BYTES;
	e->batch_timeout_ns = (c->batch_timeout_ms ? c->batch_timeout_ms :
				LOKI_DEFAULT_BATCH_TIMEOUT_MS) * NS_PER_MS;
	e->gzip = c->gzip;
	e->last_delay_ms = 1000;
	e->rng = ebt_now_mono_ns() ^ (uint64_t)(uintptr_t)e ^
		 0x9e3779b97f4a7c15ull;
	if (!e->rng)
		e->rng = 1;
}

static int init_sync(struct loki_exporter *e)
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

static void exporter_free(struct loki_exporter *e, bool sync)
{
	if (sync) {
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->wake);
	}
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	loki_batch_free(e->batch);
	free(e);
}

struct loki_exporter *loki_exporter_new(const struct loki_config *cfg,
					char *err, size_t errlen)
{
	struct loki_exporter *e;

	err[0] = '\0';
	if (!cfg) {
		snprintf(err, errlen, "loki: no configuration");
		return NULL;
	}
	if (check_config(cfg, err, errlen) != 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "loki: out of memory");
		return NULL;
	}
	apply_config(e, cfg);
	e->batch = loki_batch_new(cfg->cluster);
	if (!e->batch) {
		snprintf(err, errlen, "loki: out of memory");
		exporter_free(e, false);
		return NULL;
	}
	if (setup_curl(e, cfg, err, errlen) != 0) {
		exporter_free(e, false);
		return NULL;
	}
	if (init_sync(e) != 0) {
		snprintf(err, errlen, "loki: cannot initialise locks");
		exporter_free(e, false);
		return NULL;
	}
	errno = pthread_create(&e->thread, NULL, worker_main, e);
	if (errno != 0) {
		snprintf(err, errlen, "loki: cannot start worker: %s",
			 strerror(errno));
		exporter_free(e, true);
		return NULL;
	}
	return e;
}

void loki_exporter_stats(struct loki_exporter *e, struct loki_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->st;
	pthread_mutex_unlock(&e->lock);
}

/* After the worker has stopped: whatever is still queued is lost. */
static void drop_leftovers(struct loki_exporter *e)
{
	while (e->head) {
		struct loki_entry *en = e->head;

		e->head = en->next;
		e->st.queue_bytes -= sizeof(*en) + en->len + 1;
		e->st.entries_dropped_shutdown++;
		loki_entry_free(en);
	}
	e->tail = NULL;
	e->pending = 0;
	e->pending_json = 0;
}

size_t loki_stats_loss_summary(const struct loki_stats *s, char *buf,
			       size_t len)
{
	uint64_t lost = s->entries_dropped_queue_full + s->entries_rejected +
			s->entries_dropped_failed + s->entries_dropped_shutdown;
	int n;

	if (len > 0)
		buf[0] = '\0';
	if (lost == 0 || len == 0)
		return 0;
	n = snprintf(buf, len,
		     "%llu log lines not delivered (queue full %llu, rejected "
		     "%llu, failed %llu, at shutdown %llu), %llu delivered",
		     (unsigned long long)lost,
		     (unsigned long long)s->entries_dropped_queue_full,
		     (unsigned long long)s->entries_rejected,
		     (unsigned long long)s->entries_dropped_failed,
		     (unsigned long long)s->entries_dropped_shutdown,
		     (unsigned long long)s->entries_sent);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

static void log_losses(const struct loki_stats *s)
{
	char msg[256];

	if (loki_stats_loss_summary(s, msg, sizeof(msg)) > 0)
		log_warn("loki: %s", msg);
}

void loki_exporter_shutdown(struct loki_exporter *e, uint64_t deadline_ms,
			    struct loki_stats *final)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	atomic_store(&e->deadline_ns,
		     ebt_now_mono_ns() + deadline_ms * NS_PER_MS);
	atomic_store(&e->stopping, true);
	pthread_cond_broadcast(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&e->lock);
	drop_leftovers(e);
	if (final)
		*final = e->st;
	pthread_mutex_unlock(&e->lock);
	log_losses(&e->st);
	exporter_free(e, true);
}
