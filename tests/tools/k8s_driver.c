/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the Kubernetes API client (tests/k8s): runs the client
 * against a kubeconfig and prints, as one JSON line, the published pods
 * and the client's counters each time they change, until stdin closes.
 *
 *   k8s_driver KUBECONFIG NODE [BACKOFF_MAX_MS] [WATCH_S]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "k8s.h"
#include "log.h"

static cJSON *kv_object(const struct ebt_kv *kv, unsigned n)
{
	cJSON *o = cJSON_CreateObject();

	for (unsigned i = 0; i < n; i++)
		cJSON_AddStringToObject(o, kv[i].key, kv[i].value);
	return o;
}

static void add_pod(void *ctx, const struct ebt_k8s_pod *p)
{
	cJSON *o = cJSON_CreateObject(), *w = cJSON_CreateObject();
	const char *top = ebt_k8s_pod_workload(p);

	cJSON_AddStringToObject(o, "uid", p->uid);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "namespace", p->ns);
	cJSON_AddStringToObject(o, "node", p->node);
	cJSON_AddStringToObject(o, "ip", p->ip);
	cJSON_AddItemToObject(o, "labels", kv_object(p->labels, p->n_labels));
	cJSON_AddItemToObject(o, "annotations",
			      kv_object(p->annotations, p->n_annotations));
	for (int k = 0; k < K8S_KIND__COUNT; k++)
		if (p->workload[k])
			cJSON_AddStringToObject(w, ebt_k8s_kind_attr(k),
						p->workload[k]);
	cJSON_AddItemToObject(o, "workload", w);
	if (top)
		cJSON_AddStringToObject(o, "owner", top);
	cJSON_AddItemToArray(ctx, o);
}

static void print_state(struct ebt_k8s *k)
{
	struct ebt_k8s_stats st;
	cJSON *o = cJSON_CreateObject(), *pods = cJSON_CreateArray();
	char *s;

	ebt_k8s_get_stats(k, &st);
	ebt_k8s_foreach(k, add_pod, pods);
	cJSON_AddNumberToObject(o, "version", (double)ebt_k8s_version(k));
	cJSON_AddBoolToObject(o, "synced", ebt_k8s_synced(k));
	cJSON_AddNumberToObject(o, "lists", (double)st.lists);
	cJSON_AddNumberToObject(o, "watches", (double)st.watches);
	cJSON_AddNumberToObject(o, "events", (double)st.events);
	cJSON_AddNumberToObject(o, "resyncs_gone", (double)st.resyncs_gone);
	cJSON_AddNumberToObject(o, "errors", (double)st.errors);
	cJSON_AddNumberToObject(o, "owner_gets", (double)st.owner_gets);
	cJSON_AddItemToObject(o, "pods", pods);
	s = cJSON_PrintUnformatted(o);
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(o);
}

/* A fingerprint of what print_state shows, to print only changes. */
static uint64_t fingerprint(struct ebt_k8s *k)
{
	struct ebt_k8s_stats st;

	ebt_k8s_get_stats(k, &st);
	return ebt_k8s_version(k) * 1000003u + st.lists * 10007u +
	       st.watches * 101u + st.errors * 7u + st.resyncs_gone +
	       (ebt_k8s_synced(k) ? 1u << 20 : 0);
}

int main(int argc, char **argv)
{
	struct ebt_k8s_config cfg = {
		.timeout_ms = 3000, .watch_s = 300, .backoff_min_ms = 200,
		.backoff_max_ms = 2000, .token_reread_ms = 1000,
	};
	struct ebt_k8s_conn_cfg cc;
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	struct ebt_k8s *k;
	uint64_t last = 0;
	char err[512] = "";

	if (argc < 3) {
		fprintf(stderr, "usage: %s KUBECONFIG NODE [BACKOFF_MAX_MS] "
			"[WATCH_S]\n", argv[0]);
		return 2;
	}
	if (argc > 3)
		cfg.backoff_max_ms = strtoull(argv[3], NULL, 10);
	if (argc > 4)
		cfg.watch_s = strtoull(argv[4], NULL, 10);
	ebt_log_set_level(EBT_LOG_DEBUG);
	if (ebt_kubeconfig_load(argv[1], &cc, err, sizeof(err)) != 0) {
		fprintf(stderr, "k8s_driver: %s\n", err);
		return 1;
	}
	cfg.node = argv[2];
	k = ebt_k8s_start(&cfg, &cc);
	if (!k)
		return 1;
	for (;;) {
		uint64_t f = fingerprint(k);
		char buf[256];

		if (f != last) {
			print_state(k);
			last = f;
		}
		if (poll(&pfd, 1, 100) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	ebt_k8s_stop(k);
	return 0;
}
