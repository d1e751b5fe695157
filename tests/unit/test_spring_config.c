/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Spring Boot's config files, read for the context path
 * (user/spring_config.c). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spring_config.h"

/* The context path of one file's text, with profiles active. */
static const char *ctx_of(const char *name, const char *text,
			  const char *profiles)
{
	static char out[EBT_CONTEXT_PATH_MAX];
	struct ebt_spring_cfg cfg = {0};
	struct ebt_spring_file f = {0};

	assert_true(ebt_spring_file_name(name, strlen(name), &f));
	ebt_spring_cfg_add(&cfg, &f, text, strlen(text));
	ebt_spring_context_path(&cfg, NULL, profiles, NULL, out);
	return out;
}

static void test_context_path_value(void **state)
{
	char out[EBT_CONTEXT_PATH_MAX];

	(void)state;
	ebt_context_path("/", 1, out);
	assert_string_equal(out, "");
	ebt_context_path(" shop/ ", 7, out);
	assert_string_equal(out, "/shop");
	ebt_context_path("/api/v2/", 8, out);
	assert_string_equal(out, "/api/v2");
	ebt_context_path("${ctx}", 6, out);
	assert_string_equal(out, "");
	ebt_context_path("a b", 3, out);
	assert_string_equal(out, "");
}

static void test_properties(void **state)
{
	static const char props[] =
		"# server.servlet.context-path=/no\n"
		"! server.servlet.context-path=/no\n"
		"server.servlet.context-path.x=/no\n"
		"  server.servlet.context-path = /first\r\n"
		"server.servlet.context-path:/api/v2/\n";

	(void)state;
	assert_string_equal(ctx_of("application.properties", props, ""),
			    "/api/v2");
	assert_string_equal(ctx_of("application.properties", "a=b\n", ""), "");
	/* white space ends a key too; escapes; continuation lines */
	assert_string_equal(ctx_of("application.properties",
				   "server.servlet.context-path   /ws\n", ""),
			    "/ws");
	assert_string_equal(ctx_of("application.properties",
				   "server.servlet.context-path=/a\\\n"
				   "    /b\n", ""),
			    "/a/b");
	assert_string_equal(ctx_of("application.properties",
				   "server.servlet.context\\-path=/e\\u0078\n",
				   ""),
			    "/ex");
	/* a comment's continuation is no line; a value's is */
	assert_string_equal(ctx_of("application.properties",
				   "#x\\\nserver.servlet.context-path=/c\n",
				   ""),
			    "/c");
	/* relaxed binding; the last line counts; CR line ends */
	assert_string_equal(ctx_of("application.properties",
				   "server.servlet.contextPath=/camel\r"
				   "SERVER.SERVLET.CONTEXT_PATH=/upper\r", ""),
			    "/upper");
	/* an empty value is the root; no newline at the end */
	assert_string_equal(ctx_of("application.properties",
				   "server.servlet.context-path=/x\n"
				   "server.servlet.context-path=", ""),
			    "");
}

static void test_properties_documents(void **state)
{
	static const char props[] =
		"server.servlet.context-path=/base\n"
		"#---\n"
		"spring.config.activate.on-profile=prod\n"
		"server.servlet.context-path=/prod\n"
		"#---\n"
		"spring.config.activate.on-profile=dev\n"
		"server.servlet.context-path=/dev\n";

	(void)state;
	assert_string_equal(ctx_of("application.properties", props, ""),
			    "/base");
	assert_string_equal(ctx_of("application.properties", props, "prod"),
			    "/prod");
	assert_string_equal(ctx_of("application.properties", props, "x, dev"),
			    "/dev");
	assert_string_equal(ctx_of("application.properties", props,
				   "dev,prod"),
			    "/dev"); /* the later document */
}

