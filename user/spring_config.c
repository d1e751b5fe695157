/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spring Boot's configuration files, for the context path (see the header).
 *
 * Precedence, highest first, as Spring Boot 2.4 and later orders its
 * config data: files of the working directory over the class path's;
 * within each, profile-specific files (application-{p}.*) over the others,
 * a later active profile over an earlier one; then config/ over the
 * directory itself; then .properties over .yml over .yaml; then, for the
 * same name in two class path entries, the first entry; within a file,
 * the later document.
 */
#include "spring_config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CFG_FILE_MAX (256u << 10)
#define KEY_MAX 512
#define VALUE_MAX 512
#define YAML_DEPTH_MAX 64
#define YAML_PATH_MAX (YAML_DEPTH_MAX * 132)
#define DOCS_MAX 8191

void ebt_context_path(const char *v, size_t n, char *out)
{
	size_t at = 0;

	while (n && (*v == ' ' || *v == '\t' || *v == '/'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' ||
		     v[n - 1] == '/'))
		n--;
	out[0] = '\0';
	if (!n || n + 2 > EBT_CONTEXT_PATH_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f ||
		    (v[i] == '$' && i + 1 < n && v[i + 1] == '{'))
			return;
	out[at++] = '/';
	memcpy(out + at, v, n);
	out[at + n] = '\0';
}

/* ---- keys, as relaxed binding compares them ------------------------- */

static int fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool key_sep(char c)
{
	return c == '-' || c == '_';
}

/* Is k[0..n) want ('.'-separated), '-', '_' and case aside? */
static bool key_is(const char *k, size_t n, const char *want)
{
	size_t i = 0;

	for (; *want; want++) {
		if (key_sep(*want))
			continue;
		while (i < n && key_sep(k[i]))
			i++;
		if (i == n || fold((unsigned char)k[i]) !=
				      fold((unsigned char)*want))
			return false;
		i++;
	}
	while (i < n && key_sep(k[i]))
		i++;
	return i == n;
}

/* ---- documents ---------------------------------------------------------- */

/* What one document says. */
struct doc {
	struct ebt_spring_cfg *cfg;
	const struct ebt_spring_file *file;
	unsigned no;
	bool has_value;
	char value[EBT_CONTEXT_PATH_MAX];
	char on_profile[EBT_PROFILE_MAX];
};

/* Is k[0..n) the key cfg reads? */
static bool cfg_key(const struct ebt_spring_cfg *cfg, const char *k, size_t n)
{
	static const char *const ctx[] = EBT_CONTEXT_PATH_KEYS;

	if (cfg->key[0])
		return key_is(k, n, cfg->key);
	for (size_t i = 0; i < EBT_CONTEXT_PATH_NKEYS; i++)
		if (key_is(k, n, ctx[i]))
			return true;
	return false;
}

static void doc_key(struct doc *d, const char *k, size_t kn, const char *v,
		    size_t vn, bool item)
{
	size_t at;

	if (cfg_key(d->cfg, k, kn) && !item) {
		d->has_value = true;
		if (vn >= sizeof(d->value)) /* too long to be a context path */
			snprintf(d->value, sizeof(d->value), "${");
		else
			snprintf(d->value, sizeof(d->value), "%.*s", (int)vn,
				 v);
	} else if (key_is(k, kn, "spring.config.activate.on-profile") ||
		   key_is(k, kn, "spring.profiles")) {
		at = item ? strlen(d->on_profile) : 0;
		if (at + (at > 0) + vn + 1 > sizeof(d->on_profile)) {
			snprintf(d->on_profile, sizeof(d->on_profile), "(");
			return; /* too long to read: matches nothing */
		}
		if (at)
			d->on_profile[at++] = ',';
		memcpy(d->on_profile + at, v, vn);
		d->on_profile[at + vn] = '\0';
	}
}

/* The document ends: kept if it set the context path. */
static void doc_end(struct doc *d)
{
	struct ebt_spring_cfg *cfg = d->cfg;
	struct ebt_spring_setting *s;

	if (d->has_value && cfg->n < EBT_SPRING_SETTINGS_MAX) {
		s = &cfg->v[cfg->n++];
		s->file = *d->file;
		s->file_no = cfg->files;
		s->doc = d->no;
		memcpy(s->value, d->value, sizeof(s->value));
		memcpy(s->on_profile, d->on_profile, sizeof(s->on_profile));
	}
	d->has_value = false;
	d->value[0] = d->on_profile[0] = '\0';
	if (d->no < DOCS_MAX)
		d->no++;
}

