/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event records shared by the BPF programs (bpf/) and userspace (user/).
 * Defined once, with __u* types, explicit padding and size asserts, so the
 * two sides cannot drift. BPF writes these into one ring buffer.
 */
#ifndef EBPFTRACE_EVENTS_H
#define EBPFTRACE_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides __u8.. __u64 */
#else
#include <linux/types.h>
#endif

/*
 * Payload prefix captured per read/write: at most EBT_PAYLOAD_MAX - 1 bytes
 * (a power of two minus one keeps the verifier's bounds simple).
 */
#define EBT_PAYLOAD_MAX 8192
/* Bytes a connection must show before BPF can classify it. */
#define EBT_CLASSIFY_MIN 4
/* Max iovec entries copied from readv/writev/sendmsg/recvmsg. */
#define EBT_IOV_MAX 16
/*
 * A write to stdout/stderr longer than one payload goes to the ring as
 * several EBT_EV_LOG records ("pieces") of at most EBT_PAYLOAD_MAX - 1
 * bytes each, up to this many per write (about 1 MiB); what is past them
 * is reported as not captured. iovecs walked per writev/pwritev: all of
 * them up to EBT_LOG_IOV_MAX (the kernel's UIO_MAXIOV).
 */
#define EBT_LOG_PIECES_MAX 128
#define EBT_LOG_IOV_MAX 1024
#define EBT_COMM_LEN 16

enum ebt_event_type {
	EBT_EV_CONN_OPEN = 1,  /* accept/connect succeeded on a tracked process */
	EBT_EV_DATA = 2,       /* bytes read or written on a tracked connection */
	EBT_EV_CONN_CLOSE = 3, /* close() of a tracked connection */
	EBT_EV_PROC_EXIT = 4,  /* last thread of a process exited */
	EBT_EV_PROC_FORK = 5,  /* a tracked process forked a new process */
	EBT_EV_LOG = 6,        /* write to stdout/stderr: struct ebt_ev_data,
				* role = stream (1, 2), hdr.conn_start_ns =
				* offset of this piece in the write, seq = 1
				* when more pieces of the write follow, else 0 */
	EBT_EV_PROC_EXEC = 7,  /* a selected process exec'd (logs on):
				* struct ebt_ev_exec */
};

enum ebt_role {
	EBT_ROLE_UNKNOWN = 0,
	EBT_ROLE_SERVER = 1, /* fd came from accept/accept4 */
	EBT_ROLE_CLIENT = 2, /* fd was connect()ed */
};

enum ebt_direction {
	EBT_DIR_INGRESS = 0, /* read/recv: bytes into the process */
	EBT_DIR_EGRESS = 1,  /* write/send: bytes out of the process */
};

/* Classification state kept per connection in the BPF conn map. */
enum ebt_proto {
	EBT_PROTO_UNKNOWN = 0,
	EBT_PROTO_HTTP1 = 1,
	EBT_PROTO_OTHER = 2, /* not HTTP: BPF stops copying payload */
};

/* Key of the BPF connection map: one live fd of one process. */
struct ebt_conn_key {
	__u32 tgid;
	__u32 fd;
};

/* Data syscalls an adopted connection gets to show a message start. */
#define EBT_ADOPT_TRIES 256

/* The connection gate (one bit per tgid, 64 to a word): enough words for
 * the kernel's largest pid_max (PID_MAX_LIMIT, 4M on 64-bit); the loader
 * sizes it for the running pid_max, in whole pages. */
#define EBT_GATE_WORDS_MAX (4194304 / 64)
#define EBT_GATE_PAGE_WORDS 512

/* Value of the BPF connection map. */
struct ebt_conn_info {
	__u64 start_ns; /* with tgid+fd, the connection's identity */
	__u32 role;     /* enum ebt_role */
	__u32 proto;    /* enum ebt_proto */
	__u32 seq;      /* data records attempted; gaps reveal lost records */
	__u32 tries;    /* adopted (open before the tracer): data syscalls
			 * that may still fail to classify before the
			 * connection is taken as not HTTP; else 0 */
	__u64 off[2];   /* bytes moved so far, by enum ebt_direction */
	__u32 tls;      /* 1: TLS; proto, seq and off are the plaintext's,
			 * read and written through libssl (uprobes); the
			 * syscalls' ciphertext is not copied */
	__u32 alias;    /* an fd made by dup of a connection's fd: the key
			 * fd (EBT_SHARED_FD set) of the shared entry that
			 * holds its state; only start_ns is also set */
	__u32 origin;   /* shared entry: 1 + the fd its records name */
	__u32 refs;     /* shared entry: fds of the process on it */
};
_Static_assert(sizeof(struct ebt_conn_info) == 56, "conn_info layout");

