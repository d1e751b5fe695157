/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod metadata from the Kubernetes API server, for what CRI cannot give:
 * the owner workload (Deployment via its ReplicaSet, StatefulSet,
 * DaemonSet, Job, CronJob via its Job), and everything else when there is
 * no CRI socket.
 *
 * k8s_parse.c (pure): pod JSON -> struct, watch line -> event, LIST page,
 * a controller's ownerReference, the owner chain, kubeconfig YAML ->
 * connection settings, and an incremental line splitter for the chunked
 * watch stream. Unit-tested and fuzzed.
 * k8s.c: the client. One thread LISTs the pods of this node
 * (fieldSelector=spec.nodeName), WATCHes from the list's resourceVersion,
 * resolves owners (GET, cached) and publishes pods by uid under a lock;
 * on 410 Gone or a dropped watch it LISTs again, on errors it logs once
 * and retries with backoff. Lookups never touch the network.
 */
#ifndef EBT_K8S_H
#define EBT_K8S_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri.h" /* struct ebt_kv */

#define K8S_MAX_PODS 4096        /* pods kept (one node: a few hundred) */
#define K8S_MAX_KV 64            /* labels, and annotations, per pod */
#define K8S_NAME_MAX 253         /* names, namespaces, label keys */
#define K8S_VALUE_MAX 1024       /* longer label/annotation values: skipped */
#define K8S_UID_MAX 64
#define K8S_RV_MAX 64            /* resourceVersion */
#define K8S_LINE_MAX (4u << 20)  /* one watch event */
#define K8S_PAGE_MAX (64u << 20) /* one LIST page / GET response */
#define K8S_OWNER_CACHE 2048     /* ReplicaSet/Job -> owner entries */

/* The workload a pod belongs to: each kind's name, NULL when not. */
enum ebt_k8s_kind {
	K8S_DEPLOYMENT = 0,
	K8S_REPLICASET,
	K8S_STATEFULSET,
	K8S_DAEMONSET,
	K8S_JOB,
	K8S_CRONJOB,
	K8S_KIND__COUNT,
};

/* One pod; immutable once published, shared, refcounted. */
struct ebt_k8s_pod {
	atomic_int refs;
	char *uid;
	char *name;
	char *ns;
	char *node;
	char *ip;          /* "" when not assigned yet */
	char *rv;          /* resourceVersion */
	char *ctrl_kind;   /* the controller ownerReference, NULL if none */
	char *ctrl_name;
	struct ebt_kv labels[K8S_MAX_KV];
	unsigned n_labels;
	struct ebt_kv annotations[K8S_MAX_KV];
	unsigned n_annotations;
	char *workload[K8S_KIND__COUNT]; /* filled by ebt_k8s_owner_apply */
	int top;           /* the outermost known kind (service.name); -1 */
};

struct ebt_k8s_pod *ebt_k8s_pod_ref(struct ebt_k8s_pod *p);
void ebt_k8s_pod_unref(struct ebt_k8s_pod *p);
const char *ebt_k8s_pod_label(const struct ebt_k8s_pod *p, const char *key);
const char *ebt_k8s_pod_annotation(const struct ebt_k8s_pod *p,
				   const char *key);
/* Name of the outermost workload (Deployment over its ReplicaSet, CronJob
 * over its Job), NULL when the pod has no known controller. */
const char *ebt_k8s_pod_workload(const struct ebt_k8s_pod *p);
/* "k8s.deployment.name", ... */
const char *ebt_k8s_kind_attr(enum ebt_k8s_kind k);

/* ---- pure parsing (k8s_parse.c) ------------------------------------------ */

/* A Pod object (JSON text) -> new pod with refs 1; NULL with err set. */
struct ebt_k8s_pod *ebt_k8s_pod_parse(const char *json, size_t len,
				      char *err, size_t errlen);

enum ebt_k8s_event_type {
	K8S_EV_ADDED = 0,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR,
};

struct ebt_k8s_event {
	enum ebt_k8s_event_type type;
	struct ebt_k8s_pod *pod; /* ADDED/MODIFIED/DELETED; caller unrefs */
	char rv[K8S_RV_MAX + 1]; /* object's resourceVersion (BOOKMARK too) */
	int code;                /* ERROR: the Status code, e.g. 410 */
	char message[256];       /* ERROR: the Status message */
};

/* One line of a watch stream -> event. 0, or -1 with err set. */
int ebt_k8s_watch_line_parse(const char *line, size_t len,
			     struct ebt_k8s_event *ev, char *err,
			     size_t errlen);

/* A PodList page: calls fn for every pod (fn takes the reference). */
struct ebt_k8s_list {
	char rv[K8S_RV_MAX + 1];   /* metadata.resourceVersion */
	char *cont;                /* metadata.continue, malloc'd, or NULL */
	size_t items, bad_items;
};
int ebt_k8s_list_parse(const char *json, size_t len,
		       void (*fn)(void *ctx, struct ebt_k8s_pod *p), void *ctx,
		       struct ebt_k8s_list *out, char *err, size_t errlen);

/* A Status object (error responses): code, reason, message. 0 if one. */
int ebt_k8s_status_parse(const char *json, size_t len, int *code,
			 char *message, size_t msgsz);

/* The controller ownerReference of any object (a ReplicaSet, a Job).
 * 1 found, 0 none, -1 bad JSON. */
int ebt_k8s_controller_parse(const char *json, size_t len, char *kind,
			     size_t kindsz, char *name, size_t namesz);

/* ---- owner chain (pure) ---------------------------------------------------- */

enum ebt_k8s_fetch {
	K8S_FETCH_NONE = 0,  /* the pod's controller is the workload */
	K8S_FETCH_REPLICASET, /* its owner may be a Deployment */
	K8S_FETCH_JOB,        /* its owner may be a CronJob */
};

