// SPDX-License-Identifier: GPL-2.0
/*
 * ebpftrace capture programs: syscall tracepoints only (the target kernel has
 * no kprobes and no fentry). BPF captures, userspace interprets: these
 * programs track which fds are TCP connections of selected processes, copy a
 * capped prefix of the bytes moved on them into one ring buffer, and stop
 * copying once a connection's first bytes show it is not HTTP.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "ebpftrace_events.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define EINPROGRESS 115
#define PAYLOAD_MASK (EBT_PAYLOAD_MAX - 1)

char LICENSE[] SEC("license") = "GPL";

const volatile struct ebt_bpf_config ebt_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* set by the loader (ringbuf_size) */
} ebt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ebt_conn_key);
	__type(value, struct ebt_conn_info);
} ebt_conns SEC(".maps");

/* Long bodies not to copy, set by userspace (struct ebt_skip). LRU: an
 * entry of a connection that went away is reused, never in the way. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ebt_conn_key);
	__type(value, struct ebt_skip);
} ebt_skip SEC(".maps");

/*
 * Processes that may have a tracked connection: bit tgid % 64 of word
 * tgid / 64, set before a connection of the process goes into ebt_conns
 * (here, or by userspace through the mapped array when it adopts one) and
 * cleared once its whole thread group has exited. A data syscall or close
 * of any other process (most of a host's) skips the ebt_conns lookup: an
 * array word is read in place, a hash lookup is not. The loader sizes it
 * from pid_max; a tgid beyond it (pid_max raised later) is looked up.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, EBT_GATE_WORDS_MAX); /* set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} ebt_conn_gate SEC(".maps");

/* Syscall arguments saved at sys_enter, read back at sys_exit. */
struct io_args {
	__u64 buf;    /* user buffer, or iovec array when iovcnt > 0 */
	__u32 fd;
	__u32 iovcnt;
	__u32 direction;
	__u32 kind;   /* IO_* below */
	__u32 stream; /* IO_LOG: 1 stdout, 2 stderr */
	__u32 live;   /* saved by a sys_enter, not yet used by its sys_exit */
};

enum {
	IO_DATA = 0, IO_ACCEPT = 1, IO_CONNECT = 2, IO_SELF_CONNECT = 3,
	IO_LOG = 4, /* write/writev to stdout or stderr */
};

/* One slot per thread (task storage: no hash update or delete per
 * syscall, freed with the thread). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct io_args);
} ebt_args SEC(".maps");

/* Data record plus spill room so masked offsets stay in bounds. */
struct scratch {
	struct ebt_ev_data ev;
	__u8 spill[EBT_PAYLOAD_MAX];
	__u64 unqueried; /* bytes this CPU sent since it last asked the ring */
	__u64 iov_ptr;   /* copy_iov(): the iovec array being copied, */
	__u32 iov_cnt;   /* its length, */
	__u32 iov_want;  /* the bytes wanted */
	__u32 iov_off;   /* and the bytes copied so far */
	__u32 end_at;    /* copy_iov_end(): payload offset of the end bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} ebt_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EBT_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} ebt_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} ebt_pid_filter SEC(".maps");

/*
 * --pid as a bit per tgid (words as in ebt_conn_gate, set and cleared
 * with ebt_pid_filter, which holds the same tgids): a write of a process
 * that is not selected is told so by an array word read in place, not a
 * hash lookup. A tgid beyond the array is looked up in ebt_pid_filter.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, EBT_GATE_WORDS_MAX); /* set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} ebt_pid_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[EBT_COMM_LEN]);
	__type(value, __u8);
} ebt_comm_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} ebt_cgroup_filter SEC(".maps");

/* Local ports of the tracer's own TCP connections (its exports). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} ebt_self_ports SEC(".maps");

/*
 * Processes whose program userspace was woken to name (see conn_open):
 * bit per tgid as in ebt_conn_gate, set at the first connection the
 * process itself opens, cleared when it execs another program or exits.
 * A forked child starts clear even when it inherits connections.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EBT_GATE_WORDS_MAX); /* set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} ebt_named SEC(".maps");

/* Processes' connection fds (struct ebt_proc_fds), for forks and exits.
 * A process that finds the map full has no list: its forks walk ebt_conns
 * and its connections are not followed on their dups. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ebt_proc_fds);
} ebt_proc_fds SEC(".maps");

/* Flags (EBT_FDS_*) of the processes whose connections userspace entered
 * itself (adoption, late fork copies). Written only by userspace, so its
 * whole-value updates never race BPF's compare-and-swap in ebt_proc_fds;
 * BPF reads them at fork and exit, and deletes them at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} ebt_proc_added SEC(".maps");

/* What a fork or exit of tgid must know of its connections: the flags of
 * its list and the ones userspace set; 0 when it has neither. */
static __always_inline __u32 proc_fds_flags(__u32 tgid,
					    struct ebt_proc_fds *l)
{
	__u32 *u = bpf_map_lookup_elem(&ebt_proc_added, &tgid);
	__u32 f = u ? *u : 0;

	if (l)
		f |= l->flags | (l->unlisted ? EBT_FDS_WALK : 0);
	return f;
}

static __always_inline __u64 *bit_word(void *map, __u32 tgid)
{
	__u32 w = tgid >> 6;

	return bpf_map_lookup_elem(map, &w);
}

/* tgid's bit in map: 1 or 0, or -1 when tgid is beyond the array. */
static __always_inline int bit_get(void *map, __u32 tgid)
{
	__u64 *v = bit_word(map, tgid);

	return v ? (int)((*v >> (tgid & 63)) & 1) : -1;
}

/* May tgid have a tracked connection? (Beyond the gate: maybe.) */
static __always_inline bool gate_open(__u32 tgid)
{
	return bit_get(&ebt_conn_gate, tgid) != 0;
}

/* Sets tgid's bit in map; true when it was clear. */
static __always_inline bool bit_set(void *map, __u32 tgid)
{
	__u64 *v = bit_word(map, tgid), bit = 1ULL << (tgid & 63);

	if (!v || (*v & bit))
		return false;
	__sync_fetch_and_or(v, bit);
	return true;
}

static __always_inline void bit_clear(void *map, __u32 tgid)
{
	__u64 *v = bit_word(map, tgid), bit = 1ULL << (tgid & 63);

	if (v && (*v & bit))
		__sync_fetch_and_and(v, ~bit);
}

static __always_inline void gate_set(__u32 tgid)
{
	bit_set(&ebt_conn_gate, tgid);
}

/* The tracked connection at key, or NULL; the gate first. */
static __always_inline struct ebt_conn_info *conn_lookup(struct ebt_conn_key *key)
{
	return gate_open(key->tgid) ? bpf_map_lookup_elem(&ebt_conns, key)
				    : NULL;
}

/*
 * The connection of the fd at key: for a dup'd fd (an alias entry), the
 * shared entry it names, and key->fd becomes the fd the connection's
 * records name. NULL when untracked, or the shared entry is gone.
 */
static __always_inline struct ebt_conn_info *conn_find(struct ebt_conn_key *key)
{
	struct ebt_conn_info *c = conn_lookup(key);
	struct ebt_conn_key sk = {.tgid = key->tgid};
	__u64 start;

	if (!c || !c->alias)
		return c;
	sk.fd = c->alias;
	start = c->start_ns;
	c = bpf_map_lookup_elem(&ebt_conns, &sk);
	if (!c || c->start_ns != start || !c->origin)
		return NULL;
	key->fd = c->origin - 1;
	return c;
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ebt_stats, &idx);

	if (v)
		*v += 1;
}

static const struct ebt_proc_fds ebt_no_fds = {.flags = 0};

/* The list of tgid, made empty if it has none; NULL when the map is
 * full. */
static __always_inline struct ebt_proc_fds *proc_list(__u32 tgid)
{
	struct ebt_proc_fds *l = bpf_map_lookup_elem(&ebt_proc_fds, &tgid);

	if (l)
		return l;
	bpf_map_update_elem(&ebt_proc_fds, &tgid, &ebt_no_fds, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ebt_proc_fds, &tgid);
}

/* fd of process tgid now has an entry in ebt_conns: into its list. Slots
 * are taken by compare-and-swap, two threads may add at once. */
static __always_inline void list_fd(__u32 tgid, __u32 fd)
{
	struct ebt_proc_fds *l = proc_list(tgid);

	if (!l)
		return;
	for (int i = 0; i < EBT_LIST_FDS; i++)
		if (l->fd[i] == fd + 1)
			return;
	for (int i = 0; i < EBT_LIST_FDS; i++)
		if (l->fd[i] == 0 &&
		    __sync_val_compare_and_swap(&l->fd[i], 0, fd + 1) == 0)
			return;
	__sync_fetch_and_add(&l->unlisted, 1);
}

/* fd of process tgid left ebt_conns. */
static __always_inline void unlist_fd(__u32 tgid, __u32 fd)
{
	struct ebt_proc_fds *l = bpf_map_lookup_elem(&ebt_proc_fds, &tgid);

	if (!l)
		return;
	for (int i = 0; i < EBT_LIST_FDS; i++)
		if (l->fd[i] == fd + 1 &&
		    __sync_val_compare_and_swap(&l->fd[i], fd + 1, 0) == fd + 1)
			return;
	if (l->unlisted)
		__sync_fetch_and_add(&l->unlisted, -1);
}

/*
 * Waking the reader costs an interrupt-work item per record; instead the
 * reader polls every 100 ms and is woken only once the ring is a quarter
 * full, so records are batched (and by a process's first connection, see
 * conn_open). Waking it sooner (at 64 KiB queued) was measured: the
 * reader's CPU per request rose by a fifth (wakeups of an idle vCPU), and
 * throughput did not improve.
 */

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&ebt_events, BPF_RB_AVAIL_DATA) >
			       ebt_cfg.rb_wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

static __always_inline int rb_send(void *data, __u64 size, __u64 flags)
{
	if (bpf_ringbuf_output(&ebt_events, data, size, flags) != 0) {
		stat_inc(EBT_STAT_RB_DROPS);
		return -1;
	}
	stat_inc(EBT_STAT_EVENTS);
	return 0;
}

static __always_inline int rb_output(void *data, __u64 size)
{
	return rb_send(data, size, rb_flags());
}

/*
 * Asking the ring how full it is reads both of its positions, one of them
 * written by the reader on another CPU: a cache miss per record. A CPU
 * asks once per rb_query_bytes it sent (see the loader), so the reader is
 * woken at most that much per CPU later than at a quarter full.
 */
static __always_inline int rb_output_scratch(struct scratch *s, __u64 size)
{
	s->unqueried += size;
	if (s->unqueried < ebt_cfg.rb_query_bytes)
		return rb_send(&s->ev, size, BPF_RB_NO_WAKEUP);
	s->unqueried = 0;
	return rb_send(&s->ev, size, rb_flags());
}

/* The process's name: its leader thread's comm. Worker threads rename
 * themselves (the JDK's "HTTP-Dispatcher", "http-nio-8080-exec-1"), so
 * the current thread's comm would not match --comm java. */
static __always_inline void proc_comm(char comm[EBT_COMM_LEN])
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (!leader || bpf_core_read_str(comm, EBT_COMM_LEN, &leader->comm) < 0)
		bpf_get_current_comm(comm, EBT_COMM_LEN);
}

/* Is tgid one of --pid (or a descendant)? */
static __always_inline bool pid_selected(__u32 tgid)
{
	int bit = bit_get(&ebt_pid_bits, tgid);

	if (bit >= 0)
		return bit;
	return bpf_map_lookup_elem(&ebt_pid_filter, &tgid) != NULL;
}

/* Is this process selected for tracing? Checked once per new connection,
 * and at each write that is not on one (a log line?). */
