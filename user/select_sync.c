/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keeps the BPF cgroup filter equal to the cgroups of the selected pods.
 *
 * A thread scans /proc every period (and soon after the CRI or Kubernetes
 * API view changes): each process's /proc/<pid>/cgroup gives its container
 * id, pod uid and cgroup2 directory; the pod comes from CRI (by container
 * id) or from the API server (by pod uid); ebt_pod_filter_match decides.
 * The cgroups selected this scan are added to the kernel map, the ones no
 * longer selected (pod gone, relabelled) removed. New pods are picked up
 * within one period; a connection already being traced stays traced.
 */
#include "selector.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "cri.h"
#include "htab.h"
#include "k8s.h"
#include "log.h"

#define CGROUP_TEXT_MAX (16 * 1024)
#define WAKE_MS 250
#define SELECTED ((void *)1)
#define REJECTED ((void *)2)

struct ebt_select_sync {
	struct ebt_select_sync_config cfg;
	char proc[256];
	const char *mnt;       /* cgroup2 mount */
	struct htab *in_map;   /* cgroup id -> SELECTED: what the kernel has */
	pthread_t thread;
	pthread_mutex_t lock;  /* stats, stop */
	pthread_cond_t cond;
	bool stop;
	uint64_t cri_version, k8s_version;
	bool warned_v1, warned_full;
	struct ebt_select_stats stats;
	char buf[CGROUP_TEXT_MAX];
};

/* ---- one process ---------------------------------------------------------- */

/* Is the pod of this container (or pod uid) selected? */
static bool pod_selected(struct ebt_select_sync *s,
			 const struct ebt_cgroup_info *ci)
{
	const struct ebt_pod_filter *f = s->cfg.filter;
	char ctr[CRI_NAME_MAX + 1];
	bool yes;

	if (s->cfg.cri && ci->container_id[0]) {
		struct ebt_pod *p = ebt_cri_lookup(s->cfg.cri, ci->container_id,
						   ctr, sizeof(ctr));
		if (p) {
			yes = ebt_pod_filter_match(f, p->ns, p->labels,
						   p->n_labels);
			ebt_pod_unref(p);
			return yes;
		}
	}
	if (s->cfg.k8s && ci->pod_uid[0]) {
		struct ebt_k8s_pod *p = ebt_k8s_lookup(s->cfg.k8s, ci->pod_uid);

		if (p) {
			yes = ebt_pod_filter_match(f, p->ns, p->labels,
						   p->n_labels);
			ebt_k8s_pod_unref(p);
			return yes;
		}
	}
	return false; /* not known (yet): the next scan asks again */
}

/* The cgroup2 directory of the container, or false when it has none of
 * its own (v1-only container on a hybrid host) or is gone. */
static bool own_cgroup2(struct ebt_select_sync *s, const char *text,
			size_t len, const struct ebt_cgroup_info *all,
			uint64_t *id)
{
	struct ebt_cgroup_info v2;
	char v2path[3072], path[4096];
	struct stat st;

	if (!ebt_cgroup_v2_path(text, len, v2path, sizeof(v2path)) ||
	    !ebt_cgroup_path_parse(v2path, strlen(v2path), &v2) ||
	    strcmp(v2.container_id, all->container_id) != 0 ||
	    strcmp(v2.pod_uid, all->pod_uid) != 0) {
		if (!s->warned_v1)
			log_warn("pod selection: container %.12s has no cgroup2 "
				 "directory of its own (cgroup v1 only, e.g. "
				 "a cgroupfs driver on a hybrid host); such "
				 "containers cannot be selected",
				 all->container_id);
		s->warned_v1 = true;
		return false;
	}
	snprintf(path, sizeof(path), "%s%s", s->mnt, v2path);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	*id = (uint64_t)st.st_ino;
	return true;
}

/* One process: records its cgroup's verdict in seen (first one wins). */
static void scan_pid(struct ebt_select_sync *s, const char *pid,
		     struct htab *seen)
{
	struct ebt_cgroup_info ci;
	ssize_t len = ebt_proc_cgroup_read(s->proc, pid, s->buf, sizeof(s->buf));
	uint64_t id;
	int err = 0;

	if (len <= 0 || !ebt_cgroup_parse(s->buf, (size_t)len, &ci) ||
	    (!ci.container_id[0] && !ci.pod_uid[0]))
		return; /* gone, or not in a container */
	if (!own_cgroup2(s, s->buf, (size_t)len, &ci, &id) ||
	    htab_get(seen, &id))
		return;
	htab_put(seen, &id, pod_selected(s, &ci) ? SELECTED : REJECTED, &err);
}

