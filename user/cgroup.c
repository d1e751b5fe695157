/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity from cgroup paths (pure; fuzzed by fuzz_cgroup).
 *
 * Path shapes recognised, segment by segment:
 *   systemd driver  .../kubepods-burstable-pod<uid_>.slice/
 *                       {cri-containerd,crio,docker}-<id>.scope
 *                   /system.slice/docker-<id>.scope, libpod-<id>.scope,
 *                   nerdctl-<id>.scope (with an optional /container below)
 *   cgroupfs driver /kubepods/burstable/pod<uid>/<id>, .../crio-<id>,
 *                   /docker/<id>, containerd namespaces /default/<id>,
 *                   /k8s.io/<id>, and /<anything>/<id> (runtime unknown)
 * A container id is exactly 64 lower-case hex digits; anything else (an
 * upper-case or truncated id, crio-conmon-<id>, libpod-conmon-<id>) is not.
 */
#include "cgroup.h"

#include <stdio.h>
#include <string.h>

struct seg {
	const char *p;
	size_t n;
};

/* State carried from the root of a path down to its leaf. */
struct walk {
	struct ebt_cgroup_info *out;
	struct seg parent;
	enum ebt_qos qos;    /* QoS slice/dir seen above the pod */
	bool kubepods;       /* below a kubepods slice/dir */
	bool containerd_svc; /* below containerd.service */
};

static bool seg_eq(struct seg s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool seg_prefix(struct seg s, const char *lit)
{
	size_t k = strlen(lit);

	return s.n >= k && memcmp(s.p, lit, k) == 0;
}

static bool seg_suffix(struct seg s, const char *lit)
{
	size_t k = strlen(lit);

	return s.n >= k && memcmp(s.p + s.n - k, lit, k) == 0;
}

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_lhex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_lhex(p[i]))
			return false;
	return true;
}

/* ---- pods ---------------------------------------------------------------- */

/* "pod<uid>" (dashes, or '_' in systemd slice names) -> out; false if
 * not, and out is left as it was (a slice name may hold a valid pod token
 * and then one that only starts like one). */
static bool pod_uid(struct seg s, char out[EBT_POD_UID_MAX + 1])
{
	char uid[EBT_POD_UID_MAX + 1];
	size_t n = s.n - 3;

	if (!seg_prefix(s, "pod") || (n != 36 && n != 32))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s.p[3 + i];
		bool dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash && (c == '-' || c == '_'))
			c = '-';
		else if (dash || !is_lhex(c))
			return false;
		uid[i] = c;
	}
	uid[n] = '\0';
	memcpy(out, uid, n + 1);
	return true;
}

static void enter_kubepods(struct walk *w)
{
	/* An outer container (kind's node, a CI job) is not the pod's. */
	memset(w->out, 0, sizeof(*w->out));
	w->kubepods = true;
	w->qos = EBT_QOS_NONE;
}

static void set_pod(struct walk *w, const char *uid)
{
	memcpy(w->out->pod_uid, uid, sizeof(w->out->pod_uid));
	w->out->qos = w->qos != EBT_QOS_NONE ? w->qos : EBT_QOS_GUARANTEED;
}

static enum ebt_qos qos_of(struct seg s)
{
	if (seg_eq(s, "burstable"))
		return EBT_QOS_BURSTABLE;
	if (seg_eq(s, "besteffort"))
		return EBT_QOS_BESTEFFORT;
	return EBT_QOS_NONE;
}

/* One '-'-separated token of a systemd slice name. */
static void slice_token(struct walk *w, struct seg t, bool *pod,
			char uid[EBT_POD_UID_MAX + 1])
{
	if (seg_eq(t, "kubepods")) {
		if (!w->kubepods)
			enter_kubepods(w);
	} else if (w->kubepods && qos_of(t) != EBT_QOS_NONE) {
		w->qos = qos_of(t);
	} else if (w->kubepods && pod_uid(t, uid)) {
		*pod = true;
	}
}

/* kubepods-burstable-pod<uid_>.slice (any prefix, e.g. kubelet-kubepods) */
static bool pod_slice(struct walk *w, struct seg s)
{
	char uid[EBT_POD_UID_MAX + 1];
	struct seg name = {s.p, s.n - 6}, t = {s.p, 0};
	bool pod = false;

	if (!seg_suffix(s, ".slice"))
		return false;
	for (size_t i = 0; i <= name.n; i++) {
		if (i < name.n && name.p[i] != '-')
			continue;
		t.n = (size_t)(name.p + i - t.p);
		slice_token(w, t, &pod, uid);
		t.p = name.p + i + 1;
	}
	if (pod)
		set_pod(w, uid);
	return true;
}

