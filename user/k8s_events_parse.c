/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure parts of the events shipper: core/v1 Event and EventList JSON,
 * events watch lines, the logfmt line, RFC 3339 times, the Lease object
 * and who may hold it. No I/O.
 */
#include "k8s_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define NS_PER_S 1000000000ULL
#define SMALL_MAX 1024 /* reason, type, component, host, ... */
#define DEFAULT_LEASE_S 15

/* ---- JSON helpers ---------------------------------------------------------- */

static const cJSON *jget(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string cut to max bytes (at a UTF-8 character boundary), copied;
 * NULL when absent or out of memory. */
static char *jcut(const cJSON *o, const char *key, size_t max)
{
	const char *s = jstr(o, key);
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A string of at most sz-1 bytes into buf; false when absent or longer. */
static bool jcopy(const cJSON *o, const char *key, char *buf, size_t sz)
{
	const char *s = jstr(o, key);

	if (!s || strlen(s) >= sz)
		return false;
	memcpy(buf, s, strlen(s) + 1);
	return true;
}

static uint64_t jcount(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 1 &&
			       v->valuedouble < 1e15 ?
		       (uint64_t)v->valuedouble : 0;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* ---- times ---------------------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

/* "Z", or "+hh:mm" / "-hh:mm" -> seconds east of UTC. */
static bool zone(const char *s, long *east)
{
	int h, m;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*east = 0;
		return true;
	}
	if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h) ||
	    s[3] != ':' || !digits(s + 4, 2, &m) || s[6] != '\0' || h > 23 ||
	    m > 59)
		return false;
	*east = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return true;
}

/* ".123456" -> ns; advances *s past the fraction. */
static uint64_t fraction(const char **s)
{
	uint64_t ns = 0, scale = NS_PER_S / 10;

	if (**s != '.')
		return 0;
	for ((*s)++; **s >= '0' && **s <= '9'; (*s)++, scale /= 10)
		ns += (uint64_t)(**s - '0') * scale;
	return ns;
}

int ebt_k8s_time_parse(const char *s, uint64_t *ns)
{
	int y, mo, d, h, mi, se;
	struct tm tm = {0};
	uint64_t frac;
	long east;
	time_t t;

	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	s += 19;
	frac = fraction(&s);
	if (!zone(s, &east))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm) - east;
	if (t < 0)
		return -1;
	*ns = (uint64_t)t * NS_PER_S + frac;
	return 0;
}

void ebt_k8s_time_format(uint64_t ns, char *buf, size_t bufsz)
{
	time_t t = (time_t)(ns / NS_PER_S);
	struct tm tm;
	char day[32];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, bufsz, "%s.%06uZ", day,
		 (unsigned)(ns % NS_PER_S / 1000));
}

