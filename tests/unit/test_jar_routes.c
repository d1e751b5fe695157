/* SPDX-License-Identifier: Apache-2.0 */
/* Spring MVC mappings read from class files and jars (user/jar_routes.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jar_routes.h"

/* The PetClinic-shaped test app's controllers (tests/peers/petclinic),
 * compiled; also the fuzz target's seeds. */
#define SEEDS "tests/fuzz/corpus/fuzz_jar_routes/"

#define MAP "Lorg/springframework/web/bind/annotation/"

/* ---- a class file written by hand ------------------------------------- */

struct cw {
	uint8_t b[2048];
	size_t n;
};

static void w1(struct cw *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void w2(struct cw *w, unsigned v)
{
	w1(w, v >> 8);
	w1(w, v);
}

static void w4(struct cw *w, uint32_t v)
{
	w2(w, v >> 16);
	w2(w, v);
}

static void wutf8(struct cw *w, const char *s)
{
	w1(w, 1);
	w2(w, (unsigned)strlen(s));
	memcpy(w->b + w->n, s, strlen(s));
	w->n += strlen(s);
}

/* Constant pool indexes of the class below. */
enum {
	C_REQ = 1, C_VALUE, C_OWNERS, C_RVA, C_GET, C_PETS, C_PATH, C_METHOD,
	C_RM, C_POST, C_EDIT, C_NAME, C_CLASS, C_OBJ, C_OBJCLASS, C_M, C_V,
	C_LONG, C_PROP = C_LONG + 2, C_FEIGN, C_COUNT
};

static void pool(struct cw *w)
{
	static const char *const text[] = {
		[C_REQ] = MAP "RequestMapping;", [C_VALUE] = "value",
		[C_OWNERS] = "/owners/{ownerId}/",
		[C_RVA] = "RuntimeVisibleAnnotations", [C_GET] = MAP "GetMapping;",
		[C_PETS] = "pets/{petId}", [C_PATH] = "path",
		[C_METHOD] = "method",
		[C_RM] = "Lorg/springframework/web/bind/annotation/RequestMethod;",
		[C_POST] = "POST", [C_EDIT] = "/edit", [C_NAME] = "Foo",
		[C_OBJ] = "java/lang/Object", [C_M] = "m", [C_V] = "()V",
		[C_PROP] = "${api.prefix}/x",
		[C_FEIGN] = "Lorg/springframework/cloud/openfeign/FeignClient;",
	};

	w2(w, C_COUNT);
	for (unsigned i = 1; i < C_COUNT; i++) {
		if (i == C_CLASS || i == C_OBJCLASS) {
			w1(w, 7);
			w2(w, i - 1);
		} else if (i == C_LONG) {
			w1(w, 5); /* a long: two slots */
			w4(w, 0);
			w4(w, 42);
			i++;
		} else {
			wutf8(w, text[i]);
		}
	}
}

/* @<type>(<elem> = {"<s>"}) */
static void annot_str(struct cw *w, unsigned type, unsigned elem, unsigned s)
{
	w2(w, type);
	w2(w, 1);
	w2(w, elem);
	w1(w, '[');
	w2(w, 1);
	w1(w, 's');
	w2(w, s);
}

static void rva_begin(struct cw *w, size_t *len_at, unsigned annotations)
{
	w2(w, 1); /* one attribute */
	w2(w, C_RVA);
	*len_at = w->n;
	w4(w, 0);
	w2(w, annotations);
}

static void rva_end(struct cw *w, size_t len_at)
{
	uint32_t len = (uint32_t)(w->n - len_at - 4);

	w->b[len_at] = (uint8_t)(len >> 24);
	w->b[len_at + 1] = (uint8_t)(len >> 16);
	w->b[len_at + 2] = (uint8_t)(len >> 8);
	w->b[len_at + 3] = (uint8_t)len;
}

static void method_head(struct cw *w)
{
	w2(w, 1);
	w2(w, C_M);
	w2(w, C_V);
}

/*
 * @RequestMapping("/owners/{ownerId}/") class Foo {
 *   @GetMapping("pets/{petId}") void m();
 *   @RequestMapping(path = "/edit", method = RequestMethod.POST) void m();
 *   @GetMapping("${api.prefix}/x") void m();
 *   void m();
 * }
 * feign: @FeignClient on the class too (an interface of calls made).
 */
static size_t controller(struct cw *w, bool feign)
{
	size_t at;

	w->n = 0;
	w4(w, 0xCAFEBABE);
	w4(w, 61);
	pool(w);
	w2(w, 0x21);
	w2(w, C_CLASS);
	w2(w, C_OBJCLASS);
	w2(w, 0); /* interfaces */
	w2(w, 0); /* fields */
	w2(w, 4); /* methods */
	method_head(w);
	rva_begin(w, &at, 1);
	annot_str(w, C_GET, C_VALUE, C_PETS);
	rva_end(w, at);
	method_head(w);
	rva_begin(w, &at, 1);
	w2(w, C_REQ);
	w2(w, 2);
	w2(w, C_PATH);
	w1(w, 's');
	w2(w, C_EDIT);
	w2(w, C_METHOD);
	w1(w, '[');
	w2(w, 1);
	w1(w, 'e');
	w2(w, C_RM);
	w2(w, C_POST);
	rva_end(w, at);
	method_head(w);
	rva_begin(w, &at, 1);
	annot_str(w, C_GET, C_VALUE, C_PROP);
	rva_end(w, at);
	method_head(w);
	w2(w, 0);
	rva_begin(w, &at, feign ? 2 : 1); /* the class's attributes */
	if (feign) {
		w2(w, C_FEIGN);
		w2(w, 0);
	}
	annot_str(w, C_REQ, C_VALUE, C_OWNERS);
	rva_end(w, at);
	return w->n;
}

static const char *pattern(const struct ebt_routes *r, const char *p,
			   unsigned *methods)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].pattern, p) == 0) {
			*methods = r->v[i].methods;
			return r->v[i].pattern;
		}
	return NULL;
}

