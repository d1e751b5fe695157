/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRI metadata map: container id -> {pod, container name}, built from
 * the serialized responses of ListPodSandbox, ListContainers and
 * PodSandboxStatus (protobuf-c decodes them). Pure: no I/O.
 */
#include "cri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri_api.pb-c.h"
#include "htab.h"

struct ebt_cri_ctr {
	char *name;
	struct ebt_pod *pod; /* borrowed from the map's pods table */
};

struct ebt_cri_map {
	struct htab *pods; /* sandbox id key -> struct ebt_pod* (one ref) */
	struct htab *ctrs; /* container id key -> struct ebt_cri_ctr* */
};

/* Fixed-size, zero-padded table key of an id; false if too long/empty. */
static bool id_key(const char *id, char key[CRI_ID_MAX])
{
	size_t n = id ? strnlen(id, CRI_ID_MAX + 1) : 0;

	if (n == 0 || n > CRI_ID_MAX)
		return false;
	memset(key, 0, CRI_ID_MAX);
	memcpy(key, id, n);
	return true;
}

/* ---- pods ------------------------------------------------------------- */

struct ebt_pod *ebt_pod_ref(struct ebt_pod *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void ebt_pod_unref(struct ebt_pod *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	ebt_kv_free(p->labels, p->n_labels);
	ebt_kv_free(p->annotations, p->n_annotations);
	free(p->sandbox_id);
	free(p->name);
	free(p->ns);
	free(p->uid);
	free(p->ip);
	free(p);
}

const char *ebt_pod_label(const struct ebt_pod *p, const char *key)
{
	return ebt_kv_get(p->labels, p->n_labels, key);
}

const char *ebt_pod_annotation(const struct ebt_pod *p, const char *key)
{
	return ebt_kv_get(p->annotations, p->n_annotations, key);
}

/* A bounded copy: strings longer than max are refused (NULL), not cut. */
static char *bounded_dup(const char *s, size_t max)
{
	if (!s || strnlen(s, max + 1) > max)
		return NULL;
	return strdup(s);
}

/* One label or annotation; too long ones are skipped, not truncated. */
static void add_kv(struct ebt_kv *out, unsigned *n, const char *key,
		   const char *value)
{
	char *k, *v;

	if (*n >= CRI_MAX_KV)
		return;
	k = bounded_dup(key, CRI_NAME_MAX);
	v = k ? bounded_dup(value, CRI_VALUE_MAX) : NULL;
	if (!k || !v) {
		free(k);
		free(v);
		return;
	}
	out[*n].key = k;
	out[(*n)++].value = v;
}

static void copy_kvs(struct ebt_pod *p, const Runtime__V1__PodSandbox *s)
{
	for (size_t i = 0; i < s->n_labels; i++)
		add_kv(p->labels, &p->n_labels, s->labels[i]->key,
		       s->labels[i]->value);
	for (size_t i = 0; i < s->n_annotations; i++)
		add_kv(p->annotations, &p->n_annotations,
		       s->annotations[i]->key, s->annotations[i]->value);
}

static struct ebt_pod *pod_new(const Runtime__V1__PodSandbox *s)
{
	const Runtime__V1__PodSandboxMetadata *md = s->metadata;
	struct ebt_pod *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	p->sandbox_id = bounded_dup(s->id, CRI_ID_MAX);
	p->name = bounded_dup(md ? md->name : "", CRI_NAME_MAX);
	p->ns = bounded_dup(md ? md->namespace_ : "", CRI_NAME_MAX);
	p->uid = bounded_dup(md ? md->uid : "", CRI_NAME_MAX);
	p->ip = strdup("");
	copy_kvs(p, s);
	if (!p->sandbox_id || !p->name || !p->ns || !p->uid || !p->ip) {
		ebt_pod_unref(p);
		return NULL;
	}
	return p;
}

/* ---- the map ---------------------------------------------------------- */

static void free_pod_val(void *v)
{
	ebt_pod_unref(v);
}

static void free_ctr_val(void *v)
{
	struct ebt_cri_ctr *c = v;

	free(c->name);
	free(c);
}

void ebt_cri_map_free(struct ebt_cri_map *m)
{
	if (!m)
		return;
	if (m->ctrs)
		htab_free(m->ctrs, free_ctr_val);
	if (m->pods)
		htab_free(m->pods, free_pod_val);
	free(m);
}

size_t ebt_cri_map_pods(const struct ebt_cri_map *m)
{
	return htab_len(m->pods);
}

size_t ebt_cri_map_containers(const struct ebt_cri_map *m)
{
	return htab_len(m->ctrs);
}

static void carry_ip(struct ebt_pod *p, const struct ebt_cri_map *prev,
		     const char key[CRI_ID_MAX])
{
	const struct ebt_pod *old = prev ? htab_get(prev->pods, key) : NULL;
	char *ip;

	if (!old || !old->ip_known || !(ip = strdup(old->ip)))
		return;
	free(p->ip);
	p->ip = ip;
	p->ip_known = true;
}

/* 1 added, 0 skipped, -1 out of memory. */
static int add_pod(struct ebt_cri_map *m, const Runtime__V1__PodSandbox *s,
		   const struct ebt_cri_map *prev)
{
	char key[CRI_ID_MAX];
	struct ebt_pod *p;
	int err = 0;

	if (!id_key(s->id, key) || htab_get(m->pods, key))
		return 0;
	p = pod_new(s);
	if (!p)
		return -1;
	carry_ip(p, prev, key);
	htab_put(m->pods, key, p, &err);
	if (err) {
		ebt_pod_unref(p);
		return -1;
	}
	return 1;
}

static int add_ctr(struct ebt_cri_map *m, const Runtime__V1__Container *c)
{
	char key[CRI_ID_MAX], pkey[CRI_ID_MAX];
	struct ebt_cri_ctr *e;
	struct ebt_pod *p;
	int err = 0;

	if (!id_key(c->id, key) || !id_key(c->pod_sandbox_id, pkey) ||
	    htab_get(m->ctrs, key) || !(p = htab_get(m->pods, pkey)))
		return 0; /* a container of a pod we do not know: skipped */
	e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->pod = p;
	e->name = bounded_dup(c->metadata ? c->metadata->name : "",
			      CRI_NAME_MAX);
	if (!e->name)
		e->name = strdup("");
	if (e->name)
		htab_put(m->ctrs, key, e, &err);
	if (!e->name || err) {
		free_ctr_val(e);
		return -1;
	}
	return 1;
}

static int fill_pods(struct ebt_cri_map *m,
		     const Runtime__V1__ListPodSandboxResponse *pr,
		     const struct ebt_cri_map *prev, bool *truncated)
{
	for (size_t i = 0; i < pr->n_items; i++) {
		if (htab_len(m->pods) >= CRI_MAX_PODS) {
			*truncated = true;
			break;
		}
		if (add_pod(m, pr->items[i], prev) < 0)
			return -1;
	}
	return 0;
}

static int fill_ctrs(struct ebt_cri_map *m,
		     const Runtime__V1__ListContainersResponse *cr,
		     bool *truncated)
{
	for (size_t i = 0; i < cr->n_containers; i++) {
		if (htab_len(m->ctrs) >= CRI_MAX_CONTAINERS) {
			*truncated = true;
			break;
		}
		if (add_ctr(m, cr->containers[i]) < 0)
			return -1;
	}
	return 0;
}

static struct ebt_cri_map *map_new(void)
{
	struct ebt_cri_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pods = htab_new(CRI_ID_MAX);
	m->ctrs = htab_new(CRI_ID_MAX);
	if (!m->pods || !m->ctrs) {
		ebt_cri_map_free(m);
		return NULL;
	}
	return m;
}

struct ebt_cri_map *ebt_cri_map_build(const uint8_t *pods, size_t pods_len,
				      const uint8_t *ctrs, size_t ctrs_len,
				      const struct ebt_cri_map *prev,
				      bool *truncated, char *err,
				      size_t errlen)
{
	Runtime__V1__ListPodSandboxResponse *pr;
	Runtime__V1__ListContainersResponse *cr = NULL;
	struct ebt_cri_map *m = NULL;

	*truncated = false;
	pr = runtime__v1__list_pod_sandbox_response__unpack(NULL, pods_len,
							    pods);
	if (pr)
		cr = runtime__v1__list_containers_response__unpack(
			NULL, ctrs_len, ctrs);
	if (!pr || !cr) {
		snprintf(err, errlen, "cannot decode the %s response",
			 pr ? "ListContainers" : "ListPodSandbox");
		goto out;
	}
	m = map_new();
	if (!m || fill_pods(m, pr, prev, truncated) != 0 ||
	    fill_ctrs(m, cr, truncated) != 0) {
		snprintf(err, errlen, "out of memory");
		ebt_cri_map_free(m);
		m = NULL;
	}
out:
	if (cr)
		runtime__v1__list_containers_response__free_unpacked(cr, NULL);
	if (pr)
		runtime__v1__list_pod_sandbox_response__free_unpacked(pr, NULL);
	return m;
}

struct need_ctx {
	char (*ids)[CRI_ID_MAX + 1];
	size_t n, max;
};

static bool need_one(const void *key, void *val, void *ctx)
{
	struct need_ctx *c = ctx;
	const struct ebt_pod *p = val;

	(void)key;
	if (!p->ip_known && c->n < c->max)
		snprintf(c->ids[c->n++], CRI_ID_MAX + 1, "%s", p->sandbox_id);
	return false;
}

size_t ebt_cri_map_need_status(const struct ebt_cri_map *m,
			       char (*ids)[CRI_ID_MAX + 1], size_t max)
{
	struct need_ctx c = { .ids = ids, .max = max };

	htab_sweep(m->pods, need_one, &c);
	return c.n;
}

int ebt_cri_map_set_status(struct ebt_cri_map *m, const uint8_t *pb,
			   size_t len)
{
	Runtime__V1__PodSandboxStatusResponse *r;
	const Runtime__V1__PodSandboxStatus *st;
	struct ebt_pod *p = NULL;
	char key[CRI_ID_MAX], *ip = NULL;
	int rc = -1;

	r = runtime__v1__pod_sandbox_status_response__unpack(NULL, len, pb);
	st = r ? r->status : NULL;
	if (st && id_key(st->id, key) && (p = htab_get(m->pods, key))) {
		ip = bounded_dup(st->network ? st->network->ip : "",
				 CRI_NAME_MAX);
		rc = ip ? 0 : -1;
	}
	if (ip) {
		free(p->ip);
		p->ip = ip;
		p->ip_known = true;
	}
	if (r)
		runtime__v1__pod_sandbox_status_response__free_unpacked(r,
									NULL);
	return rc;
}

/* FNV-1a of a string, with a terminator so "ab"+"c" != "a"+"bc". */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

static bool digest_ctr(const void *key, void *val, void *ctx)
{
	const struct ebt_cri_ctr *c = val;
	uint64_t h = 0xcbf29ce484222325ULL;
	char id[CRI_ID_MAX + 1];

	memcpy(id, key, CRI_ID_MAX);
	id[CRI_ID_MAX] = '\0';
	h = fnv(fnv(fnv(fnv(h, id), c->name), c->pod->sandbox_id), c->pod->ip);
	*(uint64_t *)ctx ^= h;
	return false;
}

uint64_t ebt_cri_map_digest(const struct ebt_cri_map *m)
{
	uint64_t d = 0;

	htab_sweep(m->ctrs, digest_ctr, &d);
	return d;
}

struct ebt_pod *ebt_cri_map_lookup(const struct ebt_cri_map *m,
				   const char *container_id, char *ctr,
				   size_t ctrsz)
{
	char key[CRI_ID_MAX];
	const struct ebt_cri_ctr *c;

	if (!m || !id_key(container_id, key) || !(c = htab_get(m->ctrs, key)))
		return NULL;
	if (ctr && ctrsz)
		snprintf(ctr, ctrsz, "%s", c->name);
	return ebt_pod_ref(c->pod);
}

struct find_ctx {
	const char *ns, *pod, *ctr;
	char (*ids)[CRI_ID_MAX + 1];
	size_t max, n;
};

static bool find_one(const void *key, void *val, void *ctx)
{
	const struct ebt_cri_ctr *c = val;
	struct find_ctx *f = ctx;

	if (!c->pod->name || !c->pod->ns || strcmp(c->pod->name, f->pod) ||
	    strcmp(c->pod->ns, f->ns) || (f->ctr && strcmp(c->name, f->ctr)))
		return false;
	if (f->n < f->max) {
		memcpy(f->ids[f->n], key, CRI_ID_MAX);
		f->ids[f->n][CRI_ID_MAX] = '\0';
		f->n++;
	}
	return false;
}

size_t ebt_cri_map_find(const struct ebt_cri_map *m, const char *ns,
			const char *pod, const char *ctr,
			char (*ids)[CRI_ID_MAX + 1], size_t max)
{
	struct find_ctx f = {.ns = ns, .pod = pod, .ctr = ctr, .ids = ids,
			     .max = max};

	if (m && ns && pod)
		htab_sweep(m->ctrs, find_one, &f);
	return f.n;
}
