/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime configuration. Filled from one table of options (options.c):
 * defaults < config file (--config, YAML) < environment < command-line flags.
 */
#ifndef EBT_CONFIG_H
#define EBT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"

#define EBT_MAX_FILTERS 64

enum ebt_format {
	EBT_FORMAT_TEXT = 0,
	EBT_FORMAT_JSON = 1,
	EBT_FORMAT_NONE = 2, /* no console output */
};

/* How the syscall programs are attached (see docs/benchmarks.md). */
enum ebt_hooks {
	EBT_HOOKS_TRACEPOINTS = 0, /* one program per syscalls/sys_* event */
	EBT_HOOKS_RAW = 1,         /* tp_btf sys_enter/sys_exit + id switch */
};

enum ebt_compression {
	EBT_COMPRESS_GZIP = 0,
	EBT_COMPRESS_NONE = 1,
};

struct ebt_config {
	/* selection */
	uint32_t pids[EBT_MAX_FILTERS];
	unsigned n_pids;
	char *comms[EBT_MAX_FILTERS];
	unsigned n_comms;
	char *cgroups[EBT_MAX_FILTERS]; /* cgroup paths (v2/hybrid unified) */
	unsigned n_cgroups;
	char *containers[EBT_MAX_FILTERS]; /* container id prefixes */
	unsigned n_containers;
	char *namespaces[EBT_MAX_FILTERS]; /* pods in these (globs) only */
	unsigned n_namespaces;
	char *exclude_namespaces[EBT_MAX_FILTERS]; /* never these (globs) */
	unsigned n_exclude_namespaces;
	char *pod_selector; /* label selector over the pods' labels */

	/* run */
	uint64_t duration_ms; /* 0 = until Ctrl-C */
	enum ebt_format format;
	bool adopt_open; /* track connections open before the start too */
	bool tls;        /* uprobes on libssl for TLS plaintext */
	bool hook_only; /* benchmark: attach programs that return at once */
	enum ebt_hooks hooks;
	char *log_level; /* error, warn, info, debug */
	char *stats_file; /* write counters as JSON here on exit, optional */
	char *metrics_listen; /* host:port of /healthz, /readyz, /metrics */
	uint64_t ringbuf_size; /* kernel -> tracer ring buffer, bytes */

	/* HTTP */
	enum http_query_mode query_mode;
	char *ignore_paths[EBT_MAX_FILTERS]; /* url.path globs: no span */
	unsigned n_ignore_paths;
	bool routes_from_jar; /* http.route from a Spring MVC jar's mappings */

	/* traces */
	int sampler;         /* enum ebt_sampler_kind (sampler.h) */
	char *sampler_arg;   /* ratio of the traceidratio kinds, "0".."1" */

	/* OTLP export */
	char *otlp_endpoint;        /* base, "/v1/traces" appended */
	char *otlp_traces_endpoint; /* full URL, wins over the base */
	char *otlp_headers;         /* "k=v,k2=v2" (W3C baggage-like) */
	uint64_t otlp_timeout_ms;
	enum ebt_compression otlp_compression;
	char *otlp_protocol;        /* "http/protobuf", the only one */
	char *otlp_ca_file;         /* PEM CA bundle for https; NULL: system's */
	char *otlp_cert_file;       /* PEM client certificate (mutual TLS) */
	char *otlp_key_file;        /* PEM key of the client certificate */
	uint64_t otlp_queue_bytes;  /* bound of buffered spans */
	uint32_t otlp_batch_spans;  /* max spans per request */
	uint64_t otlp_batch_timeout_ms;
	char *resource_attributes;  /* OTEL_RESOURCE_ATTRIBUTES for the tracer */

	/* logs: stdout/stderr capture and the Loki exporter (additive) */
	bool logs_enabled;
	bool logs_containers; /* capture every containerised process */
	uint64_t logs_max_line;         /* bytes per record */
	uint64_t logs_flush_timeout_ms; /* partial line flushed after */
	bool logs_multiline;            /* join Java stack traces */
	char *loki_endpoint;            /* push URL, or base */
	char *loki_tenant;              /* X-Scope-OrgID */
	char *loki_username;
	char *loki_password;            /* file or environment only */
	char *loki_bearer_token;        /* file or environment only */
	char *loki_ca_file;             /* PEM CA bundle for https */
	char *loki_cert_file;           /* PEM client certificate */
	char *loki_key_file;            /* its private key */
	uint64_t loki_timeout_ms;
	uint64_t loki_batch_bytes;
	uint64_t loki_batch_timeout_ms;
	uint64_t loki_queue_bytes;
	char *cluster;                  /* static "cluster" log label */

	/* Kubernetes metadata */
	char *cri_socket; /* CRI (containerd) unix socket; "": off */
	char *k8s_enabled;    /* Kubernetes API: "auto", "true", "false" */
	char *k8s_kubeconfig; /* kubeconfig file; NULL: in-cluster */
	char *k8s_node_name;  /* this node's name (spec.nodeName of pods) */

	/* Kubernetes events -> Loki (k8s_events.h) */
	bool k8s_events_enabled;
	bool k8s_events_leader_election; /* false: single replica */
	char *k8s_events_lease_namespace; /* NULL: service account's */
	char *k8s_events_lease_name;
	char *k8s_events_identity;        /* NULL: node name, host name */

	/* attach (added by options.c, additive) */
	char *pod;           /* attach: pod name, the positional argument */
	char *k8s_namespace; /* attach: namespace of the pod */
	char *attach_container; /* attach: only this container of the pod */
	char *attach_remote;    /* "auto", "always", "never" (remote.h) */
	char *attach_image;     /* image of the tracer pod on another node */
	bool attach_privileged; /* tracer pod privileged, not 4 capabilities */
	char *attach_tracer_namespace; /* tracer pod's namespace; "": pod's */
	char *attach_node_cri_socket;  /* CRI socket path on the nodes */
	uint64_t attach_start_timeout_ms; /* tracer pod must run within */
	uint64_t attach_max_duration_ms;  /* its deadline without --duration */
	char *attach_context;   /* kubeconfig context; NULL: current-context */
	bool attach_forward_secrets; /* tracer pod gets secrets and files
					* through a Secret */
};

/*
 * Parse result: 0 ok, 1 help printed (exit 0), -1 error (message in err).
 * command is "run", "attach" or "check" (NULL: every option allowed).
 * argv[0] is skipped, as with getopt: pass the command's own argv, e.g.
 * ebt_config_load(&cfg, "run", argc - 1, argv + 1, ...).
 * cfg is overwritten; on 1 and -1 it holds nothing, and ebt_config_free()
 * is always safe to call (also twice).
 */
int ebt_config_load(struct ebt_config *cfg, const char *command, int argc,
		    char **argv, char *err, size_t errlen);
void ebt_config_free(struct ebt_config *cfg);
/* Is any process selection (--pid, --comm, --cgroup, --container-id, or
 * a pod selection) set? */
bool ebt_config_has_filter(const struct ebt_config *cfg);
/* Is a pod selection (--namespace, --exclude-namespace, --pod-selector)
 * set? */
bool ebt_config_has_pod_filter(const struct ebt_config *cfg);

/* Print --help for a command from the options table. */
void ebt_config_usage(FILE *out, const char *command);
/* Print the options table as Markdown (docs/configuration.md). */
void ebt_config_markdown(FILE *out);

#endif /* EBT_CONFIG_H */
