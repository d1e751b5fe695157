/* SPDX-License-Identifier: Apache-2.0 */
/* Process metadata from /proc, turned into shared resource objects. */
#include "resource.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "htab.h"

#define EBT_VERSION "0.1.0"
#define PROC_READ_MAX (64 * 1024)

struct ebt_resources {
	struct htab *by_tgid; /* uint32_t -> struct ebt_resource* */
	char *extra;
	char host[256];
};

static void unref_val(void *v)
{
	ebt_resource_unref(v);
}

struct ebt_resources *ebt_resources_new(const char *extra)
{
	struct ebt_resources *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->by_tgid = htab_new(sizeof(uint32_t));
	rs->extra = extra ? strdup(extra) : NULL;
	if (!rs->by_tgid || (extra && !rs->extra)) {
		ebt_resources_free(rs);
		return NULL;
	}
	if (gethostname(rs->host, sizeof(rs->host) - 1) != 0)
		strcpy(rs->host, "unknown");
	return rs;
}

void ebt_resources_free(struct ebt_resources *rs)
{
	if (!rs)
		return;
	htab_free(rs->by_tgid, unref_val);
	free(rs->extra);
	free(rs);
}

/* Reads a /proc file into a malloc'd buffer; returns length or -1. */
static ssize_t read_proc(uint32_t pid, const char *name, char **out)
{
	char path[64];
	char *buf = malloc(PROC_READ_MAX);
	ssize_t n, total = 0;
	int fd;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	if (!buf || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return -1;
	}
	while (total < PROC_READ_MAX - 1 &&
	       (n = read(fd, buf + total, PROC_READ_MAX - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	*out = buf;
	return total;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* In-place percent-decoding and trimming of one key or value. */
static char *decode(char *s)
{
	char *w = s, *r = s, *end;

	while (*r) {
		if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int ebt_parse_kv_list(const char *s,
		      void (*fn)(void *ctx, const char *k, const char *v),
		      void *ctx)
{
	char *copy = strdup(s ? s : ""), *save = NULL, *tok;
	int n = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *k, *v;

		if (!eq) {
			if (decode(tok)[0] == '\0')
				continue; /* tolerate "a=b,,c=d" */
			free(copy);
			return -1;
		}
		*eq = '\0';
		k = decode(tok);
		v = decode(eq + 1);
		if (k[0] == '\0') {
			free(copy);
			return -1;
		}
		fn(ctx, k, v);
		n++;
	}
	free(copy);
	return n;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* "spring-petclinic-3.4.0-SNAPSHOT.jar" -> "spring-petclinic" */
static void jar_name(const char *jar, char *out, size_t outsz)
{
	const char *b = base_name(jar);
	size_t n = strlen(b);

	if (n > 4 && strcmp(b + n - 4, ".jar") == 0)
		n -= 4;
	for (size_t i = 1; i + 1 < n; i++) {
		if (b[i] == '-' && isdigit((unsigned char)b[i + 1])) {
			n = i;
			break;
		}
	}
	snprintf(out, outsz, "%.*s", (int)n, b);
}

/* "com.example.Main" -> "Main"; "Server.java" -> "Server" */
static void class_name(const char *cls, char *out, size_t outsz)
{
	const char *b = base_name(cls);
	size_t n = strlen(b);
	const char *dot;

	if (n > 5 && strcmp(b + n - 5, ".java") == 0) {
		snprintf(out, outsz, "%.*s", (int)(n - 5), b);
		return;
	}
	dot = strrchr(b, '.');
	snprintf(out, outsz, "%s", dot ? dot + 1 : b);
}

/* JVM options that take the next argument as their value. */
static bool java_opt_takes_value(const char *a)
{
	static const char *const opts[] = {
		"-cp", "-classpath", "--class-path", "-p", "--module-path",
		"--add-modules", "--add-opens", "--add-exports", "--add-reads",
		"--limit-modules", "--upgrade-module-path", "--patch-module",
		"--source", "--enable-native-access",
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(a, opts[i]) == 0)
			return true;
	return false;
}

static bool java_name(char **argv, int argc, char *out, size_t outsz)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "-Dotel.service.name=", 20) == 0 && a[20]) {
			snprintf(out, outsz, "%s", a + 20);
			return true;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-jar") == 0) && i + 1 < argc) {
			jar_name(argv[i + 1], out, outsz);
			return true;
		}
		if ((strcmp(a, "-m") == 0 || strcmp(a, "--module") == 0) &&
		    i + 1 < argc) {
			const char *slash = strchr(argv[i + 1], '/');

			class_name(slash ? slash + 1 : argv[i + 1], out, outsz);
			return true;
		}
		if (java_opt_takes_value(a)) {
			i++;
			continue;
		}
		if (a[0] != '-') {
			class_name(a, out, outsz);
			return true;
		}
	}
	return false;
}

/* python/node/ruby/perl/php: the script (or "-m module" for python). */
static bool script_name(char **argv, int argc, char *out, size_t outsz)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-m") == 0 && i + 1 < argc) {
			snprintf(out, outsz, "%s", argv[i + 1]);
			return true;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "-e") == 0)
			return false; /* inline code: no script name */
		if (strcmp(a, "-X") == 0 || strcmp(a, "-W") == 0 ||
		    strcmp(a, "-r") == 0 || strcmp(a, "--require") == 0) {
			i++;
			continue;
		}
		if (a[0] != '-') {
			snprintf(out, outsz, "%s", base_name(a));
			return true;
		}
	}
	return false;
}

