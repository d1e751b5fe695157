/* SPDX-License-Identifier: Apache-2.0 */
/* Process metadata from /proc, turned into shared resource objects. */
#include "resource.h"
#include "boot_name.h"
#include "jar_routes.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cri.h"
#include "ebpftrace_events.h"
#include "htab.h"
#include "k8s.h"
#include "log.h"

#define EBT_VERSION "0.1.0"
#define PROC_READ_MAX (64 * 1024)

struct ebt_resources {
	struct htab *by_tgid; /* uint32_t -> struct res_entry* */
	struct htab *parents; /* forked tgid -> its parent's, until exit */
	struct htab *progs;   /* exec'd tgid -> struct exec_prog*, until exit */
	char *extra;
	char host[256];
	struct ebt_cri *cri;  /* pod metadata; NULL: none (not owned) */
	char node[256];       /* k8s.node.name */
	struct ebt_k8s *k8s;  /* pods from the API server; NULL: none */
	struct ebt_route_cache *routes; /* Spring MVC mappings by jar */
};

static void free_entry(void *v);

/* What an exec record said of a process's new program: names it once it
 * is gone from /proc (a CGI or inetd handler that answers and exits
 * before its records are read). */
struct exec_prog {
	uint32_t parent; /* the process it was forked from, or 0 */
	char comm[EBT_COMM_LEN];
	char exe[EBT_EXE_LEN];
	size_t args_len;
	char args[EBT_EXEC_ARGS_MAX];
};

/* Bound on remembered programs: exits remove them. */
#define PROGS_MAX 16384

struct ebt_resources *ebt_resources_new(const char *extra)
{
	struct ebt_resources *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->by_tgid = htab_new(sizeof(uint32_t));
	rs->parents = htab_new(sizeof(uint32_t));
	rs->progs = htab_new(sizeof(uint32_t));
	rs->extra = extra ? strdup(extra) : NULL;
	rs->routes = ebt_route_cache_new();
	if (!rs->by_tgid || !rs->parents || !rs->progs || !rs->routes ||
	    (extra && !rs->extra)) {
		ebt_resources_free(rs);
		return NULL;
	}
	if (gethostname(rs->host, sizeof(rs->host) - 1) != 0)
		strcpy(rs->host, "unknown");
	return rs;
}

void ebt_resources_no_routes(struct ebt_resources *rs)
{
	ebt_route_cache_free(rs->routes);
	rs->routes = NULL;
}

void ebt_resources_set_cri(struct ebt_resources *rs, struct ebt_cri *cri,
			   const char *node)
{
	const char *env = getenv("NODE_NAME");

	rs->cri = cri;
	if (!node || !node[0])
		node = env && env[0] ? env : rs->host;
	snprintf(rs->node, sizeof(rs->node), "%s", node);
}

void ebt_resources_set_k8s(struct ebt_resources *rs, struct ebt_k8s *k8s,
			   const char *node)
{
	rs->k8s = k8s;
	if (node && node[0])
		snprintf(rs->node, sizeof(rs->node), "%s", node);
	else if (!rs->node[0])
		ebt_resources_set_cri(rs, rs->cri, NULL);
}

void ebt_resources_free(struct ebt_resources *rs)
{
	if (!rs)
		return;
	htab_free(rs->by_tgid, free_entry);
	htab_free(rs->parents, NULL);
	htab_free(rs->progs, free);
	ebt_route_cache_free(rs->routes);
	free(rs->extra);
	free(rs);
}

/*
 * Another live thread of pid, 0 if none. The files of a process that
 * come from its memory (cmdline, environ, exe, maps) read empty through
 * its main thread once that thread has exited (a C server ending main()
 * with pthread_exit) while others run on; through another thread's
 * /proc/pid/task/tid they still read.
 */
static uint32_t other_thread(uint32_t pid)
{
	char path[64];
	struct dirent *de;
	uint32_t tid = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!tid && (de = readdir(d)) != NULL) {
		unsigned long t = strtoul(de->d_name, NULL, 10);

		if (t && t != pid)
			tid = (uint32_t)t;
	}
	closedir(d);
	return tid;
}

/* /proc/<pid>/<name>, through another thread when the main one's reads
 * nothing (see other_thread); "" when neither exists. */
static void proc_path_live(char *path, size_t len, uint32_t pid,
			   const char *name, bool main_failed)
{
	uint32_t tid = main_failed ? other_thread(pid) : 0;

	if (main_failed && !tid)
		path[0] = '\0';
	else if (tid)
		snprintf(path, len, "/proc/%u/task/%u/%s", pid, tid, name);
	else
		snprintf(path, len, "/proc/%u/%s", pid, name);
}