static __always_inline bool selected(__u32 tgid)
{
	if (tgid == ebt_cfg.self_tgid)
		return false;
	if (ebt_cfg.filter_pid && !pid_selected(tgid))
		return false;
	if (ebt_cfg.filter_comm) {
		char comm[EBT_COMM_LEN] = {};

		proc_comm(comm);
		if (!bpf_map_lookup_elem(&ebt_comm_filter, comm))
			return false;
	}
	if (ebt_cfg.filter_cgroup) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&ebt_cgroup_filter, &cg))
			return false;
	}
	return true;
}

static __always_inline void fill_hdr(struct ebt_event_hdr *h, __u32 type,
				     __u64 pid_tgid, __u32 fd, __u64 start)
{
	h->type = type;
	h->tgid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->fd = fd;
	h->ts_ns = bpf_ktime_get_ns();
	h->conn_start_ns = start;
}

/* The file at fd in an fd array, or NULL. */
static __always_inline struct file *file_at(struct file **fds, __u32 fd)
{
	struct file *f = NULL;

	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/* fd -> struct file of the current task, via its file table. */
static __always_inline struct file *fd_to_file(__u32 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	return file_at(BPF_CORE_READ(task, files, fdt, fd), fd);
}

/* fd -> struct sock of the current task. */
static __always_inline struct sock *fd_to_sock(__u32 fd)
{
	struct file *f = fd_to_file(fd);
	struct socket *so;

	if (!f)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : NULL;
}

#define AF_UNIX 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFCHR 0020000

static __always_inline struct inode *fd_inode(__u32 fd)
{
	struct file *f = fd_to_file(fd);

	return f ? BPF_CORE_READ(f, f_inode) : NULL;
}

/* The files (inode addresses) a process had as stdout and stderr when it
 * exec'd: what its parent (a shell, a container runtime) gave it. */
struct std_files {
	__u64 out;
	__u64 err;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct std_files);
} ebt_std_files SEC(".maps");

/*
 * A socket is a standard stream only as the unix socket the process was
 * given as stdout or stderr: journald's stream for systemd services, the
 * socketpair libuv (Node's child_process, PM2) gives a child. A TCP or UDP
 * socket never is (an inetd-style service talks on it), nor a socket the
 * process put on fd 1 itself (stdout closed, the fd reused). Of a process
 * started before the tracer, any unix stream socket is taken.
 */
static __always_inline bool other_socket(struct file *f, struct inode *ino,
					 struct std_files *sf)
{
	struct socket *so;
	struct sock *sk;

	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return false;
	so = BPF_CORE_READ(f, private_data);
	sk = so ? BPF_CORE_READ(so, sk) : NULL;
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return true;
	if (sf)
		return sf->out != (__u64)ino && sf->err != (__u64)ino;
	return BPF_CORE_READ(sk, sk_type) != SOCK_STREAM;
}

/*
 * Which standard stream does a write to fd reach? When the process was
 * started with stdout and stderr on different files, the one whose file
 * it writes to: a shell's `printf ... >&2` (dup2(2, 1), then a write to
 * fd 1) reaches stderr, and after an `exec 2>&1` in a script fd 2 reaches
 * stdout's file. Otherwise (both on one pipe or terminal, as with `2>&1`
 * before the exec: nothing tells the streams apart but the fd; or a
 * process started before the tracer; or stdout reopened on a file) the fd
 * says it: 1 and 2 themselves, and another fd on fd 1's file (a dup,
 * /dev/stdout opened by path) or else on fd 2's; 0 for anything else.
 */
static __always_inline __u32 std_stream(__u32 fd)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct file *f = fd_to_file(fd);
	struct inode *ino = f ? BPF_CORE_READ(f, f_inode) : NULL;
	struct std_files *sf;

	if (!ino)
		return 0;
	sf = bpf_map_lookup_elem(&ebt_std_files, &tgid);
	if (other_socket(f, ino, sf))
		return 0;
	if (sf && sf->out != sf->err) {
		if (sf->out == (__u64)ino)
			return 1;
		if (sf->err == (__u64)ino)
			return 2;
	}
	if (fd == 1 || fd == 2)
		return fd;
	if (fd_inode(1) == ino)
		return 1;
	if (fd_inode(2) == ino)
		return 2;
	return 0;
}

static __always_inline void v4_mapped(__u8 out[16], __u32 addr)
{
	__builtin_memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr, 4);
}

/* A unix stream socket: both ends' identities and the socket's name
 * (its own, or the peer's for a client that did not bind). */
static __always_inline void unix_tuple(struct sock *sk,
				       struct ebt_ev_conn_open *e)
{
	struct unix_sock *u = (struct unix_sock *)sk;
	struct sock *peer = BPF_CORE_READ(u, peer);
	struct unix_address *addr = BPF_CORE_READ(u, addr);
	__u64 me = (__u64)sk, other = (__u64)peer;
	int len;

	__builtin_memcpy(e->saddr, &me, 8);
	__builtin_memcpy(e->daddr, &other, 8);
	if (!addr && peer)
		addr = BPF_CORE_READ((struct unix_sock *)peer, addr);
	len = addr ? BPF_CORE_READ(addr, len) - 2 : 0; /* - sun_family */
	if (len <= 0 || bpf_probe_read_kernel(e->path, sizeof(e->path),
					      &addr->name[0].sun_path))
		return;
	e->path_len = len < EBT_UNIX_PATH_MAX ? len : EBT_UNIX_PATH_MAX;
}

/* Fill addresses and ports; false if not a stream socket of AF_INET/6
 * (TCP) or AF_UNIX. */
