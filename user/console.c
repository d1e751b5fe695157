/* SPDX-License-Identifier: Apache-2.0 */
#include "console.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * JSON is written by hand into a line buffer on the stack and handed to
 * stdio in one piece: at tens of thousands of spans a second, a cJSON tree
 * per span (and then printf-style stdio calls per field) and a flush per
 * line slowed the ring-buffer reader enough to lose records. Lines are
 * flushed by the main loop (ebt_console_flush) once per ring-buffer drain.
 */
struct jw {
	FILE *f;
	size_t len;
	char buf[4096];
};

static void jw_flush(struct jw *w)
{
	if (w->len)
		fwrite(w->buf, 1, w->len, w->f);
	w->len = 0;
}

static void jw_put(struct jw *w, const char *p, size_t n)
{
	while (n) {
		size_t k = sizeof(w->buf) - w->len;

		if (!k) {
			jw_flush(w);
			k = sizeof(w->buf);
		}
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p += k;
		n -= k;
	}
}

static void jw_c(struct jw *w, char c)
{
	if (w->len == sizeof(w->buf))
		jw_flush(w);
	w->buf[w->len++] = c;
}

static void jw_s(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char t[20];
	int i = (int)sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jw_put(w, t + i, sizeof(t) - (size_t)i);
}

