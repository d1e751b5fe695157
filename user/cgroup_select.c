/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Selection by cgroup: turns --cgroup paths and --container-id prefixes
 * into the cgroup2 ids that bpf_get_current_cgroup_id() returns, on v2,
 * hybrid (cgroup2 at /sys/fs/cgroup/unified) and v1-only hosts.
 */
#include "cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_UNIFIED "/sys/fs/cgroup/unified"
#define PROC_CGROUP_MAX (64 * 1024)

const char *ebt_cgroup2_mount(void)
{
	struct statfs sf;

	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return CG_ROOT;
	if (statfs(CG_UNIFIED, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return CG_UNIFIED;
	return NULL;
}

static int inode_of(const char *dir, uint64_t *id)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	*id = (uint64_t)st.st_ino; /* the cgroup id on 64-bit kernels */
	return 0;
}

int ebt_cgroup_id_of(const char *arg, uint64_t *id, char *err,
		     size_t errlen)
{
	const char *mnt = ebt_cgroup2_mount();
	char path[4096];

	if (!mnt) {
		snprintf(err, errlen, "--cgroup needs cgroup2, and neither %s "
			 "nor %s is a cgroup2 mount (cgroup v1 only host)",
			 CG_ROOT, CG_UNIFIED);
		return -1;
	}
	if (ebt_cgroup_filter_path(arg, mnt, path, sizeof(path)) != 0 ||
	    inode_of(path, id) != 0) {
		snprintf(err, errlen, "cgroup '%s' not found: looked for %s "
			 "(give a cgroup2 path, a path relative to %s, or a "
			 "v1 path %s/<controller>/...)", arg,
			 path[0] ? path : "(invalid path)", mnt, CG_ROOT);
		return -1;
	}
	return 0;
}

ssize_t ebt_proc_cgroup_read(const char *proc, const char *pid, char *buf,
			     size_t size)
{
	char path[320];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/cgroup", proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1 &&
	       (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

static int add_id(uint64_t id, uint64_t *ids, unsigned *n, unsigned max)
{
	for (unsigned i = 0; i < *n; i++)
		if (ids[i] == id)
			return 0;
	if (*n >= max)
		return -1;
	ids[(*n)++] = id;
	return 0;
}

struct scan {
	const char *prefix, *mnt;
	uint64_t *ids;
	unsigned *n, max;
	char *err;
	size_t errlen;
};

/* One process: 0 not matched, 1 matched (id added), -1 error. */
static int scan_pid(struct scan *sc, const char *pid, char *buf, size_t size)
{
	struct ebt_cgroup_info all, v2;
	char path[4096], v2path[3072];
	ssize_t len = ebt_proc_cgroup_read("/proc", pid, buf, size);
	uint64_t id;

	if (len <= 0 || !ebt_cgroup_parse(buf, (size_t)len, &all) ||
	    strncmp(all.container_id, sc->prefix, strlen(sc->prefix)) != 0)
		return 0;
	if (!ebt_cgroup_v2_path(buf, (size_t)len, v2path, sizeof(v2path)) ||
	    !ebt_cgroup_path_parse(v2path, strlen(v2path), &v2) ||
	    strcmp(v2.container_id, all.container_id) != 0) {
		snprintf(sc->err, sc->errlen, "container %.12s (pid %s) has "
			 "no cgroup2 directory of its own (cgroup v1 only, "
			 "e.g. a cgroupfs driver on a hybrid host): select "
			 "its processes with --pid", all.container_id, pid);
		return -1;
	}
	snprintf(path, sizeof(path), "%s%s", sc->mnt, v2path);
	if (inode_of(path, &id) != 0)
		return 0; /* exited, cgroup removed meanwhile */
	if (add_id(id, sc->ids, sc->n, sc->max) != 0) {
		snprintf(sc->err, sc->errlen, "--container-id selects more "
			 "than %u cgroups", sc->max);
		return -1;
	}
	return 1;
}

static int scan_proc(struct scan *sc)
{
	DIR *d = opendir("/proc");
	char *buf = malloc(PROC_CGROUP_MAX);
	struct dirent *de;
	int matched = 0, rc = 0;

	if (!d || !buf) {
		snprintf(sc->err, sc->errlen, "cannot read /proc");
		matched = -1;
	}
	while (matched >= 0 && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		rc = scan_pid(sc, de->d_name, buf, PROC_CGROUP_MAX);
		matched = rc < 0 ? -1 : matched + rc;
	}
	if (d)
		closedir(d);
	free(buf);
	return matched;
}

int ebt_container_cgroup_ids(const char *prefix, uint64_t *ids, unsigned *n,
			     unsigned max, char *err, size_t errlen)
{
	struct scan sc = {
		.prefix = prefix, .mnt = ebt_cgroup2_mount(), .ids = ids,
		.n = n, .max = max, .err = err, .errlen = errlen,
	};
	int matched;

	if (!ebt_container_id_prefix_valid(prefix)) {
		snprintf(err, errlen, "--container-id '%s': expected 1 to 64 "
			 "lower-case hex digits", prefix);
		return -1;
	}
	if (!sc.mnt) {
		snprintf(err, errlen, "--container-id needs cgroup2 (none "
			 "mounted at %s or %s)", CG_ROOT, CG_UNIFIED);
		return -1;
	}
	matched = scan_proc(&sc);
	if (matched == 0)
		snprintf(err, errlen, "--container-id %s: no running process "
			 "is in a container whose id starts with it", prefix);
	return matched > 0 ? matched : -1;
}

int ebt_proc_cgroup_id(const char *proc, const char *pid, uint64_t *id)
{
	const char *mnt = ebt_cgroup2_mount();
	char buf[4096], v2path[3072], path[4096];
	ssize_t len = ebt_proc_cgroup_read(proc, pid, buf, sizeof(buf));

	if (!mnt || len <= 0 ||
	    !ebt_cgroup_v2_path(buf, (size_t)len, v2path, sizeof(v2path)))
		return -1;
	snprintf(path, sizeof(path), "%s%s", mnt, v2path);
	return inode_of(path, id);
}