static __always_inline bool read_tuple(struct sock *sk,
				       struct ebt_ev_conn_open *e)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return false;
	e->family = family;
	if (family == AF_UNIX) {
		unix_tuple(sk, e);
		return true;
	}
	if (family == AF_INET) {
		v4_mapped(e->saddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		v4_mapped(e->daddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else if (family == AF_INET6) {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return false;
	}
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return true;
}

/* The fields of an open record after the tuple. */
static __always_inline void fill_open(struct ebt_ev_conn_open *e, __u64 id,
				      __u32 fd, __u64 start, __u32 role)
{
	fill_hdr(&e->hdr, EBT_EV_CONN_OPEN, id, fd, start);
	e->role = role;
	e->cgroup_id = bpf_get_current_cgroup_id();
	proc_comm(e->comm);
}

static __always_inline void conn_open(__u64 pid_tgid, __u32 fd, __u32 role)
{
	struct ebt_ev_conn_open e = {};
	struct ebt_conn_key key = {.tgid = pid_tgid >> 32, .fd = fd};
	struct ebt_conn_info info = {};
	struct sock *sk = fd_to_sock(fd);
	bool first;

	if (!sk || !read_tuple(sk, &e))
		return;
	/* A server connection from the tracer itself (e.g. a local Tempo
	 * receiving our exports) would feed back into the export. */
	if (role == EBT_ROLE_SERVER &&
	    bpf_map_lookup_elem(&ebt_self_ports, &e.dport))
		return;
	info.start_ns = bpf_ktime_get_ns();
	info.role = role;
	gate_set(key.tgid);
	if (bpf_map_update_elem(&ebt_conns, &key, &info, BPF_ANY)) {
		stat_inc(EBT_STAT_CONN_FULL);
		return;
	}
	list_fd(key.tgid, fd);
	fill_open(&e, pid_tgid, fd, info.start_ns, role);
	/* A program's first connection wakes the reader at once: it reads
	 * /proc for the process's name while a short-lived one still runs
	 * (a script that makes one call and exits). */
	first = bit_set(&ebt_named, key.tgid);
	rb_send(&e, sizeof(e), first ? BPF_RB_FORCE_WAKEUP : rb_flags());
}

/* ---- accept / connect ---------------------------------------------------- */

/* This thread's argument slot; created on first use when create. */
static __always_inline struct io_args *args_slot(bool create)
{
	return bpf_task_storage_get(&ebt_args, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* The arguments the matching sys_enter saved, or NULL; marks them used. */
static __always_inline struct io_args *args_take(void)
{
	struct io_args *a = args_slot(false);

	if (!a || !a->live)
		return NULL;
	a->live = 0;
	return a;
}

static __always_inline int save_args(__u32 fd, __u64 buf, __u32 iovcnt,
				     __u32 dir, __u32 kind)
{
	struct io_args *a = args_slot(true);

	if (!a)
		return 0;
	a->buf = buf;
	a->fd = fd;
	a->iovcnt = iovcnt;
	a->direction = dir;
	a->kind = kind;
	a->stream = 0;
	a->live = 1;
	return 0;
}

static __always_inline int enter_accept(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (ebt_cfg.hook_only || !selected(id >> 32))
		return 0;
	return save_args(0, 0, 0, 0, IO_ACCEPT);
}

static __always_inline int exit_accept(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_args *a;

	if (ebt_cfg.hook_only)
		return 0;
	a = args_take();
	if (ret < 0)
		return 0;
	/* Nothing saved: the accept began before the programs were attached
	 * (a server idle in a blocking accept when the tracer starts, as
	 * Tomcat's acceptor is). The fd it returns is all conn_open needs. */
	if ((a && a->kind == IO_ACCEPT) || (!a && selected(id >> 32)))
		conn_open(id, (__u32)ret, EBT_ROLE_SERVER);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept0(struct trace_event_raw_sys_enter *ctx)
{
	return enter_accept();
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return enter_accept();
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept0(struct trace_event_raw_sys_exit *ctx)
{
	return exit_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return exit_accept(ctx->ret);
}

static __always_inline int enter_connect_fd(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (ebt_cfg.hook_only)
		return 0;
	if ((id >> 32) == ebt_cfg.self_tgid)
		return save_args(fd, 0, 0, 0, IO_SELF_CONNECT);
	if (!selected(id >> 32))
		return 0;
	return save_args(fd, 0, 0, 0, IO_CONNECT);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return enter_connect_fd((__u32)ctx->args[0]);
}

/* Remember the local port of one of the tracer's own connections. */
static __always_inline void self_port(__u32 fd, bool add)
{
	struct sock *sk = fd_to_sock(fd);
	__u16 port;
	__u8 one = 1;

	if (!sk)
		return;
	port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (add)
		bpf_map_update_elem(&ebt_self_ports, &port, &one, BPF_ANY);
	else
		bpf_map_delete_elem(&ebt_self_ports, &port);
}

static __always_inline int exit_connect_ret(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_args *a;

	if (ebt_cfg.hook_only)
		return 0;
	a = args_take();
	if (!a)
		return 0;
	if (ret == 0 || ret == -EINPROGRESS) {
		if (a->kind == IO_CONNECT)
			conn_open(id, a->fd, EBT_ROLE_CLIENT);
		else if (a->kind == IO_SELF_CONNECT)
			self_port(a->fd, true);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return exit_connect_ret(ctx->ret);
}

/* ---- data ------------------------------------------------------------------ */

#define DEV_NULL ((1U << 20) | 3) /* kernel dev_t of char 1:3 */

/* Does a write to fd land in /dev/null? Nobody would read such a line (no
 * container log, no file): it is not captured. */
static __always_inline bool to_devnull(__u32 fd)
{
	struct file *f = fd_to_file(fd);
	struct inode *ino = f ? BPF_CORE_READ(f, f_inode) : NULL;

	return ino && (BPF_CORE_READ(ino, i_mode) & S_IFMT) == S_IFCHR &&
	       BPF_CORE_READ(ino, i_rdev) == DEV_NULL;
}

/* What worth_a_look() found of a data syscall, passed on to log_args()
 * for a write (LOOK_NO for a read: never a log line): not worth reading;
 * worth reading (a write: a log line if its process is selected); worth
 * reading because its process passed selected() (not asked twice). */
enum look {
	LOOK_NO,
	LOOK_YES,
	LOOK_SELECTED,
};

/* A write that is not on a connection: is it stdout/stderr to capture?
 * Fills a for emit_log when it is. */
static __always_inline bool log_args(struct io_args *a, __u32 fd, __u64 buf,
				     __u32 iovcnt, enum look look)
{
	__u32 stream;

	if (!ebt_cfg.capture_logs || look == LOOK_NO ||
	    (look != LOOK_SELECTED &&
	     !selected(bpf_get_current_pid_tgid() >> 32)) ||
	    !(stream = std_stream(fd)) || to_devnull(fd))
		return false;
	a->buf = buf;
	a->fd = fd;
	a->iovcnt = iovcnt;
	a->direction = EBT_DIR_EGRESS;
	a->kind = IO_LOG;
	a->stream = stream;
	return true;
}

/* One iovec of copy_iov(): the walk's state is in the scratch record, so
 * the verifier sees it as any value and checks this body once. */
static long iov_step(__u32 i, void *ctx)
{
	__u32 zero = 0, off, n;
	struct scratch *s = bpf_map_lookup_elem(&ebt_scratch, &zero);
	struct iovec iov;

	if (!s || i >= s->iov_cnt || s->iov_off >= s->iov_want ||
	    bpf_probe_read_user(&iov, sizeof(iov),
				(void *)(s->iov_ptr + (__u64)i * sizeof(iov))))
		return 1;
	off = s->iov_off;
	n = s->iov_want - off;
	if (iov.iov_len < n)
		n = iov.iov_len;
	off &= PAYLOAD_MASK;
	n &= PAYLOAD_MASK;
	if (bpf_probe_read_user(s->ev.payload + off, n, iov.iov_base))
		return 1;
	s->iov_off = off + n;
	return 0;
}

/* Copy up to want bytes of an iovec array into s's payload (bpf_loop: an
 * unrolled walk made each writev and sendmsg program take a second to
 * verify). */
static __always_inline __u32 copy_iov(struct scratch *s, __u64 iov_ptr,
				      __u32 iovcnt, __u32 want)
{
	s->iov_ptr = iov_ptr;
	s->iov_cnt = iovcnt;
	s->iov_want = want;
	s->iov_off = 0;
	bpf_loop(EBT_IOV_MAX, iov_step, NULL, 0);
	return s->iov_off;
}

/*
 * A method is a case-sensitive token (RFC 9110), letters with '-' and '_'
 * here (M-SEARCH, VERSION-CONTROL): "get" is an extension method a server
 * may answer, so lower case counts where a connection begins (any_case).
 * Where a message may start inside a stream (adopt_starts(), a long
 * record when the ring is crowded) upper case only counts: inside a body,
 * a lower-case word is far likelier than a request.
 */
static __always_inline bool method_char(__u8 ch, int i, bool any_case)
{
	return (ch >= 'A' && ch <= 'Z') ||
	       (any_case && ch >= 'a' && ch <= 'z') ||
	       (i > 0 && (ch == '-' || ch == '_'));
}

/* First bytes of a connection: could this be HTTP/1.x? A request may
 * follow empty lines (RFC 9112 2.2: a server ignores a CRLF before the
 * request line; some clients send one after a body): userspace decides. */
static __always_inline __u32 classify(const __u8 *p, bool any_case)
{
	if (p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P')
		return EBT_PROTO_HTTP1;
	if (p[0] == '\r' || p[0] == '\n')
		return EBT_PROTO_UNKNOWN;
	for (int i = 0; i < EBT_CLASSIFY_MIN; i++)
		if (!method_char(p[i], i, any_case))
			return p[i] == ' ' && i >= 3 ? EBT_PROTO_HTTP1
						     : EBT_PROTO_OTHER;
	return EBT_PROTO_UNKNOWN; /* a word: userspace decides */
}

/* Copy a prefix of what the syscall moved into the scratch record: all
 * of it, or when it does not fit, room is left for its end (copy_end). */
static __always_inline __u32 copy_payload(struct scratch *s, struct io_args *a,
					  long ret)
{
	__u32 want = ret > PAYLOAD_MASK ? EBT_DATA_PREFIX_MAX : (__u32)ret, cap;

	if (a->iovcnt)
		return copy_iov(s, a->buf, a->iovcnt, want);
	cap = want;
	barrier_var(cap); /* keep the mask: the verifier needs it here */
	cap &= PAYLOAD_MASK;
	if (bpf_probe_read_user(s->ev.payload, cap, (void *)a->buf))
		cap = 0;
	return cap;
}

/*
 * One iovec of copy_iov_end(): the bytes of it among the syscall's last
 * EBT_DATA_END_LEN go to their place after the prefix. iov_off counts the
 * bytes before this iovec, iov_want is where the end bytes start; a failed
 * read sets iov_off to 0.
 */
static long iov_end_step(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&ebt_scratch, &zero);
	__u64 pos, next, lo, hi, from;
	struct iovec iov;

	if (!s || i >= s->iov_cnt ||
	    bpf_probe_read_user(&iov, sizeof(iov),
				(void *)(s->iov_ptr + (__u64)i * sizeof(iov))))
		return 1;
	from = s->iov_want;
	pos = s->iov_off;
	next = pos + iov.iov_len;
	hi = next < from + EBT_DATA_END_LEN ? next : from + EBT_DATA_END_LEN;
	lo = pos > from ? pos : from;
	s->iov_off = (__u32)hi; /* < 2^31: a syscall moves less */
	if (hi <= lo)
		return 0;
	if (bpf_probe_read_user(s->ev.payload + (s->end_at & PAYLOAD_MASK) +
					((lo - from) & (EBT_DATA_END_LEN - 1)),
				(hi - lo) & (2 * EBT_DATA_END_LEN - 1),
				(void *)((__u64)iov.iov_base + lo - pos))) {
		s->iov_off = 0;
		return 1;
	}
	return hi == from + EBT_DATA_END_LEN;
}

/* The syscall's last EBT_DATA_END_LEN bytes after the cap-byte prefix of
 * s's payload; false if they could not be read. */
static __always_inline bool copy_end(struct scratch *s, struct io_args *a,
				     long ret, __u32 cap)
{
	__u64 from = (__u64)ret - EBT_DATA_END_LEN;

	if (!a->iovcnt)
		return !bpf_probe_read_user(s->ev.payload + (cap & PAYLOAD_MASK),
					    EBT_DATA_END_LEN,
					    (void *)(a->buf + from));
	s->iov_ptr = a->buf;
	s->iov_cnt = a->iovcnt;
	s->iov_want = (__u32)from;
	s->iov_off = 0;
	s->end_at = cap;
	bpf_loop(EBT_IOV_MAX, iov_end_step, NULL, 0);
	return s->iov_off >= (__u32)from + EBT_DATA_END_LEN;
}

/* Address of the last byte a writev of ret bytes moved, or 0. */
static __always_inline __u64 iov_last(__u64 iov_ptr, __u32 iovcnt, long ret)
{
	__u64 left = (__u64)ret;

#pragma unroll
	for (int i = 0; i < EBT_IOV_MAX; i++) {
		struct iovec iov;

		if (i >= iovcnt)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov),
					(void *)(iov_ptr + i * sizeof(iov))))
			break;
		if (iov.iov_len >= left)
			return (__u64)iov.iov_base + left - 1;
		left -= iov.iov_len;
	}
	return 0;
}

/* The last byte of a write whose payload was cut, + 1 (0: unknown), so
 * userspace knows whether it ended a line. */
static __always_inline __u32 last_byte(struct io_args *a, long ret)
{
	__u64 at = a->iovcnt ? iov_last(a->buf, a->iovcnt, ret)
			     : a->buf + (__u64)ret - 1;
	__u8 b;

	if (!at || bpf_probe_read_user(&b, 1, (void *)at))
		return 0;
	return (__u32)b + 1;
}

/*
 * A log write is walked in steps (bpf_loop): each step reads the next
 * iovec or copies what fits of the current one into the piece being
 * filled; a full piece goes to the ring at once. A plain write is one
 * buffer; sendfile (no buffer) copies nothing and reports its bytes lost.
 */
struct log_walk {
	__u64 id;
	__u64 iov_ptr; /* iovec array, or 0: base/left is the only buffer */
	__u64 base;    /* where the next bytes are */
	__u64 left;    /* bytes left there */
	__u64 ret;     /* bytes the syscall wrote */
	__u64 want;    /* bytes to capture: ret, at most EBT_LOG_PIECES_MAX */
	__u64 done;    /* bytes sent in earlier pieces */
	__u32 fill;    /* bytes in the piece being filled */
	__u32 iovcnt;
	__u32 iov_i;   /* next iovec to read */
	__u32 fd;
	__u32 stream;
	__u32 tail;    /* last byte + 1 of a write not captured whole */
	__u32 ended;   /* the last piece was sent */
	__u32 _pad;
};

/* In a map, not on the stack: the verifier then sees its fields as any
 * value and checks the loop body once, instead of once per piece. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log_walk);
} ebt_log_walk SEC(".maps");

#define LOG_CAPTURE_MAX ((__u64)EBT_LOG_PIECES_MAX * PAYLOAD_MASK)
#define LOG_STEPS_MAX (2 * EBT_LOG_IOV_MAX + EBT_LOG_PIECES_MAX + 2)

/* Send the piece being filled; last: no more pieces of this write. */
static long log_piece(struct log_walk *w, bool last)
{
	__u32 zero = 0, cap = w->fill & PAYLOAD_MASK;
	struct scratch *s = bpf_map_lookup_elem(&ebt_scratch, &zero);

	if (!s)
		return 1;
	fill_hdr(&s->ev.hdr, EBT_EV_LOG, w->id, w->fd, w->done);
	s->ev.direction = EBT_DIR_EGRESS;
	s->ev.role = w->stream;
	s->ev.total_len = (__u32)w->ret;
	s->ev.cap_len = cap;
	s->ev.seq = last ? 0 : 1;
	s->ev.tail = last && w->done + cap < w->ret ? w->tail : 0;
	s->ev.off = w->done;
	rb_output_scratch(s, offsetof(struct ebt_ev_data, payload) + cap);
	w->done += cap;
	w->fill = 0;
	w->ended = last;
	return last ? 1 : 0;
}

/* The next iovec becomes the current buffer; false when there is none. */
static bool log_next_iov(struct log_walk *w)
{
	struct iovec iov;

	if (!w->iov_ptr || w->iov_i >= w->iovcnt ||
	    bpf_probe_read_user(&iov, sizeof(iov),
				(void *)(w->iov_ptr +
					 (__u64)w->iov_i * sizeof(iov))))
		return false;
	w->iov_i++;
	w->base = (__u64)iov.iov_base;
	w->left = iov.iov_len;
	return true;
}

static long log_step(__u32 i, void *ctx)
{
	__u32 zero = 0, n;
	struct log_walk *w = bpf_map_lookup_elem(&ebt_log_walk, &zero);
	struct scratch *s;
	__u64 rest;

	if (!w)
		return 1;
	if (!w->left)
		return log_next_iov(w) ? 0 : log_piece(w, true);
	s = bpf_map_lookup_elem(&ebt_scratch, &zero);
	if (!s)
		return 1;
	rest = w->want - w->done - w->fill;
	n = PAYLOAD_MASK - (w->fill & PAYLOAD_MASK);
	if (w->left < n)
		n = (__u32)w->left;
	if (rest < n)
		n = (__u32)rest;
	n &= PAYLOAD_MASK;
	if (bpf_probe_read_user(s->ev.payload + (w->fill & PAYLOAD_MASK), n,
				(void *)w->base))
		return log_piece(w, true);
	w->fill += n;
	w->base += n;
	w->left -= n;
	if (w->done + w->fill >= w->want)
		return log_piece(w, true);
	return w->fill >= PAYLOAD_MASK ? log_piece(w, false) : 0;
}

static __always_inline int emit_log(__u64 id, struct io_args *a, long ret)
{
	__u32 zero = 0;
	struct log_walk *w = bpf_map_lookup_elem(&ebt_log_walk, &zero);

	if (!w)
		return 0;
	*w = (struct log_walk){
		.id = id, .ret = (__u64)ret, .fd = a->fd, .stream = a->stream,
		.iovcnt = a->iovcnt > EBT_LOG_IOV_MAX ? EBT_LOG_IOV_MAX
						      : a->iovcnt,
	};
	w->want = w->ret > LOG_CAPTURE_MAX ? LOG_CAPTURE_MAX : w->ret;
	if (a->iovcnt) {
		w->iov_ptr = a->buf;
	} else {
		w->base = a->buf;
		w->left = a->buf ? w->ret : 0;
	}
	if (w->want < w->ret)
		w->tail = last_byte(a, ret);
	bpf_loop(LOG_STEPS_MAX, log_step, NULL, 0);
	if (!w->ended)
		log_piece(w, true);
	return 0;
}

/* Syscalls shorter than this are always recorded: skipping pays off for
 * the long reads and writes of a long body, and the small ones of ordinary
 * requests do not look the skip map up. */
#define SKIP_MIN_LEN 1024

/* Do all ret bytes from stream offset off lie inside a body that
 * userspace said need not be copied? */
static __always_inline bool in_skipped_body(struct ebt_conn_key *key,
					    struct ebt_conn_info *c, __u32 dir,
					    __u64 off, long ret)
{
	struct ebt_skip *k = bpf_map_lookup_elem(&ebt_skip, key);

	return k && k->start_ns == c->start_ns &&
	       off + (__u64)ret < k->until[dir];
}

/*
 * When long reads and writes fill the ring faster than userspace drains
 * it, its last eighth is kept for what a span cannot do without (opens,
 * heads, closes, exits). A data syscall of SKIP_MIN_LEN or more then
 * keeps only its first CROWDED_CAP bytes if they may start a message (a
 * head read or written together with the start of its body), and none
 * otherwise: its record still gives its time, length and offset, so a
 * body still ends where it did. In the last sixteenth such a syscall
 * makes no record at all and counts as lost; its bytes are still counted
 * in the stream offset, so userspace finds where they were, as it does
 * for records the full ring refused.
 */
#define CROWDED_CAP 1024

enum crowding { ROOMY, CROWDED, JAMMED };

static __always_inline enum crowding ring_crowding(void)
{
	__u64 size = bpf_ringbuf_query(&ebt_events, BPF_RB_RING_SIZE);
	__u64 free = size - bpf_ringbuf_query(&ebt_events, BPF_RB_AVAIL_DATA);

	if (free >= size >> 3)
		return ROOMY;
	return free >= size >> 4 ? CROWDED : JAMMED;
}

/* A record not kept: userspace sees the sequence gap. */
static __always_inline int let_go(struct ebt_conn_info *c)
{
	__sync_fetch_and_add(&c->seq, 1);
	stat_inc(EBT_STAT_RB_DROPS);
	return 0;
}

/*
 * A connection adopted mid-stream (open before the tracer) may be inside a
 * message. It is taken up at a syscall that may start a request, going
 * the way requests go (into a server, out of a client): a response or a
 * body before it belongs to a request that was not seen.
 */
static __always_inline bool adopt_starts(struct ebt_conn_info *c, __u32 dir,
					 const __u8 *p)
{
	bool request_way = c->role == EBT_ROLE_UNKNOWN ||
			   (c->role == EBT_ROLE_SERVER) ==
				   (dir == EBT_DIR_INGRESS);

	return request_way && classify(p, false) != EBT_PROTO_OTHER &&
	       !(p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P');
}

/* Until then its bytes are let go as if the connection began after
 * them; after EBT_ADOPT_TRIES syscalls it is taken as not HTTP. */
static __always_inline int not_yet(struct ebt_conn_info *c, __u32 dir,
				   long ret)
{
	__sync_fetch_and_sub(&c->off[dir], (__u64)ret);
	if (--c->tries)
		return 0;
	c->proto = EBT_PROTO_OTHER;
	stat_inc(EBT_STAT_SKIPPED_OTHER);
	return 0;
}

/*
 * TLS plaintext comes from uprobes on libssl (below): the library's
 * socket syscalls run inside SSL_read/SSL_write/SSL_do_handshake on the
 * same thread, so a data syscall of a connection whose bytes are not HTTP
 * (ciphertext) made during such a call ties that SSL object to the fd.
 */
struct tls_call {
	__u64 ssl;
	__u64 buf;     /* plaintext buffer; 0 for a handshake */
	__u64 len_ptr; /* SSL_read_ex/SSL_write_ex: where the count goes */
	__u32 dir;     /* enum ebt_direction */
	__u8 noted;    /* a socket syscall ran inside the call */
	__u8 ex;       /* SSL_*_ex: returns 1, the count is at len_ptr */
	__u16 _pad;
};

/* The libssl call each thread is in (pid_tgid -> call). LRU: the entry
 * of a call whose return never came (a thread killed inside it) goes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tls_call);
} ebt_tls_calls SEC(".maps");

struct tls_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

/* (tgid, SSL *) -> socket fd. LRU: an SSL object freed long ago goes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_key);
	__type(value, __u32);
} ebt_tls_fds SEC(".maps");

/* Ties the SSL object of the thread's libssl call to fd; false when the
 * thread is in no such call. */
static __always_inline bool tls_note(__u64 id, __u32 fd)
{
	struct tls_call *call;
	struct tls_key k = {.tgid = id >> 32};

	if (!ebt_cfg.tls)
		return false;
	call = bpf_map_lookup_elem(&ebt_tls_calls, &id);
	if (!call)
		return false;
	call->noted = 1;
	k.ssl = call->ssl;
	bpf_map_update_elem(&ebt_tls_fds, &k, &fd, BPF_ANY);
	return true;
}

/*
 * Memory BIOs (Python's asyncio, Node.js): the library encrypts into
 * memory and the program sends the ciphertext itself, after the call. A
 * call that ran no socket syscall leaves its session here, per thread;
 * the thread's next write of a TLS handshake record (content type 22,
 * outside any libssl call) on a connection that is not HTTP in the clear
 * is that session's: a handshake's output is flushed at once (a new
 * connection has nothing queued before it), so the first flight (a
 * ClientHello, a ServerHello) ties the two. Records of application data
 * never do.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* SSL * */
} ebt_tls_pending SEC(".maps");

/* The first 3 bytes a write moved (from its first iovec for writev). */
static __always_inline int first_bytes(struct io_args *a, __u8 p[3])
{
	struct iovec iov;

	if (!a->iovcnt)
		return bpf_probe_read_user(p, 3, (void *)a->buf);
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)a->buf) ||
	    iov.iov_len < 3)
		return -1;
	return bpf_probe_read_user(p, 3, iov.iov_base);
}

/* A data syscall of a connection that is not HTTP in the clear: ties a
 * libssl session to its fd, inside the call or (memory BIO) after it. */
static __always_inline void tls_syscall(__u64 id, struct io_args *a)
{
	struct tls_key k = {.tgid = id >> 32};
	__u64 *ssl;
	__u8 p[3];

	if (!ebt_cfg.tls || tls_note(id, a->fd) ||
	    a->direction != EBT_DIR_EGRESS)
		return;
	ssl = bpf_map_lookup_elem(&ebt_tls_pending, &id);
	if (!ssl || first_bytes(a, p) || p[0] != 0x16 || p[1] != 3)
		return;
	k.ssl = *ssl;
	bpf_map_update_elem(&ebt_tls_fds, &k, &a->fd, BPF_ANY);
	bpf_map_delete_elem(&ebt_tls_pending, &id);
}

/* A TLS handshake record (content type 22, version 3.x) written or read
 * by libssl on a connection that carried HTTP in the clear: HTTPS through
 * a CONNECT tunnel. Its syscalls stop being copied at once; the plaintext
 * takes over at the first SSL_read/SSL_write (tls_mode). */
static __always_inline bool tls_in_tunnel(__u64 id, __u32 fd,
					  struct ebt_conn_info *c,
					  const __u8 *p, __u32 cap)
{
	if (!c->seq || cap < 3 || p[0] != 0x16 || p[1] != 3 || p[2] > 4 ||
	    !tls_note(id, fd))
		return false;
	c->proto = EBT_PROTO_OTHER;
	return true;
}

/*
 * A connection received from another process (SCM_RIGHTS, see recv_fds)
 * is entered with no role and taken up like an adopted one: its first
 * request says which end this is (read: the server; written: the
 * client), and its open record is sent then, made in the ring itself
 * (the stack has no room for it here).
 */
static __always_inline void passed_open(__u64 id, __u32 fd, __u32 rfd,
					struct ebt_conn_info *c, __u32 dir)
{
	struct sock *sk = fd_to_sock(fd);
	struct ebt_ev_conn_open *e;

	c->role = dir == EBT_DIR_INGRESS ? EBT_ROLE_SERVER : EBT_ROLE_CLIENT;
	e = bpf_ringbuf_reserve(&ebt_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(EBT_STAT_RB_DROPS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	if (!sk || !read_tuple(sk, e)) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	fill_open(e, id, rfd, c->start_ns, c->role);
	bpf_ringbuf_submit(e, rb_flags());
	stat_inc(EBT_STAT_EVENTS);
}

/* The record of a data syscall whose cap-byte prefix is in s: with the
 * syscall's last bytes after it when the prefix is all that fitted. */
static __always_inline int send_data(struct scratch *s, __u64 id,
				     struct io_args *a,
				     struct ebt_conn_key *key,
				     struct ebt_conn_info *c, long ret,
				     __u32 cap, __u64 off, __u32 flags)
{
	__u32 end = 0;

	if (cap == EBT_DATA_PREFIX_MAX && ret > PAYLOAD_MASK &&
	    copy_end(s, a, ret, cap)) {
		flags |= EBT_DATA_END;
		end = EBT_DATA_END_LEN;
	}
	fill_hdr(&s->ev.hdr, EBT_EV_DATA, id, key->fd, c->start_ns);
	s->ev.direction = a->direction;
	s->ev.role = c->role;
	s->ev.total_len = (__u32)ret;
	s->ev.cap_len = cap;
	s->ev.seq = __sync_fetch_and_add(&c->seq, 1);
	s->ev.tail = flags;
	s->ev.off = off;
	if (cap < (__u64)ret)
		stat_inc(EBT_STAT_TRUNCATED);
	rb_output_scratch(s, offsetof(struct ebt_ev_data, payload) +
				     (cap & PAYLOAD_MASK) + end);
	return 0;
}

static __always_inline int emit_data(__u64 id, struct io_args *a,
				     struct ebt_conn_key *key,
				     struct ebt_conn_info *c, long ret,
				     __u32 flags)
{
	__u32 zero = 0, cap;
	enum crowding crowding;
	struct scratch *s;
	__u64 off;

	if (!flags && (c->tls || c->proto == EBT_PROTO_OTHER)) {
		tls_syscall(id, a);
		return 0;
	}
	if (c->proto == EBT_PROTO_OTHER)
		return 0;
	off = __sync_fetch_and_add(&c->off[a->direction & 1], (__u64)ret);
	if (ret >= SKIP_MIN_LEN &&
	    in_skipped_body(key, c, a->direction & 1, off, ret)) {
		stat_inc(EBT_STAT_SKIPPED_BODY);
		return 0;
	}
	crowding = ret >= SKIP_MIN_LEN && c->seq ? ring_crowding() : ROOMY;
	if (crowding == JAMMED)
		return let_go(c);
	s = bpf_map_lookup_elem(&ebt_scratch, &zero);
	if (!s)
		return 0;
	cap = copy_payload(s, a, crowding == CROWDED ? CROWDED_CAP : ret);
	if (crowding == CROWDED && (cap < EBT_CLASSIFY_MIN ||
			classify(s->ev.payload, false) == EBT_PROTO_OTHER))
		cap = 0;
	if (!flags && tls_in_tunnel(id, a->fd, c, s->ev.payload, cap))
		return 0;
	if (c->seq == 0 && c->tries &&
	    (cap < EBT_CLASSIFY_MIN || !adopt_starts(c, a->direction, s->ev.payload)))
		return not_yet(c, a->direction & 1, ret);
	if (c->role == EBT_ROLE_UNKNOWN)
		passed_open(id, a->fd, key->fd, c, a->direction);
	if (c->seq == 0 && cap >= EBT_CLASSIFY_MIN) {
		c->proto = classify(s->ev.payload, true);
		if (c->proto == EBT_PROTO_OTHER) {
			stat_inc(EBT_STAT_SKIPPED_OTHER);
			if (!flags)
				tls_syscall(id, a);
			return 0;
		}
	}
	return send_data(s, id, a, key, c, ret, cap, off, flags);
}

/*
 * Data syscalls are captured at sys_exit alone: their arguments are still
 * in the user registers the syscall entered with (the kernel does not
 * change them; only the return value register is written), so no
 * sys_enter program saves them. That halves the programs a read or write
 * runs through, and the per-thread argument slot is not touched.
 */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* fd moved ret bytes through buf (an iovec array when iovcnt > 0): record
 * them if fd is a tracked connection, or (log) a write to stdout/stderr. */
static __always_inline int capture_io(__u32 fd, __u64 buf, __u32 iovcnt,
				      __u32 dir, enum look log, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = fd};
	struct ebt_conn_info *c = conn_find(&key);
	struct io_args a = {
		.buf = buf, .fd = fd, .iovcnt = iovcnt, .direction = dir,
		.kind = IO_DATA,
	};

	if (c)
		return emit_data(id, &a, &key, c, ret, 0);
	if (log_args(&a, fd, buf, iovcnt, log))
		return emit_log(id, &a, ret);
	return 0;
}

/* sendmsg/recvmsg: the iovecs are msghdr->msg_iov / msg_iovlen. */
static __always_inline int capture_msg(__u32 fd, __u64 msg_ptr, __u32 dir,
				       long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = fd};
	struct ebt_conn_info *c = conn_find(&key);
	struct io_args a = {.fd = fd, .direction = dir, .kind = IO_DATA};
	struct user_msghdr m;

	if (!c)
		return 0;
	if (c->tls || c->proto == EBT_PROTO_OTHER) {
		tls_note(id, fd);
		return 0;
	}
	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg_ptr) ||
	    m.msg_iovlen == 0)
		return 0;
	a.buf = (__u64)m.msg_iov;
	a.iovcnt = (__u32)m.msg_iovlen;
	return emit_data(id, &a, &key, c, ret, 0);
}

