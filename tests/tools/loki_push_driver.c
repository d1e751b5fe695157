/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the userspace log path: stdin -> line assembler (logs.c)
 * -> Loki exporter (loki.c, loki_export.c) -> a real Loki.
 *
 * Every input line i (0-based, split on '\n') is "written" as chunks of
 * --chunk bytes, as a process doing partial writes would, with the trace
 * context trace_id = <seed><i+1 as 24 hex>, span_id = <i+1 as 16 hex>
 * active. Lines starting with --stderr-prefix go to stderr, the rest to
 * stdout. After the input, the driver only ticks the assembler (so a last
 * line without newline leaves by the flush timeout, as in the tracer),
 * then shuts the exporter down with --deadline-ms and prints its counters
 * as one JSON object on stdout.
 *
 * --url is loki.endpoint: a base URL or the push URL.
 *
 *   loki_push_driver --url URL --service NAME [--k8s NS/POD/CONTAINER]
 *       [--node N] [--pod-ip IP] [--app A] [--cluster C] [--tenant T]
 *       [--chunk N] [--max-line N] [--multiline 0|1] [--flush-ms N]
 *       [--batch-bytes N] [--batch-timeout-ms N] [--queue-bytes N]
 *       [--deadline-ms N] [--seed HEX8] [--stderr-prefix P]
 *       [--future-marker M]
 *
 * Lines containing --future-marker are written by a second process (pid
 * + 1, same labels) with timestamps one hour ahead, which Loki refuses
 * with a 400 ("timestamp too new") while storing the rest of the request.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logs.h"
#include "loki.h"

struct opts {
	const char *url, *service, *k8s, *node, *pod_ip, *app, *cluster;
	const char *tenant, *seed, *stderr_prefix, *future;
	size_t chunk;
	uint32_t max_line;
	bool multiline;
	uint64_t flush_ms, batch_bytes, batch_timeout_ms, queue_bytes;
	uint64_t deadline_ms;
};

struct driver {
	struct loki_exporter *exp;
	struct ebt_resource *res;
	uint64_t submitted, refused;
};

static void usage(void)
{
	fprintf(stderr, "usage: loki_push_driver --url URL --service NAME "
			"[options] < lines (see the source)\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "url", 1, 0, 'u' },         { "service", 1, 0, 's' },
		{ "k8s", 1, 0, 'k' },         { "node", 1, 0, 'n' },
		{ "pod-ip", 1, 0, 'i' },      { "app", 1, 0, 'a' },
		{ "cluster", 1, 0, 'c' },     { "tenant", 1, 0, 't' },
		{ "chunk", 1, 0, 'C' },       { "max-line", 1, 0, 'L' },
		{ "multiline", 1, 0, 'M' },   { "flush-ms", 1, 0, 'F' },
		{ "batch-bytes", 1, 0, 'B' }, { "batch-timeout-ms", 1, 0, 'T' },
		{ "queue-bytes", 1, 0, 'Q' }, { "deadline-ms", 1, 0, 'D' },
		{ "seed", 1, 0, 'S' },        { "stderr-prefix", 1, 0, 'E' },
		{ "future-marker", 1, 0, 'X' }, { 0, 0, 0, 0 },
	};
	int c;

	*o = (struct opts){ .chunk = 4096, .multiline = true, .flush_ms = 300,
			    .batch_timeout_ms = 200, .deadline_ms = 60000,
			    .seed = "e2e0cafe" };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 's': o->service = optarg; break;
		case 'k': o->k8s = optarg; break;
		case 'n': o->node = optarg; break;
		case 'i': o->pod_ip = optarg; break;
		case 'a': o->app = optarg; break;
		case 'c': o->cluster = optarg; break;
		case 't': o->tenant = optarg; break;
		case 'C': o->chunk = strtoul(optarg, NULL, 0); break;
		case 'L': o->max_line = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'M': o->multiline = atoi(optarg) != 0; break;
		case 'F': o->flush_ms = strtoull(optarg, NULL, 0); break;
		case 'B': o->batch_bytes = strtoull(optarg, NULL, 0); break;
		case 'T': o->batch_timeout_ms = strtoull(optarg, NULL, 0); break;
		case 'Q': o->queue_bytes = strtoull(optarg, NULL, 0); break;
		case 'D': o->deadline_ms = strtoull(optarg, NULL, 0); break;
		case 'S': o->seed = optarg; break;
		case 'E': o->stderr_prefix = optarg; break;
		case 'X': o->future = optarg; break;
		default: usage();
		}
	}
	if (!o->url || !o->service || !o->chunk || strlen(o->seed) != 8)
		usage();
}

