/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes API client, pure parts: Pod / PodList / watch events /
 * Status JSON, the owner chain, the watch line splitter, the retry delay,
 * kubeconfig and in-cluster settings. The JSON below follows the shapes
 * of the core/v1 Pod, apps/v1 ReplicaSet and meta/v1 WatchEvent and
 * Status types (written for these tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "k8s.h"
#include "resource.h"

#define UID1 "6f1c2b8e-2f49-4a57-9d52-3c1f0a9e7b11"

static const char POD[] =
	"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
	"\"name\":\"web-5d8f7b9c4-x2x9q\",\"namespace\":\"shop\","
	"\"uid\":\"" UID1 "\",\"resourceVersion\":\"1234\","
	"\"labels\":{\"app.kubernetes.io/name\":\"web\","
	"\"pod-template-hash\":\"5d8f7b9c4\"},"
	"\"annotations\":{\"resource.opentelemetry.io/service.name\":"
	"\"checkout\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\","
	"\"name\":\"n1\",\"uid\":\"u0\"},{\"apiVersion\":\"apps/v1\","
	"\"kind\":\"ReplicaSet\",\"name\":\"web-5d8f7b9c4\",\"uid\":\"u1\","
	"\"controller\":true,\"blockOwnerDeletion\":true}]},"
	"\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"web\","
	"\"image\":\"web:1\"}]},"
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.2.3\"}}";

static void test_pod_parse(void **state)
{
	char err[128];
	struct ebt_k8s_pod *p = ebt_k8s_pod_parse(POD, strlen(POD), err,
						  sizeof(err));

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->uid, UID1);
	assert_string_equal(p->name, "web-5d8f7b9c4-x2x9q");
	assert_string_equal(p->ns, "shop");
	assert_string_equal(p->node, "node-a");
	assert_string_equal(p->ip, "10.1.2.3");
	assert_string_equal(p->rv, "1234");
	assert_string_equal(p->ctrl_kind, "ReplicaSet"); /* not the Node */
	assert_string_equal(p->ctrl_name, "web-5d8f7b9c4");
	assert_int_equal(p->n_labels, 2);
	assert_string_equal(ebt_k8s_pod_label(p, "app.kubernetes.io/name"),
			    "web");
	assert_null(ebt_k8s_pod_label(p, "missing"));
	assert_string_equal(ebt_k8s_pod_annotation(
				    p, "resource.opentelemetry.io/service.name"),
			    "checkout");
	assert_null(ebt_k8s_pod_workload(p)); /* not resolved yet */
	ebt_k8s_pod_unref(p);
}

static void test_pod_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "nope", "[]", "{}", "{\"metadata\":{}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"}}",
		"{\"metadata\":{\"uid\":\"u\",\"namespace\":\"b\"}}",
		"{\"metadata\":{\"uid\":3,\"name\":\"a\",\"namespace\":\"b\"}}",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(ebt_k8s_pod_parse(bad[i], strlen(bad[i]), err,
					      sizeof(err)));
		assert_true(err[0] != '\0');
	}
}

