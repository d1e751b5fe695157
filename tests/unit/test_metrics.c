/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health and metrics endpoint: the Prometheus text rendering checked line
 * by line (HELP/TYPE before each family, names, labels, values), the
 * snapshot filled from the stage counters, the liveness rule, the
 * metrics.listen parser, and the libmicrohttpd server queried with
 * libcurl on a loopback port (routes, statuses, content type, port in use).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ebpftrace_events.h"
#include "log.h"
#include "logs.h"
#include "loki.h"
#include "metrics.h"
#include "otlp.h"
#include "tracer.h"

#define SEC 1000000000ULL

static char *render(const struct ebt_metrics_snapshot *s)
{
	size_t need = ebt_metrics_render(s, NULL, 0);
	char *buf = malloc(need + 1);

	assert_non_null(buf);
	assert_int_equal(ebt_metrics_render(s, buf, need + 1), need);
	assert_int_equal(strlen(buf), need);
	return buf;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* `name value` or `name{k="v",...} value`; *name gets the name. */
static bool parse_sample(const char *line, char *name, size_t namelen,
			 unsigned long long *value)
{
	size_t n = strcspn(line, "{ ");
	const char *p = line + n;
	char *end;

	if (!valid_name(line, n) || n >= namelen)
		return false;
	memcpy(name, line, n);
	name[n] = '\0';
	if (*p == '{') {
		const char *close = strchr(p, '}');

		if (!close || !strstr(p, "=\"") || close[-1] != '"')
			return false;
		p = close + 1;
	}
	if (*p != ' ' || !isdigit((unsigned char)p[1]))
		return false;
	*value = strtoull(p + 1, &end, 10);
	return *end == '\0';
}

struct family {
	char name[128];
	char type[256];
	bool help, typed;
	unsigned samples;
};

/* One comment line: HELP then TYPE, once per family, before samples. */
static void check_comment(const char *line, struct family *f)
{
	char kind[8], name[128], rest[256];

	assert_int_equal(sscanf(line, "# %7s %127s %255[^\n]", kind, name,
				rest), 3);
	if (strcmp(kind, "HELP") == 0) {
		assert_false(f->help);
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->help = true;
		return;
	}
	assert_string_equal(kind, "TYPE");
	assert_true(f->help && !f->typed && f->samples == 0);
	assert_string_equal(name, f->name);
	assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0);
	snprintf(f->type, sizeof(f->type), "%s", rest);
	f->typed = true;
}

static void check_sample(const char *line, struct family *f)
{
	char name[128];
	unsigned long long v;

	assert_true(parse_sample(line, name, sizeof(name), &v));
	assert_true(f->typed);
	assert_string_equal(name, f->name);
	assert_int_equal(strncmp(name, "ebpftrace_", 10), 0);
	if (strcmp(f->type, "counter") == 0)
		assert_string_equal(name + strlen(name) - 6, "_total");
	f->samples++;
	f->help = false; /* the next HELP starts a new family */
}

/* Every line of the exposition, in order; returns the number of samples. */
static unsigned check_format(const char *text)
{
	struct family f = { 0 };
	unsigned samples = 0;
	char line[512];

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		assert_true(n > 0 && n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == '#') {
			check_comment(line, &f);
		} else {
			check_sample(line, &f);
			samples++;
		}
		p += n + 1;
	}
	return samples;
}

static void test_format_line_by_line(void **state)
{
	struct ebt_metrics_snapshot s = { 0 };
	char *text;

	(void)state;
	text = render(&s);
	assert_true(check_format(text) >= 30);
	free(text);
}

/* Distinct values in every stage, then the lines that must show them. */
static void fill_sample(struct ebt_metrics_snapshot *s)
{
	uint64_t k[EBT_STAT__COUNT] = { 0 };
	struct ebt_tracer_stats t = { .records = 21, .parse_errors = 22,
				      .spans = 23, .log_writes = 24,
				      .conns_opened = 25 };
	struct otlp_stats o = { .spans_exported = 31,
				.spans_dropped_queue_full = 32,
				.spans_dropped_rejected = 33,
				.request_errors = 34, .retries = 35,
				.queue_bytes = 36, .queue_spans = 37 };
	struct ebt_logs_stats l = { .lines = 41, .bytes_lost = 42 };
	struct loki_stats q = { .entries_sent = 51,
				.entries_dropped_failed = 52,
				.requests = 53, .request_errors = 54,
				.queue_bytes = 55 };

	k[EBT_STAT_EVENTS] = 11;
	k[EBT_STAT_RB_DROPS] = 12;
	k[EBT_STAT_CONN_FULL] = 13;
	k[EBT_STAT_TRUNCATED] = 14;
	ebt_metrics_fill(s, k, &t, &o, &l, &q);
}

