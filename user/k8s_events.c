/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes events -> Loki (see k8s_events.h for what is shipped when).
 * Thread "events": LIST /api/v1/events (paged), then WATCH from the list's
 * resourceVersion; 410 Gone, a dropped or failed watch: LIST again, with
 * backoff on errors. Every event is remembered (uid -> count, last time)
 * so that nothing is shipped twice by this replica. Thread "lease": keeps
 * the coordination.k8s.io/v1 Lease (GET; POST when missing; PUT with the
 * resourceVersion read, 409 Conflict: someone else won). Both share the
 * remembered events and the leader flag under one lock; lines go to the
 * Loki exporter's queue, which never blocks.
 */
#include "k8s_events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "htab.h"
#include "k8s_http.h"
#include "log.h"
#include "loki.h"

#define LIST_LIMIT 500
#define SA_NAMESPACE_FILE \
	"/var/run/secrets/kubernetes.io/serviceaccount/namespace"

struct uid_key {
	char s[K8S_UID_MAX + 1];
};

/* One event seen: what was last seen of it, and the event itself while
 * it waits to be shipped by this replica (not leading, not listed yet). */
struct known {
	uint64_t count, last_ns;
	unsigned gen;             /* the LIST that last saw it */
	struct ebt_kevent *pending;
};

/* One thread's connection to the API server. */
struct api {
	struct ebt_k8s_api a;     /* settings, token, stop */
	CURL *c;
	uint64_t timeout_ms;
};

struct ebt_kevents {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
	struct ebt_kevents_config cfg;
	struct ebt_k8s_conn_cfg cc;
	struct loki_exporter *loki;
	char *lease_ns, *lease_name, *identity, *cluster;
	uint64_t start_ns;        /* wall clock: the mark when nobody led */
	pthread_t events_thread, lease_thread;
	bool has_events, has_lease;
	/* under lock */
	struct htab *known;       /* uid_key -> struct known * */
	bool leader, listed;
	uint64_t mark_ns;
	unsigned gen;
	bool full_logged;
	struct ebt_kevents_stats st;
	/* events thread */
	struct api ev;
	char rv[K8S_RV_MAX + 1];
	unsigned attempt;
	char last_err[512];
	/* lease thread */
	struct api ls;
	struct ebt_lease_watch watch;
	uint64_t renewed_mono_ns; /* last successful PUT/POST */
	char lease_err[512];      /* the last problem logged */
};

/* ---- HTTP ---------------------------------------------------------------------- */

/* method path [JSON body] -> status (0: transport error); err is set
 * for every status but 200 and 201. Free out->data. */
static long api_call(struct api *a, const char *method, const char *path,
		     const char *json, struct ebt_k8s_body *out,
		     const char *hint, char *err, size_t errlen)
{
	return ebt_k8s_request(&a->a, a->c, method, path, json,
			       a->timeout_ms * 4, out, hint, err, errlen);
}

static const char EVENTS_HINT[] =
	" (RBAC: the service account needs list and watch on events in all "
	"namespaces)";
static const char LEASE_HINT[] =
	" (RBAC: the service account needs get, create and update on leases "
	"in the lease namespace)";

/* ---- shipping -------------------------------------------------------------------- */

int ebt_kevent_labels(const struct ebt_kevent *e, const char *cluster,
		      struct loki_labels *ls)
{
	loki_labels_init(ls);
	if (loki_labels_add(ls, "job", KEV_JOB) ||
	    loki_labels_add(ls, "kubernetes_cluster_events", KEV_JOB) ||
	    loki_labels_add(ls, "namespace", ebt_kevent_namespace(e)) ||
	    loki_labels_add(ls, "kind", e->kind) ||
	    loki_labels_add(ls, "name", e->obj_name) ||
	    (cluster && loki_labels_add(ls, "cluster", cluster)) ||
	    loki_labels_finish(ls)) {
		loki_labels_free(ls);
		return -1;
	}
	return 0;
}

/* Lock held. One line to the exporter's queue. */
static void ship(struct ebt_kevents *k, const struct ebt_kevent *e)
{
	struct loki_labels *ls = malloc(sizeof(*ls));
	char line[KEV_LINE_MAX];
	size_t n = ebt_kevent_line(e, line, sizeof(line));

	if (!ls || ebt_kevent_labels(e, k->cluster, ls) != 0) {
		free(ls);
		k->st.not_queued++;
		return;
	}
	if (loki_exporter_submit_labeled(k->loki, ls, e->last_ns ? e->last_ns :
					 ebt_now_real_ns(), line, n)) {
		k->st.shipped++;
		log_debug("Kubernetes events: shipped %s/%s %s count %llu",
			  ebt_kevent_namespace(e), e->name ? e->name : "",
			  e->reason ? e->reason : "",
			  (unsigned long long)e->count);
	} else {
		k->st.not_queued++;
	}
}

