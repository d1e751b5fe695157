/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote attach: GET the pod for its node, POST a tracer pod pinned there
 * (remote_pod.c builds it), poll it until it runs, follow its log to
 * stdout line by line, and DELETE it at the end whatever the reason:
 * the remote side finished, --duration passed, SIGINT/SIGTERM (the stop
 * flag of main.c), or an error. One thread, one libcurl handle.
 */
#include "remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "k8s.h"
#include "k8s_http.h"
#include "log.h"

#define REQ_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define POLL_MS 500
#define STEP_MS 100
#define END_GRACE_MS 10000   /* past --duration: the remote side's tail */
#define DELETE_GRACE_S 3
#define TOKEN_REREAD_MS 60000
#define BODY_MAX (4u << 20)
#define LINE_MAX_BYTES (1u << 20)
#define TS_MAX 40
#define PATH_MAX_LEN 2048
#define NS_PER_MS 1000000ULL

struct remote {
	const struct ebt_config *cfg;
	volatile sig_atomic_t *stop;
	struct ebt_k8s_conn_cfg cc;
	struct ebt_k8s_api api;       /* no stop flag: requests are bounded */
	char hint[256];               /* for 403s: the RBAC rules needed */
	CURL *curl;
	char ns[64];                  /* the tracer pod's */
	char name[REMOTE_NAME_MAX + 1];
	char node[254];
	char session[16];
	uint64_t end_ns;              /* 0: no local deadline */
	bool created;
	/* the Secret named as the pod (remote.h): what it holds, the files
	 * read for it, whether it was created */
	struct ebt_remote_secret secrets[REMOTE_SECRETS_MAX];
	size_t n_secrets;
	char *files[REMOTE_SECRETS_MAX];
	bool secret_created;
	struct ebt_remote_status st;  /* the tracer pod, last seen */
	/* log stream */
	struct ebt_k8s_lines lines;
	struct ebt_k8s_body errbody;
	long status;
	char last_ts[TS_MAX];         /* newest timestamp printed */
	unsigned n_last;              /* lines printed with last_ts */
	unsigned seen_last;           /* ... seen in this stream */
};

static const char *format_name(enum ebt_format f)
{
	return f == EBT_FORMAT_JSON ? "json" : f == EBT_FORMAT_NONE ? "none" :
	       "text";
}

enum ebt_remote_mode ebt_remote_mode(const struct ebt_config *cfg)
{
	const char *m = cfg->attach_remote ? cfg->attach_remote : "auto";

	return strcmp(m, "always") == 0 ? REMOTE_ALWAYS :
	       strcmp(m, "never") == 0 ? REMOTE_NEVER : REMOTE_AUTO;
}

static bool stopping(const struct remote *r)
{
	return *r->stop || (r->end_ns && ebt_now_mono_ns() >= r->end_ns);
}

/* Sleeps ms in short steps; false when stopping. */
static bool nap(const struct remote *r, unsigned ms)
{
	struct timespec ts = { 0, STEP_MS * 1000000L };

	for (unsigned t = 0; t < ms; t += STEP_MS) {
		if (stopping(r))
			return false;
		nanosleep(&ts, NULL);
	}
	return !stopping(r);
}

/* ---- connection ----------------------------------------------------------- */

/* The kubeconfig kubectl would use: --kubeconfig / KUBECONFIG (its first
 * existing file when a list), else ~/.kube/config. false: none. */
static bool kubeconfig_path(const struct ebt_config *cfg, char *out,
			    size_t outsz)
{
	const char *kc = cfg->k8s_kubeconfig, *home = getenv("HOME");
	const char *p, *end;

	for (p = kc; p && *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(out, outsz, "%.*s", (int)(end - p), p);
		if (out[0] && access(out, F_OK) == 0)
			return true;
	}
	if (kc && kc[0]) {
		snprintf(out, outsz, "%s", kc); /* let the load say why */
		return !strchr(kc, ':');
	}
	snprintf(out, outsz, "%s/.kube/config", home ? home : "");
	return home && access(out, F_OK) == 0;
}

/* local: why this node's CRI path did not find the pod, for the message
 * when the remote path is not possible either */
