/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the cgroup path parsers (user/cgroup.c).
 *
 * Input: the text of a /proc/<pid>/cgroup file. Checks: a container id is
 * empty or exactly 64 lower-case hex digits and then has a runtime; a pod
 * uid is empty or 32 hex / 8-4-4-4-12 and then has a QoS class; parsing a
 * whole text agrees with parsing the line it picked; the --cgroup path
 * mapping stays inside the cgroup2 mount and within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "fuzz_check.h"

static int lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void check_info(const struct ebt_cgroup_info *ci, int found)
{
	size_t n = strnlen(ci->container_id, sizeof(ci->container_id));
	size_t u = strnlen(ci->pod_uid, sizeof(ci->pod_uid));

	CHECK(n < sizeof(ci->container_id) && u < sizeof(ci->pod_uid));
	CHECK(n == 0 || n == EBT_CONTAINER_ID_LEN);
	for (size_t i = 0; i < n; i++)
		CHECK(lhex(ci->container_id[i]));
	CHECK((n == 0) == (ci->runtime == EBT_RUNTIME_NONE));
	CHECK(u == 0 || u == 32 || u == 36);
	for (size_t i = 0; i < u; i++)
		CHECK(lhex(ci->pod_uid[i]) ||
		      (u == 36 && ci->pod_uid[i] == '-' &&
		       (i == 8 || i == 13 || i == 18 || i == 23)));
	CHECK((u == 0) == (ci->qos == EBT_QOS_NONE));
	CHECK(found == (n > 0 || u > 0));
	CHECK(ci->container_id[0] == '\0' ||
	      ebt_container_id_prefix_valid(ci->container_id));
}

static void check_filter_path(const uint8_t *data, size_t size)
{
	static const char *const mounts[] = {"/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified"};
	char arg[512], out[300];
	size_t n = size < sizeof(arg) - 1 ? size : sizeof(arg) - 1;

	memcpy(arg, data, n);
	arg[n] = '\0';
	for (size_t m = 0; m < 2; m++) {
		size_t k = strlen(mounts[m]);

		if (ebt_cgroup_filter_path(arg, mounts[m], out,
					   sizeof(out)) != 0)
			continue;
		CHECK(strlen(out) < sizeof(out));
		CHECK(strncmp(out, mounts[m], k) == 0 &&
		      (out[k] == '\0' || out[k] == '/'));
		CHECK(strstr(out, "/../") == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ebt_cgroup_info ci, one;
	const char *text = (const char *)data;
	char v2[256];
	int found = ebt_cgroup_parse(text, size, &ci);

	check_info(&ci, found);
	if (ebt_cgroup_v2_path(text, size, v2, sizeof(v2))) {
		CHECK(v2[0] == '/' && strlen(v2) < sizeof(v2));
		check_info(&one, ebt_cgroup_path_parse(v2, strlen(v2), &one));
		/* the cgroup2 line wins when it names a container */
		if (one.container_id[0])
			CHECK(strcmp(one.container_id, ci.container_id) == 0);
	}
	check_info(&one, ebt_cgroup_path_parse(text, size, &one));
	check_filter_path(data, size);
	return 0;
}
