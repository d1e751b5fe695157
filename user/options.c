/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Options as data. One table lists every configuration key once: its
 * config-file name, command-line flag, environment variable, type, default,
 * the commands that use it and its help text. Loading, --help and
 * docs/configuration.md are all generated from that table.
 *
 * Precedence: built-in defaults < config file (YAML) < environment < flags.
 * Lists are replaced, not merged, by a higher source; within one source
 * (repeated flags, a YAML sequence) their values accumulate.
 */
#include "config.h"
#include "cgroup.h"
#include "metrics.h"
#include "sampler.h"
#include "selector.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CMD_RUN (1u << 0)
#define CMD_ATTACH (1u << 1)
#define CMD_CHECK (1u << 2)
#define CMD_TRACE (CMD_RUN | CMD_ATTACH)
#define CMD_ALL (CMD_RUN | CMD_ATTACH | CMD_CHECK)

#define PID_MAX 4194304u /* PID_MAX_LIMIT on 64-bit kernels */
#define COMM_MAX 15u     /* TASK_COMM_LEN - 1 */
#define KEY_MAX 96
#define SHOW_MAX 64      /* longest value echoed back in an error */
#define PATH_SHOW 256    /* longest config file path echoed back */

enum opt_type {
	T_STRING,   /* char * */
	T_BOOL,     /* bool */
	T_UINT,     /* uint32_t */
	T_DURATION, /* uint64_t, milliseconds */
	T_BYTES,    /* uint64_t */
	T_ENUM,     /* an enum field, stored as int */
	T_CHOICE,   /* char *, one of a fixed set of words */
	T_PIDS,     /* uint32_t[EBT_MAX_FILTERS] + unsigned count */
	T_STRINGS,  /* char *[EBT_MAX_FILTERS] + unsigned count */
	T_CONFIG,   /* --config: path of the YAML file, not stored */
	T_HELP,     /* --help */
};

enum opt_flags {
	F_SECRET = 1 << 0,     /* never echo the value in messages */
	F_ENV_MS = 1 << 1,     /* bare numbers from the environment are ms */
	F_POSITIONAL = 1 << 2, /* also taken from the positional argument */
	F_REQUIRED = 1 << 3,   /* must be set for the commands using it */
	F_NOFILE = 1 << 4,     /* not accepted in the config file */
	F_BARE_S = 1 << 5,     /* a bare number is seconds, as timeout(1) */
};
/* An option with .flag NULL has no command-line flag (secrets: argv is
 * visible to every user in ps); it is set from the file or environment. */

struct choice {
	const char *name;
	int value;
};

struct opt {
	const char *key;     /* config-file name; NULL for --config, --help */
	const char *flag;    /* "--long-name" */
	char short_flag;     /* 'p' for -p, 0 for none */
	const char *env[2];  /* generic first; a second, more specific, wins */
	enum opt_type type;
	const char *def;     /* default, parsed like any value; NULL: unset */
	unsigned cmds;       /* CMD_* mask */
	unsigned flags;      /* F_* mask */
	const char *metavar; /* value placeholder in --help */
	const char *help;
	size_t off;          /* field in struct ebt_config */
	size_t count_off;    /* lists: the unsigned element count */
	const struct choice *choices; /* T_ENUM, T_CHOICE: NULL-terminated */
	uint64_t min, max;   /* numbers: range; string lists: max length */
	bool (*valid)(const char *v); /* extra check for strings */
	const char *expect;  /* what valid() wants, for messages */
};

/* offsetof, refusing to compile if the field does not have type T's size */
#define FIELD(m, T)                                                      \
	(offsetof(struct ebt_config, m) +                                \
	 0 * sizeof(char[sizeof(((struct ebt_config *)0)->m) == sizeof(T) \
				 ? 1                                      \
				 : -1]))
#define LIST(m, n, T) .off = FIELD(m, T[EBT_MAX_FILTERS]), \
		      .count_off = FIELD(n, unsigned)

static const struct choice format_choices[] = {
	{ "text", EBT_FORMAT_TEXT },
	{ "json", EBT_FORMAT_JSON },
	{ "none", EBT_FORMAT_NONE },
	{ NULL, 0 },
};

static const struct choice hooks_choices[] = {
	{ "tracepoints", EBT_HOOKS_TRACEPOINTS },
	{ "raw", EBT_HOOKS_RAW },
	{ NULL, 0 },
};

static const struct choice query_choices[] = {
	{ "keep", HTTP_QUERY_KEEP },
	{ "redact", HTTP_QUERY_REDACT },
	{ "drop", HTTP_QUERY_DROP },
	{ NULL, 0 },
};

static const struct choice sampler_choices[] = {
	{ "always_on", EBT_SAMPLER_ALWAYS_ON },
	{ "always_off", EBT_SAMPLER_ALWAYS_OFF },
	{ "traceidratio", EBT_SAMPLER_RATIO },
	{ "parentbased_always_on", EBT_SAMPLER_PB_ON },
	{ "parentbased_always_off", EBT_SAMPLER_PB_OFF },
	{ "parentbased_traceidratio", EBT_SAMPLER_PB_RATIO },
	{ NULL, 0 },
};

static const struct choice compression_choices[] = {
	{ "gzip", EBT_COMPRESS_GZIP },
	{ "none", EBT_COMPRESS_NONE },
	{ NULL, 0 },
};

static const struct choice k8s_choices[] = {
	{ "auto", 0 }, { "true", 1 }, { "false", 2 },
	{ NULL, 0 },
};

static const struct choice remote_choices[] = {
	{ "auto", 0 }, { "always", 1 }, { "never", 2 },
	{ NULL, 0 },
};

static const struct choice level_choices[] = {
	{ "error", 0 }, { "warn", 1 }, { "info", 2 }, { "debug", 3 },
	{ NULL, 0 },
};

_Static_assert(sizeof(enum ebt_format) == sizeof(int), "enum storage");
_Static_assert(sizeof(enum ebt_compression) == sizeof(int), "enum storage");
_Static_assert(sizeof(enum ebt_hooks) == sizeof(int), "enum storage");
_Static_assert(sizeof(enum http_query_mode) == sizeof(int), "enum storage");

static bool valid_url(const char *v);
static bool valid_kvlist(const char *v);
static bool valid_header_value(const char *v);
static bool valid_container_id(const char *v);
static bool valid_listen(const char *v);
static bool valid_selector(const char *v);
static bool valid_otlp_protocol(const char *v);
static bool valid_readable_file(const char *v);
static bool valid_ratio(const char *v);
static bool valid_path_glob(const char *v);

#define URL_EXPECT "an http:// or https:// URL"
#define KV_EXPECT "key=value pairs separated by commas"
#define HEADER_EXPECT "a value without control characters"
#define CONTAINER_ID_EXPECT "1 to 64 lower-case hex digits"
#define LISTEN_EXPECT "host:port or :port, e.g. 127.0.0.1:9464"
#define NS_EXPECT "a namespace name, shell globs allowed (e.g. kube-*)"
#define PROTOCOL_EXPECT "http/protobuf (ebpftrace sends OTLP over HTTP: " \
	"point the endpoint at the receiver's HTTP port, usually 4318; " \
	"grpc and http/json are not supported)"
#define FILE_EXPECT "the path of a readable file (PEM)"
#define RATIO_EXPECT "a number from 0 to 1, e.g. 0.25"
#define PATH_GLOB_EXPECT "a URL path or a shell glob of one, starting " \
	"with / or * (e.g. /healthz, /actuator/*)"
#define SELECTOR_EXPECT "a label selector, e.g. app=web,tier!=db," \
	"env in (prod,staging),!canary"

