/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Feature probing before loading (as falco's libpman does): every kernel
 * feature and privilege the tracer depends on is one row of a table, probed
 * on its own and reported with what it is for and how to fix it.
 */
#include "check.h"
#include "cri.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/magic.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CRI_CHECK_TIMEOUT_MS 2000

#define MIN_MAJOR 5
#define MIN_MINOR 8 /* ring buffer, CAP_BPF, CAP_PERFMON */

#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define UPROBE_PMU "/sys/bus/event_source/devices/uprobe/type"
#define KPROBE_PMU "/sys/bus/event_source/devices/kprobe/type"
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_UNIFIED "/sys/fs/cgroup/unified"
#define TRACEFS_MOUNT "mount -t tracefs nodev /sys/kernel/tracing"

static const char *const tracefs_events[] = {
	"/sys/kernel/tracing/events",
	"/sys/kernel/debug/tracing/events",
};

static void say(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define detail(r, ...) say((r)->detail, sizeof((r)->detail), __VA_ARGS__)
#define fix(r, ...) say((r)->fix, sizeof((r)->fix), __VA_ARGS__)

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- pure helpers ---- */

int ebt_check_parse_kernel(const char *release, unsigned *major,
			   unsigned *minor)
{
	return sscanf(release, "%u.%u", major, minor) == 2 ? 0 : -1;
}

bool ebt_check_cap_has(const uint32_t effective[2], unsigned cap)
{
	return cap < 64 && (effective[cap / 32] >> (cap % 32)) & 1;
}

const char *ebt_check_cgroup_mode(long root_magic, long unified_magic)
{
	if (root_magic == CGROUP2_SUPER_MAGIC)
		return "v2";
	if (root_magic == TMPFS_MAGIC && unified_magic == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	if (root_magic == TMPFS_MAGIC || root_magic == CGROUP_SUPER_MAGIC)
		return "v1";
	return "unknown";
}

const char *ebt_check_status_name(enum ebt_check_status s)
{
	static const char *const names[] = {
		[EBT_CHECK_OK] = "ok",
		[EBT_CHECK_INFO] = "info",
		[EBT_CHECK_WARN] = "warn",
		[EBT_CHECK_MISSING] = "MISSING",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* ---- the checks ---- */

static bool kernel_at_least(unsigned want_major, unsigned want_minor)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) || ebt_check_parse_kernel(u.release, &major, &minor))
		return false;
	return major > want_major ||
	       (major == want_major && minor >= want_minor);
}

static void check_kernel(const struct ebt_check *c, struct ebt_check_result *r)
{
	struct utsname u;
	unsigned major, minor;

	(void)c;
	if (uname(&u) || ebt_check_parse_kernel(u.release, &major, &minor)) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "cannot read the kernel version");
		return;
	}
	r->status = major > MIN_MAJOR ||
				    (major == MIN_MAJOR && minor >= MIN_MINOR)
			    ? EBT_CHECK_OK
			    : EBT_CHECK_MISSING;
	detail(r, "Linux %s on %s (%u.%u or newer wanted)", u.release,
	       u.machine, MIN_MAJOR, MIN_MINOR);
}

static void check_user(const struct ebt_check *c, struct ebt_check_result *r)
{
	uid_t uid = geteuid();

	(void)c;
	r->status = EBT_CHECK_INFO;
	detail(r, "effective uid %u%s", (unsigned)uid,
	       uid == 0 ? " (root; the capabilities below still decide)" : "");
}

static int read_caps(uint32_t eff[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	eff[0] = data[0].effective;
	eff[1] = data[1].effective;
	return 0;
}

/*
 * The kernel's bpf_capable() and perfmon_capable() also accept
 * CAP_SYS_ADMIN, which is all there is before 5.8.
 */
static void check_cap(const struct ebt_check *c, struct ebt_check_result *r)
{
	bool via_admin = c->num == CAP_BPF || c->num == CAP_PERFMON;
	uint32_t eff[2];

	if (read_caps(eff)) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "capget failed: %s", strerror(errno));
		return;
	}
	if (ebt_check_cap_has(eff, (unsigned)c->num)) {
		r->status = EBT_CHECK_OK;
		detail(r, "%s in the effective set", c->name);
	} else if (via_admin && ebt_check_cap_has(eff, CAP_SYS_ADMIN)) {
		r->status = EBT_CHECK_OK;
		detail(r, "%s absent, CAP_SYS_ADMIN covers it",
		       c->name);
	} else if (c->num == CAP_SYS_RESOURCE && kernel_at_least(5, 11)) {
		r->status = EBT_CHECK_INFO;
		detail(r, "%s absent, not needed on 5.11 or newer", c->name);
	} else {
		r->status = EBT_CHECK_MISSING;
		detail(r, "%s not in the effective set", c->name);
	}
}

