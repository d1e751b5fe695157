/* SPDX-License-Identifier: Apache-2.0 */
/* `ebpftrace attach`: resolve a pod on this node to its containers. */
#ifndef EBT_ATTACH_H
#define EBT_ATTACH_H

#include <stddef.h>

#include "config.h"

/* ebt_attach_resolve: the pod is not (known to be) on this node */
#define EBT_ATTACH_ELSEWHERE 1

/*
 * Turns cfg->pod (+ namespace, + container name) into container-id filters
 * through the node's CRI socket, keeping the containers that have running
 * processes. With no pod, --container-id must be given. 0, -1, or
 * EBT_ATTACH_ELSEWHERE (no CRI socket, CRI does not know the pod, or
 * attach.remote is always), with a one-line reason (and what to do) in err.
 */
int ebt_attach_resolve(struct ebt_config *cfg, char *err, size_t errlen);

#endif /* EBT_ATTACH_H */