/* namespace/pod/container, plus the optional node, pod ip and app. */
static void add_k8s(struct ebt_resource *r, const struct opts *o)
{
	char buf[256], *pod, *ctr;

	snprintf(buf, sizeof(buf), "%s", o->k8s);
	pod = strchr(buf, '/');
	ctr = pod ? strchr(pod + 1, '/') : NULL;
	if (!pod || !ctr)
		usage();
	*pod++ = '\0';
	*ctr++ = '\0';
	ebt_resource_add_str(r, "k8s.namespace.name", buf);
	ebt_resource_add_str(r, "k8s.pod.name", pod);
	ebt_resource_add_str(r, "k8s.container.name", ctr);
	if (o->node)
		ebt_resource_add_str(r, "k8s.node.name", o->node);
	if (o->pod_ip)
		ebt_resource_add_str(r, "k8s.pod.ip", o->pod_ip);
	if (o->app)
		ebt_resource_add_dyn(r, "k8s.pod.label.app.kubernetes.io/name",
				     o->app);
}

static struct ebt_resource *make_resource(const struct opts *o)
{
	struct ebt_resource *r = ebt_resource_new((uint32_t)getpid());
	char host[256] = "localhost";

	if (!r)
		exit(1);
	gethostname(host, sizeof(host) - 1);
	ebt_resource_add_str(r, "service.name", o->service);
	ebt_resource_add_str(r, "host.name", host);
	ebt_resource_add_str(r, "process.executable.name", "loki_push_driver");
	if (o->k8s)
		add_k8s(r, o);
	return r;
}

static void sink(void *ctx, const struct ebt_log_record *r)
{
	struct driver *d = ctx;

	d->submitted++;
	if (!loki_exporter_submit(d->exp, d->res, r))
		d->refused++;
}

static void line_ctx(const struct opts *o, uint64_t i, struct ebt_log_ctx *c)
{
	uint32_t seed = (uint32_t)strtoul(o->seed, NULL, 16);

	memset(c, 0, sizeof(*c));
	for (int k = 0; k < 4; k++)
		c->trace_id[k] = (uint8_t)(seed >> (24 - 8 * k));
	for (int k = 0; k < 8; k++) {
		c->trace_id[8 + k] = (uint8_t)((i + 1) >> (56 - 8 * k));
		c->span_id[k] = (uint8_t)((i + 1) >> (56 - 8 * k));
	}
}

