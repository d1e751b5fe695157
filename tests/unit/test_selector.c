/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for label selectors and the pod filter (user/selector.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "selector.h"

static struct ebt_kv web[] = {
	{ "app", "web" }, { "tier", "frontend" }, { "env", "prod" },
	{ "replicas", "3" }, { "app.kubernetes.io/name", "shop" },
};
#define N_WEB 5

static struct ebt_labelsel *parse_ok(const char *text)
{
	struct ebt_labelsel *s = malloc(sizeof(*s));
	char err[256] = "";

	assert_non_null(s);
	if (ebt_labelsel_parse(text, s, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	return s;
}

static bool matches(const char *text)
{
	struct ebt_labelsel *s = parse_ok(text);
	bool m = ebt_labelsel_match(s, web, N_WEB);

	free(s);
	return m;
}

static void expect_refused(const char *text, const char *why)
{
	struct ebt_labelsel *s = malloc(sizeof(*s));
	char err[256] = "";

	assert_non_null(s);
	if (ebt_labelsel_parse(text, s, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", text);
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, why);
	free(s);
}

static void test_equality(void **state)
{
	(void)state;
	assert_true(matches("app=web"));
	assert_true(matches("app==web"));
	assert_true(matches(" app = web , tier = frontend "));
	assert_false(matches("app=api"));
	assert_true(matches("app!=api"));
	assert_false(matches("app!=web"));
	assert_true(matches("missing!=x")); /* absent: not equal */
	assert_false(matches("missing=x"));
	assert_true(matches("app.kubernetes.io/name=shop"));
	assert_false(matches("app=web,tier=backend")); /* and */
	assert_false(matches("app=")); /* the empty value */
}

static void test_sets(void **state)
{
	(void)state;
	assert_true(matches("env in (prod, staging)"));
	assert_true(matches("env in(prod)"));
	assert_false(matches("env in (dev,staging)"));
	assert_true(matches("env notin (dev)"));
	assert_false(matches("env notin (dev, prod)"));
	assert_true(matches("missing notin (a)"));
	assert_false(matches("missing in (a)"));
	assert_true(matches("env in (prod),app=web"));
}

static void test_existence_and_numbers(void **state)
{
	(void)state;
	assert_true(matches("app"));
	assert_false(matches("!app"));
	assert_true(matches("!canary"));
	assert_false(matches("canary"));
	assert_true(matches("replicas>2"));
	assert_false(matches("replicas>3"));
	assert_true(matches("replicas < 4"));
	assert_false(matches("app>1")); /* not a number */
	assert_false(matches("missing<10"));
	/* a key named like a keyword is a key */
	assert_false(matches("in"));
	assert_false(matches("notin=x"));
}

static void test_empty_matches_everything(void **state)
{
	(void)state;
	assert_true(matches(""));
	assert_true(matches("   "));
}

static void test_refused(void **state)
{
	char big[600];

	(void)state;
	expect_refused(",", "expected a label key");
	expect_refused("app=web,", "expected a label key");
	expect_refused("app in prod", "expected '('");
	expect_refused("app in (a b)", "expected ',' or ')'");
	expect_refused("app in (a", "expected ',' or ')'");
	expect_refused("-app=x", "invalid label key");
	expect_refused("Example.COM/app=x", "invalid label key");
	expect_refused("app=-x", "invalid label value");
	expect_refused("app>x", "integer");
	expect_refused("app=x y", "expected ','");
	expect_refused("app=x;rm", "expected ','");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_refused(big, "invalid label key");
}

static void test_keys_and_values(void **state)
{
	(void)state;
	assert_true(ebt_label_key_valid("a", 1));
	assert_true(ebt_label_key_valid("example.com/a-b_c.d", 19));
	assert_false(ebt_label_key_valid("/a", 2));
	assert_false(ebt_label_key_valid("a/", 2));
	assert_false(ebt_label_key_valid("ex..com/a", 9));
	assert_false(ebt_label_key_valid("a_", 2));
	assert_true(ebt_label_value_valid("", 0));
	assert_true(ebt_label_value_valid("v1.2", 4));
	assert_false(ebt_label_value_valid("a/b", 3));
}

static void test_pod_filter(void **state)
{
	const char *inc[] = { "shop", "team-*" };
	const char *exc[] = { "team-legacy" };
	struct ebt_pod_filter *f = calloc(1, sizeof(*f));
	char err[128];

	(void)state;
	assert_non_null(f);
	f->include = inc;
	f->n_include = 2;
	f->exclude = exc;
	f->n_exclude = 1;
	assert_true(ebt_pod_filter_ns(f, "shop"));
	assert_true(ebt_pod_filter_ns(f, "team-a"));
	assert_false(ebt_pod_filter_ns(f, "team-legacy"));
	assert_false(ebt_pod_filter_ns(f, "shopping"));
	assert_false(ebt_pod_filter_ns(f, NULL));
	assert_int_equal(ebt_labelsel_parse("tier=frontend", &f->sel, err,
					    sizeof(err)), 0);
	assert_true(ebt_pod_filter_match(f, "shop", web, N_WEB));
	assert_false(ebt_pod_filter_match(f, "shop", web, 1));
	f->n_include = 0; /* exclude only */
	assert_true(ebt_pod_filter_ns(f, "anything"));
	assert_false(ebt_pod_filter_ns(f, "team-legacy"));
	assert_true(ebt_ns_pattern_valid("kube-*"));
	assert_false(ebt_ns_pattern_valid("Kube"));
	assert_false(ebt_ns_pattern_valid(""));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equality),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_existence_and_numbers),
		cmocka_unit_test(test_empty_matches_everything),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_keys_and_values),
		cmocka_unit_test(test_pod_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
