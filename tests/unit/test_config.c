/* SPDX-License-Identifier: Apache-2.0 */
/* Options table: defaults, types, precedence, errors, help and docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define MAX_ARGS 32

static const char *const all_env[] = {
	"EBPFTRACE_FILTER_PID", "EBPFTRACE_FILTER_COMM",
	"EBPFTRACE_FILTER_CGROUP", "EBPFTRACE_FILTER_POD_SELECTOR",
	"EBPFTRACE_DURATION", "EBPFTRACE_FORMAT",
	"EBPFTRACE_HOOK_ONLY", "EBPFTRACE_LOG_LEVEL", "EBPFTRACE_STATS_FILE",
	"EBPFTRACE_HTTP_QUERY", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "EBPFTRACE_OTLP_QUEUE_BYTES",
	"EBPFTRACE_OTLP_BATCH_SPANS", "EBPFTRACE_OTLP_BATCH_TIMEOUT",
	"OTEL_RESOURCE_ATTRIBUTES", "EBPFTRACE_ATTACH_NAMESPACE",
	"EBPFTRACE_CONFIG", "EBPFTRACE_LOGS_ENABLED", "EBPFTRACE_LOGS_MAX_LINE",
	"EBPFTRACE_LOGS_FLUSH_TIMEOUT", "EBPFTRACE_LOGS_MULTILINE",
	"EBPFTRACE_LOKI_ENDPOINT", "EBPFTRACE_LOKI_TENANT",
	"EBPFTRACE_LOKI_USERNAME", "EBPFTRACE_LOKI_PASSWORD",
	"EBPFTRACE_LOKI_BEARER_TOKEN", "EBPFTRACE_LOKI_TIMEOUT",
	"EBPFTRACE_LOKI_BATCH_BYTES", "EBPFTRACE_LOKI_BATCH_TIMEOUT",
	"EBPFTRACE_LOKI_QUEUE_BYTES", "EBPFTRACE_CLUSTER",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "EBPFTRACE_LOKI_CERTIFICATE",
	"EBPFTRACE_LOKI_CLIENT_CERTIFICATE", "EBPFTRACE_LOKI_CLIENT_KEY",
};

static struct ebt_config cfg;
static char err[512];
static char tmp_path[64];

static int clean_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_env) / sizeof(all_env[0]); i++)
		unsetenv(all_env[i]);
	memset(err, 0, sizeof(err));
	tmp_path[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	ebt_config_free(&cfg);
	if (tmp_path[0])
		unlink(tmp_path);
	return clean_env(state);
}

/* load(command, arg, ..., NULL): argv[0] is the command itself */
static int load(const char *command, ...)
{
	char *argv[MAX_ARGS] = { (char *)(command ? command : "x") };
	int argc = 1, ret;
	va_list ap;
	const char *a;

	va_start(ap, command);
	while ((a = va_arg(ap, const char *)) && argc < MAX_ARGS - 1)
		argv[argc++] = (char *)a;
	va_end(ap);
	ebt_config_free(&cfg);
	ret = ebt_config_load(&cfg, command, argc, argv, err, sizeof(err));
	if (ret < 0) {
		assert_true(strlen(err) > 10);
		assert_null(strchr(err, '\n')); /* one line */
	}
	return ret;
}

static const char *write_yaml(const char *text)
{
	int fd;

	if (tmp_path[0])
		unlink(tmp_path);
	snprintf(tmp_path, sizeof(tmp_path), "/tmp/ebt-cfg-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmp_path;
}

static void assert_err(const char *needle)
{
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s (run tests from the repo root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- defaults and types ---- */

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.n_pids, 0);
	assert_int_equal(cfg.n_comms, 0);
	assert_int_equal(cfg.n_cgroups, 0);
	assert_int_equal(cfg.duration_ms, 0);
	assert_int_equal(cfg.format, EBT_FORMAT_TEXT);
	assert_false(cfg.hook_only);
	assert_string_equal(cfg.log_level, "info");
	assert_null(cfg.stats_file);
	assert_int_equal(cfg.query_mode, HTTP_QUERY_REDACT);
	assert_null(cfg.otlp_endpoint);
	assert_null(cfg.otlp_traces_endpoint);
	assert_null(cfg.otlp_headers);
	assert_int_equal(cfg.otlp_timeout_ms, 10000);
	assert_int_equal(cfg.otlp_compression, EBT_COMPRESS_GZIP);
	assert_int_equal(cfg.otlp_queue_bytes, 16u << 20);
	assert_int_equal(cfg.otlp_batch_spans, 512);
	assert_int_equal(cfg.otlp_batch_timeout_ms, 1000);
	assert_null(cfg.resource_attributes);
	assert_true(cfg.logs_enabled);
	assert_int_equal(cfg.logs_max_line, 64 * 1024);
	assert_int_equal(cfg.logs_flush_timeout_ms, 5000);
	assert_true(cfg.logs_multiline);
	assert_null(cfg.loki_endpoint);
	assert_null(cfg.loki_tenant);
	assert_null(cfg.loki_username);
	assert_null(cfg.loki_password);
	assert_null(cfg.loki_bearer_token);
	assert_int_equal(cfg.loki_timeout_ms, 10000);
	assert_int_equal(cfg.loki_batch_bytes, 1u << 20);
	assert_int_equal(cfg.loki_batch_timeout_ms, 1000);
	assert_int_equal(cfg.loki_queue_bytes, 32u << 20);
	assert_null(cfg.cluster);
}

static void test_flags_every_type(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--stats-file", "/tmp/s.json",
			      "--hook-only", "-f", "json", "--http-query=drop",
			      "--log-level", "debug", "--otlp-batch-spans",
			      "100", "--otlp-queue-bytes", "64KiB", "-d", "1m30s",
			      "--otlp-endpoint", "http://tempo:4318",
			      "--otlp-compression", "none", "--comm", "java",
			      "--cgroup", "/kubepods/pod1", NULL),
			 0);
	assert_string_equal(cfg.stats_file, "/tmp/s.json");
	assert_true(cfg.hook_only);
	assert_int_equal(cfg.format, EBT_FORMAT_JSON);
	assert_int_equal(cfg.query_mode, HTTP_QUERY_DROP);
	assert_string_equal(cfg.log_level, "debug");
	assert_int_equal(cfg.otlp_batch_spans, 100);
	assert_int_equal(cfg.otlp_queue_bytes, 65536);
	assert_int_equal(cfg.duration_ms, 90000);
	assert_string_equal(cfg.otlp_endpoint, "http://tempo:4318");
	assert_int_equal(cfg.otlp_compression, EBT_COMPRESS_NONE);
	assert_int_equal(cfg.n_comms, 1);
	assert_string_equal(cfg.comms[0], "java");
	assert_string_equal(cfg.cgroups[0], "/kubepods/pod1");
}