/* ---- .properties ------------------------------------------------------ */

static bool is_white(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

/* The natural line at text[*i..n), without its end; *i moves past it. */
static size_t natural_line(const char *text, size_t n, size_t *i,
			   const char **line)
{
	size_t s = *i, e = s;

	while (e < n && text[e] != '\n' && text[e] != '\r')
		e++;
	*line = text + s;
	*i = e + (e < n) + (e + 1 < n && text[e] == '\r' && text[e + 1] == '\n');
	return e - s;
}

static bool odd_backslashes(const char *l, size_t n)
{
	size_t k = 0;

	while (k < n && l[n - 1 - k] == '\\')
		k++;
	return k % 2;
}

/* The next logical line (continuations joined, comments and blank lines
 * passed) into buf; false at the end. *sep: it is a document separator. */
static bool logical_line(const char *text, size_t n, size_t *i, char *buf,
			 size_t *len, bool *sep)
{
	const char *l;
	size_t ln, at = 0;
	bool more;

	do {
		if (*i >= n)
			return false;
		ln = natural_line(text, n, i, &l);
		*sep = (ln == 4 && (memcmp(l, "#---", 4) == 0 ||
				    memcmp(l, "!---", 4) == 0));
		while (ln && is_white(*l))
			l++, ln--;
	} while (!*sep && (!ln || *l == '#' || *l == '!'));
	for (;;) {
		more = odd_backslashes(l, ln);
		ln -= more;
		if (ln > VALUE_MAX + KEY_MAX - at)
			ln = VALUE_MAX + KEY_MAX - at;
		memcpy(buf + at, l, ln);
		at += ln;
		if (!more || *i >= n)
			break;
		ln = natural_line(text, n, i, &l);
		while (ln && is_white(*l))
			l++, ln--;
	}
	*len = at;
	return true;
}

/* Decodes the escapes of s[0..n) into out (cap bytes); its length. A
 * \u escape beyond ASCII becomes 0x01, which no key or path holds. */
static size_t unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < n) {
			c = s[++i];
			c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r'
			    : c == 'f' ? '\f' : c;
			if (s[i] == 'u' && i + 4 < n) {
				unsigned long u = strtoul((char[]){s[i + 1],
							  s[i + 2], s[i + 3],
							  s[i + 4], 0},
							 NULL, 16);
				c = u && u < 0x80 ? (char)u : 0x01;
				i += 4;
			}
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

/* One logical line: its key and value, as java.util.Properties splits
 * them (the key ends at an unescaped '=', ':' or white space). */
static void property(struct doc *d, const char *l, size_t n)
{
	char key[KEY_MAX], value[VALUE_MAX];
	size_t k = 0, v, kn, vn;

	while (k < n && l[k] != '=' && l[k] != ':' && !is_white(l[k]))
		k += (l[k] == '\\' && k + 1 < n) ? 2 : 1;
	if (k > n)
		k = n;
	v = k;
	while (v < n && is_white(l[v]))
		v++;
	if (v < n && (l[v] == '=' || l[v] == ':'))
		v++;
	while (v < n && is_white(l[v]))
		v++;
	kn = unescape(l, k, key, sizeof(key));
	vn = unescape(l + v, n - v, value, sizeof(value));
	doc_key(d, key, kn, value, vn, false);
}

static void properties(struct doc *d, const char *text, size_t n)
{
	char *buf = malloc(KEY_MAX + VALUE_MAX);
	size_t i = 0, len;
	bool sep;

	if (!buf)
		return;
	while (logical_line(text, n, &i, buf, &len, &sep)) {
		if (sep)
			doc_end(d);
		else
			property(d, buf, len);
	}
	doc_end(d);
	free(buf);
}

/* ---- YAML ----------------------------------------------------------------- */

/* Where a YAML event stream is: the dotted path of keys down to here. */
struct yframe {
	bool seq;	 /* a sequence, else a mapping */
	bool want_value; /* a mapping whose key has been read */
	size_t base;	 /* the path's length at this collection */
};

struct ywalk {
	struct doc *d;
	struct yframe f[YAML_DEPTH_MAX];
	unsigned depth;
	char path[YAML_PATH_MAX];
	size_t len;
};

/* Appends a key to the path; one that does not fit, or a key that is not
 * a scalar (NULL), becomes "\x01", which matches no key. */
static void path_push(struct ywalk *w, const char *k, size_t n)
{
	if (!k || n > 128 || memchr(k, '\0', n))
		k = "\x01", n = 1;
	if (w->len)
		w->path[w->len++] = '.';
	memcpy(w->path + w->len, k, n);
	w->len += n;
}

/* A node (scalar or collection) ended in the collection on top. */
static void node_done(struct ywalk *w)
{
	struct yframe *t;

	if (!w->depth)
		return;
	t = &w->f[w->depth - 1];
	if (!t->seq && !t->want_value) {
		t->want_value = true;
		return;
	}
	t->want_value = false;
	w->len = t->base;
}

static void y_scalar(struct ywalk *w, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	struct yframe *t = w->depth ? &w->f[w->depth - 1] : NULL;

	if (t && !t->seq && !t->want_value) {
		path_push(w, v, n);
	} else if (t) {
		if (ev->data.scalar.plain_implicit &&
		    ((n == 1 && v[0] == '~') ||
		     (n == 4 && (!memcmp(v, "null", 4) ||
				 !memcmp(v, "Null", 4) ||
				 !memcmp(v, "NULL", 4)))))
			n = 0;
		doc_key(w->d, w->path, w->len, v, n, t->seq);
	}
	node_done(w);
}

/* A mapping or sequence starts: under the key read, or as an item or key
 * whose own keys no setting is under. */
static bool y_open(struct ywalk *w, bool seq)
{
	struct yframe *t = w->depth ? &w->f[w->depth - 1] : NULL;

	if (w->depth == YAML_DEPTH_MAX)
		return false;
	if (t && (t->seq || !t->want_value))
		path_push(w, NULL, 0);
	w->f[w->depth++] = (struct yframe){.seq = seq, .base = w->len};
	return true;
}

static void y_close(struct ywalk *w)
{
	if (w->depth)
		w->len = w->f[--w->depth].base;
	node_done(w);
}

/* One event; false at the end of the stream (or too deep to follow). */
static bool y_event(struct ywalk *w, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return false;
	case YAML_DOCUMENT_START_EVENT:
		w->depth = 0;
		w->len = 0;
		break;
	case YAML_DOCUMENT_END_EVENT:
		doc_end(w->d);
		break;
	case YAML_SCALAR_EVENT:
		y_scalar(w, ev);
		break;
	case YAML_ALIAS_EVENT:
		if (w->depth && !w->f[w->depth - 1].seq &&
		    !w->f[w->depth - 1].want_value)
			path_push(w, NULL, 0);
		node_done(w);
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		return y_open(w, ev->type == YAML_SEQUENCE_START_EVENT);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		y_close(w);
		break;
	default:
		break;
	}
	return true;
}