/* pwrite64/pwritev/pwritev2: positioned writes only reach files, never a
 * connection or a pipe; one to stdout redirected to a file is a log. */
static __always_inline int capture_pwrite(__u32 fd, __u64 buf, __u32 iovcnt,
					  enum look look, long ret)
{
	struct io_args a = {};

	if (log_args(&a, fd, buf, iovcnt, look))
		return emit_log(bpf_get_current_pid_tgid(), &a, ret);
	return 0;
}

/* splice(fd_in, off_in, fd_out, off_out, len, flags): bytes move between
 * a pipe and a socket inside the kernel (a proxy splicing a body, Go's
 * io.Copy between connections); as with sendfile none are copied, but the
 * parser must count them. The connection is whichever end is tracked. */
static __always_inline int capture_splice(__u32 fd_in, __u32 fd_out, long ret)
{
	struct ebt_conn_key key = {
		.tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd_out,
	};

	if (conn_find(&key))
		return capture_io(fd_out, 0, 0, EBT_DIR_EGRESS, LOOK_NO, ret);
	return capture_io(fd_in, 0, 0, EBT_DIR_INGRESS, LOOK_NO, ret);
}

#define EBT_MSG_PEEK 2
#define EBT_MSG_FASTOPEN 0x20000000
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define TCP_ESTABLISHED 1
#define TCP_CLOSE_WAIT 8
#define PASSED_FDS_MAX 4