static void check_btf(const struct ebt_check *c, struct ebt_check_result *r)
{
	struct stat st;

	(void)c;
	if (stat(BTF_PATH, &st) || access(BTF_PATH, R_OK)) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "%s: %s", BTF_PATH, strerror(errno));
		return;
	}
	r->status = EBT_CHECK_OK;
	detail(r, "%s (%.1f MiB)", BTF_PATH,
	       (double)st.st_size / (1024.0 * 1024.0));
}

static void probe_result(struct ebt_check_result *r, int ret,
			 const char *what)
{
	if (ret == 1) {
		r->status = EBT_CHECK_OK;
		detail(r, "%s: supported", what);
	} else if (ret == 0) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "%s: not supported by this kernel", what);
	} else {
		r->status = EBT_CHECK_MISSING;
		detail(r, "%s: probe failed: %s", what, strerror(-ret));
	}
}

static void check_prog_type(const struct ebt_check *c,
			    struct ebt_check_result *r)
{
	int ret = libbpf_probe_bpf_prog_type((enum bpf_prog_type)c->num, NULL);

	probe_result(r, ret, c->arg);
}

static void check_map_type(const struct ebt_check *c,
			   struct ebt_check_result *r)
{
	int ret = libbpf_probe_bpf_map_type((enum bpf_map_type)c->num, NULL);

	probe_result(r, ret, c->arg);
}

/* A helper callable from tracepoint programs. */
static void check_tp_helper(const struct ebt_check *c,
			    struct ebt_check_result *r)
{
	int ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
					  (enum bpf_func_id)c->num, NULL);

	probe_result(r, ret, c->arg);
}

/* Informational: the target kernel has no kprobes, and none is needed. */
static void check_kprobe(const struct ebt_check *c, struct ebt_check_result *r)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL);

	(void)c;
	r->status = EBT_CHECK_INFO;
	detail(r, "program type %s; kprobe PMU %s",
	       ret == 1 ? "loads" : "does not load",
	       access(KPROBE_PMU, F_OK) == 0 ? "present"
					     : "absent (CONFIG_KPROBES off)");
}

static const char *find_tracefs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(tracefs_events); i++)
		if (is_dir(tracefs_events[i]))
			return tracefs_events[i];
	return NULL;
}

static void check_tracefs(const struct ebt_check *c,
			  struct ebt_check_result *r)
{
	const char *events = find_tracefs();

	(void)c;
	if (events) {
		r->status = EBT_CHECK_OK;
		detail(r, "%s", events);
	} else {
		r->status = EBT_CHECK_MISSING;
		detail(r, "neither %s nor %s exists", tracefs_events[0],
		       tracefs_events[1]);
	}
}

/* c->arg: "<group>/<event>[,<event>...]", every event must exist. */
static void check_tracepoints(const struct ebt_check *c,
			      struct ebt_check_result *r)
{
	const char *events = find_tracefs(), *slash = strchr(c->arg, '/');
	int glen = slash ? (int)(slash - c->arg) : 0;
	char path[512];

	if (!slash) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "bad tracepoint list '%s'", c->arg);
		return;
	}
	if (!events) {
		r->status = EBT_CHECK_MISSING;
		detail(r, "tracefs is not mounted");
		fix(r, "%s", TRACEFS_MOUNT);
		return;
	}
	for (const char *p = slash + 1; *p;) {
		int len = (int)strcspn(p, ",");

		snprintf(path, sizeof(path), "%s/%.*s/%.*s", events, glen,
			 c->arg, len, p);
		if (!is_dir(path)) {
			r->status = EBT_CHECK_MISSING;
			detail(r, "%.*s/%.*s not found", glen, c->arg, len, p);
			return;
		}
		p += len + (p[len] == ',');
	}
	r->status = EBT_CHECK_OK;
	detail(r, "%s", c->arg);
}

static void check_file(const struct ebt_check *c, struct ebt_check_result *r)
{
	bool ok = access(c->arg, F_OK) == 0;

	r->status = ok ? EBT_CHECK_OK : EBT_CHECK_MISSING;
	detail(r, "%s %s", c->arg, ok ? "present" : "absent");
}

static void check_unpriv_bpf(const struct ebt_check *c,
			     struct ebt_check_result *r)
{
	static const char *const meaning[] = {
		"0: unprivileged users may load BPF",
		"1: unprivileged BPF off until reboot",
		"2: unprivileged BPF off (admin may re-enable)",
	};
	FILE *f = fopen(c->arg, "r");
	int v = -1;

