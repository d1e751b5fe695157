/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrichment stage: process -> OpenTelemetry resource (service.name,
 * process.*, host.name, telemetry.sdk.*), cached per process.
 */
#ifndef EBT_RESOURCE_H
#define EBT_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct ebt_resources;
struct ebt_cri;
struct ebt_k8s;

/* extra: "k=v,..." added to every resource (the tracer's own config). */
struct ebt_resources *ebt_resources_new(const char *extra);
void ebt_resources_free(struct ebt_resources *rs);

/* Read no jar's routes (http.routes_from_jar false). */
void ebt_resources_no_routes(struct ebt_resources *rs);

/* How tgid's app maps requests, once ebt_resources_get has seen it. */
struct ebt_routes;
struct ebt_app_routes {
	const struct ebt_routes *routes; /* its jar's (jar_routes.h); NULL */
	const char *context_path; /* the routes' prefix ("/shop"; "") */
	unsigned web; /* its Spring Boot web stack: ebt_routes_fallback */
};

/* Fills out; false if the app declares no routes. */
bool ebt_resources_routes(struct ebt_resources *rs, uint32_t tgid,
			  struct ebt_app_routes *out);
/*
 * Pod metadata from a CRI client (not owned; NULL: none). node is
 * k8s.node.name; NULL: the NODE_NAME environment variable, else the host
 * name. A process in a container the client does not know yet is marked
 * pending; its resource is built again, with the pod's attributes, by
 * the first ebt_resources_get after the client's map version changed.
 */
void ebt_resources_set_cri(struct ebt_resources *rs, struct ebt_cri *cri,
			   const char *node);
/*
 * Pod metadata from the Kubernetes API server (not owned; NULL: none),
 * looked up by the pod uid of the process's cgroup: the owner workload
 * (k8s.deployment.name, ...), and the pod's name, namespace, labels and
 * annotations where CRI does not know the pod. node: k8s.node.name (NULL:
 * keep the one set_cri chose). Pending resources are rebuilt as with CRI.
 */
void ebt_resources_set_k8s(struct ebt_resources *rs, struct ebt_k8s *k8s,
			   const char *node);
/*
 * Borrowed reference, valid until the next ebt_resources_* call on rs
 * (take a reference to keep it: a pending resource may be replaced).
 */
struct ebt_resource *ebt_resources_get(struct ebt_resources *rs,
				       uint32_t tgid, const char *comm);
/* As ebt_resources_get for a child forked from parent; if the child is
 * already gone, its program is the parent's (a fork without exec). */
struct ebt_resource *ebt_resources_get_forked(struct ebt_resources *rs,
					      uint32_t child, uint32_t parent,
					      const char *comm);
/* For a child that exec'd the file exe (comm its process name): if it is
 * already gone, its program is named by them, its environment and cgroup
 * are its parent's (a shell's echo). */
struct ebt_resource *ebt_resources_get_execd(struct ebt_resources *rs,
					     uint32_t child, uint32_t parent,
					     const char *comm, const char *exe);
void ebt_resources_forget(struct ebt_resources *rs, uint32_t tgid);
/* child was forked from parent: should child be gone from /proc when its
 * resource is first wanted, it is its parent's program (until it execs,
 * or ebt_resources_forget). */
void ebt_resources_note_fork(struct ebt_resources *rs, uint32_t child,
			     uint32_t parent);
/* tgid exec'd: its program is no longer its parent's. */
void ebt_resources_note_exec(struct ebt_resources *rs, uint32_t tgid);
/* tgid exec'd the program comm (its process name), running the file exe
 * with the command line args (args_len bytes, NUL-separated, maybe cut):
 * what was built for it named the program before, and once it is gone
 * from /proc these name it, its environment and cgroup being those of the
 * process it was forked from (an inetd or CGI handler, a shell's echo). */
void ebt_resources_exec(struct ebt_resources *rs, uint32_t tgid,
			const char *comm, const char *exe, const char *args,
			size_t args_len);

/*
 * Service name a person would recognise from a command line: the jar or
 * main class for the JVM, the script for interpreters, else the executable.
 * argv is the NUL-separated /proc/<pid>/cmdline content.
 */
void ebt_service_name_from_cmdline(const char *cmdline, size_t len,
				   char *out, size_t outsz);

/*
 * A worker a parent started by exec'ing the interpreter on a stub rather
 * than on a program (Python multiprocessing "spawn": uvicorn --workers,
 * hypercorn): its command line names nothing; its parent's does.
 */
bool ebt_cmdline_is_spawned_worker(const char *cmdline, size_t len);

/*
 * Parse "k=v,k2=v2" (OTEL_RESOURCE_ATTRIBUTES, percent-encoded values),
 * calling fn for each pair. Returns pairs parsed, -1 on malformed input.
 */
int ebt_parse_kv_list(const char *s, void (*fn)(void *ctx, const char *k,
						const char *v), void *ctx);

/*
 * service.name sources, in precedence order (DESIGN.md): the process's
 * own configuration first, then the pod's, then names.
 */
enum ebt_svc_source {
	EBT_SVC_ENV = 0,        /* OTEL_SERVICE_NAME in the process env */
	EBT_SVC_ENV_ATTRS,      /* service.name in OTEL_RESOURCE_ATTRIBUTES */
	EBT_SVC_JVM_PROP,       /* java -Dotel.service.name= */
	EBT_SVC_ANNOTATION,     /* resource.opentelemetry.io/service.name */
	EBT_SVC_LABEL_INSTANCE, /* app.kubernetes.io/instance */
	EBT_SVC_LABEL_NAME,     /* app.kubernetes.io/name */
	EBT_SVC_OWNER,          /* workload (Deployment, ...): K8s API hook */
	EBT_SVC_POD,            /* pod name */
	EBT_SVC_CONTAINER,      /* container name */
	EBT_SVC_PROCESS,        /* from the command line, else comm */
	EBT_SVC__COUNT,
	EBT_SVC_NONE = EBT_SVC__COUNT,
};

/* One candidate per source; NULL or "" when that source has none. */
struct ebt_svc_candidates {
	const char *by[EBT_SVC__COUNT];
};

/* The first non-empty candidate in precedence order, into *out (NULL
 * and EBT_SVC_NONE when there is none). Pure. */
enum ebt_svc_source ebt_service_name_pick(const struct ebt_svc_candidates *c,
					  const char **out);
/* "env", "annotation", ...: for logs and tests. */
const char *ebt_svc_source_name(enum ebt_svc_source s);

#endif /* EBT_RESOURCE_H */