static bool is_interpreter(const char *exe)
{
	static const char *const names[] = {"python", "node", "ruby", "perl",
					    "php", "bun", "deno"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(exe, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

#define MAX_ARGS 256

void ebt_service_name_from_cmdline(const char *cmdline, size_t len,
				   char *out, size_t outsz)
{
	char *copy = malloc(len + 1), *argv[MAX_ARGS];
	int argc = 0;
	const char *exe;

	out[0] = '\0';
	if (!copy || len == 0) {
		free(copy);
		return;
	}
	memcpy(copy, cmdline, len);
	copy[len] = '\0';
	for (size_t i = 0; i < len && argc < MAX_ARGS; i++) {
		if (i == 0 || copy[i - 1] == '\0')
			argv[argc++] = copy + i;
	}
	exe = base_name(argv[0]);
	if (!((strncmp(exe, "java", 4) == 0 &&
	       java_name(argv, argc, out, outsz)) ||
	      (is_interpreter(exe) && script_name(argv, argc, out, outsz))))
		snprintf(out, outsz, "%s", exe);
	free(copy);
}

struct env_scan {
	struct ebt_resource *r;
	char service[256];
};

static void add_kv(void *ctx, const char *k, const char *v)
{
	ebt_resource_add_dyn(ctx, k, v);
}

/* OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the environment. */
static void scan_environ(struct env_scan *sc, const char *env, size_t len)
{
	for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
		const char *e = env + i;

		if (strncmp(e, "OTEL_SERVICE_NAME=", 18) == 0 && e[18])
			snprintf(sc->service, sizeof(sc->service), "%s",
				 e + 18);
		else if (strncmp(e, "OTEL_RESOURCE_ATTRIBUTES=", 25) == 0)
			ebt_parse_kv_list(e + 25, add_kv, sc->r);
	}
}

/* /proc is read from src: the process itself, or its parent for a forked
 * child that exited before we looked. */
static void add_process(struct ebt_resources *rs, struct env_scan *sc,
			uint32_t pid, uint32_t src, const char *comm)
{
	char *buf = NULL, link[64], exe[4096], name[256];
	ssize_t n;

	n = read_proc(src, "cmdline", &buf);
	ebt_service_name_from_cmdline(buf ? buf : "", n > 0 ? (size_t)n : 0,
				      name, sizeof(name));
	free(buf);
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "%s", comm);
	snprintf(link, sizeof(link), "/proc/%u/exe", src);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		ebt_resource_add_str(sc->r, "process.executable.name",
				     base_name(exe));
		ebt_resource_add_str(sc->r, "process.executable.path", exe);
	} else {
		ebt_resource_add_str(sc->r, "process.executable.name", comm);
	}
	if (!ebt_resource_get(sc->r, "service.name"))
		ebt_resource_add_str(sc->r, "service.name",
				     sc->service[0] ? sc->service : name);
	else if (sc->service[0])
		ebt_resource_add_str(sc->r, "service.name", sc->service);
	ebt_resource_add_int(sc->r, "process.pid", pid);
	ebt_resource_add_str(sc->r, "host.name", rs->host);
}

