/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote attach, pure parts (user/remote_pod.c): the tracer pod's name,
 * deadline and JSON from the options, the Secret that carries its secrets
 * and certificate files (and the owner patch), and reading Pod objects (node,
 * phase, the container's waiting/running/terminated state, conditions),
 * and the kubeconfig context it connects with (--context).
 * The Pod JSON below follows the core/v1 Pod type's shape (written for
 * these tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http.h"
#include "k8s.h"
#include "remote.h"
#include "sampler.h"

static struct ebt_remote_spec spec(void)
{
	struct ebt_remote_spec s = {
		.name = "ebpftrace-attach-web-a1b2c3", .ns = "shop",
		.node = "node-b", .session = "a1b2c3",
		.image = "registry.example/ebpftrace:0.1.0",
		.cri_socket = "/run/k3s/containerd/containerd.sock",
		.target = "web", .target_ns = "shop", .container = "app",
		.duration_ms = 90000, .max_duration_ms = 3600000,
		.format = "json",
	};

	return s;
}

static cJSON *at(cJSON *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); o && k;
	     k = strtok_r(NULL, ".", &save))
		o = (k[0] >= '0' && k[0] <= '9') ?
			    cJSON_GetArrayItem(o, atoi(k)) :
			    cJSON_GetObjectItemCaseSensitive(o, k);
	assert_non_null(o);
	return o;
}

static const char *str(cJSON *o, const char *path)
{
	cJSON *v = at(o, path);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static cJSON *build(const struct ebt_remote_spec *s)
{
	char *json = ebt_remote_pod_json(s);
	cJSON *pod;

	assert_non_null(json);
	pod = cJSON_Parse(json);
	free(json);
	assert_non_null(pod);
	return pod;
}

static void test_name(void **state)
{
	char out[REMOTE_NAME_MAX + 1], small[8];
	char longname[300];

	(void)state;
	assert_int_equal(ebt_remote_pod_name("web", "a1b2c3", out,
					     sizeof(out)), 0);
	assert_string_equal(out, "ebpftrace-attach-web-a1b2c3");
	/* cut to 63, never ending in '-' before the session, dots away */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[36] = '-';
	longname[20] = '.';
	assert_int_equal(ebt_remote_pod_name(longname, "a1b2c3", out,
					     sizeof(out)), 0);
	assert_true(strlen(out) <= REMOTE_NAME_MAX);
	assert_null(strstr(out, "--"));
	assert_null(strchr(out, '.'));
	assert_string_equal(out + strlen(out) - 7, "-a1b2c3");
	assert_int_equal(ebt_remote_pod_name("web", "a1", small,
					     sizeof(small)), -1);
	assert_int_equal(ebt_remote_pod_name("web", "", out, sizeof(out)),
			 -1);
}

static void test_deadline(void **state)
{
	struct ebt_remote_spec s = spec();

	(void)state;
	assert_int_equal(ebt_remote_deadline_s(&s), 90 + 60);
	s.duration_ms = 1500; /* whole seconds, rounded up */
	assert_int_equal(ebt_remote_deadline_s(&s), 2 + 60);
	s.duration_ms = 0;
	assert_int_equal(ebt_remote_deadline_s(&s), 3600 + 60);
}

static void test_pod_json(void **state)
{
	struct ebt_remote_spec s = spec();
	cJSON *pod = build(&s), *cmd, *add;
	const char *want[] = { "ebpftrace", "attach", "web", "-n", "shop",
			       "--container", "app", "--duration", "90s",
			       "--format", "json", "--remote", "never" };

	(void)state;
	assert_string_equal(str(pod, "kind"), "Pod");
	assert_string_equal(str(pod, "metadata.name"), s.name);
	assert_string_equal(str(pod, "metadata.namespace"), "shop");
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(at(pod, "metadata.labels"),
			REMOTE_LABEL)->valuestring, "true");
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(at(pod, "metadata.labels"),
			REMOTE_SESSION_LABEL)->valuestring, "a1b2c3");
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(at(pod,
			"metadata.annotations"),
			REMOTE_TARGET_ANNOTATION)->valuestring, "shop/web");
	assert_string_equal(str(pod, "spec.nodeName"), "node-b");
	assert_true(cJSON_IsTrue(at(pod, "spec.hostPID")));
	assert_string_equal(str(pod, "spec.restartPolicy"), "Never");
	assert_int_equal(at(pod, "spec.activeDeadlineSeconds")->valueint, 150);
	assert_string_equal(str(pod, "spec.tolerations.0.operator"), "Exists");
	assert_string_equal(str(pod, "spec.containers.0.image"), s.image);
	cmd = at(pod, "spec.containers.0.command");
	assert_int_equal(cJSON_GetArraySize(cmd), 13);
	for (int i = 0; i < 13; i++)
		assert_string_equal(cJSON_GetArrayItem(cmd, i)->valuestring,
				    want[i]);
	assert_false(cJSON_IsTrue(at(pod,
		"spec.containers.0.securityContext.privileged")));
	add = at(pod, "spec.containers.0.securityContext.capabilities.add");
	assert_int_equal(cJSON_GetArraySize(add), 4);
	assert_string_equal(cJSON_GetArrayItem(add, 0)->valuestring, "BPF");
	assert_string_equal(cJSON_GetArrayItem(add, 3)->valuestring,
			    "SYS_PTRACE");
	assert_string_equal(str(pod, "spec.containers.0.securityContext."
				"capabilities.drop.0"), "ALL");
	assert_string_equal(str(pod, "spec.containers.0.volumeMounts.4."
				"mountPath"), "/run/containerd/containerd.sock");
	assert_string_equal(str(pod, "spec.volumes.4.hostPath.path"),
			    "/run/k3s/containerd/containerd.sock");
	assert_string_equal(str(pod, "spec.volumes.4.hostPath.type"),
			    "Socket");
	assert_string_equal(str(pod, "spec.volumes.3.hostPath.path"),
			    "/sys/fs/cgroup");
	assert_string_equal(str(pod, "spec.containers.0.env.0.valueFrom."
				"fieldRef.fieldPath"), "spec.nodeName");
	cJSON_Delete(pod);
}

