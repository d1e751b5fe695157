/* SPDX-License-Identifier: Apache-2.0 */
/* ebpftrace check: helpers, report format, exit code, and this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "check.h"
#include "ebpftrace_events.h"
#include "ebpftrace.skel.h"

#define TMPFS 0x01021994L
#define CGROUP1 0x27e0ebL
#define CGROUP2 0x63677270L

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(ebt_check_status_name(EBT_CHECK_OK), "ok");
	assert_string_equal(ebt_check_status_name(EBT_CHECK_INFO), "info");
	assert_string_equal(ebt_check_status_name(EBT_CHECK_WARN), "warn");
	assert_string_equal(ebt_check_status_name(EBT_CHECK_MISSING),
			    "MISSING");
	assert_string_equal(ebt_check_status_name((enum ebt_check_status)42),
			    "?");
}

static void test_parse_kernel(void **state)
{
	unsigned major = 0, minor = 0;

	(void)state;
	assert_int_equal(ebt_check_parse_kernel("6.18.44-fc-v657", &major,
						&minor),
			 0);
	assert_int_equal(major, 6);
	assert_int_equal(minor, 18);
	assert_int_equal(ebt_check_parse_kernel("5.8", &major, &minor), 0);
	assert_int_equal(minor, 8);
	assert_int_equal(ebt_check_parse_kernel("6", &major, &minor), -1);
	assert_int_equal(ebt_check_parse_kernel("linux", &major, &minor), -1);
	assert_int_equal(ebt_check_parse_kernel("", &major, &minor), -1);
}

static void test_cap_bits(void **state)
{
	uint32_t eff[2] = { 1u << 21 /* SYS_ADMIN */, 1u << (39 - 32) };

	(void)state;
	assert_true(ebt_check_cap_has(eff, 21));
	assert_true(ebt_check_cap_has(eff, 39)); /* CAP_BPF */
	assert_false(ebt_check_cap_has(eff, 38)); /* CAP_PERFMON */
	assert_false(ebt_check_cap_has(eff, 19)); /* CAP_SYS_PTRACE */
	assert_false(ebt_check_cap_has(eff, 64));
	assert_false(ebt_check_cap_has(eff, 200));
}

static void test_cgroup_mode(void **state)
{
	(void)state;
	assert_string_equal(ebt_check_cgroup_mode(CGROUP2, 0), "v2");
	assert_string_equal(ebt_check_cgroup_mode(TMPFS, CGROUP2), "hybrid");
	assert_string_equal(ebt_check_cgroup_mode(TMPFS, 0), "v1");
	assert_string_equal(ebt_check_cgroup_mode(TMPFS, TMPFS), "v1");
	assert_string_equal(ebt_check_cgroup_mode(CGROUP1, 0), "v1");
	assert_string_equal(ebt_check_cgroup_mode(0x1234, 0), "unknown");
}

/* ---- a fake table: fixed statuses, no kernel involved ---- */

static void fake(const struct ebt_check *c, struct ebt_check_result *r)
{
	r->status = (enum ebt_check_status)c->num;
	snprintf(r->detail, sizeof(r->detail), "%s", c->arg);
	if (strcmp(c->name, "dynamic-fix") == 0)
		snprintf(r->fix, sizeof(r->fix), "computed fix");
}

static const struct ebt_check fake_ok[] = {
	{ "alpha", true, "needed for A", "fix A", fake, "found A",
	  EBT_CHECK_OK },
	{ "beta", false, "nice for B", "fix B", fake, "no B",
	  EBT_CHECK_MISSING },
	{ "gamma", false, "facts", NULL, fake, "some fact", EBT_CHECK_INFO },
};

static const struct ebt_check fake_bad[] = {
	{ "alpha", true, "needed for A", "fix A", fake, "found A",
	  EBT_CHECK_OK },
	{ "optional", false, "nice", "fix O", fake, "no O",
	  EBT_CHECK_MISSING },
	{ "dynamic-fix", true, "needed for D", "static fix", fake, "no D",
	  EBT_CHECK_MISSING },
	{ "epsilon", true, "needed for E", "fix E", fake, "no E",
	  EBT_CHECK_MISSING },
};

__attribute__((noinline)) static char *run_capture(const struct ebt_check *t,
						   size_t n, int *code)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*code = t ? ebt_check_run_table(f, t, n) :
		    ebt_check_run(f, "/nonexistent/containerd.sock");
	fclose(f);
	return buf;
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks '%s':\n%s", needle, hay);
}

static void test_eval_optional_missing_is_warn(void **state)
{
	struct ebt_check_result r;

	(void)state;
	ebt_check_eval(&fake_ok[1], &r);
	assert_int_equal(r.status, EBT_CHECK_WARN);
	ebt_check_eval(&fake_bad[2], &r);
	assert_int_equal(r.status, EBT_CHECK_MISSING);
	assert_string_equal(r.fix, "computed fix");
}