static uint8_t *read_all(size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	size_t got;

	while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

/* Feed one input line (with its '\n', if any) as chunks. */
static void feed_line(struct ebt_logs *l, const struct opts *o,
		      const uint8_t *p, size_t n, uint64_t index)
{
	struct ebt_log_ctx ctx;
	size_t pl = o->stderr_prefix ? strlen(o->stderr_prefix) : 0;
	uint8_t stream = pl && n >= pl && memcmp(p, o->stderr_prefix, pl) == 0 ?
				 EBT_LOG_STDERR : EBT_LOG_STDOUT;
	bool future = o->future &&
		      memmem(p, n, o->future, strlen(o->future)) != NULL;
	uint32_t pid = (uint32_t)getpid() + (future ? 1 : 0);
	uint64_t ahead = future ? 3600ull * 1000000000ull : 0;

	line_ctx(o, index, &ctx);
	for (size_t off = 0; off < n; off += o->chunk) {
		size_t k = n - off < o->chunk ? n - off : o->chunk;
		struct ebt_log_chunk c = {
			.tgid = pid, .tid = pid,
			.stream = stream, .ts_ns = ebt_now_real_ns() + ahead,
			.data = p + off, .cap_len = (uint32_t)k,
			.total_len = (uint32_t)k, .ctx = &ctx,
		};

		ebt_logs_feed(l, &c);
	}
}

static void print_stats(const struct driver *d, const struct ebt_logs_stats *ls,
			const struct loki_stats *st)
{
	printf("{\"records\": %" PRIu64 ", \"refused\": %" PRIu64
	       ", \"lines_split\": %" PRIu64 ", \"lines_joined\": %" PRIu64
	       ", \"records_no_newline\": %" PRIu64
	       ", \"bytes_escaped\": %" PRIu64 ", \"entries_queued\": %" PRIu64
	       ", \"entries_sent\": %" PRIu64
	       ", \"entries_dropped_queue_full\": %" PRIu64
	       ", \"entries_rejected\": %" PRIu64
	       ", \"entries_dropped_failed\": %" PRIu64
	       ", \"entries_dropped_shutdown\": %" PRIu64
	       ", \"requests\": %" PRIu64 ", \"retries\": %" PRIu64
	       ", \"splits\": %" PRIu64 "}\n",
	       d->submitted, d->refused, ls->lines_split, ls->lines_joined,
	       ls->records_no_newline, ls->bytes_escaped, st->entries_queued,
	       st->entries_sent, st->entries_dropped_queue_full,
	       st->entries_rejected, st->entries_dropped_failed,
	       st->entries_dropped_shutdown, st->requests, st->retries,
	       st->splits);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct driver d = { 0 };
	struct ebt_logs_config lc;
	struct ebt_logs_stats ls;
	struct loki_config kc = { 0 };
	struct loki_stats st;
	struct ebt_logs *l;
	char err[256];
	size_t len = 0, start = 0;
	uint64_t index = 0;
	uint8_t *in;
	char *url;

	parse(argc, argv, &o);
	if (loki_push_url(o.url, &url) != 0)
		usage();
	ebt_logs_config_default(&lc);
	lc.multiline = o.multiline;
	lc.flush_timeout_ns = o.flush_ms * 1000000ull;
	if (o.max_line)
		lc.max_line = o.max_line;
	kc = (struct loki_config){ .url = url, .tenant = o.tenant,
				   .cluster = o.cluster, .gzip = true,
				   .batch_bytes = o.batch_bytes,
				   .batch_timeout_ms = o.batch_timeout_ms,
				   .queue_bytes = o.queue_bytes };
	d.exp = loki_exporter_new(&kc, err, sizeof(err));
	if (!d.exp) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	d.res = make_resource(&o);
	l = ebt_logs_new(&lc, sink, &d);
	in = read_all(&len);
	if (!l || !in)
		return 1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && in[i] != '\n')
			continue;
		if (i < len || i > start)
			feed_line(l, &o, in + start, i - start + (i < len),
				  index++);
		start = i + 1;
		if (index % 1000 == 0)
			ebt_logs_tick(l, ebt_now_real_ns());
	}
	/* the tracer's housekeeping: only the timeout flushes what is left */
	for (unsigned waited = 0;; waited += 20) {
		ebt_logs_tick(l, ebt_now_real_ns());
		ebt_logs_stats(l, &ls);
		if (ls.streams == 0 || waited > 10 * o.flush_ms + 1000)
			break;
		sleep_ms(20);
	}
	ebt_logs_flush_all(l);
	ebt_logs_stats(l, &ls);
	loki_exporter_shutdown(d.exp, o.deadline_ms, &st);
	print_stats(&d, &ls, &st);
	ebt_logs_free(l);
	ebt_resource_unref(d.res);
	free(in);
	free(url);
	return 0;
}