static void test_pod_json_variants(void **state)
{
	struct ebt_remote_spec s = spec();
	cJSON *pod, *cmd, *sc;

	(void)state;
	s.privileged = true;
	s.container = NULL;
	s.duration_ms = 2500;
	s.format = "text";
	pod = build(&s);
	sc = at(pod, "spec.containers.0.securityContext");
	assert_true(cJSON_IsTrue(at(sc, "privileged")));
	assert_null(cJSON_GetObjectItemCaseSensitive(sc, "capabilities"));
	cmd = at(pod, "spec.containers.0.command");
	assert_int_equal(cJSON_GetArraySize(cmd), 11);
	assert_string_equal(cJSON_GetArrayItem(cmd, 5)->valuestring,
			    "--duration");
	assert_string_equal(cJSON_GetArrayItem(cmd, 6)->valuestring,
			    "2500ms");
	assert_string_equal(cJSON_GetArrayItem(cmd, 8)->valuestring, "text");
	cJSON_Delete(pod);
	s.duration_ms = 0;
	pod = build(&s);
	cmd = at(pod, "spec.containers.0.command");
	assert_int_equal(cJSON_GetArraySize(cmd), 9);
	assert_string_equal(cJSON_GetArrayItem(cmd, 5)->valuestring,
			    "--format");
	cJSON_Delete(pod);
	/* strings that need escaping stay strings */
	s.target = "we\"b";
	pod = build(&s);
	assert_string_equal(str(pod, "spec.containers.0.command.2"), "we\"b");
	cJSON_Delete(pod);
}

/* The settings the tracer pod gets: none at their defaults; where spans
 * and lines go and how they are shaped otherwise, before --remote never. */
