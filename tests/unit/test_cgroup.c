/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity from /proc/<pid>/cgroup texts shaped like those of
 * containerd, CRI-O, Docker and Podman with the systemd and cgroupfs
 * drivers on cgroup v1, v2 and hybrid hosts; --cgroup path mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgroup.h"

#define ID "3f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
#define ID2 "aa11bb22cc33dd44ee55ff66007788990011223344556677889900aabbccddee"
#define UID "8d3c3a4f-6f1e-4b7a-9c2d-1e0f9a8b7c6d"
#define UID_ "8d3c3a4f_6f1e_4b7a_9c2d_1e0f9a8b7c6d"

/* v1 controllers of a hybrid host, each with the same path */
#define V1(p)                                                      \
	"12:rdma:/\n11:hugetlb:" p "\n10:net_cls,net_prio:" p      \
	"\n9:perf_event:" p "\n8:cpu,cpuacct:" p "\n7:pids:" p     \
	"\n6:freezer:" p "\n5:memory:" p "\n4:devices:" p          \
	"\n3:blkio:" p "\n2:cpuset:" p "\n1:name=systemd:" p "\n"

static struct ebt_cgroup_info parse(const char *text)
{
	struct ebt_cgroup_info ci;

	memset(&ci, 0x5a, sizeof(ci));
	ebt_cgroup_parse(text, strlen(text), &ci);
	return ci;
}

static void expect(const char *text, enum ebt_runtime rt, const char *id,
		   const char *uid, enum ebt_qos qos)
{
	struct ebt_cgroup_info ci = parse(text);

	assert_string_equal(ci.container_id, id);
	assert_int_equal(ci.runtime, rt);
	assert_string_equal(ci.pod_uid, uid);
	assert_int_equal(ci.qos, qos);
}

static void none(const char *text)
{
	struct ebt_cgroup_info ci;

	assert_false(ebt_cgroup_parse(text, strlen(text), &ci));
	assert_string_equal(ci.container_id, "");
	assert_string_equal(ci.pod_uid, "");
	assert_int_equal(ci.runtime, EBT_RUNTIME_NONE);
	assert_int_equal(ci.qos, EBT_QOS_NONE);
}

static void test_v2_systemd_kubernetes(void **state)
{
	(void)state;
	expect("0::/kubepods.slice/kubepods-burstable.slice/"
	       "kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID
	       ".scope\n",
	       EBT_RUNTIME_CONTAINERD, ID, UID, EBT_QOS_BURSTABLE);
	expect("0::/kubepods.slice/kubepods-besteffort.slice/"
	       "kubepods-besteffort-pod" UID_ ".slice/crio-" ID ".scope\n",
	       EBT_RUNTIME_CRIO, ID, UID, EBT_QOS_BESTEFFORT);
	/* Guaranteed pods sit directly under kubepods.slice */
	expect("0::/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID
	       ".scope\n",
	       EBT_RUNTIME_DOCKER, ID, UID, EBT_QOS_GUARANTEED);
	/* CRI-O with a nested cgroup for systemd-in-container */
	expect("0::/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID
	       ".scope/container\n",
	       EBT_RUNTIME_CRIO, ID, UID, EBT_QOS_GUARANTEED);
	/* kubelet --cgroup-root=/kubelet (kind, minikube) */
	expect("0::/kubelet.slice/kubelet-kubepods.slice/"
	       "kubelet-kubepods-besteffort.slice/"
	       "kubelet-kubepods-besteffort-pod" UID_
	       ".slice/cri-containerd-" ID ".scope\n",
	       EBT_RUNTIME_CONTAINERD, ID, UID, EBT_QOS_BESTEFFORT);
}

static void test_v2_cgroupfs_kubernetes(void **state)
{
	(void)state;
	/* containerd or dockershim with cgroupfs: runtime not in the path */
	expect("0::/kubepods/burstable/pod" UID "/" ID "\n",
	       EBT_RUNTIME_UNKNOWN, ID, UID, EBT_QOS_BURSTABLE);
	expect("0::/kubepods/pod" UID "/" ID "\n", EBT_RUNTIME_UNKNOWN, ID,
	       UID, EBT_QOS_GUARANTEED);
	expect("0::/kubepods/besteffort/pod" UID "/crio-" ID "\n",
	       EBT_RUNTIME_CRIO, ID, UID, EBT_QOS_BESTEFFORT);
	/* static pod: the kubelet's uid is the manifest hash, 32 hex */
	expect("0::/kubepods/burstable/pod0123456789abcdef0123456789abcdef/" ID
	       "\n",
	       EBT_RUNTIME_UNKNOWN, ID, "0123456789abcdef0123456789abcdef",
	       EBT_QOS_BURSTABLE);
}

