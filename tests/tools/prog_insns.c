/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test tool for tests/bpf/test_verifier_budget.py: prints one line per
 * BPF program loaded in the kernel whose id is above MIN_ID,
 *
 *   <id> <name> <verified instructions>
 *
 * from bpf_prog_info (bpftool of Debian 12 does not show the count).
 *
 *   prog_insns [MIN_ID]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

static int show(__u32 id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* unloaded meanwhile */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -1;
	}
	printf("%u %s %u\n", id, info.name, info.verified_insns);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	__u32 id = argc > 1 ? (__u32)strtoul(argv[1], NULL, 10) : 0;

	while (bpf_prog_get_next_id(id, &id) == 0)
		if (show(id)) {
			fprintf(stderr, "prog_insns: program %u: %s\n", id,
				strerror(errno));
			return 1;
		}
	return 0;
}
