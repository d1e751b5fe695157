/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for span and resource objects (user/span.c): strings in the
 * span's text room and past it, replaced values, limits, footprint. Run
 * under ASan/LSan too (make test-asan), which catches a freed inline string
 * or a leaked heap one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "console.h"
#include "span.h"

static bool inside(const struct ebt_span *s, const char *p)
{
	return p >= s->text && p < s->text + s->text_cap;
}

static void test_small_strings_inline(void **state)
{
	struct ebt_span *s = ebt_span_new();
	const struct ebt_attr *a;

	(void)state;
	assert_non_null(s);
	assert_int_equal(ebt_span_set_name(s, "GET /users/{id}"), 0);
	assert_int_equal(ebt_span_add_str(s, "http.request.method", "GET"), 0);
	assert_int_equal(ebt_span_add_int(s, "http.response.status_code", 200),
			 0);
	assert_string_equal(s->name, "GET /users/{id}");
	assert_true(inside(s, s->name));
	a = ebt_span_find(s, "http.request.method");
	assert_non_null(a);
	assert_int_equal(a->type, EBT_ATTR_STR);
	assert_string_equal(a->str, "GET");
	assert_true(inside(s, a->str));
	a = ebt_span_find(s, "http.response.status_code");
	assert_int_equal(a->type, EBT_ATTR_INT);
	assert_int_equal(a->num, 200);
	assert_null(a->str);
	/* nothing on the heap: the footprint is the struct alone */
	assert_int_equal(ebt_span_size(s), EBT_SPAN_NEW_BYTES);
	ebt_span_free(s);
}

/* Values that do not fit go to the heap; all read back intact. */
static void test_overflow_to_heap(void **state)
{
	struct ebt_span *s = ebt_span_new();
	static const char *const keys[] = { "k0", "k1", "k2", "k3", "k4",
					    "k5", "k6", "k7", "k8", "k9" };
	char val[10][200];
	size_t heap = 0;

	(void)state;
	for (int i = 0; i < 10; i++) {
		memset(val[i], 'a' + i, sizeof(val[i]) - 1);
		val[i][sizeof(val[i]) - 1] = '\0';
		assert_int_equal(ebt_span_add_str(s, keys[i], val[i]), 0);
	}
	for (int i = 0; i < 10; i++) {
		const struct ebt_attr *a = ebt_span_find(s, keys[i]);

		assert_string_equal(a->str, val[i]);
		if (!inside(s, a->str))
			heap += strlen(a->str) + 1;
	}
	assert_true(heap >= 8 * 200); /* at most one 200-byte value fits */
	assert_int_equal(ebt_span_size(s), EBT_SPAN_NEW_BYTES + heap);
	ebt_span_free(s);
}

/* Setting a key again replaces its value, inline or heap, and the type. */
static void test_replace_values(void **state)
{
	struct ebt_span *s = ebt_span_new();
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ebt_span_add_str(s, "a", "one"), 0);
	assert_int_equal(ebt_span_add_str(s, "a", big), 0);
	assert_string_equal(ebt_span_find(s, "a")->str, big);
	assert_false(inside(s, ebt_span_find(s, "a")->str));
	assert_int_equal(ebt_span_add_str(s, "a", "two"), 0);
	assert_string_equal(ebt_span_find(s, "a")->str, "two");
	assert_int_equal(ebt_span_add_int(s, "a", 7), 0);
	assert_int_equal(ebt_span_find(s, "a")->type, EBT_ATTR_INT);
	assert_null(ebt_span_find(s, "a")->str);
	assert_int_equal(s->n_attrs, 1);
	assert_int_equal(ebt_span_set_name(s, big), 0);
	assert_int_equal(ebt_span_set_name(s, "GET"), 0);
	assert_string_equal(s->name, "GET");
	ebt_span_free(s);
}

/* Keys match by text, not by pointer; keys whose lengths differ by 64
 * with the same first, middle and last bytes (the same bit of the span's
 * key_bits) and keys of one length stay apart. */
