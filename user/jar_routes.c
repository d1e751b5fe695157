/* SPDX-License-Identifier: Apache-2.0 */
/* Spring MVC mappings read from a jar's class files (see jar_routes.h). */
#include "jar_routes.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define ANNOT_DEPTH_MAX 8
#define PATHS_MAX 8
#define METHOD_MAPS_MAX 512
#define CLASS_SIZE_MAX (4u << 20)
/* A jar is read in the capture thread: a shaded jar holding every
 * library's classes stops at these (a few tens of milliseconds). */
#define ZIP_CLASSES_MAX 4000
#define ZIP_INFLATED_MAX (16u << 20)
#define JAR_SIZE_MAX ((size_t)512 << 20)

/* ---- a cursor over a class file; any read past its end sets bad ------- */

struct cls {
	const uint8_t *p;
	size_t n, i;
	bool bad;
	uint32_t *cp; /* offset of each constant's tag byte; 0: none */
	unsigned cp_count;
};

static const uint8_t *take(struct cls *c, size_t k)
{
	const uint8_t *q = c->p + c->i;

	if (c->bad || k > c->n - c->i) {
		c->bad = true;
		return NULL;
	}
	c->i += k;
	return q;
}

static unsigned u1(struct cls *c)
{
	const uint8_t *q = take(c, 1);

	return q ? q[0] : 0;
}

static unsigned u2(struct cls *c)
{
	const uint8_t *q = take(c, 2);

	return q ? (unsigned)q[0] << 8 | q[1] : 0;
}

static uint32_t u4(struct cls *c)
{
	const uint8_t *q = take(c, 4);

	return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
			   (uint32_t)q[2] << 8 | q[3]
		 : 0;
}

/* The text of constant idx if it is a Utf8 one. */
static bool utf8(const struct cls *c, unsigned idx, const char **s,
		 size_t *len)
{
	uint32_t off;

	if (idx == 0 || idx >= c->cp_count || !(off = c->cp[idx]) ||
	    c->p[off] != 1)
		return false;
	*len = (size_t)c->p[off + 1] << 8 | c->p[off + 2];
	*s = (const char *)c->p + off + 3;
	return true;
}

static bool utf8_is(const struct cls *c, unsigned idx, const char *want)
{
	const char *s;
	size_t n;

	return utf8(c, idx, &s, &n) && n == strlen(want) &&
	       memcmp(s, want, n) == 0;
}

/* Bytes after the tag of each constant kind; 0: unknown (bad file). */
static size_t cp_size(unsigned tag, struct cls *c)
{
	static const uint8_t fixed[21] = {
		[3] = 4, [4] = 4, [5] = 8, [6] = 8, [7] = 2, [8] = 2,
		[9] = 4, [10] = 4, [11] = 4, [12] = 4, [15] = 3, [16] = 2,
		[17] = 4, [18] = 4, [19] = 2, [20] = 2,
	};

	if (tag == 1) {
		size_t len = c->i + 2 <= c->n
				     ? (size_t)c->p[c->i] << 8 | c->p[c->i + 1]
				     : c->n;
		return 2 + len;
	}
	return tag < 21 ? fixed[tag] : 0;
}

static bool read_pool(struct cls *c)
{
	c->cp_count = u2(c);
	c->cp = calloc(c->cp_count ? c->cp_count : 1, sizeof(*c->cp));
	if (!c->cp)
		return false;
	for (unsigned i = 1; i < c->cp_count && !c->bad; i++) {
		size_t at = c->i;
		unsigned tag = u1(c);
		size_t k = cp_size(tag, c);

		if (k == 0 || !take(c, k))
			return false;
		c->cp[i] = (uint32_t)at;
		if (tag == 5 || tag == 6)
			i++; /* a long or double takes two slots */
	}
	return !c->bad;
}

/* ---- annotations ------------------------------------------------------ */

/* What one mapping annotation says. */
struct mapping {
	bool found;
	bool client; /* on a class: a Feign client's interface, not routes */
	bool jaxrs;  /* JAX-RS: @Path and @GET... (found: see jaxrs_found) */
	bool designated; /* a JAX-RS method with an HTTP method annotation */
	bool app_path;	 /* JAX-RS @ApplicationPath: a prefix of all routes */
	unsigned methods;
	unsigned n;
	const char *path[PATHS_MAX];
	size_t len[PATHS_MAX];
};

enum want { WANT_NONE, WANT_PATHS, WANT_METHODS };

static const struct {
	const char *name;
	unsigned method;
} method_names[] = {
	{"GET", EBT_RM_GET},	   {"POST", EBT_RM_POST},
	{"PUT", EBT_RM_PUT},	   {"DELETE", EBT_RM_DELETE},
	{"PATCH", EBT_RM_PATCH}, {"HEAD", EBT_RM_HEAD},
	{"OPTIONS", EBT_RM_OPTIONS}, {"TRACE", EBT_RM_TRACE},
};

static unsigned method_bit(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]);
	     i++)
		if (strlen(method_names[i].name) == n &&
		    memcmp(method_names[i].name, s, n) == 0)
			return method_names[i].method;
	return 0;
}

static void want_value(const struct cls *c, struct mapping *m,
		       enum want w, unsigned tag, unsigned a, unsigned b)
{
	const char *s;
	size_t n;

	if (w == WANT_PATHS && tag == 's' && m->n < PATHS_MAX &&
	    utf8(c, a, &s, &n)) {
		m->path[m->n] = s;
		m->len[m->n++] = n;
	} else if (w == WANT_METHODS && tag == 'e' && utf8(c, b, &s, &n)) {
		m->methods |= method_bit(s, n);
	}
}

static void annotation(struct cls *c, unsigned depth, struct mapping *m);

static void element_value(struct cls *c, unsigned depth, struct mapping *m,
			  enum want w)
{
	unsigned tag = u1(c), a, b = 0;

	if (depth > ANNOT_DEPTH_MAX) {
		c->bad = true;
		return;
	}
	if (tag == '@') {
		annotation(c, depth + 1, NULL);
	} else if (tag == '[') {
		for (unsigned k = u2(c); k > 0 && !c->bad; k--)
			element_value(c, depth + 1, m, w);
	} else if (strchr("BCDFIJSZsce", (int)tag) && tag) {
		a = u2(c);
		if (tag == 'e')
			b = u2(c);
		if (m)
			want_value(c, m, w, tag, a, b);
	} else {
		c->bad = true;
	}
}

/* How an annotation maps requests. */
enum map_kind {
	MAP_SPRING,	 /* @RequestMapping and the like: path and method */
	MAP_MICRONAUT,	 /* @Controller, @Get...: a path ("uri") */
	MAP_JAXRS_PATH,	 /* @Path: a path, joined with the others */
	MAP_JAXRS_HTTP,	 /* @GET...: the method of a @Path */
	MAP_JAXRS_APP,	 /* @ApplicationPath: the prefix of every @Path */
};

#define SPRING_ANN "Lorg/springframework/web/bind/annotation/"
#define MICRONAUT_ANN "Lio/micronaut/http/annotation/"
#define JAXRS_ANN(ns, name) "L" ns "/ws/rs/" name ";"
#define JAXRS_HTTP(name, bit)                                       \
	{JAXRS_ANN("jakarta", name), bit, MAP_JAXRS_HTTP},          \
	{                                                           \
		JAXRS_ANN("javax", name), bit, MAP_JAXRS_HTTP       \
	}

/* The mapping annotations of Spring MVC (and WebFlux), Micronaut and
 * JAX-RS (Jersey, RESTEasy, Quarkus), and the method each implies. */