static const char *match(const struct ebt_routes *r, const char *method,
			 const char *path)
{
	return ebt_routes_match(r, method, path, strlen(path));
}

static void test_class_and_method_mappings_join(void **state)
{
	struct ebt_routes r = {0};
	struct cw w;
	unsigned m = 0;
	size_t n = controller(&w, false);

	(void)state;
	assert_true(ebt_routes_from_class(w.b, n, &r));
	assert_int_equal(r.n, 2); /* the ${...} one is left out */
	assert_non_null(pattern(&r, "/owners/{ownerId}/pets/{petId}", &m));
	assert_int_equal(m, EBT_RM_GET);
	assert_non_null(pattern(&r, "/owners/{ownerId}/edit", &m));
	assert_int_equal(m, EBT_RM_POST);
	assert_string_equal(match(&r, "GET", "/owners/7/pets/9"),
			    "/owners/{ownerId}/pets/{petId}");
	assert_string_equal(match(&r, "HEAD", "/owners/7/pets/9"),
			    "/owners/{ownerId}/pets/{petId}");
	assert_null(match(&r, "POST", "/owners/7/pets/9"));
	assert_null(match(&r, "GET", "/owners/7/pets/9/"));
	assert_null(match(&r, "GET", "/owners//pets/9"));
	assert_string_equal(match(&r, "POST", "/owners/7/edit"),
			    "/owners/{ownerId}/edit");
	ebt_routes_free(&r);
}

static void test_cut_or_foreign_bytes_are_no_class(void **state)
{
	struct ebt_routes r = {0};
	struct cw w;
	size_t n = controller(&w, false);

	(void)state;
	assert_true(ebt_routes_from_class(w.b, n, &r));
	for (size_t cut = 0; cut < n; cut++)
		assert_false(ebt_routes_from_class(w.b, cut, &r));
	w.b[0] = 0;
	assert_false(ebt_routes_from_class(w.b, n, &r));
	assert_false(ebt_routes_from_zip(w.b, n, &r));
	assert_int_equal(r.n, 2); /* what it had is kept */
	ebt_routes_free(&r);
}