/* The time in o[key], or 0. */
static uint64_t jtime(const cJSON *o, const char *key)
{
	uint64_t ns = 0;

	return ebt_k8s_time_parse(jstr(o, key), &ns) == 0 ? ns : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ---- events ------------------------------------------------------------------- */

void ebt_kevent_free(struct ebt_kevent *e)
{
	if (!e)
		return;
	free(e->ns);
	free(e->name);
	free(e->kind);
	free(e->obj_name);
	free(e->obj_ns);
	free(e->obj_api);
	free(e->obj_rv);
	free(e->type);
	free(e->reason);
	free(e->message);
	free(e->action);
	free(e->source_component);
	free(e->source_host);
	free(e->reporting_controller);
	free(e->reporting_instance);
	free(e);
}

const char *ebt_kevent_namespace(const struct ebt_kevent *e)
{
	if (e->obj_ns && e->obj_ns[0])
		return e->obj_ns;
	return e->ns ? e->ns : "";
}

/* The latest of the event's times, and its count. */
static void event_times(struct ebt_kevent *e, const cJSON *o,
			const cJSON *meta)
{
	const cJSON *series = jget(o, "series");
	uint64_t c = jcount(series, "count");

	e->last_ns = max_u64(jtime(series, "lastObservedTime"),
			     jtime(o, "lastTimestamp"));
	e->last_ns = max_u64(e->last_ns, jtime(o, "eventTime"));
	if (!e->last_ns)
		e->last_ns = max_u64(jtime(o, "firstTimestamp"),
				     jtime(meta, "creationTimestamp"));
	if (!c)
		c = jcount(o, "count");
	e->count = c ? c : 1;
}

static void event_strings(struct ebt_kevent *e, const cJSON *o,
			  const cJSON *meta)
{
	const cJSON *obj = jget(o, "involvedObject");
	const cJSON *src = jget(o, "source");

	e->ns = jcut(meta, "namespace", K8S_NAME_MAX);
	e->name = jcut(meta, "name", K8S_NAME_MAX);
	e->kind = jcut(obj, "kind", SMALL_MAX);
	e->obj_name = jcut(obj, "name", K8S_NAME_MAX);
	e->obj_ns = jcut(obj, "namespace", K8S_NAME_MAX);
	e->obj_api = jcut(obj, "apiVersion", SMALL_MAX);
	e->obj_rv = jcut(obj, "resourceVersion", K8S_RV_MAX);
	e->type = jcut(o, "type", SMALL_MAX);
	e->reason = jcut(o, "reason", SMALL_MAX);
	e->message = jcut(o, "message", KEV_MSG_MAX);
	e->action = jcut(o, "action", SMALL_MAX);
	e->source_component = jcut(src, "component", SMALL_MAX);
	e->source_host = jcut(src, "host", SMALL_MAX);
	e->reporting_controller = jcut(o, "reportingComponent", SMALL_MAX);
	e->reporting_instance = jcut(o, "reportingInstance", SMALL_MAX);
}

/* A parsed Event -> struct; NULL without a uid (or out of memory). */
static struct ebt_kevent *event_from(const cJSON *o, char *err,
				     size_t errlen)
{
	const cJSON *meta = jget(o, "metadata");
	struct ebt_kevent *e = calloc(1, sizeof(*e));

	if (!e) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	if (!cJSON_IsObject(o) || !jcopy(meta, "uid", e->uid, sizeof(e->uid))
	    || !e->uid[0]) {
		set_err(err, errlen, "event without metadata.uid");
		ebt_kevent_free(e);
		return NULL;
	}
	jcopy(meta, "resourceVersion", e->rv, sizeof(e->rv));
	event_strings(e, o, meta);
	event_times(e, o, meta);
	return e;
}

static const char *const watch_types[] = {
	"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR",
};

static int watch_type(const char *s)
{
	for (size_t i = 0; s && i < sizeof(watch_types) /
					sizeof(watch_types[0]); i++)
		if (strcmp(s, watch_types[i]) == 0)
			return (int)i;
	return -1;
}

static int watch_from(const cJSON *o, struct ebt_kevent_watch *w, char *err,
		      size_t errlen)
{
	int t = watch_type(jstr(o, "type"));
	const cJSON *obj = jget(o, "object");
	const cJSON *code;

	if (t < 0 || !cJSON_IsObject(obj)) {
		set_err(err, errlen, "watch event without a known type and "
			"an object");
		return -1;
	}
	w->type = (enum ebt_k8s_event_type)t;
	if (w->type == K8S_EV_ERROR) {
		code = jget(obj, "code");
		w->code = cJSON_IsNumber(code) ? code->valueint : 0;
		snprintf(w->message, sizeof(w->message), "%s",
			 jstr(obj, "message") ? jstr(obj, "message") : "");
		return 0;
	}
	jcopy(jget(obj, "metadata"), "resourceVersion", w->rv, sizeof(w->rv));
	if (w->type == K8S_EV_BOOKMARK)
		return 0;
	w->ev = event_from(obj, err, errlen);
	return w->ev ? 0 : -1;
}

int ebt_kevent_watch_parse(const char *line, size_t len,
			   struct ebt_kevent_watch *w, char *err,
			   size_t errlen)
{
	cJSON *o;
	int rc;

	memset(w, 0, sizeof(*w));
	o = cJSON_ParseWithLength(line, len);
	if (!o) {
		set_err(err, errlen, "watch event: not JSON");
		return -1;
	}
	rc = watch_from(o, w, err, errlen);
	cJSON_Delete(o);
	return rc;
}

int ebt_kevent_list_parse(const char *json, size_t len,
			  void (*fn)(void *ctx, struct ebt_kevent *e),
			  void *ctx, struct ebt_k8s_list *out, char *err,
			  size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *items = jget(o, "items"), *it;
	const char *cont = jstr(jget(o, "metadata"), "continue");

	memset(out, 0, sizeof(*out));
	if (!o || !jcopy(jget(o, "metadata"), "resourceVersion", out->rv,
			 sizeof(out->rv)) ||
	    !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
		set_err(err, errlen, "event list without metadata."
			"resourceVersion and items");
		cJSON_Delete(o);
		return -1;
	}
	if (cont && cont[0])
		out->cont = strdup(cont);
	cJSON_ArrayForEach(it, items) {
		struct ebt_kevent *e = event_from(it, NULL, 0);

		if (e) {
			out->items++;
			fn(ctx, e);
		} else {
			out->bad_items++;
		}
	}
	cJSON_Delete(o);
	return 0;
}

bool ebt_kevent_is_new(bool seen, uint64_t seen_count, uint64_t seen_last_ns,
		       const struct ebt_kevent *ev)
{
	return !seen || ev->count > seen_count || ev->last_ns > seen_last_ns;
}

bool ebt_kevent_after_mark(uint64_t last_ns, uint64_t mark_ns)
{
	return last_ns == 0 || last_ns >= mark_ns - mark_ns % NS_PER_S;
}

/* ---- the logfmt line ------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static bool needs_quotes(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == '=' || *v == '"' ||
		    *v == '\\' || *v == 0x7f)
			return true;
	return false;
}

/* The escaped form of v (quoted when needed) into t; false if too long. */
static bool escape(const char *v, char *t, size_t tsz)
{
	bool q = needs_quotes(v);
	size_t n = 0;

	if (q)
		t[n++] = '"';
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		char tmp[8];
		int k = c == '"' || c == '\\' ? snprintf(tmp, sizeof(tmp),
							 "\\%c", c) :
			c == '\n' ? snprintf(tmp, sizeof(tmp), "\\n") :
			c == '\t' ? snprintf(tmp, sizeof(tmp), "\\t") :
			c == '\r' ? snprintf(tmp, sizeof(tmp), "\\r") :
			c < ' ' || c == 0x7f ? snprintf(tmp, sizeof(tmp),
							"\\u%04x", c) :
			(tmp[0] = (char)c, tmp[1] = '\0', 1);

		if (n + (size_t)k + 2 > tsz)
			return false;
		memcpy(t + n, tmp, (size_t)k);
		n += (size_t)k;
	}
	if (q)
		t[n++] = '"';
	t[n] = '\0';
	return true;
}