static void test_keys_match_by_text(void **state)
{
	struct ebt_span *s = ebt_span_new();
	struct ebt_resource *r = ebt_resource_new(1);
	char copy[] = "http.route";
	char k67[68];

	(void)state;
	memset(k67, 'k', 67);
	k67[67] = '\0';
	assert_int_equal(ebt_span_add_str(s, "http.route", "/a"), 0);
	assert_int_equal(ebt_span_add_str(s, copy, "/b"), 0);
	assert_int_equal(s->n_attrs, 1);
	assert_string_equal(ebt_span_find(s, "http.route")->str, "/b");
	assert_int_equal(ebt_span_add_int(s, "kkk", 3), 0);
	assert_int_equal(ebt_span_add_int(s, k67, 67), 0);
	assert_int_equal(ebt_span_add_int(s, "url.scheme", 10), 0);
	assert_int_equal(s->n_attrs, 4);
	assert_int_equal(ebt_span_find(s, "kkk")->num, 3);
	assert_int_equal(ebt_span_find(s, k67)->num, 67);
	assert_string_equal(ebt_span_find(s, "http.route")->str, "/b");
	assert_int_equal(ebt_resource_add_dyn(r, "team", "a"), 0);
	assert_int_equal(ebt_resource_add_str(r, "team", "b"), 0);
	assert_int_equal(r->n_attrs, 1);
	assert_string_equal(ebt_resource_get(r, "team"), "b");
	ebt_resource_unref(r);
	ebt_span_free(s);
}

/* A length cut copies that many bytes; a NUL inside stops the copy. */
static void test_strn_bounds(void **state)
{
	struct ebt_span *s = ebt_span_new();

	(void)state;
	assert_int_equal(ebt_span_add_strn(s, "p", "/users/42?x=1", 9), 0);
	assert_string_equal(ebt_span_find(s, "p")->str, "/users/42");
	assert_int_equal(ebt_span_add_strn(s, "q", "ab\0cd", 5), 0);
	assert_string_equal(ebt_span_find(s, "q")->str, "ab");
	assert_int_equal(ebt_span_add_strn(s, "e", "", 0), 0);
	assert_string_equal(ebt_span_find(s, "e")->str, "");
	ebt_span_free(s);
}

/* A compacted span holds the same name, status message and attributes, in
 * a block of the size they need; strings on the heap move over as they are;
 * it takes no new attribute; freeing it frees everything (ASan checks). */
static void test_compact(void **state)
{
	struct ebt_span *s = ebt_span_new(), *c;
	char big[400];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ebt_span_set_name(s, "GET /users/{id}"), 0);
	s->status = EBT_STATUS_ERROR;
	s->status_message = strdup("boom"); /* heap: the span owns it */
	s->start_ns = 7;
	assert_int_equal(ebt_span_add_str(s, "http.request.method", "GET"), 0);
	assert_int_equal(ebt_span_add_int(s, "http.response.status_code", 500),
			 0);
	assert_int_equal(ebt_span_add_str(s, "url.full", big), 0);
	c = ebt_span_compact(s);
	assert_true(ebt_span_size(c) <
		    EBT_SPAN_NEW_BYTES + sizeof(big) - 500);
	assert_string_equal(c->name, "GET /users/{id}");
	assert_true(inside(c, c->name));
	assert_string_equal(c->status_message, "boom");
	assert_int_equal(c->status, EBT_STATUS_ERROR);
	assert_int_equal(c->start_ns, 7);
	assert_int_equal(c->n_attrs, 3);
	assert_string_equal(ebt_span_find(c, "http.request.method")->str, "GET");
	assert_true(inside(c, ebt_span_find(c, "http.request.method")->str));
	assert_int_equal(ebt_span_find(c, "http.response.status_code")->num,
			 500);
	assert_string_equal(ebt_span_find(c, "url.full")->str, big);
	assert_int_equal(ebt_span_add_str(c, "extra", "v"), -1);
	assert_int_equal(ebt_span_add_str(c, "http.request.method", "POST"),
			 0); /* a known key: its value goes to the heap */
	assert_string_equal(ebt_span_find(c, "http.request.method")->str,
			    "POST");
	ebt_span_free(c);
}

/* A span whose block would not shrink much is kept as it is, however
 * much it holds on the heap. */
