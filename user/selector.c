/* SPDX-License-Identifier: Apache-2.0 */
/* Label selectors and the pod filter: pure parsing and matching. */
#include "selector.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 63
#define PREFIX_MAX_LEN 253

/* ---- key and value syntax ----------------------------------------------- */

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* 1-63 of [A-Za-z0-9._-], alphanumeric at both ends. */
static bool name_valid(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* DNS subdomain: dot-separated labels of [a-z0-9-], alnum at both ends. */
static bool subdomain_valid(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > PREFIX_MAX_LEN)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!islower((unsigned char)s[i]) &&
			    !isdigit((unsigned char)s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

bool ebt_label_key_valid(const char *key, size_t len)
{
	const char *slash = memchr(key, '/', len);

	if (!slash)
		return name_valid(key, len);
	return subdomain_valid(key, (size_t)(slash - key)) &&
	       name_valid(slash + 1, len - (size_t)(slash - key) - 1);
}

bool ebt_label_value_valid(const char *v, size_t len)
{
	return len == 0 || name_valid(v, len);
}

/* ---- the parser ------------------------------------------------------------ */

struct cursor {
	const char *s;
	size_t i;
	char *err;
	size_t errlen;
};

static void skip_ws(struct cursor *c)
{
	while (isspace((unsigned char)c->s[c->i]))
		c->i++;
}

static int fail(struct cursor *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s at offset %zu of '%s'", what, c->i,
		 c->s);
	return -1;
}

/* A word of key/value characters; its length (0: none here). */
static size_t word(struct cursor *c, const char **start)
{
	size_t n = 0;

	skip_ws(c);
	*start = c->s + c->i;
	while (name_char(c->s[c->i + n]) || c->s[c->i + n] == '/')
		n++;
	c->i += n;
	return n;
}

static bool eat(struct cursor *c, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(c);
	if (strncmp(c->s + c->i, tok, n) != 0)
		return false;
	c->i += n;
	return true;
}

static int parse_key(struct cursor *c, struct ebt_sel_req *r)
{
	const char *k;
	size_t n = word(c, &k);

	if (n == 0)
		return fail(c, "expected a label key");
	if (!ebt_label_key_valid(k, n))
		return fail(c, "invalid label key");
	memcpy(r->key, k, n);
	r->key[n] = '\0';
	return 0;
}

static int add_value(struct cursor *c, struct ebt_sel_req *r)
{
	const char *v;
	size_t n = word(c, &v);

	if (!ebt_label_value_valid(v, n))
		return fail(c, "invalid label value (at most 63 of "
			    "[A-Za-z0-9._-], alphanumeric at both ends)");
	if (r->n_values >= SEL_MAX_VALUES)
		return fail(c, "too many values in a set");
	memcpy(r->values[r->n_values], v, n);
	r->values[r->n_values++][n] = '\0';
	return 0;
}

/* '(' value {',' value} ')' */
static int parse_set(struct cursor *c, struct ebt_sel_req *r)
{
	if (!eat(c, "("))
		return fail(c, "expected '(' after in/notin");
	do {
		if (add_value(c, r) != 0)
			return -1;
	} while (eat(c, ","));
	if (!eat(c, ")"))
		return fail(c, "expected ',' or ')' in a value set");
	return 0;
}

static int parse_number(struct cursor *c, struct ebt_sel_req *r)
{
	const char *v;
	size_t n = word(c, &v);
	char buf[32], *end;

	if (n == 0 || n >= sizeof(buf))
		return fail(c, "expected an integer after > or <");
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	r->num = strtoll(buf, &end, 10);
	if (errno || *end)
		return fail(c, "expected an integer after > or <");
	return 0;
}

/* "in" or "notin" followed by a non-word character. */
static bool keyword(struct cursor *c, const char *kw)
{
	size_t save = c->i;

	if (!eat(c, kw))
		return false;
	if (!name_char(c->s[c->i]) && c->s[c->i] != '/')
		return true;
	c->i = save;
	return false;
}

static int parse_op(struct cursor *c, struct ebt_sel_req *r)
{
	if (eat(c, "==") || eat(c, "=")) {
		r->op = SEL_EQ;
		return add_value(c, r);
	}
	if (eat(c, "!=")) {
		r->op = SEL_NE;
		return add_value(c, r);
	}
	if (eat(c, ">") || eat(c, "<")) {
		r->op = c->s[c->i - 1] == '>' ? SEL_GT : SEL_LT;
		return parse_number(c, r);
	}
	if (keyword(c, "in")) {
		r->op = SEL_EQ;
		return parse_set(c, r);
	}
	if (keyword(c, "notin")) {
		r->op = SEL_NE;
		return parse_set(c, r);
	}
	r->op = SEL_EXISTS;
	return 0;
}

static int parse_req(struct cursor *c, struct ebt_sel_req *r)
{
	memset(r, 0, sizeof(*r));
	if (eat(c, "!")) {
		r->op = SEL_NOT_EXISTS;
		return parse_key(c, r);
	}
	if (parse_key(c, r) != 0)
		return -1;
	return parse_op(c, r);
}

int ebt_labelsel_parse(const char *text, struct ebt_labelsel *out,
		       char *err, size_t errlen)
{
	struct cursor c = { .s = text, .err = err, .errlen = errlen };

	out->n = 0;
	skip_ws(&c);
	if (!text[c.i])
		return 0;
	do {
		if (out->n >= SEL_MAX_REQS)
			return fail(&c, "too many requirements");
		if (parse_req(&c, &out->reqs[out->n++]) != 0)
			return -1;
	} while (eat(&c, ","));
	skip_ws(&c);
	if (text[c.i])
		return fail(&c, "expected ',' between requirements");
	return 0;
}

/* ---- matching ------------------------------------------------------------- */

static bool in_values(const struct ebt_sel_req *r, const char *v)
{
	for (unsigned i = 0; i < r->n_values; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool compare(const struct ebt_sel_req *r, const char *v)
{
	char *end;
	long long x;

	if (!v)
		return false;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return false;
	return r->op == SEL_GT ? x > r->num : x < r->num;
}

static bool req_match(const struct ebt_sel_req *r, const struct ebt_kv *kv,
		      unsigned n)
{
	const char *v = ebt_kv_get(kv, n, r->key);

	switch (r->op) {
	case SEL_EXISTS:
		return v != NULL;
	case SEL_NOT_EXISTS:
		return v == NULL;
	case SEL_EQ:
		return v && in_values(r, v);
	case SEL_NE:
		return !v || !in_values(r, v);
	case SEL_GT:
	case SEL_LT:
		return compare(r, v);
	}
	return false;
}

bool ebt_labelsel_match(const struct ebt_labelsel *s,
			const struct ebt_kv *labels, unsigned n)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!req_match(&s->reqs[i], labels, n))
			return false;
	return true;
}

/* ---- the pod filter ------------------------------------------------------- */

bool ebt_ns_pattern_valid(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)p[i]) &&
		    !isdigit((unsigned char)p[i]) && !strchr("-*?[]!", p[i]))
			return false;
	return true;
}

static bool ns_in(const char *const *pats, unsigned n, const char *ns)
{
	for (unsigned i = 0; i < n; i++)
		if (fnmatch(pats[i], ns, 0) == 0)
			return true;
	return false;
}

bool ebt_pod_filter_ns(const struct ebt_pod_filter *f, const char *ns)
{
	if (!ns)
		return false;
	if (f->n_include && !ns_in(f->include, f->n_include, ns))
		return false;
	return !ns_in(f->exclude, f->n_exclude, ns);
}

bool ebt_pod_filter_match(const struct ebt_pod_filter *f, const char *ns,
			  const struct ebt_kv *labels, unsigned n)
{
	return ebt_pod_filter_ns(f, ns) && ebt_labelsel_match(&f->sel, labels, n);
}
