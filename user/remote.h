/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ebpftrace attach <pod>` for a pod on another node: a short-lived tracer
 * pod pinned to that node runs `ebpftrace attach` there (the CRI path),
 * its console output is streamed back, and it is deleted on exit.
 *
 * remote_pod.c (pure): the tracer pod's JSON from the options, and the
 * parts of Pod objects the client reads (node, phase, container state).
 * Unit-tested and fuzzed.
 * remote.c: the client (API server over libcurl, see k8s_http.h).
 */
#ifndef EBT_REMOTE_H
#define EBT_REMOTE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Labels and annotation of every tracer pod (cleanup: kubectl delete pod
 * -A -l ebpftrace.io/attach=true). */
#define REMOTE_LABEL "ebpftrace.io/attach"
#define REMOTE_SESSION_LABEL "ebpftrace.io/attach-session"
#define REMOTE_TARGET_ANNOTATION "ebpftrace.io/attach-target"
#define REMOTE_CONTAINER "ebpftrace"
#define REMOTE_NAME_MAX 63       /* pod names used as host names */
#define REMOTE_DEADLINE_MARGIN_S 60 /* activeDeadlineSeconds past --duration */

/*
 * Settings the tracer pod needs that must not be in its spec (secrets) or
 * that name files of this host (certificates). They go into a Secret
 * named as the pod, with the pod's labels: an environment variable of the
 * tracer container reads a secret value, a file under REMOTE_SECRET_DIR
 * (mode 0400) holds a certificate, and the command names that file.
 */
#define REMOTE_SECRET_DIR "/etc/ebpftrace/attach"
#define REMOTE_SECRET_VOLUME "attach-secrets"
#define REMOTE_SECRETS_MAX 9
#define REMOTE_SECRET_FILE_MAX (256u << 10) /* a Secret holds 1 MiB */

struct ebt_remote_secret {
	const char *key;   /* the Secret's key */
	const char *env;   /* the container's variable set from it, or NULL */
	const char *flag;  /* else: the flag given REMOTE_SECRET_DIR/key */
	const char *option; /* the config key, for messages */
	const char *value; /* env: the value; file: its path on this host */
	const char *data;  /* the bytes stored (the value, or the file's) */
	size_t len;
};

/* The secrets and files of cfg that are set, at most max; data and len
 * are the value for env items and unset (NULL, 0) for files. */
size_t ebt_remote_secrets(const struct ebt_config *cfg,
			  struct ebt_remote_secret *out, size_t max);

/* What the tracer pod is made from. */
struct ebt_remote_spec {
	const char *name;       /* the tracer pod */
	const char *ns;         /* its namespace */
	const char *node;       /* spec.nodeName: the target pod's node */
	const char *session;    /* REMOTE_SESSION_LABEL value */
	const char *image;
	const char *cri_socket; /* on the node */
	bool privileged;
	/* the remote command: ebpftrace attach <pod> -n <ns> ... */
	const char *target;     /* the traced pod */
	const char *target_ns;
	const char *container;  /* NULL: all of them */
	uint64_t duration_ms;   /* 0: until deleted */
	uint64_t max_duration_ms; /* deadline without a duration */
	const char *format;     /* "text", "json", "none" */
	/* the user's settings the tracer pod gets too (ebt_remote_forward) */
	const char *const *forward;
	size_t n_forward;
	/* in the Secret named as the pod (ebt_remote_secret_json) */
	const struct ebt_remote_secret *secrets;
	size_t n_secrets;
};

/* Flags and values (argv words) that give the tracer pod the settings of
 * cfg it would otherwise lose: where spans and log lines go and how they
 * are shaped (OTLP and Loki endpoints, Loki tenant and user name, cluster,
 * query strings, ignored paths, sampler), each only when set otherwise
 * than its default; secrets and files go by ebt_remote_secrets. At
 * most max words; returns how many. Strings point into cfg. */
size_t ebt_remote_forward(const struct ebt_config *cfg, const char **out,
			  size_t max);
#define REMOTE_FORWARD_MAX (20 + 2 * EBT_MAX_FILTERS)

/* The tracer pod's name: ebpftrace-attach-<target>-<session>, cut to
 * REMOTE_NAME_MAX and kept a DNS label. -1 if out is too small. */
int ebt_remote_pod_name(const char *target, const char *session, char *out,
			size_t outsz);
/* activeDeadlineSeconds of the tracer pod. */
uint64_t ebt_remote_deadline_s(const struct ebt_remote_spec *s);
/* The tracer pod as JSON (malloc'd), NULL when out of memory. */
char *ebt_remote_pod_json(const struct ebt_remote_spec *s);
/* The Secret of s->secrets as JSON (malloc'd), NULL when out of memory. */
char *ebt_remote_secret_json(const struct ebt_remote_spec *s);
/* A merge patch that makes the tracer pod (name, uid) own an object, so
 * that the garbage collector deletes it with the pod (malloc'd). */
char *ebt_remote_owner_patch(const char *pod, const char *uid);
/* metadata.uid of an object's JSON into out; -1 if it has none. */
int ebt_remote_uid_parse(const char *json, size_t len, char *out,
			 size_t outsz);

enum ebt_remote_phase {
	REMOTE_PENDING = 0,
	REMOTE_RUNNING,
	REMOTE_SUCCEEDED,
	REMOTE_FAILED,
	REMOTE_UNKNOWN,
};

/* What a Pod object says about the pod and one of its containers. */
struct ebt_remote_status {
	enum ebt_remote_phase phase;
	char node[254];          /* spec.nodeName, "" if not scheduled */
	bool deleting;           /* metadata.deletionTimestamp set */
	bool has_container;      /* the container is in spec.containers */
	bool running;            /* its state is running */
	bool terminated;         /* its state is terminated */
	int exit_code;           /* terminated: exitCode */
	bool fatal;              /* it will not start by waiting longer */
	char reason[128];        /* waiting/terminated/pod reason, condition */
	char message[512];
};

/* A Pod object -> status of container (NULL: the first one). 0, or -1
 * with err set when it is not a Pod. */
int ebt_remote_status_parse(const char *json, size_t len,
			    const char *container,
			    struct ebt_remote_status *st, char *err,
			    size_t errlen);
/* One line describing st for messages ("Pending: ImagePullBackOff: ..."). */
void ebt_remote_status_describe(const struct ebt_remote_status *st,
				char *out, size_t outsz);

/* ---- the client (remote.c) ---------------------------------------------- */

enum ebt_remote_mode { REMOTE_AUTO = 0, REMOTE_ALWAYS, REMOTE_NEVER };
enum ebt_remote_mode ebt_remote_mode(const struct ebt_config *cfg);

/*
 * Runs the tracer for cfg->pod on its node through a tracer pod and
 * streams its output to stdout until it ends, --duration passes or *stop
 * is set; deletes the pod in every case. Returns the remote exit status
 * when known, 0 when stopped here, 1 on errors (printed to stderr).
 * local: why the pod was not traced on this node, printed when there is
 * no Kubernetes API access either.
 */
int ebt_remote_attach(const struct ebt_config *cfg,
		      volatile sig_atomic_t *stop, const char *local);

#endif /* EBT_REMOTE_H */