static void jw_i64(struct jw *w, int64_t v)
{
	if (v < 0)
		jw_c(w, '-');
	jw_u64(w, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

/* One byte of a JSON string that must be escaped. */
static void json_escape(struct jw *w, unsigned char c)
{
	static const char hexd[] = "0123456789abcdef";
	static const char short_esc[] = { ['"'] = '"', ['\\'] = '\\',
					  ['\n'] = 'n', ['\r'] = 'r',
					  ['\t'] = 't', ['\b'] = 'b',
					  ['\f'] = 'f' };

	jw_c(w, '\\');
	if (c < sizeof(short_esc) && short_esc[c]) {
		jw_c(w, short_esc[c]);
		return;
	}
	jw_s(w, "u00");
	jw_c(w, hexd[c >> 4]);
	jw_c(w, hexd[c & 15]);
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * other bytes as they are. */
static void json_str(struct jw *w, const char *s)
{
	const char *run = s ? s : "";

	jw_c(w, '"');
	for (s = run; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_put(w, run, (size_t)(s - run));
		json_escape(w, c);
		run = s + 1;
	}
	jw_put(w, run, (size_t)(s - run));
	jw_c(w, '"');
}

/* <pre>"key": (pre: what comes before, such as a comma; key needs no
 * escaping) */
static void json_key(struct jw *w, const char *pre, const char *key)
{
	jw_s(w, pre);
	jw_c(w, '"');
	jw_s(w, key);
	jw_s(w, "\":");
}

static void json_kv(struct jw *w, const char *pre, const char *key,
		    const char *val)
{
	json_key(w, pre, key);
	json_str(w, val);
}

/* OTLP/JSON encodes 64-bit integers as strings. */
static void json_kv_u64(struct jw *w, const char *key, uint64_t v)
{
	json_key(w, ",", key);
	jw_c(w, '"');
	jw_u64(w, v);
	jw_c(w, '"');
}

static void json_attr(struct jw *w, const struct ebt_attr *a)
{
	json_kv(w, "{", "key", a->key);
	if (a->type == EBT_ATTR_INT) {
		jw_s(w, ",\"value\":{\"intValue\":\"");
		jw_i64(w, a->num);
		jw_s(w, "\"}}");
	} else if (a->type == EBT_ATTR_BOOL) {
		jw_s(w, a->num ? ",\"value\":{\"boolValue\":true}}"
			       : ",\"value\":{\"boolValue\":false}}");
	} else {
		json_kv(w, ",\"value\":{", "stringValue", a->str);
		jw_s(w, "}}");
	}
}

/* <pre>"key":[attributes] */
static void json_attrs(struct jw *w, const char *pre, const char *key,
		       const struct ebt_attr *attrs, unsigned n)
{
	json_key(w, pre, key);
	jw_c(w, '[');
	for (unsigned i = 0; i < n; i++) {
		if (i)
			jw_c(w, ',');
		json_attr(w, &attrs[i]);
	}
	jw_c(w, ']');
}

/* ,"resource":{"attributes":[...]} ({} without a resource) */
static void json_resource(struct jw *w, const struct ebt_resource *r)
{
	jw_s(w, ",\"resource\":{");
	if (r)
		json_attrs(w, "", "attributes", r->attrs, r->n_attrs);
	jw_c(w, '}');
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* <pre>"key":"<hex of id>", or "" when the id is not there */
static void json_id(struct jw *w, const char *pre, const char *key,
		    const uint8_t *id, size_t n, bool present)
{
	char hex[33] = "";

	if (present)
		ebt_hex(id, n, hex);
	json_kv(w, pre, key, hex);
}

static void write_span_json(struct jw *w, const struct ebt_span *s)
{
	json_id(w, "{", "traceId", s->trace_id, 16, true);
	json_id(w, ",", "spanId", s->span_id, 8, true);
	json_id(w, ",", "parentSpanId", s->parent_span_id, 8,
		!is_zero(s->parent_span_id, 8));
	json_kv(w, ",", "name", s->name);
	json_key(w, ",", "kind");
	jw_i64(w, s->kind);
	json_kv_u64(w, "startTimeUnixNano", s->start_ns);
	json_kv_u64(w, "endTimeUnixNano", s->end_ns);
	json_key(w, ",\"status\":{", "code");
	jw_i64(w, s->status);
	if (s->status_message)
		json_kv(w, ",", "message", s->status_message);
	jw_c(w, '}');
	json_attrs(w, ",", "attributes", s->attrs, s->n_attrs);
	json_resource(w, s->resource);
	jw_c(w, '}');
}

/* What write() wrote, as a malloc'd string (NULL: out of memory). */
static char *to_string(void (*write)(struct jw *, const void *, const void *),
		       const void *a, const void *b)
{
	struct jw *w = malloc(sizeof(*w));
	char *buf = NULL;
	size_t len = 0;

	if (!w || !(w->f = open_memstream(&buf, &len))) {
		free(w);
		return NULL;
	}
	w->len = 0;
	write(w, a, b);
	jw_flush(w);
	if (fclose(w->f) != 0) {
		free(buf);
		buf = NULL;
	}
	free(w);
	return buf;
}

static void span_json_cb(struct jw *w, const void *span, const void *unused)
{
	(void)unused;
	write_span_json(w, span);
}

char *ebt_span_to_json(const struct ebt_span *s)
{
	return to_string(span_json_cb, s, NULL);
}

/* One JSON line to out. */
static void json_line(FILE *out,
		      void (*write)(struct jw *, const void *, const void *),
		      const void *a, const void *b)
{
	struct jw w = { .f = out };

	write(&w, a, b);
	jw_c(&w, '\n');
	jw_flush(&w);
}

static const char *attr_str(const struct ebt_span *s, const char *k)
{
	const struct ebt_attr *a = ebt_span_find(s, k);

	return a && a->str ? a->str : "-";
}

/* The span's name, and for a client span the URL it called (url.full, as
 * exported: query redaction applies), padded to the name column. */
static void print_label(FILE *out, const struct ebt_span *s)
{
	const struct ebt_attr *url = s->kind == EBT_KIND_CLIENT
		? ebt_span_find(s, "url.full") : NULL;
	const char *name = s->name ? s->name : "";
	int n;

	if (url && url->str)
		n = fprintf(out, "%s %s", name, url->str);
	else
		n = fprintf(out, "%s", name);
	if (n >= 0 && n < 28)
		fprintf(out, "%*s", 28 - n, "");
}

static void print_text(FILE *out, const struct ebt_span *s)
{
	const struct ebt_attr *code = ebt_span_find(s, "http.response.status_code");
	char tid[33], sid[17], pid[17] = "-", when[32];
	time_t sec = (time_t)(s->start_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	ebt_hex(s->trace_id, 16, tid);
	ebt_hex(s->span_id, 8, sid);
	if (!is_zero(s->parent_span_id, 8))
		ebt_hex(s->parent_span_id, 8, pid);
	fprintf(out, "%s.%03u %-6s ", when,
		(unsigned)(s->start_ns / 1000000ULL % 1000),
		s->kind == EBT_KIND_SERVER ? "SERVER" : "CLIENT");
	print_label(out, s);
	fprintf(out,
		" %3" PRId64 " %8.3fms %-20s trace=%s span=%s parent=%s peer=%s\n",
		code ? code->num : 0, (double)(s->end_ns - s->start_ns) / 1e6,
		s->resource && s->resource->service_name
			? s->resource->service_name : "-",
		tid, sid, pid, attr_str(s, "network.peer.address"));
}

void ebt_console_span(FILE *out, enum ebt_format fmt,
		      const struct ebt_span *s)
{
	if (fmt == EBT_FORMAT_TEXT) {
		print_text(out, s);
	} else if (fmt == EBT_FORMAT_JSON) {
		json_line(out, span_json_cb, s, NULL);
	}
}

void ebt_console_flush(FILE *out, enum ebt_format fmt)
{
	if (fmt != EBT_FORMAT_NONE)
		fflush(out);
}

/* ---- log records --------------------------------------------------------- */

static const char *iostream(const struct ebt_log_record *r)
{
	return r->stream == EBT_LOG_STDERR ? "stderr" : "stdout";
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Record flags as boolean attributes, only those that are set. */
static const struct {
	uint32_t flag;
	const char *key;
} log_flag_attrs[] = {
	{ EBT_LOG_SPLIT, "ebpftrace.log.split" },
	{ EBT_LOG_TRUNCATED, "ebpftrace.log.truncated" },
	{ EBT_LOG_NO_NEWLINE, "ebpftrace.log.no_newline" },
	{ EBT_LOG_ESCAPED, "ebpftrace.log.escaped" },
};

/* ,"attributes":[log.iostream, thread.id, and what the record says] */
static void json_log_attrs(struct jw *w, const struct ebt_log_record *r)
{
	struct ebt_attr a[3 + ARRAY_LEN(log_flag_attrs)] = {
		{ .key = "log.iostream", .type = EBT_ATTR_STR,
		  .str = (char *)iostream(r) },
		{ .key = "thread.id", .type = EBT_ATTR_INT, .num = r->tid },
	};
	unsigned n = 2;

	if (r->lines > 1)
		a[n++] = (struct ebt_attr){ .key = "ebpftrace.log.lines",
					    .type = EBT_ATTR_INT,
					    .num = r->lines };
	for (size_t i = 0; i < ARRAY_LEN(log_flag_attrs); i++)
		if (r->flags & log_flag_attrs[i].flag)
			a[n++] = (struct ebt_attr){ .key = log_flag_attrs[i].key,
						    .type = EBT_ATTR_BOOL,
						    .num = 1 };
	json_attrs(w, ",", "attributes", a, n);
}

static void write_log_json(struct jw *w, const struct ebt_log_record *r,
			   const struct ebt_resource *res)
{
	const char *sev;
	int num = 0;

	sev = ebt_log_severity(r->line, r->len, &num);
	json_key(w, "{", "timeUnixNano");
	jw_c(w, '"');
	jw_u64(w, r->ts_ns);
	jw_c(w, '"');
	json_key(w, ",", "severityNumber");
	jw_i64(w, num);
	json_kv(w, ",", "severityText", sev ? sev : "");
	json_kv(w, ",\"body\":{", "stringValue", r->line);
	jw_c(w, '}');
	json_log_attrs(w, r);
	json_id(w, ",", "traceId", r->trace_id, 16, r->has_ctx);
	json_id(w, ",", "spanId", r->span_id, 8, r->has_ctx);
	json_resource(w, res);
	jw_c(w, '}');
}

static void log_json_cb(struct jw *w, const void *r, const void *res)
{
	write_log_json(w, r, res);
}

char *ebt_log_to_json(const struct ebt_log_record *r,
		      const struct ebt_resource *res)
{
	return to_string(log_json_cb, r, res);
}

/* The line; continuation lines of a joined record indented under it. */
static void print_log_line(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fputc(s[i], out);
		if (s[i] == '\n')
			fputs("    ", out);
	}
	fputc('\n', out);
}

static void print_log_text(FILE *out, const struct ebt_log_record *r,
			   const struct ebt_resource *res)
{
	char tid[33] = "-", sid[17] = "-", when[32];
	time_t sec = (time_t)(r->ts_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (r->has_ctx) {
		ebt_hex(r->trace_id, 16, tid);
		ebt_hex(r->span_id, 8, sid);
	}
	fprintf(out, "%s.%03u LOG    %-6s %-20s trace=%s span=%s | ", when,
		(unsigned)(r->ts_ns / 1000000ULL % 1000), iostream(r),
		res && res->service_name ? res->service_name : "-", tid, sid);
	print_log_line(out, r->line, r->len);
}

void ebt_console_log(FILE *out, enum ebt_format fmt,
		     const struct ebt_log_record *r,
		     const struct ebt_resource *res)
{
	if (fmt == EBT_FORMAT_TEXT) {
		print_log_text(out, r, res);
	} else if (fmt == EBT_FORMAT_JSON) {
		json_line(out, log_json_cb, r, res);
	}
}