/* Reads a file into a malloc'd buffer; returns length or -1. */
static ssize_t read_path(const char *path, char **out)
{
	char *buf = malloc(PROC_READ_MAX);
	ssize_t n, total = 0;
	int fd;

	*out = NULL;
	if (!buf || (fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
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

/* Reads a /proc file of pid; returns length or -1. */
static ssize_t read_proc(uint32_t pid, const char *name, char **out)
{
	char path[96];
	ssize_t n;

	proc_path_live(path, sizeof(path), pid, name, false);
	n = read_path(path, out);
	if (n > 0)
		return n;
	proc_path_live(path, sizeof(path), pid, name, true);
	if (!path[0])
		return n;
	free(*out);
	return read_path(path, out);
}

/* readlink of /proc/<pid>/<name>, through another thread if need be. */
static ssize_t readlink_proc(uint32_t pid, const char *name, char *buf,
			     size_t len)
{
	char path[96];
	ssize_t n;

	proc_path_live(path, sizeof(path), pid, name, false);
	n = readlink(path, buf, len);
	if (n > 0)
		return n;
	proc_path_live(path, sizeof(path), pid, name, true);
	return path[0] ? readlink(path, buf, len) : n;
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

/*
 * Interpreters and launchers named after what they run: the script, or
 * the module or file a runtime option names. Each word list is
 * space-separated; a name ending in '*' is a prefix ("python3.11").
 */
struct interp {
	const char *names;  /* the executables */
	const char *values; /* options whose next argument is their value */
	const char *code;   /* options that run inline code: no name */
	const char *module; /* options naming a module to run as the program */
	const char *subcmds; /* leading subcommands passed over (`deno run`) */
	const char *suffix; /* cut from the name ("MyApp.dll" -> "MyApp") */
};

static const struct interp interps[] = {
	{ "python*", "-X -W --check-hash-based-pycs", "-c", "-m", "", "" },
	{ "node* nodejs", "-r --require --import --loader --experimental-loader"
	  " -C --conditions --env-file --title", "-e --eval -p --print", "", "",
	  "" },
	{ "ruby*", "-r -I -C -E", "-e", "", "", "" },
	{ "perl*", "-I -M", "-e -E", "", "", "" },
	{ "php php8* php7*", "-S -t -c -d -z", "-r -R -B -E", "", "", "" },
	{ "bun", "--cwd -r --preload --config", "-e --eval -p --print", "",
	  "run", "" },
	{ "deno", "--config -c --import-map --location --cert --env-file",
	  "eval", "", "run serve", "" },
	{ "sh bash dash zsh ksh mksh ash", "-o +o -O +O", "-c", "", "", "" },
	{ "dotnet", "--additionalprobingpath --depsfile --runtimeconfig"
	  " --fx-version --roll-forward", "", "", "exec", ".dll" },
};

/* Is w one of the space-separated words of list ('*' ends a prefix)? */
static bool in_words(const char *list, const char *w)
{
	size_t wn = strlen(w);

	while (*list) {
		size_t n = strcspn(list, " ");

		if (n > 0 && list[n - 1] == '*'
			    ? wn >= n - 1 && memcmp(list, w, n - 1) == 0
			    : n == wn && memcmp(list, w, n) == 0)
			return true;
		list += n + (list[n] == ' ');
	}
	return false;
}

static const struct interp *find_interp(const char *exe)
{
	for (size_t i = 0; i < sizeof(interps) / sizeof(interps[0]); i++)
		if (in_words(interps[i].names, exe))
			return &interps[i];
	return NULL;
}

/* "MyApp.dll" -> "MyApp" where the interpreter names such a suffix. */
static void put_name(const struct interp *in, const char *a, char *out,
		     size_t outsz)
{
	size_t n = strlen(a), sn = strlen(in->suffix);

	if (sn && n > sn && strcmp(a + n - sn, in->suffix) == 0)
		n -= sn;
	snprintf(out, outsz, "%.*s", (int)n, a);
}

/* The script an interpreter runs (or python's "-m module"). */
static bool script_name(const struct interp *in, char **argv, int argc,
			char *out, size_t outsz)
{
	bool first = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (in_words(in->module, a) && i + 1 < argc) {
			snprintf(out, outsz, "%s", argv[i + 1]);
			return true;
		}
		if (in_words(in->code, a))
			return false; /* inline code: no script name */
		if (in_words(in->values, a)) {
			i++;
			continue;
		}
		if (a[0] == '-' || a[0] == '+')
			continue;
		if (first && in_words(in->subcmds, a)) {
			first = false;
			continue;
		}
		put_name(in, base_name(a), out, outsz);
		return true;
	}
	return false;
}

#define MAX_ARGS 256

/*
 * A program that rewrote its command line into a process title (nginx,
 * postgres, sshd, php-fpm, gunicorn with setproctitle: "nginx: worker
 * process"; puma: "puma 6.4.0 (tcp://0.0.0.0:3000) [app]") has no argv
 * left: its name is the title's first word. The length of that word, or
 * 0 when argv[0] is not such a title (no space, or a path with a space).
 */
static size_t title_name_len(const char *a0, int nonempty_args)
{
	size_t n = strcspn(a0, ": ");

	if (n == 0 || memchr(a0, '/', n))
		return 0;
	if (a0[n] == ':' && (a0[n + 1] == ' ' || a0[n + 1] == '\0'))
		return n;
	return a0[n] == ' ' && nonempty_args == 1 ? n : 0;
}

void ebt_service_name_from_cmdline(const char *cmdline, size_t len,
				   char *out, size_t outsz)
{
	char *copy = malloc(len + 1), *argv[MAX_ARGS];
	int argc = 0, nonempty = 0;
	const struct interp *in;
	const char *exe;
	size_t title;

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
	for (int i = 0; i < argc; i++)
		nonempty += argv[i][0] != '\0';
	title = title_name_len(argv[0], nonempty);
	if (title) {
		snprintf(out, outsz, "%.*s", (int)title, argv[0]);
		free(copy);
		return;
	}
	exe = base_name(argv[0]);
	in = find_interp(exe);
	if (!((strncmp(exe, "java", 4) == 0 &&
	       java_name(argv, argc, out, outsz)) ||
	      (in && script_name(in, argv, argc, out, outsz))))
		snprintf(out, outsz, "%s", exe);
	free(copy);
}

bool ebt_cmdline_is_spawned_worker(const char *cmdline, size_t len)
{
	static const char flag[] = "--multiprocessing-fork";

	for (size_t i = 0; i < len; i += strnlen(cmdline + i, len - i) + 1)
		if (strnlen(cmdline + i, len - i) == sizeof(flag) - 1 &&
		    memcmp(cmdline + i, flag, sizeof(flag) - 1) == 0)
			return true;
	return false;
}

/* The parent's pid from /proc/<pid>/stat ("pid (comm) state ppid ..."),
 * 0 if unknown. */
static uint32_t parent_pid(uint32_t pid)
{
	char *buf = NULL, *p;
	unsigned ppid = 0;

	if (read_proc(pid, "stat", &buf) > 0 && (p = strrchr(buf, ')')) &&
	    sscanf(p + 1, " %*c %u", &ppid) != 1)
		ppid = 0;
	free(buf);
	return ppid;
}

/* The command line that names prog's program: its own, or its parent's
 * for a spawned worker. */
static ssize_t program_cmdline(uint32_t prog, char **buf)
{
	ssize_t n = read_proc(prog, "cmdline", buf);
	uint32_t pp;

	if (n > 0 && ebt_cmdline_is_spawned_worker(*buf, (size_t)n) &&
	    (pp = parent_pid(prog)) > 1) {
		char *pbuf = NULL;
		ssize_t pn = read_proc(pp, "cmdline", &pbuf);

		if (pn > 0) {
			free(*buf);
			*buf = pbuf;
			return pn;
		}
		free(pbuf);
	}
	return n;
}

/* ---- service.name precedence ------------------------------------------ */

enum ebt_svc_source ebt_service_name_pick(const struct ebt_svc_candidates *c,
					  const char **out)
{
	for (int i = 0; i < EBT_SVC__COUNT; i++) {
		if (c->by[i] && c->by[i][0]) {
			*out = c->by[i];
			return (enum ebt_svc_source)i;
		}
	}
	*out = NULL;
	return EBT_SVC_NONE;
}

const char *ebt_svc_source_name(enum ebt_svc_source s)
{
	static const char *const names[EBT_SVC__COUNT + 1] = {
		"env", "env-attributes", "jvm-property", "annotation",
		"label-instance", "label-name", "owner", "pod", "container",
		"process", "none",
	};

	return (unsigned)s <= EBT_SVC__COUNT ? names[s] : "none";
}

/* ---- building one resource --------------------------------------------- */

#define SVC_MAX 256

/* What a resource was built from, kept to build it again with pod data. */
struct res_entry {
	struct ebt_resource *r;
	char env[SVC_MAX];   /* OTEL_SERVICE_NAME */
	char attrs[SVC_MAX]; /* service.name from OTEL_RESOURCE_ATTRIBUTES */
	char jvm[SVC_MAX];   /* -Dotel.service.name= */
	char proc[SVC_MAX];  /* name from the command line, else comm */
	char container_id[EBT_CONTAINER_ID_LEN + 1];
	uint64_t cri_version; /* map version of the last lookup */
	char pod_uid[K8S_UID_MAX + 1]; /* from the cgroup path */
	uint64_t k8s_version; /* API client's version at the last lookup */
	bool cri_applied;     /* the CRI pod's attributes are in r */
	bool pending;         /* in a container the CRI map did not know */
	bool blind;           /* built with no /proc and no comm: "unknown" */
	const struct ebt_routes *routes; /* its jar's mappings (rs->routes) */
	char context_path[EBT_CONTEXT_PATH_MAX]; /* "/shop": its routes' prefix */
	bool context_env; /* SERVER_SERVLET_CONTEXT_PATH set it */
	unsigned web;	  /* its Spring Boot web stack (ebt_routes_fallback) */
	char profiles[EBT_PROFILES_MAX]; /* SPRING_PROFILES_ACTIVE */
};

static void free_entry(void *v)
{
	struct res_entry *e = v;

	ebt_resource_unref(e->r);
	free(e);
}

static void add_kv(void *ctx, const char *k, const char *v)
{
	ebt_resource_add_dyn(ctx, k, v);
}

/* The context path's keys (EBT_CONTEXT_PATH_KEYS) as environment
 * variables: SERVER_SERVLET_CONTEXT_PATH=..., QUARKUS_HTTP_ROOT_PATH=... */
static bool context_env_var(const char *v)
{
	static const char *const vars[] = {
		"SERVER_SERVLET_CONTEXT_PATH=", "SPRING_WEBFLUX_BASE_PATH=",
		"MICRONAUT_SERVER_CONTEXT_PATH=", "QUARKUS_HTTP_ROOT_PATH=",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!strncmp(v, vars[i], strlen(vars[i])))
			return true;
	return false;
}

/* OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the environment. */
static void scan_environ(struct res_entry *e, const char *env, size_t len)
{
	for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
		const char *v = env + i;

		if (strncmp(v, "OTEL_SERVICE_NAME=", 18) == 0 && v[18])
			snprintf(e->env, sizeof(e->env), "%s", v + 18);
		else if (strncmp(v, "OTEL_RESOURCE_ATTRIBUTES=", 25) == 0)
			ebt_parse_kv_list(v + 25, add_kv, e->r);
		else if (context_env_var(v))
			e->context_env = true,
			ebt_context_path(strchr(v, '=') + 1,
					 strlen(strchr(v, '=') + 1),
					 e->context_path);
		else if (strncmp(v, "SPRING_PROFILES_ACTIVE=", 23) == 0)
			snprintf(e->profiles, sizeof(e->profiles), "%s",
				 v + 23);
	}
}

/* The first argument of cmd[0..len) names a java executable (its last
 * path element starts with "java"). cmd need not end in a NUL: an exec
 * record carries the first bytes of a command line, cut anywhere. */
static bool runs_java(const char *cmd, size_t len)
{
	size_t n = strnlen(cmd, len);
	const char *slash = memrchr(cmd, '/', n);
	const char *base = slash ? slash + 1 : cmd;

	return (size_t)(cmd + n - base) >= 4 && memcmp(base, "java", 4) == 0;
}

/* java ... <prop>x ...: x into out (the last one), else out is kept. */
static void jvm_property(const char *cmd, size_t len, const char *prop,
			 char *out, size_t outsz)
{
	size_t pl = strlen(prop);

	if (len == 0 || !runs_java(cmd, len))
		return;
	for (size_t i = 0; i < len; i += strnlen(cmd + i, len - i) + 1) {
		if (len - i > pl && strncmp(cmd + i, prop, pl) == 0 &&
		    cmd[i + pl])
			snprintf(out, outsz, "%.*s",
				 (int)strnlen(cmd + i + pl, len - i - pl),
				 cmd + i + pl);
	}
}

/* What names a process's program. */
struct prog_src {
	uint32_t pid;         /* the process whose cmdline and exe say it */
	const char *comm;     /* its process name */
	/* pid 0 (gone from /proc): the name of the file it runs (comm if
	 * NULL), and the command line it exec'd (NULL: none) */
	const char *exe_name;
	const char *args;
	size_t args_len;
};

/* path as process pid sees it: through its root or working directory (a
 * container's file system). */
static void proc_path(uint32_t pid, const char *path, char *out, size_t n)
{
	snprintf(out, n, path[0] == '/' ? "/proc/%u/root%s" : "/proc/%u/cwd/%s",
		 pid, path);
}

/* Where a java command line is: before its main class or jar (options,
 * whose @argfiles the launcher reads), or at the app's own arguments. */
struct java_args {
	bool value; /* the next argument is an option's value */
	bool jar;   /* the next argument is -jar's */
	bool app;   /* the main class or jar has been passed */
};

/* The argument a was passed. */
static void java_arg(struct java_args *ja, const char *a)
{
	if (ja->app)
		return;
	if (ja->value || ja->jar) {
		ja->app = ja->jar;
		ja->value = ja->jar = false;
	} else if (strcmp(a, "-jar") == 0) {
		ja->jar = true;
	} else if (java_opt_takes_value(a)) {
		ja->value = true;
	} else if (a[0] != '-') {
		ja->app = true;
	}
}

/* The arguments out[from..to) (each NUL-terminated) were passed. */
static void java_args_seen(struct java_args *ja, const char *out,
			   size_t from, size_t to)
{
	for (size_t i = from; i < to && !ja->app; i += strlen(out + i) + 1)
		java_arg(ja, out + i);
}

/* What the options of a java command line name, up to its main class or
 * jar (the app's own arguments are not the launcher's). */
struct java_cmd {
	const char *jar; /* `-jar app.jar`; NULL if it runs a class */
	const char *cp;	 /* the class path option's value (the last one) */
};

static bool is_cp_opt(const char *a)
{
	return strcmp(a, "-cp") == 0 || strcmp(a, "-classpath") == 0 ||
	       strcmp(a, "--class-path") == 0;
}

/* Reads the NUL-separated command line cmd[0..n) into jc; false if it
 * does not run java. */
static bool java_cmd(const char *cmd, size_t n, struct java_cmd *jc)
{
	struct java_args ja = {0};
	const char *end = cmd + n, *prev = "";

	jc->jar = jc->cp = NULL;
	if (!runs_java(cmd, n) || !memchr(cmd, '\0', n))
		return false;
	for (const char *a = cmd + strlen(cmd) + 1;
	     a < end && !ja.app && memchr(a, '\0', (size_t)(end - a));
	     prev = a, a += strlen(a) + 1) {
		if (ja.jar)
			jc->jar = a;
		else if (ja.value && is_cp_opt(prev))
			jc->cp = a;
		else if (!ja.value && !strncmp(a, "--class-path=", 13))
			jc->cp = a + 13;
		java_arg(&ja, a);
	}
	return true;
}

/* Appends the arguments of the @argfile a (its path after the '@') to
 * out[*at..); false if it cannot be read. */
static bool read_argfile(uint32_t pid, const char *a, char *out, size_t *at)
{
	char path[4200], *text;
	ssize_t tn;

	proc_path(pid, a + 1, path, sizeof(path));
	if ((tn = read_path(path, &text)) < 0)
		return false;
	ebt_java_argfile(text, (size_t)tn, out, PROC_READ_MAX, at);
	free(text);
	return true;
}

/*
 * A java command line with its @argfiles read in, as the launcher reads
 * them: before the main class or jar, not in the app's own arguments (Jib:
 * `java -cp @/app/jib-classpath-file @/app/jib-main-class-file`), through
 * the process's root; NULL if it has none (or on error).
 */
static char *expand_argfiles(uint32_t pid, const char *cmd, size_t n,
			     size_t *out_n)
{
	struct java_args ja = {0};
	size_t at = 0, k, from;
	bool any = false;
	char *out;

	if (!runs_java(cmd, n) || !(out = malloc(PROC_READ_MAX)))
		return NULL;
	for (size_t i = 0; i < n; i += k + 1) {
		const char *a = cmd + i;

		k = strnlen(a, n - i);
		from = at;
		if (i > 0 && !ja.app && a[0] == '@' && a[1] && a[1] != '@' &&
		    k < 4000 && read_argfile(pid, a, out, &at)) {
			any = true;
		} else {
			if (at + k + 1 > PROC_READ_MAX)
				break;
			memcpy(out + at, a, k);
			out[at + k] = '\0';
			at += k + 1;
		}
		if (i > 0)
			java_args_seen(&ja, out, from, at);
	}
	if (!any) {
		free(out);
		return NULL;
	}
	*out_n = at;
	return out;
}

/*
 * A Spring Boot launcher run from the unpacked jar names the app by that
 * directory (boot_name.h), or by the jar a launcher was given as its class
 * path (`java -cp app.jar ...PropertiesLauncher`).
 */
static void boot_launcher_name(uint32_t pid, const char *cmd, size_t n,
			       char *out, size_t outsz)
{
	char dir[1024], root[1200], name[SVC_MAX] = "";
	size_t dn;

	if (!ebt_boot_launcher_dir(cmd, n, dir, sizeof(dir)))
		return;
	dn = strlen(dir);
	proc_path(pid, dir, root, sizeof(root));
	if (dn > 4 && strcmp(dir + dn - 4, ".jar") == 0)
		jar_name(dir, name, sizeof(name));
	else if (!ebt_boot_app_name(root, name, sizeof(name)))
		name[0] = '\0';
	if (name[0])
		snprintf(out, outsz, "%s", name);
}

#define CP_DIRS_MAX 16

/* ebt_spring_lib_bits of a class path entry: a jar, or a directory's
 * jars (Jib's /app/libs, given as a wildcard). */
static unsigned cp_lib_bits(uint32_t pid, const char *entry, size_t len)
{
	char path[4200];
	unsigned bits = 0, seen = 0;
	struct dirent *de;
	const char *b;
	DIR *d;

	if (len > 4 && !strcmp(entry + len - 4, ".jar")) {
		b = strrchr(entry, '/');
		b = b ? b + 1 : entry;
		return ebt_spring_lib_bits(b, strlen(b));
	}
	if (len < 2 || strcmp(entry + len - 2, "/*") != 0)
		return 0;
	proc_path(pid, entry, path, sizeof(path));
	path[strlen(path) - 2] = '\0';
	if (!(d = opendir(path)))
		return 0;
	while (seen++ < 10000 && (de = readdir(d)))
		bits |= ebt_spring_lib_bits(de->d_name, strlen(de->d_name));
	closedir(d);
	return bits;
}

/* The routes of the first directory of the class path cp that has some
 * (Jib's /app/classes; jars are libraries), and into cfg the config files
 * of all of them (Jib's /app/resources), into lib_bits the Spring
 * libraries on it. */
static const struct ebt_routes *cp_routes(struct ebt_resources *rs,
					  uint32_t pid, const char *cp,
					  struct ebt_spring_cfg *cfg,
					  unsigned *lib_bits)
{
	const struct ebt_routes *found = NULL, *r;
	char entry[1024], path[4200];
	int fd;

	for (unsigned k = 0; *cp && k < CP_DIRS_MAX; k++) {
		size_t len = strcspn(cp, ":");

		snprintf(entry, sizeof(entry), "%.*s", (int)len, cp);
		cp += len + (cp[len] == ':');
		if (len && len < sizeof(entry))
			*lib_bits |= cp_lib_bits(pid, entry, len);
		if (!len || len >= sizeof(entry) || entry[len - 1] == '*' ||
		    (len > 4 && !strcmp(entry + len - 4, ".jar")))
			continue;
		proc_path(pid, entry, path, sizeof(path));
		if (!found && (r = ebt_route_cache_get(rs->routes, path, true)))
			found = r;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			ebt_spring_cfg_dir(cfg, fd, false, NULL);
			close(fd);
		}
	}
	return found;
}

/* Into out, the jar `java -jar jar` runs as process pid sees it; for
 * Quarkus's launcher (quarkus-app/quarkus-run.jar, which holds none of the
 * app's classes), the app's own jar: the first in app/ next to it. */
static void quarkus_app_jar(uint32_t pid, const char *jar, char *out,
			    size_t n)
{
	const char *base = strrchr(jar, '/');
	char dir[4200];
	struct dirent *de;
	DIR *d;
	size_t len;

	proc_path(pid, jar, out, n);
	if (strcmp(base ? base + 1 : jar, "quarkus-run.jar") != 0)
		return;
	snprintf(dir, sizeof(dir), "%.*sapp", (int)(strlen(out) - 15), out);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".jar") &&
		    (size_t)snprintf(out, n, "%s/%s", dir, de->d_name) < n)
			break;
	}
	closedir(d);
}