static void test_print_row(void **state)
{
	struct ebt_check_result r = { .status = EBT_CHECK_MISSING };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	snprintf(r.detail, sizeof(r.detail), "not mounted");
	ebt_check_print(f, &fake_bad[3], &r);
	r.status = EBT_CHECK_OK;
	ebt_check_print(f, &fake_bad[0], &r);
	fclose(f);
	assert_string_equal(buf,
			    "  MISSING  epsilon                not mounted\n"
			    "                                  for: needed for E\n"
			    "                                  fix: fix E\n"
			    "  ok       alpha                  not mounted\n"
			    "                                  for: needed for A\n");
	free(buf);
}

static void test_run_table_ok_with_warnings(void **state)
{
	int code = -1;
	char *out = run_capture(fake_ok, 3, &code);

	(void)state;
	assert_int_equal(code, 0);
	assert_has(out, "  ok       alpha                  found A\n");
	assert_has(out, "  warn     beta                   no B\n");
	assert_has(out, "fix: fix B\n");
	assert_has(out, "  info     gamma                  some fact\n");
	assert_null(strstr(out, "fix A"));
	assert_has(out, "1 ok, 0 missing, 1 warn, 1 info: all required "
			"features are present\n");
	free(out);
}

static void test_run_table_missing_fails(void **state)
{
	int code = -1;
	char *out = run_capture(fake_bad, 4, &code);

	(void)state;
	assert_int_equal(code, 1);
	assert_has(out, "  MISSING  dynamic-fix            no D\n");
	assert_has(out, "fix: computed fix\n");
	assert_null(strstr(out, "static fix"));
	assert_has(out, "1 ok, 2 missing, 1 warn, 0 info: ebpftrace cannot "
			"run here, fix the MISSING items\n");
	free(out);
}

static void test_required_table(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(ebt_check_required_table(fake_ok, 3, err,
						  sizeof(err)),
			 0);
	assert_int_equal(ebt_check_required_table(fake_bad, 4, err,
						  sizeof(err)),
			 -1);
	/* the first required failure, in table order */
	assert_string_equal(err, "dynamic-fix missing: no D; fix: computed fix");
	assert_int_equal(ebt_check_required_table(fake_bad + 3, 1, err,
						  sizeof(err)),
			 -1);
	assert_string_equal(err, "epsilon missing: no E; fix: fix E");
}

/* ---- the built-in table ---- */

static const struct ebt_check *find(const char *name)
{
	size_t n;
	const struct ebt_check *t = ebt_check_table(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	fail_msg("no check named '%s'", name);
	return NULL;
}

/* A required check whose tracepoint list ("group/ev1,ev2") names event. */
static bool table_has_event(const char *group, const char *event)
{
	size_t n, glen = strlen(group), elen = strlen(event);
	const struct ebt_check *t = ebt_check_table(&n);

	for (size_t i = 0; i < n; i++) {
		const char *a = t[i].arg;

		if (!t[i].required || !a || strncmp(a, group, glen) != 0 ||
		    a[glen] != '/')
			continue;
		for (a += glen + 1; *a;) {
			size_t len = strcspn(a, ",");

			if (len == elen && strncmp(a, event, elen) == 0)
				return true;
			a += len + (a[len] == ',');
		}
	}
	return false;
}

/* Every tracepoint a BPF program of the tracer attaches to is checked
 * (the skeleton is only opened: no privilege needed), so that `check`
 * and the start-up test catch a kernel without one, by name. */
static void test_table_covers_every_tracepoint(void **state)
{
	struct ebpftrace_bpf *skel = ebpftrace_bpf__open();
	struct bpf_program *p;
	unsigned seen = 0;

	(void)state;
	assert_non_null(skel);
	bpf_object__for_each_program(p, skel->obj) {
		const char *sec = bpf_program__section_name(p), *ev;
		char group[32];

		if (strncmp(sec, "tracepoint/", 11) == 0) {
			ev = strchr(sec + 11, '/');
			assert_non_null(ev);
			snprintf(group, sizeof(group), "%.*s",
				 (int)(ev - sec - 11), sec + 11);
			ev++;
		} else if (strncmp(sec, "tp_btf/sched_", 13) == 0) {
			snprintf(group, sizeof(group), "sched");
			ev = sec + 7;
		} else {
			continue; /* uprobes, the raw sys_enter/sys_exit pair */
		}
		if (!table_has_event(group, ev))
			fail_msg("no check for %s/%s (program %s)", group, ev,
				 bpf_program__name(p));
		seen++;
	}
	assert_true(seen >= 20);
	ebpftrace_bpf__destroy(skel);
}

static void test_table_complete(void **state)
{
	static const char *const required[] = {
		"syscall accept", "syscall accept4", "syscall connect",
		"syscall read", "syscall readv", "syscall recvfrom",
		"syscall recvmsg", "syscall write", "syscall writev",
		"syscall sendto", "syscall sendmsg", "syscall close",
		"syscall sendfile64", "syscall splice", "syscall pwrite64",
		"syscall pwritev", "syscall pwritev2", "syscall dup2",
		"syscall dup3", "syscall dup", "syscall fcntl",
		"sched_process_exec", "sched_process_exit",
		"sched_process_fork", "BTF", "BPF tracepoint progs",
		"BPF ring buffer", "BPF task storage", "BPF task registers",
		"tracefs", "CAP_BPF",
		"CAP_PERFMON",
		"CAP_SYS_ADMIN", "CAP_SYS_PTRACE",
	};
	static const char *const optional[] = {
		"kernel version", "user", "CAP_SYS_RESOURCE",
		"BPF kprobe progs", "uprobes", "unprivileged BPF",
		"cgroup mode", "memlock rlimit", "CRI socket",
	};
	size_t n;
	const struct ebt_check *t = ebt_check_table(&n);

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_true(find(required[i])->required);
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		assert_false(find(optional[i])->required);
	assert_int_equal(n, sizeof(required) / sizeof(required[0]) +
				    sizeof(optional) / sizeof(optional[0]));
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].fn);
		assert_true(t[i].purpose && *t[i].purpose);
		if (t[i].required)
			assert_true(t[i].fix && *t[i].fix);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(t[i].name, t[j].name);
	}
	assert_string_equal(find("tracefs")->fix,
			    "mount -t tracefs nodev /sys/kernel/tracing");
}