static void test_feign_client_mappings_are_no_routes(void **state)
{
	struct ebt_routes r = {0};
	struct cw w;
	size_t n = controller(&w, true);

	(void)state;
	assert_true(ebt_routes_from_class(w.b, n, &r));
	assert_int_equal(r.n, 0);
	ebt_routes_free(&r);
}

static void add(struct ebt_routes *r, unsigned methods, const char *p);

/* The context path the config files read with r set, no profile active. */
static const char *context_of(const struct ebt_routes *r)
{
	static char out[EBT_CONTEXT_PATH_MAX];

	ebt_spring_context_path(&r->cfg, NULL, "", NULL, out);
	return out;
}

static void test_petclinic_jar(void **state)
{
	struct ebt_routes r = {0};

	(void)state;
	assert_true(ebt_routes_load(SEEDS "app.jar", &r));
	assert_string_equal(match(&r, "GET", "/owners/12"), "/owners/{ownerId}");
	assert_string_equal(match(&r, "GET", "/owners"), "/owners");
	assert_string_equal(match(&r, "GET", "/owners/find"), "/owners/find");
	assert_string_equal(match(&r, "POST", "/owners/new"), "/owners/new");
	assert_string_equal(match(&r, "GET", "/owners/3/pets/4/visits/new"),
			    "/owners/{ownerId}/pets/{petId}/visits/new");
	assert_string_equal(match(&r, "GET", "/owners/2/vets"),
			    "/owners/{ownerId}/vets");
	assert_string_equal(match(&r, "GET", "/"), "/");
	assert_string_equal(match(&r, "GET", "/api/vets"), "/api/vets");
	assert_null(match(&r, "GET", "/resources/css/petclinic.css"));
	assert_null(match(&r, "DELETE", "/owners/12"));
	assert_null(match(&r, "_OTHER", "/owners/12"));
	assert_string_equal(context_of(&r), "/petclinic");
	ebt_routes_free(&r);
	assert_false(ebt_routes_load(SEEDS "missing.jar", &r));
	assert_false(ebt_routes_load(SEEDS "owner_controller.class", &r));
	assert_int_equal(r.n, 0);
}

/* openapi.jar (tests/peers/openapi): mappings a controller inherits from
 * an interface and from an abstract class, under a ${...} its
 * application.yml sets; a @FeignClient interface's implementation. */
static void test_inherited_mappings(void **state)
{
	static const char *const want[] = {
		"/api/v3/pet/{petId}", "/api/v3/pet", "/api/v3/pet/findByStatus",
		"/store/health", "/store/inventory",
	};
	struct ebt_routes r = {0};
	unsigned m = 0;

	(void)state;
	assert_true(ebt_routes_load(SEEDS "openapi.jar", &r));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_non_null(pattern(&r, want[i], &m));
	/* not the interface's, Feign's, /health; and Actuator's 5 */
	assert_int_equal(r.n, 10);
	assert_non_null(pattern(&r, "/api/v3/pet", &m));
	assert_int_equal(m, EBT_RM_POST); /* overridden, mapped by PetApi */
	assert_string_equal(match(&r, "GET", "/api/v3/pet/12"),
			    "/api/v3/pet/{petId}");
	assert_string_equal(match(&r, "GET", "/api/v3/pet/findByStatus"),
			    "/api/v3/pet/findByStatus");
	assert_null(match(&r, "GET", "/remote/3"));
	assert_string_equal(context_of(&r), "/petstore");
	ebt_routes_free(&r);
}

/* What Spring Boot MVC does with a request no mapping takes, as the
 * OpenTelemetry Java agent names it (openapi.jar: a Spring Boot MVC jar
 * whose application.yml moves the webjars; app.jar: static resources
 * off). */
