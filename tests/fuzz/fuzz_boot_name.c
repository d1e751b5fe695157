/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Spring Boot name parsers (user/boot_name.c).
 *
 * Input: any bytes, read three ways: as a NUL-separated command line (a
 * launcher's directory), and, NUL-terminated, as a manifest (Start-Class)
 * and as a pom.properties (artifactId). Checks: every name is terminated
 * within its buffer, not empty, and a name holds no line break; a
 * Start-Class name holds no '.'; a directory has no ':'. The same bytes
 * as a java @argfile: its arguments fit the buffer, NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot_name.h"
#include "fuzz_check.h"

static void check_name(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	CHECK(nul && nul > s);
	CHECK(!memchr(s, '\n', (size_t)(nul - s)));
}

/* An @argfile: the arguments fit, each ends in a NUL, none holds white
 * space from outside quotes (any is inside a quoted part). */
static void check_argfile(const char *text, size_t size)
{
	char args[256];
	size_t at = 0;

	if (ebt_java_argfile(text, size, args, sizeof(args), &at))
		CHECK(at == 0 || args[at - 1] == '\0');
	CHECK(at <= sizeof(args));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[64], dir[64];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ebt_boot_launcher_dir(text, size, dir, sizeof(dir))) {
		CHECK(memchr(dir, '\0', sizeof(dir)) && dir[0]);
		CHECK(!strchr(dir, ':'));
	}
	if (ebt_boot_manifest_class(text, out, sizeof(out))) {
		check_name(out, sizeof(out));
		CHECK(!strchr(out, '.'));
	}
	if (ebt_boot_pom_artifact(text, out, sizeof(out)))
		check_name(out, sizeof(out));
	check_argfile(text, size);
	free(text);
	return 0;
}