static const struct {
	const char *desc;
	unsigned method;
	enum map_kind kind;
} mapping_types[] = {
	{SPRING_ANN "RequestMapping;", 0, MAP_SPRING},
	{SPRING_ANN "GetMapping;", EBT_RM_GET, MAP_SPRING},
	{SPRING_ANN "PostMapping;", EBT_RM_POST, MAP_SPRING},
	{SPRING_ANN "PutMapping;", EBT_RM_PUT, MAP_SPRING},
	{SPRING_ANN "DeleteMapping;", EBT_RM_DELETE, MAP_SPRING},
	{SPRING_ANN "PatchMapping;", EBT_RM_PATCH, MAP_SPRING},
	{MICRONAUT_ANN "Controller;", 0, MAP_MICRONAUT},
	{MICRONAUT_ANN "Get;", EBT_RM_GET, MAP_MICRONAUT},
	{MICRONAUT_ANN "Post;", EBT_RM_POST, MAP_MICRONAUT},
	{MICRONAUT_ANN "Put;", EBT_RM_PUT, MAP_MICRONAUT},
	{MICRONAUT_ANN "Delete;", EBT_RM_DELETE, MAP_MICRONAUT},
	{MICRONAUT_ANN "Patch;", EBT_RM_PATCH, MAP_MICRONAUT},
	{MICRONAUT_ANN "Head;", EBT_RM_HEAD, MAP_MICRONAUT},
	{MICRONAUT_ANN "Options;", EBT_RM_OPTIONS, MAP_MICRONAUT},
	{JAXRS_ANN("jakarta", "Path"), 0, MAP_JAXRS_PATH},
	{JAXRS_ANN("javax", "Path"), 0, MAP_JAXRS_PATH},
	{JAXRS_ANN("jakarta", "ApplicationPath"), 0, MAP_JAXRS_APP},
	{JAXRS_ANN("javax", "ApplicationPath"), 0, MAP_JAXRS_APP},
	JAXRS_HTTP("GET", EBT_RM_GET),
	JAXRS_HTTP("POST", EBT_RM_POST),
	JAXRS_HTTP("PUT", EBT_RM_PUT),
	JAXRS_HTTP("DELETE", EBT_RM_DELETE),
	JAXRS_HTTP("PATCH", EBT_RM_PATCH),
	JAXRS_HTTP("HEAD", EBT_RM_HEAD),
	JAXRS_HTTP("OPTIONS", EBT_RM_OPTIONS),
};

static int mapping_type(const struct cls *c, unsigned idx)
{
	for (size_t i = 0; i < sizeof(mapping_types) / sizeof(mapping_types[0]);
	     i++)
		if (utf8_is(c, idx, mapping_types[i].desc))
			return (int)i;
	return -1;
}

static enum want element_want(const struct cls *c, unsigned name, int type)
{
	if (type < 0 || mapping_types[type].kind == MAP_JAXRS_HTTP)
		return WANT_NONE;
	if (utf8_is(c, name, "value") || utf8_is(c, name, "path"))
		return WANT_PATHS;
	if (mapping_types[type].kind == MAP_MICRONAUT &&
	    (utf8_is(c, name, "uri") || utf8_is(c, name, "uris")))
		return WANT_PATHS;
	return type == 0 && utf8_is(c, name, "method") ? WANT_METHODS
							: WANT_NONE;
}

/* Spring Cloud OpenFeign: an interface whose mappings are the requests
 * the app makes, not the ones it serves. */
#define FEIGN_CLIENT "Lorg/springframework/cloud/openfeign/FeignClient;"

/* A JAX-RS annotation: @Path's paths, @GET's method, on one element. */
static void jaxrs_part(struct mapping *m, const struct mapping *got, int type)
{
	enum map_kind kind = mapping_types[type].kind;

	m->jaxrs = true;
	m->app_path |= kind == MAP_JAXRS_APP;
	if (kind == MAP_JAXRS_HTTP) {
		m->designated = true;
		m->methods |= mapping_types[type].method;
	} else if (!m->n) {
		m->n = got->n;
		memcpy(m->path, got->path, sizeof(m->path));
		memcpy(m->len, got->len, sizeof(m->len));
	}
}

/* A mapping annotation read: the first Spring or Micronaut one on an
 * element is its mapping; JAX-RS ones add up. */
static void mapping_read(struct mapping *m, const struct mapping *got,
			 int type)
{
	if (mapping_types[type].kind >= MAP_JAXRS_PATH) {
		if (!m->found)
			jaxrs_part(m, got, type);
		return;
	}
	if (m->found || m->jaxrs)
		return;
	*m = *got;
	m->client = m->client || got->client;
	m->found = true;
	m->methods |= mapping_types[type].method;
}

/* One annotation; a mapping one fills *m. */
static void annotation(struct cls *c, unsigned depth, struct mapping *m)
{
	unsigned desc = u2(c);
	int type = m ? mapping_type(c, desc) : -1;
	struct mapping got = {0};

	if (m && utf8_is(c, desc, FEIGN_CLIENT))
		m->client = true;
	for (unsigned k = u2(c); k > 0 && !c->bad; k--) {
		unsigned name = u2(c);

		element_value(c, depth, &got, element_want(c, name, type));
	}
	if (type >= 0 && !c->bad) {
		got.client = m->client;
		mapping_read(m, &got, type);
	}
}

/* A JAX-RS element maps: a method with an HTTP method annotation, a class
 * with @Path (a root resource) or @ApplicationPath. */
static void jaxrs_found(struct mapping *m, bool is_class)
{
	if (m->jaxrs && !m->found)
		m->found = is_class ? m->n > 0 : m->designated;
}

/* The attributes of a field, method or the class: a mapping among its
 * visible annotations into *m (NULL: none wanted). */
static void attributes(struct cls *c, struct mapping *m)
{
	for (unsigned k = u2(c); k > 0 && !c->bad; k--) {
		unsigned name = u2(c);
		uint32_t len = u4(c);
		size_t end = c->i + len;

		if (c->bad || len > c->n - c->i) {
			c->bad = true;
			return;
		}
		if (m && utf8_is(c, name, "RuntimeVisibleAnnotations"))
			for (unsigned a = u2(c); a > 0 && !c->bad; a--)
				annotation(c, 0, m);
		if (c->i > end)
			c->bad = true;
		c->i = end;
	}
}

/* ---- a class file, kept until the jar is read ------------------------- */

/* A mapping copied out of its class file. */
struct kept_map {
	bool jaxrs;    /* needs a class @Path, under the application path */
	bool app_path; /* @ApplicationPath (of a class) */
	unsigned methods, n;
	char *path[PATHS_MAX];
	char *member; /* its method's name and descriptor; NULL: the class's */
};

/* What a class says about routes: its own mappings and its supertypes,
 * whose mappings it inherits (an interface generated from an OpenAPI
 * document declares them, the controller implementing it serves them). */
struct kept_class {
	char *name, *super; /* "com/example/PetApiController" */
	char **ifaces;
	unsigned n_ifaces, n_mm;
	bool abstract; /* an interface or an abstract class: not a handler */
	bool client;   /* @FeignClient: its mappings are calls, not routes */
	bool has_cm, extended;
	struct kept_map cm, *mm;
};

#define ACC_INTERFACE 0x0200
#define ACC_ABSTRACT 0x0400
#define IFACES_MAX 64
#define HIER_MAX 16
#define LOOKUPS_MAX 8

/* A placeholder's value looked up in the app's config files. */
struct looked {
	char *key, *value; /* value NULL: none */
};

struct jar_read {
	struct kept_class *v;
	size_t n, cap;
	/* the config files a ${key} in a mapping is looked up in */
	const struct zsrc *z;
	const uint8_t *cd;
	size_t cd_n;
	uint32_t cd_count;
	int dirfd; /* an unpacked jar's classes; -1: none */
	struct looked memo[LOOKUPS_MAX];
	unsigned n_memo;
	char app_path[EBT_ROUTE_LEN_MAX]; /* JAX-RS: of every @Path */
	unsigned lib_bits; /* ebt_spring_lib_bits of the libraries seen */
};

static char *dup_utf8(const struct cls *c, unsigned idx)
{
	const char *s;
	size_t n;

	return utf8(c, idx, &s, &n) && !memchr(s, '\0', n) ? strndup(s, n)
							    : NULL;
}