/* A TCP connection that arrived in this process by SCM_RIGHTS. */
static __always_inline void take_passed_fd(__u64 id, __u32 fd)
{
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = fd};
	struct ebt_conn_info info = {.tries = EBT_ADOPT_TRIES};
	struct sock *sk = fd_to_sock(fd);
	__u16 family;
	__u8 state;

	if (!sk || BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if ((family != AF_INET && family != AF_INET6) ||
	    (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT))
		return;
	info.start_ns = bpf_ktime_get_ns();
	gate_set(key.tgid);
	if (bpf_map_update_elem(&ebt_conns, &key, &info, BPF_ANY))
		stat_inc(EBT_STAT_CONN_FULL);
	else
		list_fd(key.tgid, fd);
}

struct cmsg_head {
	__u64 len;
	__s32 level;
	__s32 type;
};

/*
 * recvmsg that received file descriptors (SCM_RIGHTS in its first control
 * message): a connection accepted by another process and handed over.
 * Node's cluster module does this for every connection (its primary
 * accepts, round-robin, and passes each to a worker over IPC, as PM2's
 * cluster mode does), so the worker that serves it never accepts.
 */
static __always_inline void recv_fds(__u64 msg_ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct user_msghdr m;
	struct cmsg_head h;
	__u64 at;
	__u32 n;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg_ptr) ||
	    !m.msg_control || m.msg_controllen < sizeof(h) + sizeof(int) ||
	    bpf_probe_read_user(&h, sizeof(h), m.msg_control) ||
	    h.level != SOL_SOCKET || h.type != SCM_RIGHTS ||
	    h.len < sizeof(h) + sizeof(int) || !selected(id >> 32))
		return;
	n = (__u32)((h.len - sizeof(h)) / sizeof(int));
	at = (__u64)m.msg_control + sizeof(h);
	for (int i = 0; i < PASSED_FDS_MAX; i++) {
		int fd;

		if (i >= n ||
		    bpf_probe_read_user(&fd, sizeof(fd), (void *)(at + i * 4)))
			break;
		take_passed_fd(id, (__u32)fd);
	}
}

enum data_sc {
	SC_READ, SC_WRITE, SC_READV, SC_WRITEV, SC_RECVFROM, SC_SENDTO,
	SC_RECVMSG, SC_SENDMSG, SC_SENDFILE, SC_SPLICE, SC_PWRITE64,
	SC_PWRITEV,
};

/*
 * Can data syscall sc of this process be of interest? Only when the
 * process may have a tracked connection, or sc is a write of a selected
 * process (a log line?), or a recvmsg (a passed connection?). Most
 * processes of a host have no tracked connection: their reads, and with
 * a filter their writes, end here, before their registers are fetched.
 */
static __always_inline enum look worth_a_look(enum data_sc sc)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	switch (sc) {
	case SC_WRITE:
	case SC_WRITEV:
	case SC_SENDFILE:
	case SC_PWRITE64:
	case SC_PWRITEV:
		if (gate_open(tgid))
			return LOOK_YES;
		return ebt_cfg.capture_logs && selected(tgid) ? LOOK_SELECTED
							      : LOOK_NO;
	case SC_RECVMSG:
		return LOOK_YES;
	default:
		return gate_open(tgid) ? LOOK_YES : LOOK_NO;
	}
}

/*
 * TCP Fast Open without connect(): sendto or sendmsg with MSG_FASTOPEN and
 * an address connects the socket and sends the data (in the SYN when the
 * server's cookie is known). -EINPROGRESS: non-blocking, no cookie yet,
 * nothing sent; the program writes again once connected. Either way the
 * connection is a client's, opened here as connect() would have.
 */
static __always_inline bool fastopen_open(__u32 fd, __u64 flags, __u64 addr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = fd};

	if (!(flags & EBT_MSG_FASTOPEN) || !addr || !selected(key.tgid) ||
	    conn_lookup(&key))
		return false;
	conn_open(id, fd, EBT_ROLE_CLIENT);
	return true;
}

static __always_inline bool fastopen_msg(__u32 fd, __u64 flags, __u64 msg)
{
	void *name = NULL;

	if (flags & EBT_MSG_FASTOPEN)
		bpf_probe_read_user(&name, sizeof(name),
				    &((struct user_msghdr *)msg)->msg_name);
	return fastopen_open(fd, flags, (__u64)name);
}

/* A send that may have connected its socket (see fastopen_open): looked
 * at whether or not the process has connections yet. */
static __always_inline bool may_fastopen(enum data_sc sc, long ret)
{
	return (sc == SC_SENDTO || sc == SC_SENDMSG) &&
	       (ret > 0 || ret == -EINPROGRESS);
}

/* The capture of data syscall sc on fd, a1 its second argument. */
static __always_inline int capture_sc(struct pt_regs *regs, enum data_sc sc,
				      __u32 fd, __u64 a1, enum look look,
				      long ret)
{
	switch (sc) {
	case SC_READ:
		return capture_io(fd, a1, 0, EBT_DIR_INGRESS, LOOK_NO, ret);
	case SC_WRITE:
		return capture_io(fd, a1, 0, EBT_DIR_EGRESS, look, ret);
	case SC_READV:
		return capture_io(fd, a1, (__u32)PT_REGS_PARM3_SYSCALL(regs),
				  EBT_DIR_INGRESS, LOOK_NO, ret);
	case SC_WRITEV:
		return capture_io(fd, a1, (__u32)PT_REGS_PARM3_SYSCALL(regs),
				  EBT_DIR_EGRESS, look, ret);
	case SC_RECVFROM:
		if (PT_REGS_PARM4_SYSCALL(regs) & EBT_MSG_PEEK)
			return 0;
		return capture_io(fd, a1, 0, EBT_DIR_INGRESS, LOOK_NO, ret);
	case SC_SENDTO:
		return capture_io(fd, a1, 0, EBT_DIR_EGRESS, LOOK_NO, ret);
	case SC_RECVMSG:
		if (PT_REGS_PARM3_SYSCALL(regs) & EBT_MSG_PEEK)
			return 0;
		recv_fds(a1);
		return capture_msg(fd, a1, EBT_DIR_INGRESS, ret);
	case SC_SENDMSG:
		return capture_msg(fd, a1, EBT_DIR_EGRESS, ret);
	case SC_SENDFILE:
		return capture_io(fd, 0, 0, EBT_DIR_EGRESS, look, ret);
	case SC_SPLICE:
		return capture_splice(fd, (__u32)PT_REGS_PARM3_SYSCALL(regs),
				      ret);
	case SC_PWRITE64:
		return capture_pwrite(fd, a1, 0, look, ret);
	case SC_PWRITEV:
		return capture_pwrite(fd, a1,
				      (__u32)PT_REGS_PARM3_SYSCALL(regs),
				      look, ret);
	}
	return 0;
}

/*
 * The sys_exit of data syscall sc that returned ret, its arguments read
 * from regs. recv(MSG_PEEK) leaves the bytes queued: the read that
 * consumes them is the one captured, or a request would be seen twice
 * (protocol sniffers peek: Envoy's HTTP inspector, servers that tell TLS
 * from plaintext). sendto: a program that sends on fd 1 knows it holds a
 * socket there, not its stdout; only a tracked connection is of interest.
 * sendfile moves bytes from a file: none are copied. regs is a BTF
 * pointer (NULL: this task's, fetched only for a syscall worth reading):
 * its fields are read directly, not through a helper call.
 */
