/* SPDX-License-Identifier: Apache-2.0 */
/* service.name heuristics and OTEL_RESOURCE_ATTRIBUTES parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot_name.h"
#include "resource.h"

/* A cmdline as the kernel gives it (NUL separators), written in the tests
 * as one string with '|' separators; returns its size with the last NUL. */
static size_t cmdline_of(const char *args, char *cmd, size_t cmdsz)
{
	size_t n = strlen(args);

	assert_true(n < cmdsz);
	memcpy(cmd, args, n + 1);
	for (size_t i = 0; i < n; i++)
		if (cmd[i] == '|')
			cmd[i] = '\0';
	return n + 1;
}

static void name_of(const char *args, const char *want)
{
	char cmd[512], out[256];
	size_t n = cmdline_of(args, cmd, sizeof(cmd));

	ebt_service_name_from_cmdline(cmd, n, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_jvm_names(void **state)
{
	(void)state;
	name_of("java|-Xmx512m|-jar|target/spring-petclinic-3.4.0-SNAPSHOT.jar",
		"spring-petclinic");
	name_of("/opt/java/bin/java|-javaagent:x.jar|-jar|spring-petclinic.jar",
		"spring-petclinic");
	name_of("java|-cp|a.jar:b.jar|com.example.shop.Main|--port|8080",
		"Main");
	name_of("java|tests/peers/JdkServer.java|0", "JdkServer");
	name_of("java|-Dotel.service.name=petclinic-direct|-jar|app.jar",
		"petclinic-direct");
	name_of("java|--module-path|mods|-m|com.acme/com.acme.App", "App");
}

static void test_interpreters(void **state)
{
	(void)state;
	name_of("python3|app.py", "app.py");
	name_of("/usr/bin/python3.11|-u|/srv/api/app.py|--port|1", "app.py");
	name_of("python3|-m|uvicorn|main:app", "uvicorn");
	name_of("node|server.js", "server.js");
	name_of("python3|-c|print(1)", "python3");
	name_of("/usr/sbin/nginx|-g|daemon off;", "nginx");
	/* options that take a value are passed over with it */
	name_of("node|-r|dotenv/config|server.js", "server.js");
	name_of("node|--import|./otel.mjs|dist/main.js", "main.js");
	name_of("python3|-X|dev|-W|ignore|app.py", "app.py");
	name_of("ruby|-I|lib|bin/rails|server", "rails");
	name_of("php|-S|0.0.0.0:8000|-t|public", "php");
	name_of("php|-S|0.0.0.0:8000|router.php", "router.php");
	/* runtimes with a subcommand, a launcher named by its assembly */
	name_of("deno|run|-A|--config|deno.json|main.ts", "main.ts");
	name_of("bun|run|index.ts", "index.ts");
	name_of("dotnet|exec|/app/Shop.Api.dll", "Shop.Api");
	name_of("dotnet|/app/Shop.Api.dll", "Shop.Api");
	/* shell scripts by their name; inline shell code is the shell */
	name_of("/bin/sh|./run.sh", "run.sh");
	name_of("bash|-o|pipefail|/srv/start.sh|--fast", "start.sh");
	name_of("bash|-c|python3 app.py", "bash");
	/* names that only begin like an interpreter's */
	name_of("/usr/local/bin/shop|--port|80", "shop");
	name_of("phpunit-runner|x.php", "phpunit-runner");
}

/* Process titles written over argv: the title's first word. */
static void test_process_titles(void **state)
{
	(void)state;
	name_of("nginx: worker process||||||", "nginx");
	name_of("nginx: master process /usr/sbin/nginx -c /etc/nginx/a.conf",
		"nginx");
	name_of("postgres: 15/main: checkpointer", "postgres");
	name_of("gunicorn: worker [app:app]|||", "gunicorn");
	name_of("puma 6.4.0 (tcp://0.0.0.0:3000) [app]||", "puma");
	/* not titles: a path with a space, a separate argument, a URL */
	name_of("/opt/My App/bin/shop|--port|80", "shop");
	name_of("/opt/My App/bin/shop", "shop");
	name_of("python3|/srv/my app.py", "my app.py");
	name_of("shop|http://x:80/", "shop");
}

static bool launcher_dir(const char *args, char *dir, size_t dirsz)
{
	char cmd[512];
	size_t n = cmdline_of(args, cmd, sizeof(cmd));

	return ebt_boot_launcher_dir(cmd, n, dir, dirsz);
}

/* Spring Boot run unpacked: which directory names the app. */
static void test_boot_launcher_dir(void **state)
{
	char dir[256];

	(void)state;
	assert_true(launcher_dir(
		"java|org.springframework.boot.loader.launch.JarLauncher", dir,
		sizeof(dir)));
	assert_string_equal(dir, ".");
	assert_true(launcher_dir("/opt/java/bin/java|-Xmx1g|-cp|/workspace:"
				 "/workspace/lib/*|org.springframework.boot."
				 "loader.JarLauncher|--server.port=8080",
				 dir, sizeof(dir)));
	assert_string_equal(dir, "/workspace");
	assert_true(launcher_dir("java|--class-path|app.jar|org.springframework."
				 "boot.loader.launch.PropertiesLauncher",
				 dir, sizeof(dir)));
	assert_string_equal(dir, "app.jar");
	/* the app's own main class, a launcher as an argument, no launcher */
	assert_false(launcher_dir("java|-cp|x|com.example.Main", dir, sizeof(dir)));
	assert_false(launcher_dir("org.springframework.boot.loader.JarLauncher",
				  dir, sizeof(dir)));
	assert_false(launcher_dir("java|-jar|app.jar", dir, sizeof(dir)));
	assert_false(launcher_dir("java|org.springframework.boot.loader.Other",
				  dir, sizeof(dir)));
}

static void test_boot_manifest_and_pom(void **state)
{
	char out[64];

	(void)state;
	/* a value longer than a 72-byte line goes on after a space */
	assert_true(ebt_boot_manifest_class(
		"Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.l"
		"oader.launch.JarLauncher\r\nStart-Class: org.springframework.sa"
		"mples.petclinic.PetClin\r\n icApplication\r\nSpring-Boot-Vers"
		"ion: 3.4.0\r\n\r\n", out, sizeof(out)));
	assert_string_equal(out, "PetClinicApplication");
	assert_true(ebt_boot_manifest_class("Start-Class: Main\n", out,
					    sizeof(out)));
	assert_string_equal(out, "Main");
	assert_false(ebt_boot_manifest_class("Main-Class: a.B\n", out,
					     sizeof(out)));
	assert_false(ebt_boot_manifest_class("Start-Class: \n", out,
					     sizeof(out)));
	assert_true(ebt_boot_pom_artifact("#Generated by Maven\nartifactId=spr"
					  "ing-petclinic\ngroupId=org.x\n",
					  out, sizeof(out)));
	assert_string_equal(out, "spring-petclinic");
	assert_false(ebt_boot_pom_artifact("groupId=a\nartifactId=\n", out,
					   sizeof(out)));
}

/* Jib's argument files: one argument per word, quotes kept together. */
static void test_java_argfile(void **state)
{
	static const char text[] =
		"# the class path\n/app/resources:/app/classes:/app/libs/*\n"
		"  \"-Dx=a b\" 'c d'\te\"f\"g \"\"\r\n";
	static const char want[] = "/app/resources:/app/classes:/app/libs/*\0"
				   "-Dx=a b\0c d\0efg\0\0";
	char out[128], small[8];
	size_t at = 0;

	(void)state;
	assert_true(ebt_java_argfile(text, sizeof(text) - 1, out, sizeof(out),
				     &at));
	assert_int_equal(at, sizeof(want) - 1);
	assert_memory_equal(out, want, at);
	at = 0;
	assert_false(ebt_java_argfile(text, sizeof(text) - 1, small,
				      sizeof(small), &at));
	assert_true(at <= sizeof(small));
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The name read from an unpacked jar's directory: artifactId first. */
static void test_boot_app_name_from_directory(void **state)
{
	char root[] = "/tmp/ebt-boot-XXXXXX", p[256], out[64];

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/META-INF", root);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_false(ebt_boot_app_name(root, out, sizeof(out)));
	snprintf(p, sizeof(p), "%s/META-INF/MANIFEST.MF", root);
	put_file(p, "Start-Class: com.example.shop.ShopApplication\r\n");
	assert_true(ebt_boot_app_name(root, out, sizeof(out)));
	assert_string_equal(out, "ShopApplication");
	snprintf(p, sizeof(p), "%s/META-INF/maven", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/META-INF/maven/com.example", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/META-INF/maven/com.example/shop-api", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p),
		 "%s/META-INF/maven/com.example/shop-api/pom.properties", root);
	put_file(p, "artifactId=shop-api\ngroupId=com.example\n");
	assert_true(ebt_boot_app_name(root, out, sizeof(out)));
	assert_string_equal(out, "shop-api");
	/* two projects: which one is the app is not known, Start-Class is */
	snprintf(p, sizeof(p), "%s/META-INF/maven/com.example/other", root);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_true(ebt_boot_app_name(root, out, sizeof(out)));
	assert_string_equal(out, "ShopApplication");
	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
}

static bool spawned(const char *args)
{
	char cmd[512];
	size_t n = cmdline_of(args, cmd, sizeof(cmd));

	return ebt_cmdline_is_spawned_worker(cmd, n);
}

/* uvicorn --workers 2: each worker is "python3 -c <spawn stub>", named
 * after its parent by the resource code. */
static void test_spawned_workers(void **state)
{
	(void)state;
	assert_true(spawned("/usr/bin/python3|-B|-c|from multiprocessing.spawn "
			    "import spawn_main; spawn_main(tracker_fd=7, "
			    "pipe_handle=9)|--multiprocessing-fork"));
	assert_false(spawned("python3|-c|from multiprocessing.resource_tracker"
			     " import main;main(6)"));
	assert_false(spawned("python3|app.py|--multiprocessing-forks"));
	assert_false(spawned("python3|app.py"));
}

static void kv(void *ctx, const char *k, const char *v)
{
	char *buf = ctx;

	strcat(buf, k);
	strcat(buf, "=");
	strcat(buf, v);
	strcat(buf, ";");
}

static void test_kv_list(void **state)
{
	char buf[256] = "";

	(void)state;
	assert_int_equal(ebt_parse_kv_list("service.name=shop, deployment."
					   "environment=prod%20eu,,",
					   kv, buf),
			 2);
	assert_string_equal(buf,
			    "service.name=shop;deployment.environment=prod eu;");
	assert_int_equal(ebt_parse_kv_list("novalue", kv, buf), -1);
	assert_int_equal(ebt_parse_kv_list("=v", kv, buf), -1);
}

/* A pid that is gone: a child that exited and was reaped. */
static uint32_t dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	assert_true(p > 0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return (uint32_t)p;
}

/*
 * A short-lived process (curl -v) whose first record is a stderr write
 * (no comm) and which exited before it was looked up: its connection's
 * record names it later, and the spans must not say "unknown".
 */
static void test_gone_process_named_later(void **state)
{
	struct ebt_resources *rs = ebt_resources_new(NULL);
	uint32_t pid = dead_pid();
	struct ebt_resource *r;

	(void)state;
	assert_non_null(rs);
	r = ebt_resources_get(rs, pid, NULL);
	assert_non_null(r);
	assert_string_equal(ebt_resource_get(r, "service.name"), "unknown");
	r = ebt_resources_get(rs, pid, "curl");
	assert_string_equal(ebt_resource_get(r, "service.name"), "curl");
	r = ebt_resources_get(rs, pid, NULL);
	assert_string_equal(ebt_resource_get(r, "service.name"), "curl");
	ebt_resources_free(rs);
}

/*
 * An inetd or CGI handler: forked from a server, it exec'd
 * `python3 /srv/cgi/handler.py`, answered and exited before its span was
 * built. Its exec record names it (the script, and the interpreter's
 * file), not the server it was forked from, nor its process name.
 */
static void test_gone_execd_named_by_its_command_line(void **state)
{
	static const char args[] = "python3\0/srv/cgi/handler.py\0-v";
	struct ebt_resources *rs = ebt_resources_new(NULL);
	uint32_t pid = dead_pid();
	struct ebt_resource *r;

	(void)state;
	assert_non_null(rs);
	ebt_resources_note_fork(rs, pid, (uint32_t)getpid());
	r = ebt_resources_get(rs, pid, "python3"); /* before the exec */
	assert_string_equal(ebt_resource_get(r, "service.name"),
			    ebt_resource_get(ebt_resources_get(rs, getpid(), NULL),
					     "service.name"));
	ebt_resources_exec(rs, pid, "python3", "python3.11", args,
			   sizeof(args));
	r = ebt_resources_get(rs, pid, "inetd");
	assert_non_null(r);
	assert_string_equal(ebt_resource_get(r, "service.name"), "handler.py");
	assert_string_equal(ebt_resource_get(r, "process.executable.name"),
			    "python3.11");
	/* an exec with no command line (args not readable): named by comm */
	ebt_resources_exec(rs, pid, "worker", "worker-bin", "", 0);
	r = ebt_resources_get(rs, pid, "python3");
	assert_string_equal(ebt_resource_get(r, "service.name"), "worker");
	ebt_resources_forget(rs, pid);
	r = ebt_resources_get(rs, pid, "late");
	assert_string_equal(ebt_resource_get(r, "service.name"), "late");
	ebt_resources_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jvm_names),
		cmocka_unit_test(test_interpreters),
		cmocka_unit_test(test_process_titles),
		cmocka_unit_test(test_boot_launcher_dir),
		cmocka_unit_test(test_java_argfile),
		cmocka_unit_test(test_boot_manifest_and_pom),
		cmocka_unit_test(test_boot_app_name_from_directory),
		cmocka_unit_test(test_spawned_workers),
		cmocka_unit_test(test_kv_list),
		cmocka_unit_test(test_gone_process_named_later),
		cmocka_unit_test(test_gone_execd_named_by_its_command_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
