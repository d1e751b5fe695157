/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Spring MVC mapping reader (user/jar_routes.c).
 *
 * Input: any bytes, read as a class file and as a zip (jar). Checks: every
 * route read is a printable pattern that starts with '/' and fits
 * EBT_ROUTE_LEN_MAX; matching paths made from the input against them
 * returns one of them or NULL, and a pattern matches its own text when it
 * has no variable or wildcard; the index (ebt_routes_index) answers as
 * comparing with every pattern does; a request no mapping takes falls
 * back to one of the jar's Spring Boot patterns or none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "jar_routes.h"

static void check_routes(const struct ebt_routes *r, const uint8_t *data,
			 size_t size)
{
	const char *path = (const char *)data;
	size_t plen = strnlen(path, size < 512 ? size : 512);

	for (size_t i = 0; i < r->n; i++) {
		const char *p = r->v[i].pattern;
		size_t n = strlen(p);

		CHECK(p[0] == '/' && n < EBT_ROUTE_LEN_MAX);
		for (size_t k = 0; k < n; k++)
			CHECK((unsigned char)p[k] >= 0x20 && p[k] != 0x7f);
		if (!strpbrk(p, "{*?"))
			CHECK(ebt_routes_match(r, "GET", p, n) ||
			      (r->v[i].methods &&
			       !(r->v[i].methods & EBT_RM_GET)));
	}
	for (const char *const *m = (const char *const[]){"GET", "POST",
							  "HEAD", "_OTHER",
							  NULL};
	     *m; m++) {
		const char *got = ebt_routes_match(r, *m, path, plen);
		bool known = !got;

		for (size_t i = 0; got && i < r->n; i++)
			known |= got == r->v[i].pattern;
		CHECK(known);
	}
}

/* The index gives what comparing with every pattern gives. */
static void check_index(struct ebt_routes *r, const uint8_t *data,
			size_t size)
{
	struct ebt_routes linear = *r;
	const char *path = (const char *)data;
	size_t plen = strnlen(path, size < 512 ? size : 512);

	linear.root = NULL;
	if (!ebt_routes_index(r))
		return;
	CHECK(ebt_routes_match(r, "GET", path, plen) ==
	      ebt_routes_match(&linear, "GET", path, plen));
	for (size_t i = 0; i < r->n; i++) {
		const char *p = r->v[i].pattern;

		CHECK(ebt_routes_match(r, "POST", p, strlen(p)) ==
		      ebt_routes_match(&linear, "POST", p, strlen(p)));
	}
}

/* A request no mapping takes is one of the Spring Boot fallbacks, or
 * none; one a mapping takes for some method, the error path or none. */
static void check_fallback(const struct ebt_routes *r, const uint8_t *data,
			   size_t size)
{
	const char *path = (const char *)data;
	size_t plen = strnlen(path, size < 512 ? size : 512);
	for (unsigned web = EBT_WEB_NONE; web <= EBT_WEB_FLUX; web++) {
		const char *f = ebt_routes_fallback(r, web, "PATCH", path,
						    plen, 404);

		CHECK(!f || f == r->static_pattern ||
		      f == r->webjars_pattern || f == r->error_path ||
		      (web == EBT_WEB_FLUX && !f[0]));
		CHECK(!ebt_routes_fallback(r, web, "GET", path, plen, 200) ||
		      r->static_pattern[0]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ebt_routes r = {0};

	ebt_routes_from_class(data, size, &r);
	ebt_routes_from_zip(data, size, &r);
	check_routes(&r, data, size);
	check_fallback(&r, data, size);
	check_index(&r, data, size);
	ebt_routes_free(&r);
	return 0;
}