static const char *const want_lines[] = {
	"ebpftrace_kernel_events_total 11",
	"ebpftrace_ringbuf_drops_total 12",
	"ebpftrace_conn_map_full_total 13",
	"ebpftrace_truncated_records_total 14",
	"ebpftrace_records_total 21",
	"ebpftrace_parse_errors_total 22",
	"ebpftrace_spans_total 23",
	"ebpftrace_log_writes_total 24",
	"ebpftrace_connections_total 25",
	"ebpftrace_spans_exported_total 31",
	"ebpftrace_spans_dropped_total{reason=\"queue_full\"} 32",
	"ebpftrace_spans_dropped_total{reason=\"rejected\"} 33",
	"ebpftrace_spans_dropped_total{reason=\"shutdown\"} 0",
	"ebpftrace_export_errors_total 34",
	"ebpftrace_export_retries_total 35",
	"ebpftrace_export_queue_bytes 36",
	"ebpftrace_export_queue_spans 37",
	"ebpftrace_log_lines_total 41",
	"ebpftrace_log_bytes_lost_total 42",
	"ebpftrace_loki_lines_sent_total 51",
	"ebpftrace_loki_lines_dropped_total{reason=\"failed\"} 52",
	"ebpftrace_loki_pushes_total 53",
	"ebpftrace_loki_push_errors_total 54",
	"ebpftrace_loki_queue_bytes 55",
	"ebpftrace_ready 0",
	"# TYPE ebpftrace_spans_dropped_total counter",
	"# TYPE ebpftrace_export_queue_bytes gauge",
	"# TYPE ebpftrace_loki_queue_bytes gauge",
};

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_values_from_every_stage(void **state)
{
	struct ebt_metrics_snapshot s;
	char *text;

	(void)state;
	fill_sample(&s);
	text = render(&s);
	check_format(text);
	for (size_t i = 0; i < sizeof(want_lines) / sizeof(*want_lines); i++)
		if (!has_line(text, want_lines[i]))
			fail_msg("missing line '%s' in:\n%s", want_lines[i],
				 text);
	/* one HELP per family, even with three labelled series */
	assert_int_equal(count(text, "# HELP ebpftrace_spans_dropped_total "),
			 1);
	assert_int_equal(count(text, "ebpftrace_spans_dropped_total{"), 3);
	free(text);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot read %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* docs/architecture.md lists every family /metrics shows. */
static void test_docs_list_every_metric(void **state)
{
	struct ebt_metrics_snapshot s = { 0 };
	char *text = render(&s), *doc = read_all("docs/architecture.md");
	char name[128], want[140];
	unsigned families = 0;

	(void)state;
	for (const char *p = strstr(text, "# HELP "); p;
	     p = strstr(p + 1, "# HELP ")) {
		assert_int_equal(sscanf(p, "# HELP %127s", name), 1);
		snprintf(want, sizeof(want), "| `%s` |", name);
		if (!strstr(doc, want))
			fail_msg("docs/architecture.md lacks %s", name);
		families++;
	}
	assert_true(families >= 30);
	free(text);
	free(doc);
}

static void test_render_truncates_like_snprintf(void **state)
{
	struct ebt_metrics_snapshot s;
	size_t full;
	char small[64], *text;

	(void)state;
	fill_sample(&s);
	text = render(&s);
	full = strlen(text);
	assert_int_equal(ebt_metrics_render(&s, small, sizeof(small)), full);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, text, sizeof(small) - 1);
	assert_int_equal(ebt_metrics_render(&s, small, 1), full);
	assert_string_equal(small, "");
	free(text);
}

static void test_fill_without_optional_stages(void **state)
{
	struct ebt_tracer_stats t = { .spans = 5 };
	struct ebt_metrics_snapshot s, zero = { 0 };

	(void)state;
	memset(&s, 0xff, sizeof(s));
	ebt_metrics_fill(&s, NULL, &t, NULL, NULL, NULL);
	assert_int_equal(s.spans, 5);
	s.spans = 0;
	assert_memory_equal(&s, &zero, sizeof(s));
}

