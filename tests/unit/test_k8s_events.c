/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes events shipper, pure parts: core/v1 Event / EventList /
 * watch lines, the logfmt line, RFC 3339 times, the "new event" and
 * handover-mark rules, the Lease object, its body and who may take it;
 * and an entry with explicit labels in a Loki push body. The JSON follows
 * the shapes of the core/v1 Event and coordination.k8s.io/v1 Lease types
 * (written for these tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "k8s_events.h"
#include "loki.h"

#define S 1000000000ULL
#define T0 1714557600ULL /* 2024-05-01T10:00:00Z */

static const char EVENT[] =
	"{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{"
	"\"name\":\"web-0.17ab3c\",\"namespace\":\"shop\","
	"\"uid\":\"e1\",\"resourceVersion\":\"881\","
	"\"creationTimestamp\":\"2024-05-01T09:59:00Z\"},"
	"\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"shop\","
	"\"name\":\"web-0\",\"uid\":\"p1\",\"apiVersion\":\"v1\","
	"\"resourceVersion\":\"870\",\"fieldPath\":\"spec.containers{web}\"},"
	"\"reason\":\"BackOff\",\"message\":\"Back-off restarting failed "
	"container web in pod web-0_shop(p1)\","
	"\"source\":{\"component\":\"kubelet\",\"host\":\"node-a\"},"
	"\"firstTimestamp\":\"2024-05-01T09:59:00Z\","
	"\"lastTimestamp\":\"2024-05-01T10:00:00Z\",\"count\":3,"
	"\"type\":\"Warning\",\"eventTime\":null,"
	"\"reportingComponent\":\"kubelet\",\"reportingInstance\":\"node-a\"}";

static struct ebt_kevent *parse_event(const char *obj)
{
	char line[8192], err[128];
	struct ebt_kevent_watch w;

	snprintf(line, sizeof(line), "{\"type\":\"ADDED\",\"object\":%s}",
		 obj);
	assert_int_equal(ebt_kevent_watch_parse(line, strlen(line), &w, err,
						sizeof(err)), 0);
	assert_int_equal(w.type, K8S_EV_ADDED);
	assert_string_equal(w.rv, w.ev->rv);
	return w.ev;
}

static void test_event_parse(void **state)
{
	struct ebt_kevent *e = parse_event(EVENT);

	(void)state;
	assert_string_equal(e->uid, "e1");
	assert_string_equal(e->rv, "881");
	assert_string_equal(e->ns, "shop");
	assert_string_equal(e->kind, "Pod");
	assert_string_equal(e->obj_name, "web-0");
	assert_string_equal(e->obj_api, "v1");
	assert_string_equal(e->type, "Warning");
	assert_string_equal(e->reason, "BackOff");
	assert_string_equal(e->source_component, "kubelet");
	assert_string_equal(e->reporting_instance, "node-a");
	assert_int_equal(e->count, 3);
	assert_int_equal(e->last_ns, T0 * S);
	assert_string_equal(ebt_kevent_namespace(e), "shop");
	ebt_kevent_free(e);
}

/* events.k8s.io-style: eventTime and a series, no count/lastTimestamp;
 * a cluster-scoped object (Node) has the event's namespace. */
static void test_event_series_and_node(void **state)
{
	struct ebt_kevent *e = parse_event(
		"{\"metadata\":{\"uid\":\"e2\",\"namespace\":\"default\","
		"\"name\":\"node-a.1\"},\"involvedObject\":{\"kind\":\"Node\","
		"\"name\":\"node-a\"},\"eventTime\":"
		"\"2024-05-01T10:00:00.250000Z\",\"series\":{\"count\":7,"
		"\"lastObservedTime\":\"2024-05-01T10:05:00.500000Z\"},"
		"\"reason\":\"NodeNotReady\",\"type\":\"Normal\","
		"\"action\":\"Check\",\"reportingComponent\":\"node-ctl\"}");

	(void)state;
	assert_int_equal(e->count, 7);
	assert_int_equal(e->last_ns, (T0 + 300) * S + S / 2);
	assert_string_equal(ebt_kevent_namespace(e), "default");
	assert_null(e->message);
	ebt_kevent_free(e);
	/* no time or count at all: count 1, the creation time */
	e = parse_event("{\"metadata\":{\"uid\":\"e3\",\"creationTimestamp\":"
			"\"2024-05-01T10:00:00Z\"},\"involvedObject\":{}}");
	assert_int_equal(e->count, 1);
	assert_int_equal(e->last_ns, T0 * S);
	assert_string_equal(ebt_kevent_namespace(e), "");
	ebt_kevent_free(e);
}

static void test_watch_lines(void **state)
{
	static const char gone[] =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		"\"code\":410,\"reason\":\"Expired\",\"message\":\"too old "
		"resource version: 5 (90)\"}}";
	static const char bookmark[] =
		"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Event\","
		"\"metadata\":{\"resourceVersion\":\"95\"}}}";
	static const char *const bad[] = {
		"", "[]", "{\"type\":\"ADDED\"}",
		"{\"type\":\"NOPE\",\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":7}}}",
	};
	struct ebt_kevent_watch w;
	char err[128];

	(void)state;
	assert_int_equal(ebt_kevent_watch_parse(gone, strlen(gone), &w, err,
						sizeof(err)), 0);
	assert_int_equal(w.type, K8S_EV_ERROR);
	assert_int_equal(w.code, 410);
	assert_non_null(strstr(w.message, "too old"));
	assert_null(w.ev);
	assert_int_equal(ebt_kevent_watch_parse(bookmark, strlen(bookmark),
						&w, err, sizeof(err)), 0);
	assert_int_equal(w.type, K8S_EV_BOOKMARK);
	assert_string_equal(w.rv, "95");
	assert_null(w.ev);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ebt_kevent_watch_parse(bad[i], strlen(bad[i]),
							&w, err, sizeof(err)),
				 -1);
		assert_null(w.ev);
		assert_true(err[0] != '\0');
	}
}

