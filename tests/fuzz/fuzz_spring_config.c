/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Spring Boot config file readers
 * (user/spring_config.c): .properties and YAML, and profile expressions.
 *
 * Input: a first line of active profiles, then a file's text, read as
 * application.properties, application.yml and application-p.yaml.
 * Checks: at most EBT_SPRING_SETTINGS_MAX settings, each value and
 * activation NUL-terminated in its field; the context path chosen is ""
 * or '/' and printable bytes without a space, not ending in '/'; it is
 * one of the settings' values, its placeholders' defaults taken, normalized; with placeholders resolved
 * through a lookup that knows two names in three, it is still such a
 * path; profile expressions made from the input answer without a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "spring_config.h"

/* Every name has a value: the name itself, with a placeholder in it when
 * it is long, so a value is never resolved again. */
static const char *lookup(void *ctx, const char *name, size_t n)
{
	static char v[80];

	(void)ctx;
	snprintf(v, sizeof(v), n > 8 ? "/${%.*s}" : "/%.*s", (int)(n > 60 ? 60 : n),
		 name);
	return n % 3 ? v : NULL;
}

static void check_cfg(const struct ebt_spring_cfg *cfg, const char *profiles)
{
	struct ebt_spring_env env = {.lookup = lookup};
	char ctx[EBT_CONTEXT_PATH_MAX], one[EBT_CONTEXT_PATH_MAX];
	char res[EBT_CONTEXT_PATH_MAX];
	size_t n;
	bool known;

	CHECK(cfg->n <= EBT_SPRING_SETTINGS_MAX);
	for (unsigned i = 0; i < cfg->n; i++) {
		CHECK(memchr(cfg->v[i].value, '\0', sizeof(cfg->v[i].value)));
		CHECK(memchr(cfg->v[i].on_profile, '\0',
			     sizeof(cfg->v[i].on_profile)));
		ebt_spring_profile_match(cfg->v[i].on_profile, profiles);
	}
	ebt_spring_context_path(cfg, NULL, profiles, NULL, ctx);
	n = strlen(ctx);
	CHECK(n == 0 || (ctx[0] == '/' && ctx[n - 1] != '/' && n > 1));
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)ctx[i] > 0x20 && ctx[i] != 0x7f);
	known = n == 0;
	for (unsigned i = 0; !known && i < cfg->n; i++) {
		const char *v = cfg->v[i].value;

		if (ebt_spring_resolve(v, strlen(v), NULL, res, sizeof(res))) {
			ebt_context_path(res, strlen(res), one);
			known = strcmp(one, ctx) == 0;
		}
	}
	CHECK(known);
	ebt_spring_context_path(cfg, NULL, profiles, &env, ctx);
	n = strlen(ctx);
	CHECK(n == 0 || (ctx[0] == '/' && ctx[n - 1] != '/' && n > 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"application.properties",
					    "application.yml",
					    "application-p.yaml"};
	const char *text = (const char *)data, *nl = memchr(text, '\n', size);
	char profiles[EBT_PROFILES_MAX] = "";
	size_t pn = nl ? (size_t)(nl - text) : 0;

	if (pn < sizeof(profiles)) {
		memcpy(profiles, text, pn);
		profiles[pn] = '\0';
		profiles[strnlen(profiles, pn)] = '\0';
	}
	if (nl) {
		text = nl + 1;
		size -= pn + 1;
	}
	for (unsigned k = 0; k < 3; k++) {
		struct ebt_spring_cfg cfg = {0};
		struct ebt_spring_file f = {.config_dir = k == 1};

		CHECK(ebt_spring_file_name(names[k], strlen(names[k]), &f));
		ebt_spring_cfg_add(&cfg, &f, text, size);
		check_cfg(&cfg, profiles);
	}
	ebt_spring_profile_match(profiles, "a,b, c");
	return 0;
}
