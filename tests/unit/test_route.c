/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for route templating and target helpers (user/route.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http.h"

static void expect_route(const char *path, const char *want)
{
	char out[256];
	size_t n = http_route_template(path, strlen(path), out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_route_rules(void **state)
{
	(void)state;
	expect_route("/", "/");
	expect_route("", "/");
	expect_route("/users", "/users");
	expect_route("/users/42", "/users/{id}");
	expect_route("/users/42/", "/users/{id}/");
	expect_route("/v1/orders/2024/items/7", "/v1/orders/{id}/items/{id}");
	expect_route("/api/v2/x", "/api/v2/x");
	expect_route("/o/123e4567-e89b-12d3-a456-426614174000",
		     "/o/{uuid}");
	expect_route("/o/123E4567-E89B-12D3-A456-426614174000/lines",
		     "/o/{uuid}/lines");
	/* one digit short of a UUID: still a long mixed token */
	expect_route("/o/123e4567-e89b-12d3-a456-42661417400", "/o/{token}");
	expect_route("/o/123e4567-e89b", "/o/123e4567-e89b");
	expect_route("/commit/5f3a9c01", "/commit/{hex}");
	expect_route("/commit/5f3a9c0", "/commit/5f3a9c0");
	expect_route("/blob/da39a3ee5e6b4b0d3255bfef95601890afd80709",
		     "/blob/{hex}");
	expect_route("/words/deadbeef", "/words/deadbeef");
	expect_route("/words/facade", "/words/facade");
	expect_route("/s/AbCdEf0123456789xy", "/s/{token}");
	expect_route("/s/a1b2c3d4-e5f6_g7h8i9", "/s/{token}");
	expect_route("/s/abcdefghijklmnopqrstuvwxyz", "/s/abcdefghijklmnopqrstuvwxyz");
	expect_route("/s/Abc123", "/s/Abc123");
	expect_route("/static/app.123.js", "/static/app.123.js");
	expect_route("//double//slash", "//double//slash");
	expect_route("/a/1/b/2/c/3", "/a/{id}/b/{id}/c/{id}");
	expect_route("*", "*");
}

static void test_route_truncates(void **state)
{
	char out[8];
	const char *p = "/users/123456";

	(void)state;
	assert_int_equal(http_route_template(p, strlen(p), out, sizeof(out)),
			 7);
	assert_string_equal(out, "/users/");
	assert_int_equal(http_route_template(p, strlen(p), out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_route_template(p, strlen(p), NULL, 0), 0);
	/* only len bytes are read */
	assert_int_equal(http_route_template("/a/1xyz", 4, out, sizeof(out)),
			 7);
	assert_string_equal(out, "/a/{id}");
}

static void expect_split(const char *t, const char *path, const char *query)
{
	const char *p, *q;
	size_t pl, ql;

	http_split_target(t, &p, &pl, &q, &ql);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(pl, strlen(path));
	assert_memory_equal(p, path, pl);
	assert_int_equal(ql, strlen(query));
	assert_memory_equal(q, query, ql);
}

static void expect_authority(const char *t, const char *want)
{
	const char *a;
	size_t n;

	http_target_authority(t, &a, &n);
	assert_non_null(a);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(a, want, n);
}

static void test_target_authority(void **state)
{
	(void)state;
	expect_authority("http://example.com/p?q", "example.com");
	expect_authority("http://example.com:8080", "example.com:8080");
	expect_authority("http://[::1]:81/x", "[::1]:81");
	expect_authority("http://user:secret@h:1/x", "h:1");
	expect_authority("http://a@b@h/x@y", "h");
	expect_authority("http://h?x=@", "h");
	expect_authority("/origin/form", "");
	expect_authority("*", "");
	expect_authority("host:443", "");
	expect_authority(NULL, "");
}

static void test_split_target(void **state)
{
	(void)state;
	expect_split("/a/b?x=1&y=2", "/a/b", "x=1&y=2");
	expect_split("/a/b", "/a/b", "");
	expect_split("/", "/", "");
	expect_split("/?", "/", "");
	expect_split("/p?q#frag", "/p", "q");
	expect_split("/p#frag", "/p", "");
	expect_split("http://example.com/path?q=1", "/path", "q=1");
	expect_split("https://example.com:8443/a/b", "/a/b", "");
	expect_split("http://example.com", "/", "");
	expect_split("http://example.com?x", "/", "x");
	expect_split("HTTP://Example.com/X", "/X", "");
	expect_split("*", "*", "");
	expect_split("example.com:443", "", "");
	expect_split("", "", "");
	expect_split(NULL, "", "");
}

static void expect_redact(const char *q, enum http_query_mode mode,
			  const char *want)
{
	char out[128];
	size_t n = http_query_redact(q, q ? strlen(q) : 0, mode, out,
				     sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_query_redact(void **state)
{
	char small[10];

	(void)state;
	expect_redact("a=1&b=two", HTTP_QUERY_KEEP, "a=1&b=two");
	expect_redact("a=1&b=two", HTTP_QUERY_DROP, "");
	expect_redact("a=1&b=two", HTTP_QUERY_REDACT,
		      "a=REDACTED&b=REDACTED");
	expect_redact("token=abc&flag&e=", HTTP_QUERY_REDACT,
		      "token=REDACTED&flag&e=REDACTED");
	expect_redact("a=b=c", HTTP_QUERY_REDACT, "a=REDACTED");
	expect_redact("&&x=1&", HTTP_QUERY_REDACT, "&&x=REDACTED&");
	expect_redact("", HTTP_QUERY_REDACT, "");
	expect_redact(NULL, HTTP_QUERY_KEEP, "");
	/* truncation keeps the NUL; a secret never leaks past its key */
	assert_int_equal(http_query_redact("key=secret", 10, HTTP_QUERY_REDACT,
					   small, sizeof(small)),
			 9);
	assert_string_equal(small, "key=REDAC");
	assert_int_equal(http_query_redact("k=v", 3, HTTP_QUERY_KEEP, small, 0),
			 0);
}

static void test_sensitive_headers(void **state)
{
	(void)state;
	assert_true(http_header_is_sensitive("Authorization", 13));
	assert_true(http_header_is_sensitive("authorization", 13));
	assert_true(http_header_is_sensitive("PROXY-AUTHORIZATION", 19));
	assert_true(http_header_is_sensitive("Cookie", 6));
	assert_true(http_header_is_sensitive("set-cookie", 10));
	assert_true(http_header_is_sensitive("Cookie: x", 6));
	assert_false(http_header_is_sensitive("Cookies", 7));
	assert_false(http_header_is_sensitive("Cook", 4));
	assert_false(http_header_is_sensitive("Host", 4));
	assert_false(http_header_is_sensitive("", 0));
	assert_false(http_header_is_sensitive(NULL, 0));
}

static void test_method_normalize(void **state)
{
	static const char *known[] = { "GET", "HEAD", "POST", "PUT", "DELETE",
				       "CONNECT", "OPTIONS", "TRACE", "PATCH" };

	(void)state;
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(http_method_normalize(known[i]), known[i]);
	assert_string_equal(http_method_normalize("get"), "_OTHER");
	assert_string_equal(http_method_normalize("PROPFIND"), "_OTHER");
	assert_string_equal(http_method_normalize("GETX"), "_OTHER");
	assert_string_equal(http_method_normalize(""), "_OTHER");
	assert_string_equal(http_method_normalize(NULL), "_OTHER");
}

static bool req(const char *s)
{
	return http_looks_like_request((const uint8_t *)s, strlen(s));
}

static bool resp(const char *s)
{
	return http_looks_like_response((const uint8_t *)s, strlen(s));
}

static void test_looks_like(void **state)
{
	(void)state;
	assert_true(req("G"));
	assert_true(req("GE"));
	assert_true(req("GET"));
	assert_true(req("GET "));
	assert_true(req("GET /x HTTP/1.1\r\n"));
	assert_true(req("DELE"));
	assert_true(req("OPTIONS * HTTP/1.1"));
	assert_true(req("CONNECT host:443 HTTP/1.1"));
	assert_true(req("GET http://h/ HTTP/1.1"));
	assert_true(req("PROPFIND /dav HTTP/1.1"));
	assert_false(req(""));
	assert_false(req("X"));
	assert_false(req("GETX"));
	assert_false(req("get /"));
	assert_false(req("GET  /"));
	assert_false(req("GET\r\n"));
	assert_false(req("GET \"x"));
	assert_false(req(" GET /"));
	assert_false(req("HTTP/1.1 200 OK"));
	assert_false(req("ABCDEFGHIJKLMNOPQRSTUVWXYZ /"));
	assert_true(resp("H"));
	assert_true(resp("HT"));
	assert_true(resp("HTTP/1."));
	assert_true(resp("HTTP/1.1"));
	assert_true(resp("HTTP/1.0 "));
	assert_true(resp("HTTP/1.1 2"));
	assert_true(resp("HTTP/1.1 200"));
	assert_true(resp("HTTP/1.1 200 OK\r\n"));
	assert_true(resp("HTTP/1.1 599\r\n"));
	assert_false(resp(""));
	assert_false(resp("X"));
	assert_false(resp("http/1.1"));
	assert_false(resp("HTTP/2 200"));
	assert_false(resp("HTTP/1.2 200"));
	assert_false(resp("HTTP/1.1  200"));
	assert_false(resp("HTTP/1.1 600"));
	assert_false(resp("HTTP/1.1 099"));
	assert_false(resp("HTTP/1.1 20x"));
	assert_false(resp("HTTP/1.1 2000"));
	assert_false(resp("GET / HTTP/1.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_rules),
		cmocka_unit_test(test_route_truncates),
		cmocka_unit_test(test_split_target),
		cmocka_unit_test(test_target_authority),
		cmocka_unit_test(test_query_redact),
		cmocka_unit_test(test_sensitive_headers),
		cmocka_unit_test(test_method_normalize),
		cmocka_unit_test(test_looks_like),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