static __always_inline int exit_io(struct pt_regs *regs, enum data_sc sc,
				   long ret)
{
	bool opened = false;
	enum look look;
	__u32 fd;
	__u64 a1;

	if (ebt_cfg.hook_only || (ret <= 0 && !may_fastopen(sc, ret)))
		return 0;
	look = ret > 0 ? worth_a_look(sc) : LOOK_NO;
	if (!look && !may_fastopen(sc, ret))
		return 0;
	if (!regs)
		regs = user_regs();
	fd = (__u32)PT_REGS_PARM1_SYSCALL(regs);
	a1 = PT_REGS_PARM2_SYSCALL(regs);
	if (sc == SC_SENDTO)
		opened = fastopen_open(fd, PT_REGS_PARM4_SYSCALL(regs),
				       PT_REGS_PARM5_SYSCALL(regs));
	else if (sc == SC_SENDMSG)
		opened = fastopen_msg(fd, PT_REGS_PARM3_SYSCALL(regs), a1);
	if (ret <= 0 || (!look && !opened))
		return 0;
	return capture_sc(regs, sc, fd, a1, look, ret);
}

#define DATA_TP(name, sc)                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                             \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                  \
	{                                                                      \
		return exit_io(NULL, sc, ctx->ret);                            \
	}

DATA_TP(read, SC_READ)
DATA_TP(write, SC_WRITE)
DATA_TP(readv, SC_READV)
DATA_TP(writev, SC_WRITEV)
DATA_TP(recvfrom, SC_RECVFROM)
DATA_TP(sendto, SC_SENDTO)
DATA_TP(recvmsg, SC_RECVMSG)
DATA_TP(sendmsg, SC_SENDMSG)
DATA_TP(sendfile64, SC_SENDFILE)
DATA_TP(pwrite64, SC_PWRITE64)
DATA_TP(pwritev, SC_PWRITEV)
DATA_TP(pwritev2, SC_PWRITEV)

SEC("tracepoint/syscalls/sys_exit_splice")
int exit_splice_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exit_io(NULL, SC_SPLICE, ctx->ret);
}

/* ---- close / process lifetime ------------------------------------------- */

/*
 * TLS: uprobes on libssl's SSL_read/SSL_write (and the _ex forms, which
 * report the count through a pointer), or GnuTLS's gnutls_record_recv/
 * gnutls_record_send, give the plaintext; the fd comes
 * from ebt_tls_fds (tls_note). A connection is switched to TLS at its
 * first plaintext record, unless its syscalls already gave HTTP; from
 * then its offsets and sequence numbers count plaintext, and the parser
 * in userspace sees it like any other connection. SSL_do_handshake and
 * gnutls_handshake are hooked only to tie the session to its fd early.
 */
static __always_inline int tls_enter(struct pt_regs *ctx, __u32 dir,
				     bool data, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call call = {.dir = dir};

	if (ebt_cfg.hook_only || !selected(id >> 32))
		return 0;
	call.ssl = PT_REGS_PARM1(ctx);
	call.buf = data ? PT_REGS_PARM2(ctx) : 0;
	call.len_ptr = ex ? PT_REGS_PARM4(ctx) : 0;
	call.ex = ex;
	bpf_map_update_elem(&ebt_tls_calls, &id, &call, BPF_ANY);
	return 0;
}

/*
 * Is c's traffic TLS plaintext? It switches at its first plaintext record
 * unless its syscalls carried HTTP in the clear, and then only once
 * userspace let the clear bytes go (a CONNECT tunnel: HTTPS through a
 * forward proxy). Records and offsets count from 0 again; a body skip
 * set for the clear bytes no longer applies.
 */
static __always_inline bool tls_mode(struct ebt_conn_key *key,
				     struct ebt_conn_info *c)
{
	if (c->tls)
		return true;
	if (c->seq && c->proto != EBT_PROTO_OTHER)
		return false;
	c->tls = 1;
	c->proto = EBT_PROTO_UNKNOWN;
	c->seq = 0;
	c->off[0] = c->off[1] = 0;
	bpf_map_delete_elem(&ebt_skip, key);
	return true;
}

static __always_inline int tls_data(__u64 id, struct tls_call *call,
				    long ret)
{
	struct tls_key k = {.tgid = id >> 32, .ssl = call->ssl};
	struct ebt_conn_key key = {.tgid = id >> 32};
	struct io_args a = {.buf = call->buf, .direction = call->dir};
	struct ebt_conn_info *c;
	__u32 *fd = bpf_map_lookup_elem(&ebt_tls_fds, &k);

	if (!fd) {
		stat_inc(EBT_STAT_TLS_NO_FD);
		return 0;
	}
	key.fd = a.fd = *fd;
	c = bpf_map_lookup_elem(&ebt_conns, &key);
	if (!c || !tls_mode(&key, c))
		return 0;
	return emit_data(id, &a, &key, c, ret, EBT_DATA_TLS);
}

/* One program at the return of every hooked function (verified once:
 * it holds the whole data path); what the call was is in its entry. */
SEC("uretprobe")
int tls_exit(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct tls_call *p = bpf_map_lookup_elem(&ebt_tls_calls, &id);
	struct tls_call call;
	long ret;

	if (!p)
		return 0;
	call = *p;
	bpf_map_delete_elem(&ebt_tls_calls, &id);
	if (!call.noted) /* memory BIO: the program sends for it */
		bpf_map_update_elem(&ebt_tls_pending, &id, &call.ssl, BPF_ANY);
	ret = (int)PT_REGS_RC(ctx);
	if (call.ex) {
		if (ret != 1 || !call.len_ptr ||
		    bpf_probe_read_user(&n, sizeof(n), (void *)call.len_ptr))
			return 0;
		ret = (long)n;
	}
	if (ret <= 0 || !call.buf)
		return 0;
	return tls_data(id, &call, ret);
}

/* tls_enter_<fn> at the entry of fn; tls_exit at its return. */
#define TLS_PROBES(fn, dir, data, ex)                                         \
	SEC("uprobe")                                                          \
	int tls_enter_##fn(struct pt_regs *ctx)                                \
	{                                                                      \
		return tls_enter(ctx, dir, data, ex);                          \
	}

TLS_PROBES(SSL_read, EBT_DIR_INGRESS, true, false)
TLS_PROBES(SSL_read_ex, EBT_DIR_INGRESS, true, true)
TLS_PROBES(SSL_write, EBT_DIR_EGRESS, true, false)
TLS_PROBES(SSL_write_ex, EBT_DIR_EGRESS, true, true)
TLS_PROBES(SSL_do_handshake, EBT_DIR_INGRESS, false, false)
/* GnuTLS (wget, libcurl3-gnutls): the same shape, ssize_t counts */
TLS_PROBES(gnutls_record_recv, EBT_DIR_INGRESS, true, false)
TLS_PROBES(gnutls_record_send, EBT_DIR_EGRESS, true, false)
TLS_PROBES(gnutls_handshake, EBT_DIR_INGRESS, false, false)

/* The close record of the connection at key, whose records name fd. */
static __always_inline void conn_close(__u64 id, struct ebt_conn_key *key,
				       __u32 fd, __u64 start)
{
	struct ebt_ev_close e = {};

	fill_hdr(&e.hdr, EBT_EV_CONN_CLOSE, id, fd, start);
	bpf_map_delete_elem(&ebt_conns, key);
	rb_output(&e, sizeof(e));
}

/* One of the fds of a dup'd connection closes (its alias entry at key):
 * the connection ends with the last of them. */
static __always_inline void alias_close(__u64 id, struct ebt_conn_key *key,
					__u32 shared, __u64 start)
{
	struct ebt_conn_key sk = {.tgid = key->tgid, .fd = shared};
	struct ebt_conn_info *c;

	bpf_map_delete_elem(&ebt_conns, key);
	c = bpf_map_lookup_elem(&ebt_conns, &sk);
	if (c && c->start_ns == start &&
	    __sync_fetch_and_add(&c->refs, -1) == 1)
		conn_close(id, &sk, c->origin - 1, start);
}

static __always_inline int enter_close_fd(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = fd};
	struct ebt_conn_info *c;

	if (ebt_cfg.hook_only)
		return 0;
	if (key.tgid == ebt_cfg.self_tgid) {
		self_port(key.fd, false);
		return 0;
	}
	c = conn_lookup(&key);
	if (!c)
		return 0;
	if (c->alias)
		alias_close(id, &key, c->alias, c->start_ns);
	else
		conn_close(id, &key, key.fd, c->start_ns);
	unlist_fd(key.tgid, fd);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	return enter_close_fd((__u32)ctx->args[0]);
}

/*
 * The connection at key (not yet shared) gets a second fd: its state
 * moves to a shared entry, at a made-up fd no real one can be, and both
 * fds become aliases of it. Its records keep naming the fd it was opened
 * on, so userspace sees one connection, whichever fd moves its bytes.
 */
static __always_inline __u32 conn_share(struct ebt_conn_key *key,
					struct ebt_conn_info *c)
{
	struct ebt_conn_key sk = {.tgid = key->tgid};
	struct ebt_conn_info alias = {.start_ns = c->start_ns};
	struct ebt_conn_info shared = *c;
	struct ebt_proc_fds *l = proc_list(sk.tgid);

	if (!l) /* its exit could not find the shared entry */
		return 0;
	__sync_fetch_and_or(&l->flags, EBT_FDS_SHARED);
	sk.fd = bpf_get_prandom_u32() | EBT_SHARED_FD;
	shared.origin = key->fd + 1;
	shared.refs = 1;
	if (bpf_map_update_elem(&ebt_conns, &sk, &shared, BPF_NOEXIST)) {
		stat_inc(EBT_STAT_CONN_FULL);
		return 0;
	}
	alias.alias = sk.fd;
	bpf_map_update_elem(&ebt_conns, key, &alias, BPF_EXIST);
	return sk.fd;
}

/* newfd is now a duplicate of oldfd (dup, dup2, dup3, fcntl F_DUPFD): if
 * oldfd is a tracked TCP connection, newfd is entered as one more of its
 * fds. An inetd-style server (xinetd, systemd Accept=yes, a CGI runner)
 * puts the accepted socket on a child's stdin and stdout this way. A unix
 * socket put on stdout or stderr is a log stream (journald's, for every
 * systemd service: see std_stream), not followed. */
static __always_inline void conn_dup(__u32 oldfd, __u32 newfd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ebt_conn_key key = {.tgid = id >> 32, .fd = oldfd};
	struct ebt_conn_key sk = {.tgid = key.tgid};
	struct ebt_conn_info alias = {};
	struct ebt_conn_info *c = conn_lookup(&key);
	struct sock *so;

	if (!c || newfd & EBT_SHARED_FD)
		return;
	so = fd_to_sock(oldfd);
	if (!so || BPF_CORE_READ(so, __sk_common.skc_family) == AF_UNIX)
		return;
	alias.start_ns = c->start_ns;
	alias.alias = c->alias ? c->alias : conn_share(&key, c);
	if (!alias.alias)
		return;
	sk.fd = alias.alias;
	c = bpf_map_lookup_elem(&ebt_conns, &sk);
	if (!c || c->start_ns != alias.start_ns)
		return;
	key.fd = newfd;
	if (bpf_map_update_elem(&ebt_conns, &key, &alias, BPF_ANY) == 0) {
		__sync_fetch_and_add(&c->refs, 1);
		list_fd(key.tgid, newfd);
	}
}

/* dup2/dup3 onto an open fd close it first, without a close() call: a
 * tracked connection there is gone (e.g. stdout restored over a socket
 * that had taken fd 1). Then newfd is oldfd's too. */
