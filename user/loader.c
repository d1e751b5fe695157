/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staged loading of the capture programs: open -> rodata -> load -> filters
 * -> attach. Each stage names what failed and what to do about it.
 */
#include "loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "ebpftrace.skel.h"
#include "log.h"
#include "ringbuf.h"
#include "tls.h"

#define MAX_LINKS 64
#define EBT_MAX_CGROUP_IDS 1024 /* ebt_cgroup_filter's max_entries */

struct ebt_bpf {
	struct ebpftrace_bpf *skel;
	struct ebt_ring *rb;
	int nr_cpus;
	struct bpf_link *links[MAX_LINKS];
	unsigned n_links;
	struct ebt_tls_libs tls;     /* libssl files with uprobes on them */
	struct bpf_link **tls_links;
	size_t n_tls_links, cap_tls_links;
	bool no_uprobes; /* the kernel has no uprobe PMU: TLS is off */
	uint64_t *gate;     /* ebt_conn_gate, mapped: one bit per tgid */
	uint64_t *pid_bits; /* ebt_pid_bits, mapped: --pid, one bit per tgid */
	size_t gate_words;  /* words of each */
};

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt,
			va_list ap)
{
	if (lvl == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ringbuf_size rounded up to a power of two (the kernel's rule). */
#define RINGBUF_DEFAULT (2u << 20)
#define RINGBUF_MIN (256u << 10)
#define RINGBUF_MAX (1u << 30)

static uint32_t ringbuf_bytes(const struct ebt_config *c)
{
	uint64_t want = c->ringbuf_size ? c->ringbuf_size : RINGBUF_DEFAULT;
	uint32_t n = RINGBUF_MIN;

	while (n < want && n < RINGBUF_MAX)
		n <<= 1;
	return n;
}

/* Words of the connection gate for this host's pid_max, in whole pages
 * (the array is mapped); the largest pid_max when it cannot be read. */
static uint32_t gate_words(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	unsigned long pid_max = 0;
	uint32_t w;

	if (!f || fscanf(f, "%lu", &pid_max) != 1)
		pid_max = (unsigned long)EBT_GATE_WORDS_MAX * 64;
	if (f)
		fclose(f);
	w = (uint32_t)((pid_max + 63) / 64);
	w = (w + EBT_GATE_PAGE_WORDS - 1) / EBT_GATE_PAGE_WORDS *
	    EBT_GATE_PAGE_WORDS;
	return w < EBT_GATE_WORDS_MAX ? w : EBT_GATE_WORDS_MAX;
}

/* Map a loaded bit-per-tgid array so userspace sets and clears bits as
 * BPF does (atomically: BPF changes other bits of a word at any time). */
static int map_bits(struct ebt_bpf *b, struct bpf_map *m, uint64_t **out)
{
	size_t len = b->gate_words * sizeof(uint64_t);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(m), 0);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static int map_gate(struct ebt_bpf *b)
{
	int rc = map_bits(b, b->skel->maps.ebt_conn_gate, &b->gate);

	return rc ? rc : map_bits(b, b->skel->maps.ebt_pid_bits, &b->pid_bits);
}

static void bit_set(const struct ebt_bpf *b, uint64_t *bits, uint32_t tgid)
{
	if (bits && tgid / 64 < b->gate_words)
		__atomic_fetch_or(&bits[tgid / 64], 1ULL << (tgid % 64),
				  __ATOMIC_SEQ_CST);
}

static void bit_clear(const struct ebt_bpf *b, uint64_t *bits, uint32_t tgid)
{
	if (bits && tgid / 64 < b->gate_words)
		__atomic_fetch_and(&bits[tgid / 64], ~(1ULL << (tgid % 64)),
				   __ATOMIC_SEQ_CST);
}

static void gate_set(struct ebt_bpf *b, uint32_t tgid)
{
	bit_set(b, b->gate, tgid);
}

/* --pid: tgid into (or out of) both the hash and the bits. */
static void pid_select(struct ebt_bpf *b, uint32_t tgid, bool on)
{
	struct bpf_map *m = b->skel->maps.ebt_pid_filter;
	uint8_t one = 1;

	if (on) {
		bpf_map__update_elem(m, &tgid, sizeof(tgid), &one, 1, BPF_ANY);
		bit_set(b, b->pid_bits, tgid);
	} else {
		bit_clear(b, b->pid_bits, tgid);
		bpf_map__delete_elem(m, &tgid, sizeof(tgid), 0);
	}
}

/*
 * A data record asks the ring how full it is only once per this many
 * bytes its CPU wrote (bpf/: rb_output_scratch). All CPUs together may
 * then write a sixteenth of the ring past the wakeup mark before one of
 * them asks: at most 16 KiB each, less on hosts with many CPUs.
 */
#define EBT_RB_QUERY_MAX (16u << 10)

static uint64_t query_bytes(uint64_t ring_bytes, int cpus)
{
	uint64_t q = ring_bytes / 16 / (uint64_t)(cpus > 0 ? cpus : 1);

	return q < EBT_RB_QUERY_MAX ? q : EBT_RB_QUERY_MAX;
}

static void set_rodata(struct ebpftrace_bpf *skel, const struct ebt_config *c,
		       int cpus)
{
	struct ebt_bpf_config *rc = (void *)&skel->rodata->ebt_cfg;

	rc->self_tgid = (uint32_t)getpid();
	rc->rb_wakeup_bytes = ringbuf_bytes(c) / 4;
	rc->rb_query_bytes = query_bytes(ringbuf_bytes(c), cpus);
	rc->hook_only = c->hook_only;
	rc->tls = c->tls && !c->hook_only;
	rc->filter_pid = c->n_pids > 0;
	rc->filter_comm = c->n_comms > 0;
	rc->filter_cgroup = c->n_cgroups > 0 || c->n_containers > 0 ||
			    ebt_config_has_pod_filter(c);
	/* Host mode captures the output of selected processes only: the
	 * output of everything would include whatever reads our own console
	 * output (a pager, grep) and loop. logs.containers captures every
	 * process and userspace keeps the containerised ones (decoder.c). */
	rc->capture_logs = c->logs_enabled &&
			   (ebt_config_has_filter(c) || c->logs_containers);
}

/* --cgroup and --container-id as cgroup2 ids (cgroup_select.c). */
static int cgroup_ids(const struct ebt_config *c, uint64_t *ids,
		      unsigned *n, unsigned max, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->n_cgroups; i++) {
		if (*n >= max ||
		    ebt_cgroup_id_of(c->cgroups[i], &ids[*n], err, errlen))
			return -1;
		(*n)++;
	}
	for (unsigned i = 0; i < c->n_containers; i++)
		if (ebt_container_cgroup_ids(c->containers[i], ids, n, max,
					     err, errlen) < 0)
			return -1;
	return 0;
}

static int fill_filters(struct ebt_bpf *b, const struct ebt_config *c,
			char *err, size_t errlen)
{
	struct ebpftrace_bpf *skel = b->skel;
	uint64_t ids[EBT_MAX_CGROUP_IDS];
	unsigned n_ids = 0;
	uint8_t one = 1;

	for (unsigned i = 0; i < c->n_pids; i++)
		pid_select(b, c->pids[i], true);
	for (unsigned i = 0; i < c->n_comms; i++) {
		char comm[EBT_COMM_LEN] = {0};

		strncpy(comm, c->comms[i], sizeof(comm) - 1);
		bpf_map__update_elem(skel->maps.ebt_comm_filter, comm,
				     sizeof(comm), &one, 1, BPF_ANY);
	}
	if (cgroup_ids(c, ids, &n_ids, EBT_MAX_CGROUP_IDS, err, errlen))
		return -1;
	for (unsigned i = 0; i < n_ids; i++)
		bpf_map__update_elem(skel->maps.ebt_cgroup_filter, &ids[i],
				     sizeof(ids[i]), &one, 1, BPF_ANY);
	return 0;
}

static int stage_error(char *err, size_t errlen, const char *stage, int rc)
{
	const char *hint = "run `ebpftrace check` to see which kernel feature "
			   "or capability is missing";

	if (rc == -EPERM || rc == -EACCES)
		hint = "run as root or with CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN "
		       "and CAP_SYS_PTRACE";
	else if (rc == -ENOENT)
		hint = "mount tracefs (mount -t tracefs nodev "
		       "/sys/kernel/tracing) and check BTF at "
		       "/sys/kernel/btf/vmlinux";
	snprintf(err, errlen, "BPF %s failed: %s; %s", stage, strerror(-rc),
		 hint);
	return -1;
}

/* A libssl uprobe program (attached per library file, not here)? */
static bool is_tls_prog(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);

	return strcmp(sec, "uprobe") == 0 || strcmp(sec, "uretprobe") == 0;
}

/* Load either the per-syscall tracepoints or the two raw tp_btf ones;
 * the libssl uprobes only when tls is on. */
static void select_hooks(struct ebpftrace_bpf *skel,
			 const struct ebt_config *c)
{
	enum ebt_hooks hooks = c->hooks;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		bool raw = strncmp(sec, "tp_btf/sys_", 11) == 0;
		bool per_sc = strncmp(sec, "tracepoint/syscalls/", 20) == 0;

		if (is_tls_prog(prog))
			bpf_program__set_autoload(prog, c->tls);
		else if (raw)
			bpf_program__set_autoload(prog, hooks == EBT_HOOKS_RAW);
		else if (per_sc)
			bpf_program__set_autoload(
				prog, hooks == EBT_HOOKS_TRACEPOINTS);
	}
}