/*
 * A connection whose fd was duplicated (dup, dup2, dup3, fcntl F_DUPFD: an
 * inetd-style server puts the accepted socket on a child's stdin and
 * stdout) keeps its state in one shared entry, keyed by a made-up fd with
 * this bit set (no real fd has it); each of its real fds is an alias
 * entry naming it. Its records keep the fd the connection was opened on.
 */
#define EBT_SHARED_FD 0x80000000u

/*
 * Value of the BPF per-process connection list (key: tgid): the fds of its
 * tracked connections (and of their dups), so that a fork copies them to
 * the child, and its exit deletes its dup'd ones, by lookups instead of
 * walking the whole connection map. A connection that finds no free slot
 * counts in unlisted; EBT_FDS_WALK means the list does not hold them all:
 * either makes the process's forks, exec and exit loop over its fd numbers
 * (or walk the map, see EBT_FD_LOOP_MAX in the BPF source). Userspace, when
 * it enters connections itself (adoption, fork copies), sets these flags
 * in a map of its own (ebt_proc_added, value: the flags), never in the
 * list, whose slots BPF takes and frees concurrently. EBT_FDS_SHARED: the
 * process has dup'd connection fds (shared entries), which its exit
 * deletes (by the list, else by a walk: no fd number names them).
 */
#define EBT_LIST_FDS 14
#define EBT_FDS_WALK 1u
#define EBT_FDS_SHARED 2u
struct ebt_proc_fds {
	__u32 flags;
	__u32 unlisted;
	__u32 fd[EBT_LIST_FDS]; /* 1 + fd; 0: free slot */
};
_Static_assert(sizeof(struct ebt_proc_fds) == 64, "proc_fds layout");

/*
 * Value of the BPF skip map (same key as the conn map), written by
 * userspace once it has parsed a head that announces a long body: the
 * stream offset, per direction, where that body (or chunk) ends. A data
 * syscall of the same connection (start_ns) whose bytes all lie before it
 * makes no record: only lengths matter there, and the record offsets tell
 * userspace how many bytes went by. The syscall that reaches the end is
 * recorded as usual, so the end of the body and its time are seen.
 */
struct ebt_skip {
	__u64 start_ns;
	__u64 until[2]; /* by enum ebt_direction; 0: no skipping */
};
_Static_assert(sizeof(struct ebt_skip) == 24, "skip layout");

/* Common header of every ring-buffer record. */
struct ebt_event_hdr {
	__u32 type; /* enum ebt_event_type */
	__u32 tgid;
	__u32 tid;
	__u32 fd;
	__u64 ts_ns;      /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 conn_start_ns;
};
_Static_assert(sizeof(struct ebt_event_hdr) == 32, "event_hdr layout");

#define EBT_UNIX_PATH_MAX 108 /* sizeof(sun_path) */

/*
 * IPv4 addresses are stored as IPv4-mapped IPv6 (::ffff:a.b.c.d). A unix
 * stream socket (family AF_UNIX) has no ports; its "addresses" are the
 * kernel's identities of its two ends (the first 8 bytes of saddr and
 * daddr: the local and the peer socket), so that the two ends of one
 * connection mirror each other like a TCP 4-tuple, and path is the
 * socket's name (sun_path; an abstract name starts with NUL).
 */
struct ebt_ev_conn_open {
	struct ebt_event_hdr hdr;
	__u8 saddr[16]; /* local address */
	__u8 daddr[16]; /* peer address */
	__u16 sport;    /* local port, host order */
	__u16 dport;    /* peer port, host order */
	__u16 family;   /* AF_INET / AF_INET6 / AF_UNIX of the socket */
	__u16 role;     /* enum ebt_role */
	__u64 cgroup_id;
	char comm[EBT_COMM_LEN];
	__u32 path_len; /* bytes of path[] (AF_UNIX), 0 else */
	char path[EBT_UNIX_PATH_MAX];
};
_Static_assert(sizeof(struct ebt_ev_conn_open) == 208, "conn_open layout");

