/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loki push exporter on the shared export worker (export_worker.c):
 * bounded queue -> worker thread -> libcurl.
 *
 * submit() (capture thread) copies the record into one allocation and
 * hands it to the worker's queue; each entry costs its estimated JSON size.
 * The worker waits until the queued entries are worth batch_bytes of JSON
 * or the oldest has waited batch_timeout, takes a batch, groups and sorts
 * it (loki.c) and POSTs it.
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

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_worker.h"
#include "otlp.h" /* retry_policy(), otlp_gzip() */

#define LOKI_DEFAULT_BATCH_BYTES (1ull << 20)
#define LOKI_ENTRY_JSON_OVERHEAD 40  /* ["<ts>","",] */
#define LOKI_META_JSON_OVERHEAD 80   /* {"trace_id":"..","span_id":".."} */
#define LOKI_CTR_JSON_OVERHEAD 84    /* ,"container_id":"<64 hex>" */
#define LOKI_SPLIT_BUDGET 64

struct loki_exporter {
	struct ew_worker *w;
	bool gzip;
	_Atomic uint64_t splits; /* batches halved after a 400/413 */

	/* worker thread only (take: under the worker's lock) */
	struct loki_batch *batch;
	int64_t last_delay_ms;
};

/* ---- queue --------------------------------------------------------------- */

static uint64_t json_cost(const struct loki_entry *en)
{
	return en->len + LOKI_ENTRY_JSON_OVERHEAD +
	       (en->has_ctx ? LOKI_META_JSON_OVERHEAD : 0) +
	       (loki_entry_container_id(en) ? LOKI_CTR_JSON_OVERHEAD : 0);
}

/* Queue en (NULL: out of memory) or count it dropped and free it. */
static bool submit_entry(struct loki_exporter *e, struct loki_entry *en,
			 size_t size)
{
	bool ok = ew_submit(e->w, en, size, en ? json_cost(en) : 0);

	if (!ok)
		loki_entry_free(en);
	return ok;
}

bool loki_exporter_submit(struct loki_exporter *e, struct ebt_resource *res,
			  const struct ebt_log_record *r)
{
	struct loki_entry *en;
	size_t size = 0;

	if (!e || !r)
		return false;
	en = loki_entry_new(res, r, &size);
	return submit_entry(e, en, size);
}

bool loki_exporter_submit_labeled(struct loki_exporter *e,
				  struct loki_labels *labels, uint64_t ts_ns,
				  const char *line, size_t len)
{
	struct loki_entry *en;
	size_t size = 0;

	if (!e) {
		if (labels)
			loki_labels_free(labels);
		free(labels);
		return false;
	}
	/* size is set by the call: not in one expression with it */
	en = loki_entry_new_labeled(labels, ts_ns, line, len, &size);
	return submit_entry(e, en, size);
}

/* ---- worker callbacks ---------------------------------------------------- */

static int take_entry(void *ctx, void *item)
{
	struct loki_exporter *e = ctx;

	return loki_batch_push(e->batch, item);
}

static void free_entry(void *item)
{
	loki_entry_free(item);
}

