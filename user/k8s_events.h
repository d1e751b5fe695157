/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes events shipped to Loki, by exactly one replica.
 *
 * k8s_events_parse.c (pure): core/v1 Event JSON -> struct, watch lines and
 * EventList pages, the logfmt line of an event, RFC 3339 times, the
 * coordination.k8s.io/v1 Lease (parse, body, who holds it, expiry) and the
 * "is this event new" rule. Unit-tested and fuzzed.
 * k8s_events.c: the client. One thread LISTs then WATCHes /api/v1/events
 * (all namespaces, from the list's resourceVersion; 410 Gone: LIST again)
 * and remembers every event's count and last time; another keeps the
 * Lease. Only the Lease holder (or a single replica without election)
 * pushes lines, through the one Loki exporter.
 *
 * What is shipped, and when (there is no shared state but the Lease):
 *  - an event is new when its uid was not seen, or its count or last time
 *    (the latest of series.lastObservedTime, lastTimestamp, eventTime,
 *    firstTimestamp, metadata.creationTimestamp) grew. Only new events
 *    are shipped: a relist after 410 Gone ships only what changed or
 *    appeared while the watch was down.
 *  - new events seen while not leading are kept as pending. On taking the
 *    Lease, the pending events whose last time is at or after the handover
 *    mark are shipped: the previous holder's last renewTime (it shipped
 *    what came before), or this instance's start when nobody held the
 *    Lease (and in single-replica mode). The mark is compared in whole
 *    seconds (lastTimestamp has no fraction): an event in the handover
 *    second may be shipped twice, none is lost. While following, pending
 *    events older than the holder's current renewTime are dropped.
 */
#ifndef EBT_K8S_EVENTS_H
#define EBT_K8S_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

#define KEV_JOB "integrations/kubernetes/eventhandler"
#define KEV_MSG_MAX 8192      /* message bytes kept (longer: cut) */
#define KEV_LINE_MAX 12288    /* one logfmt line */
#define KEV_MAX_KNOWN 65536   /* events remembered (count, last time) */
#define KEV_DEFAULT_LEASE "ebpftrace-events"

/* ---- events (pure) ------------------------------------------------------- */

struct ebt_kevent {
	char uid[K8S_UID_MAX + 1];
	char rv[K8S_RV_MAX + 1];   /* the event's resourceVersion */
	char *ns, *name;           /* the event object's */
	char *kind, *obj_name, *obj_ns, *obj_api, *obj_rv; /* involvedObject */
	char *type, *reason, *message, *action;
	char *source_component, *source_host;
	char *reporting_controller, *reporting_instance;
	uint64_t count;            /* series.count or count; 1 when absent */
	uint64_t last_ns;          /* unix ns, 0 when it has no time */
};

void ebt_kevent_free(struct ebt_kevent *e);
/* The namespace of the stream: the involved object's, else the event's. */
const char *ebt_kevent_namespace(const struct ebt_kevent *e);

struct ebt_kevent_watch {
	enum ebt_k8s_event_type type;
	struct ebt_kevent *ev;     /* ADDED/MODIFIED/DELETED; caller frees */
	char rv[K8S_RV_MAX + 1];   /* object's resourceVersion (BOOKMARK too) */
	int code;                  /* ERROR: the Status code (410) */
	char message[256];
};

/* One line of an events watch. 0, or -1 with err set. */
int ebt_kevent_watch_parse(const char *line, size_t len,
			   struct ebt_kevent_watch *w, char *err,
			   size_t errlen);
/* An EventList page: fn takes each event. 0, or -1 with err set. */
int ebt_kevent_list_parse(const char *json, size_t len,
			  void (*fn)(void *ctx, struct ebt_kevent *e),
			  void *ctx, struct ebt_k8s_list *out, char *err,
			  size_t errlen);
/*
 * The log line: logfmt with the field names of Grafana Alloy's
 * loki.source.kubernetes_events (empty fields left out):
 *   type=Warning reason=BackOff kind=Pod name=web-0 objectAPIversion=v1
 *   count=3 sourcecomponent=kubelet sourcehost=node-a
 *   reportingcontroller=.. reportinginstance=.. action=.. objectRV=..
 *   eventRV=.. msg="Back-off restarting failed container"
 * Returns its length (always < bufsz, cut at a field when it is full).
 */
size_t ebt_kevent_line(const struct ebt_kevent *e, char *buf, size_t bufsz);

