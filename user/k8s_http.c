/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl helpers for the API server clients (see k8s_http.h). */
#include "k8s_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_MAX (64u * 1024)
#define BODY_INITIAL 16384
#define NS_PER_MS 1000000ULL
#define ERR_BODY_MAX (64u * 1024)
#define NS_PER_S 1000000000ULL

int ebt_k8s_body_add(struct ebt_k8s_body *b, const char *p, size_t n)
{
	size_t cap;
	char *d;

	if (b->len + n > b->max) {
		b->overflow = true;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : BODY_INITIAL;
		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

size_t ebt_k8s_body_write(char *p, size_t sz, size_t nm, void *ud)
{
	return ebt_k8s_body_add(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

static void blob(CURL *c, CURLoption opt, char *data, size_t len)
{
	struct curl_blob b = { .data = data, .len = len,
			       .flags = CURL_BLOB_NOCOPY };

	curl_easy_setopt(c, opt, &b);
}

void ebt_k8s_curl_tls(CURL *c, const struct ebt_k8s_conn_cfg *cc)
{
	if (cc->ca_data)
		blob(c, CURLOPT_CAINFO_BLOB, cc->ca_data, cc->ca_len);
	else if (cc->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cc->ca_file);
	if (cc->cert_data)
		blob(c, CURLOPT_SSLCERT_BLOB, cc->cert_data, cc->cert_len);
	else if (cc->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, cc->cert_file);
	if (cc->key_data)
		blob(c, CURLOPT_SSLKEY_BLOB, cc->key_data, cc->key_len);
	else if (cc->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, cc->key_file);
	if (cc->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

char *ebt_k8s_token_read(const char *path)
{
	char buf[TOKEN_MAX];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The configured token, or the token file's (the last one read is kept
 * while the file cannot be read). */
static const char *api_token(struct ebt_k8s_api *a)
{
	uint64_t now = mono_ns();
	char *t;

	if (!a->cc->token_file)
		return a->cc->token;
	if (a->token && now - a->token_read_ns <
				a->token_reread_ms * NS_PER_MS)
		return a->token;
	t = ebt_k8s_token_read(a->cc->token_file);
	if (!t)
		return a->token;
	free(a->token);
	a->token = t;
	a->token_read_ns = now;
	return a->token;
}

static int api_progress(void *ud, curl_off_t dt, curl_off_t dn,
			curl_off_t ut, curl_off_t un)
{
	struct ebt_k8s_api *a = ud;

	(void)dt, (void)dn, (void)ut, (void)un;
	return a->stop && !a->finishing && atomic_load(a->stop) ? 1 : 0;
}

void ebt_k8s_api_setup(struct ebt_k8s_api *a, CURL *c, const char *path,
		       uint64_t timeout_ms, char *cerr)
{
	const char *tok = api_token(a);
	char url[2048];

	snprintf(url, sizeof(url), "%s/%s", a->cc->server, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, a->agent ? a->agent
							: "ebpftrace");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, api_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (tok && tok[0]) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, tok);
	}
	ebt_k8s_curl_tls(c, a->cc);
}

void ebt_k8s_http_error(const struct ebt_k8s_body *b, long status,
			const char *hint, char *err, size_t errlen)
{
	char msg[300] = "";
	int code = 0;

	if (b->data)
		ebt_k8s_status_parse(b->data, b->len, &code, msg, sizeof(msg));
	snprintf(err, errlen, "HTTP %ld%s%s%s%s", status, msg[0] ? ": " : "",
		 msg, status == 401 ? " (token or client certificate "
		 "rejected)" : "", status == 403 && hint ? hint : "");
}

long ebt_k8s_request(struct ebt_k8s_api *a, CURL *c, const char *method,
		     const char *path, const char *json, uint64_t timeout_ms,
		     struct ebt_k8s_body *out, const char *hint, char *err,
		     size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	out->max = K8S_PAGE_MAX;
	ebt_k8s_api_setup(a, c, path, timeout_ms, cerr);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (json) {
		/* a PATCH body is a JSON merge patch (RFC 7386) */
		h = curl_slist_append(h, strcmp(method, "PATCH") == 0 ?
			"Content-Type: application/merge-patch+json" :
			"Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ebt_k8s_body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", out->overflow ? "response larger "
			 "than the limit" : cerr[0] ? cerr :
			 curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 201)
		ebt_k8s_http_error(out, status, hint, err, errlen);
	return status;
}

/* A watch in progress: lines while the status is 200, else the body. */
struct watch_io {
	CURL *c;
	int (*line)(void *ctx, const char *l, size_t len);
	void *ctx;
	struct ebt_k8s_lines lines;
	struct ebt_k8s_body errbody;
	long status;
};

static size_t watch_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct watch_io *w = ud;
	size_t n = sz * nm;

	if (!w->status)
		curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) /* an error: keep the Status body */
		return ebt_k8s_body_add(&w->errbody, p, n) == 0 ? n : 0;
	if (ebt_k8s_lines_feed(&w->lines, p, n, w->line, w->ctx) != 0)
		return 0; /* ends the transfer */
	return n;
}

static enum ebt_k8s_watch_end watch_verdict(const struct watch_io *w,
					    CURLcode rc, const char *cerr,
					    const char *hint, char *err,
					    size_t errlen)
{
	if (w->status && w->status != 200) {
		ebt_k8s_http_error(&w->errbody, w->status, hint, err, errlen);
		return w->status == 410 ? K8S_WATCH_RELIST : K8S_WATCH_FAILED;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "watch dropped: %s",
			 cerr[0] ? cerr : curl_easy_strerror(rc));
		return K8S_WATCH_FAILED;
	}
	if (w->lines.dropped) {
		snprintf(err, errlen, "watch event over %u bytes dropped",
			 K8S_LINE_MAX);
		return K8S_WATCH_RELIST; /* lost an event: resync */
	}
	return K8S_WATCH_AGAIN;
}

enum ebt_k8s_watch_end ebt_k8s_watch_run(
	struct ebt_k8s_api *a, CURL *c, const char *path, uint64_t watch_s,
	const char *hint, int (*line)(void *ctx, const char *l, size_t len),
	void *ctx, char *err, size_t errlen)
{
	struct watch_io w = { .c = c, .line = line, .ctx = ctx };
	char cerr[CURL_ERROR_SIZE] = "";
	enum ebt_k8s_watch_end end;
	CURLcode rc;

	ebt_k8s_lines_init(&w.lines, K8S_LINE_MAX);
	w.errbody.max = ERR_BODY_MAX;
	ebt_k8s_api_setup(a, c, path, (watch_s + 60) * 1000, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	rc = curl_easy_perform(c);
	if (!w.status)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w.status);
	err[0] = '\0';
	end = watch_verdict(&w, rc, cerr, hint, err, errlen);
	ebt_k8s_lines_free(&w.lines);
	free(w.errbody.data);
	return end;
}

void ebt_k8s_api_free(struct ebt_k8s_api *a)
{
	free(a->token);
	a->token = NULL;
}

bool ebt_k8s_nap(pthread_mutex_t *lock, pthread_cond_t *cond,
		 atomic_bool *stop, uint64_t ms)
{
	uint64_t until = mono_ns() + ms * NS_PER_MS;
	struct timespec ts = { .tv_sec = (time_t)(until / NS_PER_S),
			       .tv_nsec = (long)(until % NS_PER_S) };

	pthread_mutex_lock(lock);
	while (!atomic_load(stop) && mono_ns() < until)
		pthread_cond_timedwait(cond, lock, &ts);
	pthread_mutex_unlock(lock);
	return !atomic_load(stop);
}

void ebt_k8s_sync_init(pthread_mutex_t *lock, pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_mutex_init(lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

void ebt_k8s_sync_stop(pthread_mutex_t *lock, pthread_cond_t *cond,
		       atomic_bool *stop)
{
	pthread_mutex_lock(lock);
	atomic_store(stop, true);
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
}