static int settings(struct remote *r, const char *local, char *err,
		    size_t errlen)
{
	char path[4096], ierr[256];

	if (kubeconfig_path(r->cfg, path, sizeof(path))) {
		if (ebt_kubeconfig_load_context(path, r->cfg->attach_context,
						&r->cc, err, errlen) != 0)
			return -1;
		if (err[0])
			log_warn("kubeconfig %s: %s", path, err);
		err[0] = '\0';
	} else if (ebt_k8s_incluster(NULL, &r->cc, ierr, sizeof(ierr)) != 0) {
		snprintf(err, errlen, "%.400s; and no Kubernetes API access "
			 "for a tracer pod on the pod's node: no kubeconfig "
			 "(--kubeconfig, KUBECONFIG, ~/.kube/config) and %s",
			 local, ierr);
		return -1;
	}
	r->api.cc = &r->cc;
	r->api.connect_ms = CONNECT_TIMEOUT_MS;
	r->api.token_reread_ms = TOKEN_REREAD_MS;
	r->api.agent = "ebpftrace-attach";
	return 0;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return stopping(ud) ? 1 : 0;
}

/* method path [JSON body] -> status (0: transport error), body in out
 * (free out->data). err is set for every status but 200 and 201. */
static long request(struct remote *r, const char *method, const char *path,
		    const char *json, struct ebt_k8s_body *out, char *err,
		    size_t errlen)
{
	return ebt_k8s_request(&r->api, r->curl, method, path, json,
			       REQ_TIMEOUT_MS, out, r->hint, err, errlen);
}

/* ---- the target and the tracer pod ------------------------------------------- */

static int pod_path(const char *ns, const char *name, const char *sub,
		    char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "api/v1/namespaces/%s/pods/%s%s", ns,
			 name, sub);

	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* GET a pod into st. Returns the HTTP status (err set unless 200). */
static long get_pod(struct remote *r, const char *ns, const char *name,
		    const char *container, struct ebt_remote_status *st,
		    char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];
	struct ebt_k8s_body b;
	long code;

	if (pod_path(ns, name, "", path, sizeof(path)) != 0) {
		snprintf(err, errlen, "pod name too long");
		return 0;
	}
	code = request(r, "GET", path, NULL, &b, err, errlen);
	if (code == 200 && ebt_remote_status_parse(b.data, b.len, container,
						   st, err, errlen) != 0)
		code = 0;
	free(b.data);
	return code;
}

/* The target pod's node into r->node. */
static int find_node(struct remote *r, char *err, size_t errlen)
{
	const struct ebt_config *cfg = r->cfg;
	struct ebt_remote_status st;
	char e[768];
	long code;

	code = get_pod(r, cfg->k8s_namespace, cfg->pod, cfg->attach_container,
		       &st, e, sizeof(e));
	if (code == 404)
		snprintf(err, errlen, "pod %s/%s not found (API server %s)",
			 cfg->k8s_namespace, cfg->pod, r->cc.server);
	else if (code != 200)
		snprintf(err, errlen, "GET pod %s/%s (API server %.200s): %s",
			 cfg->k8s_namespace, cfg->pod, r->cc.server, e);
	else if (!st.node[0])
		snprintf(err, errlen, "pod %s/%s is not scheduled to a node "
			 "yet (%s)", cfg->k8s_namespace, cfg->pod,
			 st.phase == REMOTE_PENDING ? "Pending" : "no node");
	else if (cfg->attach_container && !st.has_container)
		snprintf(err, errlen, "pod %s/%s has no container %s",
			 cfg->k8s_namespace, cfg->pod, cfg->attach_container);
	else {
		snprintf(r->node, sizeof(r->node), "%s", st.node);
		return 0;
	}
	return -1;
}

static void new_session(struct remote *r)
{
	unsigned char b[3] = { 0 };

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		b[0] = (unsigned char)getpid(), b[1] = (unsigned char)time(NULL);
	snprintf(r->session, sizeof(r->session), "%02x%02x%02x", b[0], b[1],
		 b[2]);
}

/* ---- the Secret of the tracer pod ----------------------------------------------- */