struct ebt_ev_data {
	struct ebt_event_hdr hdr;
	__u32 direction; /* enum ebt_direction */
	__u32 role;      /* enum ebt_role */
	__u32 total_len; /* bytes the syscall really moved */
	__u32 cap_len;   /* bytes of payload[] that follow (<= total_len) */
	__u32 seq;       /* per-connection record number, from 0 */
	__u32 tail;      /* log write cut short: its last byte + 1; else 0.
			  * EBT_EV_DATA: flags (EBT_DATA_*) */
	__u64 off;       /* data: stream offset of the first byte, in this
			  * direction (skipped bytes make offsets jump) */
	__u8 payload[EBT_PAYLOAD_MAX];
};
_Static_assert(sizeof(struct ebt_ev_data) == 64 + EBT_PAYLOAD_MAX,
	       "ev_data layout");

/* EBT_EV_DATA flags (in tail): the payload is TLS plaintext, as the
 * process handed it to libssl or got it back. */
#define EBT_DATA_TLS 1u
/* EBT_DATA_END: the syscall moved more than a capture; payload[] holds a
 * shorter prefix (cap_len <= EBT_DATA_PREFIX_MAX) and, after it, the
 * syscall's last EBT_DATA_END_LEN bytes, so a body's end and the chunk
 * framing around a long chunk are seen (not counted in cap_len). */
#define EBT_DATA_END 2u
#define EBT_DATA_END_LEN 32
#define EBT_DATA_PREFIX_MAX (EBT_PAYLOAD_MAX - 1 - EBT_DATA_END_LEN)

#ifndef __BPF__
/* Bytes of the syscall's end that follow payload[cap_len] (data records). */
static inline unsigned ebt_data_end_len(const struct ebt_ev_data *e)
{
	return e->hdr.type == EBT_EV_DATA && (e->tail & EBT_DATA_END) ?
		       EBT_DATA_END_LEN :
		       0;
}
#endif

struct ebt_ev_close {
	struct ebt_event_hdr hdr;
};

#define EBT_EXE_LEN 48

#define EBT_EXEC_ARGS_MAX 256

/* Its program's names, for a short-lived child (echo, cat, a CGI or inetd
 * handler) whose lines or spans are made after it is gone from /proc:
 * comm, the file it runs (what /proc/<pid>/exe names: "dash" for a comm of
 * "sh"), cut to 47 bytes, and the start of its command line as
 * /proc/<pid>/cmdline has it (arguments NUL-separated: `python3 app.py`
 * is named app.py), args_len bytes of it. */
struct ebt_ev_exec {
	struct ebt_event_hdr hdr;
	char comm[EBT_COMM_LEN];
	char exe[EBT_EXE_LEN];
	__u32 args_len;
	__u32 _pad;
	char args[EBT_EXEC_ARGS_MAX];
};
_Static_assert(sizeof(struct ebt_ev_exec) == 360, "ev_exec layout");

struct ebt_ev_proc {
	struct ebt_event_hdr hdr; /* tgid = process; fd = child tgid for fork */
	__u32 child_tgid;
	__u32 _pad;
};
_Static_assert(sizeof(struct ebt_ev_proc) == 40, "ev_proc layout");

/* Indexes of the per-CPU counter array "ebt_stats". */
enum ebt_stat {
	EBT_STAT_EVENTS = 0,     /* records written to the ring buffer */
	EBT_STAT_RB_DROPS = 1,   /* ring buffer full: record lost */
	EBT_STAT_CONN_FULL = 2,  /* conn map full: connection not tracked */
	EBT_STAT_TRUNCATED = 3,  /* data records with cap_len < total_len */
	EBT_STAT_SKIPPED_OTHER = 4, /* data on non-HTTP conns, not copied */
	EBT_STAT_SKIPPED_BODY = 5, /* data inside a known body: no record */
	EBT_STAT_TLS_NO_FD = 6, /* TLS plaintext whose socket was not seen */
	EBT_STAT__COUNT = 8,
};

/* Read-only settings userspace fills before load (skeleton rodata). */
struct ebt_bpf_config {
	__u32 self_tgid;   /* never trace the tracer */
	__u32 hook_only;   /* benchmark mode: programs return at once */
	__u32 filter_pid;  /* 1: only tgids in ebt_pid_filter */
	__u32 filter_comm; /* 1: only comms in ebt_comm_filter */
	__u32 filter_cgroup; /* 1: only cgroup ids in ebt_cgroup_filter */
	__u32 capture_logs;  /* 1: capture writes to stdout/stderr */
	__u32 tls;           /* 1: libssl uprobes may be attached */
	__u64 rb_wakeup_bytes; /* wake the reader once this much is queued */
	__u64 rb_query_bytes;  /* a CPU asks how much is queued this often */
};

#endif /* EBPFTRACE_EVENTS_H */