static void test_forwarded_settings(void **state)
{
	struct ebt_config cfg;
	struct ebt_remote_spec s = spec();
	const char *fw[REMOTE_FORWARD_MAX];
	static const char *const want[] = {
		"--otlp-endpoint", "http://tempo-distributor.tracing:4318",
		"--loki-endpoint", "http://loki-gateway.loki",
		"--loki-tenant", "team-a", "--loki-username", "ebpftrace",
		"--cluster", "vicky-test", "--http-query", "keep",
		"--http-ignore-path", "/healthz",
		"--http-ignore-path", "/actuator/*",
		"--traces-sampler", "traceidratio",
		"--traces-sampler-arg", "0.25",
	};
	char otlp[] = "http://tempo-distributor.tracing:4318",
	     loki[] = "http://loki-gateway.loki", cl[] = "vicky-test",
	     tenant[] = "team-a", user[] = "ebpftrace",
	     hz[] = "/healthz", act[] = "/actuator/*", one[] = "1",
	     quarter[] = "0.25";
	cJSON *pod, *cmd;
	size_t n;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.query_mode = HTTP_QUERY_REDACT;
	cfg.sampler = EBT_SAMPLER_PB_ON;
	cfg.sampler_arg = one;
	assert_int_equal(ebt_remote_forward(&cfg, fw, REMOTE_FORWARD_MAX), 0);
	cfg.otlp_endpoint = otlp;
	cfg.loki_endpoint = loki;
	cfg.loki_tenant = tenant;
	cfg.loki_username = user;
	cfg.cluster = cl;
	cfg.query_mode = HTTP_QUERY_KEEP;
	cfg.ignore_paths[0] = hz;
	cfg.ignore_paths[1] = act;
	cfg.n_ignore_paths = 2;
	cfg.sampler = EBT_SAMPLER_RATIO;
	cfg.sampler_arg = quarter;
	n = ebt_remote_forward(&cfg, fw, REMOTE_FORWARD_MAX);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(fw[i], want[i]);
	assert_int_equal(ebt_remote_forward(&cfg, fw, 3), 2); /* pairs only */
	s.forward = fw;
	s.n_forward = n;
	pod = build(&s);
	cmd = at(pod, "spec.containers.0.command");
	assert_int_equal(cJSON_GetArraySize(cmd), 13 + (int)n);
	assert_string_equal(cJSON_GetArrayItem(cmd, 11)->valuestring,
			    "--otlp-endpoint");
	assert_string_equal(cJSON_GetArrayItem(cmd, 11 + (int)n)->valuestring,
			    "--remote");
	cJSON_Delete(pod);
}

/* The named env entry of the tracer container, or NULL. */
static cJSON *env_entry(cJSON *pod, const char *name)
{
	cJSON *e;

	cJSON_ArrayForEach(e, at(pod, "spec.containers.0.env"))
		if (strcmp(str(e, "name"), name) == 0)
			return e;
	return NULL;
}

static void test_secrets_in_the_pod(void **state)
{
	struct ebt_config cfg;
	struct ebt_remote_spec s = spec();
	struct ebt_remote_secret sec[REMOTE_SECRETS_MAX];
	char hdr[] = "authorization=Bearer%20s3cr3t-h3ad3r", pw[] = "pa55-w0rd",
	     ca[] = "/etc/ssl/tempo-ca.pem", key[] = "/etc/ssl/loki.key",
	     pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	cJSON *pod, *cmd, *e, *vol = NULL, *v;
	char *json;
	int n;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(ebt_remote_secrets(&cfg, sec, REMOTE_SECRETS_MAX), 0);
	cfg.otlp_headers = hdr;
	cfg.loki_password = pw;
	cfg.otlp_ca_file = ca;
	cfg.loki_key_file = key;
	assert_int_equal(ebt_remote_secrets(&cfg, sec, 3), 3); /* bounded */
	s.n_secrets = ebt_remote_secrets(&cfg, sec, REMOTE_SECRETS_MAX);
	assert_int_equal(s.n_secrets, 4);
	assert_string_equal(sec[0].env, "OTEL_EXPORTER_OTLP_HEADERS");
	assert_memory_equal(sec[0].data, hdr, sizeof(hdr) - 1);
	assert_int_equal(sec[0].len, sizeof(hdr) - 1);
	assert_string_equal(sec[1].env, "EBPFTRACE_LOKI_PASSWORD");
	assert_string_equal(sec[2].flag, "--otlp-certificate");
	assert_string_equal(sec[2].value, ca);
	assert_null(sec[2].data); /* the client reads the file */
	assert_string_equal(sec[3].option, "loki.client_key");
	sec[2].data = sec[3].data = pem;
	sec[2].len = sec[3].len = strlen(pem);
	s.secrets = sec;
	json = ebt_remote_pod_json(&s);
	assert_non_null(json);
	/* no secret value in the pod's spec, only references */
	assert_null(strstr(json, "s3cr3t"));
	assert_null(strstr(json, "pa55"));
	assert_null(strstr(json, "BEGIN"));
	pod = cJSON_Parse(json);
	free(json);
	e = env_entry(pod, "OTEL_EXPORTER_OTLP_HEADERS");
	assert_non_null(e);
	assert_string_equal(str(e, "valueFrom.secretKeyRef.name"), s.name);
	assert_string_equal(str(e, "valueFrom.secretKeyRef.key"),
			    "otlp-headers");
	assert_non_null(env_entry(pod, "EBPFTRACE_LOKI_PASSWORD"));
	assert_non_null(env_entry(pod, "NODE_NAME"));
	cmd = at(pod, "spec.containers.0.command");
	n = cJSON_GetArraySize(cmd);
	assert_string_equal(cJSON_GetArrayItem(cmd, n - 6)->valuestring,
			    "--otlp-certificate");
	assert_string_equal(cJSON_GetArrayItem(cmd, n - 5)->valuestring,
			    REMOTE_SECRET_DIR "/otlp-ca.crt");
	assert_string_equal(cJSON_GetArrayItem(cmd, n - 4)->valuestring,
			    "--loki-client-key");
	assert_string_equal(cJSON_GetArrayItem(cmd, n - 3)->valuestring,
			    REMOTE_SECRET_DIR "/loki-client.key");
	cJSON_ArrayForEach(v, at(pod, "spec.volumes"))
		if (strcmp(str(v, "name"), REMOTE_SECRET_VOLUME) == 0)
			vol = v;
	assert_non_null(vol);
	assert_string_equal(str(vol, "secret.secretName"), s.name);
	assert_int_equal(at(vol, "secret.defaultMode")->valueint, 0400);
	assert_int_equal(cJSON_GetArraySize(at(vol, "secret.items")), 2);
	assert_string_equal(str(vol, "secret.items.1.path"), "loki-client.key");
	assert_string_equal(str(pod, "spec.containers.0.volumeMounts.5.mountPath"),
			    REMOTE_SECRET_DIR);
	cJSON_Delete(pod);
}

