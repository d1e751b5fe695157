/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ebpftrace check`: the kernel features and privileges the tracer needs,
 * probed one by one from a registration table, each reported with a status,
 * what it is for and how to fix it. `run` uses ebt_check_required() as a
 * quick pre-flight so that a missing feature is named before any BPF object
 * is loaded.
 */
#ifndef EBT_CHECK_H
#define EBT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ebt_check_status {
	EBT_CHECK_OK = 0,
	EBT_CHECK_INFO,    /* informational, never a failure */
	EBT_CHECK_WARN,    /* usable, but something is degraded or optional */
	EBT_CHECK_MISSING, /* absent; fails the check if it is required */
};

struct ebt_check_result {
	enum ebt_check_status status;
	char detail[256]; /* what was found */
	char fix[256];    /* overrides the table's fix when not empty */
};

struct ebt_check;
typedef void (*ebt_check_fn)(const struct ebt_check *c,
			     struct ebt_check_result *r);

struct ebt_check {
	const char *name;
	bool required;       /* MISSING here makes `check` exit 1 */
	const char *purpose; /* what ebpftrace needs it for */
	const char *fix;     /* how to fix it when it is missing */
	ebt_check_fn fn;
	const char *arg;     /* per-check argument: a path, a syscall */
	long num;            /* per-check number: a capability, a BPF type */
};

/* Full report on out; returns the exit code: 0 ok, 1 required missing. */
/* cri_socket: the CRI socket to probe (NULL or "": reported as off). */
int ebt_check_run(FILE *out, const char *cri_socket);
/* Required checks only: 0, or -1 with "<feature> missing: ...; fix: ...". */
int ebt_check_required(char *err, size_t errlen);

/* The same over any table (tests pass their own). */
int ebt_check_run_table(FILE *out, const struct ebt_check *t, size_t n);
int ebt_check_required_table(const struct ebt_check *t, size_t n, char *err,
			     size_t errlen);
/* The built-in table. */
const struct ebt_check *ebt_check_table(size_t *n);

/* Runs one check; a missing optional feature is reported as a warning. */
void ebt_check_eval(const struct ebt_check *c, struct ebt_check_result *r);
/* One report row (status, name, detail, what for, fix). */
void ebt_check_print(FILE *out, const struct ebt_check *c,
		     const struct ebt_check_result *r);
const char *ebt_check_status_name(enum ebt_check_status s);

/* Pure helpers. */
int ebt_check_parse_kernel(const char *release, unsigned *major,
			   unsigned *minor);
bool ebt_check_cap_has(const uint32_t effective[2], unsigned cap);
/* statfs magics of /sys/fs/cgroup and /sys/fs/cgroup/unified (0: none). */
const char *ebt_check_cgroup_mode(long root_magic, long unified_magic);

#endif /* EBT_CHECK_H */
