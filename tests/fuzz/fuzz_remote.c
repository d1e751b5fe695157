/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for remote attach's pure parts (user/remote_pod.c).
 *
 * Input: the API server's answer for the tracer pod (any bytes), read as
 * a Pod for the container "ebpftrace" and for the first container; and
 * the same bytes, up to the first NUL or 200 bytes, as the traced pod's
 * name and namespace of a tracer pod spec. Checks: status strings are
 * terminated and within their buffers, the phase is one of the enum, a
 * terminated container is never "fatal"; the pod name keeps its prefix
 * and session, has no dots and at most 63 bytes; the built JSON parses
 * back with the same command; a uid read from the bytes fits; a Secret
 * holding the bytes parses back with its two keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "remote.h"
#include "fuzz_check.h"

static void check_status(const uint8_t *data, size_t size,
			 const char *container)
{
	struct ebt_remote_status st;
	char err[128], d[1024];

	if (ebt_remote_status_parse((const char *)data, size, container, &st,
				    err, sizeof(err)) != 0)
		return;
	CHECK(memchr(st.node, '\0', sizeof(st.node)));
	CHECK(memchr(st.reason, '\0', sizeof(st.reason)));
	CHECK(memchr(st.message, '\0', sizeof(st.message)));
	CHECK(st.phase >= REMOTE_PENDING && st.phase <= REMOTE_UNKNOWN);
	CHECK(!(st.terminated && st.fatal && st.phase == REMOTE_FAILED));
	ebt_remote_status_describe(&st, d, sizeof(d));
	CHECK(strlen(d) < sizeof(d));
}

static void check_name(const char *target)
{
	char name[REMOTE_NAME_MAX + 1];
	size_t n;

	if (ebt_remote_pod_name(target, "a1b2c3", name, sizeof(name)) != 0)
		abort();
	n = strlen(name);
	CHECK(n <= REMOTE_NAME_MAX);
	CHECK(strncmp(name, "ebpftrace-attach-", 17) == 0);
	CHECK(strcmp(name + n - 6, "a1b2c3") == 0);
	CHECK(!strchr(name, '.'));
}

static void check_spec(const char *target)
{
	struct ebt_remote_spec s = {
		.name = "ebpftrace-attach-x-a1b2c3", .ns = target,
		.node = target, .session = "a1b2c3", .image = target,
		.cri_socket = "/run/containerd/containerd.sock",
		.target = target, .target_ns = target, .container = target,
		.duration_ms = strlen(target) * 1000, .max_duration_ms = 1000,
		.format = "json",
	};
	char *json = ebt_remote_pod_json(&s);
	cJSON *pod, *cmd;

	CHECK(json);
	pod = cJSON_Parse(json);
	CHECK(pod);
	cmd = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pod, "spec"),
			"containers"), 0), "command");
	CHECK(cJSON_IsString(cJSON_GetArrayItem(cmd, 2)));
	CHECK(strcmp(cJSON_GetArrayItem(cmd, 2)->valuestring, target) == 0);
	cJSON_Delete(pod);
	free(json);
}

/* The bytes as the created pod (its uid), and as a Secret's value and
 * file: the Secret parses back with its keys. */
static void check_secret(const uint8_t *data, size_t size)
{
	struct ebt_remote_secret sec[] = {
		{ .key = "otlp-headers", .env = "E", .data = (const char *)data,
		  .len = size },
		{ .key = "otlp-ca.crt", .flag = "--otlp-certificate",
		  .data = (const char *)data, .len = size / 2 },
	};
	struct ebt_remote_spec s = {
		.name = "ebpftrace-attach-x-a1b2c3", .ns = "ns",
		.session = "a1b2c3", .target = "x", .target_ns = "ns",
		.secrets = sec, .n_secrets = 2,
	};
	char uid[64], *json;
	cJSON *o;

	if (ebt_remote_uid_parse((const char *)data, size, uid,
				 sizeof(uid)) == 0)
		CHECK(uid[0] && strlen(uid) < sizeof(uid));
	json = ebt_remote_secret_json(&s);
	CHECK(json);
	o = cJSON_Parse(json);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "data"))
	      == 2);
	cJSON_Delete(o);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[201];
	size_t n = size < 200 ? size : 200;

	check_status(data, size, REMOTE_CONTAINER);
	check_status(data, size, NULL);
	memcpy(target, data, n);
	target[n] = '\0';
	check_name(target);
	check_spec(target);
	check_secret(data, size);
	return 0;
}