static void free_known(void *v)
{
	struct known *kn = v;

	if (kn)
		ebt_kevent_free(kn->pending);
	free(kn);
}

static void set_pending(struct known *kn, struct ebt_kevent *e)
{
	ebt_kevent_free(kn->pending);
	kn->pending = e;
}

struct sweep_ctx {
	struct ebt_kevents *k;
	uint64_t mark_ns;
	bool ship;
};

/* Ships (when asked and at or after the mark) and forgets one pending. */
static bool flush_one(const void *key, void *val, void *ctx)
{
	struct sweep_ctx *s = ctx;
	struct known *kn = val;

	(void)key;
	if (!kn->pending)
		return false;
	if (s->ship && ebt_kevent_after_mark(kn->pending->last_ns, s->mark_ns))
		ship(s->k, kn->pending);
	if (s->ship || !ebt_kevent_after_mark(kn->pending->last_ns,
					      s->mark_ns))
		set_pending(kn, NULL);
	return false;
}

/* Lock held. ship: leading now, send what waited (at or after mark);
 * else drop what waited from before mark (the holder shipped it). */
static void flush_pending(struct ebt_kevents *k, uint64_t mark_ns, bool ship)
{
	struct sweep_ctx s = { k, mark_ns, ship };

	htab_sweep(k->known, flush_one, &s);
}

/* Lock held. A slot for uid, NULL when the table is full. */
static struct known *known_slot(struct ebt_kevents *k, const char *uid)
{
	struct uid_key key;
	struct known *kn;
	int err = 0;

	memset(&key, 0, sizeof(key));
	snprintf(key.s, sizeof(key.s), "%s", uid);
	kn = htab_get(k->known, &key);
	if (kn || htab_len(k->known) >= KEV_MAX_KNOWN)
		return kn;
	kn = calloc(1, sizeof(*kn));
	if (kn && (htab_put(k->known, &key, kn, &err), err)) {
		free(kn);
		kn = NULL;
	}
	return kn;
}

/* One event seen (listed or watched); takes e. */
static void observe(struct ebt_kevents *k, struct ebt_kevent *e)
{
	struct known *kn;
	bool fresh;

	pthread_mutex_lock(&k->lock);
	kn = known_slot(k, e->uid);
	if (!kn && !k->full_logged) {
		log_warn("Kubernetes events: more than %u events known; "
			 "events past that may be shipped again after a relist",
			 KEV_MAX_KNOWN);
		k->full_logged = true;
	}
	fresh = ebt_kevent_is_new(kn != NULL, kn ? kn->count : 0,
				  kn ? kn->last_ns : 0, e);
	if (kn) {
		kn->gen = k->gen;
		if (fresh) {
			kn->count = e->count;
			kn->last_ns = e->last_ns > kn->last_ns ? e->last_ns
							       : kn->last_ns;
		}
	}
	if (fresh && k->leader && k->listed)
		ship(k, e);
	if (fresh && kn && !(k->leader && k->listed))
		set_pending(kn, e);
	else
		ebt_kevent_free(e);
	pthread_mutex_unlock(&k->lock);
}

static void forget(struct ebt_kevents *k, const char *uid)
{
	struct uid_key key;

	memset(&key, 0, sizeof(key));
	snprintf(key.s, sizeof(key.s), "%s", uid);
	pthread_mutex_lock(&k->lock);
	free_known(htab_del(k->known, &key));
	pthread_mutex_unlock(&k->lock);
}

/* ---- LIST ------------------------------------------------------------------------ */

static void listed(void *ctx, struct ebt_kevent *e)
{
	observe(ctx, e);
}

static bool stale(const void *key, void *val, void *ctx)
{
	struct known *kn = val;

	(void)key;
	if (kn->gen == *(unsigned *)ctx)
		return false;
	free_known(kn);
	return true;
}

