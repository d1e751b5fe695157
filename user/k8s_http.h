/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small pieces of talking to the API server with libcurl, shared by the
 * pod watcher (k8s.c), the events shipper (k8s_events.c) and remote
 * attach (remote.c): TLS and client credentials from the connection
 * settings, a bounded response body, the bearer token (file), the request
 * setup, and a stoppable sleep.
 */
#ifndef EBT_K8S_HTTP_H
#define EBT_K8S_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "k8s.h"

/* A response body, NUL-terminated, growing up to max bytes. */
struct ebt_k8s_body {
	char *data;
	size_t len, cap, max;
	bool overflow; /* more than max arrived: the transfer was aborted */
};

/* Appends n bytes; -1 past max (overflow set) or out of memory. */
int ebt_k8s_body_add(struct ebt_k8s_body *b, const char *p, size_t n);
/* CURLOPT_WRITEFUNCTION appending to the struct ebt_k8s_body in ud. */
size_t ebt_k8s_body_write(char *p, size_t sz, size_t nm, void *ud);

/* CA, client certificate and key (files or inline data), and
 * insecure-skip-tls-verify, from cc (which must outlive the transfer). */
void ebt_k8s_curl_tls(CURL *c, const struct ebt_k8s_conn_cfg *cc);

/* A token file's content without trailing white space, malloc'd; NULL
 * when it cannot be read. */
char *ebt_k8s_token_read(const char *path);

/* One client thread's way to the API server: the connection settings, the
 * bearer token (a token file is re-read every token_reread_ms: projected
 * service account tokens rotate) and a stop flag that aborts transfers. */
struct ebt_k8s_api {
	const struct ebt_k8s_conn_cfg *cc;
	uint64_t connect_ms;
	uint64_t token_reread_ms;
	const char *agent;       /* User-Agent */
	atomic_bool *stop;       /* set: transfers abort (NULL: never) */
	bool finishing;          /* ignore stop: a last, bounded request */
	char *token;             /* from token_file, malloc'd */
	uint64_t token_read_ns;
};

/* The handle for one request to <server>/<path> (no leading slash):
 * URL, timeouts, User-Agent, compression, bearer token, TLS, abort on
 * stop. cerr (CURL_ERROR_SIZE) receives libcurl's message. */
void ebt_k8s_api_setup(struct ebt_k8s_api *a, CURL *c, const char *path,
		       uint64_t timeout_ms, char *cerr);
void ebt_k8s_api_free(struct ebt_k8s_api *a);

/* "HTTP 403: <the Status message> (hint)": hint for 403 (the RBAC rules
 * the client needs); 401 names the credentials. */
void ebt_k8s_http_error(const struct ebt_k8s_body *b, long status,
			const char *hint, char *err, size_t errlen);
/*
 * method path, with a JSON body when json is set (a merge patch for
 * PATCH), into out (free out->data; at most K8S_PAGE_MAX bytes). The HTTP
 * status, 0 on a transport error (err set); err is set for every status
 * but 200 and 201.
 */
long ebt_k8s_request(struct ebt_k8s_api *a, CURL *c, const char *method,
		     const char *path, const char *json, uint64_t timeout_ms,
		     struct ebt_k8s_body *out, const char *hint, char *err,
		     size_t errlen);

enum ebt_k8s_watch_end {
	K8S_WATCH_AGAIN = 0, /* the server closed it on time: watch again */
	K8S_WATCH_RELIST,    /* 410 Gone, or an event was lost: LIST again */
	K8S_WATCH_FAILED,    /* transport or HTTP error: LIST after a backoff */
};

/*
 * One WATCH of path (timeoutSeconds=watch_s in it): each complete line of
 * the chunked body goes to line (non-zero ends the watch: then the
 * caller's own verdict counts). The end, with err set unless AGAIN.
 */
enum ebt_k8s_watch_end ebt_k8s_watch_run(
	struct ebt_k8s_api *a, CURL *c, const char *path, uint64_t watch_s,
	const char *hint, int (*line)(void *ctx, const char *l, size_t len),
	void *ctx, char *err, size_t errlen);

/* A mutex and a CLOCK_MONOTONIC condition variable for ebt_k8s_nap(). */
void ebt_k8s_sync_init(pthread_mutex_t *lock, pthread_cond_t *cond);
/* Sets *stop and wakes every ebt_k8s_nap() on cond. */
void ebt_k8s_sync_stop(pthread_mutex_t *lock, pthread_cond_t *cond,
		       atomic_bool *stop);

/* Sleeps ms on cond (CLOCK_MONOTONIC), or less when *stop is set (the
 * setter signals cond under lock). false when stopped. */
bool ebt_k8s_nap(pthread_mutex_t *lock, pthread_cond_t *cond,
		 atomic_bool *stop, uint64_t ms);

#endif /* EBT_K8S_HTTP_H */