static int attach_all(struct ebt_bpf *b, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, b->skel->obj) {
		struct bpf_link *l;
		char stage[160];

		if (!bpf_program__autoload(prog) || is_tls_prog(prog))
			continue;
		l = bpf_program__attach(prog);

		if (!l || b->n_links >= MAX_LINKS) {
			snprintf(stage, sizeof(stage), "attach of %s (%s)",
				 bpf_program__name(prog),
				 bpf_program__section_name(prog));
			bpf_link__destroy(l);
			return stage_error(err, errlen, stage,
					   l ? -E2BIG : -errno);
		}
		b->links[b->n_links++] = l;
	}
	return 0;
}

struct ebt_bpf *ebt_bpf_start(const struct ebt_config *cfg, ebt_event_fn fn,
			      void *ctx, char *err, size_t errlen)
{
	struct ebt_bpf *b = calloc(1, sizeof(*b));
	int rc;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	libbpf_set_print(libbpf_print);
	b->nr_cpus = libbpf_num_possible_cpus();
	b->skel = ebpftrace_bpf__open();
	if (!b->skel) {
		stage_error(err, errlen, "open", -errno);
		goto fail;
	}
	set_rodata(b->skel, cfg, b->nr_cpus);
	bpf_map__set_max_entries(b->skel->maps.ebt_events, ringbuf_bytes(cfg));
	b->gate_words = gate_words();
	bpf_map__set_max_entries(b->skel->maps.ebt_conn_gate,
				 (uint32_t)b->gate_words);
	bpf_map__set_max_entries(b->skel->maps.ebt_named,
				 (uint32_t)b->gate_words);
	bpf_map__set_max_entries(b->skel->maps.ebt_pid_bits,
				 (uint32_t)b->gate_words);
	select_hooks(b->skel, cfg);
	rc = ebpftrace_bpf__load(b->skel);
	if (rc) {
		stage_error(err, errlen, "load (verifier)", rc);
		goto fail;
	}
	rc = map_gate(b);
	if (rc) {
		stage_error(err, errlen, "mmap of the connection gate map", rc);
		goto fail;
	}
	if (fill_filters(b, cfg, err, errlen) ||
	    attach_all(b, err, errlen))
		goto fail;
	b->rb = ebt_ring_new(bpf_map__fd(b->skel->maps.ebt_events), fn, ctx);
	if (!b->rb) {
		stage_error(err, errlen, "ring buffer setup", -errno);
		goto fail;
	}
	return b;
fail:
	ebt_bpf_stop(b);
	return NULL;
}