/* A pending pod (no IP, no node), long values and too many labels. */
static void test_pod_limits(void **state)
{
	size_t cap = 200000, n = 0;
	char *j = malloc(cap), err[128];
	struct ebt_k8s_pod *p;

	(void)state;
	n += (size_t)snprintf(j + n, cap - n, "{\"metadata\":{\"uid\":\"u\","
			      "\"name\":\"a\",\"namespace\":\"b\",\"labels\":{"
			      "\"long\":\"");
	memset(j + n, 'x', K8S_VALUE_MAX + 1);
	n += K8S_VALUE_MAX + 1;
	n += (size_t)snprintf(j + n, cap - n, "\"");
	for (int i = 0; i < K8S_MAX_KV + 10; i++)
		n += (size_t)snprintf(j + n, cap - n, ",\"k%d\":\"v\"", i);
	snprintf(j + n, cap - n, "}},\"status\":{\"phase\":\"Pending\"}}");
	p = ebt_k8s_pod_parse(j, strlen(j), err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(p->ip, "");
	assert_string_equal(p->node, "");
	assert_int_equal(p->n_labels, K8S_MAX_KV);
	assert_null(ebt_k8s_pod_label(p, "long"));
	assert_null(p->ctrl_kind);
	ebt_k8s_pod_unref(p);
	free(j);
}

static void test_watch_lines(void **state)
{
	char line[4096], err[128];
	struct ebt_k8s_event ev;

	(void)state;
	snprintf(line, sizeof(line), "{\"type\":\"MODIFIED\",\"object\":%s}",
		 POD);
	assert_int_equal(ebt_k8s_watch_line_parse(line, strlen(line), &ev, err,
						  sizeof(err)), 0);
	assert_int_equal(ev.type, K8S_EV_MODIFIED);
	assert_string_equal(ev.rv, "1234");
	assert_string_equal(ev.pod->name, "web-5d8f7b9c4-x2x9q");
	ebt_k8s_pod_unref(ev.pod);

	snprintf(line, sizeof(line), "{\"type\":\"DELETED\",\"object\":%s}",
		 POD);
	assert_int_equal(ebt_k8s_watch_line_parse(line, strlen(line), &ev, err,
						  sizeof(err)), 0);
	assert_int_equal(ev.type, K8S_EV_DELETED);
	ebt_k8s_pod_unref(ev.pod);

	snprintf(line, sizeof(line), "{\"type\":\"BOOKMARK\",\"object\":{"
		 "\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
		 "\"resourceVersion\":\"9999\",\"annotations\":{"
		 "\"k8s.io/initial-events-end\":\"true\"}}}}");
	assert_int_equal(ebt_k8s_watch_line_parse(line, strlen(line), &ev, err,
						  sizeof(err)), 0);
	assert_int_equal(ev.type, K8S_EV_BOOKMARK);
	assert_string_equal(ev.rv, "9999");
	assert_null(ev.pod);
}

static void test_watch_error_gone(void **state)
{
	static const char gone[] =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		"\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"too old resource version: 5 (1234)\","
		"\"reason\":\"Expired\",\"code\":410}}";
	static const char *const bad[] = {
		"{", "{\"type\":\"ADDED\"}", "{\"type\":\"SOMETHING\","
		"\"object\":{}}", "{\"type\":\"ADDED\",\"object\":{}}",
		"{\"type\":\"BOOKMARK\",\"object\":{}}", "null", "\"ADDED\"",
	};
	struct ebt_k8s_event ev;
	char err[128];

	(void)state;
	assert_int_equal(ebt_k8s_watch_line_parse(gone, strlen(gone), &ev, err,
						  sizeof(err)), 0);
	assert_int_equal(ev.type, K8S_EV_ERROR);
	assert_int_equal(ev.code, 410);
	assert_string_equal(ev.message, "too old resource version: 5 (1234)");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ebt_k8s_watch_line_parse(bad[i],
							  strlen(bad[i]), &ev,
							  err, sizeof(err)),
				 -1);
		assert_null(ev.pod);
	}
}

struct collected {
	struct ebt_k8s_pod *p[8];
	int n;
};

static void collect(void *ctx, struct ebt_k8s_pod *p)
{
	struct collected *c = ctx;

	if (c->n < 8)
		c->p[c->n++] = p;
	else
		ebt_k8s_pod_unref(p);
}

static void test_list(void **state)
{
	char json[8192], err[128];
	struct ebt_k8s_list meta;
	struct collected c = {0};

	(void)state;
	snprintf(json, sizeof(json), "{\"kind\":\"PodList\",\"apiVersion\":"
		 "\"v1\",\"metadata\":{\"resourceVersion\":\"777\","
		 "\"continue\":\"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ\"},"
		 "\"items\":[%s,{\"metadata\":{\"name\":\"x\"}}]}", POD);
	assert_int_equal(ebt_k8s_list_parse(json, strlen(json), collect, &c,
					    &meta, err, sizeof(err)), 0);
	assert_string_equal(meta.rv, "777");
	assert_string_equal(meta.cont, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
	assert_int_equal(meta.items, 1);
	assert_int_equal(meta.bad_items, 1);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.p[0]->uid, UID1);
	ebt_k8s_pod_unref(c.p[0]);
	free(meta.cont);

	/* an empty list: items null, no continue */
	snprintf(json, sizeof(json), "{\"kind\":\"PodList\",\"metadata\":{"
		 "\"resourceVersion\":\"5\"},\"items\":null}");
	assert_int_equal(ebt_k8s_list_parse(json, strlen(json), collect, &c,
					    &meta, err, sizeof(err)), 0);
	assert_null(meta.cont);
	assert_int_equal(meta.items, 0);
	snprintf(json, sizeof(json), "{\"kind\":\"PodList\",\"items\":[]}");
	assert_int_equal(ebt_k8s_list_parse(json, strlen(json), collect, &c,
					    &meta, err, sizeof(err)), -1);
}