/* The name of Class constant idx, copied; NULL if it is none. */
static char *dup_class_name(const struct cls *c, unsigned idx)
{
	uint32_t off;

	if (idx == 0 || idx >= c->cp_count || !(off = c->cp[idx]) ||
	    c->p[off] != 7)
		return NULL;
	return dup_utf8(c, (unsigned)c->p[off + 1] << 8 | c->p[off + 2]);
}

static void free_map(struct kept_map *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->path[i]);
	free(m->member);
}

static void free_kept(struct kept_class *k)
{
	free(k->name);
	free(k->super);
	for (unsigned i = 0; i < k->n_ifaces; i++)
		free(k->ifaces[i]);
	free(k->ifaces);
	free_map(&k->cm);
	for (unsigned i = 0; i < k->n_mm; i++)
		free_map(&k->mm[i]);
	free(k->mm);
}

static bool keep_map(struct kept_map *out, const struct mapping *m,
		     char *member)
{
	out->methods = m->methods;
	out->jaxrs = m->jaxrs;
	out->app_path = m->app_path;
	out->member = member;
	out->n = 0;
	for (unsigned i = 0; i < m->n; i++) {
		char *p = strndup(m->path[i], m->len[i]);

		if (!p)
			return false; /* out of memory: the paths copied stay */
		out->path[out->n++] = p;
	}
	return true;
}

/* The header: access, this, super and interfaces into k. */
static bool class_header(struct cls *c, struct kept_class *k)
{
	unsigned access, n;

	if (u4(c) != 0xCAFEBABEu)
		return false;
	take(c, 4); /* minor, major */
	if (!read_pool(c))
		return false;
	access = u2(c);
	k->abstract = access & (ACC_INTERFACE | ACC_ABSTRACT);
	k->name = dup_class_name(c, u2(c));
	k->super = dup_class_name(c, u2(c));
	n = u2(c);
	k->ifaces = calloc(n ? n : 1, sizeof(*k->ifaces));
	if (!k->ifaces)
		return false;
	for (unsigned i = 0; i < n && !c->bad; i++) {
		char *s = dup_class_name(c, u2(c));

		if (s && k->n_ifaces < IFACES_MAX)
			k->ifaces[k->n_ifaces++] = s;
		else
			free(s);
	}
	return !c->bad && k->name;
}

/* Fields (maps NULL) or methods: the mappings of methods into maps. */
static void members(struct cls *c, struct kept_map *maps, unsigned *n)
{
	for (unsigned k = u2(c); k > 0 && !c->bad; k--) {
		struct mapping m = {0};
		unsigned name, desc;
		char member[512];
		const char *s, *d;
		size_t sn, dn;

		take(c, 2); /* access */
		name = u2(c);
		desc = u2(c);
		attributes(c, maps ? &m : NULL);
		jaxrs_found(&m, false);
		if (!maps || !m.found || *n >= METHOD_MAPS_MAX || c->bad ||
		    !utf8(c, name, &s, &sn) || !utf8(c, desc, &d, &dn))
			continue;
		snprintf(member, sizeof(member), "%.*s%.*s", (int)sn, s,
			 (int)dn, d);
		keep_map(&maps[*n], &m, strdup(member));
		(*n)++;
	}
}

/* k->mm down to the mappings found (most classes have none). */
static void shrink_maps(struct kept_class *k)
{
	struct kept_map *v;

	if (!k->n_mm) {
		free(k->mm);
		k->mm = NULL;
	} else if ((v = realloc(k->mm, k->n_mm * sizeof(*v)))) {
		k->mm = v;
	}
}

/* Worth keeping: it maps something, or inherits from a type that may. */
static bool worth_keeping(const struct kept_class *k)
{
	return k->has_cm || k->n_mm || k->n_ifaces ||
	       (k->super && strcmp(k->super, "java/lang/Object") != 0);
}

static bool push_kept(struct jar_read *jr, struct kept_class *k)
{
	struct kept_class *v;

	if (jr->n == jr->cap) {
		size_t cap = jr->cap ? jr->cap * 2 : 64;

		if (!(v = realloc(jr->v, cap * sizeof(*v))))
			return false;
		jr->v = v;
		jr->cap = cap;
	}
	jr->v[jr->n++] = *k;
	return true;
}

/* Reads one class file into jr; false if it is not one (or cut). */
static bool read_class(const uint8_t *p, size_t n, struct jar_read *jr)
{
	struct cls c = {.p = p, .n = n};
	struct kept_class k = {0};
	struct mapping cm = {0};
	bool ok = false;

	if (!class_header(&c, &k))
		goto out;
	members(&c, NULL, NULL); /* fields */
	if (!(k.mm = calloc(METHOD_MAPS_MAX, sizeof(*k.mm))))
		goto out;
	members(&c, k.mm, &k.n_mm);
	shrink_maps(&k);
	attributes(&c, &cm);
	jaxrs_found(&cm, true);
	ok = !c.bad;
	k.client = cm.client;
	k.has_cm = cm.found && keep_map(&k.cm, &cm, NULL);
	if (ok && worth_keeping(&k) && push_kept(jr, &k))
		memset(&k, 0, sizeof(k));
out:
	free_kept(&k);
	free(c.cp);
	return ok;
}

/* ---- joining class and method mappings into routes -------------------- */

static bool add_route(struct ebt_routes *r, unsigned methods, const char *p,
		      size_t n)
{
	struct ebt_route *v;

	if (r->n >= EBT_ROUTES_MAX)
		return false;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;

		v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return false;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].pattern = strndup(p, n);
	if (!r->v[r->n].pattern)
		return false;
	r->v[r->n++].methods = methods;
	return true;
}

/* Appends s to buf at *at as one path part: one '/' between parts, none
 * at the end. */
static void put_part(char *buf, size_t *at, const char *s)
{
	size_t n = strlen(s);

	while (n && s[0] == '/')
		s++, n--;
	while (n && s[n - 1] == '/')
		n--;
	if (!n || *at + 1 + n >= EBT_ROUTE_LEN_MAX)
		return;
	buf[(*at)++] = '/';
	memcpy(buf + *at, s, n);
	*at += n;
}

/* A printable pattern. */
static bool usable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static const char *jar_lookup(void *ctx, const char *name, size_t n);

/* A mapping's path with its ${key:default} placeholders resolved from the
 * app's config files, else their defaults; false if one has neither. */
static bool part(struct jar_read *jr, const char *s, char *out, size_t cap)
{
	struct ebt_spring_env env = {.lookup = jar_lookup, .ctx = jr};

	if (!strstr(s, "${"))
		snprintf(out, cap, "%s", s);
	else if (!ebt_spring_resolve(s, strlen(s), jr ? &env : NULL, out, cap))
		return false;
	return usable(out, strlen(out));
}

static void join(struct jar_read *jr, struct ebt_routes *r,
		 const struct kept_map *cm, const struct kept_map *mm)
{
	unsigned np = cm && cm->n ? cm->n : 1, nm = mm->n ? mm->n : 1;
	unsigned methods = (cm ? cm->methods : 0) | mm->methods;
	char buf[EBT_ROUTE_LEN_MAX], a[EBT_ROUTE_LEN_MAX], b[EBT_ROUTE_LEN_MAX];

	if (mm->jaxrs && !(cm && cm->jaxrs && cm->n))
		return; /* a JAX-RS method of no root resource (@Path class) */
	for (unsigned i = 0; i < np; i++) {
		a[0] = '\0';
		if (cm && cm->n && !part(jr, cm->path[i], a, sizeof(a)))
			continue;
		for (unsigned j = 0; j < nm; j++) {
			size_t at = 0;

			b[0] = '\0';
			if (mm->n && !part(jr, mm->path[j], b, sizeof(b)))
				continue;
			put_part(buf, &at, mm->jaxrs ? jr->app_path : "");
			put_part(buf, &at, a);
			put_part(buf, &at, b);
			if (at == 0)
				buf[at++] = '/';
			add_route(r, methods, buf, at);
		}
	}
}