int ebt_bpf_poll(struct ebt_bpf *b, int timeout_ms)
{
	int n = ebt_ring_poll(b->rb, timeout_ms), m;

	if (n < 0 && n != -EINTR)
		return n;
	/* BPF mostly writes without waking us: drain what the timeout left */
	m = ebt_ring_consume(b->rb);
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
}

static int keep_tls_link(struct ebt_bpf *b, struct bpf_link *l)
{
	if (b->n_tls_links == b->cap_tls_links) {
		size_t cap = b->cap_tls_links ? b->cap_tls_links * 2 : 16;
		struct bpf_link **v = realloc(b->tls_links, cap * sizeof(*v));

		if (!v)
			return -1;
		b->tls_links = v;
		b->cap_tls_links = cap;
	}
	b->tls_links[b->n_tls_links++] = l;
	return 0;
}

/* prog at the entry (or the return) of func in the file at path. */
static bool attach_uprobe(struct ebt_bpf *b, struct bpf_program *prog,
			  const char *path, const char *func, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, path, 0,
							     &o);

	if (!l)
		return false;
	if (keep_tls_link(b, l) != 0) {
		bpf_link__destroy(l);
		return false;
	}
	return true;
}

/* The uprobe programs on one TLS library file: tls_enter_<fn> at the
 * entry of function fn, tls_exit at its return; OpenSSL's (SSL_*) on
 * libssl, GnuTLS's (gnutls_*) on libgnutls. A library without some of
 * them (OpenSSL 1.1.0 has no SSL_read_ex) gets the others. */