static __always_inline int enter_dup_onto(__u32 oldfd, __u32 newfd)
{
	if (oldfd == newfd || ebt_cfg.hook_only)
		return 0;
	enter_close_fd(newfd);
	if (gate_open(bpf_get_current_pid_tgid() >> 32))
		conn_dup(oldfd, newfd);
	return 0;
}

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

/* dup(oldfd) and fcntl(oldfd, F_DUPFD[_CLOEXEC], min) return the new fd
 * (regs: as the syscall entered, see exit_io). */
static __always_inline int exit_dup_ret(struct pt_regs *regs, bool fcntl,
					long ret)
{
	__u64 cmd;

	if (ret < 0 || ebt_cfg.hook_only ||
	    !gate_open(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!regs)
		regs = user_regs();
	cmd = PT_REGS_PARM2_SYSCALL(regs);
	if (fcntl && cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return 0;
	conn_dup((__u32)PT_REGS_PARM1_SYSCALL(regs), (__u32)ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup")
int exit_dup(struct trace_event_raw_sys_exit *ctx)
{
	return exit_dup_ret(NULL, false, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_fcntl")
int exit_fcntl(struct trace_event_raw_sys_exit *ctx)
{
	return exit_dup_ret(NULL, true, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	return enter_dup_onto((__u32)ctx->args[0], (__u32)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return enter_dup_onto((__u32)ctx->args[0], (__u32)ctx->args[1]);
}

/* A process exec'd with stdout and stderr on one file that is one of its
 * parent's two (a shell's `prog 2>&1`): its streams are its parent's, so
 * what it writes to fd 2 is labelled as the pipe it reaches says. */
static __always_inline void merged_by_parent(struct task_struct *p,
					     struct std_files *sf)
{
	__u32 ptgid = BPF_CORE_READ(p, real_parent, tgid);
	struct std_files *psf = bpf_map_lookup_elem(&ebt_std_files, &ptgid);

	if (psf && psf->out != psf->err &&
	    (psf->out == sf->out || psf->err == sf->out))
		*sf = *psf;
}

/* Is fd of the current task a socket? After an exec, the fds it closed
 * (close-on-exec) are gone, and their numbers may hold new files. */
static __always_inline bool fd_is_socket(__u32 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct inode *ino;

	if (fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return false;
	ino = fd_inode(fd);
	return ino && (BPF_CORE_READ(ino, i_mode) & S_IFMT) == S_IFSOCK;
}

struct proc_sweep {
	__u32 tgid;
	__u32 exec;   /* 1: keep the entries whose fd is still a socket */
	__u32 shared; /* exec: 1 if a shared entry was kept */
	__u32 n;      /* exec: real fds kept; the first EBT_LIST_FDS in fd */
	__u32 fd[EBT_LIST_FDS];
};

/*
 * Where a process's list of connections is not whole, its entries are
 * found by a loop over its fd numbers when its fd table is at most this
 * big: one pointer read per fd and one lookup per open fd, tens of
 * microseconds for a few hundred fds, where a walk of ebt_conns' 65,536
 * buckets takes about a millisecond. A bigger table is walked.
 */
#define EBT_FD_LOOP_MAX 8192u

/* The current task's fd table. */
static __always_inline struct fdtable *cur_fdt(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	return BPF_CORE_READ(task, files, fdt);
}

/* The number of steps of the fd loop over fdt, or 0 when it is too big
 * for it (then the map is walked). */
static __always_inline __u32 fd_loop_steps(struct fdtable *fdt)
{
	__u32 max = BPF_CORE_READ(fdt, max_fds);

	return max <= EBT_FD_LOOP_MAX ? max : 0;
}

/* Note a kept or copied fd: counted, and listed while the list has room. */
static __always_inline void note_fd(__u32 *n, __u32 *list, __u32 fd)
{
	if (*n < EBT_LIST_FDS)
		list[*n] = fd + 1;
	*n += 1;
}

/* At exit every entry of the process goes; at exec those of the fds
 * that exec closed. A shared entry stays at exec: a kept alias may name
 * it (an inetd-style child keeps the socket on its stdin and stdout). */
static long sweep_conn(struct bpf_map *map, struct ebt_conn_key *k,
		       struct ebt_conn_info *v, struct proc_sweep *ps)
{
	if (k->tgid != ps->tgid)
		return 0;
	if (ps->exec && (k->fd & EBT_SHARED_FD)) {
		ps->shared = 1;
		return 0;
	}
	if (ps->exec && fd_is_socket(k->fd)) {
		note_fd(&ps->n, ps->fd, k->fd);
		return 0;
	}
	bpf_map_delete_elem(&ebt_conns, k);
	return 0;
}

/* After an exec that a walk swept: the list, now whole again if few
 * survived (the process is single-threaded here: nothing races it). */
static __always_inline void relist(struct ebt_proc_fds *l,
				   struct proc_sweep *ps, __u32 flags)
{
	if (!l || ps->n > EBT_LIST_FDS || ps->shared ||
	    (flags & ~l->flags & EBT_FDS_WALK))
		return; /* userspace's flag (adopted) stays: so does the walk */
	for (int i = 0; i < EBT_LIST_FDS; i++)
		l->fd[i] = ps->fd[i];
	l->unlisted = 0;
	l->flags &= ~EBT_FDS_WALK;
}

/* An exec by the list: the entries of listed fds that are no longer
 * sockets go. A dup'd one (alias) stays for the exit, which then walks:
 * its shared entry may be named by another alias still. */
static __always_inline void exec_listed(__u32 tgid, struct ebt_proc_fds *l)
{
	struct ebt_conn_key k = {.tgid = tgid};
	struct ebt_conn_info *v;

	for (int i = 0; i < EBT_LIST_FDS; i++) {
		__u32 slot = l->fd[i];

		k.fd = slot - 1;
		v = slot ? bpf_map_lookup_elem(&ebt_conns, &k) : NULL;
		if (!v || fd_is_socket(k.fd))
			continue;
		if (v->alias) {
			l->flags |= EBT_FDS_WALK;
			continue;
		}
		bpf_map_delete_elem(&ebt_conns, &k);
		l->fd[i] = 0;
	}
}

/* The fd loop's step at exec: sweep_conn for a real fd (the fds exec
 * closed are no longer in the table, so every number is looked up). A
 * deleted dup'd entry leaves its shared entry, which only a walk finds:
 * noted as shared, so the list is not called whole. */
static long exec_fd_step(__u32 fd, struct proc_sweep *ps)
{
	struct ebt_conn_key k = {.tgid = ps->tgid, .fd = fd};
	struct ebt_conn_info *v = bpf_map_lookup_elem(&ebt_conns, &k);

	if (!v)
		return 0;
	if (v->alias)
		ps->shared = 1;
	return sweep_conn((struct bpf_map *)&ebt_conns, &k, v, ps);
}

/*
 * Exec closes the close-on-exec fds without a close(): the connections a
 * fork copied to a child that then runs another program (a process with
 * a pool spawning commands) would stay in ebt_conns for the child's life,
 * and a file the new program opens on one of their numbers would be read
 * as that connection's bytes.
 */
static __always_inline void exec_sweep(__u32 tgid)
{
	struct ebt_proc_fds *l = bpf_map_lookup_elem(&ebt_proc_fds, &tgid);
	__u32 flags = proc_fds_flags(tgid, l);
	struct proc_sweep ps = {.tgid = tgid, .exec = 1};
	__u32 max;

	if (!gate_open(tgid))
		return;
	if (l && !(flags & EBT_FDS_WALK)) {
		exec_listed(tgid, l);
		return;
	}
	max = fd_loop_steps(cur_fdt());
	if (max)
		bpf_loop(max, exec_fd_step, &ps, 0);
	else
		bpf_for_each_map_elem(&ebt_conns, sweep_conn, &ps, 0);
	relist(l, &ps, flags);
}

/* The entries of listed fds, and the shared entries their aliases name. */
static __always_inline void exit_listed(__u32 tgid, struct ebt_proc_fds *l)
{
	struct ebt_conn_key k = {.tgid = tgid};
	struct ebt_conn_info *v;

	for (int i = 0; i < EBT_LIST_FDS; i++) {
		k.fd = l->fd[i] - 1;
		v = l->fd[i] ? bpf_map_lookup_elem(&ebt_conns, &k) : NULL;
		if (!v)
			continue;
		if (v->alias) {
			k.fd = v->alias;
			bpf_map_delete_elem(&ebt_conns, &k);
			k.fd = l->fd[i] - 1;
		}
		bpf_map_delete_elem(&ebt_conns, &k);
	}
}

/* The fd loop's step at exit: the entry of every fd number goes. Only
 * for a process without shared entries, which no fd number names. */
static long exit_fd_step(__u32 fd, struct proc_sweep *ps)
{
	struct ebt_conn_key k = {.tgid = ps->tgid, .fd = fd};

	bpf_map_delete_elem(&ebt_conns, &k);
	return 0;
}

/* The entries of a process whose list is not whole: by its fd numbers
 * (the sched_process_exit tracepoint comes before exit_files(), so its
 * table is still there, and an entry's fd is always below its size),
 * unless it has shared entries or too big a table: then by a walk. */
static __always_inline void exit_unlisted(struct proc_sweep *ps, __u32 flags)
{
	__u32 max = flags & EBT_FDS_SHARED ? 0 : fd_loop_steps(cur_fdt());

	if (max)
		bpf_loop(max, exit_fd_step, ps, 0);
	else
		bpf_for_each_map_elem(&ebt_conns, sweep_conn, ps, 0);
}

/*
 * An exited process's entries, all of them: found by its list, or by its
 * fd numbers or a walk of ebt_conns where the list is not whole.
 * Userspace deletes the ones it knows too, but not the ones BPF alone
 * made: dup'd fds (alias and shared entries), and the copies a fork made
 * of a parent's many connections (more than userspace copies), which
 * would otherwise fill the map with every command a busy process spawns.
 * Then the list goes.
 */
static __always_inline void exit_sweep(__u32 tgid, bool gate)
{
	struct ebt_proc_fds *l = bpf_map_lookup_elem(&ebt_proc_fds, &tgid);
	__u32 flags = proc_fds_flags(tgid, l);
	struct proc_sweep ps = {.tgid = tgid};

	if (l && !(flags & EBT_FDS_WALK))
		exit_listed(tgid, l);
	else if (gate && (l || flags))
		exit_unlisted(&ps, flags);
	bpf_map_delete_elem(&ebt_proc_fds, &tgid);
	bpf_map_delete_elem(&ebt_proc_added, &tgid);
}

/* The start of the command line the new program got (the kernel has just
 * copied it to the top of the new stack), as /proc/<pid>/cmdline reads. */
static __always_inline void exec_args(struct task_struct *p,
				      struct ebt_ev_exec *e)
{
	__u64 start = BPF_CORE_READ(p, mm, arg_start);
	__u64 len = BPF_CORE_READ(p, mm, arg_end) - start;

	if (len > EBT_EXEC_ARGS_MAX)
		len = EBT_EXEC_ARGS_MAX;
	if (len > 0 && !bpf_probe_read_user(e->args, len, (void *)start))
		e->args_len = (__u32)len;
}

/* Remember what a selected process starts with as stdout and stderr, and
 * tell userspace the name of the program it now runs. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct ebt_ev_exec *e;
	struct std_files sf;

	/* The record tells userspace the program changed (a forked child
	 * gone from /proc is no longer named after its parent's program),
	 * and names it; the standard files are for log capture. */
	if (ebt_cfg.hook_only)
		return 0;
	bit_clear(&ebt_named, tgid); /* another program: name it anew */
	exec_sweep(tgid);
	if (!selected(tgid))
		return 0;
	if (ebt_cfg.capture_logs) {
		sf.out = (__u64)fd_inode(1);
		sf.err = (__u64)fd_inode(2);
		if (sf.out == sf.err)
			merged_by_parent(p, &sf);
		bpf_map_update_elem(&ebt_std_files, &tgid, &sf, BPF_ANY);
	}
	e = bpf_ringbuf_reserve(&ebt_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(EBT_STAT_RB_DROPS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->hdr, EBT_EV_PROC_EXEC, id, 0, 0);
	proc_comm(e->comm);
	bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
				  BPF_CORE_READ(bprm, file, f_path.dentry,
						d_name.name));
	exec_args(p, e);
	bpf_ringbuf_submit(e, rb_flags());
	stat_inc(EBT_STAT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *task)
{
	struct ebt_ev_proc e = {};
	__u64 id = bpf_get_current_pid_tgid();
	bool gate;

	/* The process ends with the last thread of its group, the main one
	 * or not: main() may end in pthread_exit while other threads serve,
	 * and a thread other than the main one may exec (de_thread makes
	 * the main one exit then, not the process). */
	if (ebt_cfg.hook_only || BPF_CORE_READ(task, signal, live.counter))
		return 0;
	gate = gate_open(id >> 32);
	bit_clear(&ebt_conn_gate, id >> 32);
	bit_clear(&ebt_named, id >> 32);
	exit_sweep(id >> 32, gate);
	fill_hdr(&e.hdr, EBT_EV_PROC_EXIT, id, 0, 0);
	bpf_map_delete_elem(&ebt_std_files, &e.hdr.tgid);
	rb_output(&e, sizeof(e));
	return 0;
}

struct fork_copy {
	__u32 parent;
	__u32 child;
	__u32 listed; /* the child has a list (struct ebt_proc_fds) */
	__u32 n;      /* real fds copied; the first EBT_LIST_FDS in fd */
	__u32 fd[EBT_LIST_FDS];
	struct file **fds; /* the fd loop: the parent's fd array */
};

/* Dup'd entries (alias, shared) only when the child has a list: its exit
 * needs it to find them. The fds copied are noted for the child's list. */
static long copy_conn(struct bpf_map *map, struct ebt_conn_key *k,
		      struct ebt_conn_info *v, struct fork_copy *fc)
{
	struct ebt_conn_key ck = {.tgid = fc->child, .fd = k->fd};

	if (k->tgid != fc->parent ||
	    (!fc->listed && (v->alias || (k->fd & EBT_SHARED_FD))) ||
	    bpf_map_update_elem(&ebt_conns, &ck, v, BPF_NOEXIST) ||
	    (k->fd & EBT_SHARED_FD))
		return 0;
	note_fd(&fc->n, fc->fd, k->fd);
	return 0;
}

/*
 * A forked child shares its parent's sockets. Copy the parent's
 * connections to the child here, before the child runs: a forking server
 * closes its copy of the socket at once, and the child reads at once, so
 * a copy made later (by userspace, on the fork record) would race both.
 */
/* The parent's entry at fd (and the shared entry it names, for a dup'd
 * fd) copied to the child; false when the parent has none there. */
static __always_inline bool copy_fd(__u32 parent, __u32 child, __u32 fd)
{
	struct ebt_conn_key pk = {.tgid = parent, .fd = fd};
	struct ebt_conn_key ck = {.tgid = child, .fd = fd};
	struct ebt_conn_info *v = bpf_map_lookup_elem(&ebt_conns, &pk);

	if (!v)
		return false;
	bpf_map_update_elem(&ebt_conns, &ck, v, BPF_NOEXIST);
	if (!v->alias)
		return true;
	pk.fd = ck.fd = v->alias;
	v = bpf_map_lookup_elem(&ebt_conns, &pk);
	if (v)
		bpf_map_update_elem(&ebt_conns, &ck, v, BPF_NOEXIST);
	return true;
}

/* The fd loop's step at a fork: what copy_conn does for the entry of an
 * open fd (the fork runs in the parent: the table is the parent's). */
static long fork_fd_step(__u32 fd, struct fork_copy *fc)
{
	struct ebt_conn_key pk = {.tgid = fc->parent, .fd = fd};
	struct ebt_conn_info *v;

	if (!file_at(fc->fds, fd))
		return 0;
	if (!fc->listed) { /* dup'd entries only for a child with a list */
		v = bpf_map_lookup_elem(&ebt_conns, &pk);
		if (!v || v->alias)
			return 0;
	}
	if (copy_fd(fc->parent, fc->child, fd))
		note_fd(&fc->n, fc->fd, fd);
	return 0;
}

/* The copy by the parent's list, when it holds all its connections: a
 * few lookups instead of a walk of ebt_conns' 65,536 buckets (about a
 * millisecond). The child gets the list of what was copied. */
static __always_inline bool fork_listed(struct ebt_proc_fds *l, __u32 flags,
					__u32 parent, __u32 child)
{
	struct ebt_proc_fds *cl;

	if (flags & EBT_FDS_WALK)
		return false;
	cl = bpf_map_lookup_elem(&ebt_proc_fds, &child);
	if (!cl)
		return false;
	for (int i = 0; i < EBT_LIST_FDS; i++) {
		__u32 slot = l->fd[i];

		if (slot && copy_fd(parent, child, slot - 1))
			cl->fd[i] = slot;
	}
	return true;
}

/* After a walk: the child, which has not run yet, gets the list of the
 * fds copied to it, all of them, so that its own forks need no walk (a
 * shell descended from a process with adopted connections would walk at
 * every command). */
static __always_inline void list_copied(__u32 child, struct fork_copy *fc)
{
	struct ebt_proc_fds *cl = bpf_map_lookup_elem(&ebt_proc_fds, &child);

	if (!cl)
		return;
	for (int i = 0; i < EBT_LIST_FDS; i++)
		cl->fd[i] = fc->fd[i];
	cl->flags &= ~EBT_FDS_WALK;
}

/* The child's list starts with the parent's flags, before any copy. */
static __always_inline void fork_conns(__u32 parent, __u32 child)
{
	struct fork_copy fc = {.parent = parent, .child = child};
	struct ebt_proc_fds *l, cl = {};
	struct fdtable *fdt;
	__u32 flags, max;

	if (!gate_open(parent))
		return;
	gate_set(child);
	l = bpf_map_lookup_elem(&ebt_proc_fds, &parent);
	flags = proc_fds_flags(parent, l);
	cl.flags = flags & EBT_FDS_SHARED;
	if (l && !bpf_map_update_elem(&ebt_proc_fds, &child, &cl, BPF_ANY) &&
	    fork_listed(l, flags, parent, child))
		return;
	cl.flags |= EBT_FDS_WALK;
	fc.listed = !bpf_map_update_elem(&ebt_proc_fds, &child, &cl, BPF_ANY);
	fdt = cur_fdt();
	max = fd_loop_steps(fdt);
	fc.fds = BPF_CORE_READ(fdt, fd);
	if (max && fc.fds)
		bpf_loop(max, fork_fd_step, &fc, 0);
	else
		bpf_for_each_map_elem(&ebt_conns, copy_conn, &fc, 0);
	if (fc.listed && fc.n <= EBT_LIST_FDS)
		list_copied(child, &fc);
}


/* --pid follows children: the child is selected before it runs, so its
 * first connections and writes are not missed (userspace, which also adds
 * it on the fork record, would be late for a short-lived child). */
static __always_inline void follow_child(__u32 ptgid, __u32 ctgid)
{
	__u8 one = 1;

	if (!ebt_cfg.filter_pid || !pid_selected(ptgid))
		return;
	bit_set(&ebt_pid_bits, ctgid);
	bpf_map_update_elem(&ebt_pid_filter, &ctgid, &one, BPF_NOEXIST);
}
SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ebt_ev_proc e = {};
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 ptgid = BPF_CORE_READ(parent, tgid);

	if (ebt_cfg.hook_only || ctgid == ptgid)
		return 0;
	follow_child(ptgid, ctgid);
	fork_conns(ptgid, ctgid);
	fill_hdr(&e.hdr, EBT_EV_PROC_FORK, bpf_get_current_pid_tgid(), 0, 0);
	e.hdr.tgid = ptgid;
	e.child_tgid = ctgid;
	rb_output(&e, sizeof(e));
	return 0;
}

/*
 * ---- one program per direction for every syscall (--hooks raw) -----------
 * The alternative to the per-syscall tracepoints above: tp_btf programs on
 * the raw sys_enter/sys_exit tracepoints run for every syscall of every
 * process and switch on the syscall number. The loader attaches one set or
 * the other; docs/benchmarks.md compares their cost.
 */
#if defined(__TARGET_ARCH_x86)
enum {
	NR_read = 0, NR_write = 1, NR_close = 3, NR_pwrite64 = 18,
	NR_readv = 19, NR_writev = 20, NR_dup2 = 33, NR_sendfile = 40,
	NR_connect = 42, NR_accept = 43, NR_sendto = 44, NR_recvfrom = 45,
	NR_sendmsg = 46, NR_recvmsg = 47, NR_accept4 = 288, NR_dup3 = 292,
	NR_pwritev = 296, NR_pwritev2 = 328, NR_splice = 275, NR_dup = 32,
	NR_fcntl = 72,
};
#define SC_NR(regs) ((long)(regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
enum {
	NR_dup3 = 24, NR_close = 57, NR_read = 63, NR_write = 64,
	NR_readv = 65, NR_writev = 66, NR_pwrite64 = 68, NR_pwritev = 70,
	NR_sendfile = 71, NR_accept = 202, NR_connect = 203, NR_sendto = 206,
	NR_recvfrom = 207, NR_sendmsg = 211, NR_recvmsg = 212,
	NR_accept4 = 242, NR_pwritev2 = 287, NR_splice = 76,
	NR_dup2 = -2, /* arm64 has only dup3 */
	NR_dup = 23, NR_fcntl = 25,
};
#define SC_NR(regs) ((long)(regs)->syscallno)
#else
#error "syscall numbers for this architecture are missing"
#endif

/* Data syscalls have no sys_enter work: see exit_io. */
static __always_inline int raw_enter(struct pt_regs *regs, long nr)
{
	__u32 fd = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs);

	switch (nr) {
	case NR_accept:
	case NR_accept4:
		return enter_accept();
	case NR_connect:
		return enter_connect_fd(fd);
	case NR_close:
		return enter_close_fd(fd);
	case NR_dup2:
	case NR_dup3:
		return enter_dup_onto(fd,
				      (__u32)PT_REGS_PARM2_CORE_SYSCALL(regs));
	}
	return 0;
}

/* The data syscall of number nr, or -1. */
static __always_inline int data_sc_of(long nr)
{
	switch (nr) {
	case NR_read: return SC_READ;
	case NR_write: return SC_WRITE;
	case NR_readv: return SC_READV;
	case NR_writev: return SC_WRITEV;
	case NR_recvfrom: return SC_RECVFROM;
	case NR_sendto: return SC_SENDTO;
	case NR_recvmsg: return SC_RECVMSG;
	case NR_sendmsg: return SC_SENDMSG;
	case NR_sendfile: return SC_SENDFILE;
	case NR_splice: return SC_SPLICE;
	case NR_pwrite64: return SC_PWRITE64;
	case NR_pwritev: case NR_pwritev2: return SC_PWRITEV;
	}
	return -1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long nr)
{
	if (ebt_cfg.hook_only)
		return 0;
	return raw_enter(regs, nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	if (ebt_cfg.hook_only)
		return 0;
	long nr = SC_NR(regs);
	int sc;

	if (nr == NR_accept || nr == NR_accept4)
		return exit_accept(ret);
	if (nr == NR_connect)
		return exit_connect_ret(ret);
	if (nr == NR_dup || nr == NR_fcntl)
		return exit_dup_ret(regs, nr == NR_fcntl, ret);
	sc = data_sc_of(nr);
	return sc < 0 ? 0 : exit_io(regs, (enum data_sc)sc, ret);
}