/* ---- a class and the types it inherits from --------------------------- */

static int kept_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kept_class *)a)->name,
		      ((const struct kept_class *)b)->name);
}

static struct kept_class *kept_find(struct jar_read *jr, const char *name)
{
	struct kept_class key = {.name = (char *)name};

	return name && jr->n ? bsearch(&key, jr->v, jr->n, sizeof(*jr->v),
				       kept_cmp)
			     : NULL;
}

static void hier_add(struct kept_class **h, unsigned *n, struct kept_class *k)
{
	if (!k || *n >= HIER_MAX)
		return;
	for (unsigned i = 0; i < *n; i++)
		if (h[i] == k)
			return;
	h[(*n)++] = k;
}

/* k, then its superclasses and interfaces in the jar, nearest first. */
static unsigned hierarchy(struct jar_read *jr, struct kept_class *k,
			  struct kept_class **h)
{
	unsigned n = 0;

	hier_add(h, &n, k);
	for (unsigned i = 0; i < n; i++) {
		hier_add(h, &n, kept_find(jr, h[i]->super));
		for (unsigned j = 0; j < h[i]->n_ifaces; j++)
			hier_add(h, &n, kept_find(jr, h[i]->ifaces[j]));
	}
	return n;
}

static bool member_seen(const struct kept_map **got, unsigned n,
			const char *member)
{
	for (unsigned i = 0; i < n; i++)
		if (got[i]->member && member && !strcmp(got[i]->member, member))
			return true;
	return false;
}

/* A handler class: its mapping (else the nearest inherited one) joined
 * with each of its methods' (its own, else the nearest inherited ones),
 * as Spring merges them. Feign clients' mappings are left out. */
static void class_routes(struct jar_read *jr, struct kept_class *k,
			 struct ebt_routes *r)
{
	struct kept_class *h[HIER_MAX];
	const struct kept_map *cm = NULL, **got;
	unsigned n = hierarchy(jr, k, h), ng = 0;

	if (!(got = calloc(METHOD_MAPS_MAX, sizeof(*got))))
		return;
	for (unsigned i = 0, nearer; i < n; i++) {
		if (h[i]->client)
			continue;
		if (!cm && h[i]->has_cm && !h[i]->cm.app_path)
			cm = &h[i]->cm;
		nearer = ng; /* overridden: mapped by a nearer type */
		for (unsigned j = 0; j < h[i]->n_mm && ng < METHOD_MAPS_MAX; j++)
			if (!member_seen(got, nearer, h[i]->mm[j].member))
				got[ng++] = &h[i]->mm[j];
	}
	for (unsigned i = 0; i < ng; i++)
		join(jr, r, cm, got[i]);
	free(got);
}

/* The routes of the classes read: of each class that can handle requests,
 * and of each interface or abstract class no class of the jar extends
 * (its handler may be elsewhere). */
/* The JAX-RS application path: Spring Boot's spring.jersey.application-
 * path or Quarkus's quarkus.rest.path (quarkus.resteasy.path before 3.9),
 * else the @ApplicationPath of a class. */
static void app_path(struct jar_read *jr)
{
	static const char *const keys[] = {"spring.jersey.application-path",
					   "quarkus.rest.path",
					   "quarkus.resteasy.path"};
	const char *v = NULL;

	for (size_t i = 0; i < 3 && !v; i++)
		v = jar_lookup(jr, keys[i], strlen(keys[i]));
	for (size_t i = 0; i < jr->n && !v; i++)
		if (jr->v[i].has_cm && jr->v[i].cm.app_path)
			v = jr->v[i].cm.path[0];
	if (!v || !part(jr, v, jr->app_path, sizeof(jr->app_path)))
		jr->app_path[0] = '\0';
	if (!strcmp(jr->app_path, "/*")) /* a servlet mapping's form */
		jr->app_path[0] = '\0';
	else if (strlen(jr->app_path) > 2 &&
		 !strcmp(jr->app_path + strlen(jr->app_path) - 2, "/*"))
		jr->app_path[strlen(jr->app_path) - 2] = '\0';
}

/* A Spring Boot setting: its value in the app's config files (no
 * profile), else def; into out (EBT_ROUTE_LEN_MAX bytes). */
static void boot_setting(struct jar_read *jr, const char *key,
			 const char *def, char *out)
{
	const char *v = jar_lookup(jr, key, strlen(key));

	if (!v || !part(jr, v, out, EBT_ROUTE_LEN_MAX) || out[0] != '/')
		snprintf(out, EBT_ROUTE_LEN_MAX, "%s", def);
}

/* What Spring Boot MVC does with a request no mapping takes. */
static void boot_fallback(struct jar_read *jr, struct ebt_routes *r)
{
	const char *add = jar_lookup(jr, "spring.web.resources.add-mappings",
				     33);
	char sp[EBT_ROUTE_LEN_MAX];

	bool flux;

	r->web = ebt_boot_web(jr->lib_bits);
	flux = r->web == EBT_WEB_FLUX;
	boot_setting(jr, flux ? "spring.webflux.static-path-pattern"
			      : "spring.mvc.static-path-pattern",
		     "/**", r->static_pattern);
	boot_setting(jr, flux ? "spring.webflux.webjars-path-pattern"
			      : "spring.mvc.webjars-path-pattern",
		     "/webjars/**", r->webjars_pattern);
	boot_setting(jr, "server.error.path", "/error", r->error_path);
	boot_setting(jr, "spring.mvc.servlet.path", "/", sp);
	ebt_context_path(sp, strlen(sp), r->servlet_path); /* "/" is "" */
	if (add && !strcasecmp(add, "false"))
		r->static_pattern[0] = '\0';
}

static void class_routes_all(struct jar_read *jr, struct ebt_routes *r);

/* Spring Boot Actuator's web endpoints, as its handler mapping maps them
 * (the patterns the Java agent reports): the id that exposes each, and
 * its patterns under the base path. */
static const struct {
	const char *id, *paths[2];
} actuator_endpoints[] = {
	{"health", {"/health", "/health/**"}},
	{"info", {"/info"}},
	{"prometheus", {"/prometheus"}},
	{"metrics", {"/metrics", "/metrics/{requiredMetricName}"}},
	{"env", {"/env", "/env/{toMatch}"}},
	{"loggers", {"/loggers", "/loggers/{name}"}},
	{"configprops", {"/configprops", "/configprops/{prefix}"}},
	{"caches", {"/caches", "/caches/{cache}"}},
	{"sbom", {"/sbom", "/sbom/{id}"}},
	{"sessions", {"/sessions", "/sessions/{sessionId}"}},
	{"beans", {"/beans"}},
	{"conditions", {"/conditions"}},
	{"mappings", {"/mappings"}},
	{"threaddump", {"/threaddump"}},
	{"heapdump", {"/heapdump"}},
	{"scheduledtasks", {"/scheduledtasks"}},
	{"httpexchanges", {"/httpexchanges"}},
	{"startup", {"/startup"}},
	{"shutdown", {"/shutdown"}},
	{"logfile", {"/logfile"}},
	{"flyway", {"/flyway"}},
	{"liquibase", {"/liquibase"}},
	{"auditevents", {"/auditevents"}},
};

/* Is id in the comma-separated list (or is the list "*")? */
static bool id_listed(const char *list, const char *id)
{
	size_t n = strlen(id), len;

	for (const char *p = list; *p; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if ((len == 1 && *p == '*') || (len == n && !memcmp(p, id, n)))
			return true;
	}
	return false;
}

/* The Actuator endpoints exposed over HTTP
 * (management.endpoints.web.exposure.include, "health" by default, less
 * .exclude), under management.endpoints.web.base-path ("/actuator"). */