static void test_status(void **state)
{
	static const char st[] =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"pods is forbidden: User "
		"\\\"system:anonymous\\\" cannot list resource \\\"pods\\\"\","
		"\"reason\":\"Forbidden\",\"code\":403}";
	char msg[128];
	int code = 0;

	(void)state;
	assert_int_equal(ebt_k8s_status_parse(st, strlen(st), &code, msg,
					      sizeof(msg)), 0);
	assert_int_equal(code, 403);
	assert_non_null(strstr(msg, "cannot list resource \"pods\""));
	assert_int_equal(ebt_k8s_status_parse(POD, strlen(POD), &code, msg,
					      sizeof(msg)), -1);
	assert_int_equal(ebt_k8s_status_parse("x", 1, &code, msg,
					      sizeof(msg)), -1);
}

static void test_controller_parse(void **state)
{
	static const char rs[] =
		"{\"kind\":\"ReplicaSet\",\"apiVersion\":\"apps/v1\","
		"\"metadata\":{\"name\":\"web-5d8f7b9c4\",\"namespace\":\"shop\","
		"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
		"\"Deployment\",\"name\":\"web\",\"uid\":\"d1\",\"controller\":"
		"true}]},\"spec\":{\"replicas\":1}}";
	static const char bare[] =
		"{\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"r\"}}";
	char kind[64], name[254];

	(void)state;
	assert_int_equal(ebt_k8s_controller_parse(rs, strlen(rs), kind,
						  sizeof(kind), name,
						  sizeof(name)), 1);
	assert_string_equal(kind, "Deployment");
	assert_string_equal(name, "web");
	assert_int_equal(ebt_k8s_controller_parse(bare, strlen(bare), kind,
						  sizeof(kind), name,
						  sizeof(name)), 0);
	assert_int_equal(ebt_k8s_controller_parse("{", 1, kind, sizeof(kind),
						  name, sizeof(name)), -1);
	/* names longer than the buffers are not taken */
	assert_int_equal(ebt_k8s_controller_parse(rs, strlen(rs), kind,
						  sizeof(kind), name, 3), 0);
}

/* A pod with controller kind/name, resolved with a parent. */
static struct ebt_k8s_pod *owned(const char *kind, const char *name,
				 const char *pk, const char *pn)
{
	struct ebt_k8s_pod *p = calloc(1, sizeof(*p));

	atomic_init(&p->refs, 1);
	p->top = -1;
	p->ctrl_kind = kind ? strdup(kind) : NULL;
	p->ctrl_name = name ? strdup(name) : NULL;
	assert_int_equal(ebt_k8s_owner_apply(p, pk, pn), 0);
	return p;
}

static void check_owner(const char *kind, const char *name, const char *pk,
			const char *pn, int want_kind, const char *want_top,
			int also, const char *also_name)
{
	struct ebt_k8s_pod *p = owned(kind, name, pk, pn);
	int set = 0;

	if (want_top)
		assert_string_equal(ebt_k8s_pod_workload(p), want_top);
	else
		assert_null(ebt_k8s_pod_workload(p));
	assert_int_equal(p->top, want_kind);
	for (int k = 0; k < K8S_KIND__COUNT; k++)
		set += p->workload[k] != NULL;
	assert_int_equal(set, (want_kind >= 0) + (also >= 0));
	if (also >= 0)
		assert_string_equal(p->workload[also], also_name);
	/* applying again (a MODIFIED pod) replaces, not adds */
	assert_int_equal(ebt_k8s_owner_apply(p, NULL, NULL), 0);
	ebt_k8s_pod_unref(p);
}

