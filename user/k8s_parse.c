/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure parts of the Kubernetes API client: Pod, PodList, watch events,
 * Status, ownerReferences (cJSON), the owner chain, and the incremental
 * line splitter of watch streams. No I/O.
 */
#include "k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- the pod object ---------------------------------------------------- */

struct ebt_k8s_pod *ebt_k8s_pod_ref(struct ebt_k8s_pod *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void ebt_k8s_pod_unref(struct ebt_k8s_pod *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	free(p->uid);
	free(p->name);
	free(p->ns);
	free(p->node);
	free(p->ip);
	free(p->rv);
	free(p->ctrl_kind);
	free(p->ctrl_name);
	ebt_kv_free(p->labels, p->n_labels);
	ebt_kv_free(p->annotations, p->n_annotations);
	for (int i = 0; i < K8S_KIND__COUNT; i++)
		free(p->workload[i]);
	free(p);
}

const char *ebt_k8s_pod_label(const struct ebt_k8s_pod *p, const char *key)
{
	return p ? ebt_kv_get(p->labels, p->n_labels, key) : NULL;
}

const char *ebt_k8s_pod_annotation(const struct ebt_k8s_pod *p,
				   const char *key)
{
	return p ? ebt_kv_get(p->annotations, p->n_annotations, key) : NULL;
}

const char *ebt_k8s_pod_workload(const struct ebt_k8s_pod *p)
{
	return p && p->top >= 0 && p->top < K8S_KIND__COUNT ?
		       p->workload[p->top] : NULL;
}

static const char *const kind_names[K8S_KIND__COUNT] = {
	"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
	"CronJob",
};

const char *ebt_k8s_kind_attr(enum ebt_k8s_kind k)
{
	static const char *const attrs[K8S_KIND__COUNT] = {
		"k8s.deployment.name", "k8s.replicaset.name",
		"k8s.statefulset.name", "k8s.daemonset.name", "k8s.job.name",
		"k8s.cronjob.name",
	};

	return (unsigned)k < K8S_KIND__COUNT ? attrs[k] : NULL;
}

static int kind_index(const char *kind)
{
	for (int i = 0; kind && i < K8S_KIND__COUNT; i++)
		if (strcmp(kind, kind_names[i]) == 0)
			return i;
	return -1;
}

/* ---- JSON helpers ---------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string of at most max bytes, copied; NULL when absent or too long. */
static char *jdup(const cJSON *o, const char *key, size_t max)
{
	const char *s = jstr(o, key);

	return s && strlen(s) <= max ? strdup(s) : NULL;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* A string map (labels, annotations) into kv; long values are skipped. */
static int take_map(const cJSON *map, struct ebt_kv *kv, unsigned *n)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, map) {
		if (*n >= K8S_MAX_KV)
			break;
		if (!cJSON_IsString(it) || !it->string ||
		    strlen(it->string) > K8S_NAME_MAX ||
		    strlen(it->valuestring) > K8S_VALUE_MAX)
			continue;
		kv[*n].key = strdup(it->string);
		kv[*n].value = strdup(it->valuestring);
		if (!kv[*n].key || !kv[*n].value) {
			free(kv[*n].key);
			free(kv[*n].value);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* The ownerReference with controller: true, if any. */
static const cJSON *controller_ref(const cJSON *meta)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta,
							     "ownerReferences");
	const cJSON *r;

	cJSON_ArrayForEach(r, refs) {
		const char *kind = jstr(r, "kind"), *name = jstr(r, "name");

		/* an owner without a kind or a name is no owner (fuzz_k8s) */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			    r, "controller")) &&
		    kind && kind[0] && name && name[0])
			return r;
	}
	return NULL;
}

static int pod_meta(struct ebt_k8s_pod *p, const cJSON *meta)
{
	const cJSON *ref = controller_ref(meta);

	p->uid = jdup(meta, "uid", K8S_UID_MAX);
	p->name = jdup(meta, "name", K8S_NAME_MAX);
	p->ns = jdup(meta, "namespace", K8S_NAME_MAX);
	p->rv = jdup(meta, "resourceVersion", K8S_RV_MAX);
	if (!p->uid || !p->name || !p->ns || !p->uid[0] || !p->name[0])
		return -1;
	if (ref) {
		p->ctrl_kind = jdup(ref, "kind", K8S_NAME_MAX);
		p->ctrl_name = jdup(ref, "name", K8S_NAME_MAX);
	}
	if (take_map(cJSON_GetObjectItemCaseSensitive(meta, "labels"),
		     p->labels, &p->n_labels) != 0 ||
	    take_map(cJSON_GetObjectItemCaseSensitive(meta, "annotations"),
		     p->annotations, &p->n_annotations) != 0)
		return -1;
	return 0;
}