static void actuator_routes(struct jar_read *jr, struct ebt_routes *r)
{
	const char *inc = jar_lookup(jr, "management.endpoints.web.exposure."
					 "include", 42);
	char include[EBT_ROUTE_LEN_MAX], exclude[EBT_ROUTE_LEN_MAX] = "";
	char base[EBT_ROUTE_LEN_MAX], path[2 * EBT_ROUTE_LEN_MAX];
	bool flux = ebt_boot_web(jr->lib_bits) == EBT_WEB_FLUX;
	const char *exc;

	snprintf(include, sizeof(include), "%s", inc ? inc : "health");
	if ((exc = jar_lookup(jr, "management.endpoints.web.exposure.exclude",
			      42)))
		snprintf(exclude, sizeof(exclude), "%s", exc);
	boot_setting(jr, "management.endpoints.web.base-path", "/actuator",
		     base);
	if (!strcmp(base, "/"))
		base[0] = '\0';
	if (base[0])
		add_route(r, 0, base, strlen(base)); /* the links */
	for (size_t i = 0; i < sizeof(actuator_endpoints) /
				       sizeof(actuator_endpoints[0]); i++) {
		if (!id_listed(include, actuator_endpoints[i].id) ||
		    id_listed(exclude, actuator_endpoints[i].id))
			continue;
		for (size_t k = 0; k < 2 && actuator_endpoints[i].paths[k];
		     k++) {
			const char *p = actuator_endpoints[i].paths[k];
			size_t pn = strlen(p);
			/* WebFlux maps "the rest of the path" as {*path} */
			bool rest = flux && pn > 3 && !strcmp(p + pn - 3, "/**");

			snprintf(path, sizeof(path), "%s%.*s%s", base,
				 (int)(rest ? pn - 2 : pn), p,
				 rest ? "{*path}" : "");
			add_route(r, 0, path, strlen(path));
		}
	}
}

/* The routes of the classes read, and of the libraries they come with. */
static void jar_routes(struct jar_read *jr, struct ebt_routes *r)
{
	if (jr->n)
		class_routes_all(jr, r);
	if (jr->n || jr->lib_bits)
		boot_fallback(jr, r);
	if (jr->lib_bits & EBT_LIB_ACTUATOR)
		actuator_routes(jr, r);
}

static void class_routes_all(struct jar_read *jr, struct ebt_routes *r)
{
	struct kept_class *s;

	qsort(jr->v, jr->n, sizeof(*jr->v), kept_cmp);
	app_path(jr);
	for (size_t i = 0; i < jr->n; i++) {
		if ((s = kept_find(jr, jr->v[i].super)))
			s->extended = true;
		for (unsigned j = 0; j < jr->v[i].n_ifaces; j++)
			if ((s = kept_find(jr, jr->v[i].ifaces[j])))
				s->extended = true;
	}
	for (size_t i = 0; i < jr->n; i++) {
		struct kept_class *k = &jr->v[i];

		if (!k->abstract)
			class_routes(jr, k, r);
		else if (!k->extended && !k->client)
			for (unsigned j = 0; j < k->n_mm; j++)
				join(jr, r, k->has_cm ? &k->cm : NULL,
				     &k->mm[j]);
	}
}

static void jar_read_free(struct jar_read *jr)
{
	for (size_t i = 0; i < jr->n; i++)
		free_kept(&jr->v[i]);
	free(jr->v);
	for (unsigned i = 0; i < jr->n_memo; i++) {
		free(jr->memo[i].key);
		free(jr->memo[i].value);
	}
}

bool ebt_routes_from_class(const uint8_t *p, size_t n, struct ebt_routes *r)
{
	struct jar_read jr = {.dirfd = -1};
	bool ok = read_class(p, n, &jr);

	jar_routes(&jr, r);
	jar_read_free(&jr);
	return ok;
}

/* ---- a zip (jar, war) ------------------------------------------------- */

static uint32_t le(const uint8_t *q, unsigned k)
{
	uint32_t v = 0;

	while (k--)
		v = v << 8 | q[k];
	return v;
}

/* A zip in memory (mem), or in a file read piece by piece with pread:
 * never mapped, since a jar cut short while it is read (a deploy
 * copying over it) would kill the mapping's reader with SIGBUS. */
struct zsrc {
	const uint8_t *mem;
	int fd;
	size_t n;
};

#define ZIP_TAIL_MAX (22 + 65535)
#define ZIP_CD_MAX (64u << 20)

/* k bytes at off: in mem, or read into buf (room for k); NULL if out of
 * the zip or unreadable. */
static const uint8_t *zget(const struct zsrc *z, size_t off, size_t k,
			   uint8_t *buf)
{
	if (off > z->n || k > z->n - off)
		return NULL;
	if (z->mem)
		return z->mem + off;
	return buf && pread(z->fd, buf, k, (off_t)off) == (ssize_t)k ? buf
								    : NULL;
}

/* As zget, into a new buffer when reading (*owned: to free). */
static const uint8_t *zget_alloc(const struct zsrc *z, size_t off, size_t k,
				 uint8_t **owned)
{
	const uint8_t *q;

	*owned = z->mem ? NULL : malloc(k ? k : 1);
	q = zget(z, off, k, *owned);
	if (!q) {
		free(*owned);
		*owned = NULL;
	}
	return q;
}

/* The end of central directory record in t[0..n): its offset + 1, or 0
 * if none. */
static size_t find_eocd(const uint8_t *t, size_t n)
{
	for (size_t i = n >= 22 ? n - 22 + 1 : 0; i > 0; i--)
		if (le(t + i - 1, 4) == 0x06054b50u)
			return i;
	return 0;
}

/* An application class: not in the jars nested under BOOT-INF/lib or
 * WEB-INF/lib, nor Spring Boot's launcher at a fat jar's root. */
static bool app_class(const char *name, size_t n)
{
	static const char *const not_app[] = {
		"BOOT-INF/lib/", "WEB-INF/lib/", "META-INF/",
		"org/springframework/boot/loader/",
	};

	if (n <= 6 || memcmp(name + n - 6, ".class", 6) != 0)
		return false;
	for (size_t i = 0; i < sizeof(not_app) / sizeof(not_app[0]); i++)
		if (n > strlen(not_app[i]) &&
		    memcmp(name, not_app[i], strlen(not_app[i])) == 0)
			return false;
	return true;
}

static uint8_t *inflate_raw(const uint8_t *src, size_t n, size_t out_n)
{
	uint8_t *out = malloc(out_n ? out_n : 1);
	z_stream z = {0};
	int rc;

	if (!out || inflateInit2(&z, -15) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)out_n;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out != out_n) {
		free(out);
		return NULL;
	}
	return out;
}

/* The data of the central directory entry e (46 bytes and its name),
 * inflated (a new buffer, *len bytes); NULL if it cannot be read. */
static uint8_t *zip_read(const struct zsrc *z, const uint8_t *e,
			 size_t *budget, size_t *len)
{
	uint32_t method = le(e + 10, 2), csize = le(e + 20, 4);
	uint32_t usize = le(e + 24, 4), off = le(e + 42, 4);
	uint8_t lbuf[30], *owned, *out = NULL;
	const uint8_t *lh = zget(z, off, 30, lbuf), *data;

	if (!lh || le(lh, 4) != 0x04034b50u || usize > CLASS_SIZE_MAX ||
	    usize > *budget || csize > CLASS_SIZE_MAX + 1024)
		return NULL;
	*budget -= usize;
	data = zget_alloc(z, (size_t)off + 30 + le(lh + 26, 2) + le(lh + 28, 2),
			  csize, &owned);
	if (!data)
		return NULL;
	if (method == 0 && csize == usize && (out = malloc(usize ? usize : 1)))
		memcpy(out, data, usize);
	else if (method == 8)
		out = inflate_raw(data, csize, usize);
	free(owned);
	*len = usize;
	return out;
}

/* A Spring Boot config file (application.properties, application.yml,
 * ...) where the app's classes are, or in config/ there: its place and
 * name into f. */