/* data.<key> of a Secret, decoded. */
static void assert_secret_data(cJSON *sec, const char *key, const char *want)
{
	const char *b64 = str(at(sec, "data"), key);
	char *raw;
	size_t n;

	assert_int_equal(ebt_base64_decode(b64, strlen(b64), &raw, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(raw, want, n);
	free(raw);
}

static void test_secret_object_and_owner(void **state)
{
	struct ebt_remote_spec s = spec();
	struct ebt_remote_secret sec[] = {
		{ .key = "a", .env = "A", .data = "x", .len = 1 },
		{ .key = "b", .env = "B", .data = "xy", .len = 2 },
		{ .key = "c.crt", .flag = "--c", .data = "xyz\n\0\xff", .len = 6 },
		{ .key = "d", .env = "D", .data = "", .len = 0 },
	};
	const char *uid_pod = "{\"metadata\":{\"name\":\"p\",\"uid\":"
			      "\"6f1c-aa\"}}";
	char *json, uid[64];
	cJSON *o;

	(void)state;
	s.secrets = sec;
	s.n_secrets = 4;
	json = ebt_remote_secret_json(&s);
	assert_non_null(json);
	o = cJSON_Parse(json);
	free(json);
	assert_string_equal(str(o, "kind"), "Secret");
	assert_string_equal(str(o, "type"), "Opaque");
	assert_string_equal(str(o, "metadata.name"), s.name);
	assert_string_equal(str(o, "metadata.namespace"), "shop");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
		at(o, "metadata.labels"), REMOTE_LABEL)->valuestring, "true");
	assert_secret_data(o, "a", "x");   /* padding: x== */
	assert_secret_data(o, "b", "xy");  /* xy= */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(at(o, "data"),
		"c.crt")->valuestring, "eHl6CgD/"); /* binary kept */
	assert_string_equal(str(at(o, "data"), "d"), "");
	cJSON_Delete(o);
	json = ebt_remote_owner_patch(s.name, "6f1c-aa");
	o = cJSON_Parse(json);
	free(json);
	assert_string_equal(str(o, "metadata.ownerReferences.0.kind"), "Pod");
	assert_string_equal(str(o, "metadata.ownerReferences.0.name"), s.name);
	assert_string_equal(str(o, "metadata.ownerReferences.0.uid"),
			    "6f1c-aa");
	cJSON_Delete(o);
	assert_int_equal(ebt_remote_uid_parse(uid_pod, strlen(uid_pod), uid,
					      sizeof(uid)), 0);
	assert_string_equal(uid, "6f1c-aa");
	assert_int_equal(ebt_remote_uid_parse(uid_pod, strlen(uid_pod), uid,
					      4), -1); /* does not fit */
	assert_int_equal(ebt_remote_uid_parse("{\"metadata\":{}}", 15, uid,
					      sizeof(uid)), -1);
	assert_int_equal(ebt_remote_uid_parse("{\"meta", 6, uid,
					      sizeof(uid)), -1);
}