	r->status = EBT_CHECK_INFO;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	if (v >= 0 && v < (int)ARRAY_SIZE(meaning))
		detail(r, "%s", meaning[v]);
	else
		detail(r, "%s unreadable", c->arg);
}

static void check_cgroup(const struct ebt_check *c, struct ebt_check_result *r)
{
	struct statfs root, unified;
	long um = 0;
	const char *mode;

	(void)c;
	if (statfs(CGROUP_ROOT, &root)) {
		r->status = EBT_CHECK_WARN;
		detail(r, "%s: %s", CGROUP_ROOT, strerror(errno));
		return;
	}
	if (statfs(CGROUP_UNIFIED, &unified) == 0)
		um = (long)unified.f_type;
	mode = ebt_check_cgroup_mode((long)root.f_type, um);
	r->status = strcmp(mode, "unknown") ? EBT_CHECK_INFO : EBT_CHECK_WARN;
	if (strcmp(mode, "hybrid") == 0)
		detail(r, "hybrid: v1 controllers in %s, cgroup2 at %s",
		       CGROUP_ROOT, CGROUP_UNIFIED);
	else
		detail(r, "%s at %s", mode, CGROUP_ROOT);
}

/* The CRI socket (pod metadata): there, a socket, and answering. */
static void check_cri(const struct ebt_check *c, struct ebt_check_result *r)
{
	struct ebt_cri_map *m;
	struct stat st;
	char err[256] = "";

	r->status = EBT_CHECK_WARN;
	if (!c->arg || !c->arg[0]) {
		r->status = EBT_CHECK_INFO;
		detail(r, "off (cri.socket is empty)");
	} else if (stat(c->arg, &st) != 0) {
		detail(r, "%s: %s", c->arg, strerror(errno));
	} else if (!S_ISSOCK(st.st_mode)) {
		detail(r, "%s is not a socket", c->arg);
	} else if (!(m = ebt_cri_fetch(c->arg, CRI_CHECK_TIMEOUT_MS, err,
				       sizeof(err)))) {
		detail(r, "%s does not answer CRI: %s", c->arg, err);
	} else {
		r->status = EBT_CHECK_OK;
		detail(r, "%s: %zu pods, %zu containers", c->arg,
		       ebt_cri_map_pods(m), ebt_cri_map_containers(m));
		ebt_cri_map_free(m);
	}
}

static void check_memlock(const struct ebt_check *c,
			  struct ebt_check_result *r)
{
	struct rlimit rl;