/* Real check functions on things that do not exist. */
static void test_checks_detect_absence(void **state)
{
	struct ebt_check tp = *find("syscall accept4");
	struct ebt_check up = *find("uprobes");
	struct ebt_check_result r;

	(void)state;
	tp.arg = "syscalls/sys_enter_accept4,sys_exit_no_such_call";
	ebt_check_eval(&tp, &r);
	assert_int_equal(r.status, EBT_CHECK_MISSING);
	assert_string_equal(r.detail, "syscalls/sys_exit_no_such_call not found");

	{
		struct ebt_check cri = *find("CRI socket");

		cri.arg = "/proc/self/status"; /* exists, not a socket */
		ebt_check_eval(&cri, &r);
		assert_int_equal(r.status, EBT_CHECK_WARN);
		assert_string_equal(r.detail,
				    "/proc/self/status is not a socket");
		cri.arg = "";
		ebt_check_eval(&cri, &r);
		assert_int_equal(r.status, EBT_CHECK_INFO);
	}
	up.arg = "/sys/bus/event_source/devices/no_such_pmu/type";
	ebt_check_eval(&up, &r);
	assert_int_equal(r.status, EBT_CHECK_WARN); /* optional */
}

/* ---- this machine (CI runs as root on the target kernel) ---- */

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void ensure_tracefs(void)
{
	if (is_dir("/sys/kernel/tracing/events") ||
	    is_dir("/sys/kernel/debug/tracing/events"))
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		fail_msg("tracefs is not mounted and mounting it failed "
			 "(run as root): %m");
	assert_true(is_dir("/sys/kernel/tracing/events"));
}

static void test_this_machine(void **state)
{
	char err[512] = "";
	int code = -1;
	char *out;

	(void)state;
	ensure_tracefs();
	out = run_capture(NULL, 0, &code);
	if (code != 0)
		fail_msg("ebpftrace check failed on this machine:\n%s", out);
	assert_has(out, "  ok       BTF ");
	assert_has(out, "  ok       BPF ring buffer ");
	assert_has(out, "  ok       BPF task storage       bpf_task_storage_get: "
			"supported");
	assert_has(out, "  ok       BPF task registers     bpf_task_pt_regs: "
			"supported");
	assert_has(out, "  ok       syscall sendfile64 ");
	assert_has(out, "  ok       sched_process_fork ");
	assert_has(out, " 0 missing,");
	assert_null(strstr(out, "MISSING"));
	/* an absent CRI socket is a warning with its fix, never a failure */
	assert_has(out, "  warn     CRI socket             "
			"/nonexistent/containerd.sock: No such file");
	assert_has(out, "fix: set cri.socket (--cri-socket)");
	if (ebt_check_required(err, sizeof(err)) != 0)
		fail_msg("pre-flight failed: %s", err);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_parse_kernel),
		cmocka_unit_test(test_cap_bits),
		cmocka_unit_test(test_cgroup_mode),
		cmocka_unit_test(test_eval_optional_missing_is_warn),
		cmocka_unit_test(test_print_row),
		cmocka_unit_test(test_run_table_ok_with_warnings),
		cmocka_unit_test(test_run_table_missing_fails),
		cmocka_unit_test(test_required_table),
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_table_covers_every_tracepoint),
		cmocka_unit_test(test_checks_detect_absence),
		cmocka_unit_test(test_this_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