#define POD_HEAD                                                           \
	"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"t\"," \
	"\"namespace\":\"shop\"},\"spec\":{\"nodeName\":\"node-b\","        \
	"\"containers\":[{\"name\":\"ebpftrace\",\"image\":\"e:1\"}]},"

static void parse(const char *json, const char *container,
		  struct ebt_remote_status *st)
{
	char err[128];

	assert_int_equal(ebt_remote_status_parse(json, strlen(json),
						 container, st, err,
						 sizeof(err)), 0);
}

static void test_status_pending_and_running(void **state)
{
	struct ebt_remote_status st;
	char d[256];

	(void)state;
	parse(POD_HEAD "\"status\":{\"phase\":\"Pending\"}}", "ebpftrace",
	      &st);
	assert_int_equal(st.phase, REMOTE_PENDING);
	assert_string_equal(st.node, "node-b");
	assert_true(st.has_container);
	assert_false(st.running || st.terminated || st.fatal || st.deleting);
	parse(POD_HEAD "\"status\":{\"phase\":\"Pending\",\"containerStatuses"
	      "\":[{\"name\":\"ebpftrace\",\"state\":{\"waiting\":{\"reason\":"
	      "\"ContainerCreating\"}}}]}}", "ebpftrace", &st);
	assert_false(st.fatal);
	assert_string_equal(st.reason, "ContainerCreating");
	ebt_remote_status_describe(&st, d, sizeof(d));
	assert_string_equal(d, "Pending: ContainerCreating");
	parse(POD_HEAD "\"status\":{\"phase\":\"Running\",\"containerStatuses"
	      "\":[{\"name\":\"other\",\"state\":{\"waiting\":{}}},{\"name\":"
	      "\"ebpftrace\",\"state\":{\"running\":{\"startedAt\":\"2026-01-"
	      "02T03:04:05Z\"}}}]}}", "ebpftrace", &st);
	assert_int_equal(st.phase, REMOTE_RUNNING);
	assert_true(st.running);
	/* no status at all, no container: not scheduled */
	parse("{\"kind\":\"Pod\",\"spec\":{}}", "x", &st);
	assert_string_equal(st.node, "");
	assert_false(st.has_container);
	assert_int_equal(st.phase, REMOTE_PENDING);
}

static void test_status_fatal(void **state)
{
	struct ebt_remote_status st;
	char d[512];

	(void)state;
	parse(POD_HEAD "\"status\":{\"phase\":\"Pending\",\"containerStatuses"
	      "\":[{\"name\":\"ebpftrace\",\"state\":{\"waiting\":{\"reason\":"
	      "\"ImagePullBackOff\",\"message\":\"Back-off pulling image\"}}}]"
	      "}}", NULL, &st);
	assert_true(st.fatal);
	ebt_remote_status_describe(&st, d, sizeof(d));
	assert_string_equal(d, "Pending: ImagePullBackOff: Back-off pulling "
			    "image");
	parse(POD_HEAD "\"status\":{\"phase\":\"Pending\",\"conditions\":[{"
	      "\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":"
	      "\"Unschedulable\",\"message\":\"0/3 nodes are available\"}]}}",
	      NULL, &st);
	assert_true(st.fatal);
	assert_string_equal(st.reason, "Unschedulable");
	assert_string_equal(st.message, "0/3 nodes are available");
	parse(POD_HEAD "\"status\":{\"phase\":\"Failed\",\"reason\":"
	      "\"OutOfcpu\",\"message\":\"Node didn't have enough resource\"}}",
	      NULL, &st);
	assert_true(st.fatal);
	assert_string_equal(st.reason, "OutOfcpu");
	parse("{\"kind\":\"Pod\",\"metadata\":{\"deletionTimestamp\":\"2026-"
	      "01-02T03:04:05Z\"},\"status\":{\"phase\":\"Unheard\"}}", NULL,
	      &st);
	assert_true(st.deleting);
	assert_int_equal(st.phase, REMOTE_UNKNOWN);
	ebt_remote_status_describe(&st, d, sizeof(d));
	assert_string_equal(d, "Unknown (being deleted)");
}