	(void)c;
	r->status = EBT_CHECK_INFO;
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		detail(r, "getrlimit: %s", strerror(errno));
	else if (rl.rlim_cur == RLIM_INFINITY)
		detail(r, "unlimited");
	else
		detail(r, "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
}

/* ---- the table ---- */

#define CAP_FIX                                                        \
	"run as root, or grant the capability: setcap "                \
	"cap_bpf,cap_perfmon,cap_sys_admin,cap_sys_ptrace+ep ebpftrace, " \
	"or securityContext.capabilities.add in Kubernetes"
#define TP_FIX "needs a kernel with CONFIG_FTRACE_SYSCALLS=y"
#define SYSCALL(nm, why)                                                 \
	{ .name = "syscall " nm, .required = true, .purpose = why,        \
	  .fix = TP_FIX, .fn = check_tracepoints,                        \
	  .arg = "syscalls/sys_enter_" nm ",sys_exit_" nm }
#define SCHED(nm, why)                                                   \
	{ .name = nm, .required = true, .purpose = why,                   \
	  .fix = "needs a kernel with CONFIG_TRACEPOINTS=y",             \
	  .fn = check_tracepoints, .arg = "sched/" nm }

static const struct ebt_check checks[] = {
	{ .name = "kernel version", .purpose = "ring buffer and CAP_BPF "
	  "arrived in 5.8", .fix = "upgrade to Linux 5.8 or newer",
	  .fn = check_kernel },
	{ .name = "user", .purpose = "who runs the tracer",
	  .fn = check_user },
	{ .name = "CAP_BPF", .required = true,
	  .purpose = "load BPF programs and maps", .fix = CAP_FIX,
	  .fn = check_cap, .num = CAP_BPF },
	{ .name = "CAP_PERFMON", .required = true,
	  .purpose = "attach tracing programs, read kernel memory",
	  .fix = CAP_FIX, .fn = check_cap, .num = CAP_PERFMON },
	{ .name = "CAP_SYS_ADMIN", .required = true,
	  .purpose = "all BPF before 5.8; namespace and /proc access of "
		     "other processes in host mode",
	  .fix = CAP_FIX, .fn = check_cap, .num = CAP_SYS_ADMIN },
	{ .name = "CAP_SYS_PTRACE", .required = true,
	  .purpose = "read other processes' /proc entries and memory",
	  .fix = CAP_FIX, .fn = check_cap, .num = CAP_SYS_PTRACE },
	{ .name = "CAP_SYS_RESOURCE", .purpose = "raise the memlock rlimit "
	  "on kernels older than 5.11",
	  .fix = "grant CAP_SYS_RESOURCE, or run ulimit -l unlimited first",
	  .fn = check_cap, .num = CAP_SYS_RESOURCE },
	{ .name = "BTF", .required = true,
	  .purpose = "CO-RE: adapt the BPF programs to this kernel's types",
	  .fix = "use a kernel built with CONFIG_DEBUG_INFO_BTF=y",
	  .fn = check_btf },
	{ .name = "BPF tracepoint progs", .required = true,
	  .purpose = "every syscall hook is a tracepoint program",
	  .fix = "needs CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y, and "
		 "CAP_BPF+CAP_PERFMON (see above)",
	  .fn = check_prog_type, .arg = "BPF_PROG_TYPE_TRACEPOINT",
	  .num = BPF_PROG_TYPE_TRACEPOINT },
	{ .name = "BPF kprobe progs",
	  .purpose = "not used: ebpftrace needs no kprobes",
	  .fn = check_kprobe },
	{ .name = "BPF ring buffer", .required = true,
	  .purpose = "events from the kernel to the tracer",
	  .fix = "upgrade to Linux 5.8 or newer",
	  .fn = check_map_type, .arg = "BPF_MAP_TYPE_RINGBUF",
	  .num = BPF_MAP_TYPE_RINGBUF },
	{ .name = "BPF task storage", .required = true,
	  .purpose = "per-thread accept/connect arguments between sys_enter "
		     "and sys_exit",
	  .fix = "upgrade the kernel: this one does not let tracepoint "
		 "programs call bpf_task_storage_get",
	  .fn = check_tp_helper, .arg = "bpf_task_storage_get",
	  .num = BPF_FUNC_task_storage_get },
	{ .name = "BPF task registers", .required = true,
	  .purpose = "data syscall arguments read at sys_exit from the "
		     "registers the syscall entered with",
	  .fix = "upgrade to Linux 5.15 or newer: this one does not let "
		 "tracepoint programs call bpf_task_pt_regs",
	  .fn = check_tp_helper, .arg = "bpf_task_pt_regs",
	  .num = BPF_FUNC_task_pt_regs },
	{ .name = "tracefs", .required = true,
	  .purpose = "tracepoint ids for attaching the syscall hooks",
	  .fix = TRACEFS_MOUNT, .fn = check_tracefs },
	SYSCALL("accept", "server connections (JDK HttpServer uses accept)"),
	SYSCALL("accept4", "server connections"),
	SYSCALL("connect", "client connections"),
	SYSCALL("read", "request and response bytes"),
	SYSCALL("readv", "request and response bytes"),
	SYSCALL("recvfrom", "request and response bytes"),
	SYSCALL("recvmsg", "request and response bytes"),
	SYSCALL("write", "request and response bytes, stdout/stderr logs"),
	SYSCALL("writev", "request and response bytes, stdout/stderr logs"),
	SYSCALL("sendto", "request and response bytes"),
	SYSCALL("sendmsg", "request and response bytes"),
	SYSCALL("close", "end of connections"),
	SYSCALL("sendfile64", "response bodies sent from files"),
	SYSCALL("splice", "bodies moved between a pipe and a socket"),
	SYSCALL("pwrite64", "stdout/stderr logs on a file, written at an offset"),
	SYSCALL("pwritev", "stdout/stderr logs on a file, written at an offset"),
	SYSCALL("pwritev2", "stdout/stderr logs on a file, written at an offset"),
	SYSCALL("dup2", "stdout/stderr moved onto another file (2>&1, a log "
		"reopened), a connection's fd duplicated"),
	SYSCALL("dup3", "stdout/stderr moved onto another file (2>&1, a log "
		"reopened), a connection's fd duplicated"),
	SYSCALL("dup", "a connection's fd duplicated (inetd-style servers)"),
	SYSCALL("fcntl", "a connection's fd duplicated (F_DUPFD)"),
	SCHED("sched_process_exec", "a process's name and resource after exec"),
	SCHED("sched_process_exit", "forget exited processes"),
	SCHED("sched_process_fork", "follow the children of selected pids"),
	{ .name = "uprobes", .purpose = "HTTP inside TLS (uprobes on "
	  "OpenSSL's libssl); tracing works without them, TLS connections "
	  "then make no spans",
	  .fix = "needs a kernel with CONFIG_UPROBE_EVENTS=y",
	  .fn = check_file, .arg = UPROBE_PMU },
	{ .name = "unprivileged BPF", .purpose = "informational: the tracer "
	  "runs privileged either way",
	  .fn = check_unpriv_bpf,
	  .arg = "/proc/sys/kernel/unprivileged_bpf_disabled" },
	{ .name = "cgroup mode", .purpose = "cgroup filters and container "
	  "ids read v1, v2 and hybrid layouts",
	  .fn = check_cgroup },
	{ .name = "CRI socket", .purpose = "pod name, namespace, labels "
	  "and container name of traced containers; tracing works without",
	  .fix = "set cri.socket (--cri-socket) to the container runtime's "
		 "socket (containerd: /run/containerd/containerd.sock, CRI-O: "
		 "/var/run/crio/crio.sock) and mount it into the tracer's pod",
	  .fn = check_cri, .arg = CRI_DEFAULT_SOCKET },
	{ .name = "memlock rlimit", .purpose = "BPF memory before 5.11; "
	  "later kernels charge the cgroup and libbpf 1.x skips the limit",
	  .fn = check_memlock },
};

const struct ebt_check *ebt_check_table(size_t *n)
{
	*n = ARRAY_SIZE(checks);
	return checks;
}

/* ---- running and reporting ---- */

void ebt_check_eval(const struct ebt_check *c, struct ebt_check_result *r)
{
	memset(r, 0, sizeof(*r));
	c->fn(c, r);
	if (!c->required && r->status == EBT_CHECK_MISSING)
		r->status = EBT_CHECK_WARN;
}

static const char *fix_of(const struct ebt_check *c,
			  const struct ebt_check_result *r)
{
	if (r->fix[0])
		return r->fix;
	return c->fix ? c->fix : "";
}

#define NAME_W 22

void ebt_check_print(FILE *out, const struct ebt_check *c,
		     const struct ebt_check_result *r)
{
	const char *f = fix_of(c, r);
	bool bad = r->status == EBT_CHECK_MISSING ||
		   r->status == EBT_CHECK_WARN;

	fprintf(out, "  %-8s %-*s %s\n", ebt_check_status_name(r->status),
		NAME_W, c->name, r->detail);
	fprintf(out, "  %-8s %-*s for: %s\n", "", NAME_W, "", c->purpose);
	if (bad && *f)
		fprintf(out, "  %-8s %-*s fix: %s\n", "", NAME_W, "", f);
}

int ebt_check_run_table(FILE *out, const struct ebt_check *t, size_t n)
{
	unsigned count[EBT_CHECK_MISSING + 1] = { 0 };
	struct ebt_check_result r;

	fprintf(out, "ebpftrace check: kernel features and privileges\n\n");
	for (size_t i = 0; i < n; i++) {
		ebt_check_eval(&t[i], &r);
		count[r.status]++;
		ebt_check_print(out, &t[i], &r);
	}
	fprintf(out, "\n%u ok, %u missing, %u warn, %u info: %s\n",
		count[EBT_CHECK_OK], count[EBT_CHECK_MISSING],
		count[EBT_CHECK_WARN], count[EBT_CHECK_INFO],
		count[EBT_CHECK_MISSING]
			? "ebpftrace cannot run here, fix the MISSING items"
			: "all required features are present");
	return count[EBT_CHECK_MISSING] ? 1 : 0;
}

int ebt_check_required_table(const struct ebt_check *t, size_t n, char *err,
			     size_t errlen)
{
	struct ebt_check_result r;

	for (size_t i = 0; i < n; i++) {
		if (!t[i].required)
			continue;
		ebt_check_eval(&t[i], &r);
		if (r.status != EBT_CHECK_MISSING)
			continue;
		snprintf(err, errlen, "%s missing: %s; fix: %s", t[i].name,
			 r.detail, fix_of(&t[i], &r));
		return -1;
	}
	return 0;
}

int ebt_check_run(FILE *out, const char *cri_socket)
{
	struct ebt_check t[ARRAY_SIZE(checks)];

	memcpy(t, checks, sizeof(checks));
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].fn == check_cri)
			t[i].arg = cri_socket;
	return ebt_check_run_table(out, t, ARRAY_SIZE(t));
}

int ebt_check_required(char *err, size_t errlen)
{
	return ebt_check_required_table(checks, ARRAY_SIZE(checks), err,
					errlen);
}
