/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ebpftrace attach <pod>`: one ListPodSandbox + ListContainers on this
 * node's CRI socket finds the pod's containers; their cgroups become the
 * selection (the same path as --container-id), then the tracer runs as
 * `run` does. A pod this node does not run (no CRI socket, or CRI does not
 * know it) is the remote path's (remote.h), which main.c takes.
 */
#include "attach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cri.h"
#include "log.h"
#include "remote.h"

#define ATTACH_MAX_CTRS 64
#define CRI_TIMEOUT_MS 5000
#define EBT_MAX_CGROUP_SCRATCH 256

/* Does a process run in this container now? */
static bool running(const char *id)
{
	uint64_t ids[EBT_MAX_CGROUP_SCRATCH];
	unsigned n = 0;
	char err[256];

	return ebt_container_cgroup_ids(id, ids, &n, EBT_MAX_CGROUP_SCRATCH,
					err, sizeof(err)) > 0;
}

static int add_running(struct ebt_config *cfg, char (*ids)[CRI_ID_MAX + 1],
		       size_t n)
{
	for (size_t i = 0; i < n && cfg->n_containers < EBT_MAX_FILTERS; i++) {
		char *id;

		if (!running(ids[i])) {
			log_info("attach: container %.12s has no running "
				 "process, left out", ids[i]);
			continue;
		}
		if (!(id = strdup(ids[i])))
			return -1;
		cfg->containers[cfg->n_containers++] = id;
	}
	return 0;
}

static size_t find_pod(const struct ebt_config *cfg,
		       char (*ids)[CRI_ID_MAX + 1], char *err, size_t errlen)
{
	struct ebt_cri_map *m;
	size_t n;

	if (access(cfg->cri_socket, F_OK) != 0) {
		snprintf(err, errlen, "pod lookup needs this node's CRI socket "
			 "%s, which does not exist; set --cri-socket, or select "
			 "containers with --container-id", cfg->cri_socket);
		return 0;
	}
	m = ebt_cri_fetch(cfg->cri_socket, CRI_TIMEOUT_MS, err, errlen);
	if (!m)
		return 0;
	n = ebt_cri_map_find(m, cfg->k8s_namespace, cfg->pod,
			     cfg->attach_container, ids, ATTACH_MAX_CTRS);
	ebt_cri_map_free(m);
	if (n == 0)
		snprintf(err, errlen, "no pod %s/%s%s%s on this node (CRI "
			 "socket %s); run attach on the pod's node (for "
			 "example from the DaemonSet pod there)",
			 cfg->k8s_namespace, cfg->pod,
			 cfg->attach_container ? " with container " : "",
			 cfg->attach_container ? cfg->attach_container : "",
			 cfg->cri_socket);
	return n;
}

int ebt_attach_resolve(struct ebt_config *cfg, char *err, size_t errlen)
{
	char ids[ATTACH_MAX_CTRS][CRI_ID_MAX + 1];
	size_t n;

	if (!cfg->pod) {
		if (cfg->n_containers)
			return 0;
		snprintf(err, errlen, "give a pod (ebpftrace attach <pod> "
			 "[-n namespace]) or --container-id <id>");
		return -1;
	}
	if (cfg->n_containers) {
		snprintf(err, errlen, "give either a pod or --container-id, "
			 "not both");
		return -1;
	}
	if (ebt_remote_mode(cfg) == REMOTE_ALWAYS) {
		snprintf(err, errlen, "attach.remote is always");
		return EBT_ATTACH_ELSEWHERE;
	}
	if (!cfg->cri_socket || !cfg->cri_socket[0]) {
		snprintf(err, errlen, "pod lookup needs the CRI socket "
			 "(cri.socket is empty)");
		return EBT_ATTACH_ELSEWHERE;
	}
	if ((n = find_pod(cfg, ids, err, errlen)) == 0)
		return EBT_ATTACH_ELSEWHERE;
	if (add_running(cfg, ids, n) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->n_containers == 0) {
		snprintf(err, errlen, "pod %s/%s has no running container on "
			 "this node", cfg->k8s_namespace, cfg->pod);
		return -1;
	}
	log_info("attach: pod %s/%s: %u container(s) selected",
		 cfg->k8s_namespace, cfg->pod, cfg->n_containers);
	return 0;
}