static void test_bool(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--hook-only=false", NULL), 0);
	assert_false(cfg.hook_only);
	setenv("EBPFTRACE_HOOK_ONLY", "yes", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_true(cfg.hook_only);
	assert_int_equal(load("run", "--hook-only=off", NULL), 0);
	assert_false(cfg.hook_only);
	assert_int_equal(load("run", "--hook-only=maybe", NULL), -1);
	assert_err("flag --hook-only: invalid value 'maybe' for hook_only: "
		   "expected true or false");
}

static void test_uint(void **state)
{
	static const char *const bad[] = { "0", "65537", "12x", "-1", "",
					   " 5", "99999999999999999999999" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load("run", "--otlp-batch-spans", bad[i],
				      NULL),
				 -1);
		assert_err("expected a whole number from 1 to 65536");
	}
	assert_int_equal(load("run", "--otlp-batch-spans", "65536", NULL), 0);
	assert_int_equal(cfg.otlp_batch_spans, 65536);
}

struct dur_case {
	const char *text;
	uint64_t ms;
};

static void test_durations(void **state)
{
	static const struct dur_case good[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "1m30s", 90000 }, { "0", 0 },
		{ "1h2m3s4ms", 3723004 }, { "10S", 10000 }, { "10", 10000 },
		{ "90", 90000 },
	};
	static const char *const bad[] = {
		"5x", "-1s", "s", "", "1.5s", "1sm", "ms",
		"99999999999999999999h", "9999999999999999h", "30 s",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(load("run", "--duration", good[i].text, NULL),
				 0);
		assert_int_equal(cfg.duration_ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load("run", "--duration", bad[i], NULL) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_err("for duration: expected seconds or a duration "
			   "such as 500ms");
	}
	/* a bare number is seconds for --duration only */
	assert_int_equal(load("run", "--otlp-timeout", "10", NULL), -1);
	assert_err("expected a duration such as 500ms");
	/* ranges: the export timeout must be positive and at most 1h */
	assert_int_equal(load("run", "--otlp-timeout", "0", NULL), -1);
	assert_err("(1ms to 1h)");
	assert_int_equal(load("run", "--otlp-timeout", "61m", NULL), -1);
	assert_int_equal(load("run", "--otlp-timeout", "250ms", NULL), 0);
	assert_int_equal(cfg.otlp_timeout_ms, 250);
}

struct size_case {
	const char *text;
	uint64_t bytes;
};

