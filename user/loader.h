/* SPDX-License-Identifier: Apache-2.0 */
/* BPF stage: open, configure, load, attach; map access for other stages. */
#ifndef EBT_LOADER_H
#define EBT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ebpftrace_events.h"

struct ebt_bpf;

/* Handler for every ring-buffer record (data points into the ring). */
typedef int (*ebt_event_fn)(void *ctx, const void *data, size_t len);

/* Open -> set rodata -> load -> fill filters -> attach -> ring buffer. */
struct ebt_bpf *ebt_bpf_start(const struct ebt_config *cfg, ebt_event_fn fn,
			      void *ctx, char *err, size_t errlen);
/* Poll the ring buffer up to timeout_ms; returns records consumed or <0. */
int ebt_bpf_poll(struct ebt_bpf *b, int timeout_ms);
void ebt_bpf_stop(struct ebt_bpf *b);

/* Sum of the per-CPU counters (enum ebt_stat) into out[EBT_STAT__COUNT]. */
void ebt_bpf_stats(struct ebt_bpf *b, uint64_t *out);

/* Connection map access (userspace corrections of BPF state). */
/* tls: the verdict is on the TLS plaintext, else on the clear bytes
 * (ignored once BPF has switched the connection to TLS). */
void ebt_bpf_conn_set_proto(struct ebt_bpf *b, uint32_t tgid, uint32_t fd,
			    uint64_t start_ns, bool tls, uint32_t proto);
void ebt_bpf_conn_delete(struct ebt_bpf *b, uint32_t tgid, uint32_t fd);
void ebt_bpf_fds_forget(struct ebt_bpf *b, uint32_t tgid);
/* Bytes of a long body BPF need not copy: stream offsets, per direction,
 * where the body ends (struct ebt_skip). */
void ebt_bpf_skip_set(struct ebt_bpf *b, uint32_t tgid, uint32_t fd,
		      uint64_t start_ns, const uint64_t until[2]);
void ebt_bpf_skip_delete(struct ebt_bpf *b, uint32_t tgid, uint32_t fd);

/* Is this local port one of the tracer's own (export) connections? */
bool ebt_bpf_is_self_port(struct ebt_bpf *b, uint16_t port);
/* --pid filter: a child of a selected process is selected too. */
void ebt_bpf_pid_inherit(struct ebt_bpf *b, uint32_t parent, uint32_t child);
void ebt_bpf_pid_forget(struct ebt_bpf *b, uint32_t tgid);
/* Adds (on) or removes a cgroup id in the cgroup filter (pod selection;
 * ctx is the struct ebt_bpf). 0, or a negative errno. */
int ebt_bpf_cgroup_set(void *ctx, uint64_t cgroup_id, bool on);
/* How many cgroup ids the filter holds. */
unsigned ebt_bpf_cgroup_capacity(void);

/* Would the kernel's filters (--pid, --comm, --cgroup, pods) trace this
 * process? comm: its main thread's name. */
bool ebt_bpf_selects(struct ebt_bpf *b, uint32_t tgid, const char *comm,
		     uint64_t cgroup_id);
/* Is there a cgroup filter (then ebt_bpf_selects needs the cgroup id)? */
bool ebt_bpf_filters_cgroup(struct ebt_bpf *b);
/* Track a connection that was open before the programs attached (adopt.h)
 * on the n fds of tgid (more than one: its records name fds[0]): 0 when
 * entered, -EEXIST when BPF tracks those fds already. */
int ebt_bpf_conn_adopt(struct ebt_bpf *b, uint32_t tgid, const uint32_t *fds,
		       unsigned n, uint32_t role, uint64_t start_ns);

/* Put the libssl uprobes on the OpenSSL libraries the processes under
 * proc have mapped and that have none yet (tls.c); how many files got
 * them. Nothing when tls is off. */
unsigned ebt_bpf_tls_scan(struct ebt_bpf *b, const char *proc);
bool ebt_bpf_tls_on(struct ebt_bpf *b);

#endif /* EBT_LOADER_H */