/* A parsed Pod object -> pod; NULL when it lacks uid/name/namespace. */
static struct ebt_k8s_pod *pod_from(const cJSON *o, char *err, size_t errlen)
{
	struct ebt_k8s_pod *p = calloc(1, sizeof(*p));
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
	const char *ip = jstr(st, "podIP");
	const char *node = jstr(spec, "nodeName");

	if (!p) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&p->refs, 1);
	p->top = -1;
	if (!cJSON_IsObject(o) ||
	    pod_meta(p, cJSON_GetObjectItemCaseSensitive(o, "metadata")) != 0) {
		set_err(err, errlen, "pod without metadata uid, name and "
			"namespace (or out of memory)");
		ebt_k8s_pod_unref(p);
		return NULL;
	}
	p->ip = strdup(ip && strlen(ip) <= 64 ? ip : "");
	p->node = strdup(node && strlen(node) <= K8S_NAME_MAX ? node : "");
	if (!p->ip || !p->node) {
		set_err(err, errlen, "out of memory");
		ebt_k8s_pod_unref(p);
		return NULL;
	}
	return p;
}

struct ebt_k8s_pod *ebt_k8s_pod_parse(const char *json, size_t len,
				      char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	struct ebt_k8s_pod *p;

	if (!o) {
		set_err(err, errlen, "pod: not JSON");
		return NULL;
	}
	p = pod_from(o, err, errlen);
	cJSON_Delete(o);
	return p;
}

/* ---- watch events, lists, status ------------------------------------------ */

static const char *const event_names[] = {
	"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR",
};

static int event_type(const char *s)
{
	for (int i = 0; s && i < (int)(sizeof(event_names) /
				       sizeof(event_names[0])); i++)
		if (strcmp(s, event_names[i]) == 0)
			return i;
	return -1;
}

/* code and message of a Status object. */
static void status_of(const cJSON *o, int *code, char *msg, size_t msgsz)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "code");
	const char *m = jstr(o, "message");

	*code = cJSON_IsNumber(c) ? c->valueint : 0;
	if (msg && msgsz)
		snprintf(msg, msgsz, "%s", m ? m : "");
}

static int event_from(const cJSON *o, struct ebt_k8s_event *ev, char *err,
		      size_t errlen)
{
	int t = event_type(jstr(o, "type"));
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(o, "object");
	const char *rv;

	if (t < 0 || !cJSON_IsObject(obj)) {
		set_err(err, errlen, "watch event without a known type and "
			"an object");
		return -1;
	}
	ev->type = (enum ebt_k8s_event_type)t;
	if (ev->type == K8S_EV_ERROR) {
		status_of(obj, &ev->code, ev->message, sizeof(ev->message));
		return 0;
	}
	rv = jstr(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
		  "resourceVersion");
	if (rv && strlen(rv) <= K8S_RV_MAX)
		snprintf(ev->rv, sizeof(ev->rv), "%s", rv);
	if (ev->type == K8S_EV_BOOKMARK)
		return ev->rv[0] ? 0 : (set_err(err, errlen, "bookmark "
						"without resourceVersion"), -1);
	ev->pod = pod_from(obj, err, errlen);
	return ev->pod ? 0 : -1;
}

int ebt_k8s_watch_line_parse(const char *line, size_t len,
			     struct ebt_k8s_event *ev, char *err,
			     size_t errlen)
{
	cJSON *o;
	int rc;

	memset(ev, 0, sizeof(*ev));
	o = cJSON_ParseWithLength(line, len);
	if (!o) {
		set_err(err, errlen, "watch event: not JSON");
		return -1;
	}
	rc = event_from(o, ev, err, errlen);
	cJSON_Delete(o);
	return rc;
}

int ebt_k8s_status_parse(const char *json, size_t len, int *code,
			 char *message, size_t msgsz)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const char *kind = jstr(o, "kind");
	int rc = -1;

	if (kind && strcmp(kind, "Status") == 0) {
		status_of(o, code, message, msgsz);
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}

static int list_meta(const cJSON *o, struct ebt_k8s_list *out)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const char *rv = jstr(meta, "resourceVersion");
	const char *cont = jstr(meta, "continue");

	if (!rv || strlen(rv) > K8S_RV_MAX)
		return -1;
	snprintf(out->rv, sizeof(out->rv), "%s", rv);
	if (cont && cont[0] && !(out->cont = strdup(cont)))
		return -1;
	return 0;
}

int ebt_k8s_list_parse(const char *json, size_t len,
		       void (*fn)(void *ctx, struct ebt_k8s_pod *p), void *ctx,
		       struct ebt_k8s_list *out, char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *items, *it;

	memset(out, 0, sizeof(*out));
	if (!o) {
		set_err(err, errlen, "pod list: not JSON");
		return -1;
	}
	items = cJSON_GetObjectItemCaseSensitive(o, "items");
	if (list_meta(o, out) != 0 || !(cJSON_IsArray(items) ||
					cJSON_IsNull(items))) {
		set_err(err, errlen, "pod list without metadata."
			"resourceVersion and items");
		free(out->cont);
		out->cont = NULL;
		cJSON_Delete(o);
		return -1;
	}
	cJSON_ArrayForEach(it, items) {
		struct ebt_k8s_pod *p = pod_from(it, NULL, 0);

		if (p) {
			out->items++;
			fn(ctx, p);
		} else {
			out->bad_items++;
		}
	}
	cJSON_Delete(o);
	return 0;
}

