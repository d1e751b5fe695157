/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes API client (libcurl, JSON through k8s_parse.c): one thread
 * LISTs this node's pods, WATCHes them from the list's resourceVersion,
 * resolves each pod's owner workload (ReplicaSet -> Deployment, Job ->
 * CronJob, GETs cached) and publishes pods by uid. Lookups take a short
 * lock and never touch the network.
 */
#include "k8s.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "htab.h"
#include "k8s_http.h"
#include "log.h"

#define LIST_LIMIT 500
#define CACHE_KEY_MAX (2 * (K8S_NAME_MAX + 1) + 4)

struct uid_key {
	char s[K8S_UID_MAX + 1];
};

struct owner_key {
	char s[CACHE_KEY_MAX];
};

/* ReplicaSet or Job -> its controller (kind "" when it has none). */
struct owner_val {
	char kind[64];
	char name[K8S_NAME_MAX + 1];
};

struct ebt_k8s {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct htab *pods;        /* uid -> struct ebt_k8s_pod * */
	atomic_uint_fast64_t version;
	atomic_bool synced;
	atomic_bool stop;
	bool has_thread;
	pthread_t thread;
	struct ebt_k8s_stats stats;
	struct ebt_k8s_config cfg;
	struct ebt_k8s_conn_cfg cc;
	char *node;
	/* worker thread only */
	CURL *curl;               /* the WATCH stream */
	CURL *gcurl;              /* LIST and GETs (also during a WATCH) */
	struct htab *owners;      /* owner_key -> struct owner_val * */
	struct ebt_k8s_api api;   /* settings, token, stop */
	char rv[K8S_RV_MAX + 1];  /* where the next WATCH starts */
	char last_err[512];
	unsigned attempt;         /* failures in a row */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void unref_pod(void *v)
{
	ebt_k8s_pod_unref(v);
}

/* ---- the published map ---------------------------------------------------- */

/* The key of a uid: without dashes, so that the 32-hex form some cgroup
 * paths carry finds the API's 8-4-4-4-12 one. */
static void uid_key_of(struct uid_key *k, const char *uid)
{
	size_t n = 0;

	memset(k, 0, sizeof(*k));
	for (; *uid && n < sizeof(k->s) - 1; uid++)
		if (*uid != '-')
			k->s[n++] = *uid;
}

struct ebt_k8s_pod *ebt_k8s_lookup(struct ebt_k8s *k, const char *uid)
{
	struct ebt_k8s_pod *p;
	struct uid_key key;