static bool app_config(const char *name, size_t n, struct ebt_spring_file *f)
{
	static const char *const at[] = {"BOOT-INF/classes/", "WEB-INF/classes/",
					 ""};
	size_t k;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		k = strlen(at[i]);
		if (n < k || memcmp(name, at[i], k) != 0)
			continue;
		f->config_dir = n - k > 7 && memcmp(name + k, "config/", 7) == 0;
		k += f->config_dir ? 7 : 0;
		return ebt_spring_file_name(name + k, n - k, f);
	}
	return false;
}

/* The central directory's entry at cd[*at..n): its name; *at moves past
 * it. False at the end (or at a bad entry). */
static bool zip_next(const uint8_t *cd, size_t n, size_t *at,
		     const uint8_t **entry, const char **name, size_t *name_n)
{
	size_t len;

	if (n - *at < 46 || le(cd + *at, 4) != 0x02014b50u)
		return false;
	*name_n = le(cd + *at + 28, 2);
	len = 46 + *name_n + le(cd + *at + 30, 2) + le(cd + *at + 32, 2);
	if (n - *at < len)
		return false;
	*entry = cd + *at;
	*name = (const char *)cd + *at + 46;
	*at += len;
	return true;
}

/* Adds the config files the central directory cd[0..n) lists to cfg. */
static void zip_configs(const struct zsrc *z, const uint8_t *cd, size_t n,
			uint32_t count, struct ebt_spring_cfg *cfg)
{
	size_t at = 0, budget = ZIP_INFLATED_MAX, len, name_n;
	const uint8_t *e;
	const char *name;
	uint8_t *data;

	for (uint32_t i = 0; i < count && zip_next(cd, n, &at, &e, &name,
						   &name_n); i++) {
		struct ebt_spring_file cf = {0};

		if (app_config(name, name_n, &cf) &&
		    (data = zip_read(z, e, &budget, &len))) {
			ebt_spring_cfg_add(cfg, &cf, (const char *)data, len);
			free(data);
		}
	}
}

/* A zip entry that says the app is Spring Boot's or Spring MVC's: a
 * library (BOOT-INF/lib/spring-boot-3.5.0.jar), or a shaded jar's class. */
static unsigned entry_lib_bits(const char *name, size_t n)
{
	static const char *const libs[] = {"BOOT-INF/lib/", "WEB-INF/lib/"};
	static const char boot[] = "org/springframework/boot/SpringApplication"
				   ".class";
	static const char mvc[] = "org/springframework/web/servlet/"
				  "DispatcherServlet.class";

	for (size_t i = 0; i < 2; i++)
		if (n > strlen(libs[i]) && !memcmp(name, libs[i], strlen(libs[i])))
			return ebt_spring_lib_bits(name + strlen(libs[i]),
						   n - strlen(libs[i]));
	if (n == sizeof(boot) - 1 && !memcmp(name, boot, n))
		return EBT_LIB_BOOT;
	return n == sizeof(mvc) - 1 && !memcmp(name, mvc, n) ? EBT_LIB_WEBMVC
							    : 0;
}

/* The class files the central directory cd[0..n) lists, into jr. */
static void zip_classes(const struct zsrc *z, const uint8_t *cd, size_t n,
			uint32_t count, struct jar_read *jr)
{
	size_t at = 0, seen = 0, budget = ZIP_INFLATED_MAX, len, name_n;
	const uint8_t *e;
	const char *name;
	uint8_t *data;

	for (uint32_t i = 0; i < count && seen < ZIP_CLASSES_MAX &&
			     zip_next(cd, n, &at, &e, &name, &name_n);
	     i++) {
		jr->lib_bits |= entry_lib_bits(name, name_n);
		if (!app_class(name, name_n))
			continue;
		seen++;
		if ((data = zip_read(z, e, &budget, &len))) {
			read_class(data, len, jr);
			free(data);
		}
	}
}

/* The routes and config files the central directory cd[0..n) lists. */
static void zip_entries(const struct zsrc *z, const uint8_t *cd, size_t n,
			uint32_t count, struct ebt_routes *r)
{
	struct jar_read jr = {.z = z, .cd = cd, .cd_n = n, .cd_count = count,
			      .dirfd = -1};

	zip_configs(z, cd, n, count, &r->cfg);
	zip_classes(z, cd, n, count, &jr);
	jar_routes(&jr, r);
	jar_read_free(&jr);
}

/* A ${key} of a mapping: the value the app's config files give it (no
 * profile active), read again for each key (few are). */
static const char *jar_lookup(void *ctx, const char *name, size_t n)
{
	struct jar_read *jr = ctx;
	struct ebt_spring_cfg *cfg;
	struct looked *l;
	const char *v;

	if (n >= EBT_SPRING_KEY_MAX)
		return NULL;
	for (unsigned i = 0; i < jr->n_memo; i++)
		if (jr->memo[i].key && strlen(jr->memo[i].key) == n &&
		    !memcmp(jr->memo[i].key, name, n))
			return jr->memo[i].value;
	if (!(cfg = calloc(1, sizeof(*cfg))))
		return NULL;
	memcpy(cfg->key, name, n);
	if (jr->cd)
		zip_configs(jr->z, jr->cd, jr->cd_n, jr->cd_count, cfg);
	if (jr->dirfd >= 0)
		ebt_spring_cfg_dir(cfg, jr->dirfd, false, NULL);
	v = ebt_spring_value(cfg, NULL, "");
	l = &jr->memo[jr->n_memo < LOOKUPS_MAX ? jr->n_memo++
					       : LOOKUPS_MAX - 1];
	free(l->key);
	free(l->value);
	l->key = strndup(name, n);
	l->value = v ? strdup(v) : NULL;
	free(cfg);
	return l->value;
}

static bool zip_routes(const struct zsrc *z, struct ebt_routes *r)
{
	size_t tn = z->n < ZIP_TAIL_MAX ? z->n : ZIP_TAIL_MAX, eocd;
	uint8_t *tail_owned, *cd_owned;
	const uint8_t *tail = zget_alloc(z, z->n - tn, tn, &tail_owned), *cd;
	uint32_t count, cd_size, cd_off;

	if (!tail || !(eocd = find_eocd(tail, tn))) {
		free(tail_owned);
		return false;
	}
	count = le(tail + eocd - 1 + 10, 2);
	cd_size = le(tail + eocd - 1 + 12, 4);
	cd_off = le(tail + eocd - 1 + 16, 4);
	free(tail_owned);
	if (cd_size > ZIP_CD_MAX)
		return false;
	cd = zget_alloc(z, cd_off, cd_size, &cd_owned);
	if (!cd)
		return false;
	zip_entries(z, cd, cd_size, count, r);
	free(cd_owned);
	return true;
}

bool ebt_routes_from_zip(const uint8_t *p, size_t n, struct ebt_routes *r)
{
	struct zsrc z = {.mem = p, .fd = -1, .n = n};

	return p && zip_routes(&z, r);
}

bool ebt_routes_load(const char *path, struct ebt_routes *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct zsrc z = {.fd = fd};
	struct stat st;
	bool ok = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= JAR_SIZE_MAX) {
		z.n = (size_t)st.st_size;
		ok = zip_routes(&z, r);
	}
	close(fd);
	return ok;
}

static void free_tree(struct ebt_rnode *nd);

void ebt_routes_free(struct ebt_routes *r)
{
	free_tree(r->root);
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].pattern);
	free(r->v);
	*r = (struct ebt_routes){0};
}

/* ---- matching a path as Spring's PathPattern does --------------------- */

/* The next segment of s[*i..n) after its '/'; false at the end. */
static bool next_seg(const char *s, size_t n, size_t *i, const char **seg,
		     size_t *len)
{
	const char *slash;

	if (*i >= n)
		return false;
	if (s[*i] == '/')
		(*i)++;
	*seg = s + *i;
	slash = memchr(*seg, '/', n - *i);
	*len = slash ? (size_t)(slash - *seg) : n - *i;
	*i += *len;
	return true;
}

/* Does path segment t match pattern segment s? A "{var}" (with or without
 * a regex, with literal text around it) or "*" takes any non-empty
 * segment that has that text around it; "?" any one character. */