/* After a full LIST: forget the events it did not return (deleted). */
static void listed_all(struct ebt_kevents *k)
{
	bool first;

	pthread_mutex_lock(&k->lock);
	htab_sweep(k->known, stale, &k->gen);
	first = !k->listed;
	k->listed = true;
	k->st.lists++;
	k->st.known = htab_len(k->known);
	if (first && k->leader)
		flush_pending(k, k->mark_ns, true);
	pthread_mutex_unlock(&k->lock);
	log_debug("Kubernetes events: LIST: %zu events known, resourceVersion "
		  "%s", k->st.known, k->rv);
	if (first)
		log_info("Kubernetes events: %zu events listed; shipping "
			 "%s", k->st.known, k->cfg.leader_election ?
			 "while this replica holds the Lease" :
			 "(single replica, no leader election)");
}

static int list_page(struct ebt_kevents *k, char **cont, char *err,
		     size_t errlen)
{
	char path[4096], *c = *cont ? curl_easy_escape(k->ev.c, *cont, 0)
				    : NULL;
	struct ebt_k8s_list meta;
	struct ebt_k8s_body b;
	long st;
	int rc = -1;

	snprintf(path, sizeof(path), "api/v1/events?limit=%d%s%s",
		 LIST_LIMIT, c ? "&continue=" : "", c ? c : "");
	curl_free(c);
	free(*cont);
	*cont = NULL;
	st = api_call(&k->ev, "GET", path, NULL, &b, EVENTS_HINT, err,
		      errlen);
	if (st == 200)
		rc = ebt_kevent_list_parse(b.data, b.len, listed, k, &meta,
					   err, errlen);
	free(b.data);
	if (rc == 0) {
		snprintf(k->rv, sizeof(k->rv), "%s", meta.rv);
		*cont = meta.cont;
	}
	return rc;
}

static int list_all(struct ebt_kevents *k, char *err, size_t errlen)
{
	char *cont = NULL;

	pthread_mutex_lock(&k->lock);
	k->gen++;
	pthread_mutex_unlock(&k->lock);
	do {
		if (list_page(k, &cont, err, errlen) != 0)
			return -1;
	} while (cont && !atomic_load(&k->stop));
	free(cont);
	if (atomic_load(&k->stop))
		return -1;
	listed_all(k);
	return 0;
}

/* ---- WATCH ------------------------------------------------------------------------- */

struct watch {
	struct ebt_kevents *k;
	enum ebt_k8s_watch_end end; /* set by an ERROR event (with err) */
	char err[512];
};

static int watch_line(void *ud, const char *line, size_t len)
{
	struct watch *w = ud;
	struct ebt_kevent_watch ev;
	char err[256];

	if (ebt_kevent_watch_parse(line, len, &ev, err, sizeof(err)) != 0) {
		log_debug("Kubernetes events: watch: %s", err);
		return 0;
	}
	if (ev.type == K8S_EV_ERROR) {
		w->end = ev.code == 410 ? K8S_WATCH_RELIST : K8S_WATCH_FAILED;
		snprintf(w->err, sizeof(w->err), "watch error %d: %s",
			 ev.code, ev.message);
		return 1;
	}
	if (ev.rv[0])
		snprintf(w->k->rv, sizeof(w->k->rv), "%s", ev.rv);
	if (ev.type == K8S_EV_DELETED)
		forget(w->k, ev.ev->uid);
	if (ev.type == K8S_EV_ADDED || ev.type == K8S_EV_MODIFIED)
		observe(w->k, ev.ev);
	else
		ebt_kevent_free(ev.ev);
	return 0;
}

static enum ebt_k8s_watch_end watch(struct ebt_kevents *k, char *err,
				    size_t errlen)
{
	struct watch w = { .k = k };
	char path[512], *rv = curl_easy_escape(k->ev.c, k->rv, 0);
	enum ebt_k8s_watch_end end;

	snprintf(path, sizeof(path), "api/v1/events?watch=1&resourceVersion="
		 "%s&allowWatchBookmarks=true&timeoutSeconds=%llu",
		 rv ? rv : "", (unsigned long long)k->cfg.watch_s);
	curl_free(rv);
	pthread_mutex_lock(&k->lock);
	k->st.watches++;
	pthread_mutex_unlock(&k->lock);
	end = ebt_k8s_watch_run(&k->ev.a, k->ev.c, path, k->cfg.watch_s,
				EVENTS_HINT, watch_line, &w, err, errlen);
	if (!w.err[0])
		return end;
	snprintf(err, errlen, "%s", w.err); /* an ERROR event ended it */
	return w.end;
}

/* ---- the events thread ------------------------------------------------------------- */