/* cgroupfs driver: kubepods / burstable|besteffort / pod<uid> */
static bool pod_dir(struct walk *w, struct seg s)
{
	char uid[EBT_POD_UID_MAX + 1];

	if (seg_eq(s, "kubepods")) {
		enter_kubepods(w);
		return true;
	}
	if (!w->kubepods)
		return false;
	if (qos_of(s) != EBT_QOS_NONE && seg_eq(w->parent, "kubepods")) {
		w->qos = qos_of(s);
		return true;
	}
	if (pod_uid(s, uid)) {
		set_pod(w, uid);
		return true;
	}
	return false;
}

/* ---- containers ---------------------------------------------------------- */

static const struct {
	const char *prefix;
	enum ebt_runtime rt;
} scope_prefixes[] = {
	{ "cri-containerd-", EBT_RUNTIME_CONTAINERD },
	{ "nerdctl-", EBT_RUNTIME_CONTAINERD },
	{ "crio-", EBT_RUNTIME_CRIO },
	{ "docker-", EBT_RUNTIME_DOCKER },
	{ "libpod-", EBT_RUNTIME_PODMAN },
};

#define N_PREFIXES (sizeof(scope_prefixes) / sizeof(scope_prefixes[0]))

/* The runtime of a bare <id> directory, from where it sits. */
static enum ebt_runtime bare_runtime(const struct walk *w)
{
	if (w->kubepods)
		return EBT_RUNTIME_UNKNOWN; /* cgroupfs kubelet: any CRI */
	if (seg_eq(w->parent, "docker") || seg_eq(w->parent, "moby"))
		return EBT_RUNTIME_DOCKER;
	if (seg_eq(w->parent, "default") || seg_eq(w->parent, "k8s.io") ||
	    w->containerd_svc)
		return EBT_RUNTIME_CONTAINERD;
	return EBT_RUNTIME_UNKNOWN;
}

static bool container_seg(struct walk *w, struct seg s)
{
	enum ebt_runtime rt = EBT_RUNTIME_NONE;
	struct seg id = s;

	if (seg_suffix(id, ".scope"))
		id.n -= 6;
	for (size_t i = 0; i < N_PREFIXES && rt == EBT_RUNTIME_NONE; i++) {
		if (seg_prefix(id, scope_prefixes[i].prefix)) {
			size_t k = strlen(scope_prefixes[i].prefix);

			id = (struct seg){id.p + k, id.n - k};
			rt = scope_prefixes[i].rt;
		}
	}
	if (rt == EBT_RUNTIME_NONE) {
		if (id.n != s.n)
			return false; /* "<id>.scope" of no known runtime */
		rt = bare_runtime(w);
	}
	if (id.n != EBT_CONTAINER_ID_LEN || !all_lhex(id.p, id.n))
		return false;
	memcpy(w->out->container_id, id.p, id.n);
	w->out->container_id[id.n] = '\0';
	w->out->runtime = rt;
	return true;
}

static void visit(struct walk *w, struct seg s)
{
	if (s.n == 0 || seg_eq(s, ".") || seg_eq(s, ".."))
		return;
	if (seg_eq(s, "containerd.service"))
		w->containerd_svc = true;
	else if (!pod_slice(w, s) && !pod_dir(w, s))
		container_seg(w, s);
	w->parent = s;
}

bool ebt_cgroup_path_parse(const char *path, size_t len,
			   struct ebt_cgroup_info *out)
{
	static const char deleted[] = " (deleted)";
	struct walk w = {.out = out};
	size_t start = 0;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(deleted) - 1 &&
	    memcmp(path + len - (sizeof(deleted) - 1), deleted,
		   sizeof(deleted) - 1) == 0)
		len -= sizeof(deleted) - 1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		visit(&w, (struct seg){path + start, i - start});
		start = i + 1;
	}
	return out->container_id[0] || out->pod_uid[0];
}

/* ---- /proc/<pid>/cgroup ------------------------------------------------- */

struct cg_line {
	struct seg hier, ctrl, path;
};

/* "hier:controllers:path"; the path may itself hold ':'. */
static bool split_line(const char *p, size_t n, struct cg_line *l)
{
	const char *c1 = memchr(p, ':', n), *c2;

	if (!c1)
		return false;
	c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - p));
	if (!c2 || c1 == p || c2 + 1 == p + n || c2[1] != '/')
		return false;
	l->hier = (struct seg){p, (size_t)(c1 - p)};
	l->ctrl = (struct seg){c1 + 1, (size_t)(c2 - c1 - 1)};
	l->path = (struct seg){c2 + 1, (size_t)(p + n - c2 - 1)};
	for (size_t i = 0; i < l->hier.n; i++)
		if (l->hier.p[i] < '0' || l->hier.p[i] > '9')
			return false;
	return true;
}

