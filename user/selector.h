/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod selection: which Kubernetes pods the tracer looks at, by namespace
 * (include and exclude lists of names or shell globs) and by a label
 * selector in the syntax kubectl -l takes:
 *
 *   app=web, tier!=db, env in (prod, staging), track notin (canary),
 *   release, !debug, replicas>2
 *
 * selector.c is pure (parse and match), unit-tested and fuzzed.
 * select_sync.c applies a filter to the running system: it maps processes
 * to pods and keeps the BPF cgroup filter map equal to the cgroups of the
 * selected pods' containers.
 */
#ifndef EBT_SELECTOR_H
#define EBT_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri.h" /* struct ebt_kv */

#define SEL_MAX_REQS 32    /* requirements in one selector */
#define SEL_MAX_VALUES 32  /* values in one in (...) / notin (...) */
#define SEL_KEY_MAX 317    /* prefix (253) + '/' + name (63) */
#define SEL_VALUE_MAX 63

enum ebt_sel_op {
	SEL_EXISTS = 0, /* key */
	SEL_NOT_EXISTS, /* !key */
	SEL_EQ,         /* key=v, key==v, key in (v, ...) */
	SEL_NE,         /* key!=v, key notin (v, ...): also true if absent */
	SEL_GT,         /* key>n: an integer label greater than n */
	SEL_LT,         /* key<n */
};

struct ebt_sel_req {
	enum ebt_sel_op op;
	char key[SEL_KEY_MAX + 1];
	unsigned n_values;
	char values[SEL_MAX_VALUES][SEL_VALUE_MAX + 1];
	long long num; /* SEL_GT, SEL_LT */
};

/* A parsed selector: all requirements must hold (empty: everything). */
struct ebt_labelsel {
	unsigned n;
	struct ebt_sel_req reqs[SEL_MAX_REQS];
};

/* Parses text (NUL-terminated). 0, or -1 with err naming the problem and
 * where it is. */
int ebt_labelsel_parse(const char *text, struct ebt_labelsel *out,
		       char *err, size_t errlen);
bool ebt_labelsel_match(const struct ebt_labelsel *s,
			const struct ebt_kv *labels, unsigned n);

/* A Kubernetes label key (optional DNS-subdomain prefix and '/', then a
 * name of 1-63 [A-Za-z0-9._-] starting and ending alphanumeric). */
bool ebt_label_key_valid(const char *key, size_t len);
/* A label value: empty, or like a key's name part. */
bool ebt_label_value_valid(const char *v, size_t len);

/* ---- the pod filter ----------------------------------------------------- */

struct ebt_pod_filter {
	const char *const *include; /* namespaces or globs; none: all */
	unsigned n_include;
	const char *const *exclude; /* namespaces or globs */
	unsigned n_exclude;
	struct ebt_labelsel sel;
};

/* A namespace pattern: a namespace name, optionally with * ? [..] globs. */
bool ebt_ns_pattern_valid(const char *p);
bool ebt_pod_filter_ns(const struct ebt_pod_filter *f, const char *ns);
/* Is the pod (namespace, labels) selected? */
bool ebt_pod_filter_match(const struct ebt_pod_filter *f, const char *ns,
			  const struct ebt_kv *labels, unsigned n);

/* ---- keeping the BPF cgroup filter in step (select_sync.c) --------------- */

struct ebt_cri;
struct ebt_k8s;
struct ebt_select_sync;

/* Adds (on) or removes a cgroup id from the kernel's filter; 0 or -1. */
typedef int (*ebt_cgroup_set_fn)(void *ctx, uint64_t cgroup_id, bool on);

struct ebt_select_sync_config {
	const struct ebt_pod_filter *filter; /* must outlive the syncer */
	struct ebt_cri *cri;                 /* NULL: none */
	struct ebt_k8s *k8s;                 /* NULL: none */
	ebt_cgroup_set_fn set;
	void *set_ctx;
	unsigned max_ids;                    /* capacity of the kernel map */
	uint64_t period_ms;                  /* rescan of /proc */
	const char *proc;                    /* NULL: /proc */
};

struct ebt_select_stats {
	uint64_t scans, added, removed, full;
	unsigned selected; /* cgroups in the filter now */
};

/* Starts the thread (first scan before returning). NULL: no memory. */
struct ebt_select_sync *ebt_select_sync_start(
	const struct ebt_select_sync_config *cfg);
void ebt_select_sync_stop(struct ebt_select_sync *s);
void ebt_select_sync_stats(struct ebt_select_sync *s,
			   struct ebt_select_stats *out);

#endif /* EBT_SELECTOR_H */
