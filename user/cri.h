/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod metadata from the node's container runtime through the Kubernetes
 * CRI (runtime.v1.RuntimeService, gRPC over the runtime's unix socket).
 *
 * cri_map.c (pure): a map container id -> {pod, container name} built from
 * the protobuf bytes of ListPodSandbox + ListContainers (+ PodSandboxStatus
 * for the pod IP), bounded in size.
 * cri.c: the client. One thread polls the socket (libcurl, HTTP/2 prior
 * knowledge) every few seconds, or earlier when a lookup misses, builds a
 * new map and publishes it under a lock; lookups never touch the socket.
 */
#ifndef EBT_CRI_H
#define EBT_CRI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRI_DEFAULT_SOCKET "/run/containerd/containerd.sock"
#define CRI_ID_MAX 64          /* container and sandbox ids: 64 hex */
#define CRI_MAX_PODS 4096
#define CRI_MAX_CONTAINERS 16384
#define CRI_MAX_KV 64          /* labels, and annotations, kept per pod */
#define CRI_NAME_MAX 253       /* DNS subdomain: pod, namespace, keys */
#define CRI_VALUE_MAX 1024     /* longer label/annotation values: skipped */
#define CRI_RESPONSE_MAX (16u << 20) /* containerd's default send limit */

struct ebt_kv {
	char *key;
	char *value;
};

/* user/kv.c: free the n strings pairs; value of key, NULL if absent. */
void ebt_kv_free(struct ebt_kv *kv, unsigned n);
const char *ebt_kv_get(const struct ebt_kv *kv, unsigned n, const char *key);

/* One pod sandbox; immutable once published, shared, refcounted. */
struct ebt_pod {
	atomic_int refs;
	char *sandbox_id;
	char *name;
	char *ns;
	char *uid;
	char *ip;       /* "" when unknown (host network, not asked yet) */
	bool ip_known;  /* PodSandboxStatus answered for this sandbox */
	struct ebt_kv labels[CRI_MAX_KV];
	unsigned n_labels;
	struct ebt_kv annotations[CRI_MAX_KV];
	unsigned n_annotations;
};

struct ebt_pod *ebt_pod_ref(struct ebt_pod *p);
void ebt_pod_unref(struct ebt_pod *p);
/* Value of a label / annotation, NULL if absent. */
const char *ebt_pod_label(const struct ebt_pod *p, const char *key);
const char *ebt_pod_annotation(const struct ebt_pod *p, const char *key);

/* ---- the map (cri_map.c, pure) ------------------------------------------ */

struct ebt_cri_map;

/*
 * Builds a map from serialized ListPodSandboxResponse and
 * ListContainersResponse messages. Pod IPs known in prev (may be NULL)
 * for the same sandbox id are carried over. Pods past CRI_MAX_PODS and
 * containers past CRI_MAX_CONTAINERS are left out (*truncated set).
 * Returns NULL with err set on undecodable input or no memory.
 */
struct ebt_cri_map *ebt_cri_map_build(const uint8_t *pods, size_t pods_len,
				      const uint8_t *ctrs, size_t ctrs_len,
				      const struct ebt_cri_map *prev,
				      bool *truncated, char *err,
				      size_t errlen);
void ebt_cri_map_free(struct ebt_cri_map *m);
size_t ebt_cri_map_pods(const struct ebt_cri_map *m);
size_t ebt_cri_map_containers(const struct ebt_cri_map *m);
/*
 * Up to max sandbox ids (NUL-terminated, CRI_ID_MAX + 1 bytes each) of
 * pods whose IP has not been asked for yet. Returns how many.
 */
size_t ebt_cri_map_need_status(const struct ebt_cri_map *m,
			       char (*ids)[CRI_ID_MAX + 1], size_t max);
/* Applies a serialized PodSandboxStatusResponse (the pod IP). -1: bad. */
int ebt_cri_map_set_status(struct ebt_cri_map *m, const uint8_t *pb,
			   size_t len);
/* Order-independent digest of what lookups can see. */
uint64_t ebt_cri_map_digest(const struct ebt_cri_map *m);
/* Referenced pod of a container id and its container name, or NULL. */
struct ebt_pod *ebt_cri_map_lookup(const struct ebt_cri_map *m,
				   const char *container_id, char *ctr,
				   size_t ctrsz);

/*
 * Container ids (up to max) of pod ns/pod, only those named ctr unless ctr
 * is NULL, whatever their state. Returns how many were written.
 */
size_t ebt_cri_map_find(const struct ebt_cri_map *m, const char *ns,
			const char *pod, const char *ctr,
			char (*ids)[CRI_ID_MAX + 1], size_t max);

/* ---- the client (cri.c) -------------------------------------------------- */

struct ebt_cri_config {
	const char *socket;    /* unix socket path */
	uint64_t refresh_ms;   /* poll period */
	uint64_t min_gap_ms;   /* least time between two refreshes (misses) */
	uint64_t timeout_ms;   /* one RPC */
};

struct ebt_cri;

/* Starts the polling thread. NULL only when out of memory. */
struct ebt_cri *ebt_cri_start(const struct ebt_cri_config *cfg);
/* A client without a thread: maps come from ebt_cri_publish (tests). */
struct ebt_cri *ebt_cri_new_passive(void);
void ebt_cri_stop(struct ebt_cri *c);
/* Replaces the map (takes ownership); bumps the version if the digest
 * changed. */
void ebt_cri_publish(struct ebt_cri *c, struct ebt_cri_map *m);
/*
 * Pod of a container id (referenced; ebt_pod_unref it) and the container's
 * name into ctr. A miss asks the thread for an early refresh (at most one
 * per min_gap_ms). Never blocks on the socket.
 */
struct ebt_pod *ebt_cri_lookup(struct ebt_cri *c, const char *container_id,
			       char *ctr, size_t ctrsz);
/* Changes whenever a published map differs from the one before. */
uint64_t ebt_cri_version(struct ebt_cri *c);
/* true once one refresh succeeded (the socket answered). */
bool ebt_cri_connected(struct ebt_cri *c);

/* One ListPodSandbox + ListContainers, now, without a thread (attach). */
struct ebt_cri_map *ebt_cri_fetch(const char *socket, uint64_t timeout_ms,
				  char *err, size_t errlen);

/*
 * One unary call over an open connection handle: body is the serialized
 * request; *resp (malloc'd, caller frees) the serialized response message.
 * Returns 0, or -1 with err set (transport, HTTP, gRPC status, framing).
 * Exposed for tests/tools; the thread uses it.
 */
struct ebt_cri_conn;
struct ebt_cri_conn *ebt_cri_conn_new(const char *socket, uint64_t timeout_ms);
void ebt_cri_conn_free(struct ebt_cri_conn *k);
int ebt_cri_call(struct ebt_cri_conn *k, const char *method,
		 const uint8_t *body, size_t len, uint8_t **resp,
		 size_t *resp_len, char *err, size_t errlen);

#endif /* EBT_CRI_H */
