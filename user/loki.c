/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loki: label sets, the push URL, and batches encoded as push JSON (cJSON).
 * The worker thread that sends them is in loki_export.c.
 */
#include "loki.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "htab.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- label names and values --------------------------------------------- */

static bool name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

bool loki_label_name_valid(const char *s)
{
	if (!s || !name_start(*s))
		return false;
	for (s++; *s; s++)
		if (!name_char(*s))
			return false;
	return true;
}

size_t loki_label_name_sanitize(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return 0;
	if (!in || outsz < 2) {
		out[0] = '\0';
		return 0;
	}
	if (*in >= '0' && *in <= '9')
		out[o++] = '_';
	for (; *in && o + 1 < outsz; in++)
		out[o++] = name_char(*in) ? *in : '_';
	out[o] = '\0';
	return o;
}

/* Escaped like log lines, cut to LOKI_LABEL_VALUE_MAX at a character. */
static char *sanitize_value(const char *v)
{
	size_t n = strlen(v), len;
	char *out;

	if (n > LOKI_LABEL_VALUE_MAX) {
		n = LOKI_LABEL_VALUE_MAX; /* not inside a character */
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
	}
	out = malloc(4 * n + 1);
	if (!out)
		return NULL;
	len = ebt_utf8_escape((const uint8_t *)v, n, out, NULL);
	if (len > LOKI_LABEL_VALUE_MAX) {
		len = LOKI_LABEL_VALUE_MAX;
		while (len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80)
			len--;
		out[len] = '\0';
	}
	return out;
}

void loki_labels_init(struct loki_labels *ls)
{
	memset(ls, 0, sizeof(*ls));
}

void loki_labels_free(struct loki_labels *ls)
{
	for (unsigned i = 0; i < ls->n; i++) {
		free(ls->l[i].name);
		free(ls->l[i].value);
	}
	free(ls->key);
	memset(ls, 0, sizeof(*ls));
}

static bool has_label(const struct loki_labels *ls, const char *name)
{
	for (unsigned i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].name, name) == 0)
			return true;
	return false;
}

int loki_labels_add(struct loki_labels *ls, const char *name,
		    const char *value)
{
	char clean[LOKI_LABEL_NAME_MAX];
	char *n, *v;

	if (!value || !*value ||
	    loki_label_name_sanitize(name, clean, sizeof(clean)) == 0 ||
	    has_label(ls, clean))
		return 0;
	if (ls->n == LOKI_MAX_LABELS) {
		ls->dropped++;
		return 0;
	}
	n = strdup(clean);
	v = sanitize_value(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -1;
	}
	ls->l[ls->n++] = (struct loki_label){ .name = n, .value = v };
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct loki_label *)a)->name,
		      ((const struct loki_label *)b)->name);
}

/* {a="x", b="y\"z"}: LogQL selector syntax, values escaped. */
int loki_labels_finish(struct loki_labels *ls)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	qsort(ls->l, ls->n, sizeof(ls->l[0]), cmp_label);
	f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	fputc('{', f);
	for (unsigned i = 0; i < ls->n; i++) {
		fprintf(f, "%s%s=\"", i ? ", " : "", ls->l[i].name);
		for (const char *p = ls->l[i].value; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
	}
	fputc('}', f);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -1;
	}
	free(ls->key);
	ls->key = buf;
	return 0;
}

/* ---- labels from a resource ---------------------------------------------- */

struct label_ctx {
	const struct ebt_resource *r;
	int stream;
	const char *cluster;
};

/* A computed label value (buf may be used), or NULL. */
typedef const char *(*label_fn)(const struct label_ctx *c, char *buf,
				size_t len);

struct label_rule {
	const char *label;
	const char *attr; /* resource attribute, or NULL: fn computes it */
	label_fn fn;
};

static const char *attr(const struct label_ctx *c, const char *key)
{
	const char *v = c->r ? ebt_resource_get(c->r, key) : NULL;

	return v && *v ? v : NULL;
}

/* job = <namespace>/<container>, as the usual Promtail/Alloy relabelling */
static const char *label_job(const struct label_ctx *c, char *buf,
			     size_t len)
{
	const char *ns = attr(c, "k8s.namespace.name");
	const char *ctr = attr(c, "k8s.container.name");

	if (!ns || !ctr)
		return NULL;
	snprintf(buf, len, "%s/%s", ns, ctr);
	return buf;
}