static int attach_tls_lib(void *ctx, const char *path, const char *shown)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *want = strncmp(base, "libgnutls", 9) == 0 ? "gnutls_"
							       : "SSL_";
	struct ebt_bpf *b = ctx;
	struct bpf_program *prog;
	unsigned ok = 0;

	bpf_object__for_each_program(prog, b->skel->obj) {
		const char *fn = bpf_program__name(prog);

		if (strcmp(bpf_program__section_name(prog), "uprobe") != 0 ||
		    !bpf_program__autoload(prog))
			continue;
		fn = strchr(strchr(fn, '_') + 1, '_') + 1; /* tls_enter_<fn> */
		if (strncmp(fn, want, strlen(want)) != 0 ||
		    !attach_uprobe(b, b->skel->progs.tls_exit, path, fn, true))
			continue;
		ok += attach_uprobe(b, prog, path, fn, false);
	}
	if (!ok)
		log_warn("tls: no uprobe could be attached to %s", shown);
	else
		log_info("tls: uprobes on %s (%u)", shown, ok);
	return ok ? 0 : -1;
}

#define UPROBE_PMU "/sys/bus/event_source/devices/uprobe/type"

unsigned ebt_bpf_tls_scan(struct ebt_bpf *b, const char *proc)
{
	if (!b || !ebt_bpf_tls_on(b) || b->no_uprobes)
		return 0;
	/* without the PMU libbpf would fall back to writing uprobe_events
	 * in tracefs: the tracer writes nothing on the host */
	if (access(UPROBE_PMU, F_OK) != 0) {
		log_warn("tls: this kernel has no uprobe PMU (%s; "
			 "CONFIG_UPROBE_EVENTS): HTTP inside TLS makes no "
			 "spans, the rest is traced", UPROBE_PMU);
		b->no_uprobes = true;
		return 0;
	}
	return ebt_tls_scan(&b->tls, proc, attach_tls_lib, b);
}

bool ebt_bpf_tls_on(struct ebt_bpf *b)
{
	return b->skel->rodata->ebt_cfg.tls != 0;
}

static void *destroy_link(void *l)
{
	bpf_link__destroy(l);
	return NULL;
}