static void test_compact_full_span_kept(void **state)
{
	struct ebt_span *s = ebt_span_new();
	char keys[EBT_SPAN_MAX_ATTRS][16], val[EBT_SPAN_TEXT / EBT_SPAN_MAX_ATTRS];
	char big[600];

	(void)state;
	memset(val, 'v', sizeof(val) - 2);
	val[sizeof(val) - 2] = '\0';
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < EBT_SPAN_MAX_ATTRS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
		assert_int_equal(ebt_span_add_str(s, keys[i], val), 0);
	}
	assert_int_equal(ebt_span_add_str(s, keys[3], big), 0); /* heap */
	assert_false(inside(s, ebt_span_find(s, "key3")->str));
	assert_ptr_equal(ebt_span_compact(s), s);
	ebt_span_free(s);
}

/* The attribute table is bounded: one more key fails, known keys still
 * update, and nothing leaks. */
static void test_attr_limit(void **state)
{
	struct ebt_span *s = ebt_span_new();
	char keys[EBT_SPAN_MAX_ATTRS + 1][16];

	(void)state;
	for (int i = 0; i <= EBT_SPAN_MAX_ATTRS; i++)
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
	for (int i = 0; i < EBT_SPAN_MAX_ATTRS; i++)
		assert_int_equal(ebt_span_add_str(s, keys[i], "v"), 0);
	assert_int_equal(ebt_span_add_str(s, keys[EBT_SPAN_MAX_ATTRS], "v"), -1);
	assert_int_equal(ebt_span_add_int(s, keys[EBT_SPAN_MAX_ATTRS], 1), -1);
	assert_int_equal(ebt_span_add_str(s, keys[3], "w"), 0);
	assert_string_equal(ebt_span_find(s, "key3")->str, "w");
	assert_int_equal(s->n_attrs, EBT_SPAN_MAX_ATTRS);
	ebt_span_free(s);
}

/* Resource strings and copied keys live on the heap and are freed with the
 * last reference; replacing a value frees the old one. */
static void test_resource_values(void **state)
{
	struct ebt_resource *r = ebt_resource_new(42);
	char key[] = "team.name";

	(void)state;
	assert_int_equal(ebt_resource_add_str(r, "service.name", "a"), 0);
	assert_int_equal(ebt_resource_add_str(r, "service.name", "shop"), 0);
	assert_string_equal(r->service_name, "shop");
	assert_int_equal(ebt_resource_add_dyn(r, key, "payments"), 0);
	key[0] = 'X'; /* the resource holds its own copy of the key */
	assert_string_equal(ebt_resource_get(r, "team.name"), "payments");
	assert_int_equal(ebt_resource_add_dyn(r, "team.name", "billing"), 0);
	assert_string_equal(ebt_resource_get(r, "team.name"), "billing");
	assert_int_equal(ebt_resource_add_int(r, "process.pid", 42), 0);
	assert_int_equal(r->n_attrs, 3);
	/* a key copied from input, set again through the literal API (as
	 * OTEL_RESOURCE_ATTRIBUTES then the tracer's own service.name do) */
	assert_int_equal(ebt_resource_add_dyn(r, "host.name", "a"), 0);
	assert_int_equal(ebt_resource_add_str(r, "host.name", "b"), 0);
	assert_int_equal(ebt_resource_add_int(r, "host.name", 5), 0);
	assert_int_equal(ebt_resource_add_dyn(r, "host.name", "c"), 0);
	assert_string_equal(ebt_resource_get(r, "host.name"), "c");
	assert_int_equal(r->n_attrs, 4);
	ebt_resource_ref(r);
	ebt_resource_unref(r);
	assert_string_equal(ebt_resource_get(r, "service.name"), "shop");
	ebt_resource_unref(r);
}

/* Resource strings come from command lines, environments and file names:
 * whatever bytes they hold, what is stored is valid UTF-8. */
static void test_resource_strings_made_valid_utf8(void **state)
{
	struct ebt_resource *r = ebt_resource_new(7);

	(void)state;
	ebt_resource_add_str(r, "service.name", "caf\xe9-\xc3\xa9\xc3");
	ebt_resource_add_str(r, "process.executable.path", "/opt/\xff\xfe-/app");
	ebt_resource_add_dyn(r, "t\xe9" "am", "\xed\xa0\x80 \xe2\x82\xac");
	assert_string_equal(r->service_name, "caf?-\xc3\xa9?");
	assert_string_equal(ebt_resource_get(r, "service.name"),
			    "caf?-\xc3\xa9?");
	assert_string_equal(ebt_resource_get(r, "process.executable.path"),
			    "/opt/?" "?-/app");
	/* a surrogate's 3 bytes are no character: each one is replaced */
	assert_string_equal(ebt_resource_get(r, "t?am"), "??? \xe2\x82\xac");
	ebt_resource_unref(r);
}