static void test_yaml(void **state)
{
	(void)state;
	assert_string_equal(ctx_of("application.yml",
				   "server:\n"
				   "  port: 8080\n"
				   "  servlet:\n"
				   "    context-path: /petclinic\n"
				   "spring:\n"
				   "  application:\n"
				   "    name: x\n", ""),
			    "/petclinic");
	assert_string_equal(ctx_of("application.yaml",
				   "server.servlet.context-path: /flat\n", ""),
			    "/flat");
	assert_string_equal(ctx_of("application.yml",
				   "server:\n  servlet.contextPath: \"/q\"\n",
				   ""),
			    "/q");
	assert_string_equal(ctx_of("application.yml",
				   "server: {servlet: {context-path: '/flow'}}\n",
				   ""),
			    "/flow");
	/* text that looks like the key, in a block scalar or a list */
	assert_string_equal(ctx_of("application.yml",
				   "banner: |\n"
				   "  server:\n"
				   "    servlet:\n"
				   "      context-path: /no\n"
				   "items:\n"
				   "  - server.servlet.context-path: /no\n"
				   "server:\n"
				   "  servlet:\n"
				   "    context-path: /yes # a comment\n", ""),
			    "/yes");
	/* the other frameworks' keys for it */
	assert_string_equal(ctx_of("application.yml",
				   "micronaut:\n  server:\n"
				   "    context-path: /mn\n", ""),
			    "/mn");
	assert_string_equal(ctx_of("application.properties",
				   "quarkus.http.root-path=/q/\n", ""),
			    "/q");
	assert_string_equal(ctx_of("application.yaml",
				   "spring.webflux.base-path: /flux\n", ""),
			    "/flux");
	/* a key under another key is not the key */
	assert_string_equal(ctx_of("application.yml",
				   "x:\n  server:\n    servlet:\n"
				   "      context-path: /no\n", ""),
			    "");
	/* null is the root */
	assert_string_equal(ctx_of("application.yml",
				   "server.servlet.context-path: /a\n"
				   "---\n"
				   "server.servlet.context-path: ~\n", ""),
			    "");
	/* a broken file keeps what was read before the error */
	assert_string_equal(ctx_of("application.yml",
				   "server.servlet.context-path: /ok\n"
				   "bad: [\n", ""),
			    "/ok");
}

static void test_yaml_documents(void **state)
{
	static const char yml[] =
		"server:\n"
		"  servlet:\n"
		"    context-path: /base\n"
		"---\n"
		"server:\n"
		"  servlet:\n"
		"    context-path: /prod\n"
		"spring:\n"
		"  config:\n"
		"    activate:\n"
		"      on-profile: prod\n"
		"---\n"
		"spring:\n"
		"  profiles: legacy\n"
		"server.servlet.context-path: /legacy\n"
		"---\n"
		"spring.config.activate.on-profile:\n"
		"  - eu\n"
		"  - us\n"
		"server.servlet.context-path: /region\n"
		"---\n"
		"spring.config.activate.on-profile: \"!dev & !prod\"\n"
		"server.servlet.context-path: /neither\n";

	(void)state;
	assert_string_equal(ctx_of("application.yml", yml, "dev"), "/base");
	assert_string_equal(ctx_of("application.yml", yml, "prod"), "/prod");
	assert_string_equal(ctx_of("application.yml", yml, "legacy"),
			    "/neither");
	assert_string_equal(ctx_of("application.yml", yml, "dev,legacy"),
			    "/legacy");
	assert_string_equal(ctx_of("application.yml", yml, "dev,us"),
			    "/region");
	assert_string_equal(ctx_of("application.yml", yml, "prod,eu"),
			    "/region");
}

static void test_profile_expressions(void **state)
{
	(void)state;
	assert_true(ebt_spring_profile_match("prod", "dev, prod"));
	assert_false(ebt_spring_profile_match("prod", "production"));
	assert_true(ebt_spring_profile_match("default", ""));
	assert_true(ebt_spring_profile_match("a & b", "b,a"));
	assert_false(ebt_spring_profile_match("a & b", "a"));
	assert_true(ebt_spring_profile_match("x | b", "b"));
	assert_true(ebt_spring_profile_match("!dev", "prod"));
	assert_false(ebt_spring_profile_match("!dev", "dev"));
	assert_false(ebt_spring_profile_match("(a & b) | c", "c"));
	assert_false(ebt_spring_profile_match("", "a"));
	assert_false(ebt_spring_profile_match("a &", "a,b") &&
		     ebt_spring_profile_match("& a", "a"));
}