/*
 * Detaching a tracepoint or uprobe waits for an RCU grace period in the
 * kernel (70-110 ms each here): one after the other, 36 links took over
 * 3 s at exit. Detached side by side, the waits overlap.
 */
static void destroy_links(struct bpf_link **v, size_t n)
{
	pthread_t *th = calloc(n, sizeof(*th));
	bool *started = calloc(n, sizeof(*started));

	for (size_t i = 0; i < n; i++) {
		if (th && started &&
		    pthread_create(&th[i], NULL, destroy_link, v[i]) == 0)
			started[i] = true;
		else
			bpf_link__destroy(v[i]);
	}
	for (size_t i = 0; th && started && i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	free(th);
	free(started);
}

void ebt_bpf_stop(struct ebt_bpf *b)
{
	if (!b)
		return;
	if (b->gate)
		munmap(b->gate, b->gate_words * sizeof(uint64_t));
	if (b->pid_bits)
		munmap(b->pid_bits, b->gate_words * sizeof(uint64_t));
	ebt_ring_free(b->rb);
	destroy_links(b->tls_links, b->n_tls_links);
	free(b->tls_links);
	ebt_tls_libs_free(&b->tls);
	destroy_links(b->links, b->n_links);
	ebpftrace_bpf__destroy(b->skel);
	free(b);
}

void ebt_bpf_stats(struct ebt_bpf *b, uint64_t *out)
{
	uint64_t vals[b->nr_cpus > 0 ? b->nr_cpus : 1];

	for (uint32_t i = 0; i < EBT_STAT__COUNT; i++) {
		out[i] = 0;
		if (bpf_map__lookup_elem(b->skel->maps.ebt_stats, &i, sizeof(i),
					 vals, sizeof(vals), 0))
			continue;
		for (int c = 0; c < b->nr_cpus; c++)
			out[i] += vals[c];
	}
}

void ebt_bpf_conn_set_proto(struct ebt_bpf *b, uint32_t tgid, uint32_t fd,
			    uint64_t start_ns, bool tls, uint32_t proto)
{
	struct ebt_conn_key k = {.tgid = tgid, .fd = fd};
	struct ebt_conn_info v;
	struct bpf_map *m = b->skel->maps.ebt_conns;

	/* a verdict on the clear bytes is stale once BPF switched the
	 * connection to TLS (HTTPS in a CONNECT tunnel) */
	if (bpf_map__lookup_elem(m, &k, sizeof(k), &v, sizeof(v), 0) ||
	    v.start_ns != start_ns)
		return;
	if (v.alias) { /* a dup'd connection: its shared entry */
		k.fd = v.alias;
		if (bpf_map__lookup_elem(m, &k, sizeof(k), &v, sizeof(v), 0) ||
		    v.start_ns != start_ns)
			return;
	}
	if ((v.tls != 0) != tls)
		return;
	v.proto = proto;
	bpf_map__update_elem(m, &k, sizeof(k), &v, sizeof(v), BPF_EXIST);
}

void ebt_bpf_skip_set(struct ebt_bpf *b, uint32_t tgid, uint32_t fd,
		      uint64_t start_ns, const uint64_t until[2])
{
	struct ebt_conn_key k = {.tgid = tgid, .fd = fd};
	struct ebt_skip v = {.start_ns = start_ns,
			     .until = {until[0], until[1]}};

	bpf_map__update_elem(b->skel->maps.ebt_skip, &k, sizeof(k), &v,
			     sizeof(v), BPF_ANY);
}

void ebt_bpf_skip_delete(struct ebt_bpf *b, uint32_t tgid, uint32_t fd)
{
	struct ebt_conn_key k = {.tgid = tgid, .fd = fd};

	bpf_map__delete_elem(b->skel->maps.ebt_skip, &k, sizeof(k), 0);
}

void ebt_bpf_conn_delete(struct ebt_bpf *b, uint32_t tgid, uint32_t fd)
{
	struct ebt_conn_key k = {.tgid = tgid, .fd = fd};

	bpf_map__delete_elem(b->skel->maps.ebt_conns, &k, sizeof(k), 0);
}

/* tgid has a connection BPF did not list (userspace entered it): its
 * forks and exit walk the connection map; with EBT_FDS_SHARED in flags
 * its exit also deletes its shared entries. Its other flags stay. The
 * flags are in a map only userspace writes (ebt_proc_added): writing
 * the whole list BPF keeps (ebt_proc_fds) would undo a slot a BPF
 * program took or freed between our lookup and update. */
static void proc_fds_walk(struct ebt_bpf *b, uint32_t tgid, uint32_t flags)
{
	struct bpf_map *m = b->skel->maps.ebt_proc_added;
	uint32_t v = 0;

	bpf_map__lookup_elem(m, &tgid, sizeof(tgid), &v, sizeof(v), 0);
	v |= EBT_FDS_WALK | flags;
	bpf_map__update_elem(m, &tgid, sizeof(tgid), &v, sizeof(v), BPF_ANY);
}

/* The flags userspace set for tgid, once it has seen it exit (BPF deleted
 * them at the exit; an adoption scan racing the exit may set them again). */
void ebt_bpf_fds_forget(struct ebt_bpf *b, uint32_t tgid)
{
	bpf_map__delete_elem(b->skel->maps.ebt_proc_added, &tgid,
			     sizeof(tgid), 0);
}

bool ebt_bpf_is_self_port(struct ebt_bpf *b, uint16_t port)
{
	uint8_t v;

	return bpf_map__lookup_elem(b->skel->maps.ebt_self_ports, &port,
				    sizeof(port), &v, sizeof(v), 0) == 0;
}

void ebt_bpf_pid_inherit(struct ebt_bpf *b, uint32_t parent, uint32_t child)
{
	struct bpf_map *m = b->skel->maps.ebt_pid_filter;
	uint8_t v;

	if (bpf_map__lookup_elem(m, &parent, sizeof(parent), &v, sizeof(v),
				 0) == 0)
		pid_select(b, child, true);
}

int ebt_bpf_cgroup_set(void *ctx, uint64_t cgroup_id, bool on)
{
	struct ebt_bpf *b = ctx;
	struct bpf_map *m = b->skel->maps.ebt_cgroup_filter;
	uint8_t one = 1;

	if (on)
		return bpf_map__update_elem(m, &cgroup_id, sizeof(cgroup_id),
					    &one, sizeof(one), BPF_ANY);
	return bpf_map__delete_elem(m, &cgroup_id, sizeof(cgroup_id), 0);
}

unsigned ebt_bpf_cgroup_capacity(void)
{
	return EBT_MAX_CGROUP_IDS;
}

void ebt_bpf_pid_forget(struct ebt_bpf *b, uint32_t tgid)
{
	pid_select(b, tgid, false);
}

/* Filter map lookup: true when key is in m. */
static bool in_filter(struct bpf_map *m, const void *key, size_t size)
{
	uint8_t v;

	return bpf_map__lookup_elem(m, key, size, &v, sizeof(v), 0) == 0;
}

bool ebt_bpf_selects(struct ebt_bpf *b, uint32_t tgid, const char *comm,
		     uint64_t cgroup_id)
{
	const struct ebt_bpf_config *c = &b->skel->rodata->ebt_cfg;
	char key[EBT_COMM_LEN] = {0};

	strncpy(key, comm, sizeof(key) - 1);
	return tgid != c->self_tgid &&
	       (!c->filter_pid ||
		in_filter(b->skel->maps.ebt_pid_filter, &tgid, sizeof(tgid))) &&
	       (!c->filter_comm ||
		in_filter(b->skel->maps.ebt_comm_filter, key, sizeof(key))) &&
	       (!c->filter_cgroup ||
		in_filter(b->skel->maps.ebt_cgroup_filter, &cgroup_id,
			  sizeof(cgroup_id)));
}

bool ebt_bpf_filters_cgroup(struct ebt_bpf *b)
{
	return b->skel->rodata->ebt_cfg.filter_cgroup;
}

/* Alias entries naming the shared entry at shared_fd for the fds of
 * tgid (none of which BPF tracks): how many went in. */
static unsigned put_aliases(struct ebt_bpf *b, uint32_t tgid,
			    const uint32_t *fds, unsigned n,
			    uint32_t shared_fd, uint64_t start_ns)
{
	struct ebt_conn_info alias = {.start_ns = start_ns,
				      .alias = shared_fd};
	unsigned put = 0;

	for (unsigned i = 0; i < n; i++) {
		struct ebt_conn_key k = {.tgid = tgid, .fd = fds[i]};

		put += bpf_map__update_elem(b->skel->maps.ebt_conns, &k,
					    sizeof(k), &alias, sizeof(alias),
					    BPF_NOEXIST) == 0;
	}
	return put;
}

static void delete_aliases(struct ebt_bpf *b, uint32_t tgid,
			   const uint32_t *fds, unsigned n, uint32_t shared_fd)
{
	for (unsigned i = 0; i < n; i++) {
		struct ebt_conn_key k = {.tgid = tgid, .fd = fds[i]};
		struct ebt_conn_info v;

		if (bpf_map__lookup_elem(b->skel->maps.ebt_conns, &k,
					 sizeof(k), &v, sizeof(v), 0) == 0 &&
		    v.alias == shared_fd)
			bpf_map__delete_elem(b->skel->maps.ebt_conns, &k,
					     sizeof(k), 0);
	}
}

/*
 * A connection open on several fds of tgid (a handler already running
 * with the socket on its stdin and stdout): entered as BPF enters a dup'd
 * one, a shared entry holding the state, named by an alias entry per fd.
 * The aliases go in first (a BPF close of one before the shared entry
 * exists is let go like an untracked fd's), all or none: an fd BPF
 * tracks already is left to it.
 */
static int adopt_shared(struct ebt_bpf *b, uint32_t tgid,
			const uint32_t *fds, unsigned n,
			struct ebt_conn_info *v)
{
	struct bpf_map *m = b->skel->maps.ebt_conns;
	struct ebt_conn_key sk = {.tgid = tgid};
	struct ebt_conn_info old;

	v->origin = fds[0] + 1;
	v->refs = n;
	for (int tries = 0; tries < 8; tries++) {
		sk.fd = EBT_SHARED_FD | ((uint32_t)(v->start_ns >> 6) +
					 (uint32_t)tries * 0x9e3779b9u);
		if (bpf_map__lookup_elem(m, &sk, sizeof(sk), &old, sizeof(old),
					 0) == 0)
			continue; /* the key is taken: another */
		if (put_aliases(b, tgid, fds, n, sk.fd, v->start_ns) != n) {
			delete_aliases(b, tgid, fds, n, sk.fd);
			return -EEXIST; /* BPF tracks one of the fds already */
		}
		if (bpf_map__update_elem(m, &sk, sizeof(sk), v, sizeof(*v),
					 BPF_NOEXIST) == 0) {
			proc_fds_walk(b, tgid, EBT_FDS_SHARED);
			return 0;
		}
		delete_aliases(b, tgid, fds, n, sk.fd);
	}
	return -ENOSPC;
}

int ebt_bpf_conn_adopt(struct ebt_bpf *b, uint32_t tgid, const uint32_t *fds,
		       unsigned n, uint32_t role, uint64_t start_ns)
{
	struct ebt_conn_key k = {.tgid = tgid, .fd = fds[0]};
	struct ebt_conn_info v = {.start_ns = start_ns, .role = role,
				  .tries = EBT_ADOPT_TRIES};
	int rc;

	if (b->skel->rodata->ebt_cfg.hook_only)
		return -EPERM;
	gate_set(b, tgid);
	if (n > 1)
		return adopt_shared(b, tgid, fds, n, &v);
	rc = bpf_map__update_elem(b->skel->maps.ebt_conns, &k, sizeof(k), &v,
				  sizeof(v), BPF_NOEXIST);
	if (rc == 0)
		proc_fds_walk(b, tgid, 0);
	return rc;
}