/* `java -jar quarkus-app/quarkus-run.jar` is named by the app's jar in
 * quarkus-app/app/ (code-with-quarkus-1.0.0.jar: code-with-quarkus). */
static void quarkus_name(uint32_t pid, const char *cmd, size_t n, char *out,
			 size_t outsz)
{
	struct java_cmd jc;
	char path[4200];
	const char *b;

	if (!java_cmd(cmd, n, &jc) || !jc.jar)
		return;
	b = strrchr(jc.jar, '/');
	if (strcmp(b ? b + 1 : jc.jar, "quarkus-run.jar") != 0)
		return;
	quarkus_app_jar(pid, jc.jar, path, sizeof(path));
	b = strrchr(path, '/');
	if (b && strcmp(b + 1, "quarkus-run.jar") != 0)
		jar_name(path, out, outsz);
}

/* The Spring MVC mappings of the jar `java -jar` runs, of the unpacked
 * jar a Spring Boot launcher runs in (or the jar it was given), or of
 * the class path's directories; *inside: the config files they came with
 * (the jar's, or cp_cfg filled with the class path directories'). */
static const struct ebt_routes *app_routes(struct ebt_resources *rs,
					   uint32_t pid, const char *cmd,
					   size_t n, struct ebt_spring_cfg *cp_cfg,
					   const struct ebt_spring_cfg **inside,
					   unsigned *web)
{
	struct java_cmd jc;
	const struct ebt_routes *r;
	char dir[1024], path[4200];
	unsigned bits = 0;

	*inside = cp_cfg;
	*web = EBT_WEB_NONE;
	if (!rs->routes || !java_cmd(cmd, n, &jc))
		return NULL;
	if (jc.jar && jc.jar[0])
		quarkus_app_jar(pid, jc.jar, path, sizeof(path));
	else if (ebt_boot_launcher_dir(cmd, n, dir, sizeof(dir)))
		proc_path(pid, dir, path, sizeof(path));
	else if (!jc.cp)
		return NULL;
	else {
		r = cp_routes(rs, pid, jc.cp, cp_cfg, &bits);
		*web = ebt_boot_web(bits);
		return r;
	}
	r = ebt_route_cache_get(rs->routes, path, false);
	if (r) {
		*inside = &r->cfg;
		*web = r->web;
	}
	return r;
}