static void count_event(void *ctx, struct ebt_kevent *e)
{
	(*(int *)ctx)++;
	ebt_kevent_free(e);
}

static void test_list(void **state)
{
	char json[8192], err[128];
	struct ebt_k8s_list meta;
	int n = 0;

	(void)state;
	snprintf(json, sizeof(json), "{\"kind\":\"EventList\",\"metadata\":{"
		 "\"resourceVersion\":\"900\",\"continue\":\"c2\"},\"items\":"
		 "[%s,{\"metadata\":{}},%s]}", EVENT, EVENT);
	assert_int_equal(ebt_kevent_list_parse(json, strlen(json),
					       count_event, &n, &meta, err,
					       sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(meta.items, 2);
	assert_int_equal(meta.bad_items, 1);
	assert_string_equal(meta.rv, "900");
	assert_string_equal(meta.cont, "c2");
	free(meta.cont);
	n = 0;
	snprintf(json, sizeof(json), "{\"metadata\":{\"resourceVersion\":"
		 "\"1\"},\"items\":null}");
	assert_int_equal(ebt_kevent_list_parse(json, strlen(json),
					       count_event, &n, &meta, err,
					       sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(meta.cont);
	snprintf(json, sizeof(json), "{\"items\":[]}");
	assert_int_equal(ebt_kevent_list_parse(json, strlen(json),
					       count_event, &n, &meta, err,
					       sizeof(err)), -1);
}

static void test_line(void **state)
{
	struct ebt_kevent *e = parse_event(EVENT);
	char line[KEV_LINE_MAX], small[40];
	size_t n;

	(void)state;
	n = ebt_kevent_line(e, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_string_equal(line,
		"type=Warning reason=BackOff kind=Pod name=web-0 "
		"objectAPIversion=v1 count=3 sourcecomponent=kubelet "
		"sourcehost=node-a reportingcontroller=kubelet "
		"reportinginstance=node-a objectRV=870 eventRV=881 "
		"msg=\"Back-off restarting failed container web in pod "
		"web-0_shop(p1)\"");
	/* full: cut at a field, never mid-value */
	n = ebt_kevent_line(e, small, sizeof(small));
	assert_string_equal(small, "type=Warning reason=BackOff kind=Pod");
	assert_int_equal(n, strlen(small));
	free(e->message);
	e->message = strdup("say \"hi\"\n\ta=b\\\x01");
	free(e->reason);
	e->reason = strdup("x=y");
	ebt_kevent_line(e, line, sizeof(line));
	assert_non_null(strstr(line, " msg=\"say \\\"hi\\\"\\n\\ta=b\\\\"
			       "\\u0001\""));
	assert_non_null(strstr(line, "reason=\"x=y\""));
	ebt_kevent_free(e);
}

static void test_times(void **state)
{
	static const char *const bad[] = {
		"", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z",
		"2024-05-01 10:00:00Z", "2024-05-01T10:00:00+0200",
		"1969-12-31T23:59:59Z", "2024-05-01T10:00:00Zjunk",
		"2024-05-01T10:00:00.Z1",
	};
	uint64_t ns = 0;
	char buf[40];

	(void)state;
	assert_int_equal(ebt_k8s_time_parse("2024-05-01T10:00:00Z", &ns), 0);
	assert_int_equal(ns, T0 * S);
	assert_int_equal(ebt_k8s_time_parse("2024-05-01T12:00:00.123456+02:00",
					    &ns), 0);
	assert_int_equal(ns, T0 * S + 123456000);
	assert_int_equal(ebt_k8s_time_parse("2024-05-01T09:30:00.5-00:30",
					    &ns), 0);
	assert_int_equal(ns, T0 * S + S / 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ebt_k8s_time_parse(bad[i], &ns), -1);
	assert_int_equal(ebt_k8s_time_parse(NULL, &ns), -1);
	ebt_k8s_time_format(T0 * S + 123456789, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01T10:00:00.123456Z");
	assert_int_equal(ebt_k8s_time_parse(buf, &ns), 0);
	assert_int_equal(ns, T0 * S + 123456000);
}

static void test_new_and_mark(void **state)
{
	struct ebt_kevent e = { .count = 2, .last_ns = T0 * S };

	(void)state;
	assert_true(ebt_kevent_is_new(false, 0, 0, &e));
	assert_false(ebt_kevent_is_new(true, 2, T0 * S, &e));
	assert_true(ebt_kevent_is_new(true, 1, T0 * S, &e)); /* count 2 */
	assert_true(ebt_kevent_is_new(true, 2, T0 * S - 1, &e)); /* later */
	assert_false(ebt_kevent_is_new(true, 5, T0 * S + S, &e)); /* older */
	/* whole seconds: an event in the handover second is shipped */
	assert_true(ebt_kevent_after_mark(T0 * S, T0 * S + S / 2));
	assert_true(ebt_kevent_after_mark(T0 * S + S, T0 * S));
	assert_false(ebt_kevent_after_mark(T0 * S - 1, T0 * S + S / 2));
	assert_true(ebt_kevent_after_mark(0, T0 * S)); /* no time: shipped */
	assert_true(ebt_kevent_after_mark(1, 0));
}

static const char LEASE[] =
	"{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
	"\"metadata\":{\"name\":\"ebpftrace-events\",\"namespace\":\"obs\","
	"\"resourceVersion\":\"4711\"},\"spec\":{\"holderIdentity\":"
	"\"ebpftrace-abcde\",\"leaseDurationSeconds\":15,\"acquireTime\":"
	"\"2024-05-01T10:00:00.000000Z\",\"renewTime\":"
	"\"2024-05-01T10:00:05.250000Z\",\"leaseTransitions\":2}}";

static void test_lease_parse_and_json(void **state)
{
	struct ebt_lease l, back;
	char err[128], *json;

	(void)state;
	assert_int_equal(ebt_lease_parse(LEASE, strlen(LEASE), &l, err,
					 sizeof(err)), 0);
	assert_string_equal(l.holder, "ebpftrace-abcde");
	assert_string_equal(l.rv, "4711");
	assert_int_equal(l.duration_s, 15);
	assert_int_equal(l.transitions, 2);
	assert_int_equal(l.acquire_ns, T0 * S);
	assert_int_equal(l.renew_ns, (T0 + 5) * S + S / 4);
	json = ebt_lease_json("obs", "ebpftrace-events", &l);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"resourceVersion\":\"4711\""));
	assert_non_null(strstr(json, "\"namespace\":\"obs\""));
	assert_int_equal(ebt_lease_parse(json, strlen(json), &back, err,
					 sizeof(err)), 0);
	assert_memory_equal(&l, &back, sizeof(l));
	free(json);
	/* a released Lease: no holder; a new one (POST): no rv */
	l.holder[0] = '\0';
	l.rv[0] = '\0';
	json = ebt_lease_json("obs", "n", &l);
	assert_null(strstr(json, "holderIdentity"));
	assert_null(strstr(json, "resourceVersion"));
	free(json);
	assert_int_equal(ebt_lease_parse("{\"spec\":{}}", 11, &l, err,
					 sizeof(err)), -1);
	assert_int_equal(ebt_lease_parse("{\"metadata\":{\"resourceVersion\":"
					 "\"1\"}}", 36, &l, err, sizeof(err)),
			 0);
	assert_string_equal(l.holder, "");
}

static void test_lease_decide(void **state)
{
	struct ebt_lease_watch w = {0};
	struct ebt_lease l = { .holder = "other", .rv = "1", .duration_s = 15,
			       .renew_ns = T0 * S };
	uint64_t now = 1000 * S;

	(void)state;
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now), LEASE_WAIT);
	/* unchanged for less than the duration: still held */
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now + 14 * S),
			 LEASE_WAIT);
	/* renewed (new rv and renewTime): the clock starts again */
	strcpy(l.rv, "2");
	l.renew_ns += 5 * S;
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now + 14 * S),
			 LEASE_WAIT);
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now + 28 * S),
			 LEASE_WAIT);
	/* not renewed for the duration on this host's clock: take it */
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now + 29 * S),
			 LEASE_TAKE);
	/* mine: renew; released (no holder): take at once */
	strcpy(l.holder, "me");
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now), LEASE_RENEW);
	l.holder[0] = '\0';
	assert_int_equal(ebt_lease_decide(&w, &l, "me", now), LEASE_TAKE);
	/* no duration: 15 s */
	struct ebt_lease_watch w2 = {0};
	struct ebt_lease l2 = { .holder = "x", .rv = "9" };

	assert_int_equal(ebt_lease_decide(&w2, &l2, "me", now), LEASE_WAIT);
	assert_int_equal(ebt_lease_decide(&w2, &l2, "me", now + 15 * S),
			 LEASE_TAKE);
}