static void test_spring_boot_fallback(void **state)
{
	struct ebt_routes r = {0};

	(void)state;
	assert_true(ebt_routes_load(SEEDS "openapi.jar", &r));
	assert_int_equal(r.web, EBT_WEB_MVC);
	assert_string_equal(r.servlet_path, "/app");
	/* Actuator: the endpoints exposed (health, metrics) and the links */
	assert_string_equal(match(&r, "GET", "/actuator"), "/actuator");
	assert_string_equal(match(&r, "GET", "/actuator/health/liveness"),
			    "/actuator/health/**");
	assert_string_equal(match(&r, "GET", "/actuator/metrics/jvm.gc"),
			    "/actuator/metrics/{requiredMetricName}");
	assert_null(match(&r, "GET", "/actuator/env"));
	assert_int_equal(ebt_spring_lib_bits("spring-boot-actuator-3.5.0.jar",
					     30), EBT_LIB_ACTUATOR);
	assert_int_equal(ebt_spring_lib_bits(
		"spring-boot-actuator-autoconfigure-3.5.0.jar", 44), 0);
	assert_string_equal(ebt_routes_fallback(&r, r.web, "GET", "/favicon.ico",
						12, 404), "/**");
	assert_string_equal(ebt_routes_fallback(&r, r.web, "GET", "/css/a.css", 10,
						200), "/**");
	assert_string_equal(ebt_routes_fallback(&r, r.web, "GET", "/wj/x.js", 8, 200),
			    "/wj/**");
	assert_string_equal(ebt_routes_fallback(&r, r.web, "DELETE", "/api/v3/pet/1",
						13, 405), "/error");
	assert_null(ebt_routes_fallback(&r, r.web, "DELETE", "/api/v3/pet/1", 13,
					200));
	/* OPTIONS is answered for any mapping of the path */
	assert_string_equal(match(&r, "OPTIONS", "/api/v3/pet/1"),
			    "/api/v3/pet/{petId}");
	ebt_routes_free(&r);
	assert_true(ebt_routes_load(SEEDS "jersey-boot.jar", &r));
	assert_int_equal(r.web, EBT_WEB_NONE); /* no spring-webmvc */
	ebt_routes_free(&r);
	/* static resources off: an error goes to /error, a 2xx was someone
	 * else's (a servlet of its own) */
	r.web = EBT_WEB_MVC;
	snprintf(r.error_path, sizeof(r.error_path), "/oops");
	assert_string_equal(ebt_routes_fallback(&r, r.web, "GET", "/x", 2, 404),
			    "/oops");
	assert_null(ebt_routes_fallback(&r, r.web, "GET", "/x", 2, 200));
	/* WebFlux: a 405 has no route; the rest is the same */
	snprintf(r.static_pattern, sizeof(r.static_pattern), "/**");
	snprintf(r.webjars_pattern, sizeof(r.webjars_pattern), "/webjars/**");
	add(&r, EBT_RM_GET, "/items/{itemId}");
	assert_string_equal(ebt_routes_fallback(&r, EBT_WEB_FLUX, "DELETE",
						"/items/1", 8, 405), "");
	assert_string_equal(ebt_routes_fallback(&r, EBT_WEB_FLUX, "GET",
						"/x", 2, 404), "/**");
	assert_string_equal(ebt_routes_fallback(&r, EBT_WEB_MVC, "DELETE",
						"/items/1", 8, 405), "/oops");
	assert_null(ebt_routes_fallback(&r, EBT_WEB_NONE, "GET", "/x", 2,
					404));
	ebt_routes_free(&r);
	assert_int_equal(ebt_boot_web(EBT_LIB_BOOT | EBT_LIB_WEBFLUX),
			 EBT_WEB_FLUX);
	assert_int_equal(ebt_boot_web(EBT_LIB_BOOT | EBT_LIB_WEBFLUX |
				      EBT_LIB_WEBMVC), EBT_WEB_MVC);
	assert_int_equal(ebt_boot_web(EBT_LIB_WEBMVC), EBT_WEB_NONE);
	assert_int_equal(ebt_spring_lib_bits("spring-webflux-6.2.12.jar", 25),
			 EBT_LIB_WEBFLUX);
	assert_false(ebt_spring_lib_bits("spring-boot-starter-web-3.5.0.jar",
					 33));
	assert_int_equal(ebt_spring_lib_bits("spring-boot-3.5.0.jar", 21), 1);
	assert_int_equal(ebt_spring_lib_bits("spring-webmvc-6.2.12.jar", 24),
			 2);
}

