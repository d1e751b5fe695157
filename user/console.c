/* SPDX-License-Identifier: Apache-2.0 */
#include "console.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static cJSON *attr_json(const struct ebt_attr *a)
{
	cJSON *o = cJSON_CreateObject(), *v = cJSON_CreateObject();
	char num[24];

	cJSON_AddStringToObject(o, "key", a->key);
	if (a->type == EBT_ATTR_INT) {
		/* OTLP/JSON encodes 64-bit integers as strings */
		snprintf(num, sizeof(num), "%" PRId64, a->num);
		cJSON_AddStringToObject(v, "intValue", num);
	} else if (a->type == EBT_ATTR_BOOL) {
		cJSON_AddBoolToObject(v, "boolValue", a->num != 0);
	} else {
		cJSON_AddStringToObject(v, "stringValue", a->str ? a->str : "");
	}
	cJSON_AddItemToObject(o, "value", v);
	return o;
}

static cJSON *attrs_json(const struct ebt_attr *attrs, unsigned n)
{
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, attr_json(&attrs[i]));
	return arr;
}

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	cJSON_AddStringToObject(o, k, buf);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

char *ebt_span_to_json(const struct ebt_span *s)
{
	cJSON *o = cJSON_CreateObject(), *st, *res;
	char hex[33];
	char *out;

	ebt_hex(s->trace_id, 16, hex);
	cJSON_AddStringToObject(o, "traceId", hex);
	ebt_hex(s->span_id, 8, hex);
	cJSON_AddStringToObject(o, "spanId", hex);
	if (is_zero(s->parent_span_id, 8))
		hex[0] = '\0';
	else
		ebt_hex(s->parent_span_id, 8, hex);
	cJSON_AddStringToObject(o, "parentSpanId", hex);
	cJSON_AddStringToObject(o, "name", s->name ? s->name : "");
	cJSON_AddNumberToObject(o, "kind", s->kind);
	add_u64(o, "startTimeUnixNano", s->start_ns);
	add_u64(o, "endTimeUnixNano", s->end_ns);
	st = cJSON_AddObjectToObject(o, "status");
	cJSON_AddNumberToObject(st, "code", s->status);
	if (s->status_message)
		cJSON_AddStringToObject(st, "message", s->status_message);
	cJSON_AddItemToObject(o, "attributes",
			      attrs_json(s->attrs, s->n_attrs));
	res = cJSON_AddObjectToObject(o, "resource");
	if (s->resource)
		cJSON_AddItemToObject(res, "attributes",
				      attrs_json(s->resource->attrs,
						 s->resource->n_attrs));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static const char *attr_str(const struct ebt_span *s, const char *k)
{
	const struct ebt_attr *a = ebt_span_find(s, k);

	return a && a->str ? a->str : "-";
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
	fprintf(out,
		"%s.%03u %-6s %-28s %3" PRId64 " %8.3fms %-20s trace=%s "
		"span=%s parent=%s peer=%s\n",
		when, (unsigned)(s->start_ns / 1000000ULL % 1000),
		s->kind == EBT_KIND_SERVER ? "SERVER" : "CLIENT",
		s->name ? s->name : "", code ? code->num : 0,
		(double)(s->end_ns - s->start_ns) / 1e6,
		s->resource && s->resource->service_name
			? s->resource->service_name : "-",
		tid, sid, pid, attr_str(s, "network.peer.address"));
}

void ebt_console_span(FILE *out, enum ebt_format fmt,
		      const struct ebt_span *s)
{
	char *j;

	if (fmt == EBT_FORMAT_TEXT) {
		print_text(out, s);
	} else if (fmt == EBT_FORMAT_JSON) {
		j = ebt_span_to_json(s);
		if (j) {
			fprintf(out, "%s\n", j);
			free(j);
		}
	}
	fflush(out);
}

/* ---- log records --------------------------------------------------------- */

static const char *iostream(const struct ebt_log_record *r)
{
	return r->stream == EBT_LOG_STDERR ? "stderr" : "stdout";
}

static void add_attr_str(cJSON *arr, const char *key, const char *val)
{
	struct ebt_attr a = { .key = key, .type = EBT_ATTR_STR,
			      .str = (char *)val };

	cJSON_AddItemToArray(arr, attr_json(&a));
}

static void add_attr_int(cJSON *arr, const char *key, int64_t v)
{
	struct ebt_attr a = { .key = key, .type = EBT_ATTR_INT, .num = v };

	cJSON_AddItemToArray(arr, attr_json(&a));
}

static void add_attr_bool(cJSON *arr, const char *key, bool v)
{
	struct ebt_attr a = { .key = key, .type = EBT_ATTR_BOOL, .num = v };

	cJSON_AddItemToArray(arr, attr_json(&a));
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

static cJSON *log_attrs_json(const struct ebt_log_record *r)
{
	cJSON *arr = cJSON_CreateArray();

	add_attr_str(arr, "log.iostream", iostream(r));
	add_attr_int(arr, "thread.id", r->tid);
	if (r->lines > 1)
		add_attr_int(arr, "ebpftrace.log.lines", r->lines);
	for (size_t i = 0; i < ARRAY_LEN(log_flag_attrs); i++)
		if (r->flags & log_flag_attrs[i].flag)
			add_attr_bool(arr, log_flag_attrs[i].key, true);
	return arr;
}

char *ebt_log_to_json(const struct ebt_log_record *r,
		      const struct ebt_resource *res)
{
	cJSON *o = cJSON_CreateObject(), *body, *rj;
	const char *sev;
	char hex[33];
	char *out;
	int num = 0;

	sev = ebt_log_severity(r->line, r->len, &num);
	add_u64(o, "timeUnixNano", r->ts_ns);
	cJSON_AddNumberToObject(o, "severityNumber", num);
	cJSON_AddStringToObject(o, "severityText", sev ? sev : "");
	body = cJSON_AddObjectToObject(o, "body");
	cJSON_AddStringToObject(body, "stringValue", r->line);
	cJSON_AddItemToObject(o, "attributes", log_attrs_json(r));
	hex[0] = '\0';
	if (r->has_ctx)
		ebt_hex(r->trace_id, 16, hex);
	cJSON_AddStringToObject(o, "traceId", hex);
	if (r->has_ctx)
		ebt_hex(r->span_id, 8, hex);
	cJSON_AddStringToObject(o, "spanId", hex);
	rj = cJSON_AddObjectToObject(o, "resource");
	if (res)
		cJSON_AddItemToObject(rj, "attributes",
				      attrs_json(res->attrs, res->n_attrs));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
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
	char *j;

	if (fmt == EBT_FORMAT_TEXT) {
		print_log_text(out, r, res);
	} else if (fmt == EBT_FORMAT_JSON) {
		j = ebt_log_to_json(r, res);
		if (j) {
			fprintf(out, "%s\n", j);
			free(j);
		}
	}
	fflush(out);
}