static void test_owner_chain(void **state)
{
	(void)state;
	check_owner("ReplicaSet", "web-5d8f", "Deployment", "web",
		    K8S_DEPLOYMENT, "web", K8S_REPLICASET, "web-5d8f");
	check_owner("ReplicaSet", "bare-rs", NULL, NULL, K8S_REPLICASET,
		    "bare-rs", -1, NULL);
	/* a ReplicaSet owned by something else (an Argo Rollout) */
	check_owner("ReplicaSet", "ro-1", "Rollout", "ro", K8S_REPLICASET,
		    "ro-1", -1, NULL);
	check_owner("StatefulSet", "db", NULL, NULL, K8S_STATEFULSET, "db",
		    -1, NULL);
	check_owner("DaemonSet", "agent", NULL, NULL, K8S_DAEMONSET, "agent",
		    -1, NULL);
	check_owner("Job", "backup-2901", "CronJob", "backup", K8S_CRONJOB,
		    "backup", K8S_JOB, "backup-2901");
	check_owner("Job", "once", NULL, NULL, K8S_JOB, "once", -1, NULL);
	/* a Job's Deployment parent is not a chain Kubernetes builds */
	check_owner("Job", "j", "Deployment", "d", K8S_JOB, "j", -1, NULL);
	check_owner("Node", "node-a", NULL, NULL, -1, NULL, -1, NULL);
	check_owner(NULL, NULL, NULL, NULL, -1, NULL, -1, NULL);
}

static void test_owner_fetch(void **state)
{
	char path[128];

	(void)state;
	assert_int_equal(ebt_k8s_owner_fetch("ReplicaSet"),
			 K8S_FETCH_REPLICASET);
	assert_int_equal(ebt_k8s_owner_fetch("Job"), K8S_FETCH_JOB);
	assert_int_equal(ebt_k8s_owner_fetch("StatefulSet"), K8S_FETCH_NONE);
	assert_int_equal(ebt_k8s_owner_fetch(NULL), K8S_FETCH_NONE);
	assert_int_equal(ebt_k8s_owner_path(K8S_FETCH_REPLICASET, "shop",
					    "web-5d8f", path, sizeof(path)), 0);
	assert_string_equal(path,
			    "apis/apps/v1/namespaces/shop/replicasets/web-5d8f");
	assert_int_equal(ebt_k8s_owner_path(K8S_FETCH_JOB, "ops", "b-1", path,
					    sizeof(path)), 0);
	assert_string_equal(path, "apis/batch/v1/namespaces/ops/jobs/b-1");
	assert_int_equal(ebt_k8s_owner_path(K8S_FETCH_NONE, "a", "b", path,
					    sizeof(path)), -1);
	assert_int_equal(ebt_k8s_owner_path(K8S_FETCH_JOB, "a", "b", path, 10),
			 -1);
	assert_string_equal(ebt_k8s_kind_attr(K8S_DEPLOYMENT),
			    "k8s.deployment.name");
	assert_string_equal(ebt_k8s_kind_attr(K8S_CRONJOB),
			    "k8s.cronjob.name");
}

struct seen {
	char lines[8][64];
	int n;
	int stop_at;
};