static void yaml(struct doc *d, const char *text, size_t n)
{
	struct ywalk *w = calloc(1, sizeof(*w));
	yaml_parser_t p;
	yaml_event_t ev;
	bool more = true;

	if (!w || !yaml_parser_initialize(&p)) {
		free(w);
		return;
	}
	w->d = d;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
	while (more && yaml_parser_parse(&p, &ev)) {
		more = y_event(w, &ev);
		yaml_event_delete(&ev);
	}
	if (more) /* an error: the document read so far, as far as it went */
		doc_end(d);
	yaml_parser_delete(&p);
	free(w);
}

/* ---- files ------------------------------------------------------------- */

bool ebt_spring_file_name(const char *name, size_t n,
			  struct ebt_spring_file *f)
{
	static const char *const ext[] = {".yaml", ".yml", ".properties"};
	size_t stem = 0, en;

	if (n < 11 || memcmp(name, "application", 11) != 0 ||
	    memchr(name, '/', n))
		return false;
	for (unsigned e = 0; e < 3 && !stem; e++) {
		en = strlen(ext[e]);
		if (n > 11 + en - 1 && !memcmp(name + n - en, ext[e], en)) {
			stem = n - en;
			f->ext = e;
		}
	}
	if (stem == 11) {
		f->profile[0] = '\0';
		return true;
	}
	if (!stem || name[11] != '-' || stem - 12 == 0 ||
	    stem - 12 >= EBT_PROFILE_MAX)
		return false;
	snprintf(f->profile, sizeof(f->profile), "%.*s", (int)(stem - 12),
		 name + 12);
	return true;
}

void ebt_spring_cfg_add(struct ebt_spring_cfg *cfg,
			const struct ebt_spring_file *f, const char *text,
			size_t n)
{
	struct doc d = {.cfg = cfg, .file = f};

	if (f->ext == 2)
		properties(&d, text, n);
	else
		yaml(&d, text, n);
	cfg->files++;
}