/* An entry with explicit labels: its own stream in the push body. */
static void test_loki_labeled_entry(void **state)
{
	struct loki_batch *b = loki_batch_new("vicky-test");
	struct loki_labels *ls = malloc(sizeof(*ls));
	struct loki_entry *en;
	char *json;
	size_t len, size = 0;

	(void)state;
	loki_labels_init(ls);
	assert_int_equal(loki_labels_add(ls, "job", KEV_JOB), 0);
	assert_int_equal(loki_labels_add(ls, "kind", "Pod"), 0);
	assert_int_equal(loki_labels_finish(ls), 0);
	en = loki_entry_new_labeled(ls, T0 * S, "type=Normal", 11, &size);
	assert_non_null(en);
	assert_true(size > sizeof(*en) + 11);
	assert_int_equal(loki_batch_push(b, en), 0);
	assert_int_equal(loki_batch_prepare(b), 0);
	json = loki_batch_json(b, 0, 1, &len);
	assert_non_null(json);
	assert_string_equal(json,
		"{\"streams\":[{\"stream\":{\"job\":\"" KEV_JOB "\","
		"\"kind\":\"Pod\"},\"values\":[[\"1714557600000000000\","
		"\"type=Normal\"]]}]}");
	free(json);
	loki_batch_free(b);
	/* NULL labels: no entry */
	assert_null(loki_entry_new_labeled(NULL, 0, "x", 1, NULL));
}

