/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spring Boot's configuration files, read for the one setting ebpftrace
 * needs from them: server.servlet.context-path, the prefix of the routes
 * an app maps (jar_routes.h).
 *
 * Spring Boot reads application.properties, application.yml and
 * application.yaml from the class path (its root and config/) and from
 * the working directory (./ and ./config/), and application-{profile}.*
 * for each active profile. A file may hold several documents (YAML `---`,
 * properties `#---`), each of which may apply to some profiles only
 * (spring.config.activate.on-profile). Each document that sets the
 * context path is kept as one setting; the value that counts is that of
 * the setting of highest precedence among those that apply, in Spring
 * Boot's order (ebt_spring_context_path).
 *
 * Keys are compared as Spring's relaxed binding does: case, '-' and '_'
 * aside (context-path, contextPath, context_path).
 */
#ifndef EBT_SPRING_CONFIG_H
#define EBT_SPRING_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define EBT_CONTEXT_PATH_MAX 128
#define EBT_PROFILE_MAX 64
#define EBT_PROFILES_MAX 256
#define EBT_SPRING_SETTINGS_MAX 16

/* Where a config file is, and what its name says. */
struct ebt_spring_file {
	bool outside;	 /* the working directory's, not the class path's */
	bool config_dir; /* in a config/ directory */
	unsigned ext;	 /* 2: .properties, 1: .yml, 0: .yaml (higher wins) */
	char profile[EBT_PROFILE_MAX]; /* application-{profile}.*; "" */
};

/* One document that sets server.servlet.context-path. */
struct ebt_spring_setting {
	struct ebt_spring_file file;
	unsigned file_no; /* in the order read: earlier wins a tie */
	unsigned doc;	  /* the document's number in its file */
	char on_profile[EBT_PROFILE_MAX]; /* its activation; "" if none */
	char value[EBT_CONTEXT_PATH_MAX]; /* as written, unquoted */
};

#define EBT_SPRING_KEY_MAX 128

struct ebt_spring_cfg {
	struct ebt_spring_setting v[EBT_SPRING_SETTINGS_MAX];
	unsigned n, files;
	/* the setting read (set before adding files): "" is the context
	 * path, under any of EBT_CONTEXT_PATH_KEYS */
	char key[EBT_SPRING_KEY_MAX];
};

/* The context path's keys: Spring MVC's, Spring WebFlux's, Micronaut's
 * and Quarkus's (each app sets its own framework's). */
#define EBT_CONTEXT_PATH_KEYS                                          \
	{                                                              \
		"server.servlet.context-path", "spring.webflux.base-path", \
			"micronaut.server.context-path",                 \
			"quarkus.http.root-path"                         \
	}
#define EBT_CONTEXT_PATH_NKEYS 4

/* Sets out (EBT_CONTEXT_PATH_MAX bytes) to a context path value as
 * Spring takes it: "/shop/" and "shop" are "/shop"; "/" and "" are none
 * (""), and so is a value ebpftrace cannot use (a ${...} placeholder,
 * control bytes, a space). */
void ebt_context_path(const char *v, size_t n, char *out);

/* Is name (no directory) a config file's, application[-profile].ext? f's
 * profile and ext are set; its place (outside, config_dir) is kept. */
bool ebt_spring_file_name(const char *name, size_t n,
			  struct ebt_spring_file *f);

/* Adds the documents of the config file text[0..n) that set the context
 * path (YAML for .yml and .yaml, else properties). A file that does not
 * parse keeps the documents read before the error, as far as they go. */
void ebt_spring_cfg_add(struct ebt_spring_cfg *cfg,
			const struct ebt_spring_file *f, const char *text,
			size_t n);

/* Adds the config files in the directory dirfd and its config/: all of
 * them when profiles is NULL (a class path directory, read once for any
 * profile), else only those of the active profiles (a working directory,
 * which may hold many other files). outside: the working directory. */
void ebt_spring_cfg_dir(struct ebt_spring_cfg *cfg, int dirfd, bool outside,
			const char *profiles);

/* A property's value from outside the config files (a system property,
 * the environment), for a ${name} in a value; NULL if it has none. */
struct ebt_spring_env {
	const char *(*lookup)(void *ctx, const char *name, size_t n);
	void *ctx;
};

/* The context path (into out, EBT_CONTEXT_PATH_MAX bytes; "" if none)
 * the settings of a and b give when profiles (comma-separated; "" is
 * Spring's "default" profile) are active. Either may be NULL. Its ${name}
 * and ${name:default} placeholders are resolved through env (may be
 * NULL: only defaults); one that cannot be makes it "". */
void ebt_spring_context_path(const struct ebt_spring_cfg *a,
			     const struct ebt_spring_cfg *b,
			     const char *profiles,
			     const struct ebt_spring_env *env, char *out);

/* The value as written of the setting of a or b that counts with the
 * active profiles (as ebt_spring_context_path picks it); NULL if none. */
const char *ebt_spring_value(const struct ebt_spring_cfg *a,
			     const struct ebt_spring_cfg *b,
			     const char *profiles);

/* Resolves the placeholders of v[0..n) into out (cap bytes); false if
 * one has no value and no default, or the result does not fit. */
bool ebt_spring_resolve(const char *v, size_t n,
			const struct ebt_spring_env *env, char *out,
			size_t cap);

/* Does a profile expression ("prod", "prod,eu", "!dev", "a & b",
 * "a | b") match the active profiles? An expression with parentheses
 * matches nothing: ebpftrace does not read them. */
bool ebt_spring_profile_match(const char *expr, const char *profiles);

#endif
