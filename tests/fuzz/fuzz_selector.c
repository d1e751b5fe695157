/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for label selectors (user/selector.c).
 *
 * Input: a selector text. Checks: parsing never reads past the text; an
 * accepted selector has valid keys and values only, holds at most
 * SEL_MAX_REQS requirements, matches an empty label set only through
 * negative requirements, and matches deterministically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "fuzz_check.h"

static void check_req(const struct ebt_sel_req *r)
{
	CHECK(ebt_label_key_valid(r->key, strlen(r->key)));
	CHECK(r->n_values <= SEL_MAX_VALUES);
	for (unsigned i = 0; i < r->n_values; i++)
		CHECK(ebt_label_value_valid(r->values[i], strlen(r->values[i])));
	if (r->op == SEL_EQ || r->op == SEL_NE)
		CHECK(r->n_values >= 1);
}

/* With no labels, only !key and !=/notin requirements hold. */
static void check_empty_labels(const struct ebt_labelsel *s)
{
	bool all_negative = true;

	for (unsigned i = 0; i < s->n; i++)
		all_negative &= s->reqs[i].op == SEL_NOT_EXISTS ||
				s->reqs[i].op == SEL_NE;
	CHECK(ebt_labelsel_match(s, NULL, 0) == all_negative);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ebt_labelsel sel;
	struct ebt_kv kv[2] = { { "app", "web" }, { "n", "7" } };
	char *text = malloc(size + 1);
	char err[256];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ebt_labelsel_parse(text, &sel, err, sizeof(err)) == 0) {
		CHECK(sel.n <= SEL_MAX_REQS);
		for (unsigned i = 0; i < sel.n; i++)
			check_req(&sel.reqs[i]);
		check_empty_labels(&sel);
		CHECK(ebt_labelsel_match(&sel, kv, 2) ==
		      ebt_labelsel_match(&sel, kv, 2));
	} else {
		CHECK(err[0] != '\0');
	}
	free(text);
	return 0;
}