/* The eventhandler stream labels of an event (k8s_events.c). */
static void test_event_labels(void **state)
{
	struct ebt_kevent *e = parse_event(EVENT);
	struct loki_labels ls;

	(void)state;
	assert_int_equal(ebt_kevent_labels(e, "vicky-test", &ls), 0);
	assert_string_equal(ls.key, "{cluster=\"vicky-test\", job=\"" KEV_JOB
			    "\", kind=\"Pod\", kubernetes_cluster_events=\""
			    KEV_JOB "\", name=\"web-0\", namespace=\"shop\"}");
	loki_labels_free(&ls);
	/* no cluster configured, a cluster-scoped object: no such labels */
	free(e->obj_ns);
	e->obj_ns = NULL;
	free(e->ns);
	e->ns = strdup("default");
	assert_int_equal(ebt_kevent_labels(e, NULL, &ls), 0);
	assert_int_equal(ls.n, 5);
	assert_null(strstr(ls.key, "cluster="));
	assert_non_null(strstr(ls.key, "namespace=\"default\""));
	loki_labels_free(&ls);
	ebt_kevent_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_parse),
		cmocka_unit_test(test_event_series_and_node),
		cmocka_unit_test(test_watch_lines),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_new_and_mark),
		cmocka_unit_test(test_lease_parse_and_json),
		cmocka_unit_test(test_lease_decide),
		cmocka_unit_test(test_loki_labeled_entry),
		cmocka_unit_test(test_event_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