/* " key=value" (no space first); empty values are left out. */
static void field(struct out *o, const char *key, const char *v)
{
	char t[KEV_LINE_MAX];
	size_t need;

	if (!v || !v[0] || o->full)
		return;
	if (!escape(v, t, sizeof(t))) {
		o->full = true;
		return;
	}
	need = (o->len ? 1 : 0) + strlen(key) + 1 + strlen(t);
	if (o->len + need >= o->cap) {
		o->full = true;
		return;
	}
	o->len += (size_t)snprintf(o->p + o->len, o->cap - o->len, "%s%s=%s",
				   o->len ? " " : "", key, t);
}

size_t ebt_kevent_line(const struct ebt_kevent *e, char *buf, size_t bufsz)
{
	struct out o = { .p = buf, .cap = bufsz };
	char count[24];

	if (!bufsz)
		return 0;
	buf[0] = '\0';
	snprintf(count, sizeof(count), "%llu", (unsigned long long)e->count);
	field(&o, "type", e->type);
	field(&o, "reason", e->reason);
	field(&o, "kind", e->kind);
	field(&o, "name", e->obj_name);
	field(&o, "objectAPIversion", e->obj_api);
	field(&o, "count", count);
	field(&o, "sourcecomponent", e->source_component);
	field(&o, "sourcehost", e->source_host);
	field(&o, "reportingcontroller", e->reporting_controller);
	field(&o, "reportinginstance", e->reporting_instance);
	field(&o, "action", e->action);
	field(&o, "objectRV", e->obj_rv);
	field(&o, "eventRV", e->rv);
	field(&o, "msg", e->message);
	return o.len;
}