	if (!k || !uid || !uid[0] || strlen(uid) > K8S_UID_MAX)
		return NULL;
	uid_key_of(&key, uid);
	pthread_mutex_lock(&k->lock);
	p = ebt_k8s_pod_ref(htab_get(k->pods, &key));
	pthread_mutex_unlock(&k->lock);
	return p;
}

uint64_t ebt_k8s_version(struct ebt_k8s *k)
{
	return k ? atomic_load(&k->version) : 0;
}

bool ebt_k8s_synced(struct ebt_k8s *k)
{
	return k && atomic_load(&k->synced);
}

void ebt_k8s_get_stats(struct ebt_k8s *k, struct ebt_k8s_stats *s)
{
	pthread_mutex_lock(&k->lock);
	*s = k->stats;
	s->pods = htab_len(k->pods);
	pthread_mutex_unlock(&k->lock);
}

struct foreach_ctx {
	void (*fn)(void *ctx, const struct ebt_k8s_pod *p);
	void *ctx;
};

static bool foreach_one(const void *key, void *val, void *ctx)
{
	struct foreach_ctx *f = ctx;

	(void)key;
	f->fn(f->ctx, val);
	return false;
}

void ebt_k8s_foreach(struct ebt_k8s *k,
		     void (*fn)(void *ctx, const struct ebt_k8s_pod *p),
		     void *ctx)
{
	struct foreach_ctx f = { fn, ctx };

	pthread_mutex_lock(&k->lock);
	htab_sweep(k->pods, foreach_one, &f);
	pthread_mutex_unlock(&k->lock);
}

/* Adds or replaces a pod (takes the reference). */
static void publish_pod(struct ebt_k8s *k, struct ebt_k8s_pod *p)
{
	struct uid_key key;
	void *old;
	int err = 0;

	uid_key_of(&key, p->uid);
	pthread_mutex_lock(&k->lock);
	if (!htab_get(k->pods, &key) && htab_len(k->pods) >= K8S_MAX_PODS) {
		pthread_mutex_unlock(&k->lock);
		log_warn("Kubernetes API: more than %u pods on this node; "
			 "pod %s/%s gets no metadata", K8S_MAX_PODS, p->ns,
			 p->name);
		ebt_k8s_pod_unref(p);
		return;
	}
	old = htab_put(k->pods, &key, p, &err);
	if (err)
		ebt_k8s_pod_unref(p);
	atomic_fetch_add(&k->version, 1);
	pthread_mutex_unlock(&k->lock);
	ebt_k8s_pod_unref(old);
}

static void remove_pod(struct ebt_k8s *k, const char *uid)
{
	struct uid_key key;
	void *old;

	uid_key_of(&key, uid);
	pthread_mutex_lock(&k->lock);
	old = htab_del(k->pods, &key);
	atomic_fetch_add(&k->version, 1);
	pthread_mutex_unlock(&k->lock);
	ebt_k8s_pod_unref(old);
}

/* Replaces the whole map with a freshly listed one. */
static void publish_all(struct ebt_k8s *k, struct htab *fresh)
{
	struct htab *old;

	pthread_mutex_lock(&k->lock);
	old = k->pods;
	k->pods = fresh;
	atomic_fetch_add(&k->version, 1);
	pthread_mutex_unlock(&k->lock);
	htab_free(old, unref_pod);
}

/* ---- HTTP ------------------------------------------------------------------------ */

static const char PODS_HINT[] = " (RBAC: the service account needs "
	"get/list/watch on pods, get on replicasets and jobs)";

/* GET path into b (free b->data). Returns the HTTP status, or 0 on a
 * transport error (err set); err is set for every status but 200. */
static long get(struct ebt_k8s *k, const char *path, struct ebt_k8s_body *b,
		char *err, size_t errlen)
{
	return ebt_k8s_request(&k->api, k->gcurl, "GET", path, NULL,
			       k->cfg.timeout_ms * 4, b, PODS_HINT, err,
			       errlen);
}

/* ---- owners ------------------------------------------------------------------------ */

static void free_val(void *v)
{
	free(v);
}

/* The controller of a ReplicaSet / Job, from the cache or a GET. 0 ok
 * (kind "" when it has none or is gone), -1 on an error (not cached). */
static int owner_of(struct ebt_k8s *k, enum ebt_k8s_fetch f, const char *ns,
		    const char *name, struct owner_val *out)
{
	struct owner_key key;
	struct owner_val *v;
	struct ebt_k8s_body b;
	char path[1024], err[512];
	long st;
	int err2 = 0;

	memset(&key, 0, sizeof(key));
	snprintf(key.s, sizeof(key.s), "%d|%s|%s", (int)f, ns, name);
	v = k->owners ? htab_get(k->owners, &key) : NULL;
	if (v) {
		*out = *v;
		return 0;
	}
	if (ebt_k8s_owner_path(f, ns, name, path, sizeof(path)) != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	st = get(k, path, &b, err, sizeof(err));
	k->stats.owner_gets++;
	if (st == 200)
		ebt_k8s_controller_parse(b.data, b.len, out->kind,
					 sizeof(out->kind), out->name,
					 sizeof(out->name));
	free(b.data);
	if (st != 200 && st != 404) {
		log_debug("Kubernetes API: GET %s: %s", path, err);
		return -1;
	}
	if (htab_len(k->owners) >= K8S_OWNER_CACHE) { /* bounded: start over */
		htab_free(k->owners, free_val);
		k->owners = htab_new(sizeof(struct owner_key));
	}
	v = malloc(sizeof(*v));
	if (v && k->owners) {
		*v = *out;
		free(htab_put(k->owners, &key, v, &err2));
		if (err2)
			free(v);
	} else {
		free(v);
	}
	return 0;
}

/* Fills the pod's workload names (GETs its ReplicaSet or Job if needed). */
static void resolve_owner(struct ebt_k8s *k, struct ebt_k8s_pod *p)
{
	enum ebt_k8s_fetch f = ebt_k8s_owner_fetch(p->ctrl_kind);
	struct owner_val o = { "", "" };

	if (f != K8S_FETCH_NONE && p->ctrl_name)
		owner_of(k, f, p->ns, p->ctrl_name, &o);
	if (ebt_k8s_owner_apply(p, o.kind[0] ? o.kind : NULL, o.name) != 0)
		log_debug("Kubernetes API: out of memory for owner of %s",
			  p->name);
}

/* ---- LIST -------------------------------------------------------------------------- */

struct list_ctx {
	struct ebt_k8s *k;
	struct htab *fresh;
	size_t dropped;
};

static void listed_pod(void *ctx, struct ebt_k8s_pod *p)
{
	struct list_ctx *l = ctx;
	struct uid_key key;
	int err = 0;

	if (htab_len(l->fresh) >= K8S_MAX_PODS) {
		l->dropped++;
		ebt_k8s_pod_unref(p);
		return;
	}
	resolve_owner(l->k, p);
	uid_key_of(&key, p->uid);
	ebt_k8s_pod_unref(htab_put(l->fresh, &key, p, &err));
	if (err)
		ebt_k8s_pod_unref(p);
}

static int list_path(struct ebt_k8s *k, const char *cont, char *out,
		     size_t outsz)
{
	char *sel = curl_easy_escape(k->curl, k->node, 0);
	char *c = cont ? curl_easy_escape(k->curl, cont, 0) : NULL;
	int n;

	if (!sel || (cont && !c)) {
		curl_free(sel);
		curl_free(c);
		return -1;
	}
	n = snprintf(out, outsz, "api/v1/pods?fieldSelector=spec.nodeName%%3D"
		     "%s&limit=%d%s%s", sel, LIST_LIMIT, c ? "&continue=" : "",
		     c ? c : "");
	curl_free(sel);
	curl_free(c);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* One page into l; the next continue token into *cont. */
static int list_page(struct ebt_k8s *k, struct list_ctx *l, char **cont,
		     char *err, size_t errlen)
{
	struct ebt_k8s_list meta;
	char path[4096];
	struct ebt_k8s_body b;
	long st;
	int rc;

	if (list_path(k, *cont, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "LIST: path too long");
		return -1;
	}
	free(*cont);
	*cont = NULL;
	st = get(k, path, &b, err, errlen);
	rc = st == 200 ? ebt_k8s_list_parse(b.data, b.len, listed_pod, l,
					    &meta, err, errlen) : -1;
	free(b.data);
	if (rc == 0) {
		snprintf(k->rv, sizeof(k->rv), "%s", meta.rv);
		*cont = meta.cont;
	}
	return rc;
}

/* LIST every pod of the node (paged) and publish them as one map. */
static int list_all(struct ebt_k8s *k, char *err, size_t errlen)
{
	struct list_ctx l = { .k = k, .fresh = htab_new(sizeof(struct
							   uid_key)) };
	char *cont = NULL;

	if (!l.fresh) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	do {
		if (list_page(k, &l, &cont, err, errlen) != 0) {
			free(cont);
			htab_free(l.fresh, unref_pod);
			return -1;
		}
	} while (cont && !atomic_load(&k->stop));
	free(cont);
	if (l.dropped)
		log_warn("Kubernetes API: more than %u pods on this node; %zu "
			 "get no metadata", K8S_MAX_PODS, l.dropped);
	pthread_mutex_lock(&k->lock);
	k->stats.lists++;
	pthread_mutex_unlock(&k->lock);
	publish_all(k, l.fresh);
	return 0;
}

/* ---- WATCH ---------------------------------------------------------------------- */

enum watch_end {
	WATCH_TIMEOUT = K8S_WATCH_AGAIN, /* watch again from rv */
	WATCH_GONE = K8S_WATCH_RELIST,   /* 410: the rv is too old, LIST */
	WATCH_FAILED = K8S_WATCH_FAILED, /* LIST again after a backoff */
	WATCH_STOPPED,
};

struct watch_ctx {
	struct ebt_k8s *k;
	enum watch_end end; /* set by an ERROR event (with err) */
	char err[512];
	size_t events;
};

static void apply_event(struct ebt_k8s *k, struct ebt_k8s_event *ev)
{
	if (ev->rv[0])
		snprintf(k->rv, sizeof(k->rv), "%s", ev->rv);
	if (ev->type == K8S_EV_DELETED) {
		remove_pod(k, ev->pod->uid);
	} else if (ev->type != K8S_EV_BOOKMARK) {
		resolve_owner(k, ev->pod);
		publish_pod(k, ebt_k8s_pod_ref(ev->pod));
	}
	if (ev->type != K8S_EV_BOOKMARK) {
		pthread_mutex_lock(&k->lock);
		k->stats.events++;
		pthread_mutex_unlock(&k->lock);
	}
}

/* One line of the watch stream; non-zero ends the watch. */
static int on_line(void *ud, const char *line, size_t len)
{
	struct watch_ctx *w = ud;
	struct ebt_k8s_event ev;
	char err[256];

	if (ebt_k8s_watch_line_parse(line, len, &ev, err, sizeof(err)) != 0) {
		log_debug("Kubernetes API: watch: %s", err);
		return 0; /* one bad event: skip it */
	}
	w->events++;
	if (ev.type == K8S_EV_ERROR) {
		w->end = ev.code == 410 ? WATCH_GONE : WATCH_FAILED;
		snprintf(w->err, sizeof(w->err), "watch error %d: %s", ev.code,
			 ev.message);
		return 1;
	}
	apply_event(w->k, &ev);
	ebt_k8s_pod_unref(ev.pod);
	return 0;
}

static int watch_path(struct ebt_k8s *k, char *out, size_t outsz)
{
	char *sel = curl_easy_escape(k->curl, k->node, 0);
	char *rv = curl_easy_escape(k->curl, k->rv, 0);
	int n = -1;

	if (sel && rv)
		n = snprintf(out, outsz, "api/v1/pods?watch=1&fieldSelector="
			     "spec.nodeName%%3D%s&resourceVersion=%s&"
			     "allowWatchBookmarks=true&timeoutSeconds=%llu",
			     sel, rv, (unsigned long long)k->cfg.watch_s);
	curl_free(sel);
	curl_free(rv);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static enum watch_end watch(struct ebt_k8s *k, char *err, size_t errlen,
			    size_t *events)
{
	struct watch_ctx w = { .k = k };
	enum watch_end end;
	char path[4096];

	if (watch_path(k, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "WATCH: path too long");
		return WATCH_FAILED;
	}
	pthread_mutex_lock(&k->lock);
	k->stats.watches++;
	pthread_mutex_unlock(&k->lock);
	end = (enum watch_end)ebt_k8s_watch_run(&k->api, k->curl, path,
						k->cfg.watch_s, PODS_HINT,
						on_line, &w, err, errlen);
	*events = w.events;
	if (atomic_load(&k->stop))
		return WATCH_STOPPED;
	if (w.err[0]) { /* an ERROR event ended it */
		snprintf(err, errlen, "%s", w.err);
		return w.end;
	}
	return end;
}

/* ---- the thread -------------------------------------------------------------------- */

/* Sleeps ms, or less when stopped. false when stopped. */
static bool nap(struct ebt_k8s *k, uint64_t ms)
{
	return ebt_k8s_nap(&k->lock, &k->cond, &k->stop, ms);
}

/* One clear line per distinct problem; then a delay before retrying. */
static uint64_t failed(struct ebt_k8s *k, const char *what, const char *err)
{
	uint64_t d = ebt_k8s_backoff(++k->attempt, k->cfg.backoff_min_ms,
				     k->cfg.backoff_max_ms,
				     (double)(mono_ns() % 1000) / 1000.0);
	char line[sizeof(k->last_err)];

	atomic_store(&k->synced, false);
	pthread_mutex_lock(&k->lock);
	k->stats.errors++;
	pthread_mutex_unlock(&k->lock);
	snprintf(line, sizeof(line), "%s: %s", what, err);
	if (strcmp(line, k->last_err) != 0)
		log_warn("Kubernetes API %s: %s; pods keep the metadata known "
			 "so far, tracing continues; retrying with backoff "
			 "(now %.1fs)", k->cc.server, line, (double)d / 1000.0);
	snprintf(k->last_err, sizeof(k->last_err), "%s", line);
	return d;
}

static void synced(struct ebt_k8s *k)
{
	if (!atomic_load(&k->synced) || k->last_err[0]) {
		pthread_mutex_lock(&k->lock);
		log_info("Kubernetes API %s: %zu pods on node %s", k->cc.server,
			 htab_len(k->pods), k->node);
		pthread_mutex_unlock(&k->lock);
	}
	atomic_store(&k->synced, true);
	k->last_err[0] = '\0';
	k->attempt = 0;
}

/* WATCH until it fails or goes stale; true: LIST again. */
static bool watch_loop(struct ebt_k8s *k)
{
	char err[512];
	size_t events = 0;

	for (;;) {
		enum watch_end e = watch(k, err, sizeof(err), &events);

		if (e == WATCH_STOPPED)
			return false;
		if (e == WATCH_TIMEOUT) {
			synced(k);
			continue;
		}
		if (e == WATCH_GONE) {
			pthread_mutex_lock(&k->lock);
			k->stats.resyncs_gone++;
			pthread_mutex_unlock(&k->lock);
			log_info("Kubernetes API: %s; listing pods again", err);
			return true;
		}
		return nap(k, failed(k, "watch", err));
	}
}

static void *worker(void *arg)
{
	struct ebt_k8s *k = arg;

	while (!atomic_load(&k->stop)) {
		char err[512] = "";

		if (list_all(k, err, sizeof(err)) != 0) {
			if (atomic_load(&k->stop) ||
			    !nap(k, failed(k, "list pods", err)))
				break;
			continue;
		}
		synced(k);
		if (!watch_loop(k))
			break;
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

static struct ebt_k8s *k8s_alloc(void)
{
	struct ebt_k8s *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	ebt_k8s_sync_init(&k->lock, &k->cond);
	atomic_init(&k->version, 0);
	atomic_init(&k->synced, false);
	atomic_init(&k->stop, false);
	k->pods = htab_new(sizeof(struct uid_key));
	k->owners = htab_new(sizeof(struct owner_key));
	return k;
}

struct ebt_k8s *ebt_k8s_start(const struct ebt_k8s_config *cfg,
			      struct ebt_k8s_conn_cfg *cc)
{
	struct ebt_k8s *k = k8s_alloc();

	if (!k) {
		ebt_k8s_conn_cfg_free(cc);
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT); /* thread-safe, refcounted */
	k->cfg = *cfg;
	k->cc = *cc;
	memset(cc, 0, sizeof(*cc));
	k->api = (struct ebt_k8s_api){
		.cc = &k->cc, .connect_ms = cfg->timeout_ms,
		.token_reread_ms = cfg->token_reread_ms, .agent = "ebpftrace",
		.stop = &k->stop,
	};
	k->cfg.kubeconfig = NULL; /* not kept */
	k->node = strdup(cfg->node ? cfg->node : "");
	k->cfg.node = NULL;
	k->curl = curl_easy_init();
	k->gcurl = curl_easy_init();
	if (!k->pods || !k->owners || !k->node || !k->curl || !k->gcurl ||
	    pthread_create(&k->thread, NULL, worker, k) != 0) {
		ebt_k8s_stop(k);
		return NULL;
	}
	k->has_thread = true;
	return k;
}

void ebt_k8s_stop(struct ebt_k8s *k)
{
	if (!k)
		return;
	if (k->has_thread) {
		ebt_k8s_sync_stop(&k->lock, &k->cond, &k->stop);
		pthread_join(k->thread, NULL);
	}
	if (k->curl)
		curl_easy_cleanup(k->curl);
	if (k->gcurl)
		curl_easy_cleanup(k->gcurl);
	curl_global_cleanup();
	htab_free(k->pods, unref_pod);
	htab_free(k->owners, free_val);
	ebt_k8s_conn_cfg_free(&k->cc);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	ebt_k8s_api_free(&k->api);
	free(k->node);
	free(k);
}