/* Sleeps ms, or less when stopped. false when stopped. */
static bool nap(struct ebt_kevents *k, uint64_t ms)
{
	return ebt_k8s_nap(&k->lock, &k->cond, &k->stop, ms);
}

/* Logs a new problem once; the delay before trying again. */
static uint64_t failed(struct ebt_kevents *k, const char *what,
		       const char *err)
{
	uint64_t d = ebt_k8s_backoff(++k->attempt, k->cfg.backoff_min_ms,
				     k->cfg.backoff_max_ms,
				     (double)(ebt_now_mono_ns() % 1000) / 1000);
	char line[sizeof(k->last_err)];

	pthread_mutex_lock(&k->lock);
	k->st.errors++;
	pthread_mutex_unlock(&k->lock);
	snprintf(line, sizeof(line), "%s: %s", what, err);
	if (strcmp(line, k->last_err) != 0)
		log_warn("Kubernetes events %s: %s; retrying with backoff (now "
			 "%.1fs)", k->cc.server, line, (double)d / 1000.0);
	snprintf(k->last_err, sizeof(k->last_err), "%s", line);
	return d;
}

/* WATCH until the events must be listed again (true) or a stop. */
static bool watch_loop(struct ebt_kevents *k)
{
	char err[512];

	while (!atomic_load(&k->stop)) {
		enum ebt_k8s_watch_end e = watch(k, err, sizeof(err));

		if (atomic_load(&k->stop))
			return false;
		if (e == K8S_WATCH_AGAIN) {
			k->attempt = 0;
			k->last_err[0] = '\0';
			continue;
		}
		pthread_mutex_lock(&k->lock);
		k->st.relists++;
		pthread_mutex_unlock(&k->lock);
		if (e == K8S_WATCH_RELIST) {
			log_info("Kubernetes events: %s; listing again", err);
			return true;
		}
		return nap(k, failed(k, "watch", err));
	}
	return false;
}

static void *events_main(void *arg)
{
	struct ebt_kevents *k = arg;
	char err[512];

	while (!atomic_load(&k->stop)) {
		err[0] = '\0';
		if (list_all(k, err, sizeof(err)) != 0) {
			if (atomic_load(&k->stop) ||
			    !nap(k, failed(k, "list events", err)))
				break;
			continue;
		}
		k->attempt = 0;
		k->last_err[0] = '\0';
		if (!watch_loop(k))
			break;
	}
	return NULL;
}

/* ---- the Lease --------------------------------------------------------------------- */

static void lease_path(struct ebt_kevents *k, bool item, char *out,
		       size_t outsz)
{
	snprintf(out, outsz, "apis/coordination.k8s.io/v1/namespaces/%s/"
		 "leases%s%s", k->lease_ns, item ? "/" : "",
		 item ? k->lease_name : "");
}

static void become_leader(struct ebt_kevents *k, uint64_t mark_ns)
{
	bool was;

	pthread_mutex_lock(&k->lock);
	was = k->leader;
	if (!was) {
		k->leader = true;
		k->mark_ns = mark_ns;
		k->st.leader_changes++;
		if (k->listed)
			flush_pending(k, mark_ns, true);
	}
	pthread_mutex_unlock(&k->lock);
	if (!was)
		log_info("Kubernetes events: %s holds Lease %s/%s; shipping "
			 "events", k->identity, k->lease_ns, k->lease_name);
}

static void step_down(struct ebt_kevents *k, const char *why)
{
	bool was;

	pthread_mutex_lock(&k->lock);
	was = k->leader;
	k->leader = false;
	pthread_mutex_unlock(&k->lock);
	if (was)
		log_warn("Kubernetes events: Lease %s/%s lost (%s); not "
			 "shipping", k->lease_ns, k->lease_name, why);
}

/* POST (create) or PUT (rv set) the Lease l. The HTTP status. */
static long lease_write(struct ebt_kevents *k, const struct ebt_lease *l,
			char *err, size_t errlen)
{
	char path[1024], *body = ebt_lease_json(k->lease_ns, k->lease_name, l);
	struct ebt_k8s_body b;
	long st;

	if (!body) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	lease_path(k, l->rv[0] != '\0', path, sizeof(path));
	st = api_call(&k->ls, l->rv[0] ? "PUT" : "POST", path, body, &b,
		      LEASE_HINT, err, errlen);
	free(body);
	free(b.data);
	if (st == 200 || st == 201)
		k->renewed_mono_ns = ebt_now_mono_ns();
	return st;
}