static void test_file_names(void **state)
{
	struct ebt_spring_file f = {0};

	(void)state;
	assert_true(ebt_spring_file_name("application.properties", 22, &f));
	assert_int_equal(f.ext, 2);
	assert_string_equal(f.profile, "");
	assert_true(ebt_spring_file_name("application-prod.yml", 20, &f));
	assert_int_equal(f.ext, 1);
	assert_string_equal(f.profile, "prod");
	assert_true(ebt_spring_file_name("application-a-b.yaml", 20, &f));
	assert_int_equal(f.ext, 0);
	assert_string_equal(f.profile, "a-b");
	assert_false(ebt_spring_file_name("application-.yml", 16, &f));
	assert_false(ebt_spring_file_name("applications.yml", 16, &f));
	assert_false(ebt_spring_file_name("application.json", 16, &f));
	assert_false(ebt_spring_file_name("config/application.yml", 22, &f));
	assert_false(ebt_spring_file_name("application.yml.bak", 19, &f));
}

/* Adds one file's text to cfg, at the place given. */
static void put(struct ebt_spring_cfg *cfg, bool outside, bool config_dir,
		const char *name, const char *text)
{
	struct ebt_spring_file f = {.outside = outside,
				    .config_dir = config_dir};

	assert_true(ebt_spring_file_name(name, strlen(name), &f));
	ebt_spring_cfg_add(cfg, &f, text, strlen(text));
}