static void test_pod_without_container(void **state)
{
	struct ebt_cgroup_info ci;
	const char *t = "0::/kubepods.slice/kubepods-burstable.slice/"
			"kubepods-burstable-pod" UID_ ".slice\n";

	(void)state;
	assert_true(ebt_cgroup_parse(t, strlen(t), &ci));
	expect(t, EBT_RUNTIME_NONE, "", UID, EBT_QOS_BURSTABLE);
	/* crio-conmon is the monitor, not the container */
	expect("0::/kubepods.slice/kubepods-pod" UID_ ".slice/crio-conmon-" ID
	       ".scope\n",
	       EBT_RUNTIME_NONE, "", UID, EBT_QOS_GUARANTEED);
	/* "pod<uid>" outside kubepods is just a directory */
	none("0::/pod" UID "/x\n");
	/* a later token that only starts like a pod uid leaves the uid found
	 * before it whole (found by fuzz_cgroup) */
	expect("0::/kubepods.slice/kubepods-pod" UID_
	       "-pod0123456789abcdef0123456789abcdex.slice\n",
	       EBT_RUNTIME_NONE, "", UID, EBT_QOS_GUARANTEED);
}

static void test_docker_podman_containerd(void **state)
{
	(void)state;
	expect("0::/system.slice/docker-" ID ".scope\n", EBT_RUNTIME_DOCKER,
	       ID, "", EBT_QOS_NONE);
	expect("0::/docker/" ID "\n", EBT_RUNTIME_DOCKER, ID, "",
	       EBT_QOS_NONE);
	expect("0::/machine.slice/libpod-" ID ".scope\n", EBT_RUNTIME_PODMAN,
	       ID, "", EBT_QOS_NONE);
	expect("0::/machine.slice/libpod-" ID ".scope/container\n",
	       EBT_RUNTIME_PODMAN, ID, "", EBT_QOS_NONE);
	/* rootless podman */
	expect("0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
	       "libpod-" ID ".scope\n",
	       EBT_RUNTIME_PODMAN, ID, "", EBT_QOS_NONE);
	expect("0::/machine.slice/libpod-conmon-" ID ".scope\n",
	       EBT_RUNTIME_NONE, "", "", EBT_QOS_NONE);
	/* containerd outside Kubernetes: namespace directories */
	expect("0::/default/" ID "\n", EBT_RUNTIME_CONTAINERD, ID, "",
	       EBT_QOS_NONE);
	expect("0::/k8s.io/" ID "\n", EBT_RUNTIME_CONTAINERD, ID, "",
	       EBT_QOS_NONE);
	expect("0::/system.slice/containerd.service/default/" ID "\n",
	       EBT_RUNTIME_CONTAINERD, ID, "", EBT_QOS_NONE);
	expect("0::/system.slice/nerdctl-" ID ".scope\n",
	       EBT_RUNTIME_CONTAINERD, ID, "", EBT_QOS_NONE);
	/* an id under an unknown parent: a container, runtime unknown */
	expect("0::/ecs/0123456789abcdef0123456789abcdef/" ID "\n",
	       EBT_RUNTIME_UNKNOWN, ID, "", EBT_QOS_NONE);
}