static void scan_proc(struct ebt_select_sync *s, struct htab *seen)
{
	DIR *d = opendir(s->proc);
	struct dirent *de;

	if (!d) {
		log_warn("pod selection: cannot read %s", s->proc);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]))
			scan_pid(s, de->d_name, seen);
	closedir(d);
}

/* ---- applying a scan to the kernel map ------------------------------------ */

struct apply {
	struct ebt_select_sync *s;
	struct htab *seen;
};

/* in_map entries no longer selected: removed from the kernel map. */
static bool drop_stale(const void *key, void *val, void *ctx)
{
	struct apply *a = ctx;
	uint64_t id;

	(void)val;
	memcpy(&id, key, sizeof(id));
	if (htab_get(a->seen, &id) == SELECTED)
		return false;
	if (a->s->cfg.set(a->s->cfg.set_ctx, id, false) != 0)
		return false;
	a->s->stats.removed++;
	return true;
}

static void add_one(struct ebt_select_sync *s, uint64_t id)
{
	int err = 0;

	if (htab_get(s->in_map, &id))
		return;
	if (htab_len(s->in_map) >= s->cfg.max_ids ||
	    s->cfg.set(s->cfg.set_ctx, id, true) != 0) {
		s->stats.full++;
		if (!s->warned_full)
			log_warn("pod selection: the cgroup filter is full "
				 "(%u cgroups); further selected containers "
				 "are not traced", s->cfg.max_ids);
		s->warned_full = true;
		return;
	}
	htab_put(s->in_map, &id, SELECTED, &err);
	s->stats.added++;
}

/* seen entries that are selected: added (htab_sweep keeps them). */
static bool add_new(const void *key, void *val, void *ctx)
{
	struct apply *a = ctx;
	uint64_t id;

	memcpy(&id, key, sizeof(id));
	if (val == SELECTED)
		add_one(a->s, id);
	return false;
}

static void scan(struct ebt_select_sync *s)
{
	struct htab *seen = htab_new(sizeof(uint64_t));
	struct apply a = { .s = s, .seen = seen };

	if (!seen)
		return;
	scan_proc(s, seen);
	pthread_mutex_lock(&s->lock);
	htab_sweep(s->in_map, drop_stale, &a);
	htab_sweep(seen, add_new, &a);
	s->stats.scans++;
	s->stats.selected = (unsigned)htab_len(s->in_map);
	pthread_mutex_unlock(&s->lock);
	htab_free(seen, NULL);
}

/* ---- the thread ------------------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Did what CRI or the API server publishes change since the last scan? */
static bool views_changed(struct ebt_select_sync *s)
{
	uint64_t c = s->cfg.cri ? ebt_cri_version(s->cfg.cri) : 0;
	uint64_t k = s->cfg.k8s ? ebt_k8s_version(s->cfg.k8s) : 0;
	bool changed = c != s->cri_version || k != s->k8s_version;

	s->cri_version = c;
	s->k8s_version = k;
	return changed;
}

/* Sleeps up to ms; true when asked to stop. */
static bool nap(struct ebt_select_sync *s, uint64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->stop)
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *run(void *arg)
{
	struct ebt_select_sync *s = arg;
	uint64_t last = now_ms();

	while (!nap(s, WAKE_MS)) {
		if (!views_changed(s) && now_ms() - last < s->cfg.period_ms)
			continue;
		scan(s);
		last = now_ms();
	}
	return NULL;
}

struct ebt_select_sync *ebt_select_sync_start(
	const struct ebt_select_sync_config *cfg)
{
	struct ebt_select_sync *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	snprintf(s->proc, sizeof(s->proc), "%s", cfg->proc ? cfg->proc : "/proc");
	s->mnt = ebt_cgroup2_mount();
	s->in_map = htab_new(sizeof(uint64_t));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!s->in_map || !s->mnt) {
		if (!s->mnt)
			log_warn("pod selection: no cgroup2 mount; nothing can "
				 "be selected by pod");
		goto fail;
	}
	views_changed(s);
	scan(s);
	if (pthread_create(&s->thread, NULL, run, s) != 0)
		goto fail;
	return s;
fail:
	htab_free(s->in_map, NULL);
	free(s);
	return NULL;
}

void ebt_select_sync_stop(struct ebt_select_sync *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	htab_free(s->in_map, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void ebt_select_sync_stats(struct ebt_select_sync *s,
			   struct ebt_select_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