static bool seg_match(const char *s, size_t sn, const char *t, size_t tn)
{
	const char *open = memchr(s, '{', sn), *close;
	const char *star = memchr(s, '*', sn);
	size_t pre, post;

	if (!open && !star) {
		if (sn != tn)
			return false;
		for (size_t i = 0; i < sn; i++)
			if (s[i] != t[i] && s[i] != '?')
				return false;
		return true;
	}
	if (open) {
		close = memchr(open, '}', sn - (size_t)(open - s));
		pre = (size_t)(open - s);
		post = close ? sn - (size_t)(close - s) - 1 : 0;
	} else {
		pre = (size_t)(star - s);
		post = sn - pre - 1;
	}
	return tn > pre + post && memcmp(s, t, pre) == 0 &&
	       memcmp(s + sn - post, t + tn - post, post) == 0;
}

/* Spring's order: fewer variables and wildcards first, a catch-all ("**",
 * "{*rest}") last, then the longer pattern. Lower is more specific. */
static long specificity(const char *p)
{
	long vars = 0, catch_all = 0;

	for (const char *q = p; *q; q++) {
		if ((q[0] == '*' && q[1] == '*') || (q[0] == '{' && q[1] == '*'))
			catch_all = 1;
		else if (*q == '{' || *q == '*')
			vars++;
	}
	return catch_all * 1000000 + vars * 1000 - (long)strlen(p);
}

/* Does the whole path match pattern p? */
static bool path_match(const char *p, const char *path, size_t len)
{
	size_t pi = 0, ti = 0, pn = strlen(p), sn, tn;
	const char *s, *t;

	for (;;) {
		bool more_p = next_seg(p, pn, &pi, &s, &sn);
		bool more_t = next_seg(path, len, &ti, &t, &tn);

		if (more_p && ((sn == 2 && memcmp(s, "**", 2) == 0) ||
			       (sn > 2 && memcmp(s, "{*", 2) == 0)))
			return pi >= pn; /* a catch-all ends a pattern */
		if (!more_p || !more_t)
			return more_p == more_t;
		if (!seg_match(s, sn, t, tn))
			return false;
	}
}

/* ---- an index: the patterns' segments as a tree ------------------------ */

/* A pattern segment; its children are the next segments of the patterns
 * through it, literal ones sorted for a binary search. */
struct ebt_rnode {
	const char *seg;
	size_t len;
	struct ebt_rnode **lit, **pat; /* literal / variable children */
	size_t n_lit, n_pat;
	uint32_t *ends, *rest; /* routes ending here / with a catch-all next */
	size_t n_ends, n_rest;
};

static bool is_literal(const char *s, size_t n)
{
	return !memchr(s, '{', n) && !memchr(s, '*', n) && !memchr(s, '?', n);
}

static bool is_catch_all(const char *s, size_t n)
{
	return (n == 2 && memcmp(s, "**", 2) == 0) ||
	       (n > 2 && memcmp(s, "{*", 2) == 0);
}

static bool push_idx(uint32_t **v, size_t *n, uint32_t idx)
{
	uint32_t *m = realloc(*v, (*n + 1) * sizeof(**v));

	if (!m)
		return false;
	m[(*n)++] = idx;
	*v = m;
	return true;
}

/* The child of nd for segment s[0..n), made if new. */
static struct ebt_rnode *child(struct ebt_rnode *nd, const char *s, size_t n)
{
	bool lit = is_literal(s, n);
	struct ebt_rnode ***kids = lit ? &nd->lit : &nd->pat, **m, *c;
	size_t *nk = lit ? &nd->n_lit : &nd->n_pat;

	for (size_t i = 0; i < *nk; i++)
		if ((*kids)[i]->len == n && memcmp((*kids)[i]->seg, s, n) == 0)
			return (*kids)[i];
	if (!(m = realloc(*kids, (*nk + 1) * sizeof(*m))))
		return NULL;
	*kids = m;
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->seg = s;
	c->len = n;
	m[(*nk)++] = c;
	return c;
}

static bool index_route(struct ebt_rnode *root, const char *p, uint32_t idx)
{
	struct ebt_rnode *nd = root;
	size_t i = 0, pn = strlen(p), sn;
	const char *s;

	while (next_seg(p, pn, &i, &s, &sn)) {
		if (is_catch_all(s, sn)) /* only last: else it never matches */
			return i < pn || push_idx(&nd->rest, &nd->n_rest, idx);
		if (!(nd = child(nd, s, sn)))
			return false;
	}
	return push_idx(&nd->ends, &nd->n_ends, idx);
}

static int seg_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

static int node_cmp(const void *a, const void *b)
{
	const struct ebt_rnode *x = *(struct ebt_rnode *const *)a;
	const struct ebt_rnode *y = *(struct ebt_rnode *const *)b;

	return seg_cmp(x->seg, x->len, y->seg, y->len);
}

static void sort_tree(struct ebt_rnode *nd)
{
	if (nd->n_lit > 1)
		qsort(nd->lit, nd->n_lit, sizeof(*nd->lit), node_cmp);
	for (size_t i = 0; i < nd->n_lit; i++)
		sort_tree(nd->lit[i]);
	for (size_t i = 0; i < nd->n_pat; i++)
		sort_tree(nd->pat[i]);
}

static void free_tree(struct ebt_rnode *nd)
{
	if (!nd)
		return;
	for (size_t i = 0; i < nd->n_lit; i++)
		free_tree(nd->lit[i]);
	for (size_t i = 0; i < nd->n_pat; i++)
		free_tree(nd->pat[i]);
	free(nd->lit);
	free(nd->pat);
	free(nd->ends);
	free(nd->rest);
	free(nd);
}

bool ebt_routes_index(struct ebt_routes *r)
{
	free_tree(r->root);
	r->root = calloc(1, sizeof(*r->root));
	for (size_t i = 0; r->root && i < r->n; i++) {
		if (!index_route(r->root, r->v[i].pattern, (uint32_t)i)) {
			free_tree(r->root);
			r->root = NULL;
		}
	}
	if (r->root)
		sort_tree(r->root);
	return r->root != NULL;
}

/* ---- matching --------------------------------------------------------- */

struct best {
	const struct ebt_routes *r;
	unsigned bit;
	size_t idx; /* r->n: none yet */
	long spec;
};

/* Route idx matches the path: the more specific, or the first of equals. */
static void consider(struct best *b, size_t idx)
{
	const struct ebt_route *e = &b->r->v[idx];
	long spec;

	if (e->methods && !(e->methods & b->bit))
		return;
	spec = specificity(e->pattern);
	if (b->idx == b->r->n || spec < b->spec ||
	    (spec == b->spec && idx < b->idx)) {
		b->idx = idx;
		b->spec = spec;
	}
}