/* Take or renew l (as read) with this replica as holder. */
static void lease_hold(struct ebt_kevents *k, struct ebt_lease *l,
		       bool renew, char *err, size_t errlen)
{
	uint64_t now = ebt_now_real_ns(), before = l->renew_ns;
	long st;

	if (!renew) {
		snprintf(l->holder, sizeof(l->holder), "%s", k->identity);
		l->acquire_ns = now;
		l->transitions += l->rv[0] ? 1 : 0;
	}
	l->renew_ns = now;
	l->duration_s = k->cfg.lease_s;
	st = lease_write(k, l, err, errlen);
	if (st == 200 || st == 201) {
		k->lease_err[0] = '\0';
		become_leader(k, before ? before : k->start_ns);
	} else if (st == 409) {
		err[0] = '\0';
		step_down(k, "another replica updated it first");
	}
}

/* A failed Lease request: counted; logged once per distinct problem. */
static void lease_error(struct ebt_kevents *k, const char *err)
{
	pthread_mutex_lock(&k->lock);
	k->st.errors++;
	pthread_mutex_unlock(&k->lock);
	if (strcmp(err, k->lease_err) != 0)
		log_warn("Kubernetes events: Lease %s/%s: %s; trying again",
			 k->lease_ns, k->lease_name, err);
	snprintf(k->lease_err, sizeof(k->lease_err), "%s", err);
}

/* One round: read the Lease and act on it. */
static void lease_step(struct ebt_kevents *k)
{
	char path[1024], err[512] = "";
	struct ebt_k8s_body b;
	struct ebt_lease l;
	long st;

	lease_path(k, true, path, sizeof(path));
	st = api_call(&k->ls, "GET", path, NULL, &b, LEASE_HINT, err,
		      sizeof(err));
	if (st == 404) { /* the first replica creates it */
		err[0] = '\0';
		memset(&l, 0, sizeof(l));
		lease_hold(k, &l, false, err, sizeof(err));
	} else if (st == 200 && ebt_lease_parse(b.data, b.len, &l, err,
						sizeof(err)) == 0) {
		switch (ebt_lease_decide(&k->watch, &l, k->identity,
					 ebt_now_mono_ns())) {
		case LEASE_RENEW:
			lease_hold(k, &l, true, err, sizeof(err));
			break;
		case LEASE_TAKE:
			lease_hold(k, &l, false, err, sizeof(err));
			break;
		case LEASE_WAIT:
			step_down(k, "held by another replica");
			pthread_mutex_lock(&k->lock);
			flush_pending(k, l.renew_ns, false);
			pthread_mutex_unlock(&k->lock);
			break;
		}
	}
	free(b.data);
	if (err[0])
		lease_error(k, err);
}

/* Without renewals for two thirds of the lease, stop shipping. */
static void lease_deadline(struct ebt_kevents *k)
{
	uint64_t limit = k->cfg.lease_s * 1000000000ULL * 2 / 3;

	if (ebt_now_mono_ns() - k->renewed_mono_ns > limit)
		step_down(k, "not renewed in time");
}

/* On stop: hand the Lease over at once (no holder, renewTime now). */
static void lease_release(struct ebt_kevents *k)
{
	char path[1024], err[512] = "";
	struct ebt_k8s_body b;
	struct ebt_lease l;
	long st;

	k->ls.a.finishing = true; /* bounded by the request timeout */
	lease_path(k, true, path, sizeof(path));
	st = api_call(&k->ls, "GET", path, NULL, &b, LEASE_HINT, err,
		      sizeof(err));
	if (st == 200 && ebt_lease_parse(b.data, b.len, &l, err,
					 sizeof(err)) == 0 &&
	    strcmp(l.holder, k->identity) == 0) {
		l.holder[0] = '\0';
		l.renew_ns = ebt_now_real_ns();
		l.duration_s = 1;
		st = lease_write(k, &l, err, sizeof(err));
		log_info("Kubernetes events: Lease %s/%s %s", k->lease_ns,
			 k->lease_name, st == 200 ? "released" : err);
	}
	free(b.data);
}