static const char *json_attr_str(cJSON *arr, const char *key, const char *type)
{
	cJSON *a;

	cJSON_ArrayForEach(a, arr)
		if (strcmp(cJSON_GetObjectItem(a, "key")->valuestring, key) == 0)
			return cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"),
						   type)->valuestring;
	return NULL;
}

/* The console's JSON line is written without a JSON library: every byte a
 * header value can bring must come back out of a JSON parser as it was. */
static void test_span_json_escapes(void **state)
{
	const char *odd = "q\"b\\s/\x01\x1f\t\r\n\b\f\xc3\xa9\x7f end";
	struct ebt_resource *r = ebt_resource_new(7);
	struct ebt_span *s = ebt_span_new();
	cJSON *o, *attrs;
	char *out;

	(void)state;
	ebt_resource_add_str(r, "service.name", odd);
	ebt_span_set_name(s, odd);
	ebt_span_add_str(s, "user_agent.original", odd);
	ebt_span_add_int(s, "server.port", -5);
	s->status = EBT_STATUS_ERROR;
	s->start_ns = 18446744073709551615ull;
	s->kind = EBT_KIND_CLIENT;
	s->resource = r;
	memset(s->trace_id, 0x0f, 16);
	out = ebt_span_to_json(s);
	assert_non_null(out);
	assert_null(strchr(out, '\n'));
	o = cJSON_Parse(out);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, odd);
	assert_string_equal(cJSON_GetObjectItem(o, "traceId")->valuestring,
			    "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
	assert_string_equal(cJSON_GetObjectItem(o, "parentSpanId")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItem(o, "startTimeUnixNano")->valuestring,
			    "18446744073709551615");
	assert_int_equal(cJSON_GetObjectItem(o, "kind")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"),
					     "code")->valueint, 2);
	attrs = cJSON_GetObjectItem(o, "attributes");
	assert_string_equal(json_attr_str(attrs, "user_agent.original",
					  "stringValue"), odd);
	assert_string_equal(json_attr_str(attrs, "server.port", "intValue"), "-5");
	attrs = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "resource"), "attributes");
	assert_string_equal(json_attr_str(attrs, "service.name", "stringValue"), odd);
	cJSON_Delete(o);
	free(out);
	ebt_span_free(s);
}

/* The text line: a server span shows its name; a client span its method
 * and the URL it called, as exported. */
static void test_span_text_line(void **state)
{
	struct ebt_span *s = ebt_span_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	ebt_span_set_name(s, "GET /users/{id}");
	ebt_span_add_str(s, "url.full", "http://ignored.example/");
	ebt_span_add_int(s, "http.response.status_code", 404);
	s->kind = EBT_KIND_SERVER;
	s->end_ns = 1500000;
	ebt_console_span(f, EBT_FORMAT_TEXT, s);
	ebt_span_free(s);
	s = ebt_span_new();
	ebt_span_set_name(s, "POST");
	ebt_span_add_str(s, "url.full", "http://10.0.0.7:8080/orders?REDACTED");
	ebt_span_add_int(s, "http.response.status_code", 201);
	s->kind = EBT_KIND_CLIENT;
	ebt_console_span(f, EBT_FORMAT_TEXT, s);
	fclose(f);
	assert_non_null(strstr(buf, " SERVER GET /users/{id}              404"
				    "    1.500ms - "));
	assert_null(strstr(buf, "ignored"));
	assert_non_null(strstr(buf, " CLIENT POST http://10.0.0.7:8080/orders"
				    "?REDACTED 201    0.000ms - "));
	free(buf);
	ebt_span_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_strings_inline),
		cmocka_unit_test(test_overflow_to_heap),
		cmocka_unit_test(test_replace_values),
		cmocka_unit_test(test_keys_match_by_text),
		cmocka_unit_test(test_strn_bounds),
		cmocka_unit_test(test_attr_limit),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_compact_full_span_kept),
		cmocka_unit_test(test_resource_values),
		cmocka_unit_test(test_resource_strings_made_valid_utf8),
		cmocka_unit_test(test_span_json_escapes),
		cmocka_unit_test(test_span_text_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