static int on_line(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;

	snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void test_lines(void **state)
{
	static const char stream[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":";
	struct ebt_k8s_lines l;
	struct seen s = {0};

	(void)state;
	ebt_k8s_lines_init(&l, 64);
	/* byte by byte: chunk boundaries anywhere */
	for (size_t i = 0; i < sizeof(stream) - 1; i++)
		assert_int_equal(ebt_k8s_lines_feed(&l, stream + i, 1, on_line,
						    &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[0], "{\"a\":1}");
	assert_string_equal(s.lines[1], "{\"b\":2}\r"); /* JSON allows \r */
	assert_int_equal(ebt_k8s_lines_feed(&l, "3}\n", 3, on_line, &s), 0);
	assert_string_equal(s.lines[2], "{\"c\":3}");
	ebt_k8s_lines_free(&l);
}

static void test_lines_overflow_and_stop(void **state)
{
	char big[200];
	struct ebt_k8s_lines l;
	struct seen s = { .stop_at = 2 };

	(void)state;
	memset(big, 'x', sizeof(big));
	ebt_k8s_lines_init(&l, 64);
	assert_int_equal(ebt_k8s_lines_feed(&l, big, sizeof(big), on_line, &s),
			 0);
	assert_int_equal(ebt_k8s_lines_feed(&l, "y\nok\nz\nw\n", 9, on_line,
					    &s), 7);
	assert_int_equal(l.dropped, 1);
	assert_int_equal(s.n, 2); /* the long line is dropped, not cut */
	assert_string_equal(s.lines[0], "ok");
	assert_string_equal(s.lines[1], "z");
	ebt_k8s_lines_free(&l);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(ebt_k8s_backoff(1, 1000, 60000, 0.0), 500);
	assert_int_equal(ebt_k8s_backoff(1, 1000, 60000, 0.999), 999);
	assert_int_equal(ebt_k8s_backoff(3, 1000, 60000, 0.0), 2000);
	assert_int_equal(ebt_k8s_backoff(30, 1000, 60000, 0.0), 30000);
	assert_true(ebt_k8s_backoff(1000, 1000, 60000, 0.99) < 60000);
}

static void test_base64(void **state)
{
	char *out;
	size_t n;

	(void)state;
	assert_int_equal(ebt_base64_decode("aGVsbG8=", 8, &out, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_int_equal(ebt_base64_decode("aGVs\nbG8h", 9, &out, &n), 0);
	assert_string_equal(out, "hello!");
	free(out);
	assert_int_equal(ebt_base64_decode("", 0, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(ebt_base64_decode("a$b=", 4, &out, &n), -1);
	assert_int_equal(ebt_base64_decode("aG=Vs", 5, &out, &n), -1);
	assert_int_equal(ebt_base64_decode("a", 1, &out, &n), -1);
}

/* LS0tLS1CRUdJTg== is base64 of "-----BEGIN" */
static const char KUBECONFIG[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: other\n"
	"  cluster:\n"
	"    server: https://other:6443\n"
	"- name: kind\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443\n"
	"    certificate-authority-data: LS0tLS1CRUdJTg==\n"
	"contexts:\n"
	"- name: ctx\n"
	"  context:\n"
	"    cluster: kind\n"
	"    user: admin\n"
	"    namespace: default\n"
	"current-context: ctx\n"
	"users:\n"
	"- name: admin\n"
	"  user:\n"
	"    client-certificate: certs/admin.crt\n"
	"    client-key-data: LS0tLS1CRUdJTg==\n"
	"    token: abc.def\n";

static void test_kubeconfig(void **state)
{
	struct ebt_k8s_conn_cfg c;
	char err[256];

	(void)state;
	assert_int_equal(ebt_kubeconfig_parse(KUBECONFIG, strlen(KUBECONFIG),
					      "/home/u/.kube", &c, err,
					      sizeof(err)), 0);
	assert_string_equal(c.server, "https://127.0.0.1:6443");
	assert_int_equal(c.ca_len, 10);
	assert_memory_equal(c.ca_data, "-----BEGIN", 10);
	assert_null(c.ca_file);
	assert_string_equal(c.cert_file, "/home/u/.kube/certs/admin.crt");
	assert_memory_equal(c.key_data, "-----BEGIN", 10);
	assert_string_equal(c.token, "abc.def");
	assert_false(c.insecure);
	ebt_k8s_conn_cfg_free(&c);
}

static void test_kubeconfig_errors(void **state)
{
	static const char *const bad[] = {
		"", "- a\n- b\n", "current-context: x\ncontexts: []\n",
		"current-context: c\ncontexts:\n- name: c\n  context:\n"
		"    cluster: nope\n",
		"current-context: c\ncontexts:\n- name: c\n  context:\n"
		"    cluster: k\nclusters:\n- name: k\n  cluster: {}\n",
		"current-context: c\ncontexts:\n- name: c\n  context:\n"
		"    cluster: k\nclusters:\n- name: k\n  cluster:\n"
		"    server: https://a\n    certificate-authority-data: '!!'\n",
		"a: [\n",
	};
	static const char plugin[] =
		"current-context: c\ncontexts:\n- name: c\n  context:\n"
		"    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n"
		"    server: https://a\n    insecure-skip-tls-verify: true\n"
		"    certificate-authority: /etc/ca.crt\n"
		"users:\n- name: u\n  user:\n    exec:\n      command: aws\n";
	struct ebt_k8s_conn_cfg c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ebt_kubeconfig_parse(bad[i], strlen(bad[i]),
						      NULL, &c, err,
						      sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_null(c.server);
	}
	/* works, with a warning about the plugin */
	assert_int_equal(ebt_kubeconfig_parse(plugin, strlen(plugin), NULL,
					      &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "exec"));
	assert_true(c.insecure);
	assert_string_equal(c.ca_file, "/etc/ca.crt");
	assert_null(c.token);
	ebt_k8s_conn_cfg_free(&c);
}

static void test_incluster(void **state)
{
	char dir[] = "/tmp/ebt-k8s-sa-XXXXXX", path[64], err[256];
	struct ebt_k8s_conn_cfg c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(ebt_k8s_incluster(dir, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(ebt_k8s_incluster(dir, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "token"));
	snprintf(path, sizeof(path), "%s/token", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tok\n", f);
	fclose(f);
	assert_int_equal(ebt_k8s_incluster(dir, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:6443");
	assert_string_equal(c.token_file, path);
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	ebt_k8s_conn_cfg_free(&c);
	unlink(path);
	rmdir(dir);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

/* The owner step sits between the labels and the pod name. */
static void test_service_owner_step(void **state)
{
	struct ebt_svc_candidates c = {{0}};
	const char *name;

	(void)state;
	c.by[EBT_SVC_OWNER] = "web";
	c.by[EBT_SVC_POD] = "web-5d8f7b9c4-x2x9q";
	c.by[EBT_SVC_CONTAINER] = "app";
	assert_int_equal(ebt_service_name_pick(&c, &name), EBT_SVC_OWNER);
	assert_string_equal(name, "web");
	c.by[EBT_SVC_LABEL_NAME] = "web-label";
	assert_int_equal(ebt_service_name_pick(&c, &name), EBT_SVC_LABEL_NAME);
	c.by[EBT_SVC_LABEL_NAME] = NULL;
	c.by[EBT_SVC_OWNER] = "";
	assert_int_equal(ebt_service_name_pick(&c, &name), EBT_SVC_POD);
}

/* A client whose server refuses: lookups answer at once, stop is quick. */
static void test_client_refused(void **state)
{
	struct ebt_k8s_config cfg = {
		.node = "n", .timeout_ms = 500, .watch_s = 5,
		.backoff_min_ms = 50, .backoff_max_ms = 200,
		.token_reread_ms = 1000,
	};
	struct ebt_k8s_conn_cfg cc = {0};
	struct ebt_k8s_stats st;
	struct ebt_k8s *k;

	(void)state;
	cc.server = strdup("http://127.0.0.1:1"); /* nothing listens */
	k = ebt_k8s_start(&cfg, &cc);
	assert_non_null(k);
	assert_null(cc.server); /* taken over */
	assert_null(ebt_k8s_lookup(k, UID1));
	usleep(300 * 1000);
	ebt_k8s_get_stats(k, &st);
	assert_true(st.errors >= 1);
	assert_false(ebt_k8s_synced(k));
	assert_int_equal(st.pods, 0);
	ebt_k8s_stop(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_parse),
		cmocka_unit_test(test_pod_parse_bad),
		cmocka_unit_test(test_pod_limits),
		cmocka_unit_test(test_watch_lines),
		cmocka_unit_test(test_watch_error_gone),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_controller_parse),
		cmocka_unit_test(test_owner_chain),
		cmocka_unit_test(test_owner_fetch),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_overflow_and_stop),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_incluster),
		cmocka_unit_test(test_service_owner_step),
		cmocka_unit_test(test_client_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