static void test_precedence(void **state)
{
	struct ebt_spring_cfg in = {0}, out = {0};
	char ctx[EBT_CONTEXT_PATH_MAX];

	(void)state;
	put(&in, false, false, "application.yaml",
	    "server.servlet.context-path: /yaml");
	put(&in, false, false, "application.yml",
	    "server.servlet.context-path: /yml");
	ebt_spring_context_path(&in, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/yml");
	put(&in, false, false, "application.properties",
	    "server.servlet.context-path=/props");
	ebt_spring_context_path(&in, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/props");
	/* the same name in a later class path entry does not count */
	put(&in, false, false, "application.properties",
	    "server.servlet.context-path=/second");
	ebt_spring_context_path(&in, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/props");
	put(&in, false, true, "application.yaml",
	    "server.servlet.context-path: /config");
	ebt_spring_context_path(&in, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/config");
	/* application-default.* when no profile is active */
	put(&in, false, false, "application-default.yml",
	    "server.servlet.context-path: /default");
	put(&in, false, false, "application-a.yml",
	    "server.servlet.context-path: /a");
	put(&in, false, false, "application-b.properties",
	    "server.servlet.context-path=/b");
	ebt_spring_context_path(&in, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/default");
	ebt_spring_context_path(&in, NULL, "a", NULL, ctx);
	assert_string_equal(ctx, "/a");
	ebt_spring_context_path(&in, NULL, "b,a", NULL, ctx);
	assert_string_equal(ctx, "/a"); /* the later profile */
	ebt_spring_context_path(&in, NULL, "a,b", NULL, ctx);
	assert_string_equal(ctx, "/b");
	ebt_spring_context_path(&in, NULL, "c", NULL, ctx);
	assert_string_equal(ctx, "/config");
	/* the working directory's over any inside the app */
	put(&out, true, false, "application.yml",
	    "server.servlet.context-path: /outside");
	ebt_spring_context_path(&in, &out, "a", NULL, ctx);
	assert_string_equal(ctx, "/outside");
	ebt_spring_context_path(&out, &in, "a", NULL, ctx);
	assert_string_equal(ctx, "/outside");
	/* a file that does not set it takes nothing away */
	put(&out, true, true, "application.properties", "server.port=1\n");
	ebt_spring_context_path(&in, &out, "a", NULL, ctx);
	assert_string_equal(ctx, "/outside");
	ebt_spring_context_path(NULL, NULL, NULL, NULL, ctx);
	assert_string_equal(ctx, "");
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_directories(void **state)
{
	char root[] = "/tmp/ebt_spring_XXXXXX", sub[600], cmd[700];
	struct ebt_spring_cfg listed = {0}, named = {0};
	char ctx[EBT_CONTEXT_PATH_MAX];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(sub, sizeof(sub), "%s/config", root);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(root, "application.yml",
		   "server.servlet.context-path: /root\n");
	write_file(root, "application-prod.yml",
		   "server.servlet.context-path: /prod\n");
	write_file(root, "notes.txt", "server.servlet.context-path=/no\n");
	write_file(root, "cm-application-dev.properties",
		   "server.servlet.context-path=/dev\n");
	/* a ConfigMap mount: config/application-dev.properties is a link */
	snprintf(cmd, sizeof(cmd),
		 "ln -s ../cm-application-dev.properties "
		 "%s/application-dev.properties",
		 sub);
	assert_int_equal(system(cmd), 0);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	ebt_spring_cfg_dir(&listed, fd, false, NULL);
	ebt_spring_cfg_dir(&named, fd, true, "dev");
	close(fd);
	assert_int_equal(listed.n, 3);
	ebt_spring_context_path(&listed, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/root");
	ebt_spring_context_path(&listed, NULL, "prod", NULL, ctx);
	assert_string_equal(ctx, "/prod");
	ebt_spring_context_path(&listed, NULL, "prod,dev", NULL, ctx);
	assert_string_equal(ctx, "/dev");
	/* only the active profiles' files are opened by name */
	assert_int_equal(named.n, 2);
	ebt_spring_context_path(&named, NULL, "dev", NULL, ctx);
	assert_string_equal(ctx, "/dev");
	snprintf(cmd, sizeof(cmd), "rm -r %s", root);
	assert_int_equal(system(cmd), 0);
}

static const char *fake_lookup(void *ctx, const char *name, size_t n)
{
	(void)ctx;
	if (n == 7 && !memcmp(name, "APP_CTX", 7))
		return "/from-env";
	if (n == 4 && !memcmp(name, "LOOP", 4))
		return "${LOOP}"; /* a value is not resolved again */
	return NULL;
}

static void test_placeholders(void **state)
{
	struct ebt_spring_env env = {.lookup = fake_lookup};
	struct ebt_spring_cfg cfg = {0};
	char out[EBT_CONTEXT_PATH_MAX];

	(void)state;
	assert_true(ebt_spring_resolve("${APP_CTX}", 10, &env, out,
				       sizeof(out)));
	assert_string_equal(out, "/from-env");
	assert_true(ebt_spring_resolve("${NONE:/dflt}", 13, &env, out,
				       sizeof(out)));
	assert_string_equal(out, "/dflt");
	assert_true(ebt_spring_resolve("/api${NONE:}/v${A:${B:2}}", 25, &env,
				       out, sizeof(out)));
	assert_string_equal(out, "/api/v2");
	assert_true(ebt_spring_resolve("${APP_CTX:/x}/y", 15, &env, out,
				       sizeof(out)));
	assert_string_equal(out, "/from-env/y");
	assert_false(ebt_spring_resolve("${NONE}", 7, &env, out, sizeof(out)));
	assert_false(ebt_spring_resolve("${NONE:/x", 9, &env, out,
					sizeof(out)));
	assert_false(ebt_spring_resolve("${APP_CTX}", 10, NULL, out,
					sizeof(out)));
	assert_true(ebt_spring_resolve("${LOOP}", 7, &env, out, sizeof(out)));
	assert_string_equal(out, "${LOOP}");
	assert_false(ebt_spring_resolve("${APP_CTX}", 10, &env, out, 5));
	/* through a config file; one it cannot resolve is no context path */
	put(&cfg, false, false, "application.yml",
	    "server.servlet.context-path: ${APP_CTX:/petclinic}\n");
	ebt_spring_context_path(&cfg, NULL, "", &env, out);
	assert_string_equal(out, "/from-env");
	ebt_spring_context_path(&cfg, NULL, "", NULL, out);
	assert_string_equal(out, "/petclinic");
	put(&cfg, false, true, "application.yml",
	    "server.servlet.context-path: ${NOPE}\n");
	ebt_spring_context_path(&cfg, NULL, "", &env, out);
	assert_string_equal(out, "");
	ebt_spring_context_path(&cfg, NULL, "", &(struct ebt_spring_env){
		.lookup = fake_lookup}, out);
	assert_string_equal(out, "");
}

/* More documents set it than are kept: no crash, the first ones count. */
static void test_many_documents(void **state)
{
	char *text = malloc(64 * 80), ctx[EBT_CONTEXT_PATH_MAX];
	struct ebt_spring_cfg cfg = {0};
	size_t at = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 64; i++)
		at += (size_t)sprintf(text + at,
				      "server.servlet.context-path=/d%d\n#---\n",
				      i);
	put(&cfg, false, false, "application.properties", text);
	assert_int_equal(cfg.n, EBT_SPRING_SETTINGS_MAX);
	ebt_spring_context_path(&cfg, NULL, "", NULL, ctx);
	assert_string_equal(ctx, "/d15");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_context_path_value),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_properties_documents),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_yaml_documents),
		cmocka_unit_test(test_profile_expressions),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_directories),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_many_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