/* jaxrs.jar and micronaut.jar (tests/peers/route_jars): JAX-RS resources
 * under their @ApplicationPath, a sub-resource (no route of its own), an
 * interface's @Path; Micronaut controllers. */
static void test_jaxrs_and_micronaut(void **state)
{
	static const char *const jaxrs[] = {
		"/api/customers/{customerId}", "/api/orders",
		"/api/orders/{orderId}",
		"/api/orders/{orderId}/items/{itemId: [0-9]+}",
	};
	struct ebt_routes r = {0};
	unsigned m = 0;

	(void)state;
	assert_true(ebt_routes_load(SEEDS "jaxrs.jar", &r));
	for (size_t i = 0; i < sizeof(jaxrs) / sizeof(jaxrs[0]); i++)
		assert_non_null(pattern(&r, jaxrs[i], &m));
	assert_int_equal(r.n, 5); /* GET and POST /api/orders */
	assert_string_equal(match(&r, "GET", "/api/orders/A7"),
			    "/api/orders/{orderId}");
	assert_string_equal(match(&r, "POST", "/api/orders"), "/api/orders");
	assert_string_equal(match(&r, "DELETE", "/api/orders/A7/items/3"),
			    "/api/orders/{orderId}/items/{itemId: [0-9]+}");
	assert_null(match(&r, "GET", "/api/orders/A7/notes/1"));
	assert_null(match(&r, "GET", "/orders/A7"));
	ebt_routes_free(&r);
	assert_true(ebt_routes_load(SEEDS "jersey-boot.jar", &r));
	assert_int_equal(r.n, 5);
	assert_string_equal(match(&r, "GET", "/rest/orders/A7"),
			    "/rest/orders/{orderId}");
	ebt_routes_free(&r);
	assert_true(ebt_routes_load(SEEDS "micronaut.jar", &r));
	assert_int_equal(r.n, 3);
	assert_string_equal(match(&r, "GET", "/books"), "/books");
	assert_string_equal(match(&r, "GET", "/books/978-3"), "/books/{isbn}");
	assert_string_equal(match(&r, "POST", "/books/978-3/reviews"),
			    "/books/{isbn}/reviews");
	assert_null(match(&r, "POST", "/books/978-3"));
	ebt_routes_free(&r);
}

/* A jar unpacked as a buildpack image runs it: BOOT-INF/classes/... */
static void test_unpacked_jar_directory(void **state)
{
	char root[] = "/tmp/ebt_routes_XXXXXX", cmd[512];
	struct ebt_route_cache *rc = ebt_route_cache_new();
	const struct ebt_routes *r;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(cmd, sizeof(cmd),
		 "d=%s/BOOT-INF/classes/org/example/web && mkdir -p $d && "
		 "cp " SEEDS "owner_controller.class $d/A.class && "
		 "cp " SEEDS "vet_controller.class %s/BOOT-INF/classes/B.class && "
		 "echo server.servlet.context-path: shop "
		 ">%s/BOOT-INF/classes/application.properties",
		 root, root, root);
	assert_int_equal(system(cmd), 0);
	r = ebt_route_cache_get(rc, root, false);
	assert_non_null(r);
	assert_string_equal(match(r, "GET", "/owners/3"), "/owners/{ownerId}");
	assert_string_equal(match(r, "GET", "/owners/2/vets"),
			    "/owners/{ownerId}/vets");
	assert_string_equal(context_of(r), "/shop");
	/* the classes directory itself, as a class path names it (Jib) */
	snprintf(cmd, sizeof(cmd), "%s/BOOT-INF/classes", root);
	r = ebt_route_cache_get(rc, cmd, true);
	assert_non_null(r);
	assert_string_equal(match(r, "GET", "/owners/3"), "/owners/{ownerId}");
	assert_null(ebt_route_cache_get(rc, SEEDS "none", true));
	snprintf(cmd, sizeof(cmd), "rm -r %s", root);
	assert_int_equal(system(cmd), 0);
	ebt_route_cache_free(rc);
}