static const char *label_cluster(const struct label_ctx *c, char *buf,
				 size_t len)
{
	(void)buf;
	(void)len;
	if (c->cluster && *c->cluster)
		return c->cluster;
	return attr(c, "k8s.cluster.name");
}

static const char *label_stream(const struct label_ctx *c, char *buf,
				size_t len)
{
	(void)buf;
	(void)len;
	return c->stream == EBT_LOG_STDERR ? "stderr" : "stdout";
}

/* In priority order: past LOKI_MAX_LABELS the last ones are dropped. */
static const struct label_rule k8s_rules[] = {
	{ "namespace", "k8s.namespace.name", NULL },
	{ "pod", "k8s.pod.name", NULL },
	{ "container", "k8s.container.name", NULL },
	{ "app", "k8s.pod.label.app.kubernetes.io/name", NULL },
	{ "job", NULL, label_job },
	{ "node_name", "k8s.node.name", NULL },
	{ "pod_ip", "k8s.pod.ip", NULL },
	{ "cluster", NULL, label_cluster },
	{ "stream", NULL, label_stream },
	{ "service_name", "service.name", NULL },
};

static const struct label_rule host_rules[] = {
	{ "host", "host.name", NULL },
	{ "service_name", "service.name", NULL },
	{ "process", "process.executable.name", NULL },
	{ "cluster", NULL, label_cluster },
	{ "stream", NULL, label_stream },
};

static int apply_rules(struct loki_labels *ls, const struct label_ctx *c,
		       const struct label_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char buf[2 * LOKI_LABEL_VALUE_MAX + 2];
		const char *v = rules[i].fn ? rules[i].fn(c, buf, sizeof(buf)) :
					      attr(c, rules[i].attr);

		if (loki_labels_add(ls, rules[i].label, v) != 0)
			return -1;
	}
	return 0;
}

int loki_labels_from_resource(struct loki_labels *ls,
			      const struct ebt_resource *r, int stream,
			      const char *cluster)
{
	struct label_ctx c = { .r = r, .stream = stream, .cluster = cluster };
	bool k8s = attr(&c, "k8s.pod.name") || attr(&c, "k8s.namespace.name");
	int rc;

	loki_labels_init(ls);
	rc = k8s ? apply_rules(ls, &c, k8s_rules, ARRAY_SIZE(k8s_rules)) :
		   apply_rules(ls, &c, host_rules, ARRAY_SIZE(host_rules));
	if (rc == 0)
		rc = loki_labels_finish(ls);
	if (rc != 0)
		loki_labels_free(ls);
	return rc;
}

/* ---- push URL ------------------------------------------------------------ */

static bool ends_with(const char *s, const char *sfx)
{
	size_t n = strlen(s), k = strlen(sfx);

	return n >= k && strcmp(s + n - k, sfx) == 0;
}

static int set_push_path(CURLU *u)
{
	char *path = NULL, *np = NULL;
	size_t n;
	int rc = -1;

	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		return -1;
	if (ends_with(path, LOKI_PUSH_PATH)) {
		curl_free(path);
		return 0;
	}
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (asprintf(&np, "%.*s%s", (int)n, path, LOKI_PUSH_PATH) >= 0) {
		if (curl_url_set(u, CURLUPART_PATH, np, 0) == CURLUE_OK)
			rc = 0;
		free(np);
	}
	curl_free(path);
	return rc;
}

