/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adopt stage: connections open before the tracer started.
 *
 * BPF tracks a connection from its accept or connect. One opened earlier
 * (a client's keep-alive pool, an ingress's upstream connections to the
 * pod someone attaches to) would stay untraced for as long as it lives.
 * Once the programs are attached, /proc names them: the socket fds of each
 * process the kernel's filters select (/proc/PID/fd -> socket:[inode]),
 * matched by inode to the TCP table of its network namespace
 * (/proc/PID/net/tcp and tcp6). An established socket on a port that its
 * namespace listens on was accepted (server role); any other established
 * one was connected (client role). Each goes into BPF's connection map,
 * never over an fd BPF already tracks, and the tracer gets an open record
 * for it as from BPF. Nothing of the traced process is touched: /proc is
 * only read.
 *
 * Such a connection may be in the middle of a message. BPF lets its data
 * go until a syscall's first bytes may begin one (ebt_conn_info.tries),
 * and stream offsets count from there.
 */
#include "adopt.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

#define FILE_MAX (64u << 20) /* a tcp table larger than this is cut */

/* ---- the scan ----------------------------------------------------------- */

/* The tables of each network namespace met so far. */
struct netns {
	uint64_t ino;
	struct ebt_tcp_table tcp;
};

struct scan {
	struct ebt_bpf *b;
	const char *proc;
	ebt_event_fn fn;
	void *ctx;
	struct netns *ns;
	size_t n_ns;
	unsigned adopted;
};

/* One selected process, as the open records need it. */
struct proc_info {
	const char *pid;
	uint32_t tgid;
	char comm[EBT_COMM_LEN];
	uint64_t cgroup_id;
};

