/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC framing and trailers, the CRI map from real protobuf bytes, the
 * client's published versions, and the service.name precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cri.h"
#include "cri_api.pb-c.h"
#include "grpc.h"
#include "resource.h"

#define CID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CID_X "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SB_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define SB_2 "2222222222222222222222222222222222222222222222222222222222222222"

/* ---- grpc.c ----------------------------------------------------------- */

static void test_frame_roundtrip(void **state)
{
	uint8_t buf[32];
	const uint8_t *msg;
	size_t off = 0, n;

	(void)state;
	grpc_frame_prefix(buf, 3);
	memcpy(buf + 5, "abc", 3);
	grpc_frame_prefix(buf + 8, 0);
	assert_int_equal(grpc_frame_next(buf, 13, &off, 100, &msg, &n),
			 GRPC_FRAME_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(msg, "abc", 3);
	assert_int_equal(grpc_frame_next(buf, 13, &off, 100, &msg, &n),
			 GRPC_FRAME_OK);
	assert_int_equal(n, 0);
	assert_int_equal(grpc_frame_next(buf, 13, &off, 100, &msg, &n),
			 GRPC_FRAME_END);
}

static void test_frame_errors(void **state)
{
	uint8_t buf[16] = {0};
	const uint8_t *msg;
	size_t off = 0, n;

	(void)state;
	assert_int_equal(grpc_frame_next(buf, 4, &off, 100, &msg, &n),
			 GRPC_FRAME_SHORT);
	grpc_frame_prefix(buf, 10); /* says 10, has 3 */
	assert_int_equal(grpc_frame_next(buf, 8, &off, 100, &msg, &n),
			 GRPC_FRAME_SHORT);
	assert_int_equal(grpc_frame_next(buf, 15, &off, 9, &msg, &n),
			 GRPC_FRAME_TOO_BIG);
	buf[0] = 1;
	assert_int_equal(grpc_frame_next(buf, 15, &off, 100, &msg, &n),
			 GRPC_FRAME_COMPRESSED);
	buf[0] = 7;
	assert_int_equal(grpc_frame_next(buf, 15, &off, 100, &msg, &n),
			 GRPC_FRAME_BAD_FLAG);
	assert_int_equal(off, 0); /* never advanced on errors */
	grpc_frame_prefix(buf, 0xffffffffu); /* no overflow on a huge length */
	assert_int_equal(grpc_frame_next(buf, 15, &off, (size_t)-1, &msg, &n),
			 GRPC_FRAME_SHORT);
	assert_string_equal(grpc_frame_error(GRPC_FRAME_TOO_BIG),
			    "message too large");
}

static void line(struct grpc_status *st, const char *s)
{
	grpc_status_line(st, s, strlen(s));
}

static void test_status_trailers(void **state)
{
	struct grpc_status st;

	(void)state;
	grpc_status_init(&st);
	assert_false(st.have_status);
	line(&st, "HTTP/2 200\r\n");
	line(&st, "content-type: application/grpc\r\n");
	assert_true(st.content_type_ok);
	line(&st, "Grpc-Status: 14\r\n");
	line(&st, "grpc-message: connection%20refused%0A%zz\r\n");
	assert_true(st.have_status);
	assert_int_equal(st.code, GRPC_UNAVAILABLE);
	assert_string_equal(st.message, "connection refused%zz");
	assert_string_equal(grpc_code_name(st.code), "UNAVAILABLE");
	line(&st, "grpc-status: 1x\r\n");
	assert_int_equal(st.code, -1);
	line(&st, "grpc-status:0");
	assert_int_equal(st.code, 0);
	line(&st, "grpc-status: 99999\r\n");
	assert_int_equal(st.code, -1);
	line(&st, "no colon here\r\n");
	line(&st, "content-type: text/html\r\n");
	assert_false(st.content_type_ok);
	assert_null(grpc_code_name(17));
	assert_null(grpc_code_name(-1));
}

/* ---- the map, from packed protobuf messages ---------------------------- */

struct kvs {
	Runtime__V1__PodSandbox__LabelsEntry l[4], *lp[4];
	Runtime__V1__PodSandbox__AnnotationsEntry a[4], *ap[4];
};

static void pod(Runtime__V1__PodSandbox *s, Runtime__V1__PodSandboxMetadata *md,
		struct kvs *kv, const char *id, const char *name,
		const char *app)
{
	runtime__v1__pod_sandbox__init(s);
	runtime__v1__pod_sandbox_metadata__init(md);
	md->name = (char *)name;
	md->namespace_ = "shop";
	md->uid = "0f3c-uid";
	s->id = (char *)id;
	s->metadata = md;
	runtime__v1__pod_sandbox__labels_entry__init(&kv->l[0]);
	kv->l[0].key = "app.kubernetes.io/name";
	kv->l[0].value = (char *)app;
	kv->lp[0] = &kv->l[0];
	s->labels = kv->lp;
	s->n_labels = app ? 1 : 0;
	runtime__v1__pod_sandbox__annotations_entry__init(&kv->a[0]);
	kv->a[0].key = "resource.opentelemetry.io/service.name";
	kv->a[0].value = "cart-api";
	kv->ap[0] = &kv->a[0];
	s->annotations = kv->ap;
	s->n_annotations = 1;
}

static void ctr(Runtime__V1__Container *c, Runtime__V1__ContainerMetadata *md,
		const char *id, const char *sb, const char *name)
{
	runtime__v1__container__init(c);
	runtime__v1__container_metadata__init(md);
	md->name = (char *)name;
	c->id = (char *)id;
	c->pod_sandbox_id = (char *)sb;
	c->metadata = md;
}

struct packed {
	uint8_t pods[4096], ctrs[4096];
	size_t pods_len, ctrs_len;
};

/* Two pods; CID_A in SB_1 ("web"), CID_B in SB_2 ("side"), CID_X in an
 * unknown sandbox. */
static void pack_lists(struct packed *p, const char *app1)
{
	Runtime__V1__PodSandbox s[2], *sp[2] = {&s[0], &s[1]};
	Runtime__V1__PodSandboxMetadata smd[2];
	struct kvs kv[2];
	Runtime__V1__ListPodSandboxResponse pr =
		RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	Runtime__V1__Container c[3], *cp[3] = {&c[0], &c[1], &c[2]};
	Runtime__V1__ContainerMetadata cmd[3];
	Runtime__V1__ListContainersResponse cr =
		RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;

	pod(&s[0], &smd[0], &kv[0], SB_1, "cart-7d9f", app1);
	pod(&s[1], &smd[1], &kv[1], SB_2, "db-0", NULL);
	pr.items = sp;
	pr.n_items = 2;
	ctr(&c[0], &cmd[0], CID_A, SB_1, "web");
	ctr(&c[1], &cmd[1], CID_B, SB_2, "side");
	ctr(&c[2], &cmd[2], CID_X, "9999", "orphan");
	cr.containers = cp;
	cr.n_containers = 3;
	assert_true(runtime__v1__list_pod_sandbox_response__get_packed_size(
			    &pr) < sizeof(p->pods));
	p->pods_len = runtime__v1__list_pod_sandbox_response__pack(&pr,
								   p->pods);
	p->ctrs_len = runtime__v1__list_containers_response__pack(&cr,
								  p->ctrs);
}

static struct ebt_cri_map *build(const char *app1,
				 const struct ebt_cri_map *prev)
{
	struct packed p;
	bool trunc = true;
	char err[128] = "";
	struct ebt_cri_map *m;

	pack_lists(&p, app1);
	m = ebt_cri_map_build(p.pods, p.pods_len, p.ctrs, p.ctrs_len, prev,
			      &trunc, err, sizeof(err));
	assert_non_null(m);
	assert_false(trunc);
	return m;
}

static void test_map_lookup(void **state)
{
	struct ebt_cri_map *m = build("cart", NULL);
	char name[64];
	struct ebt_pod *p;

	(void)state;
	assert_int_equal(ebt_cri_map_pods(m), 2);
	assert_int_equal(ebt_cri_map_containers(m), 2); /* orphan left out */
	p = ebt_cri_map_lookup(m, CID_A, name, sizeof(name));
	assert_non_null(p);
	assert_string_equal(name, "web");
	assert_string_equal(p->name, "cart-7d9f");
	assert_string_equal(p->ns, "shop");
	assert_string_equal(p->uid, "0f3c-uid");
	assert_string_equal(p->ip, "");
	assert_string_equal(ebt_pod_label(p, "app.kubernetes.io/name"), "cart");
	assert_string_equal(ebt_pod_annotation(
		p, "resource.opentelemetry.io/service.name"), "cart-api");
	assert_null(ebt_pod_label(p, "nope"));
	ebt_cri_map_free(m); /* the reference outlives the map */
	assert_string_equal(p->name, "cart-7d9f");
	ebt_pod_unref(p);
}

static void test_map_misses(void **state)
{
	struct ebt_cri_map *m = build("cart", NULL);

	(void)state;
	assert_null(ebt_cri_map_lookup(m, CID_X, NULL, 0));
	assert_null(ebt_cri_map_lookup(m, "", NULL, 0));
	assert_null(ebt_cri_map_lookup(m, CID_A "0", NULL, 0)); /* 65 chars */
	assert_null(ebt_cri_map_lookup(m, "aaaa", NULL, 0));   /* no prefix */
	assert_null(ebt_cri_map_lookup(NULL, CID_A, NULL, 0));
	ebt_cri_map_free(m);
}

static void test_map_bad_bytes(void **state)
{
	const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};
	char err[128] = "";
	bool trunc;

	(void)state;
	assert_null(ebt_cri_map_build(junk, sizeof(junk), NULL, 0, NULL,
				      &trunc, err, sizeof(err)));
	assert_string_equal(err, "cannot decode the ListPodSandbox response");
	/* empty lists are valid: no pods */
	struct ebt_cri_map *m = ebt_cri_map_build(NULL, 0, NULL, 0, NULL,
						  &trunc, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(ebt_cri_map_pods(m), 0);
	ebt_cri_map_free(m);
}

static size_t pack_status(uint8_t *buf, const char *id, const char *ip)
{
	Runtime__V1__PodSandboxStatusResponse r =
		RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT;
	Runtime__V1__PodSandboxStatus st =
		RUNTIME__V1__POD_SANDBOX_STATUS__INIT;
	Runtime__V1__PodSandboxNetworkStatus net =
		RUNTIME__V1__POD_SANDBOX_NETWORK_STATUS__INIT;

	st.id = (char *)id;
	net.ip = (char *)ip;
	st.network = &net;
	r.status = &st;
	return runtime__v1__pod_sandbox_status_response__pack(&r, buf);
}

static void test_map_status_ip(void **state)
{
	struct ebt_cri_map *m = build("cart", NULL), *m2;
	char ids[4][CRI_ID_MAX + 1];
	uint8_t buf[256];
	struct ebt_pod *p;
	uint64_t d0 = ebt_cri_map_digest(m);

	(void)state;
	assert_int_equal(ebt_cri_map_need_status(m, ids, 4), 2);
	assert_int_equal(ebt_cri_map_need_status(m, ids, 1), 1);
	assert_int_equal(ebt_cri_map_set_status(
				 m, buf, pack_status(buf, SB_1, "10.1.2.3")),
			 0);
	assert_int_equal(ebt_cri_map_set_status(
				 m, buf, pack_status(buf, "nope", "1.1.1.1")),
			 -1);
	assert_int_equal(ebt_cri_map_set_status(m, (const uint8_t *)"\xff", 1),
			 -1);
	assert_true(ebt_cri_map_digest(m) != d0); /* the IP is visible */
	assert_int_equal(ebt_cri_map_need_status(m, ids, 4), 1);
	assert_string_equal(ids[0], SB_2);
	/* the next map carries the IP over without asking again */
	m2 = build("cart", m);
	p = ebt_cri_map_lookup(m2, CID_A, NULL, 0);
	assert_string_equal(p->ip, "10.1.2.3");
	assert_int_equal(ebt_cri_map_digest(m2), ebt_cri_map_digest(m));
	ebt_pod_unref(p);
	ebt_cri_map_free(m);
	ebt_cri_map_free(m2);
}

/* ---- the client without a thread: versions ---------------------------- */

static void test_client_versions(void **state)
{
	struct ebt_cri *c = ebt_cri_new_passive();
	struct ebt_pod *p;
	char name[16];
	uint64_t v0 = ebt_cri_version(c), v1, v2;

	(void)state;
	assert_null(ebt_cri_lookup(c, CID_A, name, sizeof(name)));
	ebt_cri_publish(c, build("cart", NULL));
	v1 = ebt_cri_version(c);
	assert_true(v1 != v0);
	p = ebt_cri_lookup(c, CID_A, name, sizeof(name));
	assert_non_null(p);
	assert_string_equal(name, "web");
	ebt_pod_unref(p);
	ebt_cri_publish(c, build("cart", NULL)); /* same content */
	assert_true(ebt_cri_version(c) == v1);
	ebt_cri_publish(c, build("cart", NULL));
	v2 = ebt_cri_version(c);
	assert_true(v2 == v1);
	ebt_cri_publish(c, NULL); /* gone */
	assert_true(ebt_cri_version(c) != v2);
	assert_null(ebt_cri_lookup(c, CID_A, NULL, 0));
	assert_null(ebt_cri_lookup(NULL, CID_A, NULL, 0));
	assert_false(ebt_cri_connected(c));
	ebt_cri_stop(c);
}

/* A thread on a socket that does not exist: no crash, no map, stops. */
static void test_client_missing_socket(void **state)
{
	struct ebt_cri_config cfg = {
		.socket = "/nonexistent/ebpftrace-test.sock",
		.refresh_ms = 50, .min_gap_ms = 10, .timeout_ms = 100,
	};
	struct ebt_cri *c = ebt_cri_start(&cfg);

	(void)state;
	assert_non_null(c);
	assert_null(ebt_cri_lookup(c, CID_A, NULL, 0));
	assert_false(ebt_cri_connected(c));
	ebt_cri_stop(c);
}

/* ---- service.name precedence ------------------------------------------- */

static enum ebt_svc_source pick(struct ebt_svc_candidates *c,
				const char *want)
{
	const char *out = NULL;
	enum ebt_svc_source s = ebt_service_name_pick(c, &out);

	if (want)
		assert_string_equal(out, want);
	else
		assert_null(out);
	return s;
}

static void test_service_precedence(void **state)
{
	struct ebt_svc_candidates c = {{0}};

	(void)state;
	assert_int_equal(pick(&c, NULL), EBT_SVC_NONE);
	c.by[EBT_SVC_PROCESS] = "goserver";
	assert_int_equal(pick(&c, "goserver"), EBT_SVC_PROCESS);
	c.by[EBT_SVC_CONTAINER] = "web";
	assert_int_equal(pick(&c, "web"), EBT_SVC_CONTAINER);
	c.by[EBT_SVC_POD] = "cart-7d9f";
	assert_int_equal(pick(&c, "cart-7d9f"), EBT_SVC_POD);
	c.by[EBT_SVC_OWNER] = "cart";
	assert_int_equal(pick(&c, "cart"), EBT_SVC_OWNER);
	c.by[EBT_SVC_LABEL_NAME] = "cart-name";
	assert_int_equal(pick(&c, "cart-name"), EBT_SVC_LABEL_NAME);
	c.by[EBT_SVC_LABEL_INSTANCE] = "cart-eu";
	assert_int_equal(pick(&c, "cart-eu"), EBT_SVC_LABEL_INSTANCE);
	c.by[EBT_SVC_ANNOTATION] = "cart-api";
	assert_int_equal(pick(&c, "cart-api"), EBT_SVC_ANNOTATION);
	c.by[EBT_SVC_JVM_PROP] = "jvm-prop";
	assert_int_equal(pick(&c, "jvm-prop"), EBT_SVC_JVM_PROP);
	c.by[EBT_SVC_ENV_ATTRS] = "from-attrs";
	assert_int_equal(pick(&c, "from-attrs"), EBT_SVC_ENV_ATTRS);
	c.by[EBT_SVC_ENV] = "from-env";
	assert_int_equal(pick(&c, "from-env"), EBT_SVC_ENV);
	c.by[EBT_SVC_ENV] = ""; /* empty counts as unset */
	assert_int_equal(pick(&c, "from-attrs"), EBT_SVC_ENV_ATTRS);
	assert_string_equal(ebt_svc_source_name(EBT_SVC_ANNOTATION),
			    "annotation");
	assert_string_equal(ebt_svc_source_name(EBT_SVC_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_status_trailers),
		cmocka_unit_test(test_map_lookup),
		cmocka_unit_test(test_map_misses),
		cmocka_unit_test(test_map_bad_bytes),
		cmocka_unit_test(test_map_status_ip),
		cmocka_unit_test(test_client_versions),
		cmocka_unit_test(test_client_missing_socket),
		cmocka_unit_test(test_service_precedence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