/* path's bytes (at most max) into *out (malloc'd), their count in *len. */
static int read_small(const char *path, size_t max, char **out, size_t *len,
		      char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int open_errno = errno, rc = -1;
	char *buf = f ? malloc(max + 1) : NULL;
	size_t n = 0;

	if (!f || !buf)
		snprintf(err, errlen, "%s", f ? "out of memory" :
			 strerror(open_errno));
	else if ((n = fread(buf, 1, max + 1, f)) > max)
		snprintf(err, errlen, "larger than %zu KiB", max >> 10);
	else if (ferror(f))
		snprintf(err, errlen, "%s", strerror(errno));
	else
		rc = 0;
	if (f)
		fclose(f);
	if (rc != 0)
		free(buf);
	*out = rc == 0 ? buf : NULL;
	*len = rc == 0 ? n : 0;
	return rc;
}

/* What the Secret will hold: the set secrets and the files' contents. */
static int load_secrets(struct remote *r, char *err, size_t errlen)
{
	char e[256];

	if (!r->cfg->attach_forward_secrets)
		return 0;
	r->n_secrets = ebt_remote_secrets(r->cfg, r->secrets,
					  REMOTE_SECRETS_MAX);
	for (size_t i = 0; i < r->n_secrets; i++) {
		struct ebt_remote_secret *x = &r->secrets[i];

		if (x->env)
			continue;
		if (read_small(x->value, REMOTE_SECRET_FILE_MAX, &r->files[i],
			       &x->len, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s %s: %s (for the tracer pod's "
				 "Secret; --forward-secrets=false attaches "
				 "without it)", x->option, x->value, e);
			return -1;
		}
		x->data = r->files[i];
	}
	return 0;
}

static int secret_path(const struct remote *r, const char *name, char *out,
		       size_t outsz)
{
	int n = snprintf(out, outsz, "api/v1/namespaces/%s/secrets%s%s",
			 r->ns, name ? "/" : "", name ? name : "");

	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* POSTs the Secret of s (before the pod, so that it is there when the
 * kubelet starts the container). */
static int create_secret(struct remote *r, const struct ebt_remote_spec *s,
			 char *err, size_t errlen)
{
	char path[PATH_MAX_LEN], e[768], *json;
	struct ebt_k8s_body b;
	long code;

	if (!s->n_secrets)
		return 0;
	if (secret_path(r, NULL, path, sizeof(path)) != 0 ||
	    !(json = ebt_remote_secret_json(s))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	code = request(r, "POST", path, json, &b, e, sizeof(e));
	free(json);
	free(b.data);
	r->secret_created = code == 201 || code == 200;
	if (!r->secret_created)
		snprintf(err, errlen, "create secret %s/%s for the tracer pod "
			 "(otlp.headers, Loki credentials, certificates): %s; "
			 "--forward-secrets=false attaches without them",
			 r->ns, r->name, e);
	return r->secret_created ? 0 : -1;
}

/* Makes the tracer pod (its JSON as created: pod) own the Secret, so that
 * the garbage collector deletes it with the pod even when this client is
 * killed. Not fatal: the Secret is deleted at exit all the same. */
static void own_secret(struct remote *r, const struct ebt_k8s_body *pod)
{
	char path[PATH_MAX_LEN], uid[128], e[768], *patch = NULL;
	struct ebt_k8s_body b = { 0 };
	long code = 0;

	if (!r->secret_created)
		return;
	if (pod->data &&
	    ebt_remote_uid_parse(pod->data, pod->len, uid, sizeof(uid)) == 0 &&
	    secret_path(r, r->name, path, sizeof(path)) == 0 &&
	    (patch = ebt_remote_owner_patch(r->name, uid)))
		code = request(r, "PATCH", path, patch, &b, e, sizeof(e));
	else
		snprintf(e, sizeof(e), "no uid in the created pod");
	free(patch);
	free(b.data);
	if (code != 200)
		log_warn("attach: secret %s/%s is not owned by the tracer pod "
			 "(%s): it is deleted when attach ends, but not if "
			 "attach is killed", r->ns, r->name, e);
}

static void delete_secret(struct remote *r)
{
	char path[PATH_MAX_LEN], err[768];
	struct ebt_k8s_body b;
	long code;

	if (!r->secret_created ||
	    secret_path(r, r->name, path, sizeof(path)) != 0)
		return;
	code = request(r, "DELETE", path, NULL, &b, err, sizeof(err));
	free(b.data);
	if (code != 200 && code != 202 && code != 404)
		fprintf(stderr, "ebpftrace attach: could not delete secret "
			"%s/%s (%s); delete it with: kubectl delete secret -n "
			"%s %s\n", r->ns, r->name, err, r->ns, r->name);
}

/* ---- the tracer pod -------------------------------------------------------------- */

static int create(struct remote *r, char *err, size_t errlen)
{
	const struct ebt_config *cfg = r->cfg;
	struct ebt_remote_spec s = {
		.ns = r->ns, .node = r->node, .session = r->session,
		.image = cfg->attach_image,
		.cri_socket = cfg->attach_node_cri_socket,
		.privileged = cfg->attach_privileged, .target = cfg->pod,
		.target_ns = cfg->k8s_namespace,
		.container = cfg->attach_container,
		.duration_ms = cfg->duration_ms,
		.max_duration_ms = cfg->attach_max_duration_ms,
		.format = format_name(cfg->format),
	};
	const char *forward[REMOTE_FORWARD_MAX];
	char path[PATH_MAX_LEN], e[768], *json;
	struct ebt_k8s_body b;
	long code;

	new_session(r);
	if (ebt_remote_pod_name(cfg->pod, r->session, r->name,
				sizeof(r->name)) != 0) {
		snprintf(err, errlen, "tracer pod name does not fit");
		return -1;
	}
	s.name = r->name;
	s.forward = forward;
	s.n_forward = ebt_remote_forward(cfg, forward, REMOTE_FORWARD_MAX);
	s.secrets = r->secrets;
	s.n_secrets = r->n_secrets;
	if (!(json = ebt_remote_pod_json(&s))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (create_secret(r, &s, err, errlen) != 0) {
		free(json);
		return -1;
	}
	snprintf(path, sizeof(path), "api/v1/namespaces/%s/pods", r->ns);
	code = request(r, "POST", path, json, &b, e, sizeof(e));
	free(json);
	r->created = code == 201 || code == 200;
	if (r->created)
		own_secret(r, &b);
	else
		snprintf(err, errlen, "create tracer pod %s/%s: %s", r->ns,
			 r->name, e);
	free(b.data);
	return r->created ? 0 : -1;
}

/* Polls the tracer pod until its container runs or ended. 0: it does
 * (or did), 1: stopped here, -1: it cannot run or did not in time. */
static int wait_running(struct remote *r, char *err, size_t errlen)
{
	uint64_t until = ebt_now_mono_ns() +
			 r->cfg->attach_start_timeout_ms * NS_PER_MS;
	char said[768] = "", now[768], e[768];

	while (!stopping(r)) {
		if (get_pod(r, r->ns, r->name, REMOTE_CONTAINER, &r->st, e,
			    sizeof(e)) != 200) {
			snprintf(err, errlen, "tracer pod %s/%s: %s", r->ns,
				 r->name, e);
			return -1;
		}
		if (r->st.running || r->st.terminated)
			return 0;
		ebt_remote_status_describe(&r->st, now, sizeof(now));
		if (r->st.fatal || r->st.deleting) {
			snprintf(err, errlen, "tracer pod %s/%s on node %.100s "
				 "cannot run: %.400s", r->ns, r->name, r->node,
				 now);
			return -1;
		}
		if (strcmp(now, said) != 0)
			fprintf(stderr, "ebpftrace attach: tracer pod %s: %s\n",
				r->name, now);
		snprintf(said, sizeof(said), "%s", now);
		if (ebt_now_mono_ns() >= until) {
			snprintf(err, errlen, "tracer pod %s/%s did not start "
				 "within %llus (%.300s): is node %.100s's "
				 "kubelet up, can it pull %.200s?", r->ns, r->name,
				 (unsigned long long)(r->cfg->
				 attach_start_timeout_ms / 1000), now,
				 r->node, r->cfg->attach_image);
			return -1;
		}
		nap(r, POLL_MS);
	}
	return 1;
}

/* ---- the log stream ------------------------------------------------------------ */

/* A line with this timestamp: new, or printed before a reconnect that
 * replays the lines since the last whole second? Lines of one write share
 * their timestamp: those are counted. */
static bool is_new(struct remote *r, const char *ts)
{
	int c = r->last_ts[0] ? strcmp(ts, r->last_ts) : 1;

	if (c < 0)
		return false;
	if (c > 0) {
		snprintf(r->last_ts, sizeof(r->last_ts), "%s", ts);
		r->n_last = r->seen_last = 1;
		return true;
	}
	if (++r->seen_last <= r->n_last)
		return false;
	r->n_last = r->seen_last;
	return true;
}

/* "<RFC 3339 timestamp> <text>": prints text once. */
static int on_line(void *ctx, const char *line, size_t len)
{
	struct remote *r = ctx;
	const char *sp = memchr(line, ' ', len);
	size_t tl = sp ? (size_t)(sp - line) : 0;
	char ts[TS_MAX];

	if (!sp || tl >= sizeof(ts)) {
		fwrite(line, 1, len, stdout);
	} else {
		snprintf(ts, sizeof(ts), "%.*s", (int)tl, line);
		if (!is_new(r, ts))
			return 0;
		fwrite(sp + 1, 1, len - tl - 1, stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
	return 0;
}

static size_t on_log(char *p, size_t sz, size_t nm, void *ud)
{
	struct remote *r = ud;
	size_t n = sz * nm;

	if (!r->status)
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status != 200) /* a Status object */
		return ebt_k8s_body_add(&r->errbody, p, n) == 0 ? n : 0;
	return ebt_k8s_lines_feed(&r->lines, p, n, on_line, r) < 0 ? 0 : n;
}

static int log_path(struct remote *r, char *out, size_t outsz)
{
	char since[64] = "", base[PATH_MAX_LEN];
	char *t = NULL;
	int n;

	if (pod_path(r->ns, r->name, "/log", base, sizeof(base)) != 0)
		return -1;
	if (r->last_ts[0]) { /* whole seconds: 2026-01-02T03:04:05Z */
		snprintf(since, sizeof(since), "%.19sZ", r->last_ts);
		if (!(t = curl_easy_escape(r->curl, since, 0)))
			return -1;
	}
	n = snprintf(out, outsz, "%s?container=%s&follow=true&timestamps=true"
		     "%s%s", base, REMOTE_CONTAINER, t ? "&sinceTime=" : "",
		     t ? t : "");
	curl_free(t);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* Follows the log until it ends or stopping. 0, or -1 with err. */
static int follow(struct remote *r, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN], cerr[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (log_path(r, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "log path too long");
		return -1;
	}
	memset(&r->errbody, 0, sizeof(r->errbody));
	r->errbody.max = BODY_MAX;
	r->status = 0;
	r->seen_last = 0;
	/* a partial last line comes again whole with the replay */
	ebt_k8s_lines_free(&r->lines);
	ebt_k8s_lines_init(&r->lines, LINE_MAX_BYTES);
	ebt_k8s_api_setup(&r->api, r->curl, path, 0, cerr);
	/* no compression (it may hold lines back); stopping ends it */
	curl_easy_setopt(r->curl, CURLOPT_ACCEPT_ENCODING, NULL);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_log);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	rc = curl_easy_perform(r->curl);
	if (!r->status)
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status && r->status != 200)
		ebt_k8s_http_error(&r->errbody, r->status, r->hint, err,
				   errlen);
	else if (rc != CURLE_OK && !stopping(r))
		snprintf(err, errlen, "%s", cerr[0] ? cerr :
			 curl_easy_strerror(rc));
	free(r->errbody.data);
	return (r->status == 200 || !r->status) && (rc == CURLE_OK ||
						    stopping(r)) ? 0 : -1;
}

/* Streams the log, reconnecting, until the container ended or stopping.
 * Returns the exit status when it ended, 1 when the tracer pod cannot be
 * read any more, else 0. */
static int stream(struct remote *r)
{
	char err[768] = "", last[768] = "";
	uint64_t ended = 0;

	while (!stopping(r)) {
		if (follow(r, err, sizeof(err)) != 0 && strcmp(err, last)) {
			fprintf(stderr, "ebpftrace attach: logs of %s: %s\n",
				r->name, err);
			snprintf(last, sizeof(last), "%s", err);
		}
		if (stopping(r))
			break;
		if (get_pod(r, r->ns, r->name, REMOTE_CONTAINER, &r->st, err,
			    sizeof(err)) != 200) {
			fprintf(stderr, "ebpftrace attach: tracer pod %s: %s\n",
				r->name, err);
			return 1;
		}
		if (r->st.terminated && (ended || !r->st.running)) {
			if (!ended) { /* its last lines: once more */
				ended = ebt_now_mono_ns();
				continue;
			}
			return r->st.exit_code;
		}
		if (!nap(r, POLL_MS * 2))
			break;
	}
	return 0;
}

/* ---- cleanup ---------------------------------------------------------------------- */

static void delete_pod(struct remote *r)
{
	char path[PATH_MAX_LEN], sub[64], err[768];
	struct ebt_k8s_body b;
	long code;

	/* a pod that never ran needs no grace (and a node without a
	 * kubelet would keep it Terminating) */
	snprintf(sub, sizeof(sub), "?gracePeriodSeconds=%d",
		 r->st.running ? DELETE_GRACE_S : 0);
	if (pod_path(r->ns, r->name, sub, path, sizeof(path)) != 0)
		return;
	code = request(r, "DELETE", path, NULL, &b, err, sizeof(err));
	free(b.data);
	if (code == 200 || code == 202 || code == 404)
		fprintf(stderr, "ebpftrace attach: tracer pod %s/%s deleted\n",
			r->ns, r->name);
	else
		fprintf(stderr, "ebpftrace attach: could not delete tracer pod "
			"%s/%s (%s); delete it with: kubectl delete pod -n %s "
			"%s\n", r->ns, r->name, err, r->ns, r->name);
}

/* ---- the session -------------------------------------------------------------------- */

static int session(struct remote *r)
{
	char err[1024] = "";
	int rc;

	fprintf(stderr, "ebpftrace attach: pod %s/%s runs on node %s; tracer "
		"pod %s/%s started there (leftovers: kubectl delete pod -A -l "
		REMOTE_LABEL "=true)\n", r->cfg->k8s_namespace, r->cfg->pod,
		r->node, r->ns, r->name);
	rc = wait_running(r, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ebpftrace attach: %s\n", err);
		return 1;
	}
	if (rc > 0)
		return 0;
	if (r->cfg->duration_ms)
		r->end_ns = ebt_now_mono_ns() +
			    (r->cfg->duration_ms + END_GRACE_MS) * NS_PER_MS;
	return stream(r);
}

static int start(struct remote *r, const struct ebt_config *cfg,
		 volatile sig_atomic_t *stop, const char *local, char *err,
		 size_t errlen)
{
	const char *tns = cfg->attach_tracer_namespace;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->stop = stop;
	snprintf(r->ns, sizeof(r->ns), "%s", tns && tns[0] ? tns :
		 cfg->k8s_namespace);
	ebt_k8s_lines_init(&r->lines, LINE_MAX_BYTES);
	if (load_secrets(r, err, errlen) != 0)
		return -1;
	snprintf(r->hint, sizeof(r->hint), " (RBAC: remote attach needs get, "
		 "create and delete on pods%s and get on pods/log in "
		 "namespace %s)", r->n_secrets ? ", create, patch and delete "
		 "on secrets" : "", r->ns);
	if (settings(r, local, err, errlen) != 0)
		return -1;
	if (!(r->curl = curl_easy_init())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void finish(struct remote *r)
{
	for (size_t i = 0; i < REMOTE_SECRETS_MAX; i++)
		free(r->files[i]);
	if (r->curl)
		curl_easy_cleanup(r->curl);
	ebt_k8s_lines_free(&r->lines);
	ebt_k8s_api_free(&r->api);
	ebt_k8s_conn_cfg_free(&r->cc);
}

int ebt_remote_attach(const struct ebt_config *cfg,
		      volatile sig_atomic_t *stop, const char *local)
{
	struct remote r;
	char err[1024] = "";
	int rc = 1;

	if (start(&r, cfg, stop, local, err, sizeof(err)) == 0 &&
	    find_node(&r, err, sizeof(err)) == 0 &&
	    create(&r, err, sizeof(err)) == 0) {
		rc = session(&r);
		delete_pod(&r);
	}
	delete_secret(&r);
	if (err[0])
		fprintf(stderr, "ebpftrace attach: %s\n", err);
	finish(&r);
	return rc;
}