/* Where a ${name} in a config file's value is looked up: the JVM's system
 * properties (-Dname=), then its environment, by the name or as Spring
 * maps a name to a variable (server.port: SERVER_PORT). */
struct jvm_env {
	const char *cmd, *env;
	size_t cmd_n, env_n;
	char value[EBT_CONTEXT_PATH_MAX];
};

static const char *env_value(const char *env, size_t len, const char *name)
{
	size_t k = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < len; i += strnlen(env + i, len - i) + 1)
		if (len - i > k && !strncmp(env + i, name, k) &&
		    env[i + k] == '=')
			v = env + i + k + 1;
	return v;
}

static const char *jvm_lookup(void *ctx, const char *name, size_t n)
{
	struct jvm_env *je = ctx;
	char key[EBT_CONTEXT_PATH_MAX + 4];
	const char *v;

	if (n + 4 > sizeof(key))
		return NULL;
	snprintf(key, sizeof(key), "-D%.*s=", (int)n, name);
	je->value[0] = '\0';
	jvm_property(je->cmd, je->cmd_n, key, je->value, sizeof(je->value));
	if (je->value[0])
		return je->value;
	snprintf(key, sizeof(key), "%.*s", (int)n, name);
	if ((v = env_value(je->env, je->env_n, key)))
		return v;
	for (char *c = key; *c; c++)
		*c = *c == '.' || *c == '-' ? '_' : (char)toupper(*c);
	return env_value(je->env, je->env_n, key);
}