static void test_bytes(void **state)
{
	static const struct size_case good[] = {
		{ "64KiB", 65536 }, { "16MiB", 16u << 20 },
		{ "1GiB", 1u << 30 }, { "100000", 100000 },
		{ "1 MiB", 1u << 20 }, { "2MB", 2000000 }, { "70000B", 70000 },
		{ "4GiB", 4ull << 30 }, { "128kib", 131072 },
	};
	static const char *const bad[] = {
		"16M", "1KiB", "65535", "5GiB", "MiB", "1.5MiB", "-1MiB", "",
		"16MiBs", "16  MiB", "99999999999999999GiB",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(load("run", "--otlp-queue-bytes",
				      good[i].text, NULL),
				 0);
		assert_int_equal(cfg.otlp_queue_bytes, good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load("run", "--otlp-queue-bytes", bad[i], NULL) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_err("expected a size such as 64KiB or 16MiB "
			   "(64KiB to 4GiB)");
	}
}

static void test_enums(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--format", "none", NULL), 0);
	assert_int_equal(cfg.format, EBT_FORMAT_NONE);
	assert_int_equal(load("run", "--http-query", "keep", NULL), 0);
	assert_int_equal(cfg.query_mode, HTTP_QUERY_KEEP);
	assert_int_equal(load("run", "-f", "xml", NULL), -1);
	assert_string_equal(err, "flag -f: invalid value 'xml' for format: "
				 "expected one of text, json, none");
	assert_int_equal(load("run", "--http-query", "REDACT", NULL), -1);
	assert_err("expected one of keep, redact, drop");
	assert_int_equal(load("run", "--log-level", "trace", NULL), -1);
	assert_err("expected one of error, warn, info, debug");
	assert_int_equal(load("run", "--otlp-compression", "zstd", NULL), -1);
	assert_err("expected one of gzip, none");
}

static void test_strings_validated(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--otlp-endpoint", "tempo:4318", NULL),
			 -1);
	assert_err("expected an http:// or https:// URL");
	assert_int_equal(load("run", "--otlp-traces-endpoint",
			      "ftp://x/v1/traces", NULL),
			 -1);
	assert_int_equal(load("run", "--otlp-traces-endpoint",
			      "https://tempo.example:443/v1/traces", NULL),
			 0);
	assert_string_equal(cfg.otlp_traces_endpoint,
			    "https://tempo.example:443/v1/traces");
	assert_int_equal(load("run", "--resource-attributes",
			      "a=1, b=two,", NULL),
			 0);
	assert_string_equal(cfg.resource_attributes, "a=1, b=two,");
	assert_int_equal(load("run", "--resource-attributes", "a=1,b", NULL),
			 -1);
	assert_err("expected key=value pairs separated by commas");
	assert_int_equal(load("run", "--resource-attributes", "=1", NULL), -1);
	/* an empty value unsets a string */
	assert_int_equal(load("run", "--otlp-endpoint=", NULL), 0);
	assert_null(cfg.otlp_endpoint);
}

static void test_secret_not_echoed(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--otlp-headers", "Bearer s3cr3t", NULL),
			 -1);
	assert_null(strstr(err, "s3cr3t"));
	assert_err("invalid value for otlp.headers (not shown)");
	assert_int_equal(load("run", "--otlp-headers",
			      "authorization=Bearer%20s3cr3t", NULL),
			 0);
	assert_string_equal(cfg.otlp_headers, "authorization=Bearer%20s3cr3t");
}

/* ---- lists ---- */

static void test_list_flags(void **state)
{
	(void)state;
	assert_int_equal(load("run", "-p", "1", "--pid", "2,3", "--pid=4",
			      "-p5", "-p", " 6 , 7", "-p", "3", NULL),
			 0);
	assert_int_equal(cfg.n_pids, 7); /* the repeated 3 is kept once */
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(cfg.pids[i], i + 1);
	assert_int_equal(load("run", "--comm", "java,nginx", "--comm", "curl",
			      NULL),
			 0);
	assert_int_equal(cfg.n_comms, 3);
	assert_string_equal(cfg.comms[2], "curl");
}

static void test_list_errors(void **state)
{
	static const char *const bad_pids[] = { "0", "-1", "abc", "1,,2", "",
						"4194305", "1,", "2 3" };
	char many[1024] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(bad_pids) / sizeof(bad_pids[0]); i++) {
		if (load("run", "-p", bad_pids[i], NULL) != -1)
			fail_msg("pid '%s' accepted", bad_pids[i]);
		assert_err("for filter.pid");
	}
	for (int i = 1; i <= EBT_MAX_FILTERS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s%d", i > 1 ? "," : "", i);
	assert_int_equal(load("run", "-p", many, NULL), -1);
	assert_err("expected at most 64 values in total");
	assert_int_equal(load("run", "--comm", "a-very-long-name", NULL), -1);
	assert_err("expected names of at most 15 bytes");
	assert_int_equal(load("run", "--comm", "fifteen-bytes-x", NULL), 0);
}