static const struct ebt_rnode *find_lit(const struct ebt_rnode *nd,
					const char *t, size_t tn)
{
	size_t lo = 0, hi = nd->n_lit;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = seg_cmp(nd->lit[mid]->seg, nd->lit[mid]->len, t, tn);

		if (c == 0)
			return nd->lit[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The patterns below nd that match path[ti..len). */
static void walk(const struct ebt_rnode *nd, const char *path, size_t len,
		 size_t ti, struct best *b)
{
	const struct ebt_rnode *lit;
	const char *t;
	size_t tn;

	for (size_t i = 0; i < nd->n_rest; i++)
		consider(b, nd->rest[i]);
	if (!next_seg(path, len, &ti, &t, &tn)) {
		for (size_t i = 0; i < nd->n_ends; i++)
			consider(b, nd->ends[i]);
		return;
	}
	if ((lit = find_lit(nd, t, tn)))
		walk(lit, path, len, ti, b);
	for (size_t i = 0; i < nd->n_pat; i++)
		if (seg_match(nd->pat[i]->seg, nd->pat[i]->len, t, tn))
			walk(nd->pat[i], path, len, ti, b);
}

/* The pattern of the mapping that takes path for one of the methods bits. */
static const char *match_bits(const struct ebt_routes *r, unsigned bits,
			      const char *path, size_t len)
{
	struct best b = {.r = r, .bit = bits, .idx = r->n};

	if (r->root)
		walk(r->root, path, len, 0, &b);
	else
		for (size_t i = 0; i < r->n; i++)
			if (path_match(r->v[i].pattern, path, len))
				consider(&b, i);
	return b.idx < r->n ? r->v[b.idx].pattern : NULL;
}

const char *ebt_routes_match(const struct ebt_routes *r, const char *method,
			     const char *path, size_t len)
{
	unsigned bit = method_bit(method, strlen(method));
	const char *got;

	if (!r)
		return NULL;
	if (bit == EBT_RM_HEAD)
		bit |= EBT_RM_GET; /* Spring answers HEAD with GET handlers */
	got = match_bits(r, bit, path, len);
	if (!got && bit == EBT_RM_OPTIONS) /* and OPTIONS for any mapping */
		got = match_bits(r, ~0u, path, len);
	return got;
}

const char *ebt_routes_fallback(const struct ebt_routes *r, unsigned web,
				const char *method, const char *path,
				size_t len, int status)
{
	const char *error = web == EBT_WEB_MVC ? r->error_path : NULL;

	(void)method;
	if (!r || web == EBT_WEB_NONE)
		return NULL;
	if (match_bits(r, ~0u, path, len)) /* 405 */
		return status < 400 ? NULL : web == EBT_WEB_MVC ? error : "";
	if (r->static_pattern[0]) {
		if (path_match(r->webjars_pattern, path, len))
			return r->webjars_pattern;
		if (path_match(r->static_pattern, path, len))
			return r->static_pattern;
	}
	return status >= 400 ? error : NULL;
}

unsigned ebt_boot_web(unsigned bits)
{
	if (!(bits & EBT_LIB_BOOT))
		return EBT_WEB_NONE;
	if (bits & EBT_LIB_WEBMVC)
		return EBT_WEB_MVC;
	return bits & EBT_LIB_WEBFLUX ? EBT_WEB_FLUX : EBT_WEB_NONE;
}

/* Is name "<lib>-<digit>...": lib itself, not lib-starter-... */
static bool lib_is(const char *name, size_t n, const char *lib)
{
	size_t k = strlen(lib);

	return n > k + 1 && !memcmp(name, lib, k) && name[k] == '-' &&
	       name[k + 1] >= '0' && name[k + 1] <= '9';
}

unsigned ebt_spring_lib_bits(const char *name, size_t n)
{
	unsigned bits = 0;

	if (n < 4 || memcmp(name + n - 4, ".jar", 4) != 0)
		return 0;
	if (lib_is(name, n, "spring-boot"))
		bits |= EBT_LIB_BOOT; /* spring-boot-3.5.0.jar */
	if (lib_is(name, n, "spring-webmvc"))
		bits |= EBT_LIB_WEBMVC;
	if (lib_is(name, n, "spring-boot-actuator"))
		bits |= EBT_LIB_ACTUATOR;
	if (lib_is(name, n, "spring-webflux"))
		bits |= EBT_LIB_WEBFLUX;
	return bits;
}

/* ---- an unpacked jar's directory --------------------------------------- */

#define DIR_DEPTH_MAX 32

#define DIR_ENTRIES_MAX 100000

struct dir_walk {
	struct jar_read *jr;
	size_t budget, seen, entries; /* bytes left; classes, entries read */
};

static void file_class(int at, const char *name, struct dir_walk *w)
{
	int fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	uint8_t *buf = NULL;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= CLASS_SIZE_MAX &&
	    (size_t)st.st_size <= w->budget &&
	    (buf = malloc((size_t)st.st_size)) &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size) {
		w->budget -= (size_t)st.st_size;
		read_class(buf, (size_t)st.st_size, w->jr);
	}
	free(buf);
	close(fd);
}

/* The class files under the directory fd (closed here), depth first. */
static void dir_classes(int fd, unsigned depth, struct dir_walk *w)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while (w->seen < ZIP_CLASSES_MAX && w->entries++ < DIR_ENTRIES_MAX &&
	       (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int sub;

		if (de->d_name[0] == '.')
			continue;
		if (n > 6 && strcmp(de->d_name + n - 6, ".class") == 0) {
			w->seen++;
			file_class(dirfd(d), de->d_name, w);
		} else if (depth < DIR_DEPTH_MAX &&
			   (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) &&
			   (sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC)) >= 0) {
			dir_classes(sub, depth + 1, w);
		}
	}
	closedir(d);
}

/* ebt_spring_lib_bits of the unpacked jar's libraries (BOOT-INF/lib). */
static unsigned dir_lib_bits(int top)
{
	static const char *const libs[] = {"BOOT-INF/lib", "WEB-INF/lib"};
	unsigned bits = 0, seen = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	for (size_t i = 0; i < 2; i++) {
		fd = openat(top, libs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while (seen++ < DIR_ENTRIES_MAX && (de = readdir(d)))
			bits |= ebt_spring_lib_bits(de->d_name,
						    strlen(de->d_name));
		closedir(d);
	}
	return bits;
}

bool ebt_routes_load_dir(const char *root, bool class_dir,
			 struct ebt_routes *r)
{
	static const char *const classes[] = {"BOOT-INF/classes",
					      "WEB-INF/classes"};
	struct jar_read jr = {.dirfd = -1};
	struct dir_walk w = {.jr = &jr, .budget = ZIP_INFLATED_MAX};
	int top = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;

	if (top < 0)
		return false;
	for (size_t i = 0; !class_dir && i < 2 && fd < 0; i++)
		fd = openat(top, classes[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!class_dir)
		jr.lib_bits = dir_lib_bits(top);
	if (class_dir) {
		fd = top;
	} else {
		close(top);
		if (fd < 0)
			return false;
	}
	ebt_spring_cfg_dir(&r->cfg, fd, false, NULL);
	jr.dirfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	dir_classes(fd, 0, &w);
	jar_routes(&jr, r);
	jar_read_free(&jr);
	if (jr.dirfd >= 0)
		close(jr.dirfd);
	return true;
}

/* ---- one read per jar ------------------------------------------------- */

struct route_jar {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	struct ebt_routes routes;
};

struct ebt_route_cache {
	struct route_jar jar[EBT_ROUTE_JARS_MAX];
	size_t n;
};

struct ebt_route_cache *ebt_route_cache_new(void)
{
	return calloc(1, sizeof(struct ebt_route_cache));
}

static struct route_jar *jar_of(struct ebt_route_cache *rc,
				const struct stat *st)
{
	for (size_t i = 0; i < rc->n; i++) {
		struct route_jar *j = &rc->jar[i];

		if (j->dev == st->st_dev && j->ino == st->st_ino &&
		    j->mtime.tv_sec == st->st_mtim.tv_sec &&
		    j->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return j;
	}
	return NULL;
}

const struct ebt_routes *ebt_route_cache_get(struct ebt_route_cache *rc,
					     const char *path, bool class_dir)
{
	struct route_jar *j;
	struct stat st;

	if (!rc || stat(path, &st) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return NULL;
	j = jar_of(rc, &st);
	if (!j) {
		if (rc->n >= EBT_ROUTE_JARS_MAX)
			return NULL;
		j = &rc->jar[rc->n++];
		j->dev = st.st_dev;
		j->ino = st.st_ino;
		j->mtime = st.st_mtim;
		if (S_ISDIR(st.st_mode))
			ebt_routes_load_dir(path, class_dir, &j->routes);
		else
			ebt_routes_load(path, &j->routes);
		ebt_routes_index(&j->routes);
	}
	return j->routes.n ? &j->routes : NULL;
}

void ebt_route_cache_free(struct ebt_route_cache *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->n; i++)
		ebt_routes_free(&rc->jar[i].routes);
	free(rc);
}