/* Whole file into a NUL-terminated malloc'd buffer, or NULL. */
static char *read_text(const char *path)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	while (buf && fd >= 0 && (n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1 && cap < FILE_MAX) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	if (fd >= 0)
		close(fd);
	if (fd < 0 && buf) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int load_table(struct scan *sc, const char *pid, const char *file,
		      struct ebt_tcp_table *t)
{
	char path[256];
	char *text;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/net/%s", sc->proc, pid, file);
	text = read_text(path);
	if (!text)
		return 0; /* no IPv6 in that namespace, or the process left */
	rc = ebt_tcp_table_add(t, text, strcmp(file, "tcp6") == 0);
	free(text);
	return rc;
}

/* The TCP table of pid's network namespace (read once per namespace). */
static const struct ebt_tcp_table *netns_table(struct scan *sc,
					       const char *pid)
{
	char path[256];
	struct stat st;
	struct netns *v, *ns;

	snprintf(path, sizeof(path), "%s/%s/ns/net", sc->proc, pid);
	if (stat(path, &st) != 0)
		return NULL;
	for (size_t i = 0; i < sc->n_ns; i++)
		if (sc->ns[i].ino == (uint64_t)st.st_ino)
			return &sc->ns[i].tcp;
	v = realloc(sc->ns, (sc->n_ns + 1) * sizeof(*v));
	if (!v)
		return NULL;
	sc->ns = v;
	ns = &v[sc->n_ns++];
	memset(ns, 0, sizeof(*ns));
	ns->ino = (uint64_t)st.st_ino;
	if (load_table(sc, pid, "tcp", &ns->tcp) != 0 ||
	    load_table(sc, pid, "tcp6", &ns->tcp) != 0)
		log_warn("adopt: out of memory reading %s's TCP table", pid);
	ebt_tcp_table_sort(&ns->tcp);
	return &ns->tcp;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Track the n fds of p on one socket, row r, if it is a TCP connection
 * (more than one fd: a handler with it on stdin and stdout; the records
 * name the first). */
static void adopt_fds(struct scan *sc, const struct proc_info *p,
		      const uint32_t *fds, unsigned n,
		      const struct ebt_tcp_table *t, const struct ebt_tcp_row *r)
{
	struct ebt_ev_conn_open e;
	uint32_t role = ebt_tcp_role(t, r);
	uint64_t now = mono_ns();

	if (role == EBT_ROLE_UNKNOWN ||
	    (role == EBT_ROLE_SERVER &&
	     ebt_bpf_is_self_port(sc->b, r->rport)) ||
	    ebt_bpf_conn_adopt(sc->b, p->tgid, fds, n, role, now) != 0)
		return;
	memset(&e, 0, sizeof(e));
	e.hdr.type = EBT_EV_CONN_OPEN;
	e.hdr.tgid = p->tgid;
	e.hdr.fd = fds[0];
	e.hdr.ts_ns = now;
	e.hdr.conn_start_ns = now;
	memcpy(e.saddr, r->laddr, 16);
	memcpy(e.daddr, r->raddr, 16);
	e.sport = r->lport;
	e.dport = r->rport;
	e.family = r->family;
	e.role = (uint16_t)role;
	e.cgroup_id = p->cgroup_id;
	memcpy(e.comm, p->comm, sizeof(e.comm));
	sc->fn(sc->ctx, &e, sizeof(e));
	sc->adopted++;
}

/* fd N -> socket inode, or 0 when N is not a socket. */
static uint64_t socket_ino(const char *fddir, const char *name)
{
	char path[600], link[64];
	ssize_t n;
	unsigned long long ino;

	snprintf(path, sizeof(path), "%s/%s", fddir, name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return sscanf(link, "socket:[%llu]", &ino) == 1 ? ino : 0;
}

/* A socket fd of a process. */
struct sock_fd {
	uint64_t ino;
	uint32_t fd;
};

static int by_ino_then_fd(const void *a, const void *b)
{
	const struct sock_fd *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* The socket fds in fddir, sorted by inode then fd (an array to free);
 * NULL with *n 0 when there are none or no memory. */
static struct sock_fd *socket_fds(const char *fddir, size_t *n)
{
	struct sock_fd *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(fddir);

	*n = 0;
	while (d && (de = readdir(d)) != NULL) {
		uint64_t ino = isdigit((unsigned char)de->d_name[0]) ?
				       socket_ino(fddir, de->d_name) : 0;
		struct sock_fd *w = v;

		if (!ino)
			continue;
		if (*n == cap && !(w = realloc(v, (cap = cap ? 2 * cap : 16) *
							  sizeof(*v))))
			break;
		v = w;
		v[(*n)++] = (struct sock_fd){ino, (uint32_t)atoi(de->d_name)};
	}
	if (d)
		closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), by_ino_then_fd);
	return v;
}

#define FDS_PER_SOCKET 8 /* a socket on more fds of one process: not adopted */

static void scan_fds(struct scan *sc, const struct proc_info *p)
{
	const struct ebt_tcp_table *t = NULL;
	char fddir[200];
	size_t n, i, j;
	struct sock_fd *v;

	snprintf(fddir, sizeof(fddir), "%s/%s/fd", sc->proc, p->pid);
	v = socket_fds(fddir, &n);
	for (i = 0; i < n; i = j) {
		uint32_t fds[FDS_PER_SOCKET];
		const struct ebt_tcp_row *r;

		for (j = i; j < n && v[j].ino == v[i].ino; j++)
			if (j - i < FDS_PER_SOCKET)
				fds[j - i] = v[j].fd;
		if (j - i > FDS_PER_SOCKET ||
		    (!t && !(t = netns_table(sc, p->pid))))
			continue;
		r = ebt_tcp_table_find(t, v[i].ino);
		if (r)
			adopt_fds(sc, p, fds, (unsigned)(j - i), t, r);
	}
	free(v);
}

/* Its main thread's name, as BPF's filter sees it. */
static bool read_comm(const char *proc, const char *pid, char *comm)
{
	char path[600];
	char *text;

	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	text = read_text(path);
	if (!text)
		return false;
	text[strcspn(text, "\n")] = '\0';
	memset(comm, 0, EBT_COMM_LEN);
	strncpy(comm, text, EBT_COMM_LEN - 1);
	free(text);
	return true;
}

static void scan_pid(struct scan *sc, const char *pid)
{
	struct proc_info p = {.pid = pid, .tgid = (uint32_t)atoi(pid)};

	if (!p.tgid || !read_comm(sc->proc, pid, p.comm))
		return;
	if (ebt_proc_cgroup_id(sc->proc, pid, &p.cgroup_id) != 0 &&
	    ebt_bpf_filters_cgroup(sc->b))
		return;
	if (ebt_bpf_selects(sc->b, p.tgid, p.comm, p.cgroup_id))
		scan_fds(sc, &p);
}

unsigned ebt_adopt_scan(struct ebt_bpf *b, const char *proc, ebt_event_fn fn,
			void *ctx)
{
	struct scan sc = {.b = b, .proc = proc, .fn = fn, .ctx = ctx};
	struct dirent *de;
	DIR *d = opendir(proc);

	if (!d) {
		log_warn("adopt: cannot read %s: connections opened before "
			 "the tracer started are not traced", proc);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]))
			scan_pid(&sc, de->d_name);
	closedir(d);
	for (size_t i = 0; i < sc.n_ns; i++)
		ebt_tcp_table_free(&sc.ns[i].tcp);
	free(sc.ns);
	return sc.adopted;
}