/* 0: the cgroup2 line, 1: name=systemd, 2: another v1 hierarchy. */
static int line_rank(const struct cg_line *l)
{
	struct seg t = {l->ctrl.p, 0};

	if (seg_eq(l->hier, "0") && l->ctrl.n == 0)
		return 0;
	for (size_t i = 0; i <= l->ctrl.n; i++) {
		if (i < l->ctrl.n && l->ctrl.p[i] != ',')
			continue;
		t.n = (size_t)(l->ctrl.p + i - t.p);
		if (seg_eq(t, "name=systemd"))
			return 1;
		t.p = l->ctrl.p + i + 1;
	}
	return 2;
}

/* Calls fn for each well-formed line until it returns false. */
static void each_line(const char *text, size_t len,
		      bool (*fn)(void *ctx, const struct cg_line *l),
		      void *ctx)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		struct cg_line l;

		if (split_line(text + i, n, &l) && !fn(ctx, &l))
			return;
		i += n + 1;
	}
}

struct pick {
	struct ebt_cgroup_info id, pod;
	int id_rank, pod_rank;
};

static bool pick_line(void *ctx, const struct cg_line *l)
{
	struct pick *pk = ctx;
	struct ebt_cgroup_info tmp;
	int rank = line_rank(l);

	if (!ebt_cgroup_path_parse(l->path.p, l->path.n, &tmp))
		return true;
	if (tmp.container_id[0] && rank < pk->id_rank) {
		pk->id = tmp;
		pk->id_rank = rank;
	} else if (!tmp.container_id[0] && rank < pk->pod_rank) {
		pk->pod = tmp;
		pk->pod_rank = rank;
	}
	return true;
}

bool ebt_cgroup_parse(const char *text, size_t len,
		      struct ebt_cgroup_info *out)
{
	struct pick pk = {.id_rank = 3, .pod_rank = 3};

	each_line(text, len, pick_line, &pk);
	if (pk.id_rank < 3)
		*out = pk.id;
	else if (pk.pod_rank < 3)
		*out = pk.pod;
	else
		memset(out, 0, sizeof(*out));
	return pk.id_rank < 3 || pk.pod_rank < 3;
}

struct v2_find {
	char *out;
	size_t outsz;
	bool found;
};

static bool v2_line(void *ctx, const struct cg_line *l)
{
	struct v2_find *f = ctx;

	if (line_rank(l) != 0)
		return true;
	if (l->path.n < f->outsz && !memchr(l->path.p, '\0', l->path.n)) {
		memcpy(f->out, l->path.p, l->path.n);
		f->out[l->path.n] = '\0';
		f->found = true;
	}
	return false;
}

bool ebt_cgroup_v2_path(const char *text, size_t len, char *out,
			size_t outsz)
{
	struct v2_find f = {out, outsz, false};

	each_line(text, len, v2_line, &f);
	return f.found;
}

/* ---- names and arguments ------------------------------------------------- */

const char *ebt_runtime_name(enum ebt_runtime rt)
{
	switch (rt) {
	case EBT_RUNTIME_DOCKER:
		return "docker";
	case EBT_RUNTIME_CONTAINERD:
		return "containerd";
	case EBT_RUNTIME_CRIO:
		return "cri-o";
	case EBT_RUNTIME_PODMAN:
		return "podman";
	default:
		return NULL;
	}
}

const char *ebt_qos_name(enum ebt_qos q)
{
	switch (q) {
	case EBT_QOS_GUARANTEED:
		return "Guaranteed";
	case EBT_QOS_BURSTABLE:
		return "Burstable";
	case EBT_QOS_BESTEFFORT:
		return "BestEffort";
	default:
		return NULL;
	}
}

bool ebt_container_id_prefix_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= EBT_CONTAINER_ID_LEN && all_lhex(s, n);
}

static bool has_dotdot(const char *p)
{
	for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
	return false;
}

/* "/sys/fs/cgroup/<hier>/rest" -> "/rest" ("" for the hierarchy root) */
static const char *v1_rest(const char *arg)
{
	static const char root[] = "/sys/fs/cgroup";
	const char *r;

	if (strncmp(arg, root, sizeof(root) - 1) != 0)
		return NULL;
	r = arg + sizeof(root) - 1;
	if (*r == '\0')
		return r;
	if (*r != '/')
		return NULL;
	r = strchr(r + 1, '/');
	return r ? r : "";
}

int ebt_cgroup_filter_path(const char *arg, const char *unified, char *out,
			   size_t outsz)
{
	size_t un = strlen(unified);
	const char *rest;
	int n;

	if (!arg[0] || has_dotdot(arg))
		return -1;
	if (strncmp(arg, unified, un) == 0 &&
	    (arg[un] == '\0' || arg[un] == '/'))
		n = snprintf(out, outsz, "%s", arg);
	else if ((rest = v1_rest(arg)) != NULL)
		n = snprintf(out, outsz, "%s%s", unified, rest);
	else
		n = snprintf(out, outsz, "%s%s%s", unified,
			     arg[0] == '/' ? "" : "/", arg);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}
