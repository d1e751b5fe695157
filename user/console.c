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
