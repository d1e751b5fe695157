/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the configuration (user/options.c): the YAML file
 * and the command line, through the one options table.
 *
 * Input: a config file's text, then "\0\0", then command-line words
 * separated by NUL bytes (the first byte picks run, attach or check).
 * The file is handed over as /proc/self/fd/N of a memfd, so no file is
 * written. Checks: the result is 0, 1 (help) or -1; an error is one
 * non-empty line; a loaded config frees cleanly (LeakSanitizer sees the
 * rest) and a second free is harmless.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_check.h"

#define WORDS_MAX 24

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* --help prints the usage: keep the fuzzer's output readable */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

/* Splits the words part at NUL bytes into argv[1...]; returns argc. */
static int split_words(char *words, size_t len, char **argv, char *path)
{
	int argc = 0;

	argv[argc++] = "ebpftrace";
	argv[argc++] = "--config";
	argv[argc++] = path;
	for (size_t i = 0; i < len && argc < WORDS_MAX; ) {
		argv[argc++] = words + i;
		i += strlen(words + i) + 1;
	}
	return argc;
}

static void load_and_check(const char *command, int argc, char **argv)
{
	struct ebt_config cfg;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = ebt_config_load(&cfg, command, argc - 1, argv + 1, err,
			     sizeof(err));
	CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == -1)
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	ebt_config_free(&cfg);
	ebt_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const commands[] = {"run", "attach", "check"};
	const uint8_t *sep;
	char path[64], *words, *argv[WORDS_MAX];
	size_t yaml_len, words_len;
	int fd;

	if (size < 1)
		return 0;
	sep = memmem(data + 1, size - 1, "\0\0", 2);
	yaml_len = sep ? (size_t)(sep - data - 1) : size - 1;
	words_len = sep ? size - 1 - yaml_len - 2 : 0;
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, yaml_len) != (ssize_t)yaml_len) {
		close(fd);
		return 0;
	}
	words = calloc(1, words_len + 1);
	if (words) {
		memcpy(words, sep ? sep + 2 : data, words_len);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		load_and_check(commands[data[0] % 3],
			       split_words(words, words_len, argv, path), argv);
		free(words);
	}
	close(fd);
	return 0;
}