/* ---- the Lease ------------------------------------------------------------------ */

int ebt_lease_parse(const char *json, size_t len, struct ebt_lease *out,
		    char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *spec = jget(o, "spec");
	const cJSON *d = jget(spec, "leaseDurationSeconds");
	const cJSON *tr = jget(spec, "leaseTransitions");
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!o || !jcopy(jget(o, "metadata"), "resourceVersion", out->rv,
			 sizeof(out->rv)) || !out->rv[0]) {
		set_err(err, errlen, "lease without metadata.resourceVersion");
		goto done;
	}
	if (jstr(spec, "holderIdentity") &&
	    !jcopy(spec, "holderIdentity", out->holder, sizeof(out->holder))) {
		set_err(err, errlen, "lease holderIdentity too long");
		goto done;
	}
	out->acquire_ns = jtime(spec, "acquireTime");
	out->renew_ns = jtime(spec, "renewTime");
	out->duration_s = cJSON_IsNumber(d) && d->valuedouble >= 1 &&
					  d->valuedouble <= 86400 ?
				  (uint32_t)d->valuedouble : 0;
	out->transitions = cJSON_IsNumber(tr) && tr->valuedouble >= 0 &&
					   tr->valuedouble < 1e9 ?
				   (uint32_t)tr->valuedouble : 0;
	rc = 0;
done:
	cJSON_Delete(o);
	return rc;
}

static bool add_time(cJSON *spec, const char *key, uint64_t ns)
{
	char t[40];

	if (!ns)
		return true;
	ebt_k8s_time_format(ns, t, sizeof(t));
	return cJSON_AddStringToObject(spec, key, t) != NULL;
}

static bool lease_spec(cJSON *spec, const struct ebt_lease *l)
{
	return (!l->holder[0] ||
		cJSON_AddStringToObject(spec, "holderIdentity", l->holder)) &&
	       cJSON_AddNumberToObject(spec, "leaseDurationSeconds",
				       l->duration_s) &&
	       add_time(spec, "acquireTime", l->acquire_ns) &&
	       add_time(spec, "renewTime", l->renew_ns) &&
	       cJSON_AddNumberToObject(spec, "leaseTransitions",
				       l->transitions);
}

char *ebt_lease_json(const char *ns, const char *name,
		     const struct ebt_lease *l)
{
	cJSON *o = cJSON_CreateObject(), *meta, *spec;
	char *s = NULL;

	meta = cJSON_AddObjectToObject(o, "metadata");
	spec = cJSON_AddObjectToObject(o, "spec");
	if (cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1")
	    && cJSON_AddStringToObject(o, "kind", "Lease") && meta && spec &&
	    cJSON_AddStringToObject(meta, "name", name) &&
	    cJSON_AddStringToObject(meta, "namespace", ns) &&
	    (!l->rv[0] ||
	     cJSON_AddStringToObject(meta, "resourceVersion", l->rv)) &&
	    lease_spec(spec, l))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

enum ebt_lease_action ebt_lease_decide(struct ebt_lease_watch *w,
				       const struct ebt_lease *l,
				       const char *me, uint64_t now_mono_ns)
{
	uint64_t dur = (l->duration_s ? l->duration_s : DEFAULT_LEASE_S) *
		       NS_PER_S;

	if (l->holder[0] && strcmp(l->holder, me) == 0)
		return LEASE_RENEW;
	if (!l->holder[0])
		return LEASE_TAKE;
	if (strcmp(w->holder, l->holder) != 0 || strcmp(w->rv, l->rv) != 0 ||
	    w->renew_ns != l->renew_ns || !w->changed_mono_ns) {
		memcpy(w->holder, l->holder, sizeof(w->holder));
		memcpy(w->rv, l->rv, sizeof(w->rv));
		w->renew_ns = l->renew_ns;
		w->changed_mono_ns = now_mono_ns;
		return LEASE_WAIT;
	}
	return now_mono_ns - w->changed_mono_ns >= dur ? LEASE_TAKE
						       : LEASE_WAIT;
}