static void test_nested(void **state)
{
	(void)state;
	/* docker-in-docker: the innermost container */
	expect("0::/docker/" ID "/docker/" ID2 "\n", EBT_RUNTIME_DOCKER, ID2,
	       "", EBT_QOS_NONE);
	/* kind: a node container holding kubepods; the pod's container */
	expect("0::/docker/" ID "/kubepods/besteffort/pod" UID "/" ID2 "\n",
	       EBT_RUNTIME_UNKNOWN, ID2, UID, EBT_QOS_BESTEFFORT);
	/* ... and a process in the pod cgroup itself has no container */
	expect("0::/docker/" ID "/kubepods/besteffort/pod" UID "\n",
	       EBT_RUNTIME_NONE, "", UID, EBT_QOS_BESTEFFORT);
	/* read from inside another cgroup namespace */
	expect("0::/../../kubepods-besteffort-pod" UID_
	       ".slice/cri-containerd-" ID ".scope\n",
	       EBT_RUNTIME_CONTAINERD, ID, UID, EBT_QOS_BESTEFFORT);
	/* a cgroup removed while the process exits */
	expect("0::/system.slice/docker-" ID ".scope (deleted)\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
}

static void test_v1_only(void **state)
{
	(void)state;
	expect(V1("/docker/" ID), EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	expect(V1("/kubepods/burstable/pod" UID "/" ID),
	       EBT_RUNTIME_UNKNOWN, ID, UID, EBT_QOS_BURSTABLE);
	expect(V1("/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod" UID_ ".slice/docker-" ID ".scope"),
	       EBT_RUNTIME_DOCKER, ID, UID, EBT_QOS_BESTEFFORT);
}

static void test_hybrid(void **state)
{
	(void)state;
	/* systemd driver: systemd mirrors the scope into cgroup2 */
	expect(V1("/system.slice/docker-" ID ".scope")
	       "0::/system.slice/docker-" ID ".scope\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	/* cgroupfs driver: cgroup2 is just "/", the v1 lines name it */
	expect(V1("/docker/" ID) "0::/\n", EBT_RUNTIME_DOCKER, ID, "",
	       EBT_QOS_NONE);
	/* only some v1 controllers moved; name=systemd untouched */
	expect("9:name=systemd:/\n8:pids:/kubepods/pod" UID "/" ID
	       "\n4:memory:/kubepods/pod" UID "/" ID "\n0::/\n",
	       EBT_RUNTIME_UNKNOWN, ID, UID, EBT_QOS_GUARANTEED);
	/* this project's machines: a 32-hex sandbox dir is no container */
	none("9:name=systemd:/\n4:memory:/process_api/"
	     "b593183e97b80c328a3b286738145ac0\n0::/\n");
}

static void test_line_preference(void **state)
{
	(void)state;
	/* cgroup2 wins over name=systemd, which wins over other v1 lines */
	expect("5:memory:/docker/" ID2 "\n1:name=systemd:/docker/" ID2
	       "\n0::/system.slice/docker-" ID ".scope\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	expect("5:memory:/docker/" ID2 "\n1:name=systemd:/system.slice/"
	       "docker-" ID ".scope\n0::/\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	expect("5:memory:/docker/" ID "\n3:pids:/docker/" ID2 "\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	/* name=systemd among several names in one hierarchy */
	expect("7:pids:/docker/" ID2 "\n1:foo,name=systemd:/docker/" ID "\n",
	       EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
	/* a line with an id beats a better-ranked one with only a pod */
	expect("4:memory:/kubepods/pod" UID "/" ID "\n0::/kubepods/pod" UID
	       "\n",
	       EBT_RUNTIME_UNKNOWN, ID, UID, EBT_QOS_GUARANTEED);
	/* no trailing newline */
	expect("0::/docker/" ID, EBT_RUNTIME_DOCKER, ID, "", EBT_QOS_NONE);
}

static void test_bad_ids(void **state)
{
	char upper[] = "0::/docker/" ID "\n";

	(void)state;
	for (char *p = upper + 11; *p != '\n'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	none(upper);
	none("0::/docker/" ID "0\n");                          /* 65 hex */
	none("0::/system.slice/docker-3f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d"
	     "5e4f3a2b1c0d9e8f7a6b5c4d3e2.scope\n");            /* 63 hex */
	none("0::/system.slice/docker-" ID ".scop\n");
	none("0::/system.slice/" ID ".scope\n");
	none("0::/system.slice/docker-g" ID ".scope\n");
	none("0::/docker/" ID "x\n");
	none("0::/kubepods/burstable/pod8D3C3A4F-6F1E-4B7A-9C2D-1E0F9A8B7C6D\n");
	none("0::/kubepods/burstable/pod" UID "0\n");
	none("0::/kubepods/burstable/pod8d3c3a4f_6f1e-4b7a-9c2d-1e0f9a8b7c6dx\n");
	none("0::/user.slice/user-1000.slice/session-2.scope\n");
	none("0::/\n");
	none("");
}

static void test_garbage(void **state)
{
	(void)state;
	none("garbage\n\n\n:::\n0:\n0::\nx::/docker/" ID "\n");
	none("::/docker/" ID "\n");       /* no hierarchy number */
	none("0::docker/" ID "\n");       /* path not absolute */
	none("0:/docker/" ID "\n");       /* one colon */
	none("\0\0\0");
	/* a NUL inside the text stops nothing but is never an id */
	{
		const char t[] = "0::/docker/3f1e\0" "0c2a\n";
		struct ebt_cgroup_info ci;

		assert_false(ebt_cgroup_parse(t, sizeof(t) - 1, &ci));
	}
	/* the path may contain ':' */
	expect("0::/weird:dir/docker/" ID "\n", EBT_RUNTIME_DOCKER, ID, "",
	       EBT_QOS_NONE);
}

static void test_long_lines(void **state)
{
	size_t n = 1 << 20;
	char *t = malloc(n + 200);
	struct ebt_cgroup_info ci;

	(void)state;
	assert_non_null(t);
	strcpy(t, "0::");
	for (size_t i = 3; i < n; i += 2)
		memcpy(t + i, "/a", 2);
	strcpy(t + n, "/docker/" ID "\n");
	assert_true(ebt_cgroup_parse(t, strlen(t), &ci));
	assert_string_equal(ci.container_id, ID);
	/* one enormous segment */
	memset(t + 4, 'f', n);
	t[n + 4] = '\0';
	assert_false(ebt_cgroup_parse(t, strlen(t), &ci));
	free(t);
}

static void test_v2_path(void **state)
{
	const char *t = V1("/docker/" ID) "0::/system.slice/x.service\n";
	char out[64], small[8];

	(void)state;
	assert_true(ebt_cgroup_v2_path(t, strlen(t), out, sizeof(out)));
	assert_string_equal(out, "/system.slice/x.service");
	assert_false(ebt_cgroup_v2_path(t, strlen(t), small, sizeof(small)));
	assert_false(ebt_cgroup_v2_path(V1("/a"), strlen(V1("/a")), out,
					sizeof(out)));
	t = "0::/\n";
	assert_true(ebt_cgroup_v2_path(t, strlen(t), out, sizeof(out)));
	assert_string_equal(out, "/");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ebt_runtime_name(EBT_RUNTIME_DOCKER), "docker");
	assert_string_equal(ebt_runtime_name(EBT_RUNTIME_CONTAINERD),
			    "containerd");
	assert_string_equal(ebt_runtime_name(EBT_RUNTIME_CRIO), "cri-o");
	assert_string_equal(ebt_runtime_name(EBT_RUNTIME_PODMAN), "podman");
	assert_null(ebt_runtime_name(EBT_RUNTIME_UNKNOWN));
	assert_null(ebt_runtime_name(EBT_RUNTIME_NONE));
	assert_string_equal(ebt_qos_name(EBT_QOS_BESTEFFORT), "BestEffort");
	assert_null(ebt_qos_name(EBT_QOS_NONE));
	assert_true(ebt_container_id_prefix_valid("3f1e"));
	assert_true(ebt_container_id_prefix_valid(ID));
	assert_false(ebt_container_id_prefix_valid(ID "0"));
	assert_false(ebt_container_id_prefix_valid(""));
	assert_false(ebt_container_id_prefix_valid("3F1E"));
	assert_false(ebt_container_id_prefix_valid("docker-3f"));
}

static void map(const char *arg, const char *unified, const char *want)
{
	char out[256];

	assert_int_equal(ebt_cgroup_filter_path(arg, unified, out,
						sizeof(out)),
			 0);
	assert_string_equal(out, want);
}

static void test_filter_path(void **state)
{
	const char *u = "/sys/fs/cgroup/unified";
	char out[32];

	(void)state;
	/* hybrid */
	map("/sys/fs/cgroup/unified/ebt/a", u, "/sys/fs/cgroup/unified/ebt/a");
	map("/sys/fs/cgroup/unified", u, "/sys/fs/cgroup/unified");
	map("/sys/fs/cgroup/memory/ebt/a", u, "/sys/fs/cgroup/unified/ebt/a");
	map("/sys/fs/cgroup/systemd/system.slice/x.service/", u,
	    "/sys/fs/cgroup/unified/system.slice/x.service");
	map("/sys/fs/cgroup/cpu,cpuacct/docker/" ID, u,
	    "/sys/fs/cgroup/unified/docker/" ID);
	map("/sys/fs/cgroup/memory", u, "/sys/fs/cgroup/unified");
	map("/sys/fs/cgroup", u, "/sys/fs/cgroup/unified");
	map("/system.slice/x.service", u,
	    "/sys/fs/cgroup/unified/system.slice/x.service");
	map("ebt/a", u, "/sys/fs/cgroup/unified/ebt/a");
	map("/", u, "/sys/fs/cgroup/unified");
	/* pure v2 */
	map("/sys/fs/cgroup/ebt/a", "/sys/fs/cgroup", "/sys/fs/cgroup/ebt/a");
	map("/ebt/a", "/sys/fs/cgroup", "/sys/fs/cgroup/ebt/a");
	map("/sys/fs/cgroupx", "/sys/fs/cgroup", "/sys/fs/cgroup/sys/fs/cgroupx");
	/* refused */
	assert_int_equal(ebt_cgroup_filter_path("", u, out, sizeof(out)), -1);
	assert_int_equal(ebt_cgroup_filter_path("/a/../b", u, out,
						sizeof(out)),
			 -1);
	assert_int_equal(ebt_cgroup_filter_path("..", u, out, sizeof(out)),
			 -1);
	assert_int_equal(ebt_cgroup_filter_path("/a/averyveryverylongname",
						u, out, sizeof(out)),
			 -1);
	map("/a..b/..c", u, "/sys/fs/cgroup/unified/a..b/..c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_systemd_kubernetes),
		cmocka_unit_test(test_v2_cgroupfs_kubernetes),
		cmocka_unit_test(test_pod_without_container),
		cmocka_unit_test(test_docker_podman_containerd),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_v1_only),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_line_preference),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_v2_path),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_filter_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