int ebt_k8s_controller_parse(const char *json, size_t len, char *kind,
			     size_t kindsz, char *name, size_t namesz)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *ref;
	int rc = 0;

	if (!o)
		return -1;
	ref = controller_ref(cJSON_GetObjectItemCaseSensitive(o, "metadata"));
	if (ref && strlen(jstr(ref, "kind")) < kindsz &&
	    strlen(jstr(ref, "name")) < namesz) {
		snprintf(kind, kindsz, "%s", jstr(ref, "kind"));
		snprintf(name, namesz, "%s", jstr(ref, "name"));
		rc = 1;
	}
	cJSON_Delete(o);
	return rc;
}

/* ---- owner chain --------------------------------------------------------------- */

enum ebt_k8s_fetch ebt_k8s_owner_fetch(const char *ctrl_kind)
{
	if (!ctrl_kind)
		return K8S_FETCH_NONE;
	if (strcmp(ctrl_kind, "ReplicaSet") == 0)
		return K8S_FETCH_REPLICASET;
	if (strcmp(ctrl_kind, "Job") == 0)
		return K8S_FETCH_JOB;
	return K8S_FETCH_NONE;
}

int ebt_k8s_owner_path(enum ebt_k8s_fetch f, const char *ns,
		       const char *name, char *out, size_t outsz)
{
	const char *group = f == K8S_FETCH_REPLICASET ? "apis/apps/v1" :
			    "apis/batch/v1";
	const char *res = f == K8S_FETCH_REPLICASET ? "replicasets" : "jobs";
	int n;

	if (f == K8S_FETCH_NONE)
		return -1;
	n = snprintf(out, outsz, "%s/namespaces/%s/%s/%s", group, ns, res,
		     name);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static int set_kind(struct ebt_k8s_pod *p, int k, const char *name)
{
	free(p->workload[k]);
	p->workload[k] = strdup(name);
	if (!p->workload[k])
		return -1;
	p->top = k;
	return 0;
}

int ebt_k8s_owner_apply(struct ebt_k8s_pod *p, const char *parent_kind,
			const char *parent_name)
{
	int k = kind_index(p->ctrl_kind), pk = kind_index(parent_kind);
	enum ebt_k8s_fetch f = ebt_k8s_owner_fetch(p->ctrl_kind);

	for (int i = 0; i < K8S_KIND__COUNT; i++) {
		free(p->workload[i]);
		p->workload[i] = NULL;
	}
	p->top = -1;
	if (k < 0 || !p->ctrl_name)
		return 0; /* no controller, or one of no known kind */
	if (set_kind(p, k, p->ctrl_name) != 0)
		return -1;
	if (!parent_name || !parent_name[0])
		return 0;
	/* only the chains Kubernetes' own controllers build */
	if ((f == K8S_FETCH_REPLICASET && pk == K8S_DEPLOYMENT) ||
	    (f == K8S_FETCH_JOB && pk == K8S_CRONJOB))
		return set_kind(p, pk, parent_name);
	return 0;
}

/* ---- line splitter ------------------------------------------------------------ */

void ebt_k8s_lines_init(struct ebt_k8s_lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void ebt_k8s_lines_free(struct ebt_k8s_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

static int append(struct ebt_k8s_lines *l, const char *p, size_t n)
{
	size_t cap;
	char *b;

	if (l->overflow || n == 0)
		return 0;
	if (l->len + n > l->max) {
		l->overflow = true; /* skip to the end of this line */
		l->dropped++;
		l->len = 0;
		return 0;
	}
	if (l->len + n > l->cap) {
		cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n)
			cap *= 2;
		b = realloc(l->buf, cap);
		if (!b)
			return -1;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

int ebt_k8s_lines_feed(struct ebt_k8s_lines *l, const char *p, size_t n,
		       int (*fn)(void *ctx, const char *line, size_t len),
		       void *ctx)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		int rc = 0;

		if (append(l, p, take) != 0)
			return -1;
		if (!nl)
			return 0;
		if (!l->overflow && l->len > 0)
			rc = fn(ctx, l->buf, l->len);
		l->len = 0;
		l->overflow = false;
		p += take + 1;
		n -= take + 1;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- retry delay ----------------------------------------------------------- */

uint64_t ebt_k8s_backoff(unsigned attempt, uint64_t min_ms, uint64_t max_ms,
			 double jitter)
{
	uint64_t d = min_ms ? min_ms : 1;

	for (unsigned i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* jitter in [0,1): the delay lands in [d/2, d) */
	return d / 2 + (uint64_t)((double)(d - d / 2) * jitter);
}