static const struct opt opts[] = {
	/* ---- selection ---- */
	{ .key = "filter.pid", .flag = "--pid", .short_flag = 'p',
	  .env = { "EBPFTRACE_FILTER_PID" }, .type = T_PIDS,
	  .cmds = CMD_TRACE, .metavar = "PID[,PID...]",
	  .help = "trace only these process ids (repeatable; a process's "
		  "threads and children are included)",
	  LIST(pids, n_pids, uint32_t), .min = 1, .max = PID_MAX },
	{ .key = "filter.comm", .flag = "--comm",
	  .env = { "EBPFTRACE_FILTER_COMM" }, .type = T_STRINGS,
	  .cmds = CMD_TRACE, .metavar = "NAME[,NAME...]",
	  .help = "trace only processes with this command name (the "
		  "process's comm as /proc/PID/comm shows it, at most 15 "
		  "bytes; threads' own names do not count; repeatable)",
	  LIST(comms, n_comms, char *), .max = COMM_MAX },
	{ .key = "filter.cgroup", .flag = "--cgroup",
	  .env = { "EBPFTRACE_FILTER_CGROUP" }, .type = T_STRINGS,
	  .cmds = CMD_TRACE, .metavar = "PATH[,PATH...]",
	  .help = "trace only processes in these cgroups: a cgroup2 path, a "
		  "path relative to the cgroup2 root, or a v1 path "
		  "/sys/fs/cgroup/<controller>/... (same path under cgroup2; "
		  "repeatable)",
	  LIST(cgroups, n_cgroups, char *), .max = 4096 },
	{ .key = "filter.container_id", .flag = "--container-id",
	  .env = { "EBPFTRACE_FILTER_CONTAINER_ID" }, .type = T_STRINGS,
	  .cmds = CMD_TRACE, .metavar = "ID[,ID...]",
	  .help = "trace only containers whose id starts with this (lower-case "
		  "hex; repeatable); resolved to their cgroups once, at start: "
		  "containers started later are not selected",
	  LIST(containers, n_containers, char *), .max = 64,
	  .valid = valid_container_id, .expect = CONTAINER_ID_EXPECT },
	{ .key = "filter.namespaces", .flag = "--namespaces",
	  .env = { "EBPFTRACE_FILTER_NAMESPACES" }, .type = T_STRINGS,
	  .cmds = CMD_RUN, .metavar = "NS[,NS...]",
	  .help = "trace only pods in these Kubernetes namespaces (names or "
		  "shell globs such as team-*; repeatable). Pods come from the "
		  "CRI socket or the API server; pods started later are "
		  "selected within seconds; host processes are left out",
	  LIST(namespaces, n_namespaces, char *), .max = 64,
	  .valid = ebt_ns_pattern_valid, .expect = NS_EXPECT },
	{ .key = "filter.exclude_namespaces", .flag = "--exclude-namespaces",
	  .env = { "EBPFTRACE_FILTER_EXCLUDE_NAMESPACES" }, .type = T_STRINGS,
	  .cmds = CMD_RUN, .metavar = "NS[,NS...]",
	  .help = "never trace pods in these namespaces (names or globs, "
		  "e.g. kube-system; repeatable); host processes are left "
		  "out",
	  LIST(exclude_namespaces, n_exclude_namespaces, char *), .max = 64,
	  .valid = ebt_ns_pattern_valid, .expect = NS_EXPECT },
	{ .key = "filter.pod_selector", .flag = "--pod-selector",
	  .short_flag = 'l', .env = { "EBPFTRACE_FILTER_POD_SELECTOR" },
	  .type = T_STRING, .cmds = CMD_RUN, .metavar = "SELECTOR",
	  .help = "trace only pods whose labels match this selector (kubectl "
		  "-l syntax: k=v, k!=v, k in (a,b), k notin (a), k, !k, "
		  "comma = and); host processes are left out",
	  .off = FIELD(pod_selector, char *), .valid = valid_selector,
	  .expect = SELECTOR_EXPECT },

	/* ---- run ---- */
	{ .key = "duration", .flag = "--duration", .short_flag = 'd',
	  .env = { "EBPFTRACE_DURATION" }, .type = T_DURATION, .def = "0",
	  .cmds = CMD_TRACE, .metavar = "DURATION", .flags = F_BARE_S,
	  .help = "stop after this long (a bare number is seconds); 0 runs "
		  "until Ctrl-C or SIGTERM",
	  .off = FIELD(duration_ms, uint64_t), .max = UINT64_MAX },
	{ .key = "format", .flag = "--format", .short_flag = 'f',
	  .env = { "EBPFTRACE_FORMAT" }, .type = T_ENUM, .def = "text",
	  .cmds = CMD_TRACE,
	  .help = "console output: one line per span (text; a client "
		  "span's line shows the URL it called), one JSON object "
		  "per span (json) or nothing (none)",
	  .off = FIELD(format, int), .choices = format_choices },
	{ .key = "adopt_open_connections", .flag = "--adopt-open-connections",
	  .env = { "EBPFTRACE_ADOPT_OPEN_CONNECTIONS" }, .type = T_BOOL,
	  .def = "true", .cmds = CMD_TRACE,
	  .help = "also trace the TCP connections the selected processes had "
		  "open before the tracer started (found in /proc: keep-alive "
		  "pools, a proxy's upstream connections), from their next "
		  "request on; false traces only connections accepted or "
		  "connected later",
	  .off = FIELD(adopt_open, bool) },
	{ .key = "tls", .flag = "--tls",
	  .env = { "EBPFTRACE_TLS" }, .type = T_BOOL, .def = "true",
	  .cmds = CMD_TRACE,
	  .help = "trace HTTP inside TLS through uprobes on the TLS "
		  "libraries the processes load (OpenSSL's libssl.so, "
		  "GnuTLS's libgnutls.so): the plaintext as SSL_read/SSL_write "
		  "or gnutls_record_recv/_send see it; they are found in "
		  "/proc/PID/maps at the start and every 10 s; false leaves "
		  "TLS connections untraced",
	  .off = FIELD(tls, bool) },
	{ .key = "hook_only", .flag = "--hook-only",
	  .env = { "EBPFTRACE_HOOK_ONLY" }, .type = T_BOOL, .def = "false",
	  .cmds = CMD_TRACE,
	  .help = "benchmark diagnostic: attach every program but return at "
		  "once (measures the cost of the hooks alone)",
	  .off = FIELD(hook_only, bool) },
	{ .key = "hooks", .flag = "--hooks",
	  .env = { "EBPFTRACE_HOOKS" }, .type = T_ENUM, .def = "tracepoints",
	  .cmds = CMD_TRACE,
	  .help = "how syscalls are hooked: one tracepoint program per "
		  "syscall (tracepoints) or one tp_btf program on every "
		  "sys_enter/sys_exit that switches on the syscall number "
		  "(raw); docs/benchmarks.md compares their cost",
	  .off = FIELD(hooks, int), .choices = hooks_choices },
	{ .key = "log_level", .flag = "--log-level",
	  .env = { "EBPFTRACE_LOG_LEVEL" }, .type = T_CHOICE, .def = "info",
	  .cmds = CMD_ALL, .help = "verbosity of the tracer's own log",
	  .off = FIELD(log_level, char *), .choices = level_choices },
	{ .key = "stats_file", .flag = "--stats-file",
	  .env = { "EBPFTRACE_STATS_FILE" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "on exit, write event, span and drop counters to FILE as "
		  "JSON",
	  .off = FIELD(stats_file, char *) },
	{ .key = "metrics.listen", .flag = "--metrics-listen",
	  .env = { "EBPFTRACE_METRICS_LISTEN" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "HOST:PORT",
	  .help = "serve /healthz, /readyz and Prometheus /metrics on this "
		  "address (e.g. 127.0.0.1:9464, or :9464 for every "
		  "interface); unset: no endpoint",
	  .off = FIELD(metrics_listen, char *), .valid = valid_listen,
	  .expect = LISTEN_EXPECT },

	/* ---- HTTP ---- */
	{ .key = "http.query", .flag = "--http-query",
	  .env = { "EBPFTRACE_HTTP_QUERY" }, .type = T_ENUM, .def = "redact",
	  .cmds = CMD_TRACE,
	  .help = "query strings in url.query: export as sent (keep), keep "
		  "the keys but hide every value (redact) or leave out (drop)",
	  .off = FIELD(query_mode, int), .choices = query_choices },
	{ .key = "http.ignore_paths", .flag = "--http-ignore-path",
	  .env = { "EBPFTRACE_HTTP_IGNORE_PATHS" }, .type = T_STRINGS,
	  .cmds = CMD_TRACE, .metavar = "GLOB[,GLOB...]",
	  .help = "make no span for requests whose path matches one of these "
		  "shell globs (* and ? also match /), server and client side: "
		  "health checks and scrapes such as /healthz, /actuator/*, "
		  "/metrics (repeatable)",
	  LIST(ignore_paths, n_ignore_paths, char *), .max = 256,
	  .valid = valid_path_glob, .expect = PATH_GLOB_EXPECT },

	{ .key = "http.routes_from_jar", .flag = "--http-routes-from-jar",
	  .env = { "EBPFTRACE_HTTP_ROUTES_FROM_JAR" }, .type = T_BOOL,
	  .def = "true", .cmds = CMD_TRACE,
	  .help = "name a JVM's server spans by the routes its Spring MVC, "
		  "Micronaut or JAX-RS code declares (GET /owners/{ownerId}, "
		  "as the OpenTelemetry Java agent does), read from the jar it "
		  "runs (java -jar, Quarkus's app jar, a Spring Boot "
		  "launcher's unpacked jar, a class path's directories) once "
		  "per jar, under its server.servlet.context-path; false, or a "
		  "path no mapping matches: the path templated "
		  "(GET /owners/{id})",
	  .off = FIELD(routes_from_jar, bool) },

	/* ---- traces ---- */
	{ .key = "traces.sampler", .flag = "--traces-sampler",
	  .env = { "OTEL_TRACES_SAMPLER" }, .type = T_ENUM,
	  .def = "parentbased_always_on", .cmds = CMD_TRACE,
	  .metavar = "SAMPLER",
	  .help = "which traces are exported, as OpenTelemetry SDKs name "
		  "their samplers: always_on, always_off, traceidratio "
		  "(a share of trace ids, traces.sampler_arg), or "
		  "parentbased_* (a request's valid traceparent decides by "
		  "its sampled flag, else the named sampler)",
	  .off = FIELD(sampler, int), .choices = sampler_choices },
	{ .key = "traces.sampler_arg", .flag = "--traces-sampler-arg",
	  .env = { "OTEL_TRACES_SAMPLER_ARG" }, .type = T_STRING,
	  .def = "1", .cmds = CMD_TRACE, .metavar = "RATIO",
	  .help = "the share of traces traceidratio keeps, 0 to 1 (the "
		  "same trace ids as an OpenTelemetry SDK's); other "
		  "samplers ignore it",
	  .off = FIELD(sampler_arg, char *), .valid = valid_ratio,
	  .expect = RATIO_EXPECT },

	/* ---- OTLP export ---- */
	{ .key = "otlp.endpoint", .flag = "--otlp-endpoint",
	  .env = { "OTEL_EXPORTER_OTLP_ENDPOINT" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "URL",
	  .help = "OTLP/HTTP base URL, /v1/traces is appended (e.g. "
		  "http://localhost:4318); unset: no export",
	  .off = FIELD(otlp_endpoint, char *), .valid = valid_url,
	  .expect = URL_EXPECT },
	{ .key = "otlp.traces_endpoint", .flag = "--otlp-traces-endpoint",
	  .env = { "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "URL",
	  .help = "full OTLP/HTTP traces URL, used as is; wins over "
		  "otlp.endpoint",
	  .off = FIELD(otlp_traces_endpoint, char *), .valid = valid_url,
	  .expect = URL_EXPECT },
	{ .key = "otlp.headers", .flag = "--otlp-headers",
	  .env = { "OTEL_EXPORTER_OTLP_HEADERS",
		   "OTEL_EXPORTER_OTLP_TRACES_HEADERS" },
	  .type = T_STRING, .cmds = CMD_TRACE, .flags = F_SECRET,
	  .metavar = "K=V[,K=V...]",
	  .help = "extra HTTP headers on export requests, values "
		  "percent-encoded (e.g. authorization=Basic%20...)",
	  .off = FIELD(otlp_headers, char *), .valid = valid_kvlist,
	  .expect = KV_EXPECT },
	{ .key = "otlp.timeout", .flag = "--otlp-timeout",
	  .env = { "OTEL_EXPORTER_OTLP_TIMEOUT",
		   "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" },
	  .type = T_DURATION, .def = "10s", .cmds = CMD_TRACE,
	  .flags = F_ENV_MS, .metavar = "DURATION",
	  .help = "time limit of one export request (the OTEL_* variables "
		  "take plain milliseconds, as the OTel spec says)",
	  .off = FIELD(otlp_timeout_ms, uint64_t), .min = 1,
	  .max = 3600000 },
	{ .key = "otlp.compression", .flag = "--otlp-compression",
	  .env = { "OTEL_EXPORTER_OTLP_COMPRESSION",
		   "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION" },
	  .type = T_ENUM, .def = "gzip", .cmds = CMD_TRACE,
	  .help = "compression of export request bodies",
	  .off = FIELD(otlp_compression, int),
	  .choices = compression_choices },
	{ .key = "otlp.protocol", .flag = "--otlp-protocol",
	  .env = { "OTEL_EXPORTER_OTLP_PROTOCOL",
		   "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" },
	  .type = T_STRING, .def = "http/protobuf", .cmds = CMD_TRACE,
	  .metavar = "PROTOCOL",
	  .help = "OTLP transport: http/protobuf is the one there is; a "
		  "setting of grpc or http/json (from an SDK's environment) "
		  "is an error, not a silent switch",
	  .off = FIELD(otlp_protocol, char *), .valid = valid_otlp_protocol,
	  .expect = PROTOCOL_EXPECT },
	{ .key = "otlp.certificate", .flag = "--otlp-certificate",
	  .env = { "OTEL_EXPORTER_OTLP_CERTIFICATE",
		   "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE" },
	  .type = T_STRING, .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM file of the CAs that sign an https endpoint's "
		  "certificate; unset: the system's CA bundle",
	  .off = FIELD(otlp_ca_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "otlp.client_certificate", .flag = "--otlp-client-certificate",
	  .env = { "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
		   "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE" },
	  .type = T_STRING, .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM client certificate for an https endpoint that asks "
		  "for one (mutual TLS), with otlp.client_key",
	  .off = FIELD(otlp_cert_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "otlp.client_key", .flag = "--otlp-client-key",
	  .env = { "OTEL_EXPORTER_OTLP_CLIENT_KEY",
		   "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY" },
	  .type = T_STRING, .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM private key of otlp.client_certificate",
	  .off = FIELD(otlp_key_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "ringbuf_size", .flag = "--ringbuf-size",
	  .env = { "EBPFTRACE_RINGBUF_SIZE" }, .type = T_BYTES,
	  .def = "2MiB", .cmds = CMD_TRACE, .metavar = "SIZE",
	  .help = "the ring buffer that carries records from the kernel "
		  "(rounded up to a power of two; it counts once in the "
		  "tracer's RSS); the reader is woken when "
		  "a quarter is full, else every 100 ms. Its last eighth is "
		  "kept for heads, opens and closes (long reads and writes "
		  "then leave only their lengths); records that do not fit "
		  "are lost and counted (ebpftrace_ringbuf_drops_total)",
	  .off = FIELD(ringbuf_size, uint64_t), .min = 256 * 1024,
	  .max = 1ull << 30 },
	{ .key = "otlp.queue_bytes", .flag = "--otlp-queue-bytes",
	  .env = { "EBPFTRACE_OTLP_QUEUE_BYTES" }, .type = T_BYTES,
	  .def = "16MiB", .cmds = CMD_TRACE, .metavar = "SIZE",
	  .help = "bound of the spans waiting for export; what does not fit "
		  "is dropped and counted",
	  .off = FIELD(otlp_queue_bytes, uint64_t), .min = 64 * 1024,
	  .max = 4ull << 30 },
	{ .key = "otlp.batch_spans", .flag = "--otlp-batch-spans",
	  .env = { "EBPFTRACE_OTLP_BATCH_SPANS" }, .type = T_UINT,
	  .def = "512", .cmds = CMD_TRACE, .metavar = "N",
	  .help = "most spans sent in one export request",
	  .off = FIELD(otlp_batch_spans, uint32_t), .min = 1,
	  .max = 65536 },
	{ .key = "otlp.batch_timeout", .flag = "--otlp-batch-timeout",
	  .env = { "EBPFTRACE_OTLP_BATCH_TIMEOUT" }, .type = T_DURATION,
	  .def = "1s", .cmds = CMD_TRACE, .metavar = "DURATION",
	  .help = "send a partial batch once its oldest span waited this long",
	  .off = FIELD(otlp_batch_timeout_ms, uint64_t), .min = 1,
	  .max = 3600000 },
	{ .key = "resource.attributes", .flag = "--resource-attributes",
	  .env = { "OTEL_RESOURCE_ATTRIBUTES" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "K=V[,K=V...]",
	  .help = "resource attributes added to every exported span, e.g. "
		  "deployment.environment=prod",
	  .off = FIELD(resource_attributes, char *), .valid = valid_kvlist,
	  .expect = KV_EXPECT },

	/* ---- logs (stdout/stderr) and Loki export ---- */
	{ .key = "logs.enabled", .flag = "--logs",
	  .env = { "EBPFTRACE_LOGS_ENABLED" }, .type = T_BOOL, .def = "true",
	  .cmds = CMD_TRACE,
	  .help = "capture what traced processes write to stdout and stderr "
		  "as log records; on a host only for processes selected by "
		  "--pid, --comm or --cgroup (--logs=false turns it off)",
	  .off = FIELD(logs_enabled, bool) },
	{ .key = "logs.containers", .flag = "--logs-containers",
	  .env = { "EBPFTRACE_LOGS_CONTAINERS" }, .type = T_BOOL,
	  .def = "false", .cmds = CMD_TRACE,
	  .help = "without --pid/--comm/--cgroup/--container-id, capture the "
		  "stdout and stderr of every process in a container (its "
		  "cgroup shows a container id); the DaemonSet turns it on",
	  .off = FIELD(logs_containers, bool) },
	{ .key = "logs.max_line", .flag = "--logs-max-line",
	  .env = { "EBPFTRACE_LOGS_MAX_LINE" }, .type = T_BYTES,
	  .def = "64KiB", .cmds = CMD_TRACE, .metavar = "SIZE",
	  .help = "longest log record; a longer line is split into records "
		  "of this size and counted (Loki refuses lines over 256 KB)",
	  .off = FIELD(logs_max_line, uint64_t), .min = 256,
	  .max = 192 * 1024 },
	{ .key = "logs.flush_timeout", .flag = "--logs-flush-timeout",
	  .env = { "EBPFTRACE_LOGS_FLUSH_TIMEOUT" }, .type = T_DURATION,
	  .def = "5s", .cmds = CMD_TRACE, .metavar = "DURATION",
	  .help = "a line without its newline is sent after the process "
		  "wrote nothing for this long (a complete line waits at "
		  "most 1s for a stack trace's next line)",
	  .off = FIELD(logs_flush_timeout_ms, uint64_t), .min = 1,
	  .max = 60000 },
	{ .key = "logs.multiline", .flag = "--logs-multiline",
	  .env = { "EBPFTRACE_LOGS_MULTILINE" }, .type = T_BOOL,
	  .def = "true", .cmds = CMD_TRACE,
	  .help = "join the lines of a Java stack trace (\\tat ..., Caused "
		  "by:, ... N more) to the record they follow",
	  .off = FIELD(logs_multiline, bool) },
	{ .key = "loki.endpoint", .flag = "--loki-endpoint",
	  .env = { "EBPFTRACE_LOKI_ENDPOINT" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "URL",
	  .help = "Loki push URL, or a base URL to which /loki/api/v1/push "
		  "is appended (e.g. http://loki:3100); unset: logs are not "
		  "sent to Loki",
	  .off = FIELD(loki_endpoint, char *), .valid = valid_url,
	  .expect = URL_EXPECT },
	{ .key = "loki.tenant", .flag = "--loki-tenant",
	  .env = { "EBPFTRACE_LOKI_TENANT" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "ID",
	  .help = "tenant sent as X-Scope-OrgID (multi-tenant Loki)",
	  .off = FIELD(loki_tenant, char *), .valid = valid_header_value,
	  .expect = HEADER_EXPECT },
	{ .key = "loki.username", .flag = "--loki-username",
	  .env = { "EBPFTRACE_LOKI_USERNAME" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "USER",
	  .help = "basic-auth user name for Loki (with loki.password)",
	  .off = FIELD(loki_username, char *), .valid = valid_header_value,
	  .expect = HEADER_EXPECT },
	{ .key = "loki.password", .env = { "EBPFTRACE_LOKI_PASSWORD" },
	  .type = T_STRING, .cmds = CMD_TRACE, .flags = F_SECRET,
	  .help = "basic-auth password for Loki; config file or environment "
		  "only, never shown",
	  .off = FIELD(loki_password, char *), .valid = valid_header_value,
	  .expect = HEADER_EXPECT },
	{ .key = "loki.bearer_token", .env = { "EBPFTRACE_LOKI_BEARER_TOKEN" },
	  .type = T_STRING, .cmds = CMD_TRACE, .flags = F_SECRET,
	  .help = "bearer token for Loki (instead of basic auth); config "
		  "file or environment only, never shown",
	  .off = FIELD(loki_bearer_token, char *),
	  .valid = valid_header_value, .expect = HEADER_EXPECT },
	{ .key = "loki.certificate", .flag = "--loki-certificate",
	  .env = { "EBPFTRACE_LOKI_CERTIFICATE" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM file of the CAs that sign an https Loki's "
		  "certificate; unset: the system's CA bundle",
	  .off = FIELD(loki_ca_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "loki.client_certificate", .flag = "--loki-client-certificate",
	  .env = { "EBPFTRACE_LOKI_CLIENT_CERTIFICATE" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM client certificate for an https Loki that asks for "
		  "one (mutual TLS), with loki.client_key",
	  .off = FIELD(loki_cert_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "loki.client_key", .flag = "--loki-client-key",
	  .env = { "EBPFTRACE_LOKI_CLIENT_KEY" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "PEM private key of loki.client_certificate",
	  .off = FIELD(loki_key_file, char *), .valid = valid_readable_file,
	  .expect = FILE_EXPECT },
	{ .key = "loki.timeout", .flag = "--loki-timeout",
	  .env = { "EBPFTRACE_LOKI_TIMEOUT" }, .type = T_DURATION,
	  .def = "10s", .cmds = CMD_TRACE, .metavar = "DURATION",
	  .help = "time limit of one push request",
	  .off = FIELD(loki_timeout_ms, uint64_t), .min = 1, .max = 3600000 },
	{ .key = "loki.batch_bytes", .flag = "--loki-batch-bytes",
	  .env = { "EBPFTRACE_LOKI_BATCH_BYTES" }, .type = T_BYTES,
	  .def = "1MiB", .cmds = CMD_TRACE, .metavar = "SIZE",
	  .help = "push once this much log data (uncompressed JSON) is queued",
	  .off = FIELD(loki_batch_bytes, uint64_t), .min = 1024,
	  .max = 64ull << 20 },
	{ .key = "loki.batch_timeout", .flag = "--loki-batch-timeout",
	  .env = { "EBPFTRACE_LOKI_BATCH_TIMEOUT" }, .type = T_DURATION,
	  .def = "1s", .cmds = CMD_TRACE, .metavar = "DURATION",
	  .help = "push a partial batch once its oldest line waited this long",
	  .off = FIELD(loki_batch_timeout_ms, uint64_t), .min = 1,
	  .max = 3600000 },
	{ .key = "loki.queue_bytes", .flag = "--loki-queue-bytes",
	  .env = { "EBPFTRACE_LOKI_QUEUE_BYTES" }, .type = T_BYTES,
	  .def = "32MiB", .cmds = CMD_TRACE, .metavar = "SIZE",
	  .help = "bound of the log lines waiting for Loki (kept while Loki "
		  "is down); what does not fit is dropped and counted",
	  .off = FIELD(loki_queue_bytes, uint64_t), .min = 64 * 1024,
	  .max = 4ull << 30 },
	{ .key = "cluster", .flag = "--cluster",
	  .env = { "EBPFTRACE_CLUSTER" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "NAME",
	  .help = "static cluster label on every log stream",
	  .off = FIELD(cluster, char *) },

	/* ---- Kubernetes metadata ---- */
	{ .key = "cri.socket", .flag = "--cri-socket",
	  .env = { "EBPFTRACE_CRI_SOCKET" }, .type = T_STRING,
	  .def = "/run/containerd/containerd.sock", .cmds = CMD_ALL,
	  .metavar = "PATH",
	  .help = "unix socket of the node's container runtime (CRI, e.g. "
		  "containerd): pod name, namespace, uid, labels, annotations, "
		  "IP and container name of traced containers, polled every "
		  "few seconds; empty (--cri-socket=) turns it off. Tracing "
		  "goes on without pod metadata while the socket does not "
		  "answer",
	  .off = FIELD(cri_socket, char *) },
	{ .key = "k8s.enabled", .flag = "--k8s",
	  .env = { "EBPFTRACE_K8S_ENABLED" }, .type = T_CHOICE, .def = "auto",
	  .cmds = CMD_TRACE,
	  .help = "pod metadata from the Kubernetes API server: the owner "
		  "workload (k8s.deployment.name via the ReplicaSet, "
		  "statefulset, daemonset, job, cronjob) and, without CRI, the "
		  "pod's name, namespace, labels and annotations. auto: on "
		  "when a kubeconfig is given or in a cluster "
		  "(KUBERNETES_SERVICE_HOST); true: on, an error if neither; "
		  "false: off. Lists and watches only this node's pods; "
		  "tracing goes on with the metadata it has while the server "
		  "does not answer",
	  .off = FIELD(k8s_enabled, char *), .choices = k8s_choices },
	{ .key = "k8s.kubeconfig", .flag = "--kubeconfig",
	  .env = { "KUBECONFIG", "EBPFTRACE_K8S_KUBECONFIG" },
	  .type = T_STRING, .cmds = CMD_TRACE, .metavar = "FILE",
	  .help = "kubeconfig file (its current-context: server, "
		  "certificate-authority(-data), client certificate and key "
		  "(-data), token); unset: the in-cluster service account",
	  .off = FIELD(k8s_kubeconfig, char *) },
	{ .key = "k8s.node_name", .flag = "--node-name",
	  .env = { "NODE_NAME", "EBPFTRACE_K8S_NODE_NAME" }, .type = T_STRING,
	  .cmds = CMD_TRACE, .metavar = "NODE",
	  .help = "this node's Kubernetes name: the API server is asked for "
		  "the pods with spec.nodeName=NODE, and it is k8s.node.name; "
		  "unset: the host name",
	  .off = FIELD(k8s_node_name, char *), .max = 253 },

	/* ---- Kubernetes events ---- */
	{ .key = "k8s.events.enabled", .flag = "--k8s-events",
	  .env = { "EBPFTRACE_K8S_EVENTS_ENABLED" }, .type = T_BOOL,
	  .def = "false", .cmds = CMD_RUN,
	  .help = "ship the cluster's Kubernetes events to Loki as log lines "
		  "(job integrations/kubernetes/eventhandler, labels "
		  "namespace, kind, name of the involved object, cluster), by "
		  "one replica: needs loki.endpoint and the Kubernetes API "
		  "(list/watch events); the DaemonSet turns it on",
	  .off = FIELD(k8s_events_enabled, bool) },
	{ .key = "k8s.events.leader_election",
	  .flag = "--k8s-events-leader-election",
	  .env = { "EBPFTRACE_K8S_EVENTS_LEADER_ELECTION" }, .type = T_BOOL,
	  .def = "true", .cmds = CMD_RUN,
	  .help = "only the replica holding a coordination.k8s.io Lease ships "
		  "events (15 s lease, renewed every 5 s, taken over when it "
		  "expires or is released); false: this replica always ships "
		  "(a single-replica deployment)",
	  .off = FIELD(k8s_events_leader_election, bool) },
	{ .key = "k8s.events.lease_namespace",
	  .flag = "--k8s-events-lease-namespace",
	  .env = { "POD_NAMESPACE", "EBPFTRACE_K8S_EVENTS_LEASE_NAMESPACE" },
	  .type = T_STRING, .cmds = CMD_RUN, .metavar = "NS",
	  .help = "namespace of the Lease; unset: the service account's "
		  "namespace (in a cluster), else default",
	  .off = FIELD(k8s_events_lease_namespace, char *), .max = 253 },
	{ .key = "k8s.events.lease_name", .flag = "--k8s-events-lease-name",
	  .env = { "EBPFTRACE_K8S_EVENTS_LEASE_NAME" }, .type = T_STRING,
	  .def = "ebpftrace-events", .cmds = CMD_RUN, .metavar = "NAME",
	  .help = "name of the Lease of the events shipper",
	  .off = FIELD(k8s_events_lease_name, char *), .max = 253 },
	{ .key = "k8s.events.identity", .flag = "--k8s-events-identity",
	  .env = { "POD_NAME", "EBPFTRACE_K8S_EVENTS_IDENTITY" },
	  .type = T_STRING, .cmds = CMD_RUN, .metavar = "ID",
	  .help = "holderIdentity of this replica in the Lease; unset: the "
		  "node name (k8s.node_name), else the host name",
	  .off = FIELD(k8s_events_identity, char *), .max = 253 },

	/* ---- attach ---- */
	{ .key = "attach.pod", .flag = "--pod", .type = T_STRING,
	  .cmds = CMD_ATTACH, .flags = F_POSITIONAL | F_NOFILE,
	  .metavar = "POD",
	  .help = "the pod to trace (also the positional argument), "
		  "found through this node's CRI socket, else on its node "
		  "through a tracer pod (--remote); without a pod, "
		  "--container-id selects the containers",
	  .off = FIELD(pod, char *) },
	{ .key = "attach.namespace", .flag = "--namespace", .short_flag = 'n',
	  .env = { "EBPFTRACE_ATTACH_NAMESPACE" }, .type = T_STRING,
	  .def = "default", .cmds = CMD_ATTACH, .metavar = "NS",
	  .help = "Kubernetes namespace of the pod",
	  .off = FIELD(k8s_namespace, char *) },
	{ .key = "attach.container", .flag = "--container",
	  .env = { "EBPFTRACE_ATTACH_CONTAINER" }, .type = T_STRING,
	  .cmds = CMD_ATTACH, .metavar = "NAME",
	  .help = "trace only this container of the pod (default: all of "
		  "its running containers)",
	  .off = FIELD(attach_container, char *) },
	{ .key = "attach.remote", .flag = "--remote",
	  .env = { "EBPFTRACE_ATTACH_REMOTE" }, .type = T_CHOICE,
	  .def = "auto", .cmds = CMD_ATTACH,
	  .help = "a pod on another node (not found through this node's CRI "
		  "socket): auto starts a short-lived tracer pod on that node "
		  "through the Kubernetes API (--kubeconfig, KUBECONFIG, "
		  "~/.kube/config or in-cluster), streams its output here and "
		  "deletes it on exit; always does so even for a pod of this "
		  "node; never only traces pods of this node",
	  .off = FIELD(attach_remote, char *), .choices = remote_choices },
	{ .key = "attach.image", .flag = "--image",
	  .env = { "EBPFTRACE_ATTACH_IMAGE" }, .type = T_STRING,
	  .def = "ebpftrace:0.1.0", .cmds = CMD_ATTACH, .metavar = "IMAGE",
	  .help = "image of the remote tracer pod (the Helm chart's image; "
		  "it must contain ebpftrace as its command)",
	  .off = FIELD(attach_image, char *) },
	{ .key = "attach.privileged", .flag = "--privileged",
	  .env = { "EBPFTRACE_ATTACH_PRIVILEGED" }, .type = T_BOOL,
	  .def = "false", .cmds = CMD_ATTACH,
	  .help = "run the remote tracer pod privileged instead of with "
		  "exactly CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and "
		  "CAP_SYS_PTRACE (for runtimes or policies that do not know "
		  "CAP_BPF/CAP_PERFMON)",
	  .off = FIELD(attach_privileged, bool) },
	{ .key = "attach.tracer_namespace", .flag = "--tracer-namespace",
	  .env = { "EBPFTRACE_ATTACH_TRACER_NAMESPACE" }, .type = T_STRING,
	  .cmds = CMD_ATTACH, .metavar = "NS",
	  .help = "namespace of the remote tracer pod; unset: the traced "
		  "pod's namespace",
	  .off = FIELD(attach_tracer_namespace, char *), .max = 63 },
	{ .key = "attach.node_cri_socket", .flag = "--node-cri-socket",
	  .env = { "EBPFTRACE_ATTACH_NODE_CRI_SOCKET" }, .type = T_STRING,
	  .def = "/run/containerd/containerd.sock", .cmds = CMD_ATTACH,
	  .metavar = "PATH",
	  .help = "the CRI socket's path on the nodes, mounted into the "
		  "remote tracer pod",
	  .off = FIELD(attach_node_cri_socket, char *) },
	{ .key = "attach.start_timeout", .flag = "--start-timeout",
	  .env = { "EBPFTRACE_ATTACH_START_TIMEOUT" }, .type = T_DURATION,
	  .def = "2m", .cmds = CMD_ATTACH, .metavar = "DURATION",
	  .help = "give up (and delete the tracer pod) when the remote tracer "
		  "pod does not run within this long",
	  .off = FIELD(attach_start_timeout_ms, uint64_t), .min = 1000,
	  .max = 3600000 },
	{ .key = "attach.max_duration", .flag = "--max-duration",
	  .env = { "EBPFTRACE_ATTACH_MAX_DURATION" }, .type = T_DURATION,
	  .def = "1h", .cmds = CMD_ATTACH, .metavar = "DURATION",
	  .help = "without --duration, the remote tracer pod's deadline "
		  "(activeDeadlineSeconds): a session whose client died does "
		  "not trace forever",
	  .off = FIELD(attach_max_duration_ms, uint64_t), .min = 1000,
	  .max = UINT64_C(7) * 24 * 3600 * 1000 },
	{ .key = "attach.context", .flag = "--context",
	  .env = { "EBPFTRACE_ATTACH_CONTEXT" }, .type = T_STRING,
	  .cmds = CMD_ATTACH, .metavar = "NAME",
	  .help = "the kubeconfig context of the remote attach (as kubectl's "
		  "--context); unset: its current-context",
	  .off = FIELD(attach_context, char *) },
	{ .key = "attach.forward_secrets", .flag = "--forward-secrets",
	  .env = { "EBPFTRACE_ATTACH_FORWARD_SECRETS" }, .type = T_BOOL,
	  .def = "true", .cmds = CMD_ATTACH,
	  .help = "give the remote tracer pod the settings it cannot get on "
		  "its command line: otlp.headers, the Loki password or "
		  "bearer token and the certificate files, through a Secret "
		  "named as the pod, owned by it and deleted with it (needs "
		  "create, patch and delete on secrets); false: the tracer "
		  "pod exports without them",
	  .off = FIELD(attach_forward_secrets, bool) },

	/* ---- meta ---- */
	{ .flag = "--config", .short_flag = 'c', .env = { "EBPFTRACE_CONFIG" },
	  .type = T_CONFIG, .cmds = CMD_ALL, .metavar = "FILE",
	  .help = "read options from this YAML file (nested mappings or "
		  "dotted keys, e.g. otlp: {endpoint: URL})" },
	{ .flag = "--help", .short_flag = 'h', .type = T_HELP, .cmds = CMD_ALL,
	  .help = "print this help and exit" },
};

#define N_OPTS ARRAY_SIZE(opts)

struct command {
	const char *name;
	unsigned mask;
	const char *args; /* after [options] in the synopsis */
	const char *summary;
};

static const struct command commands[] = {
	{ "run", CMD_RUN, "",
	  "Trace every process on this host, or the ones the filters select,\n"
	  "until Ctrl-C or --duration." },
	{ "attach", CMD_ATTACH, " <pod>",
	  "Trace one Kubernetes pod on demand. A pod of this node is found\n"
	  "through its CRI socket; a pod of another node is traced by a\n"
	  "short-lived tracer pod created there through the Kubernetes API\n"
	  "(labelled ebpftrace.io/attach=true), whose output is streamed here\n"
	  "and which is deleted on exit, at --duration or on Ctrl-C. It gets\n"
	  "your OTLP and Loki endpoints, cluster, http.* and sampler settings\n"
	  "(not secrets or certificate files). Needs get, create, delete on\n"
	  "pods and get on pods/log. Also a kubectl plugin:\n"
	  "kubectl ebpftrace attach <pod> -n <namespace> (make install)." },
	{ "check", CMD_CHECK, "",
	  "Report the kernel features and privileges ebpftrace needs." },
};

/* ---- loading state ---- */

enum src_level {
	SRC_UNSET = 0,
	SRC_DEFAULT,
	SRC_FILE,
	SRC_ENV,
	SRC_FLAG,
};

struct src {
	enum src_level level;
	const char *name;   /* file path, variable name, flag as typed */
	unsigned long line; /* file: 1-based */
};

struct load {
	struct ebt_config *cfg;
	unsigned cmd;
	unsigned char level[N_OPTS]; /* enum src_level of the last value */
	const char *config_path;
	char config_shown[PATH_SHOW + 4]; /* config_path for messages */
	const char *config_src;      /* "flag -c", "environment ..." */
	unsigned n_positional;
	char *err;
	size_t errlen;
};

struct type_ops {
	const char *name; /* for the docs */
	int (*set)(struct load *ld, const struct opt *o, const char *v,
		   const struct src *s);
	void (*clear)(struct ebt_config *cfg, const struct opt *o);
};

static const struct type_ops types[];

#define set_err(ld, ...) snprintf((ld)->err, (ld)->errlen, __VA_ARGS__)

static void *field(struct ebt_config *cfg, const struct opt *o)
{
	return (char *)cfg + o->off;
}

static unsigned *field_count(struct ebt_config *cfg, const struct opt *o)
{
	return (unsigned *)((char *)cfg + o->count_off);
}

static size_t opt_index(const struct opt *o)
{
	return (size_t)(o - opts);
}

static void src_describe(const struct src *s, char *buf, size_t len)
{
	switch (s->level) {
	case SRC_FILE:
		snprintf(buf, len, "%s:%lu", s->name, s->line);
		break;
	case SRC_ENV:
		snprintf(buf, len, "environment %s", s->name);
		break;
	case SRC_FLAG:
		snprintf(buf, len, "flag %s", s->name);
		break;
	default:
		snprintf(buf, len, "built-in default");
		break;
	}
}

/* Text typed by the user as an error echoes it: at most max bytes ("..."
 * when cut; out holds max + 4), and one line: control characters shown
 * as '?'. */
static const char *shown_max(const char *v, char *out, size_t max)
{
	size_t n = strlen(v), k;

	for (k = 0; k < n && k < max; k++)
		out[k] = (unsigned char)v[k] < 0x20 || v[k] == 0x7f ? '?' : v[k];
	strcpy(out + k, n > max ? "..." : "");
	return out;
}

static const char *shown(const char *v, char out[SHOW_MAX + 4])
{
	return shown_max(v, out, SHOW_MAX);
}

static int bad_value(struct load *ld, const struct opt *o,
		     const struct src *s, const char *v, const char *expect)
{
	char where[PATH_SHOW + 32], buf[SHOW_MAX + 4];

	src_describe(s, where, sizeof(where));
	if (o->flags & F_SECRET)
		set_err(ld, "%s: invalid value for %s (not shown): expected %s",
			where, o->key, expect);
	else
		set_err(ld, "%s: invalid value '%s' for %s: expected %s",
			where, shown(v, buf), o->key, expect);
	return -1;
}

static int no_memory(struct load *ld)
{
	set_err(ld, "out of memory");
	return -1;
}

/* ---- value parsers: pure functions over strings ---- */

static bool parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

struct unit {
	const char *name;
	uint64_t mult;
};

/* Longest names first: "ms" must be tried before "m". */
static const struct unit duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
};

static const struct unit byte_units[] = {
	{ "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 },
	{ "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
	{ "B", 1 },
};

static const struct unit *match_unit(const char **p, const struct unit *u,
				     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(u[i].name);

		if (strncasecmp(*p, u[i].name, len) == 0 &&
		    !isalpha((unsigned char)(*p)[len])) {
			*p += len;
			return &u[i];
		}
	}
	return NULL;
}

static bool mul_add(uint64_t *acc, uint64_t v, uint64_t mult)
{
	if (mult && v > (UINT64_MAX - *acc) / mult)
		return false;
	*acc += v * mult;
	return true;
}

/*
 * "500ms", "30s", "2m", "1h", also "1m30s". A bare number is 0, or counts
 * bare_mult milliseconds each (1: the OTel variables; 1000: --duration,
 * as timeout(1) reads it); with bare_mult 0 it needs a unit.
 */
static bool parse_duration(const char *s, uint64_t bare_mult, uint64_t *ms)
{
	uint64_t total = 0, v;
	const char *p = s;

	if (!parse_u64(&p, &v))
		return false;
	if (*p == '\0' && (bare_mult || v == 0)) {
		if (!mul_add(&total, v, bare_mult ? bare_mult : 1))
			return false;
		*ms = total;
		return true;
	}
	for (;;) {
		const struct unit *u;

		u = match_unit(&p, duration_units, ARRAY_SIZE(duration_units));
		if (!u || !mul_add(&total, v, u->mult))
			return false;
		if (*p == '\0')
			break;
		if (!parse_u64(&p, &v))
			return false;
	}
	*ms = total;
	return true;
}

/* "65536", "64KiB", "16 MiB", "1GB". */
static bool parse_bytes(const char *s, uint64_t *bytes)
{
	const struct unit *u;
	const char *p = s;
	uint64_t v, total = 0;

	if (!parse_u64(&p, &v))
		return false;
	if (*p == '\0') {
		*bytes = v;
		return true;
	}
	if (*p == ' ')
		p++;
	u = match_unit(&p, byte_units, ARRAY_SIZE(byte_units));
	if (!u || *p != '\0' || !mul_add(&total, v, u->mult))
		return false;
	*bytes = total;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static const struct choice *find_choice(const struct choice *c,
					const char *s)
{
	for (; c->name; c++)
		if (strcmp(c->name, s) == 0)
			return c;
	return NULL;
}

static void choices_text(const struct choice *c, const char *sep, char *buf,
			 size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; c->name && n < len; c++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      n ? sep : "", c->name);
}

static bool valid_url(const char *v)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	bool ok = false;

	if (!u)
		return false;
	if (curl_url_set(u, CURLUPART_URL, v, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK)
		ok = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

/* "k=v,k2=v2": every non-blank member has a non-empty key and a '='. */
static bool valid_kvlist(const char *v)
{
	while (*v) {
		size_t len = strcspn(v, ",");
		const char *eq = memchr(v, '=', len);
		const char *k = v;

		while (k < v + len && isspace((unsigned char)*k))
			k++;
		if (k < v + len && (!eq || eq == k))
			return false;
		v += len;
		if (*v == ',')
			v++;
	}
	return true;
}

/* Goes into an HTTP header or credentials: no CR, LF or other controls. */
static bool valid_header_value(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

static bool valid_container_id(const char *v)
{
	return ebt_container_id_prefix_valid(v);
}

static bool valid_selector(const char *v)
{
	struct ebt_labelsel *sel = malloc(sizeof(*sel));
	char err[256];
	bool ok = sel && ebt_labelsel_parse(v, sel, err, sizeof(err)) == 0;

	free(sel);
	return ok;
}

static bool valid_otlp_protocol(const char *v)
{
	return strcmp(v, "http/protobuf") == 0;
}

static bool valid_readable_file(const char *v)
{
	struct stat st;

	return stat(v, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(v, R_OK) == 0;
}

static bool valid_path_glob(const char *v)
{
	return (v[0] == '/' || v[0] == '*') && !strpbrk(v, " #\t\r\n");
}

static bool valid_ratio(const char *v)
{
	double d;

	return ebt_sampler_parse_ratio(v, &d);
}

static bool valid_listen(const char *v)
{
	return ebt_listen_parse(v, NULL, 0, NULL, 0) == 0;
}

/* ---- setters, one per type ---- */

static int set_string(struct load *ld, const struct opt *o, const char *v,
		      const struct src *s)
{
	char **f = field(ld->cfg, o);
	char *copy = NULL;

	if (*v) {
		if (o->valid && !o->valid(v))
			return bad_value(ld, o, s, v, o->expect);
		copy = strdup(v);
		if (!copy)
			return no_memory(ld);
	}
	free(*f);
	*f = copy;
	return 0;
}

static void clear_string(struct ebt_config *cfg, const struct opt *o)
{
	char **f = field(cfg, o);

	free(*f);
	*f = NULL;
}

static int set_choice(struct load *ld, const struct opt *o, const char *v,
		      const struct src *s)
{
	char expect[128] = "one of ";

	if (!find_choice(o->choices, v)) {
		choices_text(o->choices, ", ", expect + 7, sizeof(expect) - 7);
		return bad_value(ld, o, s, v, expect);
	}
	return set_string(ld, o, v, s);
}

static int set_enum(struct load *ld, const struct opt *o, const char *v,
		    const struct src *s)
{
	const struct choice *c = find_choice(o->choices, v);
	char expect[128] = "one of ";

	if (!c) {
		choices_text(o->choices, ", ", expect + 7, sizeof(expect) - 7);
		return bad_value(ld, o, s, v, expect);
	}
	*(int *)field(ld->cfg, o) = c->value;
	return 0;
}

static int set_bool(struct load *ld, const struct opt *o, const char *v,
		    const struct src *s)
{
	if (!parse_bool(v, field(ld->cfg, o)))
		return bad_value(ld, o, s, v, "true or false");
	return 0;
}

static int set_uint(struct load *ld, const struct opt *o, const char *v,
		    const struct src *s)
{
	const char *p = v;
	uint64_t n;
	char expect[96];

	if (!parse_u64(&p, &n) || *p || n < o->min || n > o->max) {
		snprintf(expect, sizeof(expect),
			 "a whole number from %" PRIu64 " to %" PRIu64, o->min,
			 o->max);
		return bad_value(ld, o, s, v, expect);
	}
	*(uint32_t *)field(ld->cfg, o) = (uint32_t)n;
	return 0;
}

static void format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0");
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%" PRIu64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%" PRIu64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

static void format_bytes(uint64_t b, char *buf, size_t len)
{
	if (b && b % (1ull << 30) == 0)
		snprintf(buf, len, "%" PRIu64 "GiB", b >> 30);
	else if (b && b % (1ull << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "MiB", b >> 20);
	else if (b && b % (1ull << 10) == 0)
		snprintf(buf, len, "%" PRIu64 "KiB", b >> 10);
	else
		snprintf(buf, len, "%" PRIu64, b);
}

static int set_duration(struct load *ld, const struct opt *o, const char *v,
			const struct src *s)
{
	bool bare_ms = (o->flags & F_ENV_MS) && s->level == SRC_ENV;
	uint64_t bare = bare_ms ? 1 : (o->flags & F_BARE_S) ? 1000 : 0;
	char expect[160], lo[32], hi[32];
	uint64_t ms;

	if (parse_duration(v, bare, &ms) && ms >= o->min && ms <= o->max) {
		*(uint64_t *)field(ld->cfg, o) = ms;
		return 0;
	}
	format_duration(o->min, lo, sizeof(lo));
	format_duration(o->max, hi, sizeof(hi));
	snprintf(expect, sizeof(expect),
		 "%s such as 500ms, 30s, 2m or 1h%s%s%s%s%s",
		 bare == 1 ? "milliseconds or a duration"
		 : bare ? "seconds or a duration" : "a duration",
		 o->max == UINT64_MAX ? "" : " (",
		 o->max == UINT64_MAX ? "" : lo,
		 o->max == UINT64_MAX ? "" : " to ",
		 o->max == UINT64_MAX ? "" : hi,
		 o->max == UINT64_MAX ? "" : ")");
	return bad_value(ld, o, s, v, expect);
}

static int set_bytes(struct load *ld, const struct opt *o, const char *v,
		     const struct src *s)
{
	char expect[160], lo[32], hi[32];
	uint64_t b;

	if (parse_bytes(v, &b) && b >= o->min && b <= o->max) {
		*(uint64_t *)field(ld->cfg, o) = b;
		return 0;
	}
	format_bytes(o->min, lo, sizeof(lo));
	format_bytes(o->max, hi, sizeof(hi));
	snprintf(expect, sizeof(expect),
		 "a size such as 64KiB or 16MiB (%s to %s)", lo, hi);
	return bad_value(ld, o, s, v, expect);
}

/* A higher source replaces a list; the same source appends to it. */
static void list_take(struct load *ld, const struct opt *o,
		      const struct src *s)
{
	if (ld->level[opt_index(o)] < s->level)
		types[o->type].clear(ld->cfg, o);
	ld->level[opt_index(o)] = (unsigned char)s->level;
}

static void clear_pids(struct ebt_config *cfg, const struct opt *o)
{
	*field_count(cfg, o) = 0;
}

static void clear_strings(struct ebt_config *cfg, const struct opt *o)
{
	char **arr = field(cfg, o);
	unsigned *n = field_count(cfg, o);

	for (unsigned i = 0; i < *n; i++) {
		free(arr[i]);
		arr[i] = NULL;
	}
	*n = 0;
}

/* Calls add(item) for every comma-separated item, blanks trimmed. */
static int for_each_item(struct load *ld, const struct opt *o,
			 const char *v, const struct src *s,
			 int (*add)(struct load *, const struct opt *,
				    const char *, const struct src *))
{
	char item[4097];

	list_take(ld, o, s);
	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		const char *b = p, *e = p + len;

		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e)
			return bad_value(ld, o, s, v,
					 "a comma-separated list without "
					 "empty items");
		if ((size_t)(e - b) >= sizeof(item))
			return bad_value(ld, o, s, v, "shorter items");
		memcpy(item, b, (size_t)(e - b));
		item[e - b] = '\0';
		if (add(ld, o, item, s))
			return -1;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

static int list_full(struct load *ld, const struct opt *o,
		     const struct src *s, const char *v)
{
	char expect[64];

	snprintf(expect, sizeof(expect), "at most %d values in total",
		 EBT_MAX_FILTERS);
	return bad_value(ld, o, s, v, expect);
}

static int add_pid(struct load *ld, const struct opt *o, const char *v,
		   const struct src *s)
{
	uint32_t *arr = field(ld->cfg, o);
	unsigned *n = field_count(ld->cfg, o);
	const char *p = v;
	char expect[64];
	uint64_t pid;

	if (!parse_u64(&p, &pid) || *p || pid < o->min || pid > o->max) {
		snprintf(expect, sizeof(expect),
			 "process ids from 1 to %" PRIu64, o->max);
		return bad_value(ld, o, s, v, expect);
	}
	for (unsigned i = 0; i < *n; i++)
		if (arr[i] == pid)
			return 0;
	if (*n >= EBT_MAX_FILTERS)
		return list_full(ld, o, s, v);
	arr[(*n)++] = (uint32_t)pid;
	return 0;
}

static int add_string(struct load *ld, const struct opt *o, const char *v,
		      const struct src *s)
{
	char **arr = field(ld->cfg, o);
	unsigned *n = field_count(ld->cfg, o);
	char expect[64];

	if (strlen(v) > o->max) {
		snprintf(expect, sizeof(expect), "names of at most %" PRIu64
			 " bytes", o->max);
		return bad_value(ld, o, s, v, expect);
	}
	if (o->valid && !o->valid(v))
		return bad_value(ld, o, s, v, o->expect);
	if (*n >= EBT_MAX_FILTERS)
		return list_full(ld, o, s, v);
	arr[*n] = strdup(v);
	if (!arr[*n])
		return no_memory(ld);
	(*n)++;
	return 0;
}

static int set_pids(struct load *ld, const struct opt *o, const char *v,
		    const struct src *s)
{
	return for_each_item(ld, o, v, s, add_pid);
}

static int set_strings(struct load *ld, const struct opt *o, const char *v,
		       const struct src *s)
{
	return for_each_item(ld, o, v, s, add_string);
}

static void clear_nothing(struct ebt_config *cfg, const struct opt *o)
{
	(void)cfg;
	(void)o;
}

static const struct type_ops types[] = {
	[T_STRING] = { "string", set_string, clear_string },
	[T_BOOL] = { "bool", set_bool, clear_nothing },
	[T_UINT] = { "integer", set_uint, clear_nothing },
	[T_DURATION] = { "duration", set_duration, clear_nothing },
	[T_BYTES] = { "size", set_bytes, clear_nothing },
	[T_ENUM] = { "enum", set_enum, clear_nothing },
	[T_CHOICE] = { "enum", set_choice, clear_string },
	[T_PIDS] = { "list of pids", set_pids, clear_pids },
	[T_STRINGS] = { "list of strings", set_strings, clear_strings },
	[T_CONFIG] = { "path", NULL, clear_nothing },
	[T_HELP] = { "—", NULL, clear_nothing },
};

static bool is_list(const struct opt *o)
{
	return o->type == T_PIDS || o->type == T_STRINGS;
}

static bool is_setting(const struct opt *o)
{
	return o->key != NULL;
}

static int apply(struct load *ld, const struct opt *o, const char *v,
		 const struct src *s)
{
	if (types[o->type].set(ld, o, v, s))
		return -1;
	ld->level[opt_index(o)] = (unsigned char)s->level;
	return 0;
}

/* ---- lookup and suggestions ---- */

static const struct opt *find_key(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].key && strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static bool is_section(const char *prefix)
{
	size_t len = strlen(prefix);

	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].key && strncmp(opts[i].key, prefix, len) == 0 &&
		    opts[i].key[len] == '.')
			return true;
	return false;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[KEY_MAX + 1];

	if (la > KEY_MAX || lb > KEY_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t sub = diag + (a[i - 1] != b[j - 1]);
			size_t best = up + 1 < row[j - 1] + 1 ? up + 1
							       : row[j - 1] + 1;

			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return row[lb];
}

/* Closest key or flag to an unknown one, NULL if nothing is close. */
static const char *suggest(const char *typed, bool flags)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < N_OPTS; i++) {
		const char *cand = flags ? opts[i].flag : opts[i].key;
		const char *tail;
		size_t d, d2;

		if (!cand)
			continue;
		d = edit_distance(typed, cand);
		tail = strrchr(cand, '.');
		d2 = tail ? edit_distance(typed, tail + 1) : SIZE_MAX;
		if (d2 < d)
			d = d2;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	if (best_d <= 2 || (best_d != SIZE_MAX && best_d * 3 <= strlen(typed)))
		return best;
	return NULL;
}

static int unknown(struct load *ld, const char *where, const char *what,
		   const char *typed, bool flags)
{
	const char *s = suggest(typed, flags);
	char buf[SHOW_MAX + 4];

	if (s)
		set_err(ld, "%s: unknown %s '%s' (did you mean %s?)", where,
			what, shown(typed, buf), s);
	else
		set_err(ld, "%s: unknown %s '%s'", where, what,
			shown(typed, buf));
	return -1;
}

/* ---- the config file ---- */

static bool yaml_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static int yaml_mapping(struct load *ld, yaml_document_t *doc,
			yaml_node_t *map, const char *prefix);

static int yaml_sequence(struct load *ld, yaml_document_t *doc,
			 const struct opt *o, yaml_node_t *seq,
			 struct src *s)
{
	yaml_node_item_t *it;

	list_take(ld, o, s);
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(doc, *it);

		s->line = n->start_mark.line + 1;
		if (n->type != YAML_SCALAR_NODE) {
			set_err(ld, "%s:%lu: %s: expected a list of plain "
				"values", s->name, s->line, o->key);
			return -1;
		}
		if (apply(ld, o, (const char *)n->data.scalar.value, s))
			return -1;
	}
	return 0;
}

static int yaml_value(struct load *ld, yaml_document_t *doc,
		      const char *key, yaml_node_t *n)
{
	struct src s = { SRC_FILE, ld->config_shown, n->start_mark.line + 1 };
	const struct opt *o = find_key(key);
	char where[PATH_SHOW + 32];

	snprintf(where, sizeof(where), "%s:%lu", s.name, s.line);
	if (!o && n->type == YAML_MAPPING_NODE && is_section(key))
		return yaml_mapping(ld, doc, n, key);
	if (!o && is_section(key)) {
		set_err(ld, "%s: '%s' is a section: expected a mapping of "
			"%s.* keys", where, key, key);
		return -1;
	}
	if (!o)
		return unknown(ld, where, "key", key, false);
	if (o->flags & F_NOFILE) {
		set_err(ld, "%s: %s cannot be set in a config file (use %s)",
			where, key, o->flag);
		return -1;
	}
	if (n->type == YAML_SEQUENCE_NODE && is_list(o))
		return yaml_sequence(ld, doc, o, n, &s);
	if (n->type != YAML_SCALAR_NODE) {
		set_err(ld, "%s: %s: expected a single value, not a %s", where,
			key, n->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return -1;
	}
	if (yaml_is_null(n))
		return 0;
	return apply(ld, o, (const char *)n->data.scalar.value, &s);
}

static int yaml_mapping(struct load *ld, yaml_document_t *doc,
			yaml_node_t *map, const char *prefix)
{
	char buf[SHOW_MAX + 4];
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		char key[KEY_MAX + 1];
		int n;

		if (k->type != YAML_SCALAR_NODE) {
			set_err(ld, "%s:%lu: keys must be plain words",
				ld->config_shown, k->start_mark.line + 1);
			return -1;
		}
		n = snprintf(key, sizeof(key), "%s%s%s", prefix,
			     *prefix ? "." : "", k->data.scalar.value);
		if (n < 0 || (size_t)n >= sizeof(key)) {
			set_err(ld, "%s:%lu: unknown key '%s'",
				ld->config_shown, k->start_mark.line + 1,
				shown(key, buf));
			return -1;
		}
		if (yaml_value(ld, doc, key, v))
			return -1;
	}
	return 0;
}

static int yaml_document(struct load *ld, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (!root)
		return 0; /* empty file */
	if (root->type == YAML_SCALAR_NODE && yaml_is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE) {
		set_err(ld, "%s:%lu: expected a mapping of keys at the top "
			"level", ld->config_shown, root->start_mark.line + 1);
		return -1;
	}
	return yaml_mapping(ld, doc, root, "");
}

static int yaml_syntax_error(struct load *ld, const yaml_parser_t *p)
{
	set_err(ld, "%s:%lu: YAML syntax error: %s%s%s", ld->config_shown,
		(unsigned long)p->problem_mark.line + 1,
		p->problem ? p->problem : "unknown problem",
		p->context ? " " : "", p->context ? p->context : "");
	return -1;
}

/* One file, one document: a second one would be silently ignored. */
static int yaml_no_second_document(struct load *ld, yaml_parser_t *parser)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = 0;

	if (!yaml_parser_load(parser, &doc))
		return yaml_syntax_error(ld, parser);
	root = yaml_document_get_root_node(&doc);
	if (root) {
		set_err(ld, "%s:%lu: only one YAML document per config file",
			ld->config_shown, (unsigned long)root->start_mark.line + 1);
		ret = -1;
	}
	yaml_document_delete(&doc);
	return ret;
}

static int load_file(struct load *ld)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct stat st;
	FILE *f;
	int ret;

	shown_max(ld->config_path, ld->config_shown, PATH_SHOW);
	f = fopen(ld->config_path, "r");
	if (!f || fstat(fileno(f), &st) || S_ISDIR(st.st_mode)) {
		set_err(ld, "%s: cannot read config file '%s': %s",
			ld->config_src, ld->config_shown,
			f ? "is a directory" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return no_memory(ld);
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = yaml_syntax_error(ld, &parser);
	} else {
		ret = yaml_document(ld, &doc);
		yaml_document_delete(&doc);
		if (!ret)
			ret = yaml_no_second_document(ld, &parser);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}

/* ---- environment ---- */

static int load_env(struct load *ld)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];

		if (!is_setting(o))
			continue;
		for (size_t e = 0; e < ARRAY_SIZE(o->env) && o->env[e]; e++) {
			const char *v = getenv(o->env[e]);
			struct src s = { SRC_ENV, o->env[e], 0 };

			/* OTel: an empty variable counts as unset */
			if (v && *v && apply(ld, o, v, &s))
				return -1;
		}
	}
	return 0;
}

/* ---- command line ---- */

static const struct opt *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].flag && strlen(opts[i].flag) == len &&
		    strncmp(opts[i].flag, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const struct opt *find_short(char c)
{
	for (size_t i = 0; c && i < N_OPTS; i++)
		if (opts[i].short_flag == c)
			return &opts[i];
	return NULL;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char *command_name(unsigned mask)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].mask == mask)
			return commands[i].name;
	return "this command";
}

static int positional(struct load *ld, const char *arg, bool apply_it)
{
	struct src s = { SRC_FLAG, "argument", 0 };
	char buf[SHOW_MAX + 4];

	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];

		if (!(o->flags & F_POSITIONAL) || !(o->cmds & ld->cmd) ||
		    ld->n_positional > 0)
			continue;
		ld->n_positional++;
		return apply_it ? apply(ld, o, arg, &s) : 0;
	}
	set_err(ld, "unexpected argument '%s'", shown(arg, buf));
	return -1;
}

/*
 * One argument that starts with '-': finds the option and its value.
 * Returns the number of argv slots used (1 or 2), or -1 (error) or 0 (help).
 */
static int parse_flag(struct load *ld, int argc, char **argv, int i,
		      const struct opt **out, const char **val, char *name,
		      size_t namelen)
{
	const char *a = argv[i], *eq = NULL;
	const struct opt *o;
	size_t len;

	if (a[1] == '-') {
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		o = find_flag(a, len);
		*val = eq ? eq + 1 : NULL;
	} else {
		len = 2;
		o = find_short(a[1]);
		*val = a[2] ? a + 2 : NULL;
	}
	snprintf(name, namelen, "%.*s", (int)(len < 64 ? len : 64), a);
	if (!o)
		return unknown(ld, "command line", "option", name, true);
	if (!(o->cmds & ld->cmd)) {
		set_err(ld, "option %s is not used by '%s'", name,
			command_name(ld->cmd));
		return -1;
	}
	*out = o;
	if (o->type == T_HELP)
		return 0;
	if (*val)
		return 1;
	if (o->type == T_BOOL) {
		*val = "true";
		return 1;
	}
	if (i + 1 >= argc) {
		set_err(ld, "option %s needs a value (%s)", name,
			o->metavar ? o->metavar : types[o->type].name);
		return -1;
	}
	*val = argv[i + 1];
	return 2;
}

/*
 * Pass 1 (apply_it false) checks the syntax and finds --config and --help;
 * pass 2 applies the values, after the file and the environment.
 * Returns 0, 1 for --help, -1 on error.
 */
static int load_args(struct load *ld, int argc, char **argv, bool apply_it)
{
	bool only_positional = false;

	ld->n_positional = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt *o = NULL;
		char name[72];
		int used;

		if (!only_positional && strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (only_positional || a[0] != '-' || a[1] == '\0') {
			if (positional(ld, a, apply_it))
				return -1;
			continue;
		}
		used = parse_flag(ld, argc, argv, i, &o, &val, name,
				  sizeof(name));
		if (used < 0)
			return -1;
		if (used == 0)
			return 1;
		i += used - 1;
		if (o->type == T_CONFIG && !apply_it) {
			ld->config_path = val;
			ld->config_src = "command line";
		} else if (is_setting(o) && apply_it) {
			struct src s = { SRC_FLAG, name, 0 };

			if (apply(ld, o, val, &s))
				return -1;
		}
	}
	return 0;
}

/* ---- load ---- */

static int load_defaults(struct load *ld)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		struct src s = { SRC_DEFAULT, NULL, 0 };

		if (is_setting(&opts[i]) && opts[i].def &&
		    apply(ld, &opts[i], opts[i].def, &s))
			return -1;
	}
	return 0;
}

static int check_required(struct load *ld)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];

		if (!(o->flags & F_REQUIRED) || !(o->cmds & ld->cmd) ||
		    o->type != T_STRING || *(char **)field(ld->cfg, o))
			continue;
		set_err(ld, "missing %s: usage: ebpftrace %s [options] %s%s%s",
			o->key, command_name(ld->cmd),
			o->flags & F_POSITIONAL ? "<" : "", o->metavar,
			o->flags & F_POSITIONAL ? ">" : "");
		return -1;
	}
	return 0;
}

/* Pod selection and cgroup selection both fill the kernel's cgroup
 * filter: one or the other. */
static int check_selection(struct load *ld)
{
	const struct ebt_config *c = ld->cfg;

	if (!ebt_config_has_pod_filter(c) || (!c->n_cgroups && !c->n_containers))
		return 0;
	set_err(ld, "filter.namespaces, filter.exclude_namespaces and "
		"filter.pod_selector cannot be combined with filter.cgroup or "
		"filter.container_id: select pods or cgroups, not both");
	return -1;
}

/* A client key belongs to a client certificate (which may hold both). */
static int check_tls_files(struct load *ld)
{
	const struct ebt_config *c = ld->cfg;

	if (c->otlp_key_file && !c->otlp_cert_file) {
		set_err(ld, "otlp.client_key is set without "
			"otlp.client_certificate: set both "
			"(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and "
			"OTEL_EXPORTER_OTLP_CLIENT_KEY), or neither");
		return -1;
	}
	if (c->loki_key_file && !c->loki_cert_file) {
		set_err(ld, "loki.client_key is set without "
			"loki.client_certificate: set both, or neither");
		return -1;
	}
	return 0;
}

static int load_all(struct load *ld, int argc, char **argv)
{
	int ret = load_args(ld, argc, argv, false);

	if (ret)
		return ret;
	if (!ld->config_path && getenv("EBPFTRACE_CONFIG") &&
	    *getenv("EBPFTRACE_CONFIG")) {
		ld->config_path = getenv("EBPFTRACE_CONFIG");
		ld->config_src = "environment EBPFTRACE_CONFIG";
	}
	if (load_defaults(ld))
		return -1;
	if (ld->config_path && load_file(ld))
		return -1;
	if (load_env(ld))
		return -1;
	if (load_args(ld, argc, argv, true))
		return -1;
	if (check_required(ld) || check_tls_files(ld))
		return -1;
	return check_selection(ld);
}

int ebt_config_load(struct ebt_config *cfg, const char *command, int argc,
		    char **argv, char *err, size_t errlen)
{
	const struct command *c = find_command(command);
	struct load ld = { .cfg = cfg, .err = err, .errlen = errlen };
	char buf[SHOW_MAX + 4];
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (errlen)
		err[0] = '\0';
	if (command && !c) {
		set_err(&ld, "unknown command '%s'", shown(command, buf));
		return -1;
	}
	ld.cmd = c ? c->mask : CMD_ALL;
	ret = load_all(&ld, argc, argv);
	if (ret == 1)
		ebt_config_usage(stdout, command);
	if (ret)
		ebt_config_free(cfg);
	return ret;
}

void ebt_config_free(struct ebt_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_OPTS; i++)
		types[opts[i].type].clear(cfg, &opts[i]);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- help and docs ---- */

static void default_text(const struct opt *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s", o->def ? o->def : "");
}

/* A choice list too long for a usage line has a metavar, its choices
 * listed in the help text. */
static void metavar_text(const struct opt *o, char *buf, size_t len)
{
	if (o->choices && !o->metavar)
		choices_text(o->choices, "|", buf, len);
	else
		snprintf(buf, len, "%s", o->metavar ? o->metavar : "");
}

static void env_text(const struct opt *o, const char *sep, char *buf,
		     size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t e = 0; e < ARRAY_SIZE(o->env) && o->env[e] && n < len; e++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", e ? sep : "",
				      o->env[e]);
}

#define HELP_COL 32
#define HELP_WIDTH 79

/* Prints words from column col (already reached), wrapping at HELP_WIDTH. */
static void print_wrapped(FILE *out, const char *text)
{
	int pos = HELP_COL;

	for (const char *p = text; *p;) {
		int w = (int)strcspn(p, " ");

		if (pos > HELP_COL && pos + 1 + w > HELP_WIDTH) {
			fprintf(out, "\n%*s", HELP_COL, "");
			pos = HELP_COL;
		} else if (pos > HELP_COL) {
			fputc(' ', out);
			pos++;
		}
		fwrite(p, 1, (size_t)w, out);
		pos += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

static void usage_option(FILE *out, const struct opt *o)
{
	char left[96], meta[64], def[64], env[128], line[256];
	int n;

	metavar_text(o, meta, sizeof(meta));
	if (!o->flag) /* file/environment only: show the key */
		n = snprintf(left, sizeof(left), "      %s", o->key);
	else
		n = snprintf(left, sizeof(left), "  %c%c%s%s%s%s",
			     o->short_flag ? '-' : ' ',
			     o->short_flag ? o->short_flag : ' ',
			     o->short_flag ? ", " : "  ", o->flag,
			     *meta ? " " : "", meta);
	if (n > HELP_COL - 2)
		fprintf(out, "%s\n%*s", left, HELP_COL, "");
	else
		fprintf(out, "%-*s", HELP_COL, left);
	print_wrapped(out, o->help);
	default_text(o, def, sizeof(def));
	env_text(o, ", ", env, sizeof(env));
	if (*def) {
		snprintf(line, sizeof(line), "default: %s", def);
		fprintf(out, "%*s", HELP_COL, "");
		print_wrapped(out, line);
	}
	if (*env) {
		snprintf(line, sizeof(line), "env: %s", env);
		fprintf(out, "%*s", HELP_COL, "");
		print_wrapped(out, line);
	}
}

void ebt_config_usage(FILE *out, const char *command)
{
	const struct command *c = find_command(command);
	unsigned mask = c ? c->mask : CMD_ALL;

	if (c)
		fprintf(out, "Usage: ebpftrace %s [options]%s\n\n%s\n\n",
			c->name, c->args, c->summary);
	else
		fprintf(out, "Usage: ebpftrace <command> [options]\n\n");
	fprintf(out, "Options:\n");
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].cmds & mask)
			usage_option(out, &opts[i]);
	fprintf(out, "\nDurations: 500ms, 30s, 2m, 1h (also 1m30s). Sizes: "
		     "64KiB, 16MiB, 1GiB.\n"
		     "Precedence: defaults < --config file < environment < "
		     "flags.\n"
		     "All options: docs/configuration.md.\n");
}

static void md_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_code_list(FILE *out, const char *const *items, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (!items[i])
			continue;
		fprintf(out, "%s`%s`", any ? ", " : "", items[i]);
		any = true;
	}
	if (!any)
		fputs("—", out);
}

static void md_row(FILE *out, const struct opt *o)
{
	char sh[3] = { '-', o->short_flag, 0 };
	const char *flags[] = { o->short_flag ? sh : NULL, o->flag };
	const char *key[] = { o->key };
	bool first = true;

	fputs("| ", out);
	md_code_list(out, key, 1);
	fputs(" | ", out);
	md_code_list(out, flags, 2);
	fputs(" | ", out);
	md_code_list(out, o->env, ARRAY_SIZE(o->env));
	fprintf(out, " | %s", types[o->type].name);
	for (const struct choice *c = o->choices; c && c->name; c++) {
		fprintf(out, "%s`%s`", first ? ": " : ", ", c->name);
		first = false;
	}
	fputs(" | ", out);
	if (o->def)
		fprintf(out, "`%s`", o->def);
	else
		fputs("—", out);
	fputs(" | ", out);
	first = true;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!(o->cmds & commands[i].mask))
			continue;
		fprintf(out, "%s%s", first ? "" : ", ", commands[i].name);
		first = false;
	}
	fputs(" | ", out);
	md_escaped(out, o->help);
	fputs(" |\n", out);
}

void ebt_config_markdown(FILE *out)
{
	fputs("| Key | Flag | Environment | Type | Default | Commands | "
	      "Description |\n"
	      "|---|---|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < N_OPTS; i++)
		md_row(out, &opts[i]);
	fputs("\nValue syntax:\n\n"
	      "- **duration**: a number with a unit, `ms`, `s`, `m` or `h`, "
	      "also combined (`1m30s`); `0` alone is allowed. The "
	      "`OTEL_EXPORTER_OTLP_*TIMEOUT` variables take a plain number "
	      "of milliseconds, as the OpenTelemetry specification says; "
	      "`duration` takes a plain number of seconds, as `timeout(1)` "
	      "does.\n"
	      "- **size**: bytes, or a number with `KiB`, `MiB`, `GiB` "
	      "(powers of 1024) or `KB`, `MB`, `GB` (powers of 1000).\n"
	      "- **bool**: `true`/`false` (also `yes`/`no`, `on`/`off`, "
	      "`1`/`0`); a bool flag alone means true, `--flag=false` turns "
	      "it off.\n"
	      "- **list**: repeat the flag or separate values with commas; "
	      "in YAML a sequence or a comma-separated string. A list from a "
	      "higher-precedence source replaces the lower one.\n"
	      "- **string**: an empty value (`--stats-file=`, `\"\"` in "
	      "YAML) unsets it; empty environment variables are ignored.\n",
	      out);
}

bool ebt_config_has_filter(const struct ebt_config *c)
{
	return c->n_pids || c->n_comms || c->n_cgroups || c->n_containers ||
	       ebt_config_has_pod_filter(c);
}

bool ebt_config_has_pod_filter(const struct ebt_config *c)
{
	return c->n_namespaces || c->n_exclude_namespaces ||
	       (c->pod_selector && c->pod_selector[0]);
}