int loki_push_url(const char *endpoint, char **out)
{
	CURLU *u;
	char *scheme = NULL, *url = NULL;
	int rc = -1;

	*out = NULL;
	if (!endpoint || !*endpoint)
		return -1;
	u = curl_url();
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    set_push_path(u) != 0 ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	*out = strdup(url);
	rc = *out ? 0 : -1;
out:
	curl_free(url);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* ---- entries ------------------------------------------------------------- */

struct loki_entry *loki_entry_new(struct ebt_resource *res,
				  const struct ebt_log_record *r,
				  size_t *size)
{
	size_t sz = sizeof(struct loki_entry) + r->len + 1;
	struct loki_entry *e = malloc(sz);

	if (!e)
		return NULL;
	*e = (struct loki_entry){
		.res = res ? ebt_resource_ref(res) : NULL,
		.ts_ns = r->ts_ns,
		.stream = r->stream,
		.has_ctx = r->has_ctx,
		.len = r->len,
	};
	memcpy(e->trace_id, r->trace_id, sizeof(e->trace_id));
	memcpy(e->span_id, r->span_id, sizeof(e->span_id));
	memcpy(e->line, r->line, r->len);
	e->line[r->len] = '\0';
	if (size)
		*size = sz;
	return e;
}

static void labels_free_owned(struct loki_labels *ls)
{
	if (ls) {
		loki_labels_free(ls);
		free(ls);
	}
}

struct loki_entry *loki_entry_new_labeled(struct loki_labels *labels,
					  uint64_t ts_ns, const char *line,
					  size_t len, size_t *size)
{
	size_t sz = sizeof(struct loki_entry) + len + 1;
	struct loki_entry *e = labels ? malloc(sz) : NULL;

	if (!e) {
		labels_free_owned(labels);
		return NULL;
	}
	*e = (struct loki_entry){ .own = labels, .ts_ns = ts_ns, .len = len };
	memcpy(e->line, line, len);
	e->line[len] = '\0';
	if (size)
		*size = sz + sizeof(*labels);
	return e;
}

void loki_entry_free(struct loki_entry *e)
{
	if (!e)
		return;
	if (e->res)
		ebt_resource_unref(e->res);
	labels_free_owned(e->own);
	free(e);
}

/* ---- batches ------------------------------------------------------------- */

/* Batch-local label cache key: one label set per (resource, stream). */
struct lkey {
	const void *res;
	uint64_t stream;
};

struct loki_batch {
	char *cluster;
	struct loki_entry **v;
	size_t n, cap;
	uint64_t seq;
	struct htab *labels; /* struct lkey -> struct loki_labels* */
};

struct loki_batch *loki_batch_new(const char *cluster)
{
	struct loki_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->labels = htab_new(sizeof(struct lkey));
	if (cluster && *cluster)
		b->cluster = strdup(cluster);
	if (!b->labels || (cluster && *cluster && !b->cluster)) {
		htab_free(b->labels, NULL);
		free(b->cluster);
		free(b);
		return NULL;
	}
	return b;
}

static void labels_free_val(void *v)
{
	labels_free_owned(v);
}

void loki_batch_clear(struct loki_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		loki_entry_free(b->v[i]);
	b->n = 0;
	htab_free(b->labels, labels_free_val);
	b->labels = htab_new(sizeof(struct lkey));
}

void loki_batch_free(struct loki_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		loki_entry_free(b->v[i]);
	htab_free(b->labels, labels_free_val);
	free(b->v);
	free(b->cluster);
	free(b);
}

int loki_batch_push(struct loki_batch *b, struct loki_entry *e)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		struct loki_entry **v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	e->seq = b->seq++;
	e->labels = NULL;
	b->v[b->n++] = e;
	return 0;
}

int loki_batch_add(struct loki_batch *b, struct ebt_resource *res,
		   const struct ebt_log_record *r)
{
	struct loki_entry *e = loki_entry_new(res, r, NULL);

	if (!e)
		return -1;
	if (loki_batch_push(b, e) != 0) {
		loki_entry_free(e);
		return -1;
	}
	return 0;
}

size_t loki_batch_len(const struct loki_batch *b)
{
	return b->n;
}

static const struct loki_labels *labels_for(struct loki_batch *b,
					    const struct loki_entry *e)
{
	struct lkey k = { .res = e->res, .stream = e->stream };
	struct loki_labels *ls;
	int err = 0;

	if (e->own)
		return e->own;
	if (!b->labels)
		return NULL;
	ls = htab_get(b->labels, &k);
	if (ls)
		return ls;
	ls = malloc(sizeof(*ls));
	if (!ls)
		return NULL;
	if (loki_labels_from_resource(ls, e->res, e->stream, b->cluster)) {
		free(ls);
		return NULL;
	}
	htab_put(b->labels, &k, ls, &err);
	if (err) {
		labels_free_val(ls);
		return NULL;
	}
	return ls;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct loki_entry *a = *(struct loki_entry *const *)pa;
	const struct loki_entry *b = *(struct loki_entry *const *)pb;
	int c = a->labels == b->labels ? 0 :
					 strcmp(a->labels->key, b->labels->key);

	if (c)
		return c;
	if (a->ts_ns != b->ts_ns)
		return a->ts_ns < b->ts_ns ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int loki_batch_prepare(struct loki_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		b->v[i]->labels = labels_for(b, b->v[i]);
		if (!b->v[i]->labels)
			return -1;
	}
	qsort(b->v, b->n, sizeof(b->v[0]), cmp_entry);
	return 0;
}