static void *lease_main(void *arg)
{
	struct ebt_kevents *k = arg;
	bool leading;

	do {
		lease_step(k);
		pthread_mutex_lock(&k->lock);
		leading = k->leader;
		pthread_mutex_unlock(&k->lock);
		if (leading)
			lease_deadline(k);
	} while (nap(k, leading ? k->cfg.renew_ms : k->cfg.retry_ms));
	if (leading) {
		step_down(k, "stopping");
		lease_release(k);
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

static int api_init(struct api *a, struct ebt_kevents *k)
{
	a->a = (struct ebt_k8s_api){
		.cc = &k->cc, .connect_ms = k->cfg.timeout_ms,
		.token_reread_ms = k->cfg.token_reread_ms,
		.agent = "ebpftrace-events", .stop = &k->stop,
	};
	a->timeout_ms = k->cfg.timeout_ms;
	a->c = curl_easy_init();
	return a->c ? 0 : -1;
}

static void api_fini(struct api *a)
{
	if (a->c)
		curl_easy_cleanup(a->c);
	ebt_k8s_api_free(&a->a);
}

static char *dup_or(const char *s, const char *def)
{
	return strdup(s && s[0] ? s : def);
}

/* The Lease's namespace: configured, else the service account's (in a
 * cluster: the DaemonSet's own), else default. */
static char *lease_namespace(const char *configured)
{
	char *sa;

	if (configured && configured[0])
		return strdup(configured);
	sa = ebt_k8s_token_read(SA_NAMESPACE_FILE);
	if (sa && sa[0])
		return sa;
	free(sa);
	return strdup("default");
}

static struct ebt_kevents *kevents_alloc(const struct ebt_kevents_config *c)
{
	struct ebt_kevents *k = calloc(1, sizeof(*k));
	char host[256] = "";

	if (!k)
		return NULL;
	ebt_k8s_sync_init(&k->lock, &k->cond);
	atomic_init(&k->stop, false);
	gethostname(host, sizeof(host) - 1);
	k->cfg = *c;
	k->lease_ns = lease_namespace(c->lease_ns);
	k->lease_name = dup_or(c->lease_name, KEV_DEFAULT_LEASE);
	k->identity = dup_or(c->identity, host[0] ? host : "ebpftrace");
	k->cluster = c->cluster && c->cluster[0] ? strdup(c->cluster) : NULL;
	k->known = htab_new(sizeof(struct uid_key));
	k->start_ns = ebt_now_real_ns();
	k->renewed_mono_ns = ebt_now_mono_ns();
	return k;
}

struct ebt_kevents *ebt_kevents_start(const struct ebt_kevents_config *cfg,
				      struct ebt_k8s_conn_cfg *cc,
				      struct loki_exporter *loki)
{
	struct ebt_kevents *k = kevents_alloc(cfg);

	if (!k) {
		ebt_k8s_conn_cfg_free(cc);
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	k->cc = *cc;
	memset(cc, 0, sizeof(*cc));
	k->loki = loki;
	k->leader = !cfg->leader_election;
	k->mark_ns = k->start_ns;
	if (!k->lease_ns || !k->lease_name || !k->identity || !k->known ||
	    api_init(&k->ev, k) || api_init(&k->ls, k) ||
	    pthread_create(&k->events_thread, NULL, events_main, k) != 0) {
		ebt_kevents_stop(k);
		return NULL;
	}
	k->has_events = true;
	if (cfg->leader_election) {
		if (pthread_create(&k->lease_thread, NULL, lease_main, k)) {
			ebt_kevents_stop(k);
			return NULL;
		}
		k->has_lease = true;
	}
	return k;
}

void ebt_kevents_stop(struct ebt_kevents *k)
{
	if (!k)
		return;
	ebt_k8s_sync_stop(&k->lock, &k->cond, &k->stop);
	if (k->has_events)
		pthread_join(k->events_thread, NULL);
	if (k->has_lease)
		pthread_join(k->lease_thread, NULL);
	if (k->has_events)
		log_info("Kubernetes events: %llu lines shipped, %llu not queued, "
			 "%llu relists", (unsigned long long)k->st.shipped,
			 (unsigned long long)k->st.not_queued,
			 (unsigned long long)k->st.relists);
	api_fini(&k->ev);
	api_fini(&k->ls);
	curl_global_cleanup();
	htab_free(k->known, free_known);
	ebt_k8s_conn_cfg_free(&k->cc);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k->lease_ns);
	free(k->lease_name);
	free(k->identity);
	free(k->cluster);
	free(k);
}

void ebt_kevents_get_stats(struct ebt_kevents *k, struct ebt_kevents_stats *s)
{
	pthread_mutex_lock(&k->lock);
	*s = k->st;
	s->leader = k->leader;
	s->known = htab_len(k->known);
	pthread_mutex_unlock(&k->lock);
}