static void test_healthy(void **state)
{
	uint64_t start = 100 * SEC;

	(void)state;
	/* before the first poll: the startup grace */
	assert_true(ebt_metrics_healthy(start, 0, start));
	assert_true(ebt_metrics_healthy(start + 59 * SEC, 0, start));
	assert_false(ebt_metrics_healthy(start + 61 * SEC, 0, start));
	/* polling: stale after a few seconds */
	assert_true(ebt_metrics_healthy(start + 10 * SEC, start + 9 * SEC,
					start));
	assert_true(ebt_metrics_healthy(start + 14 * SEC, start + 9 * SEC,
					start));
	assert_false(ebt_metrics_healthy(start + 15 * SEC, start + 9 * SEC,
					 start));
	assert_false(ebt_metrics_healthy(start + 3600 * SEC, start + SEC,
					 start));
	/* a heartbeat stored just after now was read is not stale */
	assert_true(ebt_metrics_healthy(start, start + 1, start));
}

struct listen_case {
	const char *in;
	int rc;
	const char *host, *port;
};

static const struct listen_case listen_cases[] = {
	{ "0.0.0.0:9464", 0, "0.0.0.0", "9464" },
	{ "127.0.0.1:9464", 0, "127.0.0.1", "9464" },
	{ ":9464", 0, "", "9464" },
	{ "localhost:1", 0, "localhost", "1" },
	{ "[::1]:65535", 0, "::1", "65535" },
	{ "[::]:9464", 0, "::", "9464" },
	{ "9464", -1, NULL, NULL },
	{ "", -1, NULL, NULL },
	{ ":", -1, NULL, NULL },
	{ "127.0.0.1:", -1, NULL, NULL },
	{ "127.0.0.1:0", -1, NULL, NULL },
	{ "127.0.0.1:65536", -1, NULL, NULL },
	{ "127.0.0.1:100000", -1, NULL, NULL },
	{ "127.0.0.1:94x4", -1, NULL, NULL },
	{ "127.0.0.1:+94", -1, NULL, NULL },
	{ "::1:9464", -1, NULL, NULL },
	{ "[::1]9464", -1, NULL, NULL },
	{ "[]:9464", -1, NULL, NULL },
	{ "[::1:9464", -1, NULL, NULL },
	{ "http://127.0.0.1:9464", -1, NULL, NULL },
	{ "host name:9464", -1, NULL, NULL },
	{ "a/b:9464", -1, NULL, NULL },
};

static void test_listen_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(listen_cases) / sizeof(*listen_cases);
	     i++) {
		const struct listen_case *c = &listen_cases[i];
		char host[64] = "x", port[8] = "x";

		if (ebt_listen_parse(c->in, host, sizeof(host), port,
				     sizeof(port)) != c->rc)
			fail_msg("'%s': expected %d", c->in, c->rc);
		if (c->rc == 0) {
			assert_string_equal(host, c->host);
			assert_string_equal(port, c->port);
		}
		assert_int_equal(ebt_listen_parse(c->in, NULL, 0, NULL, 0),
				 c->rc);
	}
	/* buffers too small */
	{
		char host[4], port[8];

		assert_int_equal(ebt_listen_parse("localhost:80", host,
						  sizeof(host), port,
						  sizeof(port)), -1);
	}
}

/* ---- the server, over loopback ---- */

struct fetched {
	long status;
	char type[128];
	char body[16384];
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetched *f = arg;
	size_t n = size * nmemb, room = sizeof(f->body) - 1 - f->len;

	memcpy(f->body + f->len, data, n < room ? n : room);
	f->len += n < room ? n : room;
	f->body[f->len] = '\0';
	return n;
}

static void fetch(unsigned port, const char *method, const char *path,
		  struct fetched *f)
{
	CURL *c = curl_easy_init();
	char url[128], *type = NULL;

	assert_non_null(c);
	memset(f, 0, sizeof(*f));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	snprintf(f->type, sizeof(f->type), "%s", type ? type : "");
	curl_easy_cleanup(c);
}