/* ---- push JSON ----------------------------------------------------------- */

static bool add_to_array(cJSON *arr, cJSON *item)
{
	if (item && cJSON_AddItemToArray(arr, item))
		return true;
	cJSON_Delete(item);
	return false;
}

static bool add_to_object(cJSON *obj, const char *key, cJSON *item)
{
	if (item && cJSON_AddItemToObject(obj, key, item))
		return true;
	cJSON_Delete(item);
	return false;
}

static cJSON *stream_json(const struct loki_labels *ls, cJSON **values)
{
	cJSON *s = cJSON_CreateObject(), *lab = cJSON_CreateObject();
	bool ok = s && add_to_object(s, "stream", lab);

	for (unsigned i = 0; ok && i < ls->n; i++)
		ok = add_to_object(lab, ls->l[i].name,
				   cJSON_CreateStringReference(ls->l[i].value));
	*values = cJSON_CreateArray();
	if (ok && add_to_object(s, "values", *values))
		return s;
	if (!s)
		cJSON_Delete(lab);
	cJSON_Delete(s);
	return NULL;
}

const char *loki_entry_container_id(const struct loki_entry *e)
{
	const char *id = e->res ? ebt_resource_get(e->res, "container.id")
				: NULL;

	return id && *id ? id : NULL;
}

/* Structured metadata: trace_id and span_id in lower-case hex (with a
 * trace context), container_id (when the process is in a container). */
static cJSON *metadata_json(const struct loki_entry *e)
{
	cJSON *m = cJSON_CreateObject();
	const char *ctr = loki_entry_container_id(e);
	char hex[33];

	if (!m)
		return NULL;
	ebt_hex(e->trace_id, sizeof(e->trace_id), hex);
	if (e->has_ctx &&
	    !add_to_object(m, "trace_id", cJSON_CreateString(hex)))
		goto fail;
	ebt_hex(e->span_id, sizeof(e->span_id), hex);
	if (e->has_ctx &&
	    !add_to_object(m, "span_id", cJSON_CreateString(hex)))
		goto fail;
	if (ctr && !add_to_object(m, "container_id",
				  cJSON_CreateStringReference(ctr)))
		goto fail;
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

/* ["<unix ns>", "line", {metadata}] */
static cJSON *value_json(const struct loki_entry *e)
{
	cJSON *v = cJSON_CreateArray();
	char ts[24];

	if (!v)
		return NULL;
	snprintf(ts, sizeof(ts), "%" PRIu64, e->ts_ns);
	if (!add_to_array(v, cJSON_CreateString(ts)) ||
	    !add_to_array(v, cJSON_CreateStringReference(e->line)) ||
	    ((e->has_ctx || loki_entry_container_id(e)) &&
	     !add_to_array(v, metadata_json(e)))) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

static bool same_stream(const struct loki_entry *a,
			const struct loki_entry *b)
{
	return a->labels == b->labels ||
	       strcmp(a->labels->key, b->labels->key) == 0;
}

static bool add_entries(cJSON *streams, struct loki_entry *const *v,
			size_t n)
{
	cJSON *values = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!v[i]->labels)
			return false;
		if (i == 0 || !same_stream(v[i - 1], v[i])) {
			if (!add_to_array(streams,
					  stream_json(v[i]->labels, &values)))
				return false;
		}
		if (!add_to_array(values, value_json(v[i])))
			return false;
	}
	return true;
}

/* Room for the printed batch, so that cJSON does not grow its buffer. */
static int json_size_hint(const struct loki_batch *b, size_t from, size_t to)
{
	size_t n = 256;

	for (size_t i = from; i < to; i++)
		n += b->v[i]->len + b->v[i]->len / 8 + 160;
	return n > INT_MAX ? INT_MAX : (int)n;
}

char *loki_batch_json(const struct loki_batch *b, size_t from, size_t to,
		      size_t *len)
{
	cJSON *root = cJSON_CreateObject(), *streams;
	char *out = NULL;

	if (to > b->n)
		to = b->n;
	if (!root)
		return NULL;
	streams = cJSON_AddArrayToObject(root, "streams");
	if (streams && from <= to &&
	    add_entries(streams, b->v + from, to - from))
		out = cJSON_PrintBuffered(root, json_size_hint(b, from, to), 0);
	cJSON_Delete(root);
	if (out && len)
		*len = strlen(out);
	return out;
}