/* Reads the file name in dirfd, if it is a config file's. */
static void cfg_file(struct ebt_spring_cfg *cfg, int dirfd, const char *name,
		     struct ebt_spring_file *f)
{
	int fd;
	struct stat st;
	char *buf = NULL;
	ssize_t n = -1;

	if (!ebt_spring_file_name(name, strlen(name), f) ||
	    (fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= CFG_FILE_MAX && (buf = malloc(CFG_FILE_MAX)))
		n = read(fd, buf, CFG_FILE_MAX);
	if (n >= 0)
		ebt_spring_cfg_add(cfg, f, buf, (size_t)n);
	free(buf);
	close(fd);
}

#define DIR_ENTRIES_MAX 10000

/* Every config file in the directory fd (closed here). */
static void cfg_listed(struct ebt_spring_cfg *cfg, int fd,
		       struct ebt_spring_file *f)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	unsigned seen = 0;

	if (!d) {
		close(fd);
		return;
	}
	while (seen++ < DIR_ENTRIES_MAX && (de = readdir(d)))
		if (de->d_type == DT_REG || de->d_type == DT_LNK ||
		    de->d_type == DT_UNKNOWN)
			cfg_file(cfg, dirfd(d), de->d_name, f);
	closedir(d);
}

/* The config files of the active profiles in the directory fd. */
static void cfg_named(struct ebt_spring_cfg *cfg, int fd,
		      struct ebt_spring_file *f, const char *profiles)
{
	static const char *const ext[] = {"properties", "yml", "yaml"};
	char name[EBT_PROFILE_MAX + 32];
	const char *p;
	size_t len;

	for (unsigned e = 0; e < 3; e++) {
		snprintf(name, sizeof(name), "application.%s", ext[e]);
		cfg_file(cfg, fd, name, f);
		for (p = profiles[0] ? profiles : "default"; *p; p += len) {
			p += strspn(p, ", ");
			len = strcspn(p, ",");
			if (len && len < EBT_PROFILE_MAX) {
				snprintf(name, sizeof(name), "application-%.*s.%s",
					 (int)len, p, ext[e]);
				cfg_file(cfg, fd, name, f);
			}
		}
	}
}

void ebt_spring_cfg_dir(struct ebt_spring_cfg *cfg, int dirfd, bool outside,
			const char *profiles)
{
	struct ebt_spring_file f = {.outside = outside};
	int fd;

	for (int sub = 0; sub < 2; sub++) {
		f.config_dir = sub;
		fd = openat(dirfd, sub ? "config" : ".",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!profiles) {
			cfg_listed(cfg, fd, &f);
			continue;
		}
		cfg_named(cfg, fd, &f, profiles);
		close(fd);
	}
}

/* ---- which setting counts ----------------------------------------------- */

/* The position of name[0..n) among the active profiles, -1 if not. */
static int profile_index(const char *name, size_t n, const char *profiles)
{
	int found = -1, k = 0;
	size_t len;

	for (const char *p = profiles[0] ? profiles : "default"; *p;
	     p += len, k++) {
		p += strspn(p, ", \t");
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && n && !memcmp(p, name, n))
			found = k;
		len += strcspn(p + len, ",");
	}
	return found;
}