static void test_list_precedence(void **state)
{
	(void)state;
	write_yaml("filter:\n  pid: [5, 6]\n  comm: java, nginx\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_int_equal(cfg.n_pids, 2);
	assert_int_equal(cfg.pids[1], 6);
	assert_int_equal(cfg.n_comms, 2);
	assert_string_equal(cfg.comms[1], "nginx");

	setenv("EBPFTRACE_FILTER_PID", "8,9", 1);
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_int_equal(cfg.n_pids, 2);
	assert_int_equal(cfg.pids[0], 8);

	assert_int_equal(load("run", "-c", tmp_path, "-p", "7", NULL), 0);
	assert_int_equal(cfg.n_pids, 1);
	assert_int_equal(cfg.pids[0], 7);
	assert_int_equal(cfg.n_comms, 2); /* untouched by the pid flag */
}

/* ---- config file ---- */

static void test_file_every_type(void **state)
{
	(void)state;
	write_yaml("# comment\n"
		   "filter:\n"
		   "  pid:\n"
		   "    - 10\n"
		   "    - 11\n"
		   "  cgroup: [/a, /b]\n"
		   "duration: 45s\n"
		   "format: json\n"
		   "hook_only: true\n"
		   "log_level: warn\n"
		   "stats_file: /var/tmp/stats.json\n"
		   "http:\n"
		   "  query: keep\n"
		   "otlp:\n"
		   "  endpoint: http://localhost:4318\n"
		   "  headers: \"x-scope-orgid=t1\"\n"
		   "  timeout: 3s\n"
		   "  compression: none\n"
		   "  queue_bytes: 1MiB\n"
		   "  batch_spans: 64\n"
		   "  batch_timeout: 200ms\n"
		   "otlp.traces_endpoint: http://h:1/v1/traces\n"
		   "resource:\n"
		   "  attributes: deployment.environment=test\n");
	assert_int_equal(load("run", "--config", tmp_path, NULL), 0);
	assert_int_equal(cfg.n_pids, 2);
	assert_int_equal(cfg.pids[0], 10);
	assert_int_equal(cfg.n_cgroups, 2);
	assert_string_equal(cfg.cgroups[1], "/b");
	assert_int_equal(cfg.duration_ms, 45000);
	assert_int_equal(cfg.format, EBT_FORMAT_JSON);
	assert_true(cfg.hook_only);
	assert_string_equal(cfg.log_level, "warn");
	assert_string_equal(cfg.stats_file, "/var/tmp/stats.json");
	assert_int_equal(cfg.query_mode, HTTP_QUERY_KEEP);
	assert_string_equal(cfg.otlp_endpoint, "http://localhost:4318");
	assert_string_equal(cfg.otlp_headers, "x-scope-orgid=t1");
	assert_int_equal(cfg.otlp_timeout_ms, 3000);
	assert_int_equal(cfg.otlp_compression, EBT_COMPRESS_NONE);
	assert_int_equal(cfg.otlp_queue_bytes, 1u << 20);
	assert_int_equal(cfg.otlp_batch_spans, 64);
	assert_int_equal(cfg.otlp_batch_timeout_ms, 200);
	assert_string_equal(cfg.otlp_traces_endpoint, "http://h:1/v1/traces");
	assert_string_equal(cfg.resource_attributes,
			    "deployment.environment=test");
}

static void test_file_nulls_and_empty(void **state)
{
	(void)state;
	write_yaml("otlp:\n  endpoint:\n  timeout: ~\nfilter:\n  pid: []\n"
		   "log_level: null\nstats_file: \"\"\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_null(cfg.otlp_endpoint);
	assert_int_equal(cfg.otlp_timeout_ms, 10000);
	assert_int_equal(cfg.n_pids, 0);
	assert_string_equal(cfg.log_level, "info");
	assert_null(cfg.stats_file);

	write_yaml("");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	write_yaml("# only comments\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
}

static void test_file_bad_value_names_line(void **state)
{
	char want[256];

	(void)state;
	write_yaml("format: text\notlp:\n  timeout: soon\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want),
		 "%s:3: invalid value 'soon' for otlp.timeout: expected a "
		 "duration such as 500ms, 30s, 2m or 1h (1ms to 1h)",
		 tmp_path);
	assert_string_equal(err, want);

	write_yaml("filter:\n  pid:\n    - 1\n    - x\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want), "%s:4: invalid value 'x'", tmp_path);
	assert_err(want);
}

static void test_file_unknown_key_suggests(void **state)
{
	char want[256];

	(void)state;
	write_yaml("format: text\notlp:\n  endpont: http://x:4318\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want),
		 "%s:3: unknown key 'otlp.endpont' (did you mean "
		 "otlp.endpoint?)",
		 tmp_path);
	assert_string_equal(err, want);

	write_yaml("endpoint: http://x:4318\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("(did you mean otlp.endpoint?)");

	write_yaml("flter.pid: 1\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("did you mean filter.pid?");

	write_yaml("completely_unrelated_thing: 1\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("unknown key 'completely_unrelated_thing'");
	assert_null(strstr(err, "did you mean"));
}

static void test_file_shape_errors(void **state)
{
	(void)state;
	write_yaml("otlp: http://x:4318\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("'otlp' is a section: expected a mapping of otlp.* keys");

	write_yaml("format: [text, json]\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("format: expected a single value, not a list");

	write_yaml("otlp:\n  endpoint:\n    url: x\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err(":3: otlp.endpoint: expected a single value, not a mapping");

	write_yaml("- a\n- b\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("expected a mapping of keys at the top level");

	write_yaml("filter:\n  pid: [[1]]\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("filter.pid: expected a list of plain values");

	write_yaml("attach:\n  pod: web-1\n");
	assert_int_equal(load("attach", "-c", tmp_path, "p", NULL), -1);
	assert_err("attach.pod cannot be set in a config file (use --pod)");

	/* a self-referencing alias must not loop */
	write_yaml("otlp: &a\n  otlp: *a\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("unknown key 'otlp.otlp'");
}

static void test_file_yaml_syntax_error(void **state)
{
	char want[256];

	(void)state;
	write_yaml("format: text\notlp:\n  endpoint: [http://x\n"
		   "  timeout: 1s\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want), "%s:", tmp_path);
	assert_err(want);
	assert_err("YAML syntax error");

	write_yaml("format: text\n---\nformat: json\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want), "%s:3: only one YAML document", tmp_path);
	assert_err(want);
	write_yaml("---\nformat: json\n...\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_int_equal(cfg.format, EBT_FORMAT_JSON);

	write_yaml("a: b: c\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	snprintf(want, sizeof(want), "%s:1: YAML syntax error: mapping "
		 "values are not allowed", tmp_path);
	assert_err(want);
}

static void test_file_unreadable(void **state)
{
	(void)state;
	assert_int_equal(load("run", "-c", "/nonexistent/ebt.yaml", NULL), -1);
	assert_string_equal(err, "command line: cannot read config file "
				 "'/nonexistent/ebt.yaml': No such file or "
				 "directory");
	assert_int_equal(load("run", "-c", "/tmp", NULL), -1);
	assert_err("'/tmp': is a directory");
	setenv("EBPFTRACE_CONFIG", "/nonexistent/env.yaml", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_err("environment EBPFTRACE_CONFIG: cannot read config file");
}

/* ---- environment and precedence ---- */

static void test_precedence(void **state)
{
	(void)state;
	write_yaml("otlp:\n  endpoint: http://file:4318\n  timeout: 5s\n"
		   "  batch_spans: 10\nformat: json\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_string_equal(cfg.otlp_endpoint, "http://file:4318");
	assert_int_equal(cfg.otlp_timeout_ms, 5000);
	assert_int_equal(cfg.format, EBT_FORMAT_JSON);

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318", 1);
	setenv("EBPFTRACE_OTLP_BATCH_SPANS", "20", 1);
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_string_equal(cfg.otlp_endpoint, "http://env:4318");
	assert_int_equal(cfg.otlp_batch_spans, 20);
	assert_int_equal(cfg.otlp_timeout_ms, 5000); /* file, not default */

	assert_int_equal(load("run", "-c", tmp_path, "--otlp-endpoint",
			      "http://flag:4318", "--otlp-batch-spans", "30",
			      NULL),
			 0);
	assert_string_equal(cfg.otlp_endpoint, "http://flag:4318");
	assert_int_equal(cfg.otlp_batch_spans, 30);
	assert_int_equal(cfg.format, EBT_FORMAT_JSON);

	/* config path from the environment */
	setenv("EBPFTRACE_CONFIG", tmp_path, 1);
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.otlp_timeout_ms, 5000);
}

/* Only OTLP/HTTP protobuf is sent: an SDK environment that says grpc or
 * http/json is refused by name, with the way out. */
static void test_otlp_protocol(void **state)
{
	(void)state;
	assert_int_equal(load("run", NULL), 0);
	assert_string_equal(cfg.otlp_protocol, "http/protobuf");
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	assert_int_equal(load("run", NULL), 0);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_non_null(strstr(err, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"));
	assert_non_null(strstr(err, "'grpc' for otlp.protocol"));
	assert_non_null(strstr(err, "4318"));
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
	assert_int_equal(load("run", "--otlp-protocol", "http/json", NULL), -1);
	assert_non_null(strstr(err, "flag --otlp-protocol"));
}

/* TLS files must be readable files; a key needs its certificate. */
static void test_otlp_tls_files(void **state)
{
	(void)state;
	assert_int_equal(load("run", NULL), 0);
	assert_null(cfg.otlp_ca_file);
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_non_null(strstr(err, "otlp.certificate"));
	assert_non_null(strstr(err, "readable file"));
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/", 1); /* a directory */
	assert_int_equal(load("run", NULL), -1);
	write_yaml("x: 1\n");
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", tmp_path, 1);
	assert_int_equal(load("run", NULL), 0);
	assert_string_equal(cfg.otlp_ca_file, tmp_path);

	assert_int_equal(load("run", "--otlp-client-key", tmp_path, NULL), -1);
	assert_non_null(strstr(err, "otlp.client_key is set without "
				    "otlp.client_certificate"));
	assert_int_equal(load("run", "--otlp-client-key", tmp_path,
			      "--otlp-client-certificate", tmp_path, NULL), 0);
	assert_string_equal(cfg.otlp_key_file, tmp_path);
	assert_string_equal(cfg.otlp_cert_file, tmp_path);
	/* a certificate alone may hold its key too */
	assert_int_equal(load("run", "--otlp-client-certificate", tmp_path,
			      NULL), 0);

	/* Loki's own keys, checked the same way */
	setenv("EBPFTRACE_LOKI_CERTIFICATE", "/nonexistent", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_non_null(strstr(err, "loki.certificate"));
	setenv("EBPFTRACE_LOKI_CERTIFICATE", tmp_path, 1);
	assert_int_equal(load("run", "--loki-client-key", tmp_path, NULL), -1);
	assert_non_null(strstr(err, "loki.client_key is set without"));
	assert_int_equal(load("run", "--loki-client-key", tmp_path,
			      "--loki-client-certificate", tmp_path, NULL), 0);
	assert_string_equal(cfg.loki_ca_file, tmp_path);
	assert_string_equal(cfg.loki_key_file, tmp_path);
}

static void test_env_otel_mapping(void **state)
{
	(void)state;
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/v1/traces",
	       1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=shop", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.otlp_timeout_ms, 2500); /* bare number = ms */
	assert_string_equal(cfg.otlp_headers, "a=1");
	assert_int_equal(cfg.otlp_compression, EBT_COMPRESS_NONE);
	assert_string_equal(cfg.otlp_traces_endpoint,
			    "http://t:4318/v1/traces");
	assert_string_equal(cfg.resource_attributes, "service.namespace=shop");

	/* the signal-specific variables win over the generic ones */
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "7s", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.otlp_timeout_ms, 7000);
	assert_string_equal(cfg.otlp_headers, "b=2");
	assert_int_equal(cfg.otlp_compression, EBT_COMPRESS_GZIP);

	/* empty variables are unset (OTel); bare numbers are ms only there */
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.otlp_timeout_ms, 2500);
	assert_int_equal(load("run", "--otlp-timeout", "2500", NULL), -1);

	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "fast", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_string_equal(err,
			    "environment OTEL_EXPORTER_OTLP_TIMEOUT: invalid "
			    "value 'fast' for otlp.timeout: expected "
			    "milliseconds or a duration such as 500ms, 30s, "
			    "2m or 1h (1ms to 1h)");
	/* other variables want a unit, like flags and the file, but
	 * EBPFTRACE_DURATION takes seconds as --duration does */
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "100", 1);
	setenv("EBPFTRACE_DURATION", "10", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_int_equal(cfg.duration_ms, 10000);
	setenv("EBPFTRACE_DURATION", "10 min", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_err("environment EBPFTRACE_DURATION: invalid value '10 min'");
}

/* ---- command line ---- */

static void test_flag_errors(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--otlp-endpont", "http://x", NULL), -1);
	assert_string_equal(err, "command line: unknown option "
				 "'--otlp-endpont' (did you mean "
				 "--otlp-endpoint?)");
	assert_int_equal(load("run", "--duraton=5s", NULL), -1);
	assert_err("unknown option '--duraton' (did you mean --duration?)");
	assert_int_equal(load("run", "-z", NULL), -1);
	assert_err("unknown option '-z'");
	/* what is echoed stays one line, and short */
	assert_int_equal(load("run", "--x\ny\tz", NULL), -1);
	assert_err("unknown option '--x?y?z'");
	assert_int_equal(load("run", "--duration", "1\r\n2", NULL), -1);
	assert_err("invalid value '1??2' for duration");
	assert_int_equal(load("run", "--pid",
			      "1111111111111111111111111111111111111111111111111111111111111111111",
			      NULL), -1);
	assert_err("invalid value '1111111111111111111111111111111111111111111111111111111111111111...' for filter.pid");
	assert_int_equal(load("run", "--duration", NULL), -1);
	assert_string_equal(err, "option --duration needs a value (DURATION)");
	assert_int_equal(load("run", "-p", NULL), -1);
	assert_err("option -p needs a value");
	assert_int_equal(load("check", "--pid", "1", NULL), -1);
	assert_string_equal(err, "option --pid is not used by 'check'");
	assert_int_equal(load("run", "stray", NULL), -1);
	assert_string_equal(err, "unexpected argument 'stray'");
	assert_int_equal(load("frobnicate", NULL), -1);
	assert_err("unknown command 'frobnicate'");
	/* '--' ends the options */
	assert_int_equal(load("run", "--", "-p", NULL), -1);
	assert_string_equal(err, "unexpected argument '-p'");
}

/* stdout goes to a temporary file while fn runs; returns what was printed */
static char *stdout_of(int (*fn)(const char *), const char *arg, int *ret)
{
	char path[] = "/tmp/ebt-out-XXXXXX";
	int fd = mkstemp(path), saved;
	char *text;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_true(dup2(fd, 1) == 1);
	*ret = fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	text = read_all(path);
	unlink(path);
	return text;
}

static int help_run(const char *a)
{
	return load("run", a, NULL);
}

static int help_check(const char *a)
{
	return load("check", "--log-level", "bogus", a, NULL);
}

static int help_attach(const char *a)
{
	return load("attach", "-f", "json", a, "-d", "x", NULL);
}

static void test_help(void **state)
{
	char *out;
	int ret;

	(void)state;
	out = stdout_of(help_run, "--help", &ret);
	assert_int_equal(ret, 1);
	assert_null(cfg.log_level); /* nothing left to free */
	assert_true(strncmp(out, "Usage: ebpftrace run [options]\n", 31) == 0);
	free(out);
	/* help wins over values that would not parse */
	out = stdout_of(help_check, "-h", &ret);
	assert_int_equal(ret, 1);
	assert_true(strncmp(out, "Usage: ebpftrace check", 22) == 0);
	free(out);
	out = stdout_of(help_attach, "--help", &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "<pod>"));
	free(out);
}

static void test_attach(void **state)
{
	(void)state;
	assert_int_equal(load("attach", "web-7d9f", "-n", "shop", "-d", "60s",
			      NULL),
			 0);
	assert_string_equal(cfg.pod, "web-7d9f");
	assert_string_equal(cfg.k8s_namespace, "shop");
	assert_int_equal(cfg.duration_ms, 60000);
	assert_int_equal(load("attach", "--pod", "api-1", NULL), 0);
	assert_string_equal(cfg.pod, "api-1");
	assert_string_equal(cfg.k8s_namespace, "default");
	/* the pod is optional: --container-id can select instead (attach.c) */
	assert_int_equal(load("attach", "--container-id", "ab12", NULL), 0);
	assert_null(cfg.pod);
	assert_int_equal(load("attach", "web", "--container", "api", NULL), 0);
	assert_string_equal(cfg.attach_container, "api");
	assert_int_equal(load("attach", "a", "b", NULL), -1);
	assert_string_equal(err, "unexpected argument 'b'");
	assert_int_equal(load("run", "--namespace", "x", NULL), -1);
}

static void test_pod_selection(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--namespaces", "shop,team-*",
			      "--exclude-namespaces", "kube-system", "-l",
			      "app=web, env in (a,b), !canary", NULL), 0);
	assert_int_equal(cfg.n_namespaces, 2);
	assert_string_equal(cfg.namespaces[1], "team-*");
	assert_string_equal(cfg.exclude_namespaces[0], "kube-system");
	assert_true(ebt_config_has_pod_filter(&cfg));
	assert_true(ebt_config_has_filter(&cfg));
	assert_int_equal(load("run", "--pod-selector", "app in (a", NULL), -1);
	assert_err("filter.pod_selector");
	assert_err("label selector");
	assert_int_equal(load("run", "--namespaces", "Shop", NULL), -1);
	assert_err("filter.namespaces");
	assert_int_equal(load("run", "--namespaces", "shop", "--container-id",
			      "ab12", NULL), -1);
	assert_err("not both");
	setenv("EBPFTRACE_FILTER_POD_SELECTOR", "tier=db", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_string_equal(cfg.pod_selector, "tier=db");
	assert_int_equal(load("attach", "p", "--pod-selector", "a=b", NULL), -1);
}

static void test_free_twice(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--comm", "a,b", "--stats-file", "f",
			      NULL),
			 0);
	ebt_config_free(&cfg);
	ebt_config_free(&cfg);
	assert_int_equal(cfg.n_comms, 0);
	assert_null(cfg.comms[0]);
	ebt_config_free(NULL);
}

/* ---- help and docs ---- */

/* noinline: gcc 12 mistakes the memstream buffer for a dangling local */
__attribute__((noinline)) static char *capture(void (*fn)(FILE *, const char *), const char *cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, cmd);
	fclose(f);
	return buf;
}

static void markdown_adapter(FILE *f, const char *cmd)
{
	(void)cmd;
	ebt_config_markdown(f);
}

#define SPACES32 "                                "

static void test_usage_per_command(void **state)
{
	char *run = capture(ebt_config_usage, "run");
	char *check = capture(ebt_config_usage, "check");
	char *attach = capture(ebt_config_usage, "attach");

	(void)state;
	assert_non_null(strstr(run, "Usage: ebpftrace run [options]\n"));
	assert_non_null(strstr(run, "  -p, --pid PID[,PID...]"));
	assert_non_null(strstr(run, "      --otlp-timeout DURATION"));
	assert_non_null(strstr(run, "      --otlp-timeout DURATION   time "
				    "limit of one export request"));
	assert_non_null(strstr(run, "\n" SPACES32 "default: 10s\n" SPACES32
				    "env: OTEL_EXPORTER_OTLP_TIMEOUT,\n"
				    SPACES32
				    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT\n"));
	for (char *l = run; l; l = strchr(l + 1, '\n'))
		assert_true(strcspn(l + 1, "\n") <= 79);
	assert_non_null(strstr(run, "  -f, --format text|json|none"));
	assert_null(strstr(run, "--namespace NS"));
	assert_non_null(strstr(run, "      --namespaces NS[,NS...]"));
	assert_non_null(strstr(run, "  -l, --pod-selector SELECTOR"));
	assert_non_null(strstr(check, "Usage: ebpftrace check [options]\n"));
	assert_non_null(strstr(check, "--log-level"));
	assert_null(strstr(check, "--otlp-endpoint"));
	assert_null(strstr(check, "--pid"));
	assert_non_null(strstr(attach, "Usage: ebpftrace attach [options] "
				       "<pod>"));
	assert_non_null(strstr(attach, "  -n, --namespace NS"));
	assert_non_null(strstr(attach, "  -h, --help"));
	free(run);
	free(check);
	free(attach);
}

static void test_markdown(void **state)
{
	char *md = capture(markdown_adapter, NULL);

	(void)state;
	assert_non_null(strstr(md, "| Key | Flag | Environment | Type |"));
	assert_non_null(strstr(md, "| `otlp.timeout` | `--otlp-timeout` | "
				   "`OTEL_EXPORTER_OTLP_TIMEOUT`, "
				   "`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | "
				   "duration | `10s` | run, attach |"));
	assert_non_null(strstr(md, "| `filter.pid` | `-p`, `--pid` |"));
	assert_non_null(strstr(md, "enum: `text`, `json`, `none`"));
	assert_non_null(strstr(md, "| — | `-c`, `--config` | "
				   "`EBPFTRACE_CONFIG` |"));
	free(md);
}

/* docs/configuration.md must hold the table as generated today */
static void test_docs_up_to_date(void **state)
{
	char *md = capture(markdown_adapter, NULL);
	char *doc = read_all("docs/configuration.md");

	(void)state;
	if (!strstr(doc, md))
		fail_msg("docs/configuration.md is stale: regenerate it "
			 "(see tests/tools/gen_config_doc.c)");
	free(md);
	free(doc);
}

/* deploy/ebpftrace.yaml loads and mentions every key of the table */
static void test_example_file(void **state)
{
	char *md = capture(markdown_adapter, NULL);
	char *yaml = read_all("deploy/ebpftrace.yaml");
	unsigned keys = 0;

	(void)state;
	for (char *p = strstr(md, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
		char key[64], leaf[72];
		const char *dot;

		assert_int_equal(sscanf(p, "\n| `%63[^`]`", key), 1);
		if (strcmp(key, "attach.pod") == 0)
			continue; /* positional argument only */
		dot = strrchr(key, '.');
		snprintf(leaf, sizeof(leaf), "%s:", dot ? dot + 1 : key);
		if (!strstr(yaml, leaf))
			fail_msg("deploy/ebpftrace.yaml lacks %s", key);
		keys++;
	}
	assert_true(keys >= 19);
	assert_int_equal(load("run", "-c", "deploy/ebpftrace.yaml", NULL), 0);
	assert_int_equal(load("attach", "-c", "deploy/ebpftrace.yaml", "pod",
			      NULL),
			 0);
	free(md);
	free(yaml);
}

/* ---- logs and Loki ---- */

static void test_logs_and_loki(void **state)
{
	(void)state;
	assert_int_equal(load("run", "--logs=false", "--logs-max-line",
			      "16KiB", "--logs-flush-timeout", "250ms",
			      "--logs-multiline=no", "--loki-endpoint",
			      "http://loki:3100", "--loki-tenant", "team-a",
			      "--loki-username", "alice", "--loki-timeout", "3s",
			      "--loki-batch-bytes", "256KiB",
			      "--loki-batch-timeout", "2s",
			      "--loki-queue-bytes", "8MiB", "--cluster", "eu1",
			      NULL),
			 0);
	assert_false(cfg.logs_enabled);
	assert_int_equal(cfg.logs_max_line, 16384);
	assert_int_equal(cfg.logs_flush_timeout_ms, 250);
	assert_false(cfg.logs_multiline);
	assert_string_equal(cfg.loki_endpoint, "http://loki:3100");
	assert_string_equal(cfg.loki_tenant, "team-a");
	assert_string_equal(cfg.loki_username, "alice");
	assert_int_equal(cfg.loki_timeout_ms, 3000);
	assert_int_equal(cfg.loki_batch_bytes, 256 * 1024);
	assert_int_equal(cfg.loki_batch_timeout_ms, 2000);
	assert_int_equal(cfg.loki_queue_bytes, 8u << 20);
	assert_string_equal(cfg.cluster, "eu1");

	/* limits: Loki refuses lines over 256 KB */
	assert_int_equal(load("run", "--logs-max-line", "300KiB", NULL), -1);
	assert_err("logs.max_line");
	assert_int_equal(load("run", "--loki-endpoint", "loki:3100", NULL),
			 -1);
	assert_err("expected an http:// or https:// URL");

	/* secrets: no flag (argv is public), from the environment or file */
	assert_int_equal(load("run", "--loki-password", "pw", NULL), -1);
	assert_err("unknown option");
	assert_int_equal(load("run", "--loki-bearer-token", "t", NULL), -1);
	setenv("EBPFTRACE_LOKI_PASSWORD", "s3cr3t", 1);
	setenv("EBPFTRACE_LOKI_ENDPOINT", "http://env-loki:3100", 1);
	assert_int_equal(load("run", NULL), 0);
	assert_string_equal(cfg.loki_password, "s3cr3t");
	assert_string_equal(cfg.loki_endpoint, "http://env-loki:3100");
	setenv("EBPFTRACE_LOKI_PASSWORD", "s3cr3t\r\nX-Evil: 1", 1);
	assert_int_equal(load("run", NULL), -1);
	assert_null(strstr(err, "s3cr3t"));
	assert_err("invalid value for loki.password (not shown)");
	unsetenv("EBPFTRACE_LOKI_PASSWORD");
	write_yaml("loki:\n  bearer_token: tok-s3cr3t\n  tenant: t1\n"
		   "logs:\n  multiline: false\ncluster: c9\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), 0);
	assert_string_equal(cfg.loki_bearer_token, "tok-s3cr3t");
	assert_string_equal(cfg.loki_tenant, "t1");
	assert_false(cfg.logs_multiline);
	assert_string_equal(cfg.cluster, "c9");
	write_yaml("loki:\n  tenant: \"a\\nb\"\n");
	assert_int_equal(load("run", "-c", tmp_path, NULL), -1);
	assert_err("loki.tenant");
}

static void test_secret_options_in_help(void **state)
{
	char *run = capture(ebt_config_usage, "run");
	char *md = capture(markdown_adapter, NULL);

	(void)state;
	assert_non_null(strstr(run, "      --loki-endpoint URL"));
	assert_non_null(strstr(run, "      loki.password"));
	assert_null(strstr(run, "(null)"));
	assert_non_null(strstr(md, "| `loki.password` | — | "
				   "`EBPFTRACE_LOKI_PASSWORD` | string |"));
	free(run);
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, clean_env, teardown)
		T(test_defaults),
		T(test_logs_and_loki),
		T(test_secret_options_in_help),
		T(test_flags_every_type),
		T(test_bool),
		T(test_uint),
		T(test_durations),
		T(test_bytes),
		T(test_enums),
		T(test_strings_validated),
		T(test_secret_not_echoed),
		T(test_list_flags),
		T(test_list_errors),
		T(test_list_precedence),
		T(test_file_every_type),
		T(test_file_nulls_and_empty),
		T(test_file_bad_value_names_line),
		T(test_file_unknown_key_suggests),
		T(test_file_shape_errors),
		T(test_file_yaml_syntax_error),
		T(test_file_unreadable),
		T(test_precedence),
		T(test_env_otel_mapping),
		T(test_otlp_protocol),
		T(test_otlp_tls_files),
		T(test_flag_errors),
		T(test_help),
		T(test_attach),
		T(test_pod_selection),
		T(test_free_twice),
		T(test_usage_per_command),
		T(test_markdown),
		T(test_docs_up_to_date),
		T(test_example_file),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