static void report_stats(void *ctx, const struct ew_stats *s, void *stats)
{
	struct loki_exporter *e = ctx;
	struct loki_stats *out = stats;

	*out = (struct loki_stats){
		.entries_queued = s->queued,
		.entries_sent = s->sent,
		.entries_dropped_queue_full = s->dropped_queue_full,
		.entries_rejected = s->rejected,
		.entries_dropped_failed = s->failed,
		.entries_dropped_shutdown = s->dropped_shutdown,
		.requests = s->requests,
		.request_errors = s->request_errors,
		.retries = s->retries,
		.splits = atomic_load(&e->splits),
		.queue_bytes = s->queue_bytes,
	};
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
static int64_t loki_retry_delay(void *ctx, int http_status, int attempt,
				const char *ra, double jitter)
{
	struct loki_exporter *e = ctx;
	int status = policy_status(http_status);
	int64_t d = retry_policy(status, attempt, ra, jitter);
	int64_t first;

	if (d >= 0) {
		e->last_delay_ms = d;
		return d;
	}
	first = retry_policy(status, 1, ra, jitter);
	if (first < 0 || ew_dropped_since_take(e->w))
		return -1;
	return ra ? first : e->last_delay_ms;
}

/* 400 and 413 refuse some entries: split the range (see top). */
static bool loki_refused(int status)
{
	return status == 400 || status == 413;
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

static void send_range(struct loki_exporter *e, size_t lo, size_t hi,
		       int *budget);

/* 400/413 for [lo, hi): halve it, or drop it when it cannot be halved. */
static void reject_or_split(struct loki_exporter *e, size_t lo, size_t hi,
			    int *budget)
{
	size_t n = hi - lo;

	if (n == 1 || *budget <= 0) {
		ew_log(e->w, EW_LOG_REJECTED,
		       "HTTP %d: Loki refused %zu log line%s, dropped: %s",
		       ew_status(e->w), n, n == 1 ? "" : "s",
		       ew_reason(e->w));
		ew_account(e->w, EW_OUT_REJECTED, n);
		return;
	}
	(*budget)--;
	atomic_fetch_add(&e->splits, 1);
	send_range(e, lo, lo + n / 2, budget);
	send_range(e, lo + n / 2, hi, budget);
}

static void send_range(struct loki_exporter *e, size_t lo, size_t hi,
		       int *budget)
{
	size_t n = hi - lo, len;
	enum ew_result r;
	uint8_t *body;

	if (encode(e, lo, hi, &body, &len) != 0) {
		ew_log(e->w, EW_LOG_ENCODE, "cannot encode %zu log lines "
		       "(out of memory)", n);
		ew_account(e->w, EW_OUT_FAILED, n);
		return;
	}
	r = ew_send(e->w, body, len, n);
	free(body);
	if (r == EW_SENT)
		ew_account(e->w, EW_OUT_SENT, n);
	else if (r == EW_REFUSED)
		reject_or_split(e, lo, hi, budget);
}

static void send_batch(struct loki_exporter *e)
{
	size_t n = loki_batch_len(e->batch);
	int budget = LOKI_SPLIT_BUDGET;

	if (loki_batch_prepare(e->batch) != 0) {
		ew_log(e->w, EW_LOG_ENCODE, "cannot label %zu log lines "
		       "(out of memory)", n);
		ew_account(e->w, EW_OUT_FAILED, n);
		return;
	}
	send_range(e, 0, n, &budget);
}

static void send_entries(void *ctx)
{
	struct loki_exporter *e = ctx;

	send_batch(e);
	loki_batch_clear(e->batch);
}

static const struct ew_ops loki_ops = {
	.name = "loki",
	.unit = "log lines",
	.content_type = "application/json",
	.text_reason = true,
	.min_item_bytes = sizeof(struct loki_entry) + 1,
	.take = take_entry,
	.send = send_entries,
	.free_item = free_entry,
	.retry_delay = loki_retry_delay,
	.refused = loki_refused,
	.report = report_stats,
};

/* ---- setup --------------------------------------------------------------- */

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
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

static int add_tenant(struct loki_exporter *e, const char *tenant,
		      char *err, size_t errlen)
{
	char *h = NULL;
	int rc;

	if (!tenant || !*tenant)
		return 0;
	if (asprintf(&h, "X-Scope-OrgID: %s", tenant) < 0)
		h = NULL;
	rc = h ? ew_add_header(e->w, h) : -1;
	free(h);
	if (rc != 0)
		snprintf(err, errlen, "loki: out of memory");
	return rc;
}

static void setup_auth(struct loki_exporter *e, const struct loki_config *c)
{
	CURL *curl = ew_curl(e->w);

	if (c->bearer_token && *c->bearer_token) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER,
				 c->bearer_token);
	} else if (c->username && *c->username) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD,
				 c->password ? c->password : "");
	}
}

static void apply_config(struct loki_exporter *e, const struct loki_config *c,
			 struct ew_config *wc)
{
	e->gzip = c->gzip;
	e->last_delay_ms = 1000;
	*wc = (struct ew_config){
		.url = c->url,
		.timeout_ms = c->timeout_ms,
		.gzip = c->gzip,
		.queue_bytes = c->queue_bytes,
		.batch_cost = c->batch_bytes ? c->batch_bytes :
					       LOKI_DEFAULT_BATCH_BYTES,
		.batch_timeout_ms = c->batch_timeout_ms,
		.ca_file = c->ca_file,
		.cert_file = c->cert_file,
		.key_file = c->key_file,
	};
}

struct loki_exporter *loki_exporter_new(const struct loki_config *cfg,
					char *err, size_t errlen)
{
	struct loki_exporter *e;
	struct ew_config wc;

	err[0] = '\0';
	if (!cfg) {
		snprintf(err, errlen, "loki: no configuration");
		return NULL;
	}
	if (check_config(cfg, err, errlen) != 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->batch = loki_batch_new(cfg->cluster))) {
		snprintf(err, errlen, "loki: out of memory");
		free(e);
		return NULL;
	}
	apply_config(e, cfg, &wc);
	e->w = ew_new(&wc, &loki_ops, e, err, errlen);
	if (e->w)
		setup_auth(e, cfg);
	if (!e->w || add_tenant(e, cfg->tenant, err, errlen) != 0 ||
	    ew_start(e->w, err, errlen) != 0) {
		ew_free(e->w);
		loki_batch_free(e->batch);
		free(e);
		return NULL;
	}
	return e;
}

/* ---- stats and shutdown -------------------------------------------------- */

void loki_exporter_stats(struct loki_exporter *e, struct loki_stats *out)
{
	ew_stats(e->w, out);
}

size_t loki_stats_loss_summary(const struct loki_stats *s, char *buf,
			       size_t len)
{
	struct ew_stats st = {
		.sent = s->entries_sent,
		.rejected = s->entries_rejected,
		.failed = s->entries_dropped_failed,
		.dropped_queue_full = s->entries_dropped_queue_full,
		.dropped_shutdown = s->entries_dropped_shutdown,
	};

	return ew_loss_summary(&st, "log lines", buf, len);
}

void loki_exporter_shutdown(struct loki_exporter *e, uint64_t deadline_ms,
			    struct loki_stats *final)
{
	if (!e)
		return;
	ew_shutdown(e->w, deadline_ms, final);
	loki_batch_free(e->batch);
	free(e);
}