/* A loopback port nobody listens on right now. */
static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void start_on(struct ebt_metrics_server *m, unsigned *port)
{
	char listen[32], err[256] = "";

	memset(m, 0, sizeof(*m));
	*port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", *port);
	if (ebt_metrics_server_start(m, listen, err, sizeof(err)) != 0)
		fail_msg("start: %s", err);
	assert_true(ebt_metrics_server_running(m));
}

static void test_server_routes(void **state)
{
	struct ebt_metrics_server m;
	struct ebt_metrics_snapshot s;
	struct fetched f;
	unsigned port;

	(void)state;
	start_on(&m, &port);
	fetch(port, "GET", "/readyz", &f);
	assert_int_equal(f.status, 503);
	fetch(port, "GET", "/healthz", &f); /* starting: within the grace */
	assert_int_equal(f.status, 200);
	assert_string_equal(f.body, "ok\n");
	ebt_metrics_server_set_ready(&m, true);
	fetch(port, "GET", "/readyz", &f);
	assert_int_equal(f.status, 200);
	fill_sample(&s);
	ebt_metrics_server_publish(&m, &s);
	fetch(port, "GET", "/metrics", &f);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.type, "text/plain; version=0.0.4; charset=utf-8");
	check_format(f.body);
	assert_true(has_line(f.body, "ebpftrace_spans_total 23"));
	assert_true(has_line(f.body, "ebpftrace_ready 1"));
	fetch(port, "GET", "/nope", &f);
	assert_int_equal(f.status, 404);
	fetch(port, "POST", "/metrics", &f);
	assert_int_equal(f.status, 405);
	ebt_metrics_server_stop(&m);
	assert_false(ebt_metrics_server_running(&m));
	ebt_metrics_server_stop(&m); /* twice is fine */
}

static void test_server_stale_loop_fails_healthz(void **state)
{
	struct ebt_metrics_server m;
	struct fetched f;
	unsigned port;

	(void)state;
	start_on(&m, &port);
	ebt_metrics_server_alive(&m, ebt_now_mono_ns());
	fetch(port, "GET", "/healthz", &f);
	assert_int_equal(f.status, 200);
	ebt_metrics_server_alive(&m, ebt_now_mono_ns() - 10 * SEC);
	fetch(port, "GET", "/healthz", &f);
	assert_int_equal(f.status, 503);
	assert_non_null(strstr(f.body, "stalled"));
	ebt_metrics_server_stop(&m);
}

/* ":port" listens on every address, loopback included. */
static void test_server_every_address(void **state)
{
	struct ebt_metrics_server m = { 0 };
	char listen[32], err[256] = "";
	struct fetched f;
	unsigned port = free_port();

	(void)state;
	snprintf(listen, sizeof(listen), ":%u", port);
	if (ebt_metrics_server_start(&m, listen, err, sizeof(err)) != 0)
		fail_msg("start: %s", err);
	fetch(port, "GET", "/healthz", &f);
	assert_int_equal(f.status, 200);
	ebt_metrics_server_stop(&m);
}

static void test_server_port_in_use(void **state)
{
	struct ebt_metrics_server a, b;
	char listen[32], err[256] = "";
	unsigned port;

	(void)state;
	start_on(&a, &port);
	memset(&b, 0, sizeof(b));
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	assert_int_equal(ebt_metrics_server_start(&b, listen, err,
						  sizeof(err)), -1);
	assert_non_null(strstr(err, "in use"));
	assert_non_null(strstr(err, listen));
	assert_null(strchr(err, '\n'));
	assert_false(ebt_metrics_server_running(&b));
	ebt_metrics_server_stop(&b);
	ebt_metrics_server_stop(&a);
	memset(&b, 0, sizeof(b));
	/* not an address of this host (TEST-NET-1): bind fails, no DNS */
	assert_int_equal(ebt_metrics_server_start(&b, "192.0.2.1:9464", err,
						  sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen on 192.0.2.1:9464: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_line_by_line),
		cmocka_unit_test(test_values_from_every_stage),
		cmocka_unit_test(test_render_truncates_like_snprintf),
		cmocka_unit_test(test_docs_list_every_metric),
		cmocka_unit_test(test_fill_without_optional_stages),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_server_routes),
		cmocka_unit_test(test_server_stale_loop_fails_healthz),
		cmocka_unit_test(test_server_every_address),
		cmocka_unit_test(test_server_port_in_use),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