/* What must be fetched to resolve a controller of this kind. */
enum ebt_k8s_fetch ebt_k8s_owner_fetch(const char *ctrl_kind);
/* API path of that object (no leading slash). -1 if it does not fit. */
int ebt_k8s_owner_path(enum ebt_k8s_fetch f, const char *ns,
		       const char *name, char *out, size_t outsz);
/*
 * Fills p->workload/top from its controller and, for a ReplicaSet or
 * Job, that object's own controller (parent_kind NULL: unknown or none).
 * Returns -1 out of memory.
 */
int ebt_k8s_owner_apply(struct ebt_k8s_pod *p, const char *parent_kind,
			const char *parent_name);

/* Delay before retry number attempt (1, 2, ...): doubling from min_ms up
 * to max_ms, spread by jitter in [0,1) over [d/2, d). Pure. */
uint64_t ebt_k8s_backoff(unsigned attempt, uint64_t min_ms, uint64_t max_ms,
			 double jitter);

/* ---- incremental line splitter for chunked watch bodies ------------------- */

struct ebt_k8s_lines {
	char *buf;
	size_t len, cap, max;
	bool overflow; /* a line longer than max: dropped up to its end */
	size_t dropped; /* lines dropped that way */
};
void ebt_k8s_lines_init(struct ebt_k8s_lines *l, size_t max);
void ebt_k8s_lines_free(struct ebt_k8s_lines *l);
/* Calls fn for each complete, non-empty line (without the newline).
 * fn returning non-zero stops and is returned. -1: out of memory. */
int ebt_k8s_lines_feed(struct ebt_k8s_lines *l, const char *p, size_t n,
		       int (*fn)(void *ctx, const char *line, size_t len),
		       void *ctx);

/* ---- connection settings ---------------------------------------------------- */

struct ebt_k8s_conn_cfg {
	char *server;      /* https://host:port */
	char *ca_file;     /* PEM file, or */
	char *ca_data;     /* PEM bytes (certificate-authority-data) */
	size_t ca_len;
	char *cert_file, *key_file;
	char *cert_data, *key_data;
	size_t cert_len, key_len;
	char *token;       /* bearer token */
	char *token_file;  /* re-read periodically (service accounts) */
	bool insecure;     /* insecure-skip-tls-verify */
};
void ebt_k8s_conn_cfg_free(struct ebt_k8s_conn_cfg *c);

/* A kubeconfig file's text -> the current context's cluster and user.
 * dir: the file's directory, for relative paths. 0, or -1 with err. */
int ebt_kubeconfig_parse(const char *text, size_t len, const char *dir,
			 struct ebt_k8s_conn_cfg *out, char *err,
			 size_t errlen);
/* Reads and parses a kubeconfig file (relative paths: from its
 * directory). On success err may hold a warning. */
int ebt_kubeconfig_load(const char *path, struct ebt_k8s_conn_cfg *out,
			char *err, size_t errlen);
/* The same with the named context instead of current-context (NULL or
 * "": current-context), as kubectl's --context. */
int ebt_kubeconfig_parse_context(const char *text, size_t len,
				 const char *dir, const char *context,
				 struct ebt_k8s_conn_cfg *out, char *err,
				 size_t errlen);
int ebt_kubeconfig_load_context(const char *path, const char *context,
				struct ebt_k8s_conn_cfg *out, char *err,
				size_t errlen);
/* RFC 4648 base64 (whitespace ignored) -> malloc'd bytes; -1 if bad. */
int ebt_base64_decode(const char *s, size_t len, char **out,
		      size_t *outlen);

/* ---- the client (k8s.c) ----------------------------------------------------- */

enum ebt_k8s_mode { K8S_MODE_AUTO = 0, K8S_MODE_ON, K8S_MODE_OFF };

struct ebt_k8s_config {
	const char *kubeconfig; /* NULL/"": in-cluster */
	const char *node;       /* spec.nodeName of the pods to list */
	uint64_t timeout_ms;    /* connect and one non-watch request */
	uint64_t watch_s;       /* timeoutSeconds of one watch */
	uint64_t backoff_min_ms, backoff_max_ms;
	uint64_t token_reread_ms;
};

/* Settings for in-cluster use from the environment and the service
 * account files under dir (NULL: the standard path). -1 with err. */
int ebt_k8s_incluster(const char *dir, struct ebt_k8s_conn_cfg *out,
		      char *err, size_t errlen);

struct ebt_k8s;

/* Starts the thread with settings cc (taken over). NULL: no memory. */
struct ebt_k8s *ebt_k8s_start(const struct ebt_k8s_config *cfg,
			      struct ebt_k8s_conn_cfg *cc);
void ebt_k8s_stop(struct ebt_k8s *k);
/* Pod by uid, referenced (ebt_k8s_pod_unref it), or NULL. Never blocks
 * on the network. */
struct ebt_k8s_pod *ebt_k8s_lookup(struct ebt_k8s *k, const char *uid);
/* Changes whenever the published pods change. */
uint64_t ebt_k8s_version(struct ebt_k8s *k);
/* true while the last LIST or WATCH succeeded. */
bool ebt_k8s_synced(struct ebt_k8s *k);
/* Counters, for tests and metrics. */
struct ebt_k8s_stats {
	uint64_t lists, watches, events, resyncs_gone, errors, owner_gets;
	size_t pods;
};
void ebt_k8s_get_stats(struct ebt_k8s *k, struct ebt_k8s_stats *s);
/* Calls fn for every published pod (under the lock: keep fn short). */
void ebt_k8s_foreach(struct ebt_k8s *k,
		     void (*fn)(void *ctx, const struct ebt_k8s_pod *p),
		     void *ctx);

#endif /* EBT_K8S_H */
