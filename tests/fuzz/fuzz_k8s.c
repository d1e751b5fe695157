/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Kubernetes API parsers (user/k8s_parse.c,
 * user/k8s_config.c).
 *
 * Input: bytes of a watch stream (JSON lines), fed to the line splitter
 * in two chunks split at the first byte's value; every line goes through
 * the watch event and Pod parsers, and the whole input through the
 * PodList, Status, ownerReference and kubeconfig parsers. Checks: parsed
 * pods have uid, name and namespace within the limits, bounded label
 * counts, an owner chain whose top is a kind it set, and no line longer
 * than the splitter's bound reaches a parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "fuzz_check.h"

#define LINE_MAX_FUZZ 4096

static void check_pod(struct ebt_k8s_pod *p)
{
	CHECK(p->uid && p->uid[0] && strlen(p->uid) <= K8S_UID_MAX);
	CHECK(p->name && p->name[0] && strlen(p->name) <= K8S_NAME_MAX);
	CHECK(p->ns && strlen(p->ns) <= K8S_NAME_MAX);
	CHECK(p->ip && p->node);
	CHECK(p->n_labels <= K8S_MAX_KV && p->n_annotations <= K8S_MAX_KV);
	for (unsigned i = 0; i < p->n_labels; i++)
		CHECK(strlen(p->labels[i].value) <= K8S_VALUE_MAX);
	CHECK(ebt_k8s_owner_apply(p, "Deployment", "d") == 0);
	CHECK(p->top == -1 || p->workload[p->top] != NULL);
	CHECK((p->top == -1) == (p->ctrl_kind == NULL || p->ctrl_name == NULL
				 || ebt_k8s_pod_workload(p) == NULL));
	ebt_k8s_pod_label(p, "app.kubernetes.io/name");
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct ebt_k8s_event ev;
	struct ebt_k8s_pod *p;
	char err[128];

	(void)ctx;
	CHECK(len > 0 && len <= LINE_MAX_FUZZ && !memchr(line, '\n', len));
	if (ebt_k8s_watch_line_parse(line, len, &ev, err, sizeof(err)) == 0) {
		CHECK(ev.type <= K8S_EV_ERROR);
		CHECK(strlen(ev.rv) <= K8S_RV_MAX);
		CHECK((ev.pod != NULL) == (ev.type <= K8S_EV_DELETED));
		if (ev.pod)
			check_pod(ev.pod);
		ebt_k8s_pod_unref(ev.pod);
	} else {
		CHECK(ev.pod == NULL && err[0]);
	}
	p = ebt_k8s_pod_parse(line, len, err, sizeof(err));
	if (p)
		check_pod(p);
	ebt_k8s_pod_unref(p);
	return 0;
}

static void listed(void *ctx, struct ebt_k8s_pod *p)
{
	(void)ctx;
	check_pod(p);
	ebt_k8s_pod_unref(p);
}

static void whole(const char *s, size_t n)
{
	struct ebt_k8s_list meta;
	struct ebt_k8s_conn_cfg cc;
	char kind[64], name[254], msg[128], err[256];
	int code;

	if (ebt_k8s_list_parse(s, n, listed, NULL, &meta, err,
			       sizeof(err)) == 0) {
		CHECK(strlen(meta.rv) <= K8S_RV_MAX);
		free(meta.cont);
	}
	ebt_k8s_status_parse(s, n, &code, msg, sizeof(msg));
	if (ebt_k8s_controller_parse(s, n, kind, sizeof(kind), name,
				     sizeof(name)) == 1)
		CHECK(kind[0] && name[0]);
	if (ebt_kubeconfig_parse(s, n, "/d", &cc, err, sizeof(err)) == 0) {
		CHECK(cc.server && cc.server[0]);
		CHECK(!cc.ca_file || cc.ca_file[0] == '/');
		ebt_k8s_conn_cfg_free(&cc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t cut = size ? data[0] % (size + 1) : 0;
	struct ebt_k8s_lines l;

	ebt_k8s_lines_init(&l, LINE_MAX_FUZZ);
	ebt_k8s_lines_feed(&l, s, cut, on_line, NULL);
	ebt_k8s_lines_feed(&l, s + cut, size - cut, on_line, NULL);
	ebt_k8s_lines_free(&l);
	whole(s, size);
	return 0;
}
