/* SPDX-License-Identifier: Apache-2.0 */
/* TLS stage: libssl found in /proc/PID/maps, each file once (tls.c). */
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

#include "tls.h"

static void expect_lib(const char *line, const char *want)
{
	size_t len = 0;
	const char *p = ebt_tls_maps_lib(line, &len);

	if (!want) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void test_maps_lines(void **state)
{
	(void)state;
	expect_lib("7f2d9e810000-7f2d9e8a0000 r-xp 00000000 08:01 1234 "
		   "/usr/lib/x86_64-linux-gnu/libssl.so.3\n",
		   "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	expect_lib("7f00-7f10 r--p 00000000 00:2a 77 /lib/libssl.so.1.1",
		   "/lib/libssl.so.1.1");
	expect_lib("7f00-7f10 r--p 00000000 00:2a 77 /opt/my app/libssl.so\n",
		   "/opt/my app/libssl.so");
	/* gone from the disk: nothing to put a uprobe on */
	expect_lib("7f00-7f10 r-xp 00000000 08:01 9 /usr/lib/libssl.so.3 "
		   "(deleted)\n", NULL);
	expect_lib("7f00-7f10 r-xp 0 08:01 9 /lib/x86_64-linux-gnu/"
		   "libgnutls.so.30\n", "/lib/x86_64-linux-gnu/libgnutls.so.30");
	/* not a TLS library: libcrypto, NSS's libssl3, a directory name */
	expect_lib("7f00-7f10 r-xp 00000000 08:01 9 /usr/lib/libcrypto.so.3\n",
		   NULL);
	expect_lib("7f00-7f10 r-xp 00000000 08:01 9 /usr/lib/libssl3.so\n",
		   NULL);
	expect_lib("7f00-7f10 r-xp 00000000 08:01 9 /libssl.so/x.so\n", NULL);
	expect_lib("7f00-7f10 rw-p 00000000 00:00 0 [heap]\n", NULL);
	expect_lib("7f00-7f10 rw-p 00000000 00:00 0\n", NULL);
	expect_lib("", NULL);
}

struct calls {
	int n;
	char paths[8][512];
	int rc;
};

static int record(void *ctx, const char *path, const char *shown)
{
	struct calls *c = ctx;

	assert_true(shown[0] == '/' && path[0] == '/');

	if (c->n < 8) /* the name the process knows it by */
		snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", shown);
	c->n++;
	return c->rc;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *dir, const char *const *subs)
{
	char p[512];

	for (int i = 0; subs[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
}

/* Two processes share one host libssl (through a symlinked root, as
 * /proc/PID/root of the host's processes all name /); a third, "in a
 * container", has its own copy; a fourth maps none. */
static void test_scan_attaches_each_file_once(void **state)
{
	static const char *const subs[] = {
		"host", "host/lib", "c", "c/lib", "proc", "proc/1", "proc/2",
		"proc/3", "proc/4", "proc/self_is_skipped", NULL,
	};
	char dir[] = "/tmp/ebt_tls_XXXXXX", p[512], proc[512];
	struct ebt_tls_libs libs = {0};
	struct calls calls = {0};
	const char *lib = "1000-2000 r-xp 0 08:01 1 /lib/libssl.so.3\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	mkdirs(dir, subs);
	snprintf(p, sizeof(p), "%s/host/lib/libssl.so.3", dir);
	put(p, "elf");
	snprintf(p, sizeof(p), "%s/c/lib/libssl.so.3", dir);
	put(p, "other elf");
	for (int i = 1; i <= 4; i++) {
		char root[512];

		snprintf(p, sizeof(p), "%s/proc/%d/root", dir, i);
		snprintf(root, sizeof(root), "%s/%s", dir, i == 3 ? "c" : "host");
		assert_int_equal(symlink(root, p), 0);
		snprintf(p, sizeof(p), "%s/proc/%d/maps", dir, i);
		put(p, i == 4 ? "1000-2000 r-xp 0 08:01 1 /lib/libc.so.6\n"
			      : lib);
	}
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	assert_int_equal(ebt_tls_scan(&libs, proc, record, &calls), 2);
	assert_int_equal(calls.n, 2);
	assert_int_equal(libs.n, 2);
	assert_string_equal(calls.paths[0], "/lib/libssl.so.3");
	assert_string_equal(calls.paths[1], "/lib/libssl.so.3");
	/* the next scan finds nothing new */
	assert_int_equal(ebt_tls_scan(&libs, proc, record, &calls), 0);
	assert_int_equal(calls.n, 2);
	ebt_tls_libs_free(&libs);
	/* a file the loader could not take is remembered, not retried */
	calls.n = 0;
	calls.rc = -1;
	assert_int_equal(ebt_tls_scan(&libs, proc, record, &calls), 0);
	assert_int_equal(calls.n, 2);
	assert_int_equal(ebt_tls_scan(&libs, proc, record, &calls), 0);
	assert_int_equal(calls.n, 2);
	ebt_tls_libs_free(&libs);
	assert_int_equal(ebt_tls_scan(&libs, "/nonexistent", record, &calls),
			 0);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

/* An executable that links OpenSSL statically and exports it (Node.js)
 * gets the uprobes; one that only imports SSL_write, or has nothing of
 * it, does not. libssl itself stands in for such an executable. */
static void test_executable_with_openssl_inside(void **state)
{
	static const char *const subs[] = {"proc", "proc/7", "proc/8",
					   "proc/9", NULL};
	static const char *const libssl[] = {
		"/usr/lib/x86_64-linux-gnu/libssl.so.3",
		"/usr/lib/aarch64-linux-gnu/libssl.so.3", NULL,
	};
	char dir[] = "/tmp/ebt_tls_XXXXXX", p[512], proc[512];
	struct ebt_tls_libs libs = {0};
	struct calls calls = {0};
	const char *ssl = NULL;

	(void)state;
	for (int i = 0; libssl[i]; i++)
		if (access(libssl[i], R_OK) == 0)
			ssl = libssl[i];
	assert_non_null(ssl); /* libssl3: a dependency of libcurl */
	assert_true(ebt_tls_elf_defines(ssl, "SSL_write"));
	assert_false(ebt_tls_elf_defines(ssl, "no_such_symbol"));
	assert_false(ebt_tls_elf_defines("/bin/sh", "SSL_write"));
	assert_false(ebt_tls_elf_defines("/nonexistent", "SSL_write"));
	assert_non_null(mkdtemp(dir));
	mkdirs(dir, subs);
	snprintf(p, sizeof(p), "%s/proc/7/exe", dir);
	assert_int_equal(symlink(ssl, p), 0);
	snprintf(p, sizeof(p), "%s/proc/8/exe", dir);
	assert_int_equal(symlink("/bin/sh", p), 0);
	snprintf(p, sizeof(p), "%s/proc/9/exe", dir);
	assert_int_equal(symlink(ssl, p), 0);
	for (int i = 7; i <= 9; i++) {
		snprintf(p, sizeof(p), "%s/proc/%d/maps", dir, i);
		put(p, "1000-2000 r-xp 0 08:01 1 /usr/bin/node\n");
	}
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	assert_int_equal(ebt_tls_scan(&libs, proc, record, &calls), 1);
	assert_int_equal(calls.n, 1);
	assert_string_equal(calls.paths[0], ssl); /* where /proc/7/exe goes */
	ebt_tls_libs_free(&libs);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_scan_attaches_each_file_once),
		cmocka_unit_test(test_executable_with_openssl_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