/* Is ev new against what was seen of its uid (seen false: never)? */
bool ebt_kevent_is_new(bool seen, uint64_t seen_count, uint64_t seen_last_ns,
		       const struct ebt_kevent *ev);
/* Is an event at last_ns at or after the handover mark (whole seconds)? */
bool ebt_kevent_after_mark(uint64_t last_ns, uint64_t mark_ns);

/* RFC 3339 (2024-05-01T10:00:00Z, fraction and offset optional) -> unix
 * ns. 0, or -1 when it is not such a time. */
int ebt_k8s_time_parse(const char *s, uint64_t *ns);
/* unix ns -> MicroTime "2024-05-01T10:00:00.123456Z" (buf >= 28). */
void ebt_k8s_time_format(uint64_t ns, char *buf, size_t bufsz);

/* ---- the Lease (pure) ---------------------------------------------------- */

struct ebt_lease {
	char holder[K8S_NAME_MAX + 1]; /* "" when released or unset */
	char rv[K8S_RV_MAX + 1];
	uint64_t acquire_ns, renew_ns;
	uint32_t duration_s;
	uint32_t transitions;
};

/* A Lease object. 0, or -1 with err set. */
int ebt_lease_parse(const char *json, size_t len, struct ebt_lease *out,
		    char *err, size_t errlen);
/* The body of a POST (rv "") or PUT (rv set) of that Lease; malloc'd. */
char *ebt_lease_json(const char *ns, const char *name,
		     const struct ebt_lease *l);

/* When a Lease held by someone else was last seen to change (its
 * holder, renewTime or resourceVersion), on this host's monotonic clock:
 * expiry is judged by that, not by the holder's clock. */
struct ebt_lease_watch {
	char holder[K8S_NAME_MAX + 1];
	char rv[K8S_RV_MAX + 1];
	uint64_t renew_ns;
	uint64_t changed_mono_ns;
};

enum ebt_lease_action {
	LEASE_RENEW = 0, /* mine: PUT a fresh renewTime */
	LEASE_TAKE,      /* free or expired: PUT with me as holder */
	LEASE_WAIT,      /* someone else holds it and renews it */
};

/* What to do with the Lease l (just read) at now_mono_ns; updates w. */
enum ebt_lease_action ebt_lease_decide(struct ebt_lease_watch *w,
				       const struct ebt_lease *l,
				       const char *me, uint64_t now_mono_ns);

/* ---- the client (k8s_events.c) ------------------------------------------- */

struct loki_exporter;
struct loki_labels;

/* Stream labels of an event: job, kubernetes_cluster_events (= job, as
 * the seed's Alloy stage.labels adds), namespace, kind, name, cluster
 * (when set). 0, or -1 out of memory. */
int ebt_kevent_labels(const struct ebt_kevent *e, const char *cluster,
		      struct loki_labels *ls);

struct ebt_kevents_config {
	bool leader_election;   /* false: this replica always ships */
	const char *lease_ns;
	const char *lease_name;
	const char *identity;   /* holderIdentity: pod name or node name */
	const char *cluster;    /* label; NULL: none */
	uint64_t timeout_ms;    /* connect and one non-watch request */
	uint64_t watch_s;
	uint64_t backoff_min_ms, backoff_max_ms;
	uint64_t token_reread_ms;
	uint32_t lease_s;       /* leaseDurationSeconds (15) */
	uint64_t renew_ms;      /* renew period of the holder (5000) */
	uint64_t retry_ms;      /* candidates read the Lease this often */
};

struct ebt_kevents_stats {
	uint64_t shipped;       /* lines handed to the Loki exporter */
	uint64_t not_queued;    /* refused by the exporter (queue full) */
	uint64_t lists, relists, watches, errors;
	uint64_t leader_changes; /* times this replica took the Lease */
	bool leader;            /* ships now */
	size_t known;           /* events remembered */
};

struct ebt_kevents;

/* Starts both threads with settings cc (taken over) pushing through loki
 * (borrowed: stop this first). NULL: out of memory. */
struct ebt_kevents *ebt_kevents_start(const struct ebt_kevents_config *cfg,
				      struct ebt_k8s_conn_cfg *cc,
				      struct loki_exporter *loki);
/* Stops the threads; a holder releases the Lease so that another replica
 * takes over at once. */
void ebt_kevents_stop(struct ebt_kevents *k);
void ebt_kevents_get_stats(struct ebt_kevents *k,
			   struct ebt_kevents_stats *s);

#endif /* EBT_K8S_EVENTS_H */
