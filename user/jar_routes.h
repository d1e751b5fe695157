/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The routes a Spring MVC (or WebFlux), Micronaut or JAX-RS application
 * declares, read from its jar.
 *
 * The OpenTelemetry Java agent names a server span by the mapping Spring
 * matched (`GET /owners/{ownerId}`); from the path alone ebpftrace can
 * only template it (`GET /owners/{id}`). The mappings are in the app's
 * class files as annotations (@RequestMapping on the class, @GetMapping
 * and the like on its methods; Micronaut's @Controller and @Get; JAX-RS's
 * @Path and @GET), so they are read from the jar the JVM was started
 * with (`java -jar app.jar`: its classes under BOOT-INF/classes/,
 * WEB-INF/classes/ or the root; or the directory a Spring Boot launcher
 * runs in), once per jar, with the mappings a class inherits from the
 * jar's other classes, and a request's path is matched against them as
 * Spring would.
 *
 * Read only from the file on disk: nothing is asked of the process.
 */
#ifndef EBT_JAR_ROUTES_H
#define EBT_JAR_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spring_config.h"

/* Request methods a mapping accepts (bits); 0 in a mapping: any. */
enum {
	EBT_RM_GET = 1 << 0,
	EBT_RM_POST = 1 << 1,
	EBT_RM_PUT = 1 << 2,
	EBT_RM_DELETE = 1 << 3,
	EBT_RM_PATCH = 1 << 4,
	EBT_RM_HEAD = 1 << 5,
	EBT_RM_OPTIONS = 1 << 6,
	EBT_RM_TRACE = 1 << 7,
};

#define EBT_ROUTES_MAX 4096
#define EBT_ROUTE_LEN_MAX 256

struct ebt_route {
	unsigned methods; /* EBT_RM_* bits; 0: any */
	char *pattern;	  /* "/owners/{ownerId}/pets/new" */
};

struct ebt_rnode;

struct ebt_routes {
	struct ebt_route *v;
	size_t n, cap;
	struct ebt_rnode *root; /* ebt_routes_index: a tree of segments */
	/* the context paths its config files set (application.properties,
	 * application.yml, ... with the classes) */
	struct ebt_spring_cfg cfg;
	/* the Spring Boot web stack its libraries say (a jar's or an
	 * unpacked jar's, not a class directory's): enum ebt_boot_web */
	unsigned web;
	/* where Spring Boot sends a request no mapping takes, from its
	 * config files (no profile) or Spring Boot's defaults:
	 * spring.mvc.static-path-pattern (all paths; "" if
	 * spring.web.resources.add-mappings is false),
	 * spring.mvc.webjars-path-pattern (those under /webjars/),
	 * server.error.path ("/error") */
	char static_pattern[EBT_ROUTE_LEN_MAX];
	char webjars_pattern[EBT_ROUTE_LEN_MAX];
	char error_path[EBT_ROUTE_LEN_MAX];
	/* spring.mvc.servlet.path ("/app"; "" if none): the DispatcherServlet
	 * maps only paths under it, and the agent's routes leave it out */
	char servlet_path[EBT_ROUTE_LEN_MAX];
};

/* Adds the mappings of one class file p[0..n) to r. False: not a class
 * file (or a cut one); what it held before is kept. */
bool ebt_routes_from_class(const uint8_t *p, size_t n, struct ebt_routes *r);

/* Adds the mappings of every application class in the zip (jar or war)
 * p[0..n). False: not a zip. */
bool ebt_routes_from_zip(const uint8_t *p, size_t n, struct ebt_routes *r);

/* The same for the jar file at path (read whole, up to 512 MiB). */
bool ebt_routes_load(const char *path, struct ebt_routes *r);

/* The same for a jar unpacked at root (a buildpack image runs Spring
 * Boot's JarLauncher there): the class files under its BOOT-INF/classes
 * or WEB-INF/classes; with class_dir, under root itself (a class path
 * directory: Jib's /app/classes). */
bool ebt_routes_load_dir(const char *root, bool class_dir,
			 struct ebt_routes *r);

/* Indexes r for ebt_routes_match: a tree of the patterns' segments, so a
 * path is compared with the patterns it can match, not with all (about
 * 33 ns a route without it). Routes added after it are not indexed: call
 * it again. False: out of memory (matching then compares with all). */
bool ebt_routes_index(struct ebt_routes *r);

/* The pattern that maps method (an upper-case token) and path[0..len) (no
 * query), the most specific one as Spring picks it (the first added among
 * equals); NULL if none does. */
const char *ebt_routes_match(const struct ebt_routes *r, const char *method,
			     const char *path, size_t len);

/* The route a Spring Boot app on the web stack web gives a request that
 * no mapping of r takes (method an upper-case token, path[0..len) under
 * the context path, status its response's), as the OpenTelemetry Java
 * agent names it: a method that no mapping of the path accepts is an
 * error (405): MVC sends it on to the error path, WebFlux has no route
 * for it (""); else the webjars or static resource pattern that matches
 * the path; else (static resources off) MVC's error path, if the status
 * is one (>= 400). NULL if none: something else answered. */
const char *ebt_routes_fallback(const struct ebt_routes *r, unsigned web,
				const char *method, const char *path,
				size_t len, int status);

/* Which Spring library is the jar file name (no directory)? */
enum {
	EBT_LIB_BOOT = 1,     /* spring-boot-3.5.0.jar */
	EBT_LIB_WEBMVC = 2,   /* spring-webmvc-6.2.12.jar */
	EBT_LIB_ACTUATOR = 4, /* spring-boot-actuator-3.5.0.jar */
	EBT_LIB_WEBFLUX = 8,  /* spring-webflux-6.2.12.jar */
};
unsigned ebt_spring_lib_bits(const char *name, size_t n);

/* The web stack of a Spring Boot app with these libraries: MVC where
 * spring-webmvc is (Spring Boot prefers it), else WebFlux. */
enum ebt_boot_web { EBT_WEB_NONE, EBT_WEB_MVC, EBT_WEB_FLUX };
unsigned ebt_boot_web(unsigned lib_bits);

void ebt_routes_free(struct ebt_routes *r);

/* The routes of each jar file read so far (by device and inode: the
 * replicas of one image share them), at most EBT_ROUTE_JARS_MAX jars. */
#define EBT_ROUTE_JARS_MAX 64
struct ebt_route_cache;

struct ebt_route_cache *ebt_route_cache_new(void);

/* The routes of the jar at path, or of the unpacked jar (class_dir: the
 * class path directory) if path is a directory (read on first use; a
 * directory is read the first way it is asked for); NULL if it cannot be
 * read or declares none. Valid until the cache is freed. */
const struct ebt_routes *ebt_route_cache_get(struct ebt_route_cache *rc,
					     const char *path, bool class_dir);

void ebt_route_cache_free(struct ebt_route_cache *rc);

#endif