/* container.id, container.runtime.name, k8s.pod.uid from the cgroup path;
 * they win over the same keys in the process's OTEL_RESOURCE_ATTRIBUTES. */
static void add_container(struct ebt_resource *r, uint32_t pid)
{
	struct ebt_cgroup_info ci;
	char *buf = NULL;
	ssize_t n = read_proc(pid, "cgroup", &buf);
	const char *rt;

	if (n > 0 && ebt_cgroup_parse(buf, (size_t)n, &ci)) {
		if (ci.container_id[0])
			ebt_resource_add_dyn(r, "container.id",
					     ci.container_id);
		rt = ebt_runtime_name(ci.runtime);
		if (rt)
			ebt_resource_add_dyn(r, "container.runtime.name", rt);
		if (ci.pod_uid[0])
			ebt_resource_add_dyn(r, "k8s.pod.uid", ci.pod_uid);
	}
	free(buf);
}

static struct ebt_resource *build(struct ebt_resources *rs, uint32_t pid,
				  uint32_t src, const char *comm)
{
	struct env_scan sc = {.r = ebt_resource_new(pid)};
	char *env = NULL;
	ssize_t n;

	if (!sc.r)
		return NULL;
	if (rs->extra)
		ebt_parse_kv_list(rs->extra, add_kv, sc.r);
	n = read_proc(src, "environ", &env);
	if (n > 0)
		scan_environ(&sc, env, (size_t)n);
	free(env);
	add_process(rs, &sc, pid, src, comm);
	add_container(sc.r, src);
	ebt_resource_add_str(sc.r, "telemetry.sdk.name", "ebpftrace");
	ebt_resource_add_str(sc.r, "telemetry.sdk.language", "c");
	ebt_resource_add_str(sc.r, "telemetry.sdk.version", EBT_VERSION);
	return sc.r;
}

static struct ebt_resource *get_from(struct ebt_resources *rs, uint32_t tgid,
				      uint32_t src, const char *comm)
{
	struct ebt_resource *r = htab_get(rs->by_tgid, &tgid);
	int err;

	if (r)
		return r;
	r = build(rs, tgid, src, comm ? comm : "unknown");
	if (!r)
		return NULL;
	htab_put(rs->by_tgid, &tgid, r, &err);
	if (err) {
		ebt_resource_unref(r);
		return NULL;
	}
	return r;
}

struct ebt_resource *ebt_resources_get(struct ebt_resources *rs,
				       uint32_t tgid, const char *comm)
{
	return get_from(rs, tgid, tgid, comm);
}

struct ebt_resource *ebt_resources_get_forked(struct ebt_resources *rs,
					      uint32_t child, uint32_t parent,
					      const char *comm)
{
	char *cmd = NULL;
	/* Gone, or a zombie (whose cmdline reads empty): use the parent. */
	bool alive = read_proc(child, "cmdline", &cmd) > 0;

	free(cmd);
	return get_from(rs, child, alive ? child : parent, comm);
}

void ebt_resources_forget(struct ebt_resources *rs, uint32_t tgid)
{
	ebt_resource_unref(htab_del(rs->by_tgid, &tgid));
}