static void test_status_terminated(void **state)
{
	struct ebt_remote_status st;

	(void)state;
	parse(POD_HEAD "\"status\":{\"phase\":\"Failed\",\"containerStatuses"
	      "\":[{\"name\":\"ebpftrace\",\"state\":{\"terminated\":{"
	      "\"exitCode\":3,\"reason\":\"Error\"}}}]}}", "ebpftrace", &st);
	assert_true(st.terminated);
	assert_false(st.fatal); /* it ran: its exit status tells */
	assert_int_equal(st.exit_code, 3);
	assert_string_equal(st.reason, "Error");
	parse(POD_HEAD "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses"
	      "\":[{\"name\":\"ebpftrace\",\"state\":{\"terminated\":{"
	      "\"reason\":\"Completed\"}}}]}}", "ebpftrace", &st);
	assert_true(st.terminated);
	assert_int_equal(st.exit_code, -1); /* no exitCode */
}

static void test_status_bad(void **state)
{
	struct ebt_remote_status st;
	char err[128];
	const char *bad[] = {
		"", "{", "[]", "{\"kind\":\"Status\",\"code\":404}",
		"{\"kind\":7}", "{\"kind\":\"Pod\"", "null",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ebt_remote_status_parse(bad[i], strlen(bad[i]),
							 NULL, &st, err,
							 sizeof(err)), -1);
		assert_string_equal(err, "not a Pod object");
	}
	/* wrong types inside a Pod are ignored, not trusted */
	parse("{\"kind\":\"Pod\",\"spec\":{\"nodeName\":5,\"containers\":{}},"
	      "\"status\":{\"phase\":[],\"containerStatuses\":[{\"name\":\"x\","
	      "\"state\":{\"terminated\":{\"exitCode\":\"3\"}}}]}}", NULL,
	      &st);
	assert_string_equal(st.node, "");
	assert_int_equal(st.phase, REMOTE_PENDING);
	assert_true(st.terminated);
	assert_int_equal(st.exit_code, -1);
}

/* --context: a named context instead of current-context */
static void test_kubeconfig_context(void **state)
{
	static const char kc[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: a\n"
		"clusters:\n"
		"- name: ca\n  cluster: {server: 'https://a.example:6443'}\n"
		"- name: cb\n  cluster: {server: 'https://b.example:6443'}\n"
		"contexts:\n"
		"- name: a\n  context: {cluster: ca, user: u}\n"
		"- name: b\n  context: {cluster: cb, user: u}\n"
		"users:\n- name: u\n  user: {token: t0}\n";
	struct ebt_k8s_conn_cfg cc;
	char err[256];

	(void)state;
	assert_int_equal(ebt_kubeconfig_parse_context(kc, strlen(kc), "/",
						      "b", &cc, err,
						      sizeof(err)), 0);
	assert_string_equal(cc.server, "https://b.example:6443");
	assert_string_equal(cc.token, "t0");
	ebt_k8s_conn_cfg_free(&cc);
	assert_int_equal(ebt_kubeconfig_parse_context(kc, strlen(kc), "/", "",
						      &cc, err,
						      sizeof(err)), 0);
	assert_string_equal(cc.server, "https://a.example:6443");
	ebt_k8s_conn_cfg_free(&cc);
	assert_int_equal(ebt_kubeconfig_parse_context(kc, strlen(kc), "/",
						      "nope", &cc, err,
						      sizeof(err)), -1);
	assert_string_equal(err, "context \"nope\" not found in contexts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_pod_json),
		cmocka_unit_test(test_pod_json_variants),
		cmocka_unit_test(test_forwarded_settings),
		cmocka_unit_test(test_secrets_in_the_pod),
		cmocka_unit_test(test_secret_object_and_owner),
		cmocka_unit_test(test_status_pending_and_running),
		cmocka_unit_test(test_status_fatal),
		cmocka_unit_test(test_status_terminated),
		cmocka_unit_test(test_status_bad),
		cmocka_unit_test(test_kubeconfig_context),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