static bool factor_match(const char *f, size_t n, const char *profiles)
{
	bool neg = false;

	while (n && (*f == ' ' || *f == '\t' || *f == '!')) {
		neg ^= *f == '!';
		f++, n--;
	}
	while (n && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	return n && ((profile_index(f, n, profiles) >= 0) != neg);
}

bool ebt_spring_profile_match(const char *expr, const char *profiles)
{
	size_t len, k;
	bool all;

	if (strpbrk(expr, "()"))
		return false;
	for (const char *t = expr; *t; t += len + (t[len] != '\0')) {
		len = strcspn(t, ",|");
		all = len > 0;
		for (size_t i = 0; i < len; i += k + 1) {
			k = strcspn(t + i, "&,|");
			if (k > len - i)
				k = len - i;
			all = all && factor_match(t + i, k, profiles);
		}
		if (all)
			return true;
	}
	return false;
}

static bool applies(const struct ebt_spring_setting *s, const char *profiles)
{
	const char *p = s->file.profile;

	if (p[0] && profile_index(p, strlen(p), profiles) < 0)
		return false;
	return !s->on_profile[0] ||
	       ebt_spring_profile_match(s->on_profile, profiles);
}

/* Larger is of higher precedence (see the top of the file). */
static uint64_t precedence(const struct ebt_spring_setting *s,
			   const char *profiles)
{
	const char *p = s->file.profile;
	uint64_t k = 0;
	int pi = p[0] ? profile_index(p, strlen(p), profiles) + 1 : 0;

	k = k << 1 | s->file.outside;
	k = k << 7 | (unsigned)(pi > 127 ? 127 : pi);
	k = k << 1 | s->file.config_dir;
	k = k << 2 | (s->file.ext & 3);
	k = k << 16 | (0xffffu - (s->file_no > 0xffffu ? 0xffffu : s->file_no));
	k = k << 13 | (s->doc > DOCS_MAX ? DOCS_MAX : s->doc);
	return k;
}

static void consider(const struct ebt_spring_cfg *c, const char *profiles,
		     const struct ebt_spring_setting **best, uint64_t *rank)
{
	for (unsigned i = 0; c && i < c->n && i < EBT_SPRING_SETTINGS_MAX;
	     i++) {
		uint64_t k = precedence(&c->v[i], profiles);

		if (applies(&c->v[i], profiles) && (!*best || k > *rank)) {
			*best = &c->v[i];
			*rank = k;
		}
	}
}

/* ---- placeholders ---------------------------------------------------- */

#define RESOLVE_DEPTH_MAX 4

/* The end of the placeholder "${..." at v[i] (past its '}'), and the
 * ':' before its default (0: none); 0 if it does not end. */
static size_t placeholder_end(const char *v, size_t n, size_t i,
			      size_t *colon)
{
	unsigned open = 1;

	*colon = 0;
	for (size_t j = i + 2; j < n; j++) {
		if (v[j] == '{')
			open++;
		else if (v[j] == '}' && --open == 0)
			return j + 1;
		else if (v[j] == ':' && open == 1 && !*colon)
			*colon = j;
	}
	return 0;
}

static bool append(char *out, size_t cap, size_t *o, const char *s,
		   size_t n)
{
	if (*o + n >= cap)
		return false;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return true;
}

static bool resolve_at(const char *v, size_t n,
		       const struct ebt_spring_env *env, char *out,
		       size_t cap, unsigned depth)
{
	size_t o = 0, i = 0, end, colon, name_n;
	const char *val;
	char sub[EBT_CONTEXT_PATH_MAX];

	out[0] = '\0';
	while (i < n) {
		if (v[i] != '$' || i + 1 >= n || v[i + 1] != '{') {
			if (!append(out, cap, &o, v + i++, 1))
				return false;
			continue;
		}
		if (!(end = placeholder_end(v, n, i, &colon)))
			return false;
		name_n = (colon ? colon : end - 1) - (i + 2);
		val = env && env->lookup && name_n
			      ? env->lookup(env->ctx, v + i + 2, name_n)
			      : NULL;
		if (!val && colon && depth < RESOLVE_DEPTH_MAX &&
		    resolve_at(v + colon + 1, end - 1 - colon - 1, env, sub,
			       sizeof(sub), depth + 1))
			val = sub;
		if (!val || !append(out, cap, &o, val, strlen(val)))
			return false;
		i = end;
	}
	return true;
}

bool ebt_spring_resolve(const char *v, size_t n,
			const struct ebt_spring_env *env, char *out,
			size_t cap)
{
	return resolve_at(v, n, env, out, cap, 0);
}

const char *ebt_spring_value(const struct ebt_spring_cfg *a,
			     const struct ebt_spring_cfg *b,
			     const char *profiles)
{
	const struct ebt_spring_setting *best = NULL;
	uint64_t rank = 0;

	if (!profiles)
		profiles = "";
	consider(a, profiles, &best, &rank);
	consider(b, profiles, &best, &rank);
	return best ? best->value : NULL;
}

void ebt_spring_context_path(const struct ebt_spring_cfg *a,
			     const struct ebt_spring_cfg *b,
			     const char *profiles,
			     const struct ebt_spring_env *env, char *out)
{
	const char *best = ebt_spring_value(a, b, profiles);
	char v[EBT_CONTEXT_PATH_MAX];

	out[0] = '\0';
	if (best && ebt_spring_resolve(best, strnlen(best, EBT_CONTEXT_PATH_MAX),
				       env, v, sizeof(v)))
		ebt_context_path(v, strlen(v), out);
}
