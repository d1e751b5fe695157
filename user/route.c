/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request-target helpers: route templating, target splitting, query
 * redaction, sensitive header names and method normalisation.
 * Pure functions, no allocation.
 */
#include "http.h"

#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* ---- route templating ------------------------------------------------- */

/*
 * Rules, applied to each '/'-separated segment of the path; the first match
 * wins. The slashes and empty segments are kept as they are (nothing is
 * collapsed, "/" stays "/", an empty path becomes "/"):
 *   {id}    only digits ("42", "2024")
 *   {uuid}  8-4-4-4-12 hex digits with dashes, any case
 *   {hex}   8 or more hex digits, at least one of them 0-9 ("5f3a9c01");
 *           all-letter words such as "deadbeef" or "facade" are kept
 *   {token} 16 or more of [A-Za-z0-9_-] with at least one digit and one
 *           letter (API keys, base64url ids, hashes with dashes)
 * Anything else is kept verbatim. Output longer than outsz-1 is truncated.
 */
static bool seg_numeric(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return n > 0;
}

static bool seg_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return false;
	}
	return true;
}

static bool seg_hex(const char *s, size_t n)
{
	bool digit = false;

	if (n < 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_hex(s[i]))
			return false;
		digit |= is_digit(s[i]);
	}
	return digit;
}

static bool seg_token(const char *s, size_t n)
{
	bool digit = false, alpha = false;

	if (n < 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]) && !is_alpha(s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return false;
		digit |= is_digit(s[i]);
		alpha |= is_alpha(s[i]);
	}
	return digit && alpha;
}

static const struct seg_rule {
	const char *placeholder;
	bool (*match)(const char *s, size_t n);
} seg_rules[] = {
	{ "{id}", seg_numeric },
	{ "{uuid}", seg_uuid },
	{ "{hex}", seg_hex },
	{ "{token}", seg_token },
};

struct out {
	char *p;
	size_t cap; /* including the NUL */
	size_t n;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	size_t room = o->cap - 1 - o->n;

	if (n > room)
		n = room;
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void route_segment(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(seg_rules); i++) {
		if (seg_rules[i].match(s, n)) {
			out_put(o, seg_rules[i].placeholder,
				strlen(seg_rules[i].placeholder));
			return;
		}
	}
	out_put(o, s, n);
}

size_t http_route_template(const char *path, size_t len, char *out,
			   size_t outsz)
{
	struct out o = { out, outsz, 0 };
	size_t i = 0;

	if (!out || outsz == 0)
		return 0;
	if (!path || len == 0) {
		out_put(&o, "/", 1);
		len = 0;
	}
	while (i < len) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;

		route_segment(&o, path + i, end - i);
		if (slash)
			out_put(&o, "/", 1);
		i = end + 1;
	}
	out[o.n] = '\0';
	return o.n;
}

/* ---- target splitting ------------------------------------------------- */

/* Length of "scheme://" at the start of t, or 0. */
static size_t scheme_len(const char *t)
{
	size_t i = 0;

	if (!is_alpha(t[0]))
		return 0;
	while (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' ||
	       t[i] == '-' || t[i] == '.')
		i++;
	return strncmp(t + i, "://", 3) == 0 ? i + 3 : 0;
}

/*
 * The host[:port] of an absolute-form target ("http://u:pw@h:81/p" ->
 * "h:81", userinfo left out: it may hold a password); empty for any other
 * form.
 */
void http_target_authority(const char *target, const char **auth,
			   size_t *len)
{
	const char *t = target ? target : "";
	size_t sl = scheme_len(t), n = sl ? strcspn(t + sl, "/?#") : 0;
	const char *a = t + sl, *at;

	while ((at = memchr(a, '@', n - (size_t)(a - t - sl))))
		a = at + 1;
	*auth = a;
	*len = n - (size_t)(a - t - sl);
}

/*
 * origin-form "/p?q"          -> path "/p", query "q"
 * absolute-form "http://h/p?q" -> path "/p", query "q" ("http://h" -> "/")
 * asterisk-form "*"            -> path "*"
 * authority-form "host:443"    -> empty path, empty query
 * A '#' fragment, never sent by conforming clients, ends path and query.
 * Absent parts are empty strings (never NULL).
 */
void http_split_target(const char *target, const char **path,
		       size_t *path_len, const char **query, size_t *query_len)
{
	const char *t = target ? target : "";
	size_t sl = scheme_len(t);
	size_t p, e;

	if (sl) {
		p = sl + strcspn(t + sl, "/?#");
	} else if (t[0] == '/' || t[0] == '*') {
		p = 0;
	} else {
		p = strlen(t); /* authority-form: no path */
		*path = t + p;
		*path_len = 0;
		*query = t + p;
		*query_len = 0;
		return;
	}
	e = p + strcspn(t + p, "?#");
	*path = t + p;
	*path_len = e - p;
	if (sl && e == p) {
		*path = "/";
		*path_len = 1;
	}
	if (t[e] == '?') {
		*query = t + e + 1;
		*query_len = strcspn(t + e + 1, "#");
	} else {
		*query = t + e + strlen(t + e);
		*query_len = 0;
	}
}

/* ---- query redaction -------------------------------------------------- */

/*
 * REDACT: every "key=value" parameter becomes "key=REDACTED" (also when the
 * value is empty); a parameter without '=' is a bare key and kept as is;
 * the '&' separators are kept. Output longer than outsz-1 is truncated.
 */
static void redact_params(struct out *o, const char *q, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *amp = memchr(q + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - q) : len;
		const char *eq = memchr(q + i, '=', end - i);

		if (eq) {
			out_put(o, q + i, eq - (q + i));
			out_put(o, "=REDACTED", 9);
		} else {
			out_put(o, q + i, end - i);
		}
		if (amp)
			out_put(o, "&", 1);
		i = end + 1;
	}
}

size_t http_query_redact(const char *q, size_t len, enum http_query_mode mode,
			 char *out, size_t outsz)
{
	struct out o = { out, outsz, 0 };

	if (!out || outsz == 0)
		return 0;
	if (q && len && mode == HTTP_QUERY_KEEP)
		out_put(&o, q, len);
	else if (q && len && mode == HTTP_QUERY_REDACT)
		redact_params(&o, q, len);
	out[o.n] = '\0';
	return o.n;
}

/* ---- header names and methods ----------------------------------------- */

bool http_header_is_sensitive(const char *name, size_t len)
{
	static const char *const names[] = {
		"authorization",
		"proxy-authorization",
		"cookie",
		"set-cookie",
	};

	if (!name)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t j = 0;

		if (strlen(names[i]) != len)
			continue;
		while (j < len && lower(name[j]) == names[i][j])
			j++;
		if (j == len)
			return true;
	}
	return false;
}

const char *http_method_normalize(const char *method)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE",
		"CONNECT", "OPTIONS", "TRACE", "PATCH",
	};

	for (size_t i = 0; method && i < ARRAY_SIZE(known); i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "_OTHER";
}
