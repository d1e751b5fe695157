/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity from cgroup paths. The parsers are pure functions over
 * the text of /proc/<pid>/cgroup (v1, v2 or hybrid) and are fuzzed; the
 * selection helpers at the end read the system (cgroup mounts, /proc) to
 * turn --cgroup and --container-id into the cgroup ids the BPF filter uses.
 */
#ifndef EBT_CGROUP_H
#define EBT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#define EBT_CONTAINER_ID_LEN 64 /* lower-case hex */
#define EBT_POD_UID_MAX 36      /* 8-4-4-4-12, or 32 hex for static pods */

enum ebt_runtime {
	EBT_RUNTIME_NONE = 0, /* not in a container (that the path shows) */
	EBT_RUNTIME_UNKNOWN,  /* a container id, runtime not in the path */
	EBT_RUNTIME_DOCKER,
	EBT_RUNTIME_CONTAINERD,
	EBT_RUNTIME_CRIO,
	EBT_RUNTIME_PODMAN,
};

enum ebt_qos {
	EBT_QOS_NONE = 0, /* not a Kubernetes pod */
	EBT_QOS_GUARANTEED,
	EBT_QOS_BURSTABLE,
	EBT_QOS_BESTEFFORT,
};

struct ebt_cgroup_info {
	enum ebt_runtime runtime;
	enum ebt_qos qos;
	char container_id[EBT_CONTAINER_ID_LEN + 1]; /* "" if none */
	char pod_uid[EBT_POD_UID_MAX + 1];           /* "" if none */
};

/*
 * One cgroup path ("/kubepods.slice/.../cri-containerd-<id>.scope"). The
 * innermost container segment wins (docker-in-docker, kind). Returns true
 * when a container id or a pod uid was found.
 */
bool ebt_cgroup_path_parse(const char *path, size_t len,
			   struct ebt_cgroup_info *out);

/*
 * The whole text of /proc/<pid>/cgroup ("hier:controllers:path" lines).
 * The id comes from the cgroup2 line ("0::"), else the name=systemd line,
 * else any v1 controller line: on hybrid hosts the cgroup2 path is often
 * just "/" while the v1 paths name the container. Returns true when a
 * container id or a pod uid was found.
 */
bool ebt_cgroup_parse(const char *text, size_t len,
		      struct ebt_cgroup_info *out);

/* The cgroup2 ("0::") path of that text into out. false: none or too long. */
bool ebt_cgroup_v2_path(const char *text, size_t len, char *out,
			size_t outsz);

/* "docker", "containerd", "cri-o", "podman"; NULL for NONE and UNKNOWN. */
const char *ebt_runtime_name(enum ebt_runtime rt);
/* "Guaranteed", "Burstable", "BestEffort"; NULL for NONE. */
const char *ebt_qos_name(enum ebt_qos q);

/* 1 to 64 lower-case hex digits: a container id or a prefix of one. */
bool ebt_container_id_prefix_valid(const char *s);

/*
 * Where a --cgroup argument lives under the cgroup2 mount `unified`
 * ("/sys/fs/cgroup" on v2 hosts, "/sys/fs/cgroup/unified" on hybrid ones):
 * a path under that mount is kept; a v1 path /sys/fs/cgroup/<hier>/x maps
 * to <unified>/x; any other path is taken relative to the cgroup2 root.
 * Returns 0, or -1 (empty, ".." component, does not fit).
 */
int ebt_cgroup_filter_path(const char *arg, const char *unified, char *out,
			   size_t outsz);

/* ---- reading the system (not pure) ------------------------------------ */

/* <proc>/<pid>/cgroup into buf (size > 0, NUL-terminated); its length,
 * or -1 (gone, unreadable). */
ssize_t ebt_proc_cgroup_read(const char *proc, const char *pid, char *buf,
			     size_t size);

/* The cgroup2 id (what bpf_get_current_cgroup_id() gives) of process pid
 * under proc ("/proc"): 0, or -1 (gone, no cgroup2). */
int ebt_proc_cgroup_id(const char *proc, const char *pid, uint64_t *id);
/* The cgroup2 mount point, or NULL when there is none (v1 only). */
const char *ebt_cgroup2_mount(void);

/* cgroup id of a --cgroup argument (the cgroup2 directory's inode). */
int ebt_cgroup_id_of(const char *arg, uint64_t *id, char *err,
		     size_t errlen);

/*
 * Cgroup ids of the containers alive now whose id starts with prefix:
 * the cgroup2 directories of their processes (found in /proc/<pid>/cgroup).
 * Appends at most max - *n ids (deduplicated) to ids. Returns the number of
 * containers matched, or -1 with err set (bad prefix, a matched container
 * without its own cgroup2 directory, too many ids).
 */
int ebt_container_cgroup_ids(const char *prefix, uint64_t *ids, unsigned *n,
			     unsigned max, char *err, size_t errlen);

#endif /* EBT_CGROUP_H */