/* The prefix of the app's routes, as Spring Boot takes it: a program
 * argument, then a system property, then the environment (read before),
 * then the config files, of the working directory (./, ./config/) over
 * those inside the app, for the active profiles (an argument, a system
 * property or SPRING_PROFILES_ACTIVE). */
static void context_path(struct res_entry *e, uint32_t pid, const char *cmd,
			 size_t n, const struct ebt_spring_cfg *inside,
			 const char *env, size_t env_n)
{
	struct jvm_env je = {.cmd = cmd, .cmd_n = n, .env = env,
			     .env_n = env_n};
	struct ebt_spring_env look = {.lookup = jvm_lookup, .ctx = &je};
	static const char *const keys[] = EBT_CONTEXT_PATH_KEYS;
	char v[EBT_CONTEXT_PATH_MAX] = "", cwd[64], opt[64];
	struct ebt_spring_cfg *outside;
	int fd;

	if (!e->routes)
		return;
	for (size_t i = 0; i < EBT_CONTEXT_PATH_NKEYS; i++) {
		snprintf(opt, sizeof(opt), "-D%s=", keys[i]);
		jvm_property(cmd, n, opt, v, sizeof(v));
	}
	jvm_property(cmd, n, "--server.servlet.context-path=", v, sizeof(v));
	jvm_property(cmd, n, "--spring.webflux.base-path=", v, sizeof(v));
	if (v[0] || e->context_env) {
		if (v[0])
			ebt_context_path(v, strlen(v), e->context_path);
		return;
	}
	jvm_property(cmd, n, "-Dspring.profiles.active=", e->profiles,
		     sizeof(e->profiles));
	jvm_property(cmd, n, "--spring.profiles.active=", e->profiles,
		     sizeof(e->profiles));
	outside = calloc(1, sizeof(*outside));
	snprintf(cwd, sizeof(cwd), "/proc/%u/cwd", pid);
	if (outside && (fd = open(cwd, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		ebt_spring_cfg_dir(outside, fd, true, e->profiles);
		close(fd);
	}
	ebt_spring_context_path(inside, outside, e->profiles, &look,
				e->context_path);
	free(outside);
}

static void add_process(struct ebt_resources *rs, struct res_entry *e,
			uint32_t pid, const struct prog_src *ps,
			const char *env, size_t env_n)
{
	const char *comm = ps->comm, *exe_name = ps->exe_name;
	char *buf = NULL, exe[4096];
	const char *cmd = ps->args ? ps->args : "";
	ssize_t n = ps->args ? (ssize_t)ps->args_len : 0;

	char *expanded = NULL;
	const struct ebt_spring_cfg *inside;
	struct ebt_spring_cfg *cp_cfg = calloc(1, sizeof(*cp_cfg));
	size_t en;

	if (ps->pid) {
		n = program_cmdline(ps->pid, &buf);
		cmd = buf ? buf : "";
	}
	if (ps->pid && n > 0 &&
	    (expanded = expand_argfiles(ps->pid, cmd, (size_t)n, &en))) {
		cmd = expanded;
		n = (ssize_t)en;
	}
	ebt_service_name_from_cmdline(cmd, n > 0 ? (size_t)n : 0, e->proc,
				      sizeof(e->proc));
	if (ps->pid && n > 0) {
		boot_launcher_name(ps->pid, cmd, (size_t)n, e->proc,
				   sizeof(e->proc));
		quarkus_name(ps->pid, cmd, (size_t)n, e->proc,
			     sizeof(e->proc));
		if (cp_cfg) {
			e->routes = app_routes(rs, ps->pid, cmd, (size_t)n,
					       cp_cfg, &inside, &e->web);
			context_path(e, ps->pid, cmd, (size_t)n, inside, env,
				     env_n);
		}
	}
	free(cp_cfg);
	e->jvm[0] = '\0';
	jvm_property(cmd, n > 0 ? (size_t)n : 0, "-Dotel.service.name=", e->jvm,
		     sizeof(e->jvm));
	free(buf);
	free(expanded);
	if (e->proc[0] == '\0')
		snprintf(e->proc, sizeof(e->proc), "%s", comm);
	n = ps->pid ? readlink_proc(ps->pid, "exe", exe, sizeof(exe) - 1) : -1;
	if (n > 0) {
		exe[n] = '\0';
		ebt_resource_add_str(e->r, "process.executable.name",
				     base_name(exe));
		ebt_resource_add_str(e->r, "process.executable.path", exe);
	} else {
		ebt_resource_add_str(e->r, "process.executable.name",
				     exe_name ? exe_name : comm);
	}
	ebt_resource_add_int(e->r, "process.pid", pid);
	ebt_resource_add_str(e->r, "host.name", rs->host);
}

/* container.id, container.runtime.name, k8s.pod.uid from the cgroup path;
 * they win over the same keys in the process's OTEL_RESOURCE_ATTRIBUTES. */
static void add_container(struct res_entry *e, uint32_t pid)
{
	struct ebt_cgroup_info ci;
	char *buf = NULL;
	ssize_t n = read_proc(pid, "cgroup", &buf);
	const char *rt;

	if (n > 0 && ebt_cgroup_parse(buf, (size_t)n, &ci)) {
		if (ci.container_id[0]) {
			ebt_resource_add_dyn(e->r, "container.id",
					     ci.container_id);
			memcpy(e->container_id, ci.container_id,
			       sizeof(e->container_id));
		}
		rt = ebt_runtime_name(ci.runtime);
		if (rt)
			ebt_resource_add_dyn(e->r, "container.runtime.name",
					     rt);
		if (ci.pod_uid[0])
			ebt_resource_add_dyn(e->r, "k8s.pod.uid", ci.pod_uid);
		snprintf(e->pod_uid, sizeof(e->pod_uid), "%s", ci.pod_uid);
	}
	free(buf);
}

/* A pod label: CRI's, else the API server's. */
static const char *pod_label(const struct ebt_pod *pod,
			     const struct ebt_k8s_pod *kp, const char *key)
{
	return pod ? ebt_pod_label(pod, key) : ebt_k8s_pod_label(kp, key);
}

/* Pod sources when only the API server knows the pod. */
static void k8s_candidates(struct ebt_svc_candidates *c,
			   const struct ebt_k8s_pod *kp)
{
	c->by[EBT_SVC_ANNOTATION] = ebt_k8s_pod_annotation(
		kp, "resource.opentelemetry.io/service.name");
	c->by[EBT_SVC_LABEL_INSTANCE] =
		ebt_k8s_pod_label(kp, "app.kubernetes.io/instance");
	c->by[EBT_SVC_LABEL_NAME] =
		ebt_k8s_pod_label(kp, "app.kubernetes.io/name");
	c->by[EBT_SVC_POD] = kp->name;
}

/* service.name of r from the entry's process sources and the pod's
 * (CRI's pod, the API server's kp: either may be NULL). */
static void set_service(struct res_entry *e, struct ebt_resource *r,
			const struct ebt_pod *pod, const char *ctr,
			const struct ebt_k8s_pod *kp)
{
	struct ebt_svc_candidates c = {{0}};
	const char *name;

	c.by[EBT_SVC_ENV] = e->env;
	c.by[EBT_SVC_ENV_ATTRS] = e->attrs;
	c.by[EBT_SVC_JVM_PROP] = e->jvm;
	if (kp)
		k8s_candidates(&c, kp);
	c.by[EBT_SVC_OWNER] = ebt_k8s_pod_workload(kp);
	if (pod) {
		c.by[EBT_SVC_ANNOTATION] = ebt_pod_annotation(
			pod, "resource.opentelemetry.io/service.name");
		c.by[EBT_SVC_LABEL_INSTANCE] =
			ebt_pod_label(pod, "app.kubernetes.io/instance");
		c.by[EBT_SVC_LABEL_NAME] =
			ebt_pod_label(pod, "app.kubernetes.io/name");
		c.by[EBT_SVC_POD] = pod->name;
		c.by[EBT_SVC_CONTAINER] = ctr;
	}
	c.by[EBT_SVC_PROCESS] = e->proc;
	if (ebt_service_name_pick(&c, &name) != EBT_SVC_NONE)
		ebt_resource_add_str(r, "service.name", name);
}

static void add_if(struct ebt_resource *r, const char *key, const char *v)
{
	if (v && v[0])
		ebt_resource_add_str(r, key, v);
}

/* The pod's attributes (they win over OTEL_RESOURCE_ATTRIBUTES, except
 * service.namespace, which the process may set itself). */
static void add_pod(struct ebt_resources *rs, struct res_entry *e,
		    struct ebt_resource *r, const struct ebt_pod *pod,
		    const char *ctr, const struct ebt_k8s_pod *kp)
{
	const char *ns = pod ? pod->ns : kp->ns;

	add_if(r, "k8s.namespace.name", ns);
	add_if(r, "k8s.pod.name", pod ? pod->name : kp->name);
	add_if(r, "k8s.pod.uid", pod ? pod->uid : kp->uid);
	add_if(r, "k8s.container.name", ctr);
	add_if(r, "k8s.node.name", rs->node);
	add_if(r, "k8s.pod.ip", pod && pod->ip[0] ? pod->ip :
				 kp ? kp->ip : NULL);
	add_if(r, "k8s.pod.label.app.kubernetes.io/name",
	       pod_label(pod, kp, "app.kubernetes.io/name"));
	for (int k = 0; kp && k < K8S_KIND__COUNT; k++)
		add_if(r, ebt_k8s_kind_attr(k), kp->workload[k]);
	if (!ebt_resource_get(r, "service.namespace"))
		add_if(r, "service.namespace", ns);
	set_service(e, r, pod, ctr, kp);
}

/* A copy of r's attributes in a new resource. */
static struct ebt_resource *clone_resource(const struct ebt_resource *r)
{
	struct ebt_resource *n = ebt_resource_new(r->pid);

	for (unsigned i = 0; n && i < r->n_attrs; i++) {
		const struct ebt_attr *a = &r->attrs[i];

		if (a->type == EBT_ATTR_STR && a->key_owned)
			ebt_resource_add_dyn(n, a->key, a->str);
		else if (a->type == EBT_ATTR_STR)
			ebt_resource_add_str(n, a->key, a->str);
		else if (a->type == EBT_ATTR_INT && !a->key_owned)
			ebt_resource_add_int(n, a->key, a->num);
	}
	return n;
}

/*
 * Pod metadata for the entry's container: from CRI by container id, from
 * the API server by pod uid (the cgroup's, else CRI's). build: r is the
 * entry's new resource, enriched in place. Otherwise (pending, a source
 * changed) a copy with the pod's attributes replaces it. Pending while a
 * configured source does not know the pod yet.
 */
static void resolve_pod(struct ebt_resources *rs, struct res_entry *e,
			bool build)
{
	struct ebt_resource *r;
	struct ebt_pod *pod = NULL;
	struct ebt_k8s_pod *kp = NULL;
	char ctr[CRI_NAME_MAX + 1] = "";

	e->pending = false;
	e->cri_version = ebt_cri_version(rs->cri);
	e->k8s_version = ebt_k8s_version(rs->k8s);
	if (rs->cri && e->container_id[0])
		pod = ebt_cri_lookup(rs->cri, e->container_id, ctr,
				     sizeof(ctr));
	if (rs->k8s && (e->pod_uid[0] || pod))
		kp = ebt_k8s_lookup(rs->k8s, e->pod_uid[0] ? e->pod_uid :
					     pod->uid);
	e->pending = (rs->cri && e->container_id[0] && !pod) ||
		     (rs->k8s && e->pod_uid[0] && !kp);
	if (e->pending && build)
		log_debug("pid %u: container %.12s / pod %s not known (yet): "
			  "pod metadata pending", e->r->pid, e->container_id,
			  e->pod_uid);
	if ((!pod && !kp) || (!build && !kp && e->cri_applied)) {
		ebt_pod_unref(pod); /* nothing new: the API still misses it */
		return;
	}
	e->cri_applied = pod != NULL;
	if (!build)
		log_debug("pid %u: pod metadata arrived (%s/%s)", e->r->pid,
			  pod ? pod->ns : kp->ns, pod ? pod->name : kp->name);
	r = build ? e->r : clone_resource(e->r);
	if (r) {
		add_pod(rs, e, r, pod, ctr, kp);
		if (!build) {
			ebt_resource_unref(e->r);
			e->r = r;
		}
	} else {
		e->pending = true; /* out of memory: try again later */
	}
	ebt_pod_unref(pod);
	ebt_k8s_pod_unref(kp);
}

/* /proc is read from src (environment, cgroup): the process itself, or
 * its parent for a child that exited before we looked. */
static struct res_entry *build(struct ebt_resources *rs, uint32_t pid,
			       uint32_t src, const struct prog_src *ps)
{
	struct res_entry *e = calloc(1, sizeof(*e));
	const char *attr_svc;
	char *env = NULL;
	ssize_t n;

	if (!e || !(e->r = ebt_resource_new(pid))) {
		free(e);
		return NULL;
	}
	if (rs->extra)
		ebt_parse_kv_list(rs->extra, add_kv, e->r);
	n = read_proc(src, "environ", &env);
	if (n > 0)
		scan_environ(e, env, (size_t)n);
	attr_svc = ebt_resource_get(e->r, "service.name");
	snprintf(e->attrs, sizeof(e->attrs), "%s", attr_svc ? attr_svc : "");
	add_process(rs, e, pid, ps, env ? env : "", n > 0 ? (size_t)n : 0);
	free(env);
	add_container(e, src);
	set_service(e, e->r, NULL, NULL, NULL);
	ebt_resource_add_str(e->r, "telemetry.sdk.name", "ebpftrace");
	ebt_resource_add_str(e->r, "telemetry.sdk.language", "c");
	ebt_resource_add_str(e->r, "telemetry.sdk.version", EBT_VERSION);
	resolve_pod(rs, e, true);
	return e;
}

/* src: the process to read the environment and cgroup of; ps: what names
 * its program (ps->comm NULL: not known). */
static struct ebt_resource *get_from(struct ebt_resources *rs, uint32_t tgid,
				      uint32_t src, struct prog_src *ps)
{
	struct res_entry *e = htab_get(rs->by_tgid, &tgid);
	const char *comm = ps->comm;
	int err;

	/*
	 * A process first seen by a record without its comm (a log write)
	 * after it had exited: build it again once a record names it.
	 */
	if (e && e->blind && comm) {
		free_entry(htab_del(rs->by_tgid, &tgid));
		e = NULL;
	}
	if (e) {
		if (e->pending &&
		    (ebt_cri_version(rs->cri) != e->cri_version ||
		     ebt_k8s_version(rs->k8s) != e->k8s_version))
			resolve_pod(rs, e, false);
		return e->r;
	}
	ps->comm = comm ? comm : "unknown";
	e = build(rs, tgid, src, ps);
	if (!e)
		return NULL;
	e->blind = !comm && strcmp(e->proc, "unknown") == 0;
	htab_put(rs->by_tgid, &tgid, e, &err);
	if (err) {
		free_entry(e);
		return NULL;
	}
	return e->r;
}

/* Gone from /proc, or a zombie (whose cmdline reads empty)? */
static bool proc_gone(uint32_t pid)
{
	char *cmd = NULL;
	bool gone = read_proc(pid, "cmdline", &cmd) <= 0;

	free(cmd);
	return gone;
}

/* tgid, gone, exec'd the program p says: named by it, with the
 * environment and cgroup of the process it was forked from. */
static struct ebt_resource *get_gone_execd(struct ebt_resources *rs,
					    uint32_t tgid,
					    const struct exec_prog *p,
					    const char *comm)
{
	struct prog_src ps = {
		.comm = p->comm[0] ? p->comm : comm,
		.exe_name = p->exe[0] ? p->exe : NULL,
		.args = p->args_len ? p->args : NULL,
		.args_len = p->args_len,
	};

	return get_from(rs, tgid, p->parent ? p->parent : tgid, &ps);
}

struct ebt_resource *ebt_resources_get(struct ebt_resources *rs,
				       uint32_t tgid, const char *comm)
{
	uintptr_t parent = (uintptr_t)htab_get(rs->parents, &tgid);
	struct prog_src ps = {.pid = tgid, .comm = comm};
	const struct exec_prog *p;

	if (htab_get(rs->by_tgid, &tgid))
		return get_from(rs, tgid, tgid, &ps);
	if (parent)
		return ebt_resources_get_forked(rs, tgid, (uint32_t)parent,
						comm);
	p = htab_get(rs->progs, &tgid);
	if (p && proc_gone(tgid))
		return get_gone_execd(rs, tgid, p, comm);
	return get_from(rs, tgid, tgid, &ps);
}

bool ebt_resources_routes(struct ebt_resources *rs, uint32_t tgid,
			  struct ebt_app_routes *out)
{
	struct res_entry *e = rs ? htab_get(rs->by_tgid, &tgid) : NULL;

	out->routes = e ? e->routes : NULL;
	out->context_path = e ? e->context_path : "";
	out->web = e ? e->web : EBT_WEB_NONE;
	return out->routes != NULL;
}

void ebt_resources_note_exec(struct ebt_resources *rs, uint32_t tgid)
{
	htab_del(rs->parents, &tgid);
}

/* The record of tgid's program, made for it if new; NULL if none can be. */
static struct exec_prog *prog_of(struct ebt_resources *rs, uint32_t tgid)
{
	struct exec_prog *p = htab_get(rs->progs, &tgid);
	int err;

	if (p || htab_len(rs->progs) >= PROGS_MAX ||
	    !(p = calloc(1, sizeof(*p))))
		return p;
	htab_put(rs->progs, &tgid, p, &err);
	if (err) {
		free(p);
		return NULL;
	}
	return p;
}

void ebt_resources_exec(struct ebt_resources *rs, uint32_t tgid,
			const char *comm, const char *exe, const char *args,
			size_t args_len)
{
	uintptr_t parent = (uintptr_t)htab_get(rs->parents, &tgid);
	struct res_entry *e = htab_del(rs->by_tgid, &tgid);
	struct exec_prog *p = prog_of(rs, tgid);

	if (e) /* it named the program before the exec */
		free_entry(e);
	ebt_resources_note_exec(rs, tgid);
	if (!p)
		return;
	if (parent) /* a second exec (sh -c, then exec) keeps the first's */
		p->parent = (uint32_t)parent;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->exe, sizeof(p->exe), "%s", exe);
	p->args_len = args_len < sizeof(p->args) ? args_len : sizeof(p->args);
	memcpy(p->args, args, p->args_len);
}

/* Bound on remembered forks: exits remove them; this stops a leak if
 * exit records are lost. */
#define PARENTS_MAX 65536

void ebt_resources_note_fork(struct ebt_resources *rs, uint32_t child,
			     uint32_t parent)
{
	int err;

	if (parent && htab_len(rs->parents) < PARENTS_MAX)
		htab_put(rs->parents, &child, (void *)(uintptr_t)parent, &err);
}

struct ebt_resource *ebt_resources_get_forked(struct ebt_resources *rs,
					      uint32_t child, uint32_t parent,
					      const char *comm)
{
	uint32_t from = proc_gone(child) ? parent : child;
	struct prog_src ps = {.pid = from, .comm = comm};

	return get_from(rs, child, from, &ps);
}

struct ebt_resource *ebt_resources_get_execd(struct ebt_resources *rs,
					     uint32_t child, uint32_t parent,
					     const char *comm, const char *exe)
{
	struct prog_src ps = {.pid = child, .comm = comm};
	const struct exec_prog *p;

	ebt_resources_note_exec(rs, child);
	if (!proc_gone(child))
		return get_from(rs, child, child, &ps);
	p = htab_get(rs->progs, &child);
	if (p)
		return get_gone_execd(rs, child, p, comm);
	ps = (struct prog_src){.comm = comm, .exe_name = exe};
	return get_from(rs, child, parent, &ps);
}

void ebt_resources_forget(struct ebt_resources *rs, uint32_t tgid)
{
	struct res_entry *e = htab_del(rs->by_tgid, &tgid);

	if (e)
		free_entry(e);
	htab_del(rs->parents, &tgid);
	free(htab_del(rs->progs, &tgid));
}