static void add(struct ebt_routes *r, unsigned methods, const char *p)
{
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	assert_non_null(r->v);
	r->v[r->n].methods = methods;
	r->v[r->n++].pattern = strdup(p);
}

static void specific(const struct ebt_routes *r);

/* Spring's choice among patterns that all match: fewer variables and
 * wildcards, a catch-all last, then the longer pattern; the same with
 * the index as without. */
static void test_most_specific_pattern_wins(void **state)
{
	struct ebt_routes r = {0};

	(void)state;
	add(&r, 0, "/**");
	add(&r, 0, "/files/{*rest}");
	add(&r, EBT_RM_GET, "/owners/{ownerId}");
	add(&r, EBT_RM_GET, "/owners/new");
	add(&r, 0, "/owners/{id:\\d+}.json");
	add(&r, 0, "/docs/*.html");
	add(&r, 0, "/a?c");
	add(&r, 0, "/owners/{id:\\d+}.json"); /* equal to the 5th: not taken */
	add(&r, EBT_RM_POST, "/owners/{ownerId}/pets");
	add(&r, EBT_RM_POST, "/owners/new/pets");
	for (int indexed = 0; indexed < 2; indexed++) {
		if (indexed)
			assert_true(ebt_routes_index(&r));
		specific(&r);
	}
	assert_null(ebt_routes_match(NULL, "GET", "/", 1));
	ebt_routes_free(&r);
}

static void specific(const struct ebt_routes *rr)
{
	const struct ebt_routes r = *rr;

	assert_string_equal(match(&r, "POST", "/owners/new/pets"),
			    "/owners/new/pets");
	assert_string_equal(match(&r, "POST", "/owners/5/pets"),
			    "/owners/{ownerId}/pets");
	assert_string_equal(match(&r, "GET", "/owners/new"), "/owners/new");
	assert_string_equal(match(&r, "GET", "/owners/5"), "/owners/{ownerId}");
	assert_string_equal(match(&r, "POST", "/owners/5"), "/**");
	assert_string_equal(match(&r, "GET", "/owners/5.json"),
			    "/owners/{id:\\d+}.json");
	assert_string_equal(match(&r, "GET", "/docs/intro.html"),
			    "/docs/*.html");
	assert_string_equal(match(&r, "GET", "/docs/.html"), "/**");
	assert_string_equal(match(&r, "GET", "/files/a/b/c"), "/files/{*rest}");
	assert_string_equal(match(&r, "GET", "/abc"), "/a?c");
	assert_string_equal(match(&r, "GET", "/"), "/**");
}

static void test_cache_reads_a_jar_once(void **state)
{
	struct ebt_route_cache *rc = ebt_route_cache_new();
	const struct ebt_routes *a, *b;

	(void)state;
	assert_non_null(rc);
	a = ebt_route_cache_get(rc, SEEDS "app.jar", false);
	b = ebt_route_cache_get(rc, "./" SEEDS "app.jar", false);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_null(ebt_route_cache_get(rc, SEEDS "owner_controller.class", false));
	assert_null(ebt_route_cache_get(rc, SEEDS "nothing.jar", false));
	ebt_route_cache_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_and_method_mappings_join),
		cmocka_unit_test(test_cut_or_foreign_bytes_are_no_class),
		cmocka_unit_test(test_feign_client_mappings_are_no_routes),
		cmocka_unit_test(test_petclinic_jar),
		cmocka_unit_test(test_inherited_mappings),
		cmocka_unit_test(test_jaxrs_and_micronaut),
		cmocka_unit_test(test_spring_boot_fallback),
		cmocka_unit_test(test_unpacked_jar_directory),
		cmocka_unit_test(test_most_specific_pattern_wins),
		cmocka_unit_test(test_cache_reads_a_jar_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
